package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"sockets/internal/wiretest"
)

// The tests below put the lesson behind Debian's nginx, configured with
// nginx.conf, the very file REFERENCE.md shows (TestNginxConfShown
// checks that it does). The test changes only the ports and the read
// timeout, and runs nginx as a child with its own prefix folder: its pid,
// logs and temporary files stay in a temporary folder.

// Lines of nginx.conf the test rewrites: each must appear exactly once.
const (
	confListen   = "listen 127.0.0.1:8080;"
	confUpstream = "proxy_pass http://127.0.0.1:8006;"
	confTimeout  = "proxy_read_timeout 60s;"
)

// Timing of the idle test: nginx drops a connection with no traffic for
// proxyTimeout; the server pings one quiet for testPing; the client stays
// quiet for idleFor, longer than proxyTimeout.
const (
	proxyTimeout = 3 * time.Second
	testPing     = time.Second
	idleFor      = proxyTimeout + time.Second
)

// TestNginxConfShown checks that REFERENCE.md shows nginx.conf as it
// is, in an nginx block.
func TestNginxConfShown(t *testing.T) {
	conf, err := os.ReadFile("nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile("REFERENCE.md")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(page, []byte("```nginx\n"+string(conf)+"```\n")) {
		t.Errorf("REFERENCE.md has no ```nginx block that is exactly nginx.conf; copy the file into it")
	}
	if !bytes.Contains(page, []byte("```nginx\n"+upstreamLessons+"```\n")) {
		t.Errorf("REFERENCE.md has no ```nginx block that is exactly upstreamLessons; copy it from nginx_test.go")
	}
}

