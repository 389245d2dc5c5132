package main

// This file is a fast path, not part of the idea: validUTF8 answers
// exactly what the standard library's utf8.Valid answers, faster on text
// that mixes one-, two- and three-byte characters. BenchmarkValidUTF8
// measures the two side by side; TestValidUTF8 and FuzzValidUTF8 check
// that they agree.

import "encoding/binary"

// validUTF8 reports whether p is valid UTF-8, exactly as utf8.Valid
// does. It is all the work the server's fast path does on a line (see
// echoLine), so it is tuned. Like utf8.Valid it skips runs of ASCII a
// word (eight bytes) at a time, up to four words per step. Other text
// goes through a state machine, sixteen bytes at a time, each
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
