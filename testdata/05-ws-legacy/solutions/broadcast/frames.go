package main

// This file is the WebSocket of 2010 once the handshake is done: frames
// instead of requests. A text frame is 0x00, UTF-8 text, 0xFF (§4.2, and
// draft-75 §3.2). Draft-76 adds a closing handshake, 0xFF 0x00.
//
// Every text message goes to every open WebSocket, the sender's
// included: a chat room. Each connection has one reading goroutine (the
// handler) and one writing goroutine fed by a queue: a message sent to
// many clients never waits for the slowest of them, and frames from
// different senders never interleave on one connection, since only its
// writer writes.

import (
	"bufio"
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

// maxFrame bounds one frame, text or length-prefixed. A sentinel frame
// announces no length: the server only learns its size by reading to the
// 0xFF, so without a limit a client that never sends one would grow the
// server's memory forever. 64 KiB is far more than a chat line, and the
// same order as the limits browsers of 2010 used.
const maxFrame = 64 << 10

// sendQueue is how many messages may wait for one client's writer. A
// client that reads as fast as the others never has more than a few
// waiting; one that has sendQueue waiting has fallen behind for good, and
// is disconnected (see broadcast). With frames of at most maxFrame bytes,
// a full queue holds 32 × 64 KiB = 2 MiB at worst, and the frames are
// shared with every other client's queue.
const sendQueue = 32

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

	dropped  atomic.Bool   // the hub disconnected it: its queue was full
	written  chan struct{} // closed when the writer has returned
	writeErr error         // why the writer stopped early; read after written
}

// hub is the set of open WebSockets, each with its queue of frames to
// write. The reading goroutines of all connections broadcast through it.
type hub struct {
	mu      sync.Mutex
	clients map[*wsConn]chan []byte // guarded by mu; a queue is closed only under mu
}

// room is the server's one chat room: every WebSocket joins it.
var room = &hub{clients: make(map[*wsConn]chan []byte)}

// join adds ws and returns its queue.
func (h *hub) join(ws *wsConn) <-chan []byte {
	q := make(chan []byte, sendQueue)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.clients[ws] = q
	return q
}

// leave removes ws, if the hub has not dropped it already, and closes its
// queue: its writer writes what is left in it, then returns.
func (h *hub) leave(ws *wsConn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if q, ok := h.clients[ws]; ok {
		delete(h.clients, ws)
		close(q)
	}
}

// broadcast queues a frame for every client, without waiting for any.
// The frame is shared by all the queues, so nobody may change it.
//
// A client whose queue is full is disconnected, not skipped and not
// waited for. Waiting would let one client that stops reading stall
// every sender. Skipping would lose messages in silence: the drafts have
// no way to tell a client that it missed some, and a chat with holes is
// worse than one that says "disconnected" and lets the page reconnect.
func (h *hub) broadcast(frame []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ws, q := range h.clients {
		select {
		case q <- frame:
		default:
			delete(h.clients, ws)
			close(q)
			ws.dropped.Store(true)
			ws.c.Close() // wakes its reader and its writer, wherever they wait
		}
	}
}

// errFrameTooLong says a frame passed maxFrame.
var errFrameTooLong = fmt.Errorf("a frame grew past %d bytes", maxFrame)

// serve joins the room, sends the handshake's answer, and broadcasts
// every text frame until the client closes or is dropped, then logs how
// the WebSocket ended and closes the connection as lesson 04 closes one.
// It returns an error, for serveConn to log, when the connection broke or
// shutdown closed it.
func (ws *wsConn) serve() error {
	// Join before the answer goes out: a client that has read its 101
	// gets every message sent after it.
	queue := room.join(ws)
	if err := ws.bw.Flush(); err != nil {
		room.leave(ws)
		return fmt.Errorf("WebSocket handshake: %w", err)
	}
	// From here on only the writer writes, and past bw: bw stays empty,
	// so the flusher under br never touches it from this goroutine.
	ws.written = make(chan struct{})
	go ws.writeFrames(queue)
	msgs, err := ws.receive()
	room.leave(ws)
	<-ws.written
	if err == nil && ws.writeErr == nil && !ws.dropped.Load() {
		// The closing handshake goes out after the queued messages.
		ws.c.SetWriteDeadline(time.Now().Add(writeTimeout))
		_, err = ws.w.Write(closingFrame)
	}
	switch {
	case ws.dropped.Load():
		log.Printf("#%d WebSocket dropped after %d messages: it fell %d messages behind", ws.id, msgs, sendQueue)
	case ws.writeErr != nil:
		return fmt.Errorf("WebSocket after %d messages: %w", msgs, ws.writeErr)
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
		return err // serveConn logs that shutdown closed the connection
	case errors.Is(err, errFrameTooLong), errors.As(err, new(*frameError)):
		log.Printf("#%d WebSocket failed after %d messages: %v", ws.id, msgs, err)
	default:
		return fmt.Errorf("WebSocket after %d messages: %w", msgs, err)
	}
	return ws.closeGently()
}

// frameError is a frame the server will not accept.
type frameError struct{ reason string }

func (e *frameError) Error() string { return e.reason }

// writeFrames writes the frames of queue to the client until the queue
// is closed. It is the connection's only writer. Frames that are queued
// together go out in one write: bw is flushed when the queue is empty.
func (ws *wsConn) writeFrames(queue <-chan []byte) {
	defer close(ws.written)
	bw := bufio.NewWriter(ws.w)
	for frame := range queue {
		ws.c.SetWriteDeadline(time.Now().Add(writeTimeout))
		bw.Write(frame) // an error sticks in bw, and Flush returns it
		if len(queue) > 0 {
			continue
		}
		if err := bw.Flush(); err != nil {
			// The client is gone or stopped reading for writeTimeout.
			// Closing wakes the reader; the hub's sends never block, so
			// the queue need not be drained.
			ws.writeErr = err
			ws.c.Close()
			return
		}
	}
	if err := bw.Flush(); err != nil {
		ws.writeErr = err
	}
}

// receive reads frames and broadcasts the text ones (§5.3; draft-75
// §4.3). It returns how many messages it received, and nil after a
// closing handshake.
func (ws *wsConn) receive() (int, error) {
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
			// A new slice: ws.msg is reused by the next read, and the
			// frame is shared by every queue.
			frame := make([]byte, 0, len(text)+2)
			frame = append(append(append(frame, textFrame), text...), sentinel)
			room.broadcast(frame)
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
			return msgs, nil // serve answers, after the queued messages
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
