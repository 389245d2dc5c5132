package main

// This file is the frame of RFC 6455 section 5.2, and the masking of
// section 5.3: how a WebSocket cuts the TCP byte stream into pieces that
// each say how long they are.

import (
	"encoding/binary"
	"fmt"
	"io"
	"strings"
)

// A frame (section 5.2), here with the longest header: a 64-bit length
// and a masking key. The first two bytes say how much header follows:
// 0, 2 or 8 bytes of length (payload len 0-125, 126 or 127), then 4 of
// masking key if M is set, then the payload. Bits are numbered from the
// most significant bit of the first byte.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-------+-+-------------+-------------------------------+
//	|F|R|R|R| opcode|M| payload len |   extended payload length:    |
//	|I|S|S|S|  (4)  |A|     (7)     |   16 bits if payload len is   |
//	|N|V|V|V|       |S|             |   126, 64 bits if it is 127   |
//	| |1|2|3|       |K|             |                               |
//	+-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
//	:  extended payload length, continued (64-bit form)             :
//	+ - - - - - - - - - - - - - - - +-------------------------------+
//	:  ... to bit 79                |  masking key, if M is 1 ...   |
//	+-------------------------------+-------------------------------+
//	|  ... masking key              |  payload ...                  :
//	+-------------------------------+ - - - - - - - - - - - - - - - +
const (
	finBit  = 0x80 // byte 0: the last frame of a message
	rsvBits = 0x70 // byte 0: reserved for extensions; 0 without one
	opBits  = 0x0f // byte 0: the opcode
	maskBit = 0x80 // byte 1: the payload is masked (every client frame)
	lenBits = 0x7f // byte 1: the length, or 126/127 for a longer form

	// maxHeader is the longest frame header: 2 bytes, 8 of length, 4 of key.
	maxHeader = 14
	// maxControl is the most payload a control frame may carry (section 5.5).
	maxControl = 125
)

// opcode says what a frame carries (section 5.2).
type opcode byte

// The opcodes of section 5.2 (registered in section 11.8). 0x3-0x7 and
// 0xB-0xF are reserved: a frame with one of them fails the connection.
const (
	opContinuation opcode = 0x0 // the next fragment of a message
	opText         opcode = 0x1 // a text message: UTF-8
	opBinary       opcode = 0x2 // a binary message: any bytes
	opClose        opcode = 0x8 // the closing handshake (section 5.5.1)
	opPing         opcode = 0x9 // are you there? (section 5.5.2)
	opPong         opcode = 0xA // yes (section 5.5.3)
)

var opNames = [16]string{0: "continuation", 1: "text", 2: "binary", 8: "close", 9: "ping", 10: "pong"}

// defined reports whether op is one of the six opcodes the RFC defines.
func (op opcode) defined() bool { return opNames[op&opBits] != "" }

func (op opcode) String() string {
	if op.defined() {
		return opNames[op&opBits]
	}
	return fmt.Sprintf("reserved opcode 0x%x", byte(op))
}

// isControl reports whether op is a control frame (section 5.5): close,
// ping, pong and the reserved 0xB-0xF. Data frames are 0x0-0x7.
func (op opcode) isControl() bool { return op&0x8 != 0 }

// frameHeader is a frame header as it was on the wire.
type frameHeader struct {
	fin    bool
	rsv    byte // the three RSV bits, in place (0x70)
	opcode opcode
	masked bool
	length int64 // the payload's length: at most 2^63-1
	key    [4]byte
}

// headerSize is the length of the header whose second byte is b1: 2, then
// 2 or 8 more for a longer length, then 4 more for a masking key.
func headerSize(b1 byte) int {
	size := 2
	switch b1 & lenBits {
	case 126:
		size += 2
	case 127:
		size += 8
	}
	if b1&maskBit != 0 {
		size += 4
	}
	return size
}

