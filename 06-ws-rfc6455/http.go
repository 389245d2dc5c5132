package main

// This file is HTTP/1.1 itself: reading a request head and checking it,
// reading the body its Content-Length announces, and writing a response.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// The limits. Every size that comes from a client is bounded before the
// server spends memory on it, and every wait has a deadline.
const (
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

	// maxBodies bounds the memory that the bodies of all connections
	// hold together: 32 bodies of maxBody at once, a small part of any
	// machine this runs on. Without it, a thousand clients that each
	// announce a megabyte would make the server hold a gigabyte. A body
	// that finds the memory taken is answered 503, and its connection
	// closed.
	maxBodies = 32 << 20

	// bodyStart is the room a body gets when its first bytes arrive;
	// the room doubles as more arrive, up to the Content-Length. So a
	// body holds at most about twice the bytes that came, and a head
	// that announces a megabyte and sends nothing holds nothing.
	bodyStart = 4 << 10

	// bodyTimeout is how long a client has to send the body after the
	// head: maxBody at 50 KiB/s.
	bodyTimeout = 20 * time.Second

	// writeTimeout bounds sending an answer to a client that has stopped
	// reading: past it, the connection ends (see errWrite).
	writeTimeout = 10 * time.Second

	// lingerTimeout and maxLinger bound how long, and how many bytes, the
	// server reads and throws away after its last response before it
	// closes (RFC 9112 section 9.6): closing with unread bytes makes the
	// kernel send a reset, which can destroy the response in flight.
	lingerTimeout = time.Second
	maxLinger     = 64 << 10
)

// request is one request as the server parsed it. Its strings are all
// pieces of head, so parsing a request allocates one string.
type request struct {
	head    string  // as received: request line, header lines, blank line
	method  string  // "GET"
	target  string  // "/echo?x=1"
	path    string  // "/echo"
	version string  // "HTTP/1.1"
	fields  []field // header fields in the order they came
	body    []byte  // Content-Length bytes; let go after the response
	// keepAlive says whether the connection stays open after the
	// response (RFC 9112 section 9.3).
	keepAlive bool
}

// field is one header field line, "Name: value", without the optional
// white space around the value.
type field struct{ name, value string }

// header returns the value of the first field called name; field names
// are case-insensitive (RFC 9110 section 5.1).
func (r *request) header(name string) (string, bool) {
	for _, f := range r.fields {
		if strings.EqualFold(f.name, name) {
			return f.value, true
		}
	}
	return "", false
}

// httpError is a request the server refuses: the status to answer with,
// and what was wrong, for the response body and the log.
type httpError struct {
	status int
	reason string
}

func (e *httpError) Error() string { return e.reason }

func badRequest(format string, args ...any) *httpError {
	return &httpError{400, fmt.Sprintf(format, args...)}
}

// readHead reads one request head into buf: the request line, the
// header lines and the blank line that ends them (RFC 9112 section 2.1).
// Every line must end in \r\n: the lesson is strict where RFC 9112
// section 2.2 lets a server be lenient, so that a client's stray \n shows.
func readHead(br *bufio.Reader, buf []byte) ([]byte, error) {
	head, read := buf[:0], 0
	for {
		line, err := br.ReadSlice('\n')
		read += len(line)
		switch {
		case len(head) == 0 && (len(line) > maxRequestLine || err == bufio.ErrBufferFull):
			return head, &httpError{414, fmt.Sprintf("the request line is longer than %d bytes", maxRequestLine)}
		case err == bufio.ErrBufferFull || read > maxHead:
			return head, &httpError{431, fmt.Sprintf("the request head is longer than %d bytes", maxHead)}
		case err != nil:
			return head, err // a timeout, or the client left half-way
		case !bytes.HasSuffix(line, crlf):
			return head, badRequest("line %s ends in \\n without \\r; HTTP lines end in \\r\\n", quote(string(line)))
		case bytes.IndexByte(line[:len(line)-2], '\r') >= 0:
			return head, badRequest("line %s has a \\r that does not end it", quote(string(line)))
		}
		if len(head) == 0 && len(line) == 2 {
			continue // RFC 9112 section 2.2: ignore an empty line before the request line
		}
		head = append(head, line...)
		if len(line) == 2 {
			return head, nil // the blank line: the head is complete
		}
	}
}

