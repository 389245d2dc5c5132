package main

// This file is the WebSocket of 2010 once the handshake is done: frames
// instead of requests. A text frame is 0x00, UTF-8 text, 0xFF (§4.2, and
// draft-75 §3.2); the server sends every one back. Draft-76 adds a
// closing handshake, 0xFF 0x00.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"time"
	"unicode/utf8"
)

// maxFrame bounds one frame, text or length-prefixed. A sentinel frame
// announces no length: the server only learns its size by reading to the
// 0xFF, so without a limit a client that never sends one would grow the
// server's memory forever. 64 KiB is far more than a chat line, and the
// same order as the limits browsers of 2010 used.
const maxFrame = 64 << 10

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

// errFrameTooLong says a frame passed maxFrame.
var errFrameTooLong = fmt.Errorf("a frame grew past %d bytes", maxFrame)

// serve sends the handshake's answer, then echoes every text frame until
// the WebSocket ends, logs how it ended and closes the connection as
// lesson 04 closes one. It returns an error, for serveConn to log, when
// the connection broke or shutdown closed it. Frames that arrive together
// are answered together: the echoes wait in the write buffer until the
// server has to wait for more bytes.
func (ws *wsConn) serve() error {
	if err := ws.bw.Flush(); err != nil {
		return fmt.Errorf("WebSocket handshake: %w", err)
	}
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

// maxLengthBytes bounds the bytes of one frame length. Three bytes of 7
// bits hold any length up to 2^21-1, room for every frame up to
// maxFrame; a length that is still going on after them cannot fit, even
// when its bytes are 0x80 (a digit 0, more to come), which would keep
// the length at 0 forever.
const maxLengthBytes = 3

// errLengthTooLong says a frame length went on past maxLengthBytes.
var errLengthTooLong = &frameError{fmt.Sprintf("a frame length went on past %d bytes, more than any frame up to %d bytes needs", maxLengthBytes, maxFrame)}

// readFrameLength reads the length of a length-prefixed frame: 7 bits per
// byte, most significant first, while the high bit says more follow. A
// length that cannot fit maxFrame is refused at the byte that shows it.
func readFrameLength(br *bufio.Reader) (int64, error) {
	var n int64
	for i := 1; ; i++ {
		b, err := br.ReadByte()
		if err == io.EOF {
			return 0, io.ErrUnexpectedEOF
		}
		if err != nil {
			return 0, err
		}
		n = n<<7 | int64(b&^lengthBit)
		if b&lengthBit == 0 {
			if n > maxFrame {
				return 0, errFrameTooLong
			}
			return n, nil
		}
		switch {
		case i == maxLengthBytes:
			return 0, errLengthTooLong
		case n<<7 > maxFrame: // the next byte makes it at least n<<7
			return 0, errFrameTooLong
		}
	}
}
