// Command 02-encodings is a line echo server that speaks text in an
// encoding you pick, and a client for it.
//
// Server:  go run ./02-encodings -encoding utf-16le       (listens on localhost:8002)
// Client:  go run ./02-encodings -connect localhost:8002 -encoding ascii -raw
//
// There are no strings on the wire, only bytes. The server greets each
// client with two lines of text, then reads the client's bytes a line at a
// time, decodes each line into text and encodes that text back. Both sides
// must agree on the encoding, and on where a line ends.
package main

import (
	"bufio"
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
	defaultAddr = "localhost:8002"

	// idleTimeout closes a connection that has not finished a line, or
	// not taken our echo, for this long, so a vanished client cannot hold
	// a goroutine and a socket forever.
	idleTimeout = 2 * time.Minute

	// shutdownGrace is how long Ctrl-C waits for open connections to
	// finish before it closes them.
	shutdownGrace = 2 * time.Second

	// maxLine bounds a line, newline included. A line is decoded whole,
	// so it must fit in memory; without a bound a client that never sends
	// a newline would make us buffer forever. 64 KiB is far longer than
	// any line a person types, and cheap enough to hold per connection.
	maxLine = 64 << 10

	// lingerTimeout is how long the server keeps reading (and discarding)
	// after it has sent an error and stopped sending. Closing a socket
	// with unread bytes in it makes the kernel answer with a reset, which
	// can destroy the error line before the client has read it.
	lingerTimeout = time.Second

	// naiveReadSize is the buffer of the -naive server's reads.
	naiveReadSize = 1024
)

// greeting is what the server says first, in its encoding: a line any
// encoding can say, and one that only Unicode encodings can.
var greeting = []byte("Hello\n汉语/漢語 Hànyǔ\n")

// errLineTooLong is a line that does not fit in maxLine bytes.
var errLineTooLong = fmt.Errorf("line longer than %d bytes", maxLine)

func main() {
	addr := flag.String("addr", defaultAddr, "listen on `host:port` (port 0 picks a free port)")
	connect := flag.String("connect", "", "be a client: connect to the echo server at `host:port`")
	encName := flag.String("encoding", "utf-8", "speak `enc`: ascii, latin1, utf-8, utf-16le or utf-16be")
	naive := flag.Bool("naive", false, "server: decode each read on its own, not each line (wrong on purpose)")
	raw := flag.Bool("raw", false, "client: print the bytes of each line, in hex, under its text")
	trace := flag.Bool("trace", false, "print every byte read and written, with visible escapes")
	flag.Usage = usage
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("02-encodings: ")

	enc, err := encodingNamed(*encName)
	if err != nil {
		log.Fatal(err)
	}
	if *connect != "" {
		err = runClient(*connect, enc, *raw, *trace)
	} else {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		go func() {
			<-ctx.Done()
			stop() // a second Ctrl-C kills the program at once
		}()
		s := &server{enc: enc, naive: *naive, trace: *trace, conns: make(map[net.Conn]struct{})}
		err = s.run(ctx, *addr)
	}
	if err != nil {
		log.Fatal(err)
	}
}

func usage() {
	fmt.Fprintf(flag.CommandLine.Output(), `02-encodings: a line echo server that speaks the encoding you pick, and a client.

  go run ./02-encodings -encoding utf-16le                   serve on %s
  go run ./02-encodings -connect localhost:8002 -encoding ascii -raw
                                                             send stdin, print what comes back

`, defaultAddr)
	flag.PrintDefaults()
}

