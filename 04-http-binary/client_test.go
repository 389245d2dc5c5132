package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"sockets/internal/wiretest"
)

// startServer serves files with the lesson in this process on a free
// loopback port, with the real clock, and returns its address. The log
// is discarded.
func startServer(t testing.TB, files fs.FS) string {
	return startHandler(t, newHTTPServer(files))
}

// testHandler is the lesson's handler as startServer serves it, for a
// test to change before it starts it with startHandler.
func testHandler(t testing.TB) *httpServer { return newHTTPServer(builtinSite(t)) }

// startHandler is startServer with a handler the test has set up.
func startHandler(t testing.TB, h *httpServer) string {
	t.Helper()
	log.SetOutput(io.Discard)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := newServer(h)
	done := make(chan struct{})
	go func() { s.acceptLoop(ln); close(done) }()
	t.Cleanup(func() {
		ln.Close()
		<-done
		s.shutdown(time.Second)
	})
	return ln.Addr().String()
}

// builtinSite is the embedded site, as the program serves it by default.
func builtinSite(t testing.TB) fs.FS {
	files, err := fs.Sub(site, "site")
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// siteFiles lists the files of the site folder on disk, the files the
// embedded site was built from: the downloads must equal these.
func siteFiles(t *testing.T) []string {
	var names []string
	err := fs.WalkDir(os.DirFS("site"), ".", func(name string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, name)
		}
		return err
	})
	if err != nil || len(names) < 5 {
		t.Fatalf("listing site/: %v (%d files)", err, len(names))
	}
	return names
}

func sum(b []byte) string { return fmt.Sprintf("%x", sha256.Sum256(b)) }

// TestNetHTTPClient has Go's own HTTP client, an implementation
// independent of the lesson, download every file of the built-in site and
// of the same folder served with -root, and compares each with the file
// on disk.
func TestNetHTTPClient(t *testing.T) {
	root, err := os.OpenRoot("site")
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	for _, srv := range []struct {
		name  string
		files fs.FS
	}{{"builtin", builtinSite(t)}, {"root", root.FS()}} {
		t.Run(srv.name, func(t *testing.T) {
			base := "http://" + startServer(t, srv.files)
			client := &http.Client{Timeout: 10 * time.Second}
			defer client.CloseIdleConnections() // or shutdown waits for them
			for _, name := range siteFiles(t) {
				want, err := os.ReadFile(filepath.Join("site", name))
				if err != nil {
					t.Fatal(err)
				}
				resp, err := client.Get(base + "/" + name)
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					t.Fatalf("GET /%s: reading the body: %v", name, err)
				}
				if resp.StatusCode != 200 || sum(got) != sum(want) {
					t.Errorf("GET /%s: status %d, %d bytes with sha256 %s; want 200 and the file's %d bytes, %s",
						name, resp.StatusCode, len(got), sum(got), len(want), sum(want))
				}
				if ct, want := resp.Header.Get("Content-Type"), contentTypes[filepath.Ext(name)]; ct != want {
					t.Errorf("GET /%s: Content-Type %q, want %q", name, ct, want)
				}
				if lm := resp.Header.Get("Last-Modified"); (lm != "") != (srv.name == "root") {
					t.Errorf("GET /%s: Last-Modified %q; want one only for files on disk", name, lm)
				}
			}

			// A binary body, every byte value twice, comes back as it went.
			body := make([]byte, 512)
			for i := range body {
				body[i] = byte(i)
			}
			resp, err := client.Post(base+"/echo", "application/octet-stream", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !bytes.Equal(got, body) || resp.Header.Get("Content-Type") != octetStream {
				t.Errorf("POST /echo: got %d bytes (%q) back as %q, want the 512 sent as %s",
					len(got), got[:min(len(got), 16)], resp.Header.Get("Content-Type"), octetStream)
			}
		})
	}
}

// TestCurl has curl download every file of the site into a file of its
// own, and compares each with the file on disk. It skips when curl is not
// installed, unless WIRETEST_REQUIRE_TOOLS is set (CI), where it fails.
func TestCurl(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		wiretest.Missing(t, "curl")
	}
	base := "http://" + startServer(t, builtinSite(t))
	dir := t.TempDir()
	for _, name := range siteFiles(t) {
		out := filepath.Join(dir, strings.ReplaceAll(name, "/", "_"))
		cmd := exec.Command("curl", "--silent", "--show-error", "--fail", "--output", out, base+"/"+name)
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("curl %s: %v\n%s", name, err, msg)
		}
		got, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := os.ReadFile(filepath.Join("site", name))
		if sum(got) != sum(want) {
			t.Errorf("curl /%s: %d bytes with sha256 %s, want %d bytes, %s", name, len(got), sum(got), len(want), sum(want))
		}
	}
}

