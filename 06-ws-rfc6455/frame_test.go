package main

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestAcceptKey(t *testing.T) {
	// RFC 6455 section 1.3. With -v the answer shows, for a reader
	// without openssl.
	got := acceptKey("dGhlIHNhbXBsZSBub25jZQ==")
	t.Logf("acceptKey(%q) = %q", "dGhlIHNhbXBsZSBub25jZQ==", got)
	if got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Errorf("acceptKey = %q, want the RFC's s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", got)
	}
}

func TestMask(t *testing.T) {
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	// RFC 6455 section 5.7: "Hello" masked with 37 fa 21 3d.
	for _, m := range []func([4]byte, int, []byte) int{mask, maskFast} {
		p := []byte("Hello")
		m(key, 0, p)
		if hex.EncodeToString(p) != "7f9f4d5158" {
			t.Errorf("masked Hello = % x", p)
		}
	}
}

// TestMaskFast holds maskFast to mask, the RFC's loop, at every length up
// to a few words and every starting position in the key.
func TestMaskFast(t *testing.T) {
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	for n := range 100 {
		for pos := range 5 {
			p := make([]byte, n)
			for i := range p {
				p[i] = byte(i * 7)
			}
			want := bytes.Clone(p)
			if end := mask(key, pos, want); end != pos+n {
				t.Fatalf("mask: n=%d pos=%d ends at %d", n, pos, end)
			}
			if end := maskFast(key, pos, p); end != pos+n || !bytes.Equal(p, want) {
				t.Fatalf("n=%d pos=%d: got % x, want % x", n, pos, p, want)
			}
		}
	}
}

// TestPeekHeader holds peekHeader to readHeader on every length form,
// masked or not, and on a header cut short.
func TestPeekHeader(t *testing.T) {
	for _, f := range [][]byte{
		{0x81, 0x05}, {0x01, 0x85, 1, 2, 3, 4}, {0x82, 0x7e, 0x01, 0x00}, {0x82, 0xfe, 0xff, 0xff, 1, 2, 3, 4},
		{0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0}, {0x80, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4},
		{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}, {0x82, 0xfe, 0x01}, {0xc9, 0x80, 1, 2, 3, 4},
	} {
		var buf [maxHeader]byte
		want, werr := readHeader(bytes.NewReader(f), &buf)
		got, gerr := peekHeader(bufio.NewReader(bytes.NewReader(f)))
		if got != want || fmt.Sprint(gerr) != fmt.Sprint(werr) {
			t.Errorf("% x: peekHeader %+v, %v; readHeader %+v, %v", f, got, gerr, want, werr)
		}
	}
}

// TestUTF8StreamFailsFast feeds text one byte at a time and checks that
// the stream fails at the first byte after which no valid text is possible.
func TestUTF8StreamFailsFast(t *testing.T) {
	tests := []struct {
		in     string
		failAt int // -1: valid
	}{
		{"κόσμε", -1},
		{"汉语/漢語 Hànyǔ", -1},
		{"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited", 12}, // a surrogate: \xed then \xa0
		{"\xf4\x90\x80\x80", 1},  // beyond U+10FFFF
		{"\xc0\xaf", 0},          // overlong
		{"\xe0\x80\xaf", 1},      // overlong
		{"a\xffb", 1},            // never in UTF-8
		{"\xce\xba\xe1", -2},     // cut short: fails only at the end
		{"\xf0\x9f\x98\x80", -1}, // 😀
	}
	for _, tt := range tests {
		var u utf8Stream
		failed := -1
		for i := range len(tt.in) {
			if !u.write([]byte(tt.in[i : i+1])) {
				failed = i
				break
			}
		}
		if failed == -1 && !u.complete() {
			failed = -2
		}
		if failed != tt.failAt {
			t.Errorf("%q: failed at %d, want %d", tt.in, failed, tt.failAt)
		}
	}
}

// TestUTF8StreamAgreesWithValid: however the text is cut, the stream's
// verdict is utf8.Valid's.
func TestUTF8StreamAgreesWithValid(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "é", "汉", "😀", "\xed\xa0\x80", "\xff", "\xc0", "\x80", "\xe2\x82", "\xf0\x9f"}
	for range 20000 {
		var b strings.Builder
		for range r.IntN(8) {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		s := b.String()
		var u utf8Stream
		ok := true
		for rest := s; rest != ""; {
			n := 1 + r.IntN(len(rest))
			if !u.write([]byte(rest[:n])) {
				ok = false
				break
			}
			rest = rest[n:]
		}
		ok = ok && u.complete()
		if ok != utf8.ValidString(s) {
			t.Fatalf("%q: stream says %v, utf8.Valid %v", s, ok, !ok)
		}
	}
}

