package main

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// BenchmarkFiles serves the same files from the same folder with the
// lesson (-root, through os.Root) and with net/http's FileServer, in the
// same run, and fetches them with the same minimal keep-alive client, so
// that the ratio between the two holds on a noisy machine:
//
//	go test ./04-http-binary -run '^$' -bench Files -count 5
//
// big is a 10 MiB file (MB/s: both servers hand it to sendfile); small is
// hello.txt, 204 bytes (req/s: the cost of the request and the head).
func BenchmarkFiles(b *testing.B) {
	dir := b.TempDir()
	big := make([]byte, 10<<20)
	rand.NewChaCha8([32]byte{}).Read(big)
	if err := os.WriteFile(filepath.Join(dir, "big.bin"), big, 0o644); err != nil {
		b.Fatal(err)
	}
	small, err := os.ReadFile(filepath.Join("site", "hello.txt"))
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "hello.txt"), small, 0o644); err != nil {
		b.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer root.Close()

	servers := []struct {
		name  string
		start func(testing.TB) string
	}{
		{"lesson", func(t testing.TB) string { return startServer(t, root.FS()) }},
		{"net-http", func(t testing.TB) string { return startFileServer(t, dir) }},
	}
	cases := []struct {
		file  string
		size  int64
		conns int
	}{
		{"big.bin", int64(len(big)), 1},
		{"hello.txt", int64(len(small)), 1},
		{"hello.txt", int64(len(small)), 16},
	}
	for _, c := range cases {
		for _, s := range servers {
			b.Run(fmt.Sprintf("%s/conns=%d/%s", c.file, c.conns, s.name), func(b *testing.B) {
				benchGet(b, s.start(b), "/"+c.file, c.size, c.conns)
			})
		}
	}
}

// startFileServer serves dir with net/http's FileServer and returns the
// address.
func startFileServer(t testing.TB, dir string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.FileServer(http.Dir(dir)), ReadHeaderTimeout: headTimeout, IdleTimeout: idleTimeout}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// benchGet fetches path b.N times over conns keep-alive connections, each
// request after the whole previous answer, and checks every length.
func benchGet(b *testing.B, addr, path string, size int64, conns int) {
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	b.SetBytes(size)
	b.ResetTimer()
	for i := range conns {
		n := b.N / conns
		if i < b.N%conns {
			n++
		}
		wg.Go(func() {
			if err := getMany(addr, path, size, n); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// getMany fetches path n times on one connection.
func getMany(addr, path string, size int64, n int) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Minute))
	br := bufio.NewReaderSize(c, 64<<10)
	for range n {
		length, err := getHead(c, br, path)
		if err != nil {
			return err
		}
		if length != size {
			return fmt.Errorf("GET %s: Content-Length %d, want %d", path, length, size)
		}
		if _, err := io.CopyN(io.Discard, br, length); err != nil {
			return err
		}
	}
	return nil
}
