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
	"sync"
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

	// frameTimeout bounds every write, and every read when pings are off.
	frameTimeout = 30 * time.Second

	// floorTimeout bounds how long a message may hold the room's floor
	// (see room) while the rest of it comes from the network: a member
	// that began a message and stopped, though it still answers pings,
	// would otherwise hold the room up for good. One still in the middle
	// of its message after 5 seconds, a wait people in a room notice but
	// bear, is closed with 1008 (policy violation), and the room ends its
	// message. 5 seconds carry 4 MiB at 7 Mbit/s: a room for larger
	// messages over slower links needs more.
	floorTimeout = 5 * time.Second
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
	// far, and whether the echo has sent its first frame.
	inMessage bool
	op        opcode
	size      int64
	echoing   bool
	text      utf8Stream

	ctl [maxHeader + maxControl]byte // a control frame's header and payload

	// The read and write deadlines last set (see within, in fast.go).
	readBy, writeBy time.Time

	// Exercise chat: other connections' goroutines write to this one too,
	// so every write takes wmu, and nothing is written after a close or a
	// failed write.
	wmu       sync.Mutex
	closeSent bool  // guarded by wmu
	writeErr  error // guarded by wmu: the failed write's error

	// While ws holds the room's floor between two frames of its message:
	// when it must have given it back. Zero otherwise.
	floorBy time.Time
}

// room is the chat room: every upgraded connection, while it serves.
// Its floor belongs to the member whose message the room is sending. A
// message may come in several frames (and is echoed in chunks), and a
// member must never get a frame of one message between two frames of
// another (section 5.4), so the other members' messages wait for the
// floor. Take the floor first, then the lock.
var room = struct {
	floor sync.Mutex
	sync.Mutex
	members map[*websocket]struct{}
}{members: make(map[*websocket]struct{})}

// endFrame ends a message cut short: a final continuation frame, empty.
var endFrame = []byte{finBit | byte(opContinuation), 0}

// join makes ws a member of the room between two messages: one that came
// in during a message would get its end without its start. leave undoes
// it.
func (ws *websocket) join() {
	room.floor.Lock()
	room.Lock()
	room.members[ws] = struct{}{}
	room.Unlock()
	room.floor.Unlock()
}

func (ws *websocket) leave() {
	room.Lock()
	delete(room.members, ws)
	room.Unlock()
}

// broadcast writes a frame of ws's message to every member, ws too. The
// message's first frame takes the floor and its last gives it back. A
// message still coming from the network holds the floor in between, for
// floorTimeout at most (setReadDeadline). Each write waits for its
// member, so a member that reads slowly slows the whole room, and can
// make a long message overrun floorTimeout; one that does not read at
// all, the sender too, holds the room up for a write's frameTimeout,
// once. Fine for a small chat (a queue per member would not wait;
// exercise fanout).
func (ws *websocket) broadcast(frame []byte, last bool) {
	if ws.floorBy.IsZero() {
		room.floor.Lock() // another member's message ends first
	}
	toAll(frame, nil)
	switch {
	case last:
		ws.giveFloor()
	case ws.floorBy.IsZero(): // the rest is still to come
		ws.floorBy = time.Now().Add(floorTimeout)
		ws.setReadDeadline(ws.readBy) // now no later than floorBy
	}
}

// toAll writes a frame to every member but skip (nil: none).
func toAll(frame []byte, skip *websocket) {
	room.Lock()
	defer room.Unlock()
	for m := range room.members {
		if m != skip {
			m.writeFrame(frame) // a member that fails is its own goroutine's business
		}
	}
}

// giveFloor gives the floor back after a message's last frame.
func (ws *websocket) giveFloor() {
	if !ws.floorBy.IsZero() {
		ws.floorBy = time.Time{}
		ws.setReadDeadline(ws.readBy) // the one floorBy may have brought forward
	}
	room.floor.Unlock()
}