var crlf = []byte("\r\n")

// parseHead parses a complete head that readHead returned into rq.
func parseHead(head string, rq *request) *httpError {
	*rq = request{head: head, fields: rq.fields[:0]}
	line, rest, _ := strings.Cut(head, "\r\n")
	if err := rq.parseRequestLine(line); err != nil {
		return err
	}
	for {
		line, rest, _ = strings.Cut(rest, "\r\n")
		if line == "" {
			break // the blank line
		}
		if err := rq.parseField(line); err != nil {
			return err
		}
	}
	return rq.checkFields()
}

// parseRequestLine parses "GET /echo HTTP/1.1": method, one space,
// target, one space, version (RFC 9112 section 3).
func (rq *request) parseRequestLine(line string) *httpError {
	method, rest, ok1 := strings.Cut(line, " ")
	target, version, ok2 := strings.Cut(rest, " ")
	if !ok1 || !ok2 || !isToken(method) || target == "" || strings.ContainsAny(target, " \t") || hasCTL(target) {
		return badRequest("request line %s is not METHOD SP TARGET SP VERSION", quote(line))
	}
	// RFC 9112 section 2.3: "HTTP/" DIGIT "." DIGIT.
	if len(version) != 8 || version[:5] != "HTTP/" || !isDigit(version[5]) || version[6] != '.' || !isDigit(version[7]) {
		return badRequest("%s is not an HTTP version like HTTP/1.1", quote(version))
	}
	if version[5] != '1' {
		return &httpError{505, fmt.Sprintf("this server speaks HTTP/1.0 and HTTP/1.1, not %s", version)}
	}
	// RFC 9112 section 3.2: origin form "/path?query", or absolute form
	// "http://host/path?query", which proxies send.
	path := target
	if scheme, after, ok := strings.Cut(target, "://"); ok && (strings.EqualFold(scheme, "http") || strings.EqualFold(scheme, "https")) {
		_, path, _ = strings.Cut(after, "/")
		path = "/" + path
	}
	if path[0] != '/' {
		return badRequest("target %s does not start with /", quote(target))
	}
	path, _, _ = strings.Cut(path, "?")
	rq.method, rq.target, rq.path, rq.version = method, target, path, version
	return nil
}

// parseField parses one header line, "Name: value" (RFC 9112 section 5).
func (rq *request) parseField(line string) *httpError {
	if line[0] == ' ' || line[0] == '\t' {
		// RFC 9112 section 5.2: obsolete line folding may be refused.
		return badRequest("header line %s starts with white space (obsolete line folding)", quote(line))
	}
	name, value, ok := strings.Cut(line, ":")
	if !ok {
		return badRequest("header line %s has no colon", quote(line))
	}
	if strings.TrimRight(name, " \t") != name {
		// RFC 9112 section 5.1: refuse it; proxies that read "Host :"
		// differently have been used to smuggle requests.
		return badRequest("header line %s has white space before its colon", quote(line))
	}
	if !isToken(name) {
		return badRequest("header name %s is not a token", quote(name))
	}
	value = strings.Trim(value, " \t")
	if hasCTL(value) {
		return badRequest("header %s has a control character in its value %s", name, quote(value))
	}
	rq.fields = append(rq.fields, field{name, value})
	return nil
}

// checkFields checks what the server needs from the header fields: one
// Host, a body length it can use, and whether to keep the connection.
func (rq *request) checkFields() *httpError {
	hosts := 0
	var askClose, askKeep bool
	for _, f := range rq.fields {
		switch {
		case strings.EqualFold(f.name, "Host"):
			hosts++
		case strings.EqualFold(f.name, "Transfer-Encoding"):
			// RFC 9112 section 6.1. A chunked body ends where a chunk of
			// size 0 says so; this server reads bodies by length only.
			return &httpError{411, fmt.Sprintf("this server reads a body by its Content-Length and does not decode Transfer-Encoding %s; send Content-Length instead", quote(f.value))}
		case strings.EqualFold(f.name, "Connection"):
			// RFC 9110 section 7.6.1: the options of every Connection
			// field count, so collect them all before deciding.
			askClose = askClose || hasToken(f.value, "close")
			askKeep = askKeep || hasToken(f.value, "keep-alive")
		}
	}
	// RFC 9112 section 9.3: "close" anywhere closes. Otherwise HTTP/1.1
	// keeps the connection, and HTTP/1.0 only if the client asked.
	rq.keepAlive = !askClose && (rq.version != "HTTP/1.0" || askKeep)
	// RFC 9112 section 3.2: exactly one Host in HTTP/1.1; at most one before.
	if hosts > 1 || hosts == 0 && rq.version != "HTTP/1.0" {
		return badRequest("the request has %d Host header fields; it needs exactly one", hosts)
	}
	return nil
}

