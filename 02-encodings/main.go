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
	"strconv"
	"strings"
	"syscall"
	"time"
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
		err = serve(*addr, &lineServer{enc: enc, naive: *naive, trace: *trace})
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

// lineServer is this lesson's handler for the skeleton in serve.go.
type lineServer struct {
	enc   *encoding // what the server speaks
	naive bool      // decode each read, not each line
	trace bool      // log every byte
}

func (s *lineServer) try(port string) string {
	return fmt.Sprintf("nc -N localhost %s   (or: go run ./02-encodings -connect localhost:%s -encoding %s)", port, port, s.enc.name)
}

// serveConn greets one client and echoes its lines until it is done.
func (s *lineServer) serveConn(_ context.Context, c net.Conn, id int64) {
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
func (s *lineServer) echo(c net.Conn, id int64) (int, error) {
	src, dst := traced(c, id, s.trace)
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
			s.sendError(w, "line %d is longer than %d bytes; closing", n+1, maxLine)
			return n, s.closeAfterError(c, w, err)
		}
		if len(line)%len(s.enc.newline) != 0 {
			// Only the end of the stream can leave half a UTF-16 code
			// unit: ReadLine looks for the newline at even offsets.
			s.sendError(w, "the stream ended inside a code unit, %d bytes after the last newline", len(line))
		} else if len(line) > 0 {
			n++
			w.Write(s.echoLine(id, n, line, &bufs))
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
func (s *lineServer) echoLine(id int64, n int, line []byte, b *lineBufs) []byte {
	if s.enc == utf8Enc && validUTF8(line) {
		// Valid UTF-8 decodes to itself and encodes to itself: skip both.
		return line
	}
	var bad, missing trouble
	b.text, bad = s.enc.decode(b.text[:0], line)
	b.out, missing = s.enc.encode(b.out[:0], b.text)
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
func (s *lineServer) sendError(w *bufio.Writer, format string, args ...any) {
	msg := fmt.Sprintf("error: "+format+"\n", args...)
	out, _ := s.enc.encode(nil, []byte(msg))
	w.Write(out)
}

// closeAfterError sends what w holds, stops sending, and reads what the
// client still sends for lingerTimeout, so that the close does not
// reset the connection before the client has read the error.
func (s *lineServer) closeAfterError(c net.Conn, w *bufio.Writer, err error) error {
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
func (s *lineServer) echoReads(c net.Conn, id int64, src io.Reader, w *bufio.Writer) (int, error) {
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

	src, dst := traced(c, 0, trace)
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
