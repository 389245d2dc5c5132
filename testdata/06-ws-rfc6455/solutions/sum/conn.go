package main

// This file is one upgraded connection: the echo loop, control frames,
// the closing handshake and the keep-alive pings (RFC 6455 sections 5-7).

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

const (
	// maxMessage bounds one message, all its fragments together (-max-message
	// changes it). It is checked against each frame header's length before
	// a byte of the payload is read, so a peer that announces 2^63 bytes
	// costs nothing. 16 MiB messages must fit; the limit leaves room for a
	// little more.
	maxMessage = 32 << 20

	// chunkSize is the most payload echoed in one frame. A larger frame
	// is echoed a chunk at a time, each chunk as soon as it is complete:
	// the server never holds a whole large message, and the echo starts
	// before the message ends.
	chunkSize = 64 << 10

	// wsReadBuffer is the read buffer of an upgraded connection: it holds
	// a few small frames, so one read from the kernel serves many of them.
	// A payload larger than the buffer is read past it, straight into the
	// chunk it is echoed from.
	wsReadBuffer = 4 << 10

	// pingInterval is how long a connection may be quiet before the server
	// pings it (-ping changes it); if nothing comes back within another
	// interval, the peer is gone. Proxies often drop connections idle for
	// 60 seconds; a ping every 30 keeps them open.
	pingInterval = 30 * time.Second

	// frameTimeout bounds every write, and every read when pings are off.
	frameTimeout = 30 * time.Second

	// closeTimeout bounds the wait for the peer's answer to our close
	// frame and for its side of TCP to close.
	closeTimeout = 5 * time.Second
)

// chunks holds the buffers frames are echoed through. A connection takes
// one only while it echoes a frame, so an idle connection holds none.
var chunks = sync.Pool{New: func() any { return new([maxHeader + chunkSize]byte) }}

// aLongTimeAgo is a deadline in the past: it makes a blocked read return
// at once.
var aLongTimeAgo = time.Unix(1, 0)

// wsConn is one upgraded connection. Its own goroutine is the only one
// that writes to it, so the frames it sends (echoes, pongs, pings, the
// close frame) can never interleave their bytes: one writer at a time,
// without a lock. Ctrl-C reaches that goroutine through goAway.
type wsConn struct {
	c          net.Conn
	br         *bufio.Reader // what the handshake left unread stays in it
	id         int64         // the connection's number in the log
	ping       time.Duration // ping after this long without a frame; 0: never
	maxMessage int64         // the most bytes one message may have
	trace      bool          // log every frame

	goingAway atomic.Bool // set by goAway, from another goroutine
	messages  int         // messages echoed so far

	// The message being received (section 5.4): its opcode, its size so
	// far, and whether the echo has sent its first frame.
	inMessage bool
	op        byte
	size      int64
	echoing   bool
	text      utf8Stream

	ctl [maxHeader + maxControl]byte // a control frame's header and payload

	// Exercise sum: the subprotocol agreed, and the message being
	// collected when it is sum.v1.
	protocol string
	msg      []byte

	// The read and write deadlines last set. Setting a deadline costs a
	// timer update, as much as echoing a small message, so they move only
	// when less than half of their time is left (see within).
	readBy, writeBy time.Time
}

// goAway asks the connection to close with 1001 (going away): the
// server is shutting down. The deadline in the past wakes its goroutine
// from any read; readErr turns that into the close.
func (ws *wsConn) goAway() {
	ws.goingAway.Store(true)
	ws.c.SetReadDeadline(aLongTimeAgo)
}

// within makes sure *by leaves between d/2 and d from now, calling set
// only when it must move.
func within(by *time.Time, d time.Duration, set func(time.Time) error) {
	if now := time.Now(); by.Sub(now) < d/2 {
		*by = now.Add(d)
		set(*by)
	}
}

// setReadDeadline sets the read deadline, unless goAway has asked for
// one in the past: goAway may run between any two lines of this
// goroutine, and a later deadline must not undo it.
func (ws *wsConn) setReadDeadline(t time.Time) error {
	ws.c.SetReadDeadline(t)
	if ws.goingAway.Load() {
		ws.c.SetReadDeadline(aLongTimeAgo)
	}
	return nil
}

// readWait is how long a read may wait: the ping interval, or frameTimeout
// when pings are off.
func (ws *wsConn) readWait() time.Duration {
	if ws.ping > 0 {
		return ws.ping
	}
	return frameTimeout
}

// readErr explains a failed read: Ctrl-C's deadline becomes a close
// with 1001; anything else stays what it was.
func (ws *wsConn) readErr(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) && ws.goingAway.Load() {
		return &closeError{closeGoingAway, "the server is shutting down"}
	}
	return err
}