// TestNginx talks to the lesson through nginx: the page, text and binary
// echoes of every length form, a ping between fragments, a clean close,
// and a quiet connection that outlives nginx's read timeout because the
// server pings it.
func TestNginx(t *testing.T) {
	bin := findNginx(t)
	serverLog(t)
	rec := &recorder{}
	addr, _ := startServerOn(t, rec.listen(t), nil)
	proxy, _ := startNginx(t, bin, addr)
	host := browserHost(proxy)

	t.Run("page", func(t *testing.T) {
		want, err := fs.ReadFile(site, "site/index.html")
		if err != nil {
			t.Fatal(err)
		}
		c := &http.Client{Timeout: 10 * time.Second}
		rs, err := c.Get("http://" + proxy + "/")
		if err != nil {
			t.Fatal(err)
		}
		defer rs.Body.Close()
		got, err := io.ReadAll(rs.Body)
		if err != nil || rs.StatusCode != 200 || !bytes.Equal(got, want) {
			t.Fatalf("GET / through nginx: %s, %d bytes (%v); want 200 and index.html's %d bytes", rs.Status, len(got), err, len(want))
		}
	})

	t.Run("handshake as the server sees it", func(t *testing.T) {
		ws := dialWS(t, proxy)
		ws.close(t)
		// nginx rewrites the hop-by-hop headers: the server gets the
		// lower-case "Connection: upgrade" of the map, and the Host the
		// client used, with its port, which the Origin check compares.
		head := rec.find("GET /ws ")
		for _, line := range []string{"\r\nConnection: upgrade\r\n", "\r\nUpgrade: websocket\r\n", "\r\nHost: " + host + "\r\n", "\r\nOrigin: http://" + host + "\r\n"} {
			if !strings.Contains(head, line) {
				t.Errorf("the handshake nginx passed on has no %q:\n%s", line, head)
			}
		}
	})

	t.Run("origin of another port refused", func(t *testing.T) {
		c := dialTCP(t, proxy)
		fmt.Fprintf(c, "GET /ws HTTP/1.1\r\nHost: %s\r\nOrigin: http://localhost:3000\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", host)
		status, err := bufio.NewReader(c).ReadString('\n')
		if err != nil || !strings.HasPrefix(status, "HTTP/1.1 403 ") {
			t.Fatalf("a page of localhost:3000 through nginx: %q %v; want 403", status, err)
		}
	})

	t.Run("echo", func(t *testing.T) {
		ws := dialWS(t, proxy)
		for _, n := range []int{0, 125, 126, 65535, 65536, 1 << 20} {
			txt := []byte(strings.Repeat("é", n/2) + strings.Repeat("a", n%2))
			data := make([]byte, n)
			for i := range data {
				data[i] = byte(i % 251)
			}
			for _, m := range []struct {
				op opcode
				p  []byte
			}{{opText, txt}, {opBinary, data}} {
				ws.send(frame(finBit|m.op, m.p, false))
				op, got := ws.message(t)
				if op != m.op || !bytes.Equal(got, m.p) {
					t.Fatalf("%s of %d bytes came back as %s of %d bytes", m.op, n, op, len(got))
				}
			}
		}
		// A ping between two fragments is answered at once; the message
		// still arrives whole.
		ws.send(frame(opText, []byte("Hel"), false), frame(finBit|opPing, []byte("mid"), false), frame(finBit|opContinuation, []byte("lo"), false))
		op, got := ws.message(t)
		if op != opText || string(got) != "Hello" || !slices.Equal(ws.pongs, []string{"mid"}) {
			t.Fatalf("fragments with a ping between: got %s %q and pongs %q; want text \"Hello\" and pong \"mid\"", op, got, ws.pongs)
		}
		ws.close(t)
	})

	// The two idle cases run side by side: each waits out the proxy's
	// timeout.
	t.Run("idle with pings", func(t *testing.T) {
		t.Parallel()
		addr, _ := startServerOn(t, listenLocal(t), func(s *httpServer) { s.ping = testPing })
		proxy, logs := startNginx(t, bin, addr)
		ws := dialWS(t, proxy)
		// Quiet for longer than nginx's read timeout, answering pings.
		if err := ws.idle(time.Now().Add(idleFor)); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("the connection ended while idle, after %d pings: %v\nnginx: %s", ws.pings, err, logs())
		}
		if l := logs(); strings.Contains(l, "timed out") {
			t.Errorf("nginx timed something out:\n%s", l)
		}
		if ws.pings < 2 {
			t.Errorf("%d pings in %v; want one every %v or so", ws.pings, idleFor, testPing)
		}
		ws.send(frame(finBit|opText, []byte("still here"), false))
		if op, got := ws.message(t); op != opText || string(got) != "still here" {
			t.Fatalf("after %v idle: %s %q", idleFor, op, got)
		}
		ws.close(t)
	})

	t.Run("idle without pings", func(t *testing.T) {
		t.Parallel()
		addr, _ := startServerOn(t, listenLocal(t), func(s *httpServer) { s.ping = 0 })
		proxy, logs := startNginx(t, bin, addr)
		ws := dialWS(t, proxy)
		start := time.Now()
		err := ws.idle(start.Add(proxyTimeout + 10*time.Second))
		took := time.Since(start)
		// nginx gives up on the quiet connection and closes it: no close
		// frame, the TCP connection just ends.
		if !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("a quiet connection without pings, behind a %v proxy timeout: %v after %v; want nginx to close it", proxyTimeout, err, took)
		}
		if took < proxyTimeout-time.Second/2 || ws.pings != 0 {
			t.Errorf("closed after %v and %d pings; want about %v and none", took, ws.pings, proxyTimeout)
		}
		if l := logs(); !strings.Contains(l, "upstream timed out") {
			t.Errorf("nginx's error log does not say the upstream timed out:\n%s", l)
		}
	})
}

// upstreamLessons is the block REFERENCE.md adds to nginx.conf's http
// block for two lesson servers, with proxy_pass http://lessons; instead
// of the one server. TestNginxConfShown checks that the page shows it.
const upstreamLessons = `    upstream lessons {
        least_conn;  # WebSockets stay open: send a new one to the least busy
        server 127.0.0.1:8006;
        server 127.0.0.1:8016;
    }
`