// parseHeader decodes a whole header, b, of headerSize(b[1]) bytes. It
// checks only the encoding; what a frame may be depends on the frames
// before it (see websocket.nextFrame).
func parseHeader(b []byte) (frameHeader, error) {
	h := frameHeader{
		fin:    b[0]&finBit != 0,
		rsv:    b[0] & rsvBits,
		opcode: opcode(b[0] & opBits),
		masked: b[1]&maskBit != 0,
	}
	rest := b[2:]
	switch n := b[1] & lenBits; n {
	case 126: // a 16-bit length follows
		h.length = int64(binary.BigEndian.Uint16(rest))
		rest = rest[2:]
	case 127: // a 64-bit length follows; its top bit must be 0
		l := binary.BigEndian.Uint64(rest)
		if l>>63 != 0 {
			return h, protocolError("a 64-bit payload length with its top bit set (% x)", rest[:8])
		}
		h.length = int64(l)
		rest = rest[8:]
	default:
		h.length = int64(n)
	}
	if h.masked {
		copy(h.key[:], rest)
	}
	return h, nil
}

// readHeader reads one frame header from r into buf: the first two bytes
// say how many follow. It is the plain way to read a header; the server
// uses peekHeader (fast.go), which reads the same bytes without copying.
func readHeader(r io.Reader, buf *[maxHeader]byte) (frameHeader, error) {
	if _, err := io.ReadFull(r, buf[:2]); err != nil {
		return frameHeader{}, err
	}
	size := headerSize(buf[1])
	if _, err := io.ReadFull(r, buf[2:size]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF // the peer left in the middle of a header
		}
		return frameHeader{}, err
	}
	return parseHeader(buf[:size])
}

// appendHeader appends the header of an unmasked frame (a server's
// frames are never masked, section 5.1) carrying n bytes, in the shortest
// of the three length forms.
func appendHeader(b []byte, fin bool, op opcode, n int) []byte {
	b0 := byte(op)
	if fin {
		b0 |= finBit
	}
	switch {
	case n <= 125:
		return append(b, b0, byte(n))
	case n <= 0xffff:
		return binary.BigEndian.AppendUint16(append(b, b0, 126), uint16(n))
	default:
		return binary.BigEndian.AppendUint64(append(b, b0, 127), uint64(n))
	}
}

// headerLen is the length of the header appendHeader writes for n bytes.
func headerLen(n int) int {
	switch {
	case n <= 125:
		return 2
	case n <= 0xffff:
		return 4
	}
	return 10
}

// mask XORs p with the masking key (section 5.3), where p starts at byte
// pos of the payload, and returns the position after p. Masking and
// unmasking are the same operation. This is the RFC's loop, byte by byte;
// maskFast (fast.go) does the same 8 bytes at a time, and is tested
// against it.
func mask(key [4]byte, pos int, p []byte) int {
	for i := range p {
		p[i] ^= key[(pos+i)%4]
	}
	return pos + len(p)
}

// traceLimit is how much of a payload -trace shows: enough to recognise
// a message, not a megabyte per line.
const traceLimit = 64

// describeFrame shows a frame for -trace, header first, then the payload
// (up to traceLimit bytes of it) with visible escapes:
//
//	FIN text, key 37fa213d, 5 bytes: Hello
//	--- binary, 65536 bytes: \x00\x01… (65472 more)
//
// FIN or --- is the FIN bit; the key is shown only for a masked frame;
// p is the payload as far as it is known, already unmasked.
func describeFrame(h frameHeader, p []byte) string {
	var b strings.Builder
	if h.fin {
		b.WriteString("FIN ")
	} else {
		b.WriteString("--- ")
	}
	if h.rsv != 0 {
		fmt.Fprintf(&b, "RSV=%03b ", h.rsv>>4)
	}
	b.WriteString(h.opcode.String())
	if h.masked {
		fmt.Fprintf(&b, ", key %x", h.key)
	}
	fmt.Fprintf(&b, ", %d bytes", h.length)
	if h.length == 0 {
		return b.String()
	}
	shown := p[:min(len(p), traceLimit)]
	b.WriteString(": ")
	b.WriteString(escape(shown))
	if int64(len(shown)) < h.length {
		fmt.Fprintf(&b, "… (%d more)", h.length-int64(len(shown)))
	}
	if h.opcode == opClose {
		b.WriteString(" = " + describeClose(p))
	}
	return b.String()
}
