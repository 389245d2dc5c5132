package main

// This file is the check of RFC 6455 section 8.1: a text message must be
// UTF-8, and a server that echoes a message as it arrives must check it
// as it arrives too, piece by piece, with a character sometimes cut in
// two between pieces.

import "unicode/utf8"

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
