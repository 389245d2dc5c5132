package main

// This file is the lesson's idea. After the opening handshake
// (handshake.go), the TCP connection carries frames (frame.go), and the
// echo is a loop: read a frame's header, check it against the rules of
// RFC 6455 section 5, then echo a data frame's payload (message.go) or
// answer a control frame (control.go), until one side closes.

import (
	"bufio"
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"sync/atomic"
	"time"
)

const (
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

	// frameTimeout bounds every write. With pings off (-ping 0) it is also
	// how long a frame that has begun may take per piece (see frameWait);
	// a quiet connection may then stay quiet for as long as it likes.
	frameTimeout = 30 * time.Second
)

// websocket is one upgraded connection. Its own goroutine is the only
// one that writes to it, so the frames it sends (echoes, pongs, pings,
// the close frame) can never interleave their bytes: one writer at a
// time, without a lock. Ctrl-C reaches that goroutine through goAway.
type websocket struct {
	c          net.Conn
	br         *bufio.Reader // what the handshake left unread stays in it
	id         int64         // the connection's number in the log
	ping       time.Duration // ping after this long without a frame; 0: never
	maxMessage int64         // the most bytes one message may have
	trace      bool          // log every frame

	goingAway atomic.Bool // set by goAway, from another goroutine
	messages  int         // messages echoed so far

	// The message being received (section 5.4): its opcode, its size so
	// far, and the state of its text's UTF-8 check.
	inMessage bool
	op        opcode
	size      int64
	text      utf8Stream

	ctl [maxHeader + maxControl]byte // a control frame's header and payload

	// The read and write deadlines last set (see within, in fast.go).
	readBy, writeBy time.Time
	// frameBy is the deadline of the piece of a frame being read (see
	// frameWait); zero until the server first waits for the piece.
	frameBy time.Time
}

// serve echoes messages until the connection closes, then says why: nil
// after a clean closing handshake.
func (ws *websocket) serve() error {
	for {
		h, err := ws.nextFrame()
		if err != nil {
			return ws.fail(err)
		}
		if h.opcode.isControl() {
			done, err := ws.control(h)
			if err != nil {
				return ws.fail(err)
			}
			if done { // we answered the peer's close: the end
				ws.awaitClose()
				return nil
			}
			continue
		}
		if err := ws.echo(h); err != nil {
			return ws.fail(err)
		}
	}
}

// nextFrame waits for the next frame (pinging a quiet peer), reads its
// header and checks it against the rules of section 5. A frame that
// breaks one fails the connection with 1002 (protocol error), or 1009
// (too big) for a message over the limit.
func (ws *websocket) nextFrame() (frameHeader, error) {
	if err := ws.waitForFrame(); err != nil {
		return frameHeader{}, err
	}
	if !headerBuffered(ws.br) {
		ws.frameWait()
	}
	h, err := peekHeader(ws.br)
	if err != nil {
		return h, ws.readErr(err)
	}
	switch {
	case h.rsv != 0:
		err = protocolError("RSV bits %03b set, but no extension was negotiated (section 5.2)", h.rsv>>4)
	case !h.opcode.defined():
		err = protocolError("%s (section 5.2)", h.opcode)
	case !h.masked:
		err = protocolError("an unmasked %s frame; a client must mask every frame (section 5.1)", h.opcode)
	case h.opcode.isControl() && h.length > maxControl:
		err = protocolError("a %s frame of %d bytes; control frames carry at most %d (section 5.5)", h.opcode, h.length, maxControl)
	case h.opcode.isControl() && !h.fin:
		err = protocolError("a fragmented %s frame; control frames cannot be fragmented (section 5.5)", h.opcode)
	case !h.opcode.isControl():
		err = ws.checkMessage(h) // message.go: fragments and size
	}
	if err != nil && ws.trace {
		ws.logf("<- %s", describeFrame(h, nil)) // the header that broke the rule
	}
	return h, err
}

