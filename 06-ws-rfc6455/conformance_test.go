package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

// The cases below follow the Autobahn|Testsuite's case list for sections
// 1-7, 9 and 10 (the suite itself needs Python 2 and a network, so it
// cannot run here), each written from RFC 6455 and numbered as the suite
// numbers it. A case sends frames, then a close with 1000, and lists
// what the server must send back: echoed messages and pongs, then its
// close frame; after that the server must close TCP.

// acase is one conformance case.
type acase struct {
	id, what string
	send     [][]byte // frames, each written on its own (a nil frame: pause)
	chop     int      // if > 0, write the frames in pieces of this size
	want     []string // events: see ev, pong and closed
}

// Client frames for the cases: masked with a fixed key.
func text(p string) []byte        { return frame(finBit|opText, []byte(p), false) }
func binaryFrame(p []byte) []byte { return frame(finBit|opBinary, p, false) }
func ping(p string) []byte        { return frame(finBit|opPing, []byte(p), false) }
func pongFrame(p string) []byte   { return frame(finBit|opPong, []byte(p), false) }
func closeFrame(code uint16) []byte {
	return frame(finBit|opClose, binary.BigEndian.AppendUint16(nil, code), false)
}

// ev is the event "the server echoed this message".
func ev(op opcode, p []byte) string {
	sum := sha256.Sum256(p)
	return fmt.Sprintf("%s %d %x", op, len(p), sum[:5])
}
func pong(p string) string          { return "pong " + p }
func closed(code uint16) string     { return fmt.Sprintf("close %d", code) }
func repeat(s string, n int) []byte { return []byte(strings.Repeat(s, n)) }