// serve echoes messages until the connection closes, then says why: nil
// after a clean closing handshake.
func (ws *wsConn) serve() error {
	for {
		h, err := ws.readHeader()
		if err != nil {
			return ws.fail(err)
		}
		if isControl(h.opcode) {
			done, err := ws.control(h)
			if done && err == nil {
				ws.awaitClose()
			}
			if err != nil || done {
				return ws.fail(err)
			}
			continue
		}
		echo := ws.echo
		if ws.protocol == sumProtocol {
			echo = ws.sum
		}
		if err := echo(h); err != nil {
			return ws.fail(err)
		}
	}
}

// readHeader waits for the next frame, pinging the peer when it has been
// quiet for ws.ping, and checks the header against the rules of section 5.
func (ws *wsConn) readHeader() (header, error) {
	pinged := false
	for {
		within(&ws.readBy, ws.readWait(), ws.setReadDeadline)
		_, err := ws.br.Peek(1)
		if err == nil {
			break
		}
		switch {
		case !errors.Is(err, os.ErrDeadlineExceeded) || ws.goingAway.Load():
			return header{}, ws.readErr(err)
		case ws.ping == 0:
			continue // quiet is fine without pings; the next wait renews the deadline
		case pinged:
			return header{}, fmt.Errorf("no answer to a ping for %v", ws.ping)
		}
		if err := ws.write(opPing, nil); err != nil {
			return header{}, err
		}
		pinged = true
		ws.readBy = time.Now().Add(ws.ping) // a whole interval for the pong
		ws.setReadDeadline(ws.readBy)
	}
	h, err := readHeader(ws.br)
	if err != nil {
		return h, ws.readErr(err)
	}
	switch {
	case h.rsv != 0:
		return h, protocolError("RSV bits %03b set, but no extension was negotiated (section 5.2)", h.rsv>>4)
	case opNames[h.opcode] == "":
		return h, protocolError("%s (section 5.2)", opName(h.opcode))
	case !h.masked:
		return h, protocolError("an unmasked %s frame; a client must mask every frame (section 5.1)", opName(h.opcode))
	case isControl(h.opcode) && h.length > maxControl:
		return h, protocolError("a %s frame of %d bytes; control frames carry at most %d (section 5.5)", opName(h.opcode), h.length, maxControl)
	case isControl(h.opcode) && !h.fin:
		return h, protocolError("a fragmented %s frame; control frames cannot be fragmented (section 5.5)", opName(h.opcode))
	case h.opcode == opContinuation && !ws.inMessage:
		return h, protocolError("a continuation frame with no message to continue (section 5.4)")
	case (h.opcode == opText || h.opcode == opBinary) && ws.inMessage:
		return h, protocolError("a new %s message before the last one's final fragment (section 5.4)", opName(h.opcode))
	case !isControl(h.opcode) && ws.size+h.length > ws.maxMessage:
		if ws.trace {
			ws.logf("<- %s", describeFrame(h, nil))
		}
		return h, &closeError{closeTooBig, fmt.Sprintf("a message of %d bytes or more; the limit is %d", ws.size+h.length, ws.maxMessage)}
	}
	return h, nil
}

// sumProtocol is a tiny JSON protocol on top of WebSocket: each text
// message is a JSON array of numbers, and each answer a text message
// {"sum":N}. A message that is not such an array fails with 1007, a
// binary message with 1003.
const sumProtocol = "sum.v1"

// maxSumMessage bounds a sum.v1 message, which is held whole to parse
// it: plenty for a list of numbers.
const maxSumMessage = 64 << 10

// sum reads a data frame of a sum.v1 connection, and answers when the
// message is complete.
func (ws *wsConn) sum(h header) error {
	if h.opcode != opContinuation {
		ws.inMessage, ws.op, ws.msg = true, h.opcode, ws.msg[:0]
	}
	if ws.op == opBinary {
		return &closeError{closeUnsupportedData, "sum.v1 takes text messages only"}
	}
	if int64(len(ws.msg))+h.length > maxSumMessage {
		return &closeError{closeTooBig, fmt.Sprintf("a sum.v1 message of more than %d bytes", maxSumMessage)}
	}
	start := len(ws.msg)
	ws.msg = append(ws.msg, make([]byte, h.length)...)
	if _, err := io.ReadFull(ws.br, ws.msg[start:]); err != nil {
		return ws.readErr(err)
	}
	maskBytes(h.key, 0, ws.msg[start:])
	if !h.fin {
		return nil
	}
	ws.inMessage = false
	ws.messages++
	var nums []float64
	if err := json.Unmarshal(ws.msg, &nums); err != nil {
		return &closeError{closeInvalidPayload, "not a JSON array of numbers: " + err.Error()}
	}
	var total float64
	for _, n := range nums {
		total += n
	}
	answer, _ := json.Marshal(map[string]float64{"sum": total})
	buf := chunks.Get().(*[maxHeader + chunkSize]byte)
	defer chunks.Put(buf)
	return ws.writeRaw(append(appendHeader(buf[:0], true, opText, len(answer)), answer...))
}

