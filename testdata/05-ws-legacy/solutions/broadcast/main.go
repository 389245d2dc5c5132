// Command 05-ws-legacy is lesson 04's HTTP/1.1 file server with a
// WebSocket at /ws, as browsers spoke it in 2010 (draft-hixie-75 and
// draft-hixie-76), and a WebSocket client of those drafts.
//
// Server:  go run ./05-ws-legacy                                (listens on localhost:8005)
// Client:  go run ./05-ws-legacy -connect localhost:8005 -draft 76
//
// It starts from lesson 04 and keeps serving its page and files. What is
// new is in ws.go and client.go: a GET /ws that asks to upgrade is
// answered 101, and from then on the connection carries frames instead
// of requests: 0x00, UTF-8 text, 0xFF. The server sends each one to
// every open WebSocket, the sender's included: a chat room.
package main

//go:generate go run genimages.go

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"
)

const (
	// defaultAddr is where the server listens unless -addr says otherwise.
	// "localhost" can mean 127.0.0.1 (IPv4) or ::1 (IPv6), so the server
	// listens on every address it resolves to.
	defaultAddr = "localhost:8005"

	// maxRequestLine bounds the request line. RFC 9112 section 3 asks
	// servers to accept at least 8000 bytes; a longer line gets 414.
	maxRequestLine = 8 << 10

	// maxHead bounds the whole head: request line, header lines and the
	// blank line. Browsers send 0.5–2 KiB unless cookies pile up; a bigger
	// head gets 431. It is also the size of each connection's read buffer,
	// so one line can never outgrow the buffer unnoticed.
	maxHead = 16 << 10

	// maxBody bounds a request body, which the server holds in memory to
	// echo it. A larger Content-Length gets 413 before a byte is read.
	maxBody = 1 << 20

	// headTimeout is how long a client has to send a whole head once its
	// first byte has arrived. A client that stalls half-way, or trickles
	// one byte at a time, is dropped (408) instead of holding its
	// goroutine and socket forever.
	headTimeout = 10 * time.Second

	// bodyTimeout is how long a client has to send the body after the
	// head: maxBody at 50 KiB/s.
	bodyTimeout = 20 * time.Second

	// idleTimeout closes a keep-alive connection that has not started a
	// new request for this long (RFC 9112 section 9.5). Browsers keep idle
	// connections for minutes; the server need not wait as long.
	idleTimeout = 60 * time.Second

	// writeTimeout bounds writing responses to a client that has stopped
	// reading them.
	writeTimeout = 10 * time.Second

	// lingerTimeout and maxLinger bound how long, and how many bytes, the
	// server reads and throws away after its last response before it
	// closes (RFC 9112 section 9.6): closing with unread bytes makes the
	// kernel send a reset, which can destroy the response in flight.
	lingerTimeout = time.Second
	maxLinger     = 64 << 10

	// shutdownGrace is how long Ctrl-C waits for open connections to
	// finish before it closes them.
	shutdownGrace = 2 * time.Second

	// dateEnv names an environment variable that, when set, replaces the
	// clock in every Date header. The Date is the one part of a response
	// that changes from run to run; the tests set it so that their
	// golden files can hold whole responses, byte for byte.
	dateEnv = "WIRETEST_DATE"

	// httpDate is the IMF-fixdate layout of RFC 9110 section 5.6.7, for
	// time.Format: "Sun, 06 Nov 1994 08:49:37 GMT".
	httpDate = "Mon, 02 Jan 2006 15:04:05 GMT"
)

func main() {
	addr := flag.String("addr", defaultAddr, "listen on `host:port` (port 0 picks a free port)")
	connect := flag.String("connect", "", "be a WebSocket client: send each line of stdin to ws://`host:port`/ws, print the replies")
	draft := flag.Int("draft", 76, "client: the WebSocket draft to speak, `75 or 76`")
	proto := flag.String("protocol", "", "client: ask the server for this sub`protocol`")
	root := flag.String("root", "", "serve the files in `dir` instead of the site built into the program")
	trace := flag.Bool("trace", false, "print every byte read and written, with visible escapes")
	headWait := flag.Duration("head-timeout", headTimeout, "drop a client that takes longer than `d` to send a request head")
	idleWait := flag.Duration("idle-timeout", idleTimeout, "close a keep-alive connection or a WebSocket idle for `d`")
	flag.Usage = usage
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("05-ws-legacy: ")

	var err error
	if *connect != "" {
		err = runClient(*connect, *draft, *proto, *trace)
	} else {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		go func() {
			<-ctx.Done()
			stop() // a second Ctrl-C kills the program at once
		}()
		var files fs.FS
		files, err = openSite(*root)
		if err == nil {
			s := newServer(files)
			s.trace, s.headTimeout, s.idleTimeout = *trace, *headWait, *idleWait
			s.date = os.Getenv(dateEnv)
			err = runServer(ctx, *addr, s)
		}
	}
	if err != nil {
		log.Fatal(err)
	}
}

