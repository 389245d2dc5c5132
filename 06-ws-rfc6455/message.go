package main

// This file is the echo of messages (RFC 6455 section 5.4): a message is
// one frame, or a first frame without FIN and continuation frames up to
// one with FIN. The echo sends each piece back as soon as it has it.

import (
	"cmp"
	"fmt"
	"io"
	"time"
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
)

// checkMessage checks a data frame against the message it belongs to:
// a continuation needs a message to continue, a new message needs the
// last one finished, and all the fragments together must fit in
// maxMessage.
func (ws *websocket) checkMessage(h frameHeader) error {
	switch {
	case h.opcode == opContinuation && !ws.inMessage:
		return protocolError("a continuation frame with no message to continue (section 5.4)")
	case h.opcode != opContinuation && ws.inMessage:
		return protocolError("a new %s message before the last one's final fragment (section 5.4)", h.opcode)
	case h.length > ws.maxMessage-ws.size:
		// Not ws.size+h.length > ws.maxMessage: a length near 2^63 would
		// wrap the sum around to a negative number, and pass. ws.size is
		// never more than ws.maxMessage, so the difference cannot wrap;
		// the total is shown as a uint64, where it fits.
		total := uint64(ws.size) + uint64(h.length)
		return &closeError{closeTooBig, fmt.Sprintf("a message of %d bytes or more; the limit is %d", total, ws.maxMessage)}
	}
	return nil
}

// echo sends a data frame's payload back, a chunk at a time, each chunk
// as a frame of the echoed message. It checks text as each piece of a
// chunk arrives, so invalid UTF-8 fails the connection at once, not at
// the end of the chunk or the message.
func (ws *websocket) echo(h frameHeader) error {
	if h.opcode != opContinuation {
		ws.inMessage, ws.op, ws.size = true, h.opcode, 0
		ws.text = utf8Stream{}
	}
	buf := getChunk() // fast.go: room for a header, then chunkSize bytes
	defer putChunk(buf)
	pos, remaining := 0, h.length
	for first := true; first || remaining > 0; first = false {
		n := int(min(remaining, chunkSize))
		p := buf[maxHeader : maxHeader+n]
		for got := 0; got < n; {
			if ws.br.Buffered() == 0 {
				ws.frameWait() // the read will wait: the chunk gets its time
			}
			k, err := ws.br.Read(p[got:]) // what has arrived, at most the rest of the chunk
			if k == 0 {
				return ws.readErr(cmp.Or(err, io.ErrNoProgress))
			}
			piece := p[got : got+k]
			pos = maskFast(h.key, pos, piece)
			got += k
			if ws.op == opText && !ws.text.write(piece) {
				ws.traceIn(first, h, p[:got])
				return &closeError{closeInvalidPayload, "a text message that is not UTF-8 (section 8.1)"}
			}
		}
		ws.traceIn(first, h, p)
		remaining -= int64(n)
		ws.size += int64(n)
		last := h.fin && remaining == 0
		if last && ws.op == opText && !ws.text.complete() {
			return &closeError{closeInvalidPayload, "a text message that ends inside a character (section 8.1)"}
		}
		// Every frame is echoed in one chunk or more, so the echo's first
		// frame is the first chunk of the message's first frame: it names
		// the opcode, and the rest are continuations.
		op := opContinuation
		if first && h.opcode != opContinuation {
			op = h.opcode
		}
		// The header goes in the room before the payload, so the frame
		// leaves in one write without copying the payload.
		start := maxHeader - headerLen(n)
		appendHeader(buf[start:start], last, op, n)
		if err := ws.writeFrame(buf[start : maxHeader+n]); err != nil {
			return err
		}
		ws.frameBy = time.Time{} // the next chunk gets a deadline of its own
	}
	if h.fin {
		ws.inMessage, ws.size = false, 0
		ws.messages++
	}
	return nil
}

// traceIn logs a data frame the server read, once its first chunk is in.
func (ws *websocket) traceIn(first bool, h frameHeader, p []byte) {
	if ws.trace && first {
		ws.logf("<- %s", describeFrame(h, p))
	}
}