// sparseFile creates a file of size bytes that takes no room on disk: a
// hole, which reads as zeros.
func sparseFile(t testing.TB, dir, name string, size int64) {
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// getHead sends a GET for path on c and reads the response head, and
// returns its Content-Length.
func getHead(c net.Conn, br *bufio.Reader, path string) (int64, error) {
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n", path)
	length := int64(-1)
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		if len(line) == 2 {
			return length, nil
		}
		if v, ok := bytes.CutPrefix(line, []byte("Content-Length: ")); ok {
			length, _ = strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
		}
	}
}

// TestDisconnectMidFile resets a download of a file much larger than the
// sockets' buffers, so that the reset hits the server while it sends, and
// checks that the next client still gets the whole file.
func TestDisconnectMidFile(t *testing.T) {
	dir := t.TempDir()
	const size = 64 << 20
	sparseFile(t, dir, "big.bin", size)
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	addr := startServer(t, root.FS())

	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	if n, err := getHead(c, br, "/big.bin"); err != nil || n != size {
		t.Fatalf("first client: Content-Length %d, %v", n, err)
	}
	if _, err := io.CopyN(io.Discard, br, 1<<20); err != nil {
		t.Fatal(err)
	}
	c.(*net.TCPConn).SetLinger(0)
	c.Close() // a reset, in the middle of the body

	c, err = net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	br = bufio.NewReader(c)
	if n, err := getHead(c, br, "/big.bin"); err != nil || n != size {
		t.Fatalf("second client: Content-Length %d, %v", n, err)
	}
	if n, err := io.CopyN(io.Discard, br, size); err != nil {
		t.Fatalf("second client: %d of %d bytes: %v", n, int64(size), err)
	}
}

// TestMemoryHugeFile serves a 1 GiB file from a separate process (this
// test binary running as the lesson, as the scripts do) and reads the
// process's peak resident memory after the download: streaming keeps it
// flat, where reading the file into memory would take the whole GiB.
// Linux only: the peak comes from /proc/PID/status (VmHWM).
func TestMemoryHugeFile(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("skipping: peak memory is read from /proc, which this system does not have")
	}
	if testing.Short() {
		t.Skip("skipping in -short mode: downloads 1 GiB over loopback")
	}
	dir := t.TempDir()
	const size = 1 << 30
	sparseFile(t, dir, "huge.bin", size)

	path, err := exec.LookPath("04-http-binary") // this test binary, as TestMain set it up
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path, "-addr", "127.0.0.1:0", "-root", dir)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	addr := ""
	sc := bufio.NewScanner(stderr)
	for addr == "" && sc.Scan() {
		if a, ok := strings.CutPrefix(sc.Text(), "04-http-binary: listening on "); ok {
			addr = a
		}
	}
	if addr == "" {
		t.Fatal("the lesson did not log its address")
	}
	go io.Copy(io.Discard, stderr)
	before := peakRSS(t, cmd.Process.Pid)

	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(60 * time.Second))
	br := bufio.NewReader(c)
	start := time.Now()
	if n, err := getHead(c, br, "/huge.bin"); err != nil || n != size {
		t.Fatalf("Content-Length %d, %v", n, err)
	}
	if n, err := io.CopyN(io.Discard, br, size); err != nil {
		t.Fatalf("%d of %d bytes: %v", n, int64(size), err)
	}
	elapsed := time.Since(start)
	after := peakRSS(t, cmd.Process.Pid)
	t.Logf("served 1 GiB in %v (%.0f MB/s); the server's peak RSS was %d KiB before, %d KiB after",
		elapsed.Round(time.Millisecond), size/elapsed.Seconds()/1e6, before, after)
	if after > maxPeakRSS {
		t.Errorf("peak RSS %d KiB while serving 1 GiB; want under %d KiB", after, maxPeakRSS)
	}
}

// maxPeakRSS is the bound on the server's peak memory, in KiB.
const maxPeakRSS = 50 << 10

// peakRSS returns the VmHWM ("high water mark") of a process, in KiB.
func peakRSS(t *testing.T, pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kib, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kib
		}
	}
	t.Fatal("no VmHWM in /proc/PID/status")
	return 0
}