// run listens on addr and serves every connection until ctx is cancelled
// (Ctrl-C), then shuts down gracefully.
func (s *server) run(ctx context.Context, addr string) error {
	lns, err := listen(addr)
	if err != nil {
		return err
	}
	_, port, _ := net.SplitHostPort(lns[0].Addr().String())
	for _, ln := range lns {
		log.Printf("listening on %s", ln.Addr())
	}
	log.Printf("try: nc -N localhost %s   (or: go run ./02-encodings -connect localhost:%s -encoding %s)", port, port, s.enc.name)

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
	enc    *encoding    // immutable: what the server speaks
	naive  bool         // immutable: decode each read, not each line
	trace  bool         // immutable: log every byte
	nextID atomic.Int64 // numbers connections #1, #2, … in the log

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

// handle greets one client and echoes its lines until it is done.
func (s *server) handle(c net.Conn, id int64) {
	defer c.Close()
	log.Printf("#%d %s connected", id, c.RemoteAddr())

	n, err := s.echo(c, id)
	switch {
	case err == nil:
		log.Printf("#%d %s left after %d lines", id, c.RemoteAddr(), n)
	case errors.Is(err, errLineTooLong):
		log.Printf("#%d %s sent a line longer than %d bytes after %d lines: closing", id, c.RemoteAddr(), maxLine, n)
	case errors.Is(err, os.ErrDeadlineExceeded):
		log.Printf("#%d %s idle for %v after %d lines: closing", id, c.RemoteAddr(), idleTimeout, n)
	case errors.Is(err, net.ErrClosed):
		log.Printf("#%d %s closed at shutdown after %d lines", id, c.RemoteAddr(), n)
	case errors.Is(err, syscall.ECONNRESET):
		log.Printf("#%d %s reset the connection after %d lines", id, c.RemoteAddr(), n)
	default:
		log.Printf("#%d %s lost after %d lines: %v", id, c.RemoteAddr(), n, err)
	}
}

// echo sends the greeting, then reads c a line at a time and sends each
// line back, decoded and encoded again. It returns the number of lines.
func (s *server) echo(c net.Conn, id int64) (int, error) {
	var src io.Reader = c
	var dst io.Writer = c
	if s.trace {
		src = tracer{id: id, arrow: "<-", r: c}
		dst = tracer{id: id, arrow: "->", w: c}
	}
	// Echoes collect in w and go out when no more input is waiting: one
	// write for many short lines, none held back while the client waits.
	w := bufio.NewWriterSize(dst, maxLine)
	greet, missing := s.enc.encode(nil, greeting)
	if missing.n > 0 {
		log.Printf("#%d greeting: %v", id, missing)
	}
	w.Write(greet)
	if s.naive {
		return s.echoReads(c, id, src, w)
	}

	lr := newLineReader(src, s.enc)
	enc := s.enc
	if enc == utf8Enc {
		// Send the greeting first: the client may wait for it before
		// it says anything.
		c.SetDeadline(time.Now().Add(idleTimeout))
		if err := w.Flush(); err != nil {
			return 0, err
		}
		enc = sniffBOM(lr)
	}
	var bufs lineBufs
	for n := 0; ; {
		if lr.Buffered() == 0 {
			// The next read may wait for the client: send what we have.
			c.SetDeadline(time.Now().Add(idleTimeout))
			if err := w.Flush(); err != nil {
				return n, err
			}
		}
		line, err := lr.ReadLine()
		if err == errLineTooLong {
			sendError(w, enc, "line %d is longer than %d bytes; closing", n+1, maxLine)
			return n, s.closeAfterError(c, w, err)
		}
		if len(line)%len(enc.newline) != 0 {
			// Only the end of the stream can leave half a UTF-16 code
			// unit: ReadLine looks for the newline at even offsets.
			sendError(w, enc, "the stream ended inside a code unit, %d bytes after the last newline", len(line))
		} else if len(line) > 0 {
			n++
			w.Write(echoLine(enc, id, n, line, &bufs))
		}
		if err == io.EOF {
			// The client has sent its last byte: so do we.
			if err := w.Flush(); err != nil {
				return n, err
			}
			return n, closeWrite(c)
		}
		if err != nil {
			return n, err
		}
	}
}

// lineBufs are echoLine's buffers, reused for every line of a
// connection so that echoing a line allocates nothing.
type lineBufs struct{ text, out []byte }

// echoLine decodes line n into text and encodes the text again. The
// result differs from the line only where the line was not valid in the
// server's encoding, and the log says where. It is valid until the next
// call.
func echoLine(enc *encoding, id int64, n int, line []byte, b *lineBufs) []byte {
	if enc == utf8Enc && validUTF8(line) {
		// Valid UTF-8 decodes to itself and encodes to itself: skip both.
		return line
	}
	var bad, missing trouble
	b.text, bad = enc.decode(b.text[:0], line)
	b.out, missing = enc.encode(b.out[:0], b.text)
	if bad.n > 0 {
		log.Printf("#%d line %d: %v; sent U+FFFD in its place", id, n, bad)
	}
	if missing.n > 0 {
		log.Printf("#%d line %d: %v", id, n, missing)
	}
	return b.out
}

// sendError sends a line starting "error: " to the client, in the
// server's encoding, so that a client reading that encoding can read it.
func sendError(w *bufio.Writer, enc *encoding, format string, args ...any) {
	msg := fmt.Sprintf("error: "+format+"\n", args...)
	out, _ := enc.encode(nil, []byte(msg))
	w.Write(out)
}

// closeAfterError sends what w holds, stops sending, and reads what the
// client still sends for lingerTimeout, so that the close does not
// reset the connection before the client has read the error.
func (s *server) closeAfterError(c net.Conn, w *bufio.Writer, err error) error {
	if err := w.Flush(); err != nil {
		return err
	}
	closeWrite(c)
	c.SetReadDeadline(time.Now().Add(lingerTimeout))
	io.Copy(io.Discard, c)
	return err
}

func closeWrite(c net.Conn) error {
	if tc, ok := c.(*net.TCPConn); ok {
		return tc.CloseWrite()
	}
	return nil
}

// echoReads is the mistake this lesson warns about, kept to show it: it
// decodes whatever one read returns as if it were whole text. A
// character whose bytes arrive in two reads becomes two broken halves.
func (s *server) echoReads(c net.Conn, id int64, src io.Reader, w *bufio.Writer) (int, error) {
	buf := make([]byte, naiveReadSize)
	var text, out []byte
	for n := 0; ; n++ {
		c.SetDeadline(time.Now().Add(idleTimeout))
		if err := w.Flush(); err != nil {
			return n, err
		}
		k, err := src.Read(buf)
		text, _ = s.enc.decode(text[:0], buf[:k])
		out, _ = s.enc.encode(out[:0], text)
		w.Write(out)
		if err == io.EOF {
			w.Flush()
			return n, closeWrite(c)
		}
		if err != nil {
			return n, err
		}
	}
}

// sniffBOM looks at the first bytes a client sends to a UTF-8 server. A
// byte order mark (U+FEFF) there names the client's encoding: ff fe is
// UTF-16LE, fe ff UTF-16BE, ef bb bf UTF-8. The mark is dropped and lr
// switched to that encoding's newline. Without a mark it is UTF-8.
func sniffBOM(lr *lineReader) *encoding {
	// Wait for a second byte only if the first can start a mark: a
	// client whose first line is "\n" must not wait for its echo.
	if b, _ := lr.r.Peek(1); len(b) == 0 || (b[0] != 0xff && b[0] != 0xfe && b[0] != 0xef) {
		return utf8Enc
	}
	b, _ := lr.r.Peek(2)
	switch {
	case bytes.Equal(b, []byte{0xff, 0xfe}):
		lr.r.Discard(2)
		lr.newline = utf16LE.newline
		return utf16LE
	case bytes.Equal(b, []byte{0xfe, 0xff}):
		lr.r.Discard(2)
		lr.newline = utf16BE.newline
		return utf16BE
	case bytes.Equal(b, []byte{0xef, 0xbb}):
		if b, _ := lr.r.Peek(3); bytes.Equal(b, []byte{0xef, 0xbb, 0xbf}) {
			lr.r.Discard(3)
		}
	}
	return utf8Enc
}

// A lineReader splits a stream into lines that end in an encoding's
// newline. It holds at most maxLine bytes, and returns each line as a
// slice of its buffer: no copy, no allocation.
type lineReader struct {
	r       *bufio.Reader
	newline []byte // 0a, or 0a 00 (UTF-16LE), or 00 0a (UTF-16BE)
}

func newLineReader(r io.Reader, e *encoding) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, maxLine), newline: e.newline}
}