// frame builds a client frame whose first byte is b0 (FIN, RSV bits and
// opcode): masked with key 37 fa 21 3d unless unmasked.
func frame(b0 opcode, payload []byte, unmasked bool) []byte {
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	var f []byte
	n := len(payload)
	m := byte(maskBit)
	if unmasked {
		m = 0
	}
	switch {
	case n <= 125:
		f = append(f, byte(b0), m|byte(n))
	case n <= 0xffff:
		f = append(f, byte(b0), m|126, byte(n>>8), byte(n))
	default:
		f = append(f, byte(b0), m|127, 0, 0, 0, 0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	if unmasked {
		return append(f, payload...)
	}
	f = append(f, key[:]...)
	p := bytes.Clone(payload)
	mask(key, 0, p)
	return append(f, p...)
}

// exchange serves one connection, sends frames, and returns everything
// the server sent until it closed, and serve's error.
func exchange(t *testing.T, frames ...[]byte) ([]byte, error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	errc := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			errc <- err
			return
		}
		defer c.Close()
		ws := &websocket{c: c, br: bufio.NewReaderSize(c, wsReadBuffer), ping: time.Minute, maxMessage: maxMessage}
		errc <- ws.serve()
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go func() {
		for _, f := range frames {
			c.Write(f)
		}
		// Answer a close frame from the server, as a client would.
		c.Write(frame(finBit|opClose, []byte{0x03, 0xe8}, false))
	}()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, _ := io.ReadAll(c)
	c.Close() // a client closes once the server has
	return got, <-errc
}

func TestEcho(t *testing.T) {
	closeFrame := frame(finBit|opClose, []byte{0x03, 0xe8}, false)
	tests := []struct {
		name   string
		frames [][]byte
		want   string // hex of what the server sends
	}{
		{"hello", [][]byte{{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}, closeFrame},
			"810548656c6c6f" + "880203e8"},
		{"fragments with a ping between", [][]byte{frame(opText, []byte("Hel"), false), frame(finBit|opPing, []byte("?"), false), frame(finBit|opContinuation, []byte("lo"), false), closeFrame},
			"010348656c" + "8a013f" + "80026c6f" + "880203e8"},
		{"empty binary", [][]byte{frame(finBit|opBinary, nil, false), closeFrame}, "8200" + "880203e8"},
		{"close without code", [][]byte{frame(finBit|opClose, nil, false)}, "8800"},
		{"unmasked", [][]byte{frame(finBit|opText, []byte("hi"), true)}, "88"},
		{"rsv", [][]byte{frame(finBit|0x40|opText, []byte("hi"), false)}, "88"},
		{"reserved opcode", [][]byte{frame(finBit|0x3, nil, false)}, "88"},
		{"long ping", [][]byte{frame(finBit|opPing, make([]byte, 126), false)}, "88"},
		{"fragmented ping", [][]byte{frame(opPing, nil, false)}, "88"},
		{"bad close code", [][]byte{frame(finBit|opClose, []byte{0x03, 0xed}, false)}, "88"},
		{"invalid utf8", [][]byte{frame(finBit|opText, []byte("a\xff"), false)}, "88"},
		{"lone continuation", [][]byte{frame(finBit|opContinuation, []byte("x"), false)}, "88"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := exchange(t, tt.frames...)
			if !strings.HasPrefix(hex.EncodeToString(got), tt.want) {
				t.Errorf("got %x, want %s…; serve: %v", got, tt.want, err)
			}
			t.Logf("serve: %v", err)
		})
	}
}

func TestEchoLengths(t *testing.T) {
	for _, n := range []int{0, 125, 126, 127, 65535, 65536, 200000} {
		payload := make([]byte, n)
		for i := range payload {
			payload[i] = byte(i)
		}
		got, err := exchange(t, frame(finBit|opBinary, payload, false), frame(finBit|opClose, []byte{0x03, 0xe8}, false))
		// Reassemble the echoed message from its frames.
		br := bufio.NewReader(bytes.NewReader(got))
		var msg []byte
		for {
			h, err := peekHeader(br)
			if err != nil {
				t.Fatalf("n=%d: %v", n, err)
			}
			if h.opcode == opClose {
				break
			}
			p := make([]byte, h.length)
			io.ReadFull(br, p)
			msg = append(msg, p...)
		}
		if !bytes.Equal(msg, payload) {
			t.Errorf("n=%d: echo differs (%d bytes); serve: %v", n, len(msg), err)
		}
	}
}

func TestTooBig(t *testing.T) {
	f := []byte{0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4}
	got, _ := exchange(t, f)
	if !strings.HasPrefix(hex.EncodeToString(got), "88") || !bytes.Contains(got, []byte{0x03, 0xf1}) {
		t.Errorf("got %x, want a close frame with 1009", got)
	}
}
