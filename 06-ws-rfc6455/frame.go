package main

// This file is the framing of RFC 6455 section 5: how a WebSocket turns
// the TCP byte stream into messages, and the checks that keep a peer from
// breaking the server with it.

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// websocketGUID is the fixed string of RFC 6455 section 1.3. The server
// hashes it with the client's key to prove it read this very handshake.
const websocketGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// acceptKey computes Sec-WebSocket-Accept from Sec-WebSocket-Key (section
// 4.2.2, step 5.4): base64(SHA-1(key + GUID)), exactly 28 characters. The
// encoder must add nothing: a trailing newline (Python's
// base64.encodebytes adds one) makes browsers reject the handshake.
func acceptKey(key string) string {
	sum := sha1.Sum([]byte(key + websocketGUID))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// The first two bytes of every frame (section 5.2):
//
//	 0 1 2 3 4 5 6 7   0 1 2 3 4 5 6 7
//	+-+-+-+-+-------+ +-+-------------+
//	|F|R|R|R| opcode| |M| payload len |  then 0, 2 or 8 bytes of length,
//	|I|S|S|S|  (4)  | |A|     (7)     |  then 0 or 4 bytes of masking key,
//	|N|V|V|V|       | |S|             |  then the payload.
//	| |1|2|3|       | |K|             |
//	+-+-+-+-+-------+ +-+-------------+
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

// Opcodes (section 5.2, 11.8). 0x3-0x7 and 0xB-0xF are reserved: a frame
// with one of them fails the connection.
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

var opNames = [16]string{0: "continuation", 1: "text", 2: "binary", 8: "close", 9: "ping", 10: "pong"}

func opName(op byte) string {
	if n := opNames[op&opBits]; n != "" {
		return n
	}
	return fmt.Sprintf("reserved opcode 0x%x", op)
}

// isControl reports whether op is a control frame (section 5.5): close,
// ping, pong and the reserved 0xB-0xF.
func isControl(op byte) bool { return op&0x8 != 0 }

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

// header is a frame header as it was on the wire.
type header struct {
	fin    bool
	rsv    byte // the three RSV bits, in place (0x70)
	opcode byte
	masked bool
	length int64
	key    [4]byte
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

// readHeader reads one frame header. It checks only the encoding; what a
// frame may be depends on the frames before it (see wsConn.readHeader).
// The header is parsed where it lies in the reader's buffer: the first
// two bytes say how long it is, and Peek waits for that many.
func readHeader(r *bufio.Reader) (header, error) {
	var h header
	b, err := r.Peek(2)
	if err != nil {
		return h, err
	}
	size := 2
	switch b[1] & lenBits {
	case 126:
		size += 2
	case 127:
		size += 8
	}
	if b[1]&maskBit != 0 {
		size += 4
	}
	if b, err = r.Peek(size); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF // the peer left in the middle of a header
		}
		return h, err
	}
	h.fin = b[0]&finBit != 0
	h.rsv = b[0] & rsvBits
	h.opcode = b[0] & opBits
	h.masked = b[1]&maskBit != 0
	rest := b[2:]
	switch n := b[1] & lenBits; n {
	case 126: // section 5.2: a 16-bit length follows
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
	r.Discard(size)
	return h, nil
}

// appendHeader appends the header of an unmasked frame (a server's
// frames are never masked, section 5.1) carrying n bytes.
func appendHeader(b []byte, fin bool, op byte, n int) []byte {
	b0 := op
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

// maskBytes XORs p with the masking key (section 5.3), where p starts at
// byte pos of the payload, and returns the position after p. Masking and
// unmasking are the same operation. It works 8 bytes at a time: the key
// is rotated to start at pos, repeated to 8 bytes, and XORed as a uint64.
func maskBytes(key [4]byte, pos int, p []byte) int {
	var k [8]byte
	for i := range k {
		k[i] = key[(pos+i)&3]
	}
	k64 := binary.LittleEndian.Uint64(k[:])
	i := 0
	for ; i+32 <= len(p); i += 32 {
		q := p[i : i+32 : i+32]
		binary.LittleEndian.PutUint64(q[0:], binary.LittleEndian.Uint64(q[0:])^k64)
		binary.LittleEndian.PutUint64(q[8:], binary.LittleEndian.Uint64(q[8:])^k64)
		binary.LittleEndian.PutUint64(q[16:], binary.LittleEndian.Uint64(q[16:])^k64)
		binary.LittleEndian.PutUint64(q[24:], binary.LittleEndian.Uint64(q[24:])^k64)
	}
	for ; i+8 <= len(p); i += 8 {
		binary.LittleEndian.PutUint64(p[i:], binary.LittleEndian.Uint64(p[i:])^k64)
	}
	for ; i < len(p); i++ {
		p[i] ^= k[i&7]
	}
	return pos + len(p)
}

// utf8Stream checks that text arriving in pieces is UTF-8 (section 8.1),
// failing on the first piece whose bytes cannot be the start of valid
// UTF-8, even when a character is split between two pieces.
type utf8Stream struct {
	partial [utf8.UTFMax]byte // the start of a character cut off by the last piece
	n       int               // how many bytes of partial are in use
}

// write reports whether the text so far, followed by p, can still be UTF-8.
func (u *utf8Stream) write(p []byte) bool {
	if u.n > 0 {
		need := seqLen(u.partial[0])
		take := copy(u.partial[u.n:need], p)
		u.n += take
		p = p[take:]
		if u.n < need {
			return validPrefix(u.partial[:u.n])
		}
		if !utf8.Valid(u.partial[:need]) {
			return false
		}
		u.n = 0
	}
	cut := len(p) - incompleteTail(p)
	if !utf8.Valid(p[:cut]) {
		return false
	}
	u.n = copy(u.partial[:], p[cut:])
	return validPrefix(p[cut:])
}

// complete reports whether the text ended on a whole character.
func (u *utf8Stream) complete() bool { return u.n == 0 }

// seqLen is the length of the UTF-8 sequence that lead byte b starts, or
// 0 if no sequence starts with b.
func seqLen(b byte) int {
	switch {
	case b < 0x80:
		return 1
	case b >= 0xc2 && b <= 0xdf:
		return 2
	case b >= 0xe0 && b <= 0xef:
		return 3
	case b >= 0xf0 && b <= 0xf4:
		return 4
	}
	return 0
}

// incompleteTail returns how many bytes at the end of p start a
// character that p cuts off (0 to 3).
func incompleteTail(p []byte) int {
	for i := len(p) - 1; i >= 0 && i >= len(p)-3; i-- {
		if p[i] < 0x80 {
			return 0
		}
		if p[i] >= 0xc0 { // a lead byte
			if n := seqLen(p[i]); n > len(p)-i {
				return len(p) - i
			}
			return 0
		}
	}
	return 0
}

// validPrefix reports whether p (shorter than a whole character) can
// still become one. Only the byte after the lead has a range narrower
// than 0x80-0xBF (section 3 of RFC 3629), so once it is there, padding
// with 0x80 decides.
func validPrefix(p []byte) bool {
	if len(p) == 0 {
		return true
	}
	need := seqLen(p[0])
	if need <= len(p) {
		return false
	}
	if len(p) == 1 {
		return true
	}
	var full [utf8.UTFMax]byte
	copy(full[:], p)
	for i := len(p); i < need; i++ {
		full[i] = 0x80
	}
	return utf8.Valid(full[:need])
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
func describeFrame(h header, p []byte) string {
	var b strings.Builder
	if h.fin {
		b.WriteString("FIN ")
	} else {
		b.WriteString("--- ")
	}
	if h.rsv != 0 {
		fmt.Fprintf(&b, "RSV=%03b ", h.rsv>>4)
	}
	b.WriteString(opName(h.opcode))
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
