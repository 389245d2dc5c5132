// Command 01-echo is a TCP echo server, and a client for it.
//
// Server:  go run ./01-echo                      (listens on localhost:8001)
// Client:  go run ./01-echo -connect localhost:8001
//
// TCP carries a stream of bytes with no message boundaries. The server
// sends back every byte it reads, unchanged, in the order it read them;
// it never needs to know where one "message" ends.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
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
	defaultAddr = "localhost:8001"

	// idleTimeout closes a connection that neither sends a byte nor
	// accepts one for this long, so a vanished client cannot hold a
	// goroutine and a socket forever.
	idleTimeout = 2 * time.Minute

	// shutdownGrace is how long Ctrl-C waits for open connections to
	// finish before it closes them.
	shutdownGrace = 2 * time.Second

	// naiveReadSize is the one read the -naive client makes, like the
	// recv(1024) of the program this lesson grew from.
	naiveReadSize = 1024
)

func main() {
	addr := flag.String("addr", defaultAddr, "listen on `host:port` (port 0 picks a free port)")
	connect := flag.String("connect", "", "be a client: connect to the echo server at `host:port`")
	naive := flag.Bool("naive", false, "client: send stdin, then make one read of 1024 bytes (wrong on purpose)")
	trace := flag.Bool("trace", false, "print every byte read and written, with visible escapes")
	flag.Usage = usage
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("01-echo: ")

	var err error
	if *connect != "" {
		err = runClient(*connect, *naive, *trace)
	} else {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		go func() {
			<-ctx.Done()
			stop() // a second Ctrl-C kills the program at once
		}()
		err = runServer(ctx, *addr, *trace)
	}
	if err != nil {
		log.Fatal(err)
	}
}

func usage() {
	fmt.Fprintf(flag.CommandLine.Output(), `01-echo: a TCP echo server, and a client for it.

  go run ./01-echo                          serve on %s
  go run ./01-echo -connect localhost:8001  send stdin, print what comes back

`, defaultAddr)
	flag.PrintDefaults()
}