// Buffered is the number of bytes read from the stream but not yet
// returned in a line.
func (lr *lineReader) Buffered() int { return lr.r.Buffered() }

// ReadLine returns the next line, newline included. The line is valid
// until the next call. At the end of the stream it returns what is left
// (a last line without a newline, or nothing) with io.EOF. A line that
// does not fit in maxLine bytes is errLineTooLong.
func (lr *lineReader) ReadLine() ([]byte, error) {
	searched := 0 // the first bytes of buf, known to hold no newline
	for {
		buf, _ := lr.r.Peek(lr.r.Buffered()) // what we have; reads nothing
		if i := lr.index(buf, searched); i >= 0 {
			lr.r.Discard(i + len(lr.newline))
			return buf[:i+len(lr.newline)], nil
		}
		if len(buf) == lr.r.Size() {
			return nil, errLineTooLong
		}
		searched = len(buf) - len(buf)%len(lr.newline)
		// Wait for at least one more byte.
		if _, err := lr.r.Peek(len(buf) + 1); err == io.EOF {
			rest, _ := lr.r.Peek(lr.r.Buffered())
			lr.r.Discard(len(rest))
			return rest, io.EOF
		} else if err != nil {
			return nil, err
		}
	}
}

// index returns the offset of the first newline in buf at or after from
// that starts on a code unit boundary (from is one), or -1. In UTF-16LE
// the bytes 0a 00 at an odd offset are halves of two other characters
// (as in "\u0a48\u0065"), not a newline.
func (lr *lineReader) index(buf []byte, from int) int {
	unit := len(lr.newline)
	for from <= len(buf)-unit {
		i := bytes.Index(buf[from:], lr.newline)
		if i < 0 {
			return -1
		}
		if (from+i)%unit == 0 {
			return from + i
		}
		from += i + 1
	}
	return -1
}

