package main

// This file is the opening handshake of RFC 6455 section 4: an HTTP
// request that asks to stop speaking HTTP, and the answer that agrees.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"time"
)

// wsPath is the address of the echo WebSocket; every other path is
// served as in lesson 05.
const wsPath = "/ws"

// websocketGUID is the fixed string of RFC 6455 section 1.3. The server
// hashes it with the client's key to prove it read this very handshake.
const websocketGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// acceptKey computes Sec-WebSocket-Accept from Sec-WebSocket-Key (section
// 4.2.2, step 5.4): base64(SHA-1(key + GUID)), exactly 28 characters. The
// encoder must add nothing: a trailing newline (Python's
// base64.encodebytes adds one) makes browsers reject the handshake.
func acceptKey(key string) string {
	sum := sha1.Sum([]byte(key + websocketGUID))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// handshake checks a request for wsPath against section 4.2.1, one
// requirement at a time, each refusal with its own status and a body
// that names the header at fault. A request that passes gets 101
// Switching Protocols (section 4.2.2), with the subprotocol it picked, if
// any.
func (s *httpServer) handshake(rq *request) response {
	// 1. A GET, in HTTP/1.1 or later; checkFields already made sure of
	// exactly one Host.
	if rq.method != "GET" {
		r := refuse(405, "a WebSocket handshake is a GET request, not %s", rq.method)
		r.allow = "GET"
		return r
	}
	if rq.version < "HTTP/1.1" {
		return refuse(400, "a WebSocket handshake needs HTTP/1.1 or later, not %s", rq.version)
	}
	// 2. Upgrade: websocket, and a Connection list with "Upgrade" in it.
	// Both are lists of tokens, compared without regard to case.
	if v := rq.list("Upgrade"); !hasToken(v, "websocket") {
		r := refuse(426, "this address speaks WebSocket only; the request needs \"Upgrade: websocket\", not %s", quote(v))
		r.fields = []field{{"Upgrade", "websocket"}}
		return r
	}
	if v := rq.list("Connection"); !hasToken(v, "Upgrade") {
		return refuse(400, "the Connection header %s does not list \"Upgrade\"", quote(v))
	}
	// 3. Version 13, the RFC's; any other gets 426 and the version this
	// server speaks (sections 4.2.2 and 4.4), so a client can retry with it. It comes
	// before the key: a client of an older draft (lesson 05) sends no
	// Sec-WebSocket-Key, and "speak version 13" is the answer it needs.
	if v := rq.list("Sec-WebSocket-Version"); v != "13" {
		r := refuse(426, "this server speaks WebSocket version 13 (RFC 6455), not Sec-WebSocket-Version %s", quote(v))
		r.fields = []field{{"Sec-WebSocket-Version", "13"}}
		return r
	}
	// 4. A Sec-WebSocket-Key: 16 random bytes in base64, sent once.
	keys := rq.all("Sec-WebSocket-Key")
	if len(keys) != 1 {
		return refuse(400, "the request has %d Sec-WebSocket-Key headers; it needs exactly one", len(keys))
	}
	if k, err := base64.StdEncoding.DecodeString(keys[0]); err != nil || len(k) != 16 {
		return refuse(400, "Sec-WebSocket-Key %s is not 16 bytes in base64", quote(keys[0]))
	}
	// 5. The Origin, which only browsers send (section 10.2), and never
	// twice (RFC 6454 section 7.3): a second one might be the one another
	// reader of the request believes.
	origins := rq.all("Origin")
	if len(origins) > 1 {
		return refuse(400, "the request has %d Origin headers; a browser sends at most one", len(origins))
	}
	if len(origins) == 1 && !s.allowOrigin(origins[0], rq) {
		if origins[0] == "*" || !isOrigin(origins[0]) { // no browser writes it: nothing to allow
			return refuse(403, "Origin %s is not this site's, nor an origin a browser sends", quote(origins[0]))
		}
		return refuse(403, "Origin %s is not this site's; start the server with -origins %s to allow it", quote(origins[0]), origins[0])
	}
	// 6. The answer: the key, hashed with the GUID, proves that the server
	// read this very handshake; a subprotocol only if both sides speak it.
	// Extensions (Sec-WebSocket-Extensions) are never agreed to: the server
	// implements none, and an extension the reply does not name is off.
	r := response{status: 101, fields: []field{
		{"Upgrade", "websocket"},
		{"Connection", "Upgrade"},
		{"Sec-WebSocket-Accept", acceptKey(keys[0])},
	}}
	if p := s.pickProtocol(rq.list("Sec-WebSocket-Protocol")); p != "" {
		r.fields = append(r.fields, field{"Sec-WebSocket-Protocol", p})
	}
	return r
}

// protocol is the subprotocol a 101 agreed to (section 4.2.2): the value
// of its Sec-WebSocket-Protocol field, or "".
func (r *response) protocol() string {
	for _, f := range r.fields {
		if f.name == "Sec-WebSocket-Protocol" {
			return f.value
		}
	}
	return ""
}

func refuse(status int, format string, args ...any) response {
	return errorResponse(&httpError{status, fmt.Sprintf(format, args...)})
}

// allowOrigin reports whether a page from origin may open a WebSocket
// here: a page of this very site, or an origin given with -origins.
//
// Why it matters: a browser sends a site's cookies with every request to
// that site, WebSocket handshakes included, whichever page makes the
// request, and the same-origin policy that keeps other sites from reading
// HTTP responses does not cover WebSockets. Without this check, any page
// a logged-in user visits could open a WebSocket to this server as that
// user and read everything it sends: cross-site WebSocket hijacking.
//
// A browser writes a page's origin as scheme://host[:port], with no user
// and no path (RFC 6454 section 6.2), so a page of this site sends
// exactly "http://" and the Host it asked for: this server speaks plain
// http, and https://localhost:8006 is another site. Anything else, "null"
// (a file or a sandboxed page) included, is not this site's.
//
// What it cannot stop: a page whose own name was made to point at this
// server (DNS rebinding) sends a Host and an Origin that agree. Only a
// server that knows the names it answers to, and refuses any other Host,
// stops that; see the lesson text.
func (s *httpServer) allowOrigin(origin string, rq *request) bool {
	if slices.ContainsFunc(s.origins, func(o string) bool { return o == "*" || strings.EqualFold(o, origin) }) {
		return true
	}
	host, _ := rq.header("Host")
	return host != "" && strings.EqualFold(origin, "http://"+host)
}

// pickProtocol picks the first protocol in the client's list (its order
// of preference, section 4.1) that the server speaks too, or "".
func (s *httpServer) pickProtocol(offered string) string {
	for p := range strings.SplitSeq(offered, ",") {
		p = strings.TrimSpace(p)
		if slices.Contains(s.protocols, p) {
			return p
		}
	}
	return ""
}

// writeSwitch writes the 101 response. It has no body, and no
// Content-Length (RFC 9110 section 8.6): after its blank line the bytes
// are WebSocket frames.
func (cn *conn) writeSwitch(r *response) error {
	cn.c.SetWriteDeadline(time.Now().Add(writeTimeout))
	w := cn.bw
	w.WriteString("HTTP/1.1 101 Switching Protocols")
	writeFields(w, r.fields)
	w.WriteString("\r\n\r\n")
	return w.Flush()
}

// upgrade turns a connection whose handshake is done into a WebSocket,
// after r, the 101. The WebSocket takes only the socket, and the bytes the
// client sent right behind its handshake, which are already in the HTTP
// reader: they go first. The rest of conn, its buffers included, is
// garbage once serveRequests returns, so an idle WebSocket holds only
// its small read buffer.
func (cn *conn) upgrade(r *response) *websocket {
	var src io.Reader = cn.c
	if n := cn.br.Buffered(); n > 0 {
		early, _ := cn.br.Peek(n)
		src = io.MultiReader(bytes.NewReader(bytes.Clone(early)), cn.c)
	}
	protocol := r.protocol()
	ws := &websocket{
		c:          cn.c,
		br:         bufio.NewReaderSize(src, wsReadBuffer),
		id:         cn.id,
		ping:       cn.s.ping,
		maxMessage: cn.s.maxMessage,
		trace:      cn.s.trace,
	}
	if protocol != "" {
		ws.logf("upgraded to WebSocket, subprotocol %s", protocol)
	} else {
		ws.logf("upgraded to WebSocket")
	}
	return ws
}

// serveWebSocket runs the echo until the WebSocket closes, and logs how
// it ended: the connection's last line in the log.
func (s *httpServer) serveWebSocket(ctx context.Context, ws *websocket) {
	// Ctrl-C cancels ctx: then the connection closes with 1001, going
	// away (section 7.4.1), so that a page can tell "the server went away"
	// from "the network broke". If Ctrl-C came during the handshake, the
	// close begins at once.
	stop := context.AfterFunc(ctx, ws.goAway)
	defer stop()
	err := ws.serve()
	var ce *closeError
	switch {
	case err == nil:
		ws.logf("WebSocket closed after %d messages", ws.messages)
	case errors.Is(err, io.EOF):
		ws.logf("WebSocket lost after %d messages: the client closed TCP without a close frame", ws.messages)
	case errors.Is(err, net.ErrClosed) && errors.As(err, &ce):
		// The grace period ended before the client answered our close.
		ws.logf("WebSocket closed at shutdown after %d messages: sent close %d, no answer", ws.messages, ce.code)
	case errors.Is(err, net.ErrClosed):
		ws.logf("WebSocket closed at shutdown after %d messages", ws.messages)
	case errors.As(err, &ce) && ce.code == closeGoingAway:
		ws.logf("WebSocket closed at shutdown after %d messages: sent close 1001, and the client closed", ws.messages)
	case errors.As(err, &ce):
		ws.logf("WebSocket closed after %d messages: sent close %d: %s", ws.messages, ce.code, ce.reason)
	default:
		ws.logf("WebSocket lost after %d messages: %v", ws.messages, err)
	}
}

// list joins the values of every field called name with commas, as RFC
// 9110 section 5.3 allows a list to be split across fields.
func (r *request) list(name string) string {
	return strings.Join(r.all(name), ", ")
}

// all returns the values of every field called name.
func (r *request) all(name string) []string {
	var vs []string
	for _, f := range r.fields {
		if strings.EqualFold(f.name, name) {
			vs = append(vs, f.value)
		}
	}
	return vs
}