// runServer listens on addr and echoes on every connection until ctx is
// cancelled (Ctrl-C), then shuts down gracefully.
func runServer(ctx context.Context, addr string, trace bool) error {
	lns, err := listen(addr)
	if err != nil {
		return err
	}
	_, port, _ := net.SplitHostPort(lns[0].Addr().String())
	for _, ln := range lns {
		log.Printf("listening on %s", ln.Addr())
	}
	log.Printf("try: nc -N localhost %s   (or: go run ./01-echo -connect localhost:%s)", port, port)

	s := &server{trace: trace, idle: idleTimeout, conns: make(map[net.Conn]struct{})}
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
	trace  bool          // immutable: log every byte
	idle   time.Duration // immutable: idleTimeout, shorter in tests
	nextID atomic.Int64  // numbers connections #1, #2, … in the log

	mu    sync.Mutex
	conns map[net.Conn]struct{} // open connections; guarded by mu
	wg    sync.WaitGroup        // one count per running handler
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
		id := s.nextID.Add(1) // numbered here, in the order of arrival
		s.track(c, true)
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

// handle echoes one connection until the client is done, then closes it.
func (s *server) handle(c net.Conn, id int64) {
	defer c.Close()
	log.Printf("#%d %s connected", id, c.RemoteAddr())

	n, err := s.echo(c, id)
	switch {
	case err == nil:
		log.Printf("#%d %s left after %d bytes", id, c.RemoteAddr(), n)
	case errors.Is(err, os.ErrDeadlineExceeded):
		log.Printf("#%d %s idle for %v after %d bytes: closing", id, c.RemoteAddr(), s.idle, n)
	case errors.Is(err, net.ErrClosed):
		log.Printf("#%d %s closed at shutdown after %d bytes", id, c.RemoteAddr(), n)
	case errors.Is(err, syscall.ECONNRESET):
		log.Printf("#%d %s reset the connection after %d bytes", id, c.RemoteAddr(), n)
	default:
		log.Printf("#%d %s lost after %d bytes: %v", id, c.RemoteAddr(), n, err)
	}
}

// echo copies everything c sends back to c. When the client half-closes
// (shuts down its sending side), every byte read has already been written
// back, so echo closes our sending side too and returns nil.
func (s *server) echo(c net.Conn, id int64) (int64, error) {
	var src io.Reader = c
	var dst io.Writer = c
	if s.trace {
		src = tracer{id: id, arrow: "<-", r: c}
		dst = tracer{id: id, arrow: "->", w: c}
	}
	var total int64
	for {
		// A read may wait idleTimeout, a write twice as long: a timeout
		// before the write deadline came from a read, where io.Copy holds
		// no bytes, so the copy can go on. A write that times out may
		// leave bytes undelivered, so it ends the connection: the client
		// has not taken a byte for at least idleTimeout.
		start := time.Now()
		c.SetReadDeadline(start.Add(s.idle))
		c.SetWriteDeadline(start.Add(2 * s.idle))
		// The bytes must now pass through this program to be changed,
		// so io.Copy's splice shortcut no longer applies.
		n, err := io.Copy(dst, upperReader{src})
		total += n
		readTimeout := time.Since(start) < 2*s.idle
		if errors.Is(err, os.ErrDeadlineExceeded) && readTimeout && n > 0 {
			continue // bytes moved in this window: the client is not idle
		}
		if err != nil {
			return total, err
		}
		if tc, ok := c.(*net.TCPConn); ok {
			return total, tc.CloseWrite()
		}
		return total, nil
	}
}

// upperReader upper-cases the ASCII letters a-z of what it reads. It can
// work byte by byte: in UTF-8 every byte of a multi-byte character is
// 0x80 or more, so no such byte is ever mistaken for a letter, even when a
// character is split across two reads.
type upperReader struct{ r io.Reader }

func (u upperReader) Read(p []byte) (int, error) {
	n, err := u.r.Read(p)
	for i, b := range p[:n] {
		if 'a' <= b && b <= 'z' {
			p[i] = b - ('a' - 'A')
		}
	}
	return n, err
}

// runClient connects to addr, sends everything from stdin and prints
// everything that comes back, until the server closes the connection.
func runClient(addr string, naive, trace bool) error {
	// net.Dial tries every address the host resolves to (IPv6 and IPv4)
	// until one answers.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	c := conn.(*net.TCPConn)
	log.Printf("connected to %s from %s", c.RemoteAddr(), c.LocalAddr())

	var src io.Reader = c
	var dst io.Writer = c
	if trace {
		src = tracer{id: 0, arrow: "<-", r: c}
		dst = tracer{id: 0, arrow: "->", w: c}
	}
	if naive {
		return naiveExchange(c, src, dst)
	}

	// Send and receive at the same time: the server may echo a large
	// input before we finish sending it, and if nobody read the echo both
	// sides would block with full buffers.
	sent := make(chan error, 1)
	go func() {
		_, err := io.Copy(dst, os.Stdin)
		if err == nil {
			err = c.CloseWrite() // tell the server we are done sending
		}
		sent <- err
	}()
	if _, err := io.Copy(os.Stdout, src); err != nil {
		return err
	}
	// The server has closed. If we are still sending (stdin is open), stop:
	// nothing more can come back.
	select {
	case err := <-sent:
		return err
	default:
		return nil
	}
}

// naiveExchange does what the seed's client did: send, then make one
// read and take it as "the reply". A reply longer than the read, or one
// that arrives in pieces, is cut short.
func naiveExchange(c *net.TCPConn, src io.Reader, dst io.Writer) error {
	msg, err := io.ReadAll(os.Stdin)
	if err != nil {
		return err
	}
	if _, err := dst.Write(msg); err != nil {
		return err
	}
	buf := make([]byte, naiveReadSize)
	n, err := src.Read(buf)
	if err != nil {
		return err
	}
	os.Stdout.Write(buf[:n])
	log.Printf("sent %d bytes, one read returned %d", len(msg), n)
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
