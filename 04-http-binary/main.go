// Command 04-http-binary is an HTTP/1.1 server written on a raw TCP socket
// that serves files byte for byte (pictures too), and a raw client for it.
//
// Server:  go run ./04-http-binary                      (listens on localhost:8004)
// Folder:  go run ./04-http-binary -root DIR             (serves DIR, not the built-in site)
// Client:  go run ./04-http-binary -connect localhost:8004 < request.txt
//
// It starts from lesson 03: it reads each request head itself and writes
// each response itself. What is new is the body: a file of any bytes,
// announced by Content-Length and Content-Type and streamed from the file
// to the connection without passing through a string, and POST /echo,
// which sends any body back byte for byte. It does not import net/http.
//
// This file is the server's loop: one request after another on each
// connection, and what it answers. http.go reads and writes HTTP;
// files.go finds and sends files; client.go is the -connect client.
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
	defaultAddr = "localhost:8004"

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
	root := flag.String("root", "", "serve the files in `dir` instead of the site built into the program")
	trace := flag.Bool("trace", false, "print every byte read and written, with visible escapes")
	headWait := flag.Duration("head-timeout", headTimeout, "drop a client that takes longer than `d` to send a request head")
	idleWait := flag.Duration("idle-timeout", idleTimeout, "close a keep-alive connection idle for `d`")
	flag.Usage = usage
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("04-http-binary: ")
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
	fmt.Fprintf(flag.CommandLine.Output(), `04-http-binary: an HTTP/1.1 file server on a raw TCP socket, and a raw client.

  go run ./04-http-binary                          serve the built-in site on %s
  go run ./04-http-binary -root DIR                serve the files in DIR instead
  curl -O localhost:8004/ice-caps.jpg              download a picture, byte for byte
  curl --data-binary @FILE localhost:8004/echo     send any bytes, get them back
  go run ./04-http-binary -connect localhost:8004  send stdin as it is, print the reply

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
	files       fs.FS         // immutable: the site; names in it never leave it
}

func (s *httpServer) try(port string) string {
	return fmt.Sprintf("curl -O localhost:%s/ice-caps.jpg   (or open http://localhost:%s/ in a browser)", port, port)
}

func newHTTPServer(files fs.FS) *httpServer {
	return &httpServer{
		writeTimeout: writeTimeout,

		files:       files,
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
	w  io.Writer     // c, or a tracer around it: file bodies go here, past bw
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
	cn := &conn{s: s, c: c, id: id, w: dst, bw: bufio.NewWriter(dst), scratch: make([]byte, 0, 64)}
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
	resp := route(cn.s.files, rq)
	if resp.file != nil {
		defer resp.file.Close()
	}
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

// route picks the response to a well-formed request: /echo, or a file.
func route(files fs.FS, rq *request) response {
	if rq.path != "/echo" {
		return serveFile(files, rq)
	}
	switch rq.method {
	case "GET", "HEAD":
		return response{status: 200, contentType: textPlain, echo: rq}
	case "POST":
		// Whatever bytes came, the same bytes go back. The type says
		// "bytes, no more is known": a text label would invite the
		// client to decode bytes that may not be text at all.
		return response{status: 200, contentType: octetStream, body: rq.body}
	}
	return notAllowed("GET, HEAD, POST")
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