func conformanceCases() []acase {
	var cs []acase
	add := func(id, what string, want []string, send ...[]byte) {
		cs = append(cs, acase{id: id, what: what, send: send, want: want})
	}
	ok := closed(closeNormal)
	proto := closed(closeProtocolError)
	bad := closed(closeInvalidPayload)

	// 1: framing; text and binary messages of every length form.
	for i, n := range []int{0, 125, 126, 127, 128, 65535, 65536} {
		p := repeat("*", n)
		add(fmt.Sprintf("1.1.%d", i+1), fmt.Sprintf("text of %d bytes", n), []string{ev(opText, p), ok}, text(string(p)))
		add(fmt.Sprintf("1.2.%d", i+1), fmt.Sprintf("binary of %d bytes", n), []string{ev(opBinary, p), ok}, binaryFrame(p))
	}
	p := repeat("*", 65536)
	cs = append(cs, acase{id: "1.1.8", what: "text of 65536 bytes written in pieces of 997", send: [][]byte{text(string(p))}, chop: 997, want: []string{ev(opText, p), ok}})

	// 2: pings and pongs.
	add("2.1", "ping without payload", []string{pong(""), ok}, ping(""))
	add("2.2", "ping with text", []string{pong("Hello, world!"), ok}, ping("Hello, world!"))
	add("2.3", "ping with binary", []string{pong("\x00\xff\xfe\xfd\xfc\xfb\x00\xff"), ok}, ping("\x00\xff\xfe\xfd\xfc\xfb\x00\xff"))
	add("2.4", "ping of 125 bytes", []string{pong(strings.Repeat("\xfe", 125)), ok}, ping(strings.Repeat("\xfe", 125)))
	add("2.5", "ping of 126 bytes", []string{proto}, ping(strings.Repeat("\xfe", 126)))
	cs = append(cs, acase{id: "2.6", what: "ping of 125 bytes written 1 byte at a time", send: [][]byte{ping(strings.Repeat("\xfe", 125))}, chop: 1, want: []string{pong(strings.Repeat("\xfe", 125)), ok}})
	add("2.7", "unsolicited pong", []string{ok}, pongFrame(""))
	add("2.8", "unsolicited pong with payload", []string{ok}, pongFrame("unsolicited pong payload"))
	add("2.9", "unsolicited pong, then ping", []string{pong("ping payload"), ok}, pongFrame("unsolicited pong payload"), ping("ping payload"))
	var pings [][]byte
	var pongs []string
	for i := range 10 {
		pings = append(pings, ping(fmt.Sprint("payload-", i)))
		pongs = append(pongs, pong(fmt.Sprint("payload-", i)))
	}
	add("2.10", "10 pings in a row", append(slices.Clone(pongs), ok), pings...)
	cs = append(cs, acase{id: "2.11", what: "10 pings written 1 byte at a time", send: pings, chop: 1, want: append(slices.Clone(pongs), ok)})

	// 3: reserved bits.
	add("3.1", "RSV1 on a text frame", []string{proto}, frame(finBit|0x40|opText, []byte("Hello"), false))
	add("3.2", "RSV2 after a good text", []string{ev(opText, []byte("Hello")), proto}, text("Hello"), frame(finBit|0x20|opText, []byte("Hello"), false), ping(""))
	add("3.3", "RSV1|RSV2 in the middle", []string{ev(opText, []byte("Hello")), proto}, text("Hello"), frame(finBit|0x60|opText, []byte("Hello"), false))
	add("3.4", "RSV3 on a binary frame", []string{proto}, frame(finBit|0x10|opBinary, []byte{1, 2}, false))
	add("3.5", "RSV1|RSV3 on a ping", []string{proto}, frame(finBit|0x50|opPing, []byte("x"), false))
	add("3.7", "all RSV bits on a close", []string{proto}, frame(finBit|0x70|opClose, nil, false))

	// 4: reserved opcodes.
	for i, op := range []opcode{3, 4, 5, 6, 7} {
		add(fmt.Sprintf("4.1.%d", i+1), fmt.Sprintf("reserved data opcode %d", op), []string{proto}, frame(finBit|op, nil, false))
	}
	for i, op := range []opcode{0xb, 0xc, 0xd, 0xe, 0xf} {
		add(fmt.Sprintf("4.2.%d", i+1), fmt.Sprintf("reserved control opcode %d", op), []string{proto}, frame(finBit|op, nil, false))
	}
	add("4.1.3", "reserved opcode after a good text", []string{ev(opText, []byte("Hello")), proto}, text("Hello"), frame(finBit|5, nil, false), ping(""))

	// 5: fragmentation.
	add("5.1", "fragmented ping", []string{proto}, frame(opPing, []byte("frag"), false), frame(finBit|opContinuation, []byte("ment"), false))
	add("5.2", "fragmented pong", []string{proto}, frame(opPong, []byte("frag"), false), frame(finBit|opContinuation, []byte("ment"), false))
	add("5.3", "text in two fragments", []string{ev(opText, []byte("fragment1fragment2")), ok}, frame(opText, []byte("fragment1"), false), frame(finBit|opContinuation, []byte("fragment2"), false))
	add("5.6", "text in two fragments, ping between", []string{pong("ping"), ev(opText, []byte("fragment1fragment2")), ok}, frame(opText, []byte("fragment1"), false), ping("ping"), frame(finBit|opContinuation, []byte("fragment2"), false))
	add("5.9", "continuation without a start", []string{proto}, frame(finBit|opContinuation, []byte("fragment"), false))
	add("5.10", "continuation without a start, then a text", []string{proto}, frame(opContinuation, []byte("x"), false), text("Hello"))
	add("5.15", "two fragmented texts, the second never started", []string{ev(opText, []byte("fragment1fragment2")), proto}, frame(opText, []byte("fragment1"), false), frame(finBit|opContinuation, []byte("fragment2"), false), frame(opContinuation, []byte("fragment3"), false), frame(finBit|opText, []byte("fragment4"), false))
	add("5.17", "a text message started twice", []string{proto}, frame(opText, []byte("a"), false), frame(opText, []byte("b"), false))
	add("5.19", "fragments with pings between", []string{pong("pongme 1!"), pong("pongme 2!"), ev(opText, []byte("fragment1fragment2fragment3fragment4fragment5")), ok},
		frame(opText, []byte("fragment1"), false), frame(opContinuation, []byte("fragment2"), false), ping("pongme 1!"),
		frame(opContinuation, []byte("fragment3"), false), ping("pongme 2!"), frame(opContinuation, []byte("fragment4"), false), frame(finBit|opContinuation, []byte("fragment5"), false))

	// 6: UTF-8.
	valid := []string{"", "Hello-µ@ßöäüàá-UTF-8!!", "κόσμε", "\u0080", "\u07ff", "\u0800", "\uffff", "\U00010000", "\U0010ffff", "\ufeff", "\ue000"}
	for i, s := range valid {
		add(fmt.Sprintf("6.2-%d", i), fmt.Sprintf("valid %q", s), []string{ev(opText, []byte(s)), ok}, text(s))
	}
	invalid := []string{"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64", "\xf4\x90\x80\x80", "\xc0\xaf", "\xe0\x80\xaf", "\xf0\x80\x80\xaf", "\xed\xa0\x80", "\xed\xbf\xbf", "\x80", "\xbf", "\xfe", "\xff", "\xc0", "\xe0\x80", "\xf8\x88\x80\x80\x80", "\xed\xa0\x80\xed\xb0\x80"}
	for i, s := range invalid {
		add(fmt.Sprintf("6.x-%d", i), fmt.Sprintf("invalid %q", s), []string{bad}, text(s))
	}
	add("6.2.3", "valid text split inside characters", []string{ev(opText, []byte("κόσμε")), ok}, frame(opText, []byte("κό\xcf"), false), frame(opContinuation, []byte("\x83"), false), frame(finBit|opContinuation, []byte("με"), false))
	add("6.3.2", "invalid text in fragments", []string{bad}, frame(opText, []byte("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"), false), frame(opContinuation, []byte("\xed\xa0\x80"), false), frame(finBit|opContinuation, []byte("edited"), false))
	add("6.4.1", "fail fast: invalid first fragment, the rest never matters", []string{bad}, frame(opText, []byte("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80"), false))

	// 7: closing.
	add("7.1.1", "text, then close", []string{ev(opText, []byte("Hello World!")), ok}, text("Hello World!"))
	add("7.1.2", "two closes", []string{ok}, closeFrame(1000), closeFrame(1000))
	add("7.1.3", "ping after close", []string{ok}, closeFrame(1000), ping("x"))
	add("7.1.4", "text after close", []string{ok}, closeFrame(1000), text("x"))
	add("7.1.5", "fragment, close, rest", []string{ok}, frame(opText, []byte("fragment1"), false), closeFrame(1000), frame(finBit|opContinuation, []byte("fragment2"), false))
	add("7.3.1", "close without payload", []string{"close no code"}, frame(finBit|opClose, nil, false))
	add("7.3.2", "close with a 1-byte payload", []string{proto}, frame(finBit|opClose, []byte{0x03}, false))
	add("7.3.4", "close with code and reason", []string{ok}, frame(finBit|opClose, []byte("\x03\xe8Hello World!"), false))
	add("7.3.5", "close with a 123-byte reason", []string{ok}, frame(finBit|opClose, append([]byte{3, 0xe8}, repeat("*", 123)...), false))
	add("7.3.6", "close with a 124-byte reason (126 in all)", []string{proto}, frame(finBit|opClose, append([]byte{3, 0xe8}, repeat("*", 124)...), false))
	add("7.5.1", "close reason not UTF-8", []string{bad}, frame(finBit|opClose, []byte("\x03\xe8\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64"), false))
	for i, code := range []uint16{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999} {
		add(fmt.Sprintf("7.7.%d", i+1), fmt.Sprintf("valid close code %d", code), []string{closed(code)}, closeFrame(code))
	}
	for i, code := range []uint16{0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999} {
		add(fmt.Sprintf("7.9.%d", i+1), fmt.Sprintf("invalid close code %d", code), []string{proto}, closeFrame(code))
	}
	add("7.13.1", "close code 5000", []string{proto}, closeFrame(5000))
	add("7.13.2", "close code 65535", []string{proto}, closeFrame(65535))

	// 9: large messages, whole and in fragments.
	for i, n := range []int{64 << 10, 256 << 10, 1 << 20, 4 << 20, 8 << 20, 16 << 20} {
		p := repeat("*", n)
		add(fmt.Sprintf("9.1.%d", i+1), fmt.Sprintf("text of %d bytes", n), []string{ev(opText, p), ok}, text(string(p)))
		add(fmt.Sprintf("9.2.%d", i+1), fmt.Sprintf("binary of %d bytes", n), []string{ev(opBinary, p), ok}, binaryFrame(p))
	}
	big := repeat("\xfe", 4<<20)
	for i, fs := range []int{64, 256, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20} {
		var frames [][]byte
		for off := 0; off < len(big); off += fs {
			op := opContinuation
			if off == 0 {
				op = opBinary
			}
			if off+fs >= len(big) {
				op |= finBit
			}
			frames = append(frames, frame(op, big[off:min(off+fs, len(big))], false))
		}
		add(fmt.Sprintf("9.4.%d", i+1), fmt.Sprintf("4 MiB binary in frames of %d", fs), []string{ev(opBinary, big), ok}, frames...)
	}

	// 10: a message fragmented by the client in the middle of everything.
	p = repeat("*", 65536)
	var frames [][]byte
	for off := 0; off < len(p); off += 1300 {
		op := opContinuation
		if off == 0 {
			op = opText
		}
		if off+1300 >= len(p) {
			op |= finBit
		}
		frames = append(frames, frame(op, p[off:min(off+1300, len(p))], false))
	}
	add("10.1.1", "65536-byte text in fragments of 1300", []string{ev(opText, p), ok}, frames...)
	return cs
}