// echo sends a data frame's payload back, a chunk at a time, each chunk
// as a frame of the echoed message. It checks text as each piece of a
// chunk arrives, so invalid UTF-8 fails the connection at once, not at
// the end of the chunk or the message.
func (ws *wsConn) echo(h header) error {
	if h.opcode != opContinuation {
		ws.inMessage, ws.op, ws.size, ws.echoing = true, h.opcode, 0, false
		ws.text = utf8Stream{}
	}
	buf := chunks.Get().(*[maxHeader + chunkSize]byte)
	defer chunks.Put(buf)
	pos, remaining := 0, h.length
	for first := true; first || remaining > 0; first = false {
		n := int(min(remaining, chunkSize))
		p := buf[maxHeader : maxHeader+n]
		for got := 0; got < n; {
			k, err := ws.br.Read(p[got:]) // what has arrived, at most the rest of the chunk
			if k == 0 {
				return ws.readErr(cmp.Or(err, io.ErrNoProgress))
			}
			piece := p[got : got+k]
			pos = maskBytes(h.key, pos, piece)
			got += k
			if ws.op == opText && !ws.text.write(piece) {
				ws.traceIn(first, h, p[:got])
				return &closeError{closeInvalidPayload, "a text message that is not UTF-8 (section 8.1)"}
			}
			if got < n { // more to wait for: keep the deadline ahead
				within(&ws.readBy, ws.readWait(), ws.setReadDeadline)
			}
		}
		ws.traceIn(first, h, p)
		remaining -= int64(n)
		ws.size += int64(n)
		last := h.fin && remaining == 0
		if last && ws.op == opText && !ws.text.complete() {
			return &closeError{closeInvalidPayload, "a text message that ends inside a character (section 8.1)"}
		}
		op := byte(opContinuation)
		if !ws.echoing {
			op, ws.echoing = ws.op, true
		}
		// The header goes in the room before the payload, so the frame
		// leaves in one write without copying the payload.
		start := maxHeader - headerLen(n)
		appendHeader(buf[start:start], last, op, n)
		if err := ws.writeRaw(buf[start : maxHeader+n]); err != nil {
			return err
		}
	}
	if h.fin {
		ws.inMessage, ws.size = false, 0
		ws.messages++
	}
	return nil
}

// traceIn logs a data frame the server read, once its first chunk is in.
func (ws *wsConn) traceIn(first bool, h header, p []byte) {
	if ws.trace && first {
		ws.logf("<- %s", describeFrame(h, p))
	}
}

// control handles a ping, pong or close frame (section 5.5); done says
// the closing handshake is complete.
func (ws *wsConn) control(h header) (done bool, err error) {
	p := ws.ctl[maxHeader : maxHeader+h.length]
	if _, err := io.ReadFull(ws.br, p); err != nil {
		return false, ws.readErr(err)
	}
	maskBytes(h.key, 0, p)
	if ws.trace {
		ws.logf("<- %s", describeFrame(h, p))
	}
	switch h.opcode {
	case opPing: // section 5.5.2: answer with the same payload
		return false, ws.write(opPong, p)
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
	return true, ws.write(opClose, code)
}

// fail ends the connection after err. A closeError is sent to the peer
// as a close frame, and the server waits briefly for the peer's close
// frame before it closes TCP, so the peer reads ours instead of a reset.
func (ws *wsConn) fail(err error) error {
	var ce *closeError
	if !errors.As(err, &ce) {
		return err // nil after a clean close; otherwise the connection is broken
	}
	reason := ce.reason
	if len(reason) > maxControl-2 {
		reason = reason[:maxControl-2] // may cut a character: only the log needs the whole
	}
	payload := binary.BigEndian.AppendUint16(nil, ce.code)
	payload = append(payload, reason...)
	if !utf8.Valid(payload[2:]) {
		payload = payload[:2]
	}
	if werr := ws.write(opClose, payload); werr != nil {
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
func (ws *wsConn) awaitClose() error {
	if tc, ok := ws.c.(interface{ CloseWrite() error }); ok {
		tc.CloseWrite()
	}
	ws.c.SetReadDeadline(time.Now().Add(closeTimeout))
	_, err := io.Copy(io.Discard, ws.br)
	return err
}

// write sends a control frame: ping, pong or close.
func (ws *wsConn) write(op byte, payload []byte) error {
	n := copy(ws.ctl[maxHeader:], payload) // payload may already be there
	start := maxHeader - headerLen(n)
	appendHeader(ws.ctl[start:start], true, op, n)
	return ws.writeRaw(ws.ctl[start : maxHeader+n])
}

// writeRaw writes one whole frame.
func (ws *wsConn) writeRaw(frame []byte) error {
	within(&ws.writeBy, frameTimeout, ws.c.SetWriteDeadline)
	if ws.trace {
		h, _ := readHeader(bufio.NewReader(bytes.NewReader(frame)))
		ws.logf("-> %s", describeFrame(h, frame[headerLen(int(h.length)):]))
	}
	_, err := ws.c.Write(frame)
	return err
}

func (ws *wsConn) logf(format string, args ...any) {
	log.Printf("#%d "+format, append([]any{ws.id}, args...)...)
}
