package main

// This file is the opening handshake of the WebSocket of 2010: a GET /ws
// that asks to stop speaking HTTP, and the 101 answer that agrees. Two
// drafts are spoken: draft-hixie-75 (the first that browsers shipped)
// and draft-hixie-76 (the same with a key challenge; the IETF
// republished it as draft-ietf-hybi-00). "§" below points into draft-76
// unless it says 75. After the answer the connection carries frames:
// frames.go.

import (
	"crypto/md5"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log"
	"math"
	"os"
	"strings"
	"time"
)

const (
	// wsPath is where the WebSocket lives; every other path is 04's files.
	wsPath = "/ws"

	// key3Len is the number of bytes a draft-76 client sends after the
	// blank line of its head (§4.1 step 29): the third key.
	key3Len = 8
)

// upgrade checks a request for /ws and, if it is a handshake this server
// speaks, writes the 101 answer and returns the WebSocket, whose serve
// sends the answer. An *httpError is a refusal for serveOne to send; any
// other error is a broken connection.
func (cn *conn) upgrade(rq *request) (*wsConn, error) {
	if _, ok := rq.header("Sec-WebSocket-Version"); ok {
		return nil, refuseRFC6455(rq)
	}
	if _, ok := rq.header("Sec-WebSocket-Key"); ok {
		return nil, refuseRFC6455(rq)
	}
	if rq.method != "GET" {
		return nil, badRequest("%s is a WebSocket: its handshake is a GET, not %s", wsPath, rq.method)
	}
	// Draft-75 §4.1 wants exactly "Upgrade: WebSocket"; a reader of
	// header fields should not mind case, so neither does this server.
	if v, _ := rq.header("Upgrade"); !strings.EqualFold(v, "WebSocket") {
		return nil, badRequest("%s is a WebSocket: the request needs Upgrade: WebSocket, not %s", wsPath, quote(v))
	}
	if v, _ := rq.header("Connection"); !hasToken(v, "Upgrade") {
		return nil, badRequest("a WebSocket handshake needs Connection: Upgrade, not %s", quote(v))
	}
	origin, ok := rq.header("Origin")
	if !ok {
		// The answer must name the origin it accepts (§5.2); browsers
		// always send one, and other clients can too.
		return nil, badRequest("a WebSocket handshake needs an Origin header field")
	}
	host, _ := rq.header("Host")
	key1, ok1 := rq.header("Sec-WebSocket-Key1")
	key2, ok2 := rq.header("Sec-WebSocket-Key2")
	switch {
	case !ok1 && !ok2:
		return cn.accept75(rq, origin, host)
	case ok1 && ok2:
		return cn.accept76(rq, origin, host, key1, key2)
	}
	return nil, badRequest("a draft-76 handshake needs both Sec-WebSocket-Key1 and Sec-WebSocket-Key2")
}

// refuseRFC6455 answers a client that speaks today's WebSocket (every
// browser since 2012). RFC 6455 (sections 4.2.2 and 4.4) answers a
// version the server does not speak with an error such as 426 and the
// versions it does speak; this one speaks no version of RFC 6455, so it
// has none to list: a 400 that says what happened.
// Anything but 101 ends the browser's attempt at once, instead of a hang.
func refuseRFC6455(rq *request) *httpError {
	v, ok := rq.header("Sec-WebSocket-Version")
	if !ok {
		v = "none"
	}
	return badRequest("your client speaks the WebSocket protocol of RFC 6455 (Sec-WebSocket-Version: %s); "+
		"this server speaks only the 2010 drafts hixie-75 and hixie-76. Lesson 06 speaks RFC 6455: go run ./06-ws-rfc6455", v)
}

// accept75 answers a draft-75 handshake (draft-75 §4.2): fixed lines,
// then the origin and the location, and the protocol if one was asked.
func (cn *conn) accept75(rq *request, origin, host string) (*wsConn, error) {
	proto, _ := rq.header("WebSocket-Protocol")
	cn.writeHandshake("Web Socket Protocol Handshake", "WebSocket-", origin, location(host, rq), proto)
	log.Printf("#%d WebSocket draft-75 from origin %s", cn.id, quote(origin))
	return &wsConn{conn: cn, draft: 75}, nil
}