func usage() {
	fmt.Fprintf(flag.CommandLine.Output(), `05-ws-legacy: lesson 04's file server with a 2010 WebSocket at /ws, and a client for it.

  go run ./05-ws-legacy                                     serve on %s
  go run ./05-ws-legacy -connect localhost:8005             a draft-76 client: lines in, echoes out
  go run ./05-ws-legacy -connect localhost:8005 -draft 75   the same, in draft-75
  open http://localhost:8005/                               the page that explains it all

`, defaultAddr)
	flag.PrintDefaults()
}

// runServer listens on addr and serves HTTP on every connection until ctx
// is cancelled (Ctrl-C), then shuts down gracefully.
func runServer(ctx context.Context, addr string, s *server) error {
	lns, err := listen(addr)
	if err != nil {
		return err
	}
	_, port, _ := net.SplitHostPort(lns[0].Addr().String())
	for _, ln := range lns {
		log.Printf("listening on %s", ln.Addr())
	}
	log.Printf("try: go run ./05-ws-legacy -connect localhost:%s   (and open http://localhost:%s/ to read how)", port, port)

	var accepting sync.WaitGroup
	for _, ln := range lns {
		accepting.Go(func() { s.acceptLoop(ln) })
	}
	<-ctx.Done()
	log.Printf("shutting down: no new connections, %v for open ones", shutdownGrace)
	for _, ln := range lns {
		ln.Close() // makes Accept return an error, ending acceptLoop
	}
	accepting.Wait()
	s.shutdown(shutdownGrace)
	return nil
}

// listen listens on every address that addr's host resolves to. A host
// name such as "localhost" may resolve to both 127.0.0.1 and ::1, and a
// client may try either one first; net.Listen alone would pick only one.
// An IP literal or an empty host (":8001", every interface) needs a
// single listener.
func listen(addr string) ([]net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if host == "" || net.ParseIP(host) != nil {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, err
		}
		return []net.Listener{ln}, nil
	}
	ips, err := net.DefaultResolver.LookupIPAddr(context.Background(), host)
	if err != nil {
		return nil, err
	}
	var lns []net.Listener
	for _, ip := range ips {
		ln, err := net.Listen("tcp", net.JoinHostPort(ip.String(), port))
		if errors.Is(err, syscall.EADDRNOTAVAIL) {
			// The name lists an address this machine cannot use, such as
			// ::1 with IPv6 turned off: skip it, and serve on the others.
			log.Printf("skipping %s: %v", ip, err)
			continue
		}
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return nil, err
		}
		lns = append(lns, ln)
		// Port 0 picks a free port; the other addresses share the one
		// the first listener got, so one port number reaches them all.
		_, port, _ = net.SplitHostPort(ln.Addr().String())
	}
	if len(lns) == 0 {
		return nil, fmt.Errorf("%s: no address of %s to listen on", addr, host)
	}
	return lns, nil
}

// server holds what the connection handlers share.
type server struct {
	trace       bool          // immutable: log every byte
	headTimeout time.Duration // immutable: see the constant headTimeout
	idleTimeout time.Duration // immutable: see the constant idleTimeout
	date        string        // immutable: the Date header's value, or "" for the clock
	files       fs.FS         // immutable: the site; names in it never leave it
	nextID      atomic.Int64  // numbers connections #1, #2, … in the log
	hub         *hub          // ws.go: the open WebSockets a message goes to

	mu    sync.Mutex
	conns map[net.Conn]struct{} // open connections; guarded by mu
	wg    sync.WaitGroup        // one count per running handler
}

func newServer(files fs.FS) *server {
	return &server{
		files:       files,
		headTimeout: headTimeout,
		idleTimeout: idleTimeout,
		hub:         &hub{clients: make(map[*wsConn]chan []byte)},
		conns:       make(map[net.Conn]struct{}),
	}
}

// acceptLoop accepts connections until ln is closed, and serves each one
// on its own goroutine so that one slow client never delays another.
func (s *server) acceptLoop(ln net.Listener) {
	backoff := 5 * time.Millisecond
	for {
		c, err := ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			// Typically EMFILE (too many open files): wait for a handler
			// to finish and free a descriptor, instead of spinning.
			log.Printf("accept: %v; retrying in %v", err, backoff)
			time.Sleep(backoff)
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		s.track(c, true)
		id := s.nextID.Add(1) // here, not in handle: numbered in the order accepted
		s.wg.Go(func() {
			defer s.track(c, false)
			s.handle(c, id)
		})
	}
}

func (s *server) track(c net.Conn, open bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if open {
		s.conns[c] = struct{}{}
	} else {
		delete(s.conns, c)
	}
}

// shutdown waits up to grace for the handlers to finish, then closes the
// connections that are still open and waits for their handlers to return.
func (s *server) shutdown(grace time.Duration) {
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return
	case <-time.After(grace):
	}
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	<-done
}