// TestNginxTwoServers puts two lesson servers behind one nginx: new
// WebSockets go to the one with fewer open, and when one server stops,
// its WebSockets get 1001 (going away) and reconnect through nginx to
// the other.
func TestNginxTwoServers(t *testing.T) {
	bin := findNginx(t)
	serverLog(t)
	lnA := listenLocal(t)
	addrA, a := startServerOn(t, lnA, nil)
	addrB, b := startServerOn(t, listenLocal(t), nil)
	block := strings.NewReplacer("127.0.0.1:8006", addrA, "127.0.0.1:8016", addrB).Replace(upstreamLessons)
	proxy, logs := startNginx(t, bin, "lessons",
		[2]string{"map $http_upgrade", block + "\n    map $http_upgrade"},
		[2]string{fmt.Sprintf("proxy_read_timeout %dms;", proxyTimeout.Milliseconds()), "proxy_read_timeout 60s;"})

	const clients = 8
	var wss []*wsClient
	for i := range clients {
		ws := dialWS(t, proxy)
		msg := fmt.Sprintf("hello from %d", i)
		ws.send(frame(finBit|opText, []byte(msg), false))
		if op, got := ws.message(t); op != opText || string(got) != msg {
			t.Fatalf("client %d through nginx: %s %q", i, op, got)
		}
		wss = append(wss, ws)
	}
	open := func(s *server) int {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.conns)
	}
	onA, onB := open(a), open(b)
	if onA+onB != clients || onA == 0 || onB == 0 {
		t.Fatalf("%d WebSockets through nginx: %d on one server, %d on the other; want them shared\nnginx: %s", clients, onA, onB, logs())
	}

	// Server a stops, as at Ctrl-C: each of its WebSockets gets 1001; b's
	// stay open. shutdown returns after its grace period, so the close
	// frames have long arrived: a short wait tells the two apart.
	lnA.Close()
	a.shutdown(time.Second)
	gone := 0
	for _, ws := range wss {
		ws.c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		for {
			h, p, err := ws.frame()
			if errors.Is(err, os.ErrDeadlineExceeded) {
				break // still open: served by b
			}
			if err != nil {
				t.Fatalf("a WebSocket through nginx: %v\nnginx: %s", err, logs())
			}
			if h.opcode == opPing {
				continue
			}
			if h.opcode != opClose || len(p) < 2 || binary.BigEndian.Uint16(p) != closeGoingAway {
				t.Fatalf("from the server that stopped: %s %s; want close 1001", h.opcode, describeClose(p))
			}
			gone++
			break
		}
	}
	if gone != onA {
		t.Fatalf("%d WebSockets were told 1001; %d were on the server that stopped", gone, onA)
	}
	// They reconnect through nginx, which now sends them all to b.
	for i := range gone {
		ws := dialWS(t, proxy)
		ws.send(frame(finBit|opText, []byte("back"), false))
		if op, got := ws.message(t); op != opText || string(got) != "back" {
			t.Fatalf("reconnection %d through nginx: %s %q", i, op, got)
		}
	}
	if n := open(b); n != clients {
		t.Errorf("after the reconnections, the server left has %d WebSockets; want %d", n, clients)
	}
}

// TestNginxWithout takes one line out of nginx.conf at a time and shows
// what breaks: the handshake, each time in its own way.
func TestNginxWithout(t *testing.T) {
	bin := findNginx(t)
	addr, _ := startServer(t, nil)
	for _, c := range []struct {
		line, instead string
		status        string // what the handshake gets through nginx
		why           string // what the server said, in the response body
	}{
		// nginx speaks HTTP/1.0 to upstreams unless told otherwise, and
		// HTTP/1.0 has no Upgrade.
		{"proxy_http_version 1.1;", "", "400", "needs HTTP/1.1"},
		// Upgrade and Connection are hop-by-hop (RFC 9110 section 7.6.1):
		// nginx does not pass them on unless told to.
		{"proxy_set_header Upgrade $http_upgrade;", "", "426", "Upgrade: websocket"},
		{"proxy_set_header Connection $connection_upgrade;", "", "400", "does not list \"Upgrade\""},
		// $host is the host name alone, without the port: the page's
		// Origin, with its port, no longer matches.
		{"proxy_set_header Host $http_host;", "proxy_set_header Host $host;", "403", "is not this site's"},
	} {
		t.Run(c.line, func(t *testing.T) {
			proxy, _ := startNginx(t, bin, addr, [2]string{c.line, c.instead})
			conn := dialTCP(t, proxy)
			host := browserHost(proxy)
			fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: %s\r\nOrigin: http://%s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", host, host)
			rs, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(rs.Body)
			if !strings.HasPrefix(rs.Status, c.status+" ") || !strings.Contains(string(body), c.why) {
				t.Errorf("without %q: %s %q; want %s and %q", c.line, rs.Status, body, c.status, c.why)
			}
		})
	}
}

// findNginx returns nginx's path, or skips the test (fails it in CI).
func findNginx(t *testing.T) string {
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	if p, err := exec.LookPath("/usr/sbin/nginx"); err == nil {
		return p // not in PATH for users other than root
	}
	wiretest.Missing(t, "nginx (Debian: apt-get install nginx-light)")
	return ""
}