// readBody reads the body that Content-Length announces (RFC 9112
// section 6.3: a request without one has no body). The body's memory
// grows as its bytes arrive, and comes from the budget all connections
// share (see growBody). An *httpError is an answer to send; any other
// error ends the connection without one (see bodyCut).
func (cn *conn) readBody(rq *request) error {
	n := int64(-1)
	for _, f := range rq.fields {
		if !strings.EqualFold(f.name, "Content-Length") {
			continue
		}
		v, err := strconv.ParseUint(f.value, 10, 63)
		if err != nil {
			return badRequest("Content-Length %s is not a number of bytes", quote(f.value))
		}
		if n >= 0 && int64(v) != n {
			return badRequest("two Content-Length fields disagree: %d and %d", n, v)
		}
		n = int64(v)
	}
	if n <= 0 {
		return nil
	}
	if n > maxBody {
		return &httpError{413, fmt.Sprintf("a body of %d bytes is over this server's limit of %d", n, maxBody)}
	}
	cn.c.SetReadDeadline(time.Now().Add(bodyTimeout))
	for int64(len(rq.body)) < n {
		// Wait for bytes to come, then make room for them if there is
		// none left, then take what came.
		if _, err := cn.br.Peek(1); err != nil {
			return bodyCut(err, len(rq.body), n)
		}
		if len(rq.body) == cap(rq.body) {
			if herr := cn.growBody(n); herr != nil {
				return herr
			}
		}
		k, _ := cn.br.Read(rq.body[len(rq.body):min(int64(cap(rq.body)), n)]) // buffered: no error
		rq.body = rq.body[:len(rq.body)+k]
	}
	return nil
}

// bodyCut says what a body that stopped short of its length gets. A
// deadline that passed is 408; a client that closed its sending side
// cannot finish the request (RFC 9112 section 8), but it may still read
// a 400. Anything else gets no answer: a reset, a connection closed at
// the end of the shutdown grace, or an earlier answer that could not be
// sent (errWrite) leave no one to answer.
func bodyCut(err error, got int, n int64) error {
	switch {
	case errors.Is(err, errWrite):
		return err
	case errors.Is(err, os.ErrDeadlineExceeded):
		return &httpError{408, fmt.Sprintf("the body stopped after %d of its %d bytes", got, n)}
	case err == io.EOF:
		return badRequest("the body ended after %d of its %d bytes: the client closed its side", got, n)
	}
	return fmt.Errorf("reading a body: %w", err)
}

// growBody gives the body being read more room: twice what it has, from
// bodyStart up to its Content-Length n. The memory is taken from the
// budget that all connections share first; when that is spent, the
// answer is 503.
func (cn *conn) growBody(n int64) *httpError {
	had := int64(cap(cn.rq.body))
	more := min(n, max(bodyStart, 2*had)) - had
	if !cn.s.bodies.take(more) {
		return &httpError{503, fmt.Sprintf("the bodies being read hold all the %d bytes this server gives them; try again later", cn.s.bodies.limit)}
	}
	cn.held += more
	cn.rq.body = append(make([]byte, 0, had+more), cn.rq.body...)
	return nil
}

// releaseBody gives the body's memory back after the response: to the
// budget, and to the garbage collector. An idle keep-alive connection
// holds no body.
func (cn *conn) releaseBody() {
	cn.s.bodies.give(cn.held)
	cn.held, cn.rq.body = 0, nil
}

// A budget is memory that all connections share. Each takes from it
// before it allocates and gives back when done, so that together they
// never hold more than limit.
type budget struct {
	limit int64        // immutable
	used  atomic.Int64 // taken and not yet given back
}