// errIdle says a keep-alive connection had no new request in time.
var errIdle = errors.New("idle")

// handle serves one connection until the client leaves or a response
// closes it.
func (s *server) handle(c net.Conn, id int64) {
	defer c.Close()
	log.Printf("#%d %s connected", id, c.RemoteAddr())

	n, err := s.serveConn(c, id)
	switch {
	case err == nil:
		log.Printf("#%d %s left after %d requests", id, c.RemoteAddr(), n)
	case errors.Is(err, errIdle):
		log.Printf("#%d %s idle for %v after %d requests: closing", id, c.RemoteAddr(), s.idleTimeout, n)
	case errors.Is(err, net.ErrClosed):
		log.Printf("#%d %s closed at shutdown after %d requests", id, c.RemoteAddr(), n)
	default:
		log.Printf("#%d %s lost after %d requests: %v", id, c.RemoteAddr(), n, err)
	}
}

// conn is one client connection and the buffers it reuses from request
// to request.
type conn struct {
	s  *server
	c  net.Conn
	id int64
	w  io.Writer     // c, or a tracer around it: file bodies go here, past bw
	br *bufio.Reader // reads from c; its size is maxHead
	bw *bufio.Writer // writes to c; flushed before every read that waits
	rq request       // the request being served
	// head and scratch are reused by every request so that a steady
	// stream of requests allocates little.
	head, scratch []byte
}

// serveConn answers the requests on c in order, and returns how many it
// answered. It returns nil when the client left or asked to close.
func (s *server) serveConn(c net.Conn, id int64) (int, error) {
	var src io.Reader = c
	var dst io.Writer = c
	if s.trace {
		src = tracer{id: id, arrow: "<-", r: c}
		dst = tracer{id: id, arrow: "->", w: c}
	}
	cn := &conn{s: s, c: c, id: id, w: dst, bw: bufio.NewWriter(dst)}
	cn.br = bufio.NewReaderSize(flusher{r: src, w: cn.bw}, maxHead)
	for n := 0; ; n++ {
		// Wait for the first byte of the next request, then give the
		// whole head headTimeout to arrive.
		c.SetReadDeadline(time.Now().Add(s.idleTimeout))
		if _, err := cn.br.Peek(1); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return n, errIdle
			}
			if err == io.EOF {
				return n, nil // the client closed between requests
			}
			return n, err
		}
		c.SetReadDeadline(time.Now().Add(s.headTimeout))
		keepAlive, err := cn.serveOne()
		if err != nil {
			return n, err
		}
		if !keepAlive {
			return n + 1, cn.closeGently()
		}
	}
}

// flusher is the reader under a connection's bufio.Reader: it flushes
// the responses written so far before it waits for more bytes. Responses
// to pipelined requests that are already buffered go out in one write,
// and a client that waits for its response always gets it.
type flusher struct {
	r io.Reader
	w *bufio.Writer
}

func (f flusher) Read(p []byte) (int, error) {
	if f.w.Buffered() > 0 {
		if err := f.w.Flush(); err != nil {
			return 0, err
		}
	}
	return f.r.Read(p)
}

// closeGently flushes, closes our sending side, then reads and discards
// what the client still sends until it closes too, lingerTimeout passes
// or maxLinger bytes arrive (RFC 9112 section 9.6).
func (cn *conn) closeGently() error {
	if err := cn.bw.Flush(); err != nil {
		return err
	}
	if tc, ok := cn.c.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
	cn.c.SetReadDeadline(time.Now().Add(lingerTimeout))
	io.CopyN(io.Discard, cn.br, maxLinger)
	return nil
}

// tracer logs the bytes that pass through it, one line per line of data,
// as "#id <- bytes" (read) or "#id -> bytes" (written).
type tracer struct {
	id    int64
	arrow string
	r     io.Reader
	w     io.Writer
}

func (t tracer) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	t.log(p[:n])
	return n, err
}

func (t tracer) Write(p []byte) (int, error) {
	n, err := t.w.Write(p)
	t.log(p[:n])
	return n, err
}

func (t tracer) log(p []byte) {
	for len(p) > 0 {
		line := p
		if i := bytes.IndexByte(p, '\n'); i >= 0 {
			line = p[:i+1]
		}
		log.Printf("#%d %s %s", t.id, t.arrow, escape(line))
		p = p[len(line):]
	}
}

// escape shows bytes as text a reader can check byte by byte: printable
// UTF-8 as itself; \r, \n, \t and \\ as in Go; every other byte as \xHH.
func escape(p []byte) string {
	var b strings.Builder
	for len(p) > 0 {
		r, size := utf8.DecodeRune(p)
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case !(r == utf8.RuneError && size == 1) && strconv.IsPrint(r):
			b.Write(p[:size])
		default:
			for _, c := range p[:size] {
				fmt.Fprintf(&b, `\x%02x`, c)
			}
		}
		p = p[size:]
	}
	return b.String()
}