// startNginx runs nginx with nginx.conf, proxying to upstream with
// proxyTimeout for a read timeout, on a free loopback port, each of edits
// replacing a line of the file first. It returns nginx's address and a
// function that returns nginx's error log.
func startNginx(t *testing.T, bin, upstream string, edits ...[2]string) (string, func() string) {
	t.Helper()
	conf, err := os.ReadFile("nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	logs := func() string {
		b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		return string(b)
	}
	// A port that was free a moment ago may be taken by the time nginx
	// binds it; then nginx exits, and the next try takes another.
	for try := 1; ; try++ {
		addr, out, err := runNginx(t, bin, dir, string(conf), upstream, edits)
		if err == nil {
			return addr, logs
		}
		if !strings.Contains(out+logs(), "Address already in use") || try == 3 {
			t.Fatalf("nginx: %v\n%s%s", err, out, logs())
		}
	}
}

// runNginx writes conf, with its ports and timeout replaced, to dir and
// starts nginx with it. Once nginx accepts connections it returns the
// address nginx listens on; if nginx exits first, the error and what
// nginx printed.
func runNginx(t *testing.T, bin, dir, conf, upstream string, edits [][2]string) (string, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	for _, r := range append([][2]string{
		{confListen, "listen " + addr + ";"},
		{confUpstream, "proxy_pass http://" + upstream + ";"},
		{confTimeout, fmt.Sprintf("proxy_read_timeout %dms;", proxyTimeout.Milliseconds())},
	}, edits...) {
		if n := strings.Count(conf, r[0]); n != 1 {
			t.Fatalf("nginx.conf has %q %d times; the test needs it once", r[0], n)
		}
		conf = strings.Replace(conf, r[0], r[1], 1)
	}
	file := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(file, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	out := new(syncBuffer) // nginx's own output, before it opens error.log
	cmd := exec.Command(bin, "-p", dir, "-c", file, "-g", "daemon off;")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		// SIGTERM: nginx's fast shutdown, which closes open connections.
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}
	// Ready once it accepts a connection.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Cleanup(stop)
			return addr, out.String(), nil
		}
		select {
		case err := <-exited:
			return "", out.String(), fmt.Errorf("nginx exited: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return "", out.String(), fmt.Errorf("nginx does not accept connections on %s after 10s", addr)
		}
	}
}

// syncBuffer is a bytes.Buffer that a process's output and the test can
// share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// serverLog collects the log of the servers a test starts, and shows it
// if the test fails.
func serverLog(t *testing.T) {
	buf := new(syncBuffer)
	old := log.Writer()
	log.SetOutput(buf)
	t.Cleanup(func() {
		log.SetOutput(old)
		if t.Failed() {
			t.Logf("the lesson's log:\n%s", buf)
		}
	})
}

func listenLocal(t *testing.T) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// recorder keeps the first bytes the server reads on each connection:
// the request heads, as nginx passed them on.
type recorder struct {
	mu    sync.Mutex
	heads []*bytes.Buffer
}

func (r *recorder) listen(t *testing.T) net.Listener {
	return recordingListener{listenLocal(t), r}
}

// find returns the recorded head that starts with prefix.
func (r *recorder) find(prefix string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range r.heads {
		if strings.HasPrefix(b.String(), prefix) {
			head, _, _ := strings.Cut(b.String(), "\r\n\r\n")
			return head + "\r\n"
		}
	}
	return ""
}

type recordingListener struct {
	net.Listener
	r *recorder
}

func (l recordingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return c, err
	}
	b := new(bytes.Buffer)
	l.r.mu.Lock()
	l.r.heads = append(l.r.heads, b)
	l.r.mu.Unlock()
	return &recordingConn{Conn: c, r: l.r, b: b}, nil
}

type recordingConn struct {
	net.Conn
	r *recorder
	b *bytes.Buffer
}

// CloseWrite lets the server half-close, as it does on a *net.TCPConn.
func (c *recordingConn) CloseWrite() error { return c.Conn.(*net.TCPConn).CloseWrite() }

func (c *recordingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.r.mu.Lock()
	if c.b.Len() < maxHead {
		c.b.Write(p[:n])
	}
	c.r.mu.Unlock()
	return n, err
}