// take takes n bytes, or takes nothing and reports false when that would
// go past the limit. Two takes at the same moment may both be refused
// where one would fit; never is more than the limit taken.
func (b *budget) take(n int64) bool {
	if b.used.Add(n) > b.limit {
		b.used.Add(-n)
		return false
	}
	return true
}

func (b *budget) give(n int64) { b.used.Add(-n) }

// response is what the server answers; write turns it into bytes.
type response struct {
	status      int
	contentType string
	body        []byte
	allow       string  // for 405: the methods the path supports
	location    string  // for 301: where the resource is
	fields      []field // more header fields: the handshake's (101, 426)

	// A file's response has its body in file instead of body: size
	// bytes, streamed. modTime is its Last-Modified time, or zero.
	file    fs.File
	size    int64
	modTime time.Time

	// echo, for GET /echo, is the request to show in place of body,
	// escaped as it is sent and never held whole (see echoText).
	echo *request
}

const (
	textPlain   = "text/plain; charset=utf-8"
	octetStream = "application/octet-stream"
)

// errWrite marks an error on the way out: an answer could not be sent,
// because the client stopped reading for writeTimeout or the connection
// broke. There is no way to answer it, and no telling how much of the
// answer arrived, so the connection ends at once and is never used
// again (net/http does the same).
var errWrite = errors.New("sending an answer")

// write writes a response: the status line, the header fields in a fixed
// order, the blank line, then the body unless the request was HEAD (RFC
// 9112 sections 4 and 6; RFC 9110 section 9.3.2). Every response says
// how long its body is, so the client knows where it ends without
// waiting for the connection to close, and what type of bytes the body
// holds.
//
// The answer waits in cn.bw, and the flusher sends it just before the
// server waits for the client again; a body larger than the room left in
// cn.bw goes out at once. Either way a failure comes back marked
// errWrite: from write, or from the read that flushed.
func (cn *conn) write(r *response, method string, keepAlive bool) error {
	cn.c.SetWriteDeadline(time.Now().Add(cn.s.writeTimeout))
	size := int64(len(r.body))
	switch {
	case r.file != nil:
		size = r.size
	case r.echo != nil:
		size = int64(echoSize(r.echo))
	}
	w, b := cn.bw, cn.scratch[:0]
	w.WriteString("HTTP/1.1 ") // RFC 9110 section 6.2: our version, whatever the client's
	w.Write(strconv.AppendInt(b, int64(r.status), 10))
	w.WriteByte(' ')
	w.WriteString(statusText(r.status))
	w.WriteString("\r\nContent-Type: ")
	w.WriteString(r.contentType)
	// Content-Type is the server's word on what the body is (RFC 9110
	// section 8.3); nosniff (WHATWG Fetch) asks a browser to take that
	// word instead of guessing from the bytes.
	w.WriteString("\r\nX-Content-Type-Options: nosniff")
	w.WriteString("\r\nContent-Length: ")
	w.Write(strconv.AppendInt(b, size, 10))
	w.WriteString("\r\nDate: ")
	if cn.s.date != "" {
		w.WriteString(cn.s.date)
	} else {
		w.Write(time.Now().UTC().AppendFormat(b, httpDate))
	}
	if !r.modTime.IsZero() {
		w.WriteString("\r\nLast-Modified: ")
		w.Write(r.modTime.UTC().AppendFormat(b, httpDate))
	}
	if r.location != "" {
		w.WriteString("\r\nLocation: ")
		w.WriteString(r.location)
	}
	if r.allow != "" {
		w.WriteString("\r\nAllow: ")
		w.WriteString(r.allow)
	}
	writeFields(w, r.fields)
	switch {
	case !keepAlive:
		w.WriteString("\r\nConnection: close")
	case cn.rq.version == "HTTP/1.0":
		w.WriteString("\r\nConnection: keep-alive") // 1.0 closes unless told
	}
	_, err := w.WriteString("\r\n\r\n")
	switch {
	case method == "HEAD" || err != nil:
	case r.file != nil:
		if err = cn.sendFile(r.file, r.size); errors.Is(err, errShortFile) {
			return err // the file's fault, not the client's
		}
	case r.echo != nil:
		for p := range echoText(r.echo) {
			if _, err = w.Write(p); err != nil {
				break
			}
		}
	default:
		_, err = w.Write(r.body)
	}
	// bufio.Writer keeps its first error and returns it from every later
	// call, so the last call's error stands for all of them.
	if err != nil {
		return fmt.Errorf("%w: %w", errWrite, err)
	}
	return nil
}