// accept76 answers a draft-76 handshake (§5.2): it reads the 8 bytes of
// key3 that follow the head, and proves it read the keys by sending the
// MD5 of the two key numbers and key3 after its own head.
func (cn *conn) accept76(rq *request, origin, host, key1, key2 string) (*wsConn, error) {
	n1, herr := keyNumber("Sec-WebSocket-Key1", key1)
	if herr != nil {
		return nil, herr
	}
	n2, herr := keyNumber("Sec-WebSocket-Key2", key2)
	if herr != nil {
		return nil, herr
	}
	// The draft sends no Content-Length, but some clients (and proxies
	// that need one) say 8: the key3 bytes are the body.
	if v, ok := rq.header("Content-Length"); ok && v != "8" {
		return nil, badRequest("a draft-76 handshake carries 8 bytes after its head, not Content-Length %s", quote(v))
	}
	// The head's deadline still runs: key3 may come in a later segment,
	// but not never.
	var key3 [key3Len]byte
	if n, err := io.ReadFull(cn.br, key3[:]); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, &httpError{408, fmt.Sprintf("%d of the 8 key3 bytes after the head arrived within %v", n, cn.s.headTimeout)}
		}
		return nil, fmt.Errorf("reading key3: %w after %d of 8 bytes", err, n)
	}
	answer := challenge(n1, n2, key3)
	proto, _ := rq.header("Sec-WebSocket-Protocol")
	cn.writeHandshake("WebSocket Protocol Handshake", "Sec-WebSocket-", origin, location(host, rq), proto)
	cn.bw.Write(answer[:])
	log.Printf("#%d WebSocket draft-76 from origin %s", cn.id, quote(origin))
	return &wsConn{conn: cn, draft: 76}, nil
}

// location is the URL the client asked for, as the handshake must repeat
// it: ws://, the Host it sent, the path and query it sent.
func location(host string, rq *request) string {
	target := rq.target
	if !strings.HasPrefix(target, "/") {
		target = rq.path // an absolute-form target: keep only its path
	}
	return "ws://" + host + target
}

// writeHandshake writes the 101 response head; the two drafts differ in
// the reason phrase and in the prefix of the last three field names.
func (cn *conn) writeHandshake(reason, prefix, origin, location, proto string) {
	cn.c.SetWriteDeadline(time.Now().Add(writeTimeout))
	w := cn.bw
	w.WriteString("HTTP/1.1 101 " + reason + "\r\n")
	w.WriteString("Upgrade: WebSocket\r\n")
	w.WriteString("Connection: Upgrade\r\n")
	w.WriteString(prefix + "Origin: " + origin + "\r\n")
	w.WriteString(prefix + "Location: " + location + "\r\n")
	if proto != "" {
		w.WriteString(prefix + "Protocol: " + proto + "\r\n")
	}
	w.WriteString("\r\n")
}

// keyNumber reads the number hidden in a draft-76 key (§5.2 step 4): the
// key's digits, read as one decimal number, divided by the number of
// spaces in the key. "18x 6]8vM;54 *(5:  {   U1]8  z [  8" has the digits
// 1868545188 and 12 spaces: 155712099. The client made the number a
// multiple of the spaces; one that is not, or a key with no spaces, did
// not come from a client that read the draft.
func keyNumber(name, key string) (uint32, *httpError) {
	var n, spaces uint64
	for i := 0; i < len(key); i++ {
		switch c := key[i]; {
		case isDigit(c):
			n = n*10 + uint64(c-'0')
			if n > math.MaxUint32 {
				// §4.1 step 17: a client never sends more than 2^32-1.
				return 0, badRequest("%s %s: its digits make a number over 4294967295", name, quote(key))
			}
		case c == ' ':
			spaces++
		}
	}
	if spaces == 0 {
		return 0, badRequest("%s %s has no spaces to divide its number by", name, quote(key))
	}
	if n%spaces != 0 {
		return 0, badRequest("%s %s: %d is not a multiple of its %d spaces", name, quote(key), n, spaces)
	}
	return uint32(n / spaces), nil
}

// challenge is the server's answer to draft-76's keys (§5.2 step 6): the
// MD5 of the two key numbers, each as 4 bytes big-endian, then key3.
func challenge(n1, n2 uint32, key3 [key3Len]byte) [md5.Size]byte {
	var b [4 + 4 + key3Len]byte
	binary.BigEndian.PutUint32(b[0:4], n1)
	binary.BigEndian.PutUint32(b[4:8], n2)
	copy(b[8:], key3[:])
	return md5.Sum(b[:])
}