func dialTCP(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(time.Minute))
	return c
}

// wsClient is a WebSocket client written frame by frame, which answers
// the server's pings and counts them.
type wsClient struct {
	c     net.Conn
	br    *bufio.Reader
	pings int
	pongs []string
	wmu   sync.Mutex // the test and the ping answers both write
}

// browserHost is the Host a browser sends for a page at addr: the name it
// was given, localhost, and the port.
func browserHost(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return "localhost:" + port
}

// dialWS connects to addr and does the handshake as a page of
// http://localhost:PORT/ would.
func dialWS(t *testing.T, addr string) *wsClient {
	t.Helper()
	c := dialTCP(t, addr)
	host := browserHost(addr)
	fmt.Fprintf(c, "GET /ws HTTP/1.1\r\nHost: %s\r\nOrigin: http://%s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", host, host)
	br := bufio.NewReader(c)
	head, err := readHead(br, nil)
	if err != nil || !strings.HasPrefix(string(head), "HTTP/1.1 101 ") ||
		!strings.Contains(string(head), "\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n") {
		t.Fatalf("handshake through nginx: %v\n%s", err, head)
	}
	return &wsClient{c: c, br: br}
}

// send writes frames from another goroutine: the server echoes a large
// message while it arrives, and a client that reads only after writing
// all of it could fill every buffer on the way and wait forever.
func (ws *wsClient) send(frames ...[]byte) {
	go func() {
		ws.wmu.Lock()
		defer ws.wmu.Unlock()
		for _, f := range frames {
			if _, err := ws.c.Write(f); err != nil {
				return // the reader sees the connection fail
			}
		}
	}()
}

// frame reads one frame, answering a ping; it fails on a masked frame.
func (ws *wsClient) frame() (frameHeader, []byte, error) {
	h, err := peekHeader(ws.br)
	if err != nil {
		return h, nil, err
	}
	if h.masked || h.length > 2<<20 {
		return h, nil, fmt.Errorf("a frame from the server, masked %v, of %d bytes", h.masked, h.length)
	}
	p := make([]byte, h.length)
	if _, err := io.ReadFull(ws.br, p); err != nil {
		return h, nil, err
	}
	switch h.opcode {
	case opPing:
		ws.pings++
		ws.send(frame(finBit|opPong, p, false))
	case opPong:
		ws.pongs = append(ws.pongs, string(p))
	}
	return h, p, nil
}

// message reads frames until a whole data message has arrived.
func (ws *wsClient) message(t *testing.T) (opcode, []byte) {
	t.Helper()
	ws.c.SetReadDeadline(time.Now().Add(30 * time.Second))
	var msg []byte
	var op opcode
	for {
		h, p, err := ws.frame()
		if err != nil {
			t.Fatalf("reading a message: %v", err)
		}
		switch {
		case h.opcode == opClose:
			t.Fatalf("the server closed: %s", describeClose(p))
		case h.opcode.isControl():
		default:
			if h.opcode != opContinuation {
				op = h.opcode
			}
			msg = append(msg, p...)
			if h.fin {
				return op, msg
			}
		}
	}
}

// idle reads until deadline, answering pings; any other frame is an
// error. It returns why reading stopped.
func (ws *wsClient) idle(deadline time.Time) error {
	ws.c.SetReadDeadline(deadline)
	for {
		h, p, err := ws.frame()
		if err != nil {
			return err
		}
		if h.opcode != opPing {
			return fmt.Errorf("a %s frame %q on an idle connection", h.opcode, p)
		}
	}
}

// close closes with 1000 and expects the server's 1000, then the end of
// the connection.
func (ws *wsClient) close(t *testing.T) {
	t.Helper()
	ws.send(frame(finBit|opClose, binary.BigEndian.AppendUint16(nil, closeNormal), false))
	ws.c.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		h, p, err := ws.frame()
		if err != nil {
			t.Fatalf("waiting for the server's close: %v", err)
		}
		if h.opcode != opClose {
			continue // a ping may still come
		}
		if len(p) < 2 || binary.BigEndian.Uint16(p) != closeNormal {
			t.Fatalf("the server closed with %s; want 1000", describeClose(p))
		}
		break
	}
	if n, err := io.Copy(io.Discard, ws.br); n != 0 || err != nil {
		t.Fatalf("after its close frame: %d bytes more, %v; want the connection to end", n, err)
	}
}
