// Command 05-ws-legacy is lesson 04's HTTP/1.1 file server with a
// WebSocket at /ws, as browsers spoke it in 2010 (draft-hixie-75 and
// draft-hixie-76), and a WebSocket client of those drafts.
//
// Server:  go run ./05-ws-legacy                                (listens on localhost:8005)
// Folder:  go run ./05-ws-legacy -root DIR                       (serves DIR, not the built-in site)
// Client:  go run ./05-ws-legacy -connect localhost:8005 -draft 76
//
// It starts from lesson 04 and keeps serving its page and files. What is
// new is in handshake.go, frames.go and client.go: a GET /ws that asks to
// upgrade is answered 101, and from then on the connection carries frames
// instead of requests: 0x00, UTF-8 text, 0xFF. The server echoes each one.
package main

//go:generate go run genimages.go

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"os"
	"time"
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
		var files fs.FS
		files, err = openSite(*root)
		if err == nil {
			s := newHTTPServer(files)
			s.trace, s.headTimeout, s.idleTimeout = *trace, *headWait, *idleWait
			s.date = os.Getenv(dateEnv)
			err = serve(*addr, s)
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

// httpServer is this lesson's handler for the skeleton in serve.go.
type httpServer struct {
	trace       bool          // immutable: log every byte
	headTimeout time.Duration // immutable: see the constant headTimeout
	idleTimeout time.Duration // immutable: see the constant idleTimeout
	date        string        // immutable: the Date header's value, or "" for the clock
	files       fs.FS         // immutable: the site; names in it never leave it
}

func (s *httpServer) try(port string) string {
	return fmt.Sprintf("go run ./05-ws-legacy -connect localhost:%s   (and open http://localhost:%s/ to read how)", port, port)
}

func newHTTPServer(files fs.FS) *httpServer {
	return &httpServer{
		files:       files,
		headTimeout: headTimeout,
		idleTimeout: idleTimeout,
	}
}

// errIdle says a keep-alive connection had no new request in time.
var errIdle = errors.New("idle")

// serveConn serves one connection until the client leaves or a response
// closes it.
func (s *httpServer) serveConn(_ context.Context, c net.Conn, id int64) {
	n, err := s.serveRequests(c, id)
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
	s  *httpServer
	c  net.Conn
	id int64
	w  io.Writer     // c, or a tracer around it: file bodies go here, past bw
	br *bufio.Reader // reads from c; its size is maxHead
	bw *bufio.Writer // writes to c; flushed before every read that waits
	rq request       // the request being served
	ws *wsConn       // set once a handshake made the connection a WebSocket
	// head and scratch are reused by every request so that a steady
	// stream of requests allocates little.
	head, scratch []byte
}

// serveRequests answers the requests on c in order, and returns how many it
// answered. It returns nil when the client left or asked to close.
func (s *httpServer) serveRequests(c net.Conn, id int64) (int, error) {
	src, dst := traced(c, id, s.trace)
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
		if cn.ws != nil {
			return n + 1, cn.ws.serve() // frames.go: no more requests on c
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
