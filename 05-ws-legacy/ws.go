package main

// This file is what lesson 05 adds to lesson 04: the WebSocket of 2010.
// A GET /ws that asks to be upgraded stops being HTTP once the server has
// answered 101; from then on the connection carries frames, each one
// 0x00, UTF-8 text, 0xFF. Two drafts are spoken: draft-hixie-75 (the
// first that browsers shipped) and draft-hixie-76 (the same with a key
// challenge and a closing handshake; the IETF republished it as
// draft-ietf-hybi-00). "§" below points into draft-76 unless it says 75.

import (
	"bufio"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"os"
	"strings"
	"time"
	"unicode/utf8"
)

const (
	// wsPath is where the WebSocket lives; every other path is 04's files.
	wsPath = "/ws"

	// maxFrame bounds one frame, text or length-prefixed. A sentinel frame
	// announces no length: the server only learns its size by reading to
	// the 0xFF, so without a limit a client that never sends one would
	// grow the server's memory forever. 64 KiB is far more than a chat
	// line, and the same order as the limits browsers of 2010 used.
	maxFrame = 64 << 10

	// key3Len is the number of bytes a draft-76 client sends after the
	// blank line of its head (§4.1 step 29): the third key.
	key3Len = 8
)

// Frame bytes (§4.2, and draft-75 §3.2).
const (
	textFrame byte = 0x00 // the type byte of a text frame
	sentinel  byte = 0xFF // ends a text frame; no UTF-8 text holds it
	lengthBit byte = 0x80 // a type with this bit set is followed by a length
)

// closingFrame is draft-76's closing handshake (§4.2): type 0xFF, length 0.
var closingFrame = []byte{0xFF, 0x00}

// wsConn is a connection after a successful handshake.
type wsConn struct {
	*conn
	draft int    // 75 or 76
	msg   []byte // the frame being read; reused, never over maxFrame+1 bytes
}

// upgrade checks a request for /ws and, if it is a handshake this server
// speaks, answers 101 and returns the WebSocket. An *httpError is a
// refusal for serveOne to send; any other error is a broken connection.
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
// browser since 2012). RFC 6455 section 4.4 answers an unknown version
// with 426 and the versions the server speaks; this one speaks no version
// of RFC 6455, so it has none to list: a 400 that says what happened.
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
	return &wsConn{conn: cn, draft: 75}, cn.bw.Flush()
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
	return &wsConn{conn: cn, draft: 76}, cn.bw.Flush()
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

// errFrameTooLong says a frame passed maxFrame.
var errFrameTooLong = fmt.Errorf("a frame grew past %d bytes", maxFrame)

// serve echoes every text frame until the client closes, then closes.
// Frames that arrive together are answered together: the echoes wait in
// the write buffer until the server has to wait for more bytes.
func (ws *wsConn) serve() error {
	msgs, err := ws.echo()
	switch {
	case err == nil:
		log.Printf("#%d WebSocket closed after %d messages: closing handshake", ws.id, msgs)
	case err == io.EOF:
		log.Printf("#%d WebSocket closed after %d messages: the client closed the connection", ws.id, msgs)
	case err == io.ErrUnexpectedEOF:
		log.Printf("#%d WebSocket closed after %d messages: the client closed the connection in the middle of a frame", ws.id, msgs)
	case errors.Is(err, os.ErrDeadlineExceeded):
		log.Printf("#%d WebSocket idle for %v after %d messages: closing", ws.id, ws.s.idleTimeout, msgs)
	case errors.Is(err, net.ErrClosed):
		log.Printf("#%d WebSocket closed at shutdown after %d messages", ws.id, msgs)
	case errors.Is(err, errFrameTooLong), errors.As(err, new(*frameError)):
		log.Printf("#%d WebSocket failed after %d messages: %v", ws.id, msgs, err)
	default:
		return fmt.Errorf("WebSocket after %d messages: %w", msgs, err)
	}
	return nil
}

// frameError is a frame the server will not accept.
type frameError struct{ reason string }

func (e *frameError) Error() string { return e.reason }

// echo reads frames and answers them (§5.3; draft-75 §4.3). It returns
// how many messages it echoed, and nil after a closing handshake.
func (ws *wsConn) echo() (int, error) {
	for msgs := 0; ; {
		ws.c.SetReadDeadline(time.Now().Add(ws.s.idleTimeout))
		typ, err := ws.br.ReadByte()
		if err != nil {
			return msgs, err
		}
		if typ&lengthBit == 0 {
			// A sentinel frame: bytes up to 0xFF.
			text, err := readSentinelFrame(ws.br, ws.msg[:0])
			if err != nil {
				return msgs, err
			}
			ws.msg = text
			if typ != textFrame {
				continue // the draft defines no other type: discard it
			}
			if !utf8.Valid(text) {
				return msgs, &frameError{fmt.Sprintf("text frame %s is not UTF-8", quote(string(text)))}
			}
			ws.c.SetWriteDeadline(time.Now().Add(writeTimeout))
			ws.bw.WriteByte(textFrame)
			ws.bw.Write(text)
			ws.bw.WriteByte(sentinel)
			msgs++
			continue
		}
		// A length-prefixed frame. No type of this kind carries data in
		// either draft: read it and discard it, except that in draft-76
		// type 0xFF with length 0 starts the closing handshake.
		n, err := readFrameLength(ws.br)
		if err != nil {
			return msgs, err
		}
		if ws.draft == 76 && typ == 0xFF && n == 0 {
			ws.c.SetWriteDeadline(time.Now().Add(writeTimeout))
			ws.bw.Write(closingFrame)
			return msgs, ws.bw.Flush()
		}
		if _, err := io.CopyN(io.Discard, ws.br, n); err == io.EOF {
			return msgs, io.ErrUnexpectedEOF
		} else if err != nil {
			return msgs, err
		}
	}
}

// readSentinelFrame appends the bytes up to the next 0xFF to buf, and
// returns them without the 0xFF; at most maxFrame bytes.
func readSentinelFrame(br *bufio.Reader, buf []byte) ([]byte, error) {
	for {
		chunk, err := br.ReadSlice(sentinel)
		if len(buf)+len(chunk) > maxFrame+1 {
			return nil, errFrameTooLong
		}
		buf = append(buf, chunk...)
		switch {
		case err == nil:
			return buf[:len(buf)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
		case err == io.EOF:
			return nil, io.ErrUnexpectedEOF
		default:
			return nil, err
		}
	}
}

// readFrameLength reads the length of a length-prefixed frame: 7 bits per
// byte, most significant first, while the high bit says more follow.
func readFrameLength(br *bufio.Reader) (int64, error) {
	var n int64
	for {
		b, err := br.ReadByte()
		if err == io.EOF {
			return 0, io.ErrUnexpectedEOF
		}
		if err != nil {
			return 0, err
		}
		n = n<<7 | int64(b&^lengthBit)
		if n > maxFrame {
			return 0, errFrameTooLong
		}
		if b&lengthBit == 0 {
			return n, nil
		}
	}
}
