package wiretest

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// The RFC's own example (section 5.7): "Hello" from a client, masked with
// 37 fa 21 3d, the key wsflood uses.
func TestAppendMaskedFrame(t *testing.T) {
	got := appendMaskedFrame(nil, 0x81, []byte("Hello"))
	want := []byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}
	if !bytes.Equal(got, want) {
		t.Errorf("masked Hello = % x, want % x", got, want)
	}
	for _, n := range []int{125, 126, 65535, 65536} {
		f := appendMaskedFrame(nil, 0x82, bytes.Repeat([]byte{'a'}, n))
		// The server's view: take the mask off and read it back unmasked.
		head := map[bool]int{true: 2, false: map[bool]int{true: 4, false: 10}[n < 1<<16]}[n < 126]
		if f[1]&0x80 == 0 {
			t.Fatalf("%d bytes: no mask bit", n)
		}
		plain := append([]byte{f[0], f[1] &^ 0x80}, f[2:head]...)
		for i, b := range f[head+4:] {
			plain = append(plain, b^floodKey[i%4])
		}
		op, msg, err := readMessage(bufio.NewReader(bytes.NewReader(plain)), n)
		if err != nil || op != 2 || len(msg) != n || strings.Trim(string(msg), "a") != "" {
			t.Errorf("%d bytes: read back as opcode %d, %d bytes, %v", n, op, len(msg), err)
		}
	}
}

func TestReadMessage(t *testing.T) {
	for _, tt := range []struct {
		name, in string
		max      int
		op       byte
		msg      string
		err      string
	}{
		{"one frame", "\x81\x05hello", 5, 1, "hello", ""},
		{"fragments", "\x01\x02he\x00\x01l\x80\x02lo", 5, 1, "hello", ""},
		{"a close frame", "\x88\x02\x03\xf0", 5, 8, "\x03\xf0", ""},
		{"a ping between fragments comes first", "\x01\x02he\x89\x01?\x80\x03llo", 5, 9, "?", ""},
		{"over the limit, found before the payload", "\x01\x03hel\x80\x7d", 5, 0, "", "more than 5 bytes"},
		{"masked", "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 5, 0, "", "masked frame"},
		{"a continuation first", "\x80\x01a", 5, 0, "", "no message to continue"},
		{"a message inside another", "\x01\x01a\x81\x01b", 5, 0, "", "inside another"},
		{"a long control frame", "\x89\x7e\x00\x80", 5, 0, "", "control frame"},
		{"the end inside a frame", "\x81\x05hel", 5, 0, "", io.ErrUnexpectedEOF.Error()},
		{"the end between frames", "", 5, 0, "", io.EOF.Error()},
	} {
		op, msg, err := readMessage(bufio.NewReader(strings.NewReader(tt.in)), tt.max)
		switch {
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%s: error %v, want one that says %q", tt.name, err, tt.err)
		case tt.err == "" && (err != nil || op != tt.op || string(msg) != tt.msg):
			t.Errorf("%s: opcode %d, %q, %v; want %d, %q", tt.name, op, msg, err, tt.op, tt.msg)
		}
	}
	if _, _, err := readMessage(bufio.NewReader(strings.NewReader("\x81")), 5); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("half a header: %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestFloodMessage(t *testing.T) {
	if got := string(floodMessage(42, 12)); got != "m000042 xxxx" {
		t.Errorf("floodMessage(42, 12) = %q", got)
	}
	if got := joinNames([]string{"a", "b", "c"}); got != "a, b and c" {
		t.Errorf("joinNames = %q", got)
	}
}
