package main

import (
	"bytes"
	"testing"
	"unicode/utf8"
)

// edgeBytes are the bytes where RFC 3629's grammar changes its mind: the
// ends of every range in it, and a byte on each side.
var edgeBytes = []byte{
	0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2,
	0xdf, 0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xff,
}

// TestValidUTF8 checks validUTF8 against utf8.Valid: every sequence of
// up to four edge bytes, at every offset in a run of ASCII long enough
// to reach the sixteen-byte blocks and the ASCII skip on either side.
func TestValidUTF8(t *testing.T) {
	pad := bytes.Repeat([]byte("a"), 48)
	var seqs [][]byte
	var grow func(seq []byte)
	grow = func(seq []byte) {
		seqs = append(seqs, seq)
		if len(seq) == 4 {
			return
		}
		for _, b := range edgeBytes {
			grow(append(seq[:len(seq):len(seq)], b))
		}
	}
	grow(nil)
	buf := make([]byte, 0, 2*len(pad)+4)
	for _, seq := range seqs {
		for _, at := range []int{0, 7, 15, 16, 17, 40} {
			p := append(append(append(buf[:0], pad[:at]...), seq...), pad[:len(pad)-at]...)
			if got, want := validUTF8(p), utf8.Valid(p); got != want {
				t.Fatalf("validUTF8(% x) = %v, utf8.Valid says %v", p, got, want)
			}
		}
	}
}

// FuzzValidUTF8 looks for input on which validUTF8 and utf8.Valid
// disagree: go test ./02-encodings -run '^$' -fuzz ValidUTF8
func FuzzValidUTF8(f *testing.F) {
	for _, s := range []string{"", "Hello\n", "汉语/漢語 Hànyǔ\n", "a\x80b\xffc\xe6\xb1\n", "\xed\xa0\x80", "\xf4\x90\x80\x80", "𝄞 clef"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		if got, want := validUTF8(p), utf8.Valid(p); got != want {
			t.Fatalf("validUTF8(% x) = %v, utf8.Valid says %v", p, got, want)
		}
	})
}
