package main

import (
	"encoding/binary"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// An encoding is an agreement about which bytes stand for which
// characters. Inside this program text is always UTF-8 (that is what a Go
// string holds); an encoding converts between that and the bytes on the
// wire.
type encoding struct {
	name string

	// newline is the character '\n' in this encoding: the delimiter
	// that ends a line.
	newline []byte

	// decodeRune returns the first character in p and how many bytes it
	// took. For bytes that encode no character it returns ok == false,
	// with the number of bytes to skip.
	decodeRune func(p []byte) (r rune, size int, ok bool)

	// appendRune appends the bytes for r to p, or returns ok == false if
	// the encoding has no bytes for r.
	appendRune func(p []byte, r rune) (_ []byte, ok bool)
}

// encodings are the ones -encoding accepts.
var encodings = []*encoding{asciiEnc, latin1Enc, utf8Enc, utf16LE, utf16BE}

func encodingNamed(name string) (*encoding, error) {
	for _, e := range encodings {
		if e.name == name {
			return e, nil
		}
	}
	return nil, fmt.Errorf("unknown encoding %q; try ascii, latin1, utf-8, utf-16le or utf-16be", name)
}

// asciiEnc is US-ASCII (RFC 20): 128 characters, one byte each, 00 to 7f.
// A byte from 80 to ff is not ASCII at all.
var asciiEnc = &encoding{
	name:    "ascii",
	newline: []byte{'\n'},
	decodeRune: func(p []byte) (rune, int, bool) {
		if p[0] < utf8.RuneSelf {
			return rune(p[0]), 1, true
		}
		return utf8.RuneError, 1, false
	},
	appendRune: func(p []byte, r rune) ([]byte, bool) {
		if r < utf8.RuneSelf {
			return append(p, byte(r)), true
		}
		return p, false
	},
}

// latin1Enc is ISO 8859-1: every byte is the character with the same
// number, U+0000 to U+00FF. Any bytes decode, so it never fails on input;
// it just cannot say anything beyond Western European letters.
var latin1Enc = &encoding{
	name:    "latin1",
	newline: []byte{'\n'},
	decodeRune: func(p []byte) (rune, int, bool) {
		return rune(p[0]), 1, true
	},
	appendRune: func(p []byte, r rune) ([]byte, bool) {
		if r <= 0xff {
			return append(p, byte(r)), true
		}
		return p, false
	},
}

// utf8Enc is UTF-8 (RFC 3629): one to four bytes per character, ASCII
// unchanged. Go's own strings are UTF-8, so this is the identity.
var utf8Enc = &encoding{
	name:    "utf-8",
	newline: []byte{'\n'},
	decodeRune: func(p []byte) (rune, int, bool) {
		r, size := utf8.DecodeRune(p)
		// RuneError with size 1 is a bad byte; with size 3 it is a real
		// U+FFFD that the peer sent.
		return r, size, r != utf8.RuneError || size > 1
	},
	appendRune: func(p []byte, r rune) ([]byte, bool) {
		return utf8.AppendRune(p, r), true
	},
}

// utf16LE and utf16BE are UTF-16 (RFC 2781) in each byte order: two bytes
// per code unit, and a character beyond U+FFFF takes two code units (a
// surrogate pair). The names say the byte order, so no byte order mark
// is sent or expected (RFC 2781 section 3.3).
var (
	utf16LE = utf16Encoding("utf-16le", binary.LittleEndian)
	utf16BE = utf16Encoding("utf-16be", binary.BigEndian)
)

type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

func utf16Encoding(name string, order byteOrder) *encoding {
	return &encoding{
		name:    name,
		newline: order.AppendUint16(nil, '\n'), // 0a 00 or 00 0a
		decodeRune: func(p []byte) (rune, int, bool) {
			if len(p) < 2 {
				return utf8.RuneError, len(p), false // half a code unit
			}
			r1 := rune(order.Uint16(p))
			if !utf16.IsSurrogate(r1) {
				return r1, 2, true
			}
			if len(p) >= 4 {
				if r := utf16.DecodeRune(r1, rune(order.Uint16(p[2:]))); r != utf8.RuneError {
					return r, 4, true
				}
			}
			return utf8.RuneError, 2, false // a surrogate without its pair
		},
		appendRune: func(p []byte, r rune) ([]byte, bool) {
			if r > 0xffff {
				r1, r2 := utf16.EncodeRune(r)
				p = order.AppendUint16(p, uint16(r1))
				return order.AppendUint16(p, uint16(r2)), true
			}
			return order.AppendUint16(p, uint16(r)), true
		},
	}
}

// trouble counts what a conversion could not do and describes the first
// case, for the log.
type trouble struct {
	n     int
	first string
}

func (t *trouble) add(format string, args ...any) {
	if t.n == 0 {
		t.first = fmt.Sprintf(format, args...)
	}
	t.n++
}

func (t trouble) String() string {
	if t.n > 1 {
		return fmt.Sprintf("%s (and %d more)", t.first, t.n-1)
	}
	return t.first
}

// decode appends the characters that p encodes to text, as UTF-8. Bytes
// that encode no character become U+FFFD, the replacement character,
// so the reader sees where they were; bad says which bytes they were.
func (e *encoding) decode(text, p []byte) (_ []byte, bad trouble) {
	for i := 0; i < len(p); {
		r, size, ok := e.decodeRune(p[i:])
		if !ok {
			bad.add("invalid %s %s at byte %d", e.name, escape(p[i:i+size]), i)
			r = utf8.RuneError
		}
		text = utf8.AppendRune(text, r)
		i += size
	}
	return text, bad
}

// encode appends the bytes for text (UTF-8) to p. A character the
// encoding cannot say becomes '?', as most encoders do; missing says
// which characters those were.
func (e *encoding) encode(p, text []byte) (_ []byte, missing trouble) {
	for len(text) > 0 {
		r, size := utf8.DecodeRune(text)
		var ok bool
		if p, ok = e.appendRune(p, r); !ok {
			missing.add("%s has no %c (%U), sent ?", e.name, r, r)
			p, _ = e.appendRune(p, '?')
		}
		text = text[size:]
	}
	return p, missing
}
