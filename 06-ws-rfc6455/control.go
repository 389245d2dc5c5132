package main

// This file is the control frames of RFC 6455 section 5.5 (ping, pong,
// close) and the closing handshake of section 7: who sends close, who
// answers, and who closes TCP first.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode/utf8"
)

// closeTimeout bounds the wait for the peer's answer to our close frame
// and for its side of TCP to close.
const closeTimeout = 5 * time.Second

// Close codes (section 7.4.1): the first two bytes of a close frame's
// payload, big-endian. 1005 and 1006 are for reporting only and never
// appear on the wire.
const (
	closeNormal          = 1000 // done
	closeGoingAway       = 1001 // server shutting down, page closed
	closeProtocolError   = 1002 // a frame broke the rules of section 5
	closeUnsupportedData = 1003 // a kind of message the endpoint cannot take
	closeNoStatus        = 1005 // a close frame without a code
	closeInvalidPayload  = 1007 // a text message that is not UTF-8
	closePolicy          = 1008 // e.g. an Origin the server refuses
	closeTooBig          = 1009 // a message over the size limit
	closeInternalError   = 1011 // the server failed
)

// validCloseCode reports whether a peer may send code (section 7.4):
// 1000-1003 and 1007-1014 are defined (1012-1014 registered with IANA
// since the RFC), 3000-3999 are for libraries and frameworks, 4000-4999
// for applications. 0-999, 1004-1006, 1015 and the unassigned rest are not.
func validCloseCode(code uint16) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}

// closeError fails the connection: the close code to send and why.
type closeError struct {
	code   uint16
	reason string
}

func (e *closeError) Error() string { return fmt.Sprintf("%d: %s", e.code, e.reason) }

func protocolError(format string, args ...any) *closeError {
	return &closeError{closeProtocolError, fmt.Sprintf(format, args...)}
}

// control handles a ping, pong or close frame (section 5.5); done says
// the closing handshake is complete.
func (ws *websocket) control(h frameHeader) (done bool, err error) {
	p := ws.ctl[maxHeader : maxHeader+h.length]
	if ws.br.Buffered() < len(p) {
		ws.frameWait()
	}
	if _, err := io.ReadFull(ws.br, p); err != nil {
		return false, ws.readErr(err)
	}
	mask(h.key, 0, p)
	if ws.trace {
		ws.logf("<- %s", describeFrame(h, p))
	}
	switch h.opcode {
	case opPing: // section 5.5.2: answer with the same payload
		return false, ws.writeControl(opPong, p)
	case opPong: // section 5.5.3: unsolicited pongs are fine; any frame shows the peer is alive
		return false, nil
	}
	// Section 5.5.1: a close frame carries nothing, or a code and a UTF-8
	// reason. Echo the code, then close TCP: the server closes first.
	switch {
	case len(p) == 1:
		return false, protocolError("a close frame with a 1-byte payload; a code takes 2 (section 5.5.1)")
	case len(p) >= 2 && !validCloseCode(binary.BigEndian.Uint16(p)):
		return false, protocolError("close code %d is not one a peer may send (section 7.4)", binary.BigEndian.Uint16(p))
	case len(p) > 2 && !utf8.Valid(p[2:]):
		return false, &closeError{closeInvalidPayload, "a close reason that is not UTF-8 (section 5.5.1)"}
	}
	ws.logf("closing handshake: the client sent %s", describeClose(p))
	code := p[:min(len(p), 2)]
	return true, ws.writeControl(opClose, code)
}

// writeControl sends a control frame: ping, pong or close. The payload
// may already be where it goes, in ws.ctl.
func (ws *websocket) writeControl(op opcode, payload []byte) error {
	n := copy(ws.ctl[maxHeader:], payload)
	start := maxHeader - headerLen(n)
	appendHeader(ws.ctl[start:start], true, op, n)
	return ws.writeFrame(ws.ctl[start : maxHeader+n])
}

// fail ends the connection after err. A closeError is sent to the peer
// as a close frame, and the server waits briefly for the peer's close
// frame before it closes TCP, so the peer reads ours instead of a reset.
func (ws *websocket) fail(err error) error {
	var ce *closeError
	if !errors.As(err, &ce) {
		return err // nil after a clean close; otherwise the connection is broken
	}
	// A close frame carries at most 125 bytes (section 5.5), and its reason
	// must be UTF-8 (section 5.5.1): a longer reason loses characters from
	// its end, whole ones. The log keeps all of it.
	reason := ce.reason
	for len(reason) > maxControl-2 {
		_, size := utf8.DecodeLastRuneInString(reason)
		reason = reason[:len(reason)-size]
	}
	payload := binary.BigEndian.AppendUint16(nil, ce.code)
	payload = append(payload, reason...)
	if werr := ws.writeControl(opClose, payload); werr != nil {
		// Not a closeError any more: the close frame did not go out.
		return fmt.Errorf("failing with %v: %w", err, werr)
	}
	if aerr := ws.awaitClose(); aerr != nil {
		return fmt.Errorf("%w; then, waiting for the peer to close: %w", err, aerr)
	}
	return err
}

// awaitClose ends our side of the stream after our close frame (a FIN),
// then reads and discards whatever the peer still sends until it closes
// too or closeTimeout passes. Closing at once with unread bytes would make
// the kernel send a reset, and a reset can destroy our close frame before
// the peer reads it. Whatever the peer sent after its close frame is
// ignored here too (section 5.5.1). It returns nil once the peer has
// closed; an error if it did not in time, or if shutdown closed the
// connection first (net.ErrClosed).
func (ws *websocket) awaitClose() error {
	if tc, ok := ws.c.(interface{ CloseWrite() error }); ok {
		tc.CloseWrite()
	}
	ws.c.SetReadDeadline(time.Now().Add(closeTimeout))
	_, err := io.Copy(io.Discard, ws.br)
	return err
}

// aLongTimeAgo is a deadline in the past: it makes a blocked read return
// at once.
var aLongTimeAgo = time.Unix(1, 0)

// goAway asks the connection to close with 1001 (going away): the
// server is shutting down. It runs on another goroutine, so it only sets
// a flag and a deadline in the past, which wakes the connection's own
// goroutine from any read; readErr turns that into the close.
func (ws *websocket) goAway() {
	ws.goingAway.Store(true)
	ws.c.SetReadDeadline(aLongTimeAgo)
}

// describeClose shows a close frame's payload: "1000 (no reason)".
func describeClose(p []byte) string {
	if len(p) < 2 {
		return "no code"
	}
	code := binary.BigEndian.Uint16(p)
	if len(p) == 2 {
		return fmt.Sprintf("%d (no reason)", code)
	}
	return fmt.Sprintf("%d %s", code, quote(string(p[2:])))
}
