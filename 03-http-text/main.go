// Command 03-http-text is an HTTP/1.1 server written on a raw TCP socket,
// and a raw client for it.
//
// Server:  go run ./03-http-text                      (listens on localhost:8003)
// Client:  go run ./03-http-text -connect localhost:8003 < request.txt
//
// It reads each request head itself, line by line, and writes each response
// itself: a status line, header lines and a blank line, every line ending in
// \r\n, then exactly Content-Length bytes of body. GET /echo answers with the
// request as the server received it, so you can see what a browser or curl
// sends. It does not import net/http.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"syscall"
	"time"
)

const (
	// defaultAddr is where the server listens unless -addr says otherwise.
	// "localhost" can mean 127.0.0.1 (IPv4) or ::1 (IPv6), so the server
	// listens on every address it resolves to.
	defaultAddr = "localhost:8003"

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
	connect := flag.String("connect", "", "be a raw client: send stdin to `host:port`, print what comes back")
	trace := flag.Bool("trace", false, "print every byte read and written, with visible escapes")
	headWait := flag.Duration("head-timeout", headTimeout, "drop a client that takes longer than `d` to send a request head")
	idleWait := flag.Duration("idle-timeout", idleTimeout, "close a keep-alive connection idle for `d`")
	flag.Usage = usage
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("03-http-text: ")

	var err error
	if *connect != "" {
		err = runClient(*connect, *trace)
	} else {
		s := newHTTPServer()
		s.trace, s.headTimeout, s.idleTimeout = *trace, *headWait, *idleWait
		s.date = os.Getenv(dateEnv)
		err = serve(*addr, s)
	}
	if err != nil {
		log.Fatal(err)
	}
}

func usage() {
	fmt.Fprintf(flag.CommandLine.Output(), `03-http-text: an HTTP/1.1 server on a raw TCP socket, and a raw client.

  go run ./03-http-text                          serve on %s
  curl -v localhost:8003/echo                    see the request curl sends
  go run ./03-http-text -connect localhost:8003  send stdin as it is, print the reply

`, defaultAddr)
	flag.PrintDefaults()
}

// httpServer is this lesson's handler for the skeleton in serve.go.
type httpServer struct {
	trace       bool          // immutable: log every byte
	headTimeout time.Duration // immutable: see the constant headTimeout
	idleTimeout time.Duration // immutable: see the constant idleTimeout
	date        string        // immutable: the Date header's value, or "" for the clock
}

func (s *httpServer) try(port string) string {
	return fmt.Sprintf("curl -v localhost:%s/   (or open http://localhost:%s/ in a browser)", port, port)
}

func newHTTPServer() *httpServer {
	return &httpServer{
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
	case errors.Is(err, syscall.ECONNRESET):
		log.Printf("#%d %s reset the connection after %d requests", id, c.RemoteAddr(), n)
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
	br *bufio.Reader // reads from c; its size is maxHead
	bw *bufio.Writer // writes to c; flushed before every read that waits
	rq request       // the request being served
	// head and scratch are reused by every request so that a steady
	// stream of requests allocates little.
	head, scratch []byte
}

// serveRequests answers the requests on c in order, and returns how many it
// answered. It returns nil when the client left or asked to close.
func (s *httpServer) serveRequests(c net.Conn, id int64) (int, error) {
	src, dst := traced(c, id, s.trace)
	cn := &conn{s: s, c: c, id: id, bw: bufio.NewWriter(dst)}
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

// runClient connects to addr, sends everything from stdin as it is and
// prints everything that comes back, until the server closes the
// connection. It knows nothing about HTTP: you type the request.
func runClient(addr string, trace bool) error {
	// net.Dial tries every address the host resolves to (IPv6 and IPv4)
	// until one answers.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	c := conn.(*net.TCPConn)
	log.Printf("connected to %s from %s", c.RemoteAddr(), c.LocalAddr())

	src, dst := traced(c, 0, trace)

	// Send and receive at the same time: the server may answer a request
	// before we finish sending the next one.
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