// writeFields writes header fields, each as "\r\nName: value": the CRLF
// ends the line before it.
func writeFields(w *bufio.Writer, fields []field) {
	for _, f := range fields {
		w.WriteString("\r\n")
		w.WriteString(f.name)
		w.WriteString(": ")
		w.WriteString(f.value)
	}
}

// httpDate is the IMF-fixdate layout of RFC 9110 section 5.6.7, for
// time.Format: "Sun, 06 Nov 1994 08:49:37 GMT".
const httpDate = "Mon, 02 Jan 2006 15:04:05 GMT"

// flusher is the reader under a connection's bufio.Reader: it sends the
// answers written so far before it waits for more bytes. Answers to
// pipelined requests that are already buffered go out in one write, and
// a client that waits for its answer always gets it. A failure to send
// comes back from Read marked errWrite, so that the server does not take
// it for the client's silence.
type flusher struct {
	r io.Reader
	w *bufio.Writer
}

func (f flusher) Read(p []byte) (int, error) {
	if err := send(f.w); err != nil {
		return 0, err
	}
	return f.r.Read(p)
}

// send sends what waits in w. After a failure, bufio.Writer sends
// nothing more and returns the same error from every call, so an answer
// that could not leave is never followed by another.
func send(w *bufio.Writer) error {
	if err := w.Flush(); err != nil {
		return fmt.Errorf("%w: %w", errWrite, err)
	}
	return nil
}

// closeGently sends what is buffered, closes our sending side, then
// reads and discards what the client still sends until it closes too,
// lingerTimeout passes or maxLinger bytes arrive (RFC 9112 section 9.6).
func (cn *conn) closeGently() error {
	if err := send(cn.bw); err != nil {
		return err
	}
	// Whatever can close only its sending side: a TCP connection sends
	// its FIN; one wrapped in TLS, the close_notify of TLS.
	if cw, ok := cn.c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	cn.c.SetReadDeadline(time.Now().Add(lingerTimeout))
	io.CopyN(io.Discard, cn.br, maxLinger)
	return nil
}

// statusText is the reason phrase for the statuses this server sends
// (RFC 9110 section 15).
func statusText(code int) string {
	switch code {
	case 101:
		return "Switching Protocols"
	case 200:
		return "OK"
	case 301:
		return "Moved Permanently"
	case 400:
		return "Bad Request"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 405:
		return "Method Not Allowed"
	case 408:
		return "Request Timeout"
	case 411:
		return "Length Required"
	case 413:
		return "Content Too Large"
	case 414:
		return "URI Too Long"
	case 415:
		return "Unsupported Media Type"
	case 426:
		return "Upgrade Required"
	case 431:
		return "Request Header Fields Too Large"
	case 503:
		return "Service Unavailable"
	case 505:
		return "HTTP Version Not Supported"
	}
	return "Unknown"
}

// isToken reports whether s is a token (RFC 9110 section 5.6.2): the
// characters allowed in methods and header names.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || isDigit(c) || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// quote shows s in double quotes with escape's visible escapes, for
// error messages that say which bytes were wrong.
func quote(s string) string { return `"` + escape([]byte(s)) + `"` }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// hasCTL reports whether s holds a control character other than tab
// (RFC 9110 section 5.5: NUL, CR and LF are never allowed in a value).
func hasCTL(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' && s[i] != '\t' || s[i] == 0x7f {
			return true
		}
	}
	return false
}

// hasToken reports whether the comma-separated list v holds token,
// ignoring case: "keep-alive, Upgrade" has "upgrade".
func hasToken(v, token string) bool {
	for part := range strings.SplitSeq(v, ",") {
		if strings.EqualFold(strings.TrimSpace(part), token) {
			return true
		}
	}
	return false
}
