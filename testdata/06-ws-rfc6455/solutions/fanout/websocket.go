package main

// This file is the lesson's idea. After the opening handshake
// (handshake.go), the TCP connection carries frames (frame.go), and the
// echo is a loop: read a frame's header, check it against the rules of
// RFC 6455 section 5, then echo a data frame's payload (message.go) or
// answer a control frame (control.go), until one side closes.
//
// Exercise fanout: /ws is a chat room that does not wait for a slow
// reader. Every message goes to every member, the sender too, through a
// queue of its own that a writer goroutine of its own empties; a member
// whose queue fills is closed with 1008, and nobody else notices.

import (
	"bufio"
	"bytes"
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

	// queueLen bounds a member's queue, in frames of at most chunkSize
	// bytes. A member that keeps up takes each frame as it comes, and the
	// kernel's send buffer (about 4 MiB on Linux) absorbs a pause in front
	// of the queue; 16 frames absorb a burst from many senders at once. A
	// member further behind than both is closed: the room would otherwise
	// keep every message it has not read.
	queueLen = 16

	// tooSlow is the reason in the close frame of a member that fell
	// behind. The code is 1008, policy violation (section 7.4.1): keeping
	// up is the room's policy. Not 1013, try again later (IANA's registry:
	// "it is overloaded and is casting off some of its clients"): the
	// server is not overloaded, and a client told to come back would fall
	// behind again.
	tooSlow = "too slow: the room does not wait"
)

// websocket is one upgraded connection, and a member of the room. Its
// writer goroutine is the only one that writes to it, so the frames it
// sends (the room's messages, the pongs, pings and close frame of serve)
// can never interleave their bytes: one writer at a time, without a
// lock. Ctrl-C reaches the connection's goroutine through goAway, a full
// queue through drop.
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
	readBy, writeBy time.Time // writeBy: the writer's

	// Exercise fanout. Every frame to this member waits in queue, in the
	// order sent, for the writer, which tells taken each time it takes
	// one. It closes closeDone once the close frame is written (closeErr
	// says whether it went out), and done once it stops, after left closes.
	queue      chan []byte
	taken      chan struct{}
	closeDone  chan struct{}
	closeErr   error
	left, done chan struct{}
	dropBy     atomic.Int64 // set by drop: the deadline (UnixNano) of the last writes
}

// room is the chat room: every upgraded connection, while it serves.
var room = struct {
	sync.Mutex
	members map[*websocket]struct{}
}{members: make(map[*websocket]struct{})}

// broadcast puts a data frame from ws in the queue of every member, ws
// too, and never waits for another: a member whose queue is full is
// dropped instead. Holding the room's lock puts the frames in the same
// order in every queue. (A message of more than one chunk can still be
// cut by another sender's: fine for a small chat.)
func (ws *websocket) broadcast(frame []byte) {
	// The one wait: the sender's for its own queue, half empty. The server
	// reads a 64 KiB chunk in microseconds, so without it a member's own
	// long message would fill its own queue and drop it; with it, nobody
	// sends faster than they read, as with the plain echo. It ends when
	// the writer takes a frame, or skips one (dropped, closed, failed),
	// which it does within its write deadline.
	for len(ws.queue) >= queueLen/2 {
		<-ws.taken
	}
	// frame is in the sender's pooled chunk; the members share one copy.
	f := bytes.Clone(frame)
	room.Lock()
	defer room.Unlock()
	for m := range room.members {
		if m.dropBy.Load() != 0 {
			continue // on its way out
		}
		select {
		case m.queue <- f:
		default:
			m.drop()
		}
	}
}

// drop closes a member that cannot keep up, with 1008 and tooSlow. It
// runs where nothing may wait (in broadcast, or the writer), so, like
// goAway, it only sets deadlines: one in the past wakes the member's
// goroutine from any read, and readErr turns that into the close. The
// writer skips the data frames still queued. The frame being written
// and then the close frame wait behind megabytes the peer has not read:
// they get frameTimeout in all, as long as one write, so that a peer
// that reads, however slowly, learns why it was closed.
func (ws *websocket) drop() {
	by := time.Now().Add(frameTimeout)
	if !ws.dropBy.CompareAndSwap(0, by.UnixNano()) {
		return // dropped already
	}
	ws.c.SetWriteDeadline(by)
	ws.c.SetReadDeadline(aLongTimeAgo)
}

