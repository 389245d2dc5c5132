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
	"iter"
	"log"
	"net"
	"os"
	"sync"
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
	send := flag.String("send", "", "client: send these `bytes` instead of stdin, written with Go's escapes (\\r\\n, \\x81)")
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
		flagRule{"send", *send == "" || *connect != "" && validEscapes(*send), "bytes with Go's escapes (\\r, \\n, \\t, \\\\, \\xHH), with -connect"},
		flagRule{"head-timeout", *headWait > 0, "a duration above 0, such as 10s"},
		flagRule{"idle-timeout", *idleWait > 0, "a duration above 0, such as 30s"},
	)

	var err error
	if *connect != "" {
		err = runClient(*connect, clientInput(*send), *trace)
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
	// writeTimeout is immutable: see the constant writeTimeout. No flag
	// sets it; tests make it short.
	writeTimeout time.Duration

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
		writeTimeout: writeTimeout,

		headTimeout: headTimeout,
		idleTimeout: idleTimeout,
		bodies:      &budget{limit: maxBodies},
	}
}

// errIdle says a keep-alive connection had no new request in time.
var errIdle = errors.New("idle")

// serveConn serves one connection until the client leaves, a response
// closes it, or the server shuts down, and logs which.
func (s *httpServer) serveConn(ctx context.Context, c net.Conn, id int64) {
	n, err := s.serveRequests(ctx, c, id)
	switch {
	case err == nil:
		log.Printf("#%d %s left after %d requests", id, c.RemoteAddr(), n)
	case errors.Is(err, errIdle):
		log.Printf("#%d %s idle for %v after %d requests: closing", id, c.RemoteAddr(), s.idleTimeout, n)
	case errors.Is(err, errShutdown):
		log.Printf("#%d %s idle at shutdown after %d requests: closing", id, c.RemoteAddr(), n)
	case errors.Is(err, net.ErrClosed):
		log.Printf("#%d %s closed at the end of the shutdown grace after %d requests", id, c.RemoteAddr(), n)
	case errors.Is(err, errWrite) && errors.Is(err, os.ErrDeadlineExceeded):
		log.Printf("#%d %s stopped reading: an answer waited %v to leave; closing after %d requests", id, c.RemoteAddr(), s.writeTimeout, n)
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

	// ctx is cancelled when the server begins to shut down; mu guards
	// idle, which says the connection waits for a request's first byte.
	ctx  context.Context
	mu   sync.Mutex
	idle bool
}

// serveRequests answers the requests on c in order, and returns how many it
// answered. It returns nil when the client left or asked to close.
func (s *httpServer) serveRequests(ctx context.Context, c net.Conn, id int64) (int, error) {
	src, dst := traced(c, id, s.trace)
	cn := &conn{s: s, c: c, id: id, bw: bufio.NewWriter(dst), scratch: make([]byte, 0, 64)}
	cn.br = bufio.NewReaderSize(flusher{r: src, w: cn.bw}, maxHead)
	cn.ctx = ctx
	stop := context.AfterFunc(ctx, cn.shutdown)
	defer stop()
	for n := 0; ; n++ {
		// Wait for the first byte of the next request, then give the
		// whole head headTimeout to arrive.
		if err := cn.awaitRequest(); err != nil {
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

// awaitRequest waits for the first byte of the next request: for
// idleTimeout, or not at all once the server is shutting down (see
// shutdown). It is while it waits that the answers written so far leave
// (see flusher).
func (cn *conn) awaitRequest() error {
	// The last request is answered: let go of the strings cut from its
	// head, so that an idle connection keeps the head once, in the bytes
	// of cn.head that the next head reuses.
	clear(cn.rq.fields)
	cn.rq = request{fields: cn.rq.fields[:0]}
	cn.mu.Lock()
	cn.idle = true
	if cn.shuttingDown() {
		cn.c.SetReadDeadline(longAgo)
	} else {
		cn.c.SetReadDeadline(time.Now().Add(cn.s.idleTimeout))
	}
	cn.mu.Unlock()
	_, err := cn.br.Peek(1)
	cn.mu.Lock()
	cn.idle = false
	cn.mu.Unlock()
	switch {
	case err == nil || errors.Is(err, errWrite):
		return err
	case errors.Is(err, os.ErrDeadlineExceeded) && cn.shuttingDown():
		return errShutdown
	case errors.Is(err, os.ErrDeadlineExceeded):
		return errIdle
	}
	return err
}

// errShutdown says the server began to shut down while the connection
// waited for a request.
var errShutdown = errors.New("idle at shutdown")

// longAgo is a deadline that has passed: a read with it returns at once.
var longAgo = time.Unix(1, 0)

// shutdown runs when the server begins to shut down (Ctrl-C). A
// connection that waits for its next request is closed at once: nothing
// is lost, and a client retries a request on a fresh connection when a
// kept-alive one closes. One in the middle of a request finishes it
// within the shutdown grace, and its answer says Connection: close.
func (cn *conn) shutdown() {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if cn.idle {
		cn.c.SetReadDeadline(longAgo) // wakes awaitRequest's Peek
	}
}

// shuttingDown reports whether the server is shutting down. It asks ctx,
// not shutdown, which runs a moment after ctx is cancelled: an answer
// written in that moment still says Connection: close.
func (cn *conn) shuttingDown() bool { return cn.ctx.Err() != nil }

// serveOne reads one request and writes its response: the head, line by
// line up to the blank line; then the body, exactly as many bytes as its
// Content-Length says; then an answer that says how long its own body is.
// It returns whether the connection stays open, and an error when the
// connection is broken: then no answer is sent, or none could be.
func (cn *conn) serveOne() (keepAlive bool, err error) {
	defer cn.releaseBody()
	rq := &cn.rq
	cn.head, err = readHead(cn.br, cn.head)
	if err == nil {
		if herr := parseHead(string(cn.head), rq); herr != nil {
			err = herr
		} else {
			err = cn.readBody(rq)
		}
	}
	herr, refused := err.(*httpError) // an answer to send: 400, 408, 413, ...
	switch {
	case err == nil, refused:
	case errors.Is(err, errWrite):
		return false, err // the last answer did not leave: nothing more will
	case errors.Is(err, os.ErrDeadlineExceeded):
		herr = &httpError{408, fmt.Sprintf("the request head did not arrive within %v", cn.s.headTimeout)}
	default:
		return false, fmt.Errorf("reading a request: %w", err)
	}
	if herr != nil {
		// The request's framing is unknown or refused: answer, then
		// close, since the next request's first byte cannot be found.
		// rq.method is set once the request line is read, so that a
		// HEAD's answer, even this one, has no body.
		log.Printf("#%d %d %s: %s", cn.id, herr.status, statusText(herr.status), herr.reason)
		resp := response{status: herr.status, contentType: textPlain,
			body: []byte(fmt.Sprintf("%d %s: %s\n", herr.status, statusText(herr.status), herr.reason))}
		return false, cn.write(&resp, rq.method, false)
	}
	resp := route(rq)
	if resp.status >= 400 {
		log.Printf("#%d %d %s: %s %s", cn.id, resp.status, statusText(resp.status), rq.method, rq.target)
	}
	// During shutdown this is the connection's last answer, and says so.
	keepAlive = rq.keepAlive && !cn.shuttingDown()
	if err := cn.write(&resp, rq.method, keepAlive); err != nil {
		return false, fmt.Errorf("answering %s %s: %w", rq.method, rq.target, err)
	}
	return keepAlive, nil
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
			return response{status: 200, contentType: textPlain, echo: rq}
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

// echoPiece bounds the bytes of a request that echoText escapes at once.
// Escaping can make them four times longer (a control byte becomes
// \xHH), so GET /echo's answer is never held whole: write sums its length
// and then sends it piece by piece, and its memory stays a few KiB
// however large the body.
const echoPiece = 4 << 10

// echoText shows the request as the server received it, one line of
// text per line of request, with \r, \n and other invisible bytes
// escaped. It yields the text in pieces, cut at line ends and every
// echoPiece bytes, but never inside a UTF-8 character; a piece is valid
// until the next one comes.
func echoText(rq *request) iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		var text []byte // reused by every piece
		for _, p := range [][]byte{[]byte(rq.head), rq.body} {
			for len(p) > 0 {
				line := p
				if i := bytes.IndexByte(p, '\n'); i >= 0 {
					line = p[:i+1]
				}
				p = p[len(line):]
				for len(line) > 0 {
					piece := line[:cutPiece(line)]
					line = line[len(piece):]
					text = appendEscaped(text[:0], piece)
					if len(line) == 0 {
						text = append(text, '\n')
					}
					if !yield(text) {
						return
					}
				}
			}
		}
	}
}

// cutPiece says where to cut the first piece of p: at echoPiece bytes, or
// a little before, where a UTF-8 character starts. A byte that is no
// character's start within utf8.UTFMax bytes belongs to none, and is
// escaped on its own wherever the cut falls.
func cutPiece(p []byte) int {
	if len(p) <= echoPiece {
		return len(p)
	}
	for i := echoPiece; i > echoPiece-utf8.UTFMax; i-- {
		if utf8.RuneStart(p[i]) {
			return i
		}
	}
	return echoPiece
}

// echoSize is the length of echoText's text.
func echoSize(rq *request) int {
	size := 0
	for piece := range echoText(rq) {
		size += len(piece)
	}
	return size
}