// runClient connects to addr, sends stdin a line at a time in enc, and
// prints each line that comes back, decoded with enc, until the server
// closes the connection.
func runClient(addr string, enc *encoding, raw, trace bool) error {
	// net.Dial tries every address the host resolves to (IPv6 and IPv4)
	// until one answers.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	c := conn.(*net.TCPConn)
	log.Printf("connected to %s from %s, speaking %s", c.RemoteAddr(), c.LocalAddr(), enc.name)

	var src io.Reader = c
	var dst io.Writer = c
	if trace {
		src = tracer{id: 0, arrow: "<-", r: c}
		dst = tracer{id: 0, arrow: "->", w: c}
	}
	// Send and receive at the same time, as in lesson 01.
	sent := make(chan error, 1)
	go func() {
		err := sendLines(dst, enc)
		if err == nil {
			err = c.CloseWrite() // tell the server we are done sending
		}
		sent <- err
	}()
	if err := printLines(src, enc, raw); err != nil {
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

// sendLines sends stdin, which is UTF-8 like any Go text, in enc.
func sendLines(dst io.Writer, enc *encoding) error {
	lr := newLineReader(os.Stdin, utf8Enc)
	var out []byte
	for {
		line, err := lr.ReadLine()
		var missing trouble
		out, missing = enc.encode(out[:0], line)
		if missing.n > 0 {
			log.Printf("sending: %v", missing)
		}
		if _, err := dst.Write(out); err != nil {
			return err
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// printLines prints each line from src as text decoded with enc, and
// with raw, the bytes it came from.
func printLines(src io.Reader, enc *encoding, raw bool) error {
	lr := newLineReader(src, enc)
	var text []byte
	for {
		line, err := lr.ReadLine()
		if len(line) > 0 {
			var bad trouble
			text, bad = enc.decode(text[:0], line)
			fmt.Printf("%s\n", show(text))
			if raw {
				fmt.Printf("  bytes: % x\n", line)
			}
			if bad.n > 0 {
				log.Printf("%v; shown as U+FFFD", bad)
			}
		}
		if err == io.EOF {
			if len(line) > 0 {
				log.Printf("the last line has no newline")
			}
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// show makes decoded text visible on a terminal, one line of it: a
// control character (such as the NUL of UTF-16 read as ASCII) appears as
// an escape, \x00 or \u0085, instead of as nothing.
func show(text []byte) string {
	text = bytes.TrimSuffix(text, []byte("\n"))
	var b strings.Builder
	for _, r := range string(text) {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case strconv.IsPrint(r):
			b.WriteRune(r)
		default:
			q := strconv.QuoteRune(r) // '\x00'
			b.WriteString(q[1 : len(q)-1])
		}
	}
	return b.String()
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