// join makes ws a member of the room and starts its writer; leave undoes
// both, and returns once the writer has stopped.
func (ws *websocket) join() {
	ws.queue, ws.taken = make(chan []byte, queueLen), make(chan struct{}, 1)
	ws.closeDone = make(chan struct{})
	ws.left, ws.done = make(chan struct{}), make(chan struct{})
	go ws.writer()
	room.Lock()
	room.members[ws] = struct{}{}
	room.Unlock()
}

func (ws *websocket) leave() {
	room.Lock()
	delete(room.members, ws)
	room.Unlock()
	close(ws.left)
	// serve is done with the connection (the server would close it next),
	// and closing it now wakes a writer still waiting for a peer that
	// does not read.
	ws.c.Close()
	<-ws.done
}

// writer writes the member's frames in the order they were queued,
// until the member leaves. Nothing follows a close frame (section
// 5.5.1), nor a failed write, which may have left half a frame; a
// dropped member's data frames are skipped. A write that times out
// shows a member too slow for the room even with room in its queue.
func (ws *websocket) writer() {
	defer close(ws.done)
	var err error
	closed := false
	for {
		var f []byte
		select {
		case f = <-ws.queue:
		case <-ws.left:
			return
		}
		select {
		case ws.taken <- struct{}{}:
		default: // the sender has not looked since the last one
		}
		op := opcode(f[0] & opBits)
		switch {
		case closed || err != nil:
		case ws.dropBy.Load() != 0 && !op.isControl():
		default:
			if err = ws.write(f); errors.Is(err, os.ErrDeadlineExceeded) {
				ws.drop()
			}
		}
		if op == opClose && !closed {
			closed, ws.closeErr = true, err
			close(ws.closeDone)
		}
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
		case !errors.Is(err, os.ErrDeadlineExceeded) || ws.goingAway.Load() || ws.dropBy.Load() != 0:
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

// setReadDeadline sets the read deadline, unless goAway or drop has
// asked for one in the past: they may run between any two lines of this
// goroutine, and a later deadline must not undo theirs.
func (ws *websocket) setReadDeadline(t time.Time) error {
	ws.c.SetReadDeadline(t)
	if ws.goingAway.Load() || ws.dropBy.Load() != 0 {
		ws.c.SetReadDeadline(aLongTimeAgo)
	}
	return nil
}

// setWriteDeadline is the writer's: once drop has set the deadline of
// the last writes, a later one must not undo it.
func (ws *websocket) setWriteDeadline(t time.Time) error {
	ws.c.SetWriteDeadline(t)
	if by := ws.dropBy.Load(); by != 0 {
		ws.c.SetWriteDeadline(time.Unix(0, by))
	}
	return nil
}

// readErr explains a failed read: Ctrl-C's deadline becomes a close
// with 1001, drop's a close with 1008; anything else stays what it was.
func (ws *websocket) readErr(err error) error {
	switch {
	case !errors.Is(err, os.ErrDeadlineExceeded):
	case ws.goingAway.Load():
		return &closeError{closeGoingAway, "the server is shutting down"}
	case ws.dropBy.Load() != 0:
		return &closeError{closePolicy, tooSlow}
	}
	return err
}

// writeFrame sends serve's control frames (writeControl): a copy goes in
// the queue behind the room's frames, and a close frame is waited for,
// as fail and the closing handshake need it out before they go on.
func (ws *websocket) writeFrame(frame []byte) error {
	ws.queue <- bytes.Clone(frame) // a full queue: wait for our own peer, or for drop's deadline
	if opcode(frame[0]&opBits) != opClose {
		return nil
	}
	<-ws.closeDone
	return ws.closeErr
}

// write writes one whole frame, header and payload, in one write. Only
// the writer calls it.
func (ws *websocket) write(frame []byte) error {
	within(&ws.writeBy, frameTimeout, ws.setWriteDeadline)
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
