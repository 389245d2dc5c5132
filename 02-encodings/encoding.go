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

// validUTF8 reports whether p is valid UTF-8, exactly as utf8.Valid
// does. It is all the work the server's fast path does on a line (see
// echoLine), so it is tuned. Like utf8.Valid it skips ASCII eight bytes at a time.
// Other text goes through a state machine, sixteen bytes at a time, each
// byte one table lookup and one shift: no branch that depends on the
// text. utf8.Valid branches on the length of every character, which
// text that mixes one-, two- and three-byte characters makes hard for
// the processor to predict.
func validUTF8(p []byte) bool {
	le := binary.LittleEndian
	state := uint64(utf8Accept)
	for len(p) >= 16 {
		if state&63 == utf8Accept && (le.Uint64(p)|le.Uint64(p[8:]))&topBits == 0 {
			// Sixteen ASCII bytes between characters: skip them, and
			// the ASCII words after them.
			p = p[16:]
			p = p[asciiWords(p):]
			continue
		}
		q := p[:16:16] // one bounds check for the sixteen steps
		state = utf8Next[q[0]] >> (state & 63)
		state = utf8Next[q[1]] >> (state & 63)
		state = utf8Next[q[2]] >> (state & 63)
		state = utf8Next[q[3]] >> (state & 63)
		state = utf8Next[q[4]] >> (state & 63)
		state = utf8Next[q[5]] >> (state & 63)
		state = utf8Next[q[6]] >> (state & 63)
		state = utf8Next[q[7]] >> (state & 63)
		state = utf8Next[q[8]] >> (state & 63)
		state = utf8Next[q[9]] >> (state & 63)
		state = utf8Next[q[10]] >> (state & 63)
		state = utf8Next[q[11]] >> (state & 63)
		state = utf8Next[q[12]] >> (state & 63)
		state = utf8Next[q[13]] >> (state & 63)
		state = utf8Next[q[14]] >> (state & 63)
		state = utf8Next[q[15]] >> (state & 63)
		p = p[16:]
	}
	for _, b := range p {
		state = utf8Next[b] >> (state & 63)
	}
	return state&63 == utf8Accept
}

// The states of validUTF8's machine: where it is in a character. Each
// is a multiple of 6, the offset of its six bits in a utf8Next entry.
const (
	utf8Reject  = 0 * 6 // saw a byte that cannot be where it is; stays here
	utf8Accept  = 1 * 6 // between characters
	utf8Need1   = 2 * 6 // one continuation byte (80 to bf) to go
	utf8Need2   = 3 * 6 // two to go
	utf8Need3   = 4 * 6 // three to go
	utf8AfterE0 = 5 * 6 // e0 needs a0 to bf next: less is overlong
	utf8AfterED = 6 * 6 // ed needs 80 to 9f next: more is a surrogate
	utf8AfterF0 = 7 * 6 // f0 needs 90 to bf next: less is overlong
	utf8AfterF4 = 8 * 6 // f4 needs 80 to 8f next: more is past U+10FFFF
)

// utf8Next is the machine's transition table, built from the grammar of
// RFC 3629 section 4. Entry b holds, for every state s, the state after
// byte b in its bits s to s+5: nine states of six bits fit in a uint64,
// so a step is utf8Next[b] >> s. A byte the grammar does not allow in a
// state leaves those bits 0, which is utf8Reject, and utf8Reject's own
// bits are 0 in every entry.
var utf8Next = func() (next [256]uint64) {
	rule := func(from uint64, lo, hi byte, to uint64) {
		for b := int(lo); b <= int(hi); b++ {
			next[b] |= to << from
		}
	}
	// UTF8-1 = %x00-7F
	rule(utf8Accept, 0x00, 0x7f, utf8Accept)
	// UTF8-2 = %xC2-DF UTF8-tail
	rule(utf8Accept, 0xc2, 0xdf, utf8Need1)
	// UTF8-3 = %xE0 %xA0-BF UTF8-tail / %xE1-EC 2( UTF8-tail ) /
	//          %xED %x80-9F UTF8-tail / %xEE-EF 2( UTF8-tail )
	rule(utf8Accept, 0xe0, 0xe0, utf8AfterE0)
	rule(utf8AfterE0, 0xa0, 0xbf, utf8Need1)
	rule(utf8Accept, 0xe1, 0xec, utf8Need2)
	rule(utf8Accept, 0xed, 0xed, utf8AfterED)
	rule(utf8AfterED, 0x80, 0x9f, utf8Need1)
	rule(utf8Accept, 0xee, 0xef, utf8Need2)
	// UTF8-4 = %xF0 %x90-BF 2( UTF8-tail ) / %xF1-F3 3( UTF8-tail ) /
	//          %xF4 %x80-8F 2( UTF8-tail )
	rule(utf8Accept, 0xf0, 0xf0, utf8AfterF0)
	rule(utf8AfterF0, 0x90, 0xbf, utf8Need2)
	rule(utf8Accept, 0xf1, 0xf3, utf8Need3)
	rule(utf8Accept, 0xf4, 0xf4, utf8AfterF4)
	rule(utf8AfterF4, 0x80, 0x8f, utf8Need2)
	// UTF8-tail = %x80-BF
	rule(utf8Need3, 0x80, 0xbf, utf8Need2)
	rule(utf8Need2, 0x80, 0xbf, utf8Need1)
	rule(utf8Need1, 0x80, 0xbf, utf8Accept)
	return next
}()

// topBits is the top bit of each byte of a uint64. A byte is ASCII when
// its top bit is 0, so eight bytes are ASCII when word&topBits is 0.
const topBits = 0x8080808080808080

// asciiWords returns how many of p's first bytes are ASCII, counted in
// whole eight-byte words, four words at a time while they last.
func asciiWords(p []byte) int {
	le := binary.LittleEndian
	n := 0
	for ; len(p)-n >= 32; n += 32 {
		q := p[n : n+32 : n+32]
		if (le.Uint64(q)|le.Uint64(q[8:])|le.Uint64(q[16:])|le.Uint64(q[24:]))&topBits != 0 {
			break
		}
	}
	for ; len(p)-n >= 8; n += 8 {
		if le.Uint64(p[n:])&topBits != 0 {
			break
		}
	}
	return n
}
