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
//
// This file is the server's loop: one request after another on each
// connection, and what it answers. http.go reads and writes HTTP;
// client.go is the -connect client.
package main

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"syscall"
	"time"
	"unicode/utf8"
)

const (
	// defaultAddr is where the server listens unless -addr says otherwise.
	// "localhost" can mean 127.0.0.1 (IPv4) or ::1 (IPv6), so the server
	// listens on every address it resolves to.
	defaultAddr = "localhost:8003"

	// headTimeout is how long a client has to send a whole head once its
	// first byte has arrived. A client that stalls half-way, or trickles
	// one byte at a time, is dropped (408) instead of holding its
	// goroutine and socket forever.
	headTimeout = 10 * time.Second

	// idleTimeout closes a keep-alive connection that has not started a
	// new request for this long (RFC 9112 section 9.5). Browsers keep idle
	// connections for minutes; the server need not wait as long.
	idleTimeout = 60 * time.Second

	// dateEnv names an environment variable that, when set, replaces the
	// clock in every Date header. The Date is the one part of a response
	// that changes from run to run; the tests set it so that their
	// golden files can hold whole responses, byte for byte.
	dateEnv = "WIRETEST_DATE"
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
	checkFlags(
		flagRule{"addr", hostPort(*addr, 0), "host:port, the port from 0 (any free port) to 65535"},
		flagRule{"connect", *connect == "" || hostPort(*connect, 1), "host:port, the port from 1 to 65535"},
		flagRule{"head-timeout", *headWait > 0, "a duration above 0, such as 10s"},
		flagRule{"idle-timeout", *idleWait > 0, "a duration above 0, such as 30s"},
	)

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
	bodies      *budget       // immutable: the memory all request bodies share
}

func (s *httpServer) try(port string) string {
	return fmt.Sprintf("curl -v localhost:%s/   (or open http://localhost:%s/ in a browser)", port, port)
}

func newHTTPServer() *httpServer {
	return &httpServer{
		headTimeout: headTimeout,
		idleTimeout: idleTimeout,
		bodies:      &budget{limit: maxBodies},
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
	// held is what the body being read has taken from s.bodies.
	held int64
	// head and scratch are reused by every request so that a steady
	// stream of requests allocates little; scratch has room for the
	// numbers and dates of a response head.
	head, scratch []byte
}

// serveRequests answers the requests on c in order, and returns how many it
// answered. It returns nil when the client left or asked to close.
func (s *httpServer) serveRequests(c net.Conn, id int64) (int, error) {
	src, dst := traced(c, id, s.trace)
	cn := &conn{s: s, c: c, id: id, bw: bufio.NewWriter(dst), scratch: make([]byte, 0, 64)}
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

// serveOne reads one request and writes its response: the head, line by
// line up to the blank line; then the body, exactly as many bytes as its
// Content-Length says; then an answer that says how long its own body is.
// It returns whether the connection stays open, and an error when the
// connection is broken (a timeout while reading the head is answered with
// 408 first).
func (cn *conn) serveOne() (keepAlive bool, err error) {
	defer cn.releaseBody()
	rq := &cn.rq
	cn.head, err = readHead(cn.br, cn.head)
	herr, refused := err.(*httpError) // readHead's own answers: 400, 414, 431
	switch {
	case refused:
	case errors.Is(err, os.ErrDeadlineExceeded):
		herr = &httpError{408, fmt.Sprintf("the request head did not arrive within %v", cn.s.headTimeout)}
	case err != nil:
		return false, fmt.Errorf("reading a request head: %w", err)
	default:
		herr = parseHead(string(cn.head), rq)
	}
	if herr == nil {
		herr = cn.readBody(rq)
	}
	if herr != nil {
		// The request's framing is unknown or refused: answer, then
		// close, since the next request's first byte cannot be found.
		log.Printf("#%d %d %s: %s", cn.id, herr.status, statusText(herr.status), herr.reason)
		resp := response{status: herr.status, contentType: textPlain,
			body: []byte(fmt.Sprintf("%d %s: %s\n", herr.status, statusText(herr.status), herr.reason))}
		cn.write(&resp, "", false)
		return false, nil
	}
	resp := route(rq)
	if resp.status >= 400 {
		log.Printf("#%d %d %s: %s %s", cn.id, resp.status, statusText(resp.status), rq.method, rq.target)
	}
	cn.write(&resp, rq.method, rq.keepAlive)
	return rq.keepAlive, nil
}

// indexHTML is the page GET / serves.
//
//go:embed index.html
var indexHTML []byte

// route picks the response to a well-formed request.
func route(rq *request) response {
	switch rq.path {
	case "/":
		switch rq.method {
		case "GET", "HEAD":
			return response{status: 200, contentType: textHTML, body: indexHTML}
		}
		return notAllowed("GET, HEAD")
	case "/echo":
		switch rq.method {
		case "GET", "HEAD":
			return response{status: 200, contentType: textPlain, body: echoText(rq)}
		case "POST":
			if !utf8.Valid(rq.body) {
				return response{status: 415, contentType: textPlain,
					body: []byte("415 Unsupported Media Type: the body is not UTF-8 text; lesson 04 echoes bytes\n")}
			}
			return response{status: 200, contentType: textPlain, body: rq.body}
		}
		return notAllowed("GET, HEAD, POST")
	}
	return response{status: 404, contentType: textPlain, body: []byte("404 Not Found: try / or /echo\n")}
}

// notAllowed answers a method the path does not support; RFC 9110
// section 15.5.6 requires the Allow field.
func notAllowed(allow string) response {
	return response{status: 405, contentType: textPlain, allow: allow,
		body: []byte("405 Method Not Allowed: this path allows " + allow + "\n")}
}

// echoText shows the request as the server received it, one line of
// text per line of request, with \r, \n and other invisible bytes escaped.
func echoText(rq *request) []byte {
	var b []byte
	for _, p := range [][]byte{[]byte(rq.head), rq.body} {
		for len(p) > 0 {
			line := p
			if i := bytes.IndexByte(p, '\n'); i >= 0 {
				line = p[:i+1]
			}
			b = append(b, escape(line)...)
			b = append(b, '\n')
			p = p[len(line):]
		}
	}
	return b
}