// waitForFrame waits until a frame's first byte has arrived. A peer
// quiet for ws.ping gets a ping (section 5.5.2); one that stays quiet for
// another interval is gone.
func (ws *websocket) waitForFrame() error {
	ws.frameBy = time.Time{} // the last frame is over
	quietSince := time.Now()
	within(&ws.readBy, ws.readWait(), ws.setReadDeadline)
	pinged := false
	for {
		_, err := ws.br.Peek(1)
		switch {
		case err == nil:
			return nil
		case !errors.Is(err, os.ErrDeadlineExceeded) || ws.goingAway.Load():
			return ws.readErr(err)
		case ws.ping == 0:
			ws.readBy = time.Now().Add(frameTimeout) // quiet is fine without pings
		case pinged:
			return fmt.Errorf("no answer to a ping for %v", ws.ping)
		case time.Since(quietSince) < ws.ping:
			// within moves the deadline only now and then, so it can
			// come before a whole interval of quiet: wait out the rest.
			ws.readBy = quietSince.Add(ws.ping)
		default:
			if err := ws.writeControl(opPing, nil); err != nil {
				return err
			}
			pinged = true
			ws.readBy = time.Now().Add(ws.ping) // a whole interval for the pong
		}
		ws.setReadDeadline(ws.readBy)
	}
}

// readWait is how long a read may wait: the ping interval, or frameTimeout
// when pings are off.
func (ws *websocket) readWait() time.Duration {
	if ws.ping > 0 {
		return ws.ping
	}
	return frameTimeout
}

// frameWait is called when a read of a frame that has begun is about to
// wait for the network. The piece of the frame being read, its header and
// first chunk of payload (or a control frame's payload), or a later chunk
// (chunkSize), gets a deadline of its own: readWait from the first such
// wait. So a frame whose first byte came just before a quiet period ran
// out still has a whole interval, and a sender that trickles a byte at a
// time holds a chunk for readWait at most: a frame takes readWait per 64
// KiB, at most. Not sooner: a small frame usually arrives whole, and then
// no deadline needs to move (each move costs a timer update; see within).
func (ws *websocket) frameWait() {
	if ws.frameBy.IsZero() {
		ws.frameBy = time.Now().Add(ws.readWait())
		ws.readBy = ws.frameBy
		ws.setReadDeadline(ws.frameBy)
	}
}

// headerBuffered reports whether a whole frame header is in br's buffer.
func headerBuffered(br *bufio.Reader) bool {
	b, _ := br.Peek(br.Buffered()) // no more than is there: never waits
	return len(b) >= 2 && len(b) >= headerSize(b[1])
}

// setReadDeadline sets the read deadline, unless goAway has asked for
// one in the past: goAway may run between any two lines of this
// goroutine, and a later deadline must not undo it.
func (ws *websocket) setReadDeadline(t time.Time) error {
	ws.c.SetReadDeadline(t)
	if ws.goingAway.Load() {
		ws.c.SetReadDeadline(aLongTimeAgo)
	}
	return nil
}

// readErr explains a failed read: Ctrl-C's deadline becomes a close
// with 1001, frameWait's a close with 1008 (policy violation: no code of
// section 7.4.1 says "too slow"); anything else stays what it was.
func (ws *websocket) readErr(err error) error {
	switch {
	case !errors.Is(err, os.ErrDeadlineExceeded):
	case ws.goingAway.Load():
		return &closeError{closeGoingAway, "the server is shutting down"}
	case !ws.frameBy.IsZero():
		return &closeError{closePolicy, fmt.Sprintf("a frame too slow: its header and each %d KiB of its payload must come within %v", chunkSize>>10, ws.readWait())}
	}
	return err
}

// writeFrame writes one whole frame, header and payload, in one write.
func (ws *websocket) writeFrame(frame []byte) error {
	within(&ws.writeBy, frameTimeout, ws.c.SetWriteDeadline)
	if ws.trace {
		h, _ := parseHeader(frame)
		ws.logf("-> %s", describeFrame(h, frame[headerLen(int(h.length)):]))
	}
	_, err := ws.c.Write(frame)
	return err
}

func (ws *websocket) logf(format string, args ...any) {
	log.Printf("#%d "+format, append([]any{ws.id}, args...)...)
}