// TestConformance runs every case against the lesson on a real socket,
// one connection at a time, as the Autobahn suite does.
func TestConformance(t *testing.T) {
	addr, s := startServer(t, nil)
	for _, c := range conformanceCases() {
		t.Run(c.id, func(t *testing.T) {
			defer waitIdle(t, s)
			got, err := runCase(addr, c)
			if err != nil {
				t.Fatalf("%s: %v (events so far: %q)", c.what, err, got)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("%s:\n got  %q\n want %q", c.what, got, c.want)
			}
		})
	}
}

// runCase does the handshake, writes the case's frames and a close with
// 1000, and returns the events the server sent, until it closed TCP.
func runCase(addr string, c acase) ([]string, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(time.Minute))
	io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	br := bufio.NewReader(conn)
	head, err := readHead(br, nil)
	if err != nil || !strings.HasPrefix(string(head), "HTTP/1.1 101 ") {
		return nil, fmt.Errorf("handshake: %v %q", err, head)
	}
	go func() {
		for _, f := range append(c.send, closeFrame(1000)) {
			for len(f) > 0 {
				n := len(f)
				if c.chop > 0 {
					n = min(n, c.chop)
				}
				if _, err := conn.Write(f[:n]); err != nil {
					return // the server failed the connection; it may reset
				}
				f = f[n:]
			}
		}
	}()
	var events []string
	var msg []byte
	var op opcode
	for {
		h, err := peekHeader(br)
		if err != nil {
			return events, fmt.Errorf("reading a frame: %v", err)
		}
		if h.masked {
			return events, fmt.Errorf("a masked frame from the server")
		}
		p := make([]byte, h.length)
		if _, err := io.ReadFull(br, p); err != nil {
			return events, err
		}
		switch h.opcode {
		case opPong:
			events = append(events, pong(string(p)))
		case opClose:
			if len(p) < 2 {
				events = append(events, "close no code")
			} else {
				events = append(events, closed(binary.BigEndian.Uint16(p)))
			}
			// Then the server must close TCP, with nothing more.
			if n, err := io.Copy(io.Discard, br); n != 0 || err != nil {
				return events, fmt.Errorf("after its close frame the server sent %d bytes more (%v)", n, err)
			}
			return events, nil
		default:
			if h.opcode != opContinuation {
				op = h.opcode
			}
			msg = append(msg, p...)
			if h.fin {
				events = append(events, ev(op, msg))
				msg = nil
			}
		}
	}
}