// yieldFloor gives the floor back if ws holds it in the middle of a
// message, as it stops: the room ends the message first, since a member
// must not get a new message before the last one's final fragment. ws
// itself gets a close frame, or nothing, next: a close may come in the
// middle of a message (section 5.4).
func (ws *websocket) yieldFloor() {
	if !ws.floorBy.IsZero() {
		toAll(endFrame, ws)
		ws.giveFloor()
	}
}

// serve echoes messages until the connection closes, then says why: nil
// after a clean closing handshake.
func (ws *websocket) serve() error {
	ws.join()
	defer ws.leave()
	for {
		h, err := ws.nextFrame()
		if err != nil {
			return ws.end(err)
		}
		if h.opcode.isControl() {
			done, err := ws.control(h)
			if err != nil {
				return ws.end(err)
			}
			if done { // we answered the peer's close: the end
				ws.yieldFloor()
				ws.awaitClose()
				return nil
			}
			continue
		}
		if err := ws.echo(h); err != nil {
			return ws.end(err)
		}
	}
}

// end fails the connection (fail, control.go) once ws has given the
// floor back: fail's closing handshake may wait seconds for the peer.
func (ws *websocket) end(err error) error {
	ws.yieldFloor()
	return ws.fail(err)
}

// nextFrame waits for the next frame (pinging a quiet peer), reads its
// header and checks it against the rules of section 5. A frame that
// breaks one fails the connection with 1002 (protocol error), or 1009
// (too big) for a message over the limit.
func (ws *websocket) nextFrame() (frameHeader, error) {
	if err := ws.waitForFrame(); err != nil {
		return frameHeader{}, err
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
	quietSince := time.Now()
	within(&ws.readBy, ws.readWait(), ws.setReadDeadline)
	pinged := false
	for {
		_, err := ws.br.Peek(1)
		switch {
		case err == nil:
			return nil
		case !errors.Is(err, os.ErrDeadlineExceeded) || ws.goingAway.Load() || ws.overFloor():
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

// setReadDeadline sets the read deadline, no later than floorBy while ws
// holds the floor, unless goAway has asked for one in the past: goAway
// may run between any two lines of this goroutine, and a later deadline
// must not undo it.
func (ws *websocket) setReadDeadline(t time.Time) error {
	if !ws.floorBy.IsZero() && t.After(ws.floorBy) {
		t = ws.floorBy
	}
	ws.c.SetReadDeadline(t)
	if ws.goingAway.Load() {
		ws.c.SetReadDeadline(aLongTimeAgo)
	}
	return nil
}

// readErr explains a failed read: Ctrl-C's deadline becomes a close
// with 1001, floorBy's a close with 1008; anything else stays what it was.
func (ws *websocket) readErr(err error) error {
	switch {
	case !errors.Is(err, os.ErrDeadlineExceeded):
	case ws.goingAway.Load():
		return &closeError{closeGoingAway, "the server is shutting down"}
	case ws.overFloor():
		return &closeError{closePolicy, fmt.Sprintf("a message held the room up for more than %v", floorTimeout)}
	}
	return err
}

// overFloor reports whether ws has held the floor past floorBy.
func (ws *websocket) overFloor() bool {
	return !ws.floorBy.IsZero() && !time.Now().Before(ws.floorBy)
}

// writeFrame writes one whole frame, header and payload, in one write.
// Exercise chat: nothing follows a close frame, nor a failed write, which
// may have left half a frame; later calls get the failure, so ws's own
// goroutine learns of it at its next pong or ping.
func (ws *websocket) writeFrame(frame []byte) error {
	ws.wmu.Lock()
	defer ws.wmu.Unlock()
	if ws.closeSent || ws.writeErr != nil {
		return ws.writeErr
	}
	ws.closeSent = opcode(frame[0]&opBits) == opClose
	within(&ws.writeBy, frameTimeout, ws.c.SetWriteDeadline)
	if ws.trace {
		h, _ := parseHeader(frame)
		ws.logf("-> %s", describeFrame(h, frame[headerLen(int(h.length)):]))
	}
	_, ws.writeErr = ws.c.Write(frame)
	return ws.writeErr
}

func (ws *websocket) logf(format string, args ...any) {
	log.Printf("#%d "+format, append([]any{ws.id}, args...)...)
}
