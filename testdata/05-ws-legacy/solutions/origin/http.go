package main

// This file is the HTTP part of the lesson: reading a request head,
// checking it, choosing a response and writing it.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"os"
	"strconv"
	"strings"
	"time"
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
	body    []byte  // Content-Length bytes; reused by the next request
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

// serveOne reads one request and writes its response. It returns
// whether the connection stays open, and an error when the connection is
// broken (a timeout while reading the head is answered with 408 first).
func (cn *conn) serveOne() (keepAlive bool, err error) {
	rq := &cn.rq
	var herr *httpError
	cn.head, err = readHead(cn.br, cn.head)
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		herr = &httpError{408, fmt.Sprintf("the request head did not arrive within %v", cn.s.headTimeout)}
	case errors.As(err, &herr):
	case err != nil:
		return false, fmt.Errorf("reading a request head: %w", err)
	default:
		herr = parseHead(string(cn.head), rq)
	}
	if herr == nil && rq.path == wsPath {
		// handshake.go: after a handshake, the connection is a WebSocket,
		// and serveRequests hands it to frames.go.
		ws, err := cn.upgrade(rq)
		if err == nil {
			cn.ws = ws
			return false, nil
		}
		if !errors.As(err, &herr) {
			return false, fmt.Errorf("WebSocket handshake: %w", err)
		}
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
		return false, cn.write(&resp, "", false)
	}
	resp := route(cn.s.files, rq)
	if resp.file != nil {
		defer resp.file.Close()
	}
	if resp.status >= 400 {
		log.Printf("#%d %d %s: %s %s", cn.id, resp.status, statusText(resp.status), rq.method, rq.target)
	}
	if err := cn.write(&resp, rq.method, rq.keepAlive); err != nil {
		return false, fmt.Errorf("answering %s %s: %w", rq.method, rq.target, err)
	}
	return rq.keepAlive, nil
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
	*rq = request{head: head, fields: rq.fields[:0], body: rq.body[:0]}
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
	rq.keepAlive = rq.version != "HTTP/1.0" // RFC 9112 section 9.3
	for _, f := range rq.fields {
		switch {
		case strings.EqualFold(f.name, "Host"):
			hosts++
		case strings.EqualFold(f.name, "Transfer-Encoding"):
			// RFC 9112 section 6.1. A chunked body ends where a chunk of
			// size 0 says so; this server reads bodies by length only.
			return &httpError{411, fmt.Sprintf("this server reads a body by its Content-Length and does not decode Transfer-Encoding %s; send Content-Length instead", quote(f.value))}
		case strings.EqualFold(f.name, "Connection"):
			if hasToken(f.value, "close") {
				rq.keepAlive = false
			} else if hasToken(f.value, "keep-alive") {
				rq.keepAlive = true // an HTTP/1.0 client asking to keep it
			}
		}
	}
	// RFC 9112 section 3.2: exactly one Host in HTTP/1.1; at most one before.
	if hosts > 1 || hosts == 0 && rq.version != "HTTP/1.0" {
		return badRequest("the request has %d Host header fields; it needs exactly one", hosts)
	}
	return nil
}

// readBody reads the body that Content-Length announces (RFC 9112
// section 6.3: a request without one has no body).
func (cn *conn) readBody(rq *request) *httpError {
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
	rq.body = append(rq.body[:0], make([]byte, n)...)
	if k, err := io.ReadFull(cn.br, rq.body); err != nil {
		return &httpError{408, fmt.Sprintf("the body stopped after %d of its %d bytes", k, n)}
	}
	return nil
}

// response is what the server answers; write turns it into bytes.
type response struct {
	status      int
	contentType string
	body        []byte
	allow       string // for 405: the methods the path supports
	location    string // for 301: where the resource is

	// A file's response has its body in file instead of body: size
	// bytes, streamed. modTime is its Last-Modified time, or zero.
	file    fs.File
	size    int64
	modTime time.Time
}

const (
	textPlain   = "text/plain; charset=utf-8"
	octetStream = "application/octet-stream"
)

// route picks the response to a well-formed request: /echo, or a file.
func route(files fs.FS, rq *request) response {
	if rq.path != "/echo" {
		return serveFile(files, rq)
	}
	switch rq.method {
	case "GET", "HEAD":
		return response{status: 200, contentType: textPlain, body: echoText(rq)}
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

// write writes a response: the status line, the header fields in a fixed
// order, the blank line, then the body unless the request was HEAD (RFC
// 9112 sections 4 and 6). Every response says how long its body is, so
// the client knows where it ends without waiting for the connection to
// close, and what type of bytes the body holds.
func (cn *conn) write(r *response, method string, keepAlive bool) error {
	cn.c.SetWriteDeadline(time.Now().Add(writeTimeout))
	size := int64(len(r.body))
	if r.file != nil {
		size = r.size
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
	switch {
	case !keepAlive:
		w.WriteString("\r\nConnection: close")
	case cn.rq.version == "HTTP/1.0":
		w.WriteString("\r\nConnection: keep-alive") // 1.0 closes unless told
	}
	w.WriteString("\r\n\r\n")
	switch {
	case method == "HEAD":
	case r.file != nil:
		return cn.sendFile(r.file, r.size)
	default:
		w.Write(r.body)
	}
	// No flush: the flusher under the reader flushes before the next
	// read waits, so pipelined responses leave together. A write error
	// sticks in w and comes back from that flush.
	return nil
}

// statusText is the reason phrase for the statuses this server sends
// (RFC 9110 section 15).
func statusText(code int) string {
	switch code {
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
	case 431:
		return "Request Header Fields Too Large"
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
