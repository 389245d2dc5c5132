package wiretest

import (
	"bytes"
	"compress/flate"
	"io"
	"testing"
	"unicode/utf8"
)

// TestDeflateMessage checks that what deflateframe sends inflates back,
// once given the four bytes permessage-deflate leaves out, and that the
// frame's header says how long the payload is in each of its three forms.
func TestDeflateMessage(t *testing.T) {
	for _, data := range [][]byte{
		nil,
		[]byte("Hello"),
		make([]byte, 1<<20),
		must(io.ReadAll(letterReader(70000, 1))),
	} {
		p, err := deflateMessage(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.HasSuffix(p, []byte{0, 0, 0xff, 0xff}) {
			t.Errorf("%d bytes: the payload still ends in 00 00 ff ff", len(data))
		}
		got, err := io.ReadAll(flate.NewReader(io.MultiReader(bytes.NewReader(p), bytes.NewReader([]byte{0, 0, 0xff, 0xff, 1, 0, 0, 0xff, 0xff}))))
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%d bytes: inflated to %d bytes, %v", len(data), len(got), err)
		}
	}
	for _, tc := range []struct {
		n    int
		head string
	}{
		{125, "\xc1\xfd\x00\x00\x00\x00"},
		{126, "\xc1\xfe\x00\x7e\x00\x00\x00\x00"},
		{65536, "\xc1\xff\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00"},
	} {
		f := clientFrame(0xc1, make([]byte, tc.n))
		if string(f[:len(tc.head)]) != tc.head || len(f) != len(tc.head)+tc.n {
			t.Errorf("%d bytes: frame begins %s, %d bytes in all", tc.n, Escape(f[:len(tc.head)]), len(f))
		}
	}
	for _, n := range []int{0, 1, 5, 1000} {
		text := utf8Text(must(io.ReadAll(letterReader(int64(n), 1))))
		if len(text) != n || !utf8.Valid(text) || n == 1000 && bytes.Count(text, []byte("\U0001f600")) == 0 {
			t.Errorf("utf8Text of %d letters: %q", n, text)
		}
	}
	if a, b := must(io.ReadAll(letterReader(100, 1))), must(io.ReadAll(letterReader(100, 2))); bytes.Equal(a, b) || bytes.ContainsFunc(a, func(r rune) bool { return r < 'a' || r > 'z' }) {
		t.Errorf("letters: %q and %q", a, b)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
