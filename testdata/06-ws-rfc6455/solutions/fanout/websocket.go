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
// whose queue fills is closed with 1008, and nobody else notices. One
// message at a time: a message's frames go out before the next one's.

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

// broadcast puts a frame of ws's message in the queue of every member,
// ws too. The message's first frame takes the floor and its last gives
// it back. A message still coming from the network holds the floor in
// between, for floorTimeout at most (setReadDeadline), so the room waits
// for a slow sender, never for a slow reader.
func (ws *websocket) broadcast(frame []byte, last bool) error {
	// The one wait: the sender's for its own queue, half empty. The server
	// reads a 64 KiB chunk in microseconds, so without it a member's own
	// long message would fill its own queue and drop it; with it, nobody
	// sends faster than they read, as with the plain echo. It ends when
	// the writer takes a frame, or skips one (dropped, closed, failed),
	// which it does within its write deadline. In the middle of a message
	// the whole room waits with the sender: then only until floorBy, and
	// a sender that has not read its own echoes by then is dropped.
	for len(ws.queue) >= queueLen/2 {
		if !ws.awaitTaken() {
			ws.drop()
			return &closeError{closePolicy, tooSlow}
		}
	}
	// frame is in the sender's pooled chunk; the members share one copy.
	f := bytes.Clone(frame)
	if ws.floorBy.IsZero() {
		room.floor.Lock() // another member's message ends first
	}
	toAll(f, nil)
	switch {
	case last:
		ws.giveFloor()
	case ws.floorBy.IsZero(): // the rest is still to come
		ws.floorBy = time.Now().Add(floorTimeout)
		ws.setReadDeadline(ws.readBy) // now no later than floorBy
	}
	return nil
}

// awaitTaken waits until the writer takes a frame from ws's queue, and
// while ws holds the floor, only until floorBy: false if it came first.
func (ws *websocket) awaitTaken() bool {
	if ws.floorBy.IsZero() {
		<-ws.taken
		return true
	}
	t := time.NewTimer(time.Until(ws.floorBy))
	defer t.Stop()
	select {
	case <-ws.taken:
		return true
	case <-t.C:
		return false
	}
}

// toAll puts a frame in the queue of every member but skip (nil: none),
// and never waits for one: a member whose queue is full is dropped
// instead. Holding the room's lock puts the frames in the same order in
// every queue.
func toAll(f []byte, skip *websocket) {
	room.Lock()
	defer room.Unlock()
	for m := range room.members {
		if m == skip || m.dropBy.Load() != 0 {
			continue // on its way out
		}
		select {
		case m.queue <- f:
		default:
			m.drop()
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
		toAll(endFrame, ws) // the queues may share it: nobody writes to it
		ws.giveFloor()
	}
}

// drop closes a member that cannot keep up, with 1008 and tooSlow. It
// runs where nothing may wait (in toAll, or the writer), so, like
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

// join starts ws's writer and makes ws a member of the room, between two
// messages: one that came in during a message would get its end without
// its start. leave undoes both, and returns once the writer has stopped.
func (ws *websocket) join() {
	ws.queue, ws.taken = make(chan []byte, queueLen), make(chan struct{}, 1)
	ws.closeDone = make(chan struct{})
	ws.left, ws.done = make(chan struct{}), make(chan struct{})
	go ws.writer()
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
			return ws.end(err)
		}
		if h.opcode.isControl() {
			done, err := ws.control(h)
			if err != nil {
				return ws.end(err)
			}
			if done { // we answered the peer's close: the end
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
// floor back: fail's closing handshake may wait seconds for the peer,
// and an error that is not a closeError sends no close frame.
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
		case !errors.Is(err, os.ErrDeadlineExceeded) || ws.goingAway.Load() || ws.dropBy.Load() != 0 || ws.overFloor():
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
// holds the floor, unless goAway or drop has asked for one in the past:
// they may run between any two lines of this goroutine, and a later
// deadline must not undo theirs.
func (ws *websocket) setReadDeadline(t time.Time) error {
	if !ws.floorBy.IsZero() && t.After(ws.floorBy) {
		t = ws.floorBy
	}
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
// with 1001, drop's and floorBy's a close with 1008; anything else stays
// what it was.
func (ws *websocket) readErr(err error) error {
	switch {
	case !errors.Is(err, os.ErrDeadlineExceeded):
	case ws.goingAway.Load():
		return &closeError{closeGoingAway, "the server is shutting down"}
	case ws.dropBy.Load() != 0:
		return &closeError{closePolicy, tooSlow}
	case ws.overFloor():
		return &closeError{closePolicy, fmt.Sprintf("a message held the room up for more than %v", floorTimeout)}
	}
	return err
}

// overFloor reports whether ws has held the floor past floorBy.
func (ws *websocket) overFloor() bool {
	return !ws.floorBy.IsZero() && !time.Now().Before(ws.floorBy)
}

// writeFrame sends serve's control frames (writeControl): a copy goes in
// the queue behind the room's frames, and a close frame is waited for,
// as fail and the closing handshake need it out before they go on. The
// room waits for none of it: a close frame, ws's last, gives the floor
// back first, and a ping or pong that finds the queue full while ws
// holds the floor drops ws.
func (ws *websocket) writeFrame(frame []byte) error {
	op := opcode(frame[0] & opBits)
	if op == opClose {
		ws.yieldFloor()
	}
	f := bytes.Clone(frame)
	if ws.floorBy.IsZero() {
		ws.queue <- f // a full queue: wait for our own peer, or for drop's deadline
	} else {
		select {
		case ws.queue <- f:
		default:
			ws.drop()
			return &closeError{closePolicy, tooSlow}
		}
	}
	if op != opClose {
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
