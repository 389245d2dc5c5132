package main

import (
	"bufio"
	"bytes"
	"cmp"
	"fmt"
	"io"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	gorilla "github.com/gorilla/websocket"
)

// BenchmarkEcho measures round trips through the lesson's echo and,
// in the same run, through gorilla/websocket's (gorillaHandler, with its
// zero Upgrader), both in this process over loopback TCP: one connection,
// one binary message at a time, at the sizes of the speed table in
// REFERENCE.md. The client writes a prebuilt frame and reads the echo
// back into one buffer, so allocs/op are the server's (at 1 MiB, plus the
// three of the client's writer goroutine): the lesson makes none. Every
// echo's framing and length are checked, and the last one's bytes.
//
//	go test ./06-ws-rfc6455 -run '^$' -bench Echo -count 5
func BenchmarkEcho(b *testing.B) {
	lesson, _ := startServer(b, nil)
	gs := httptest.NewServer(gorillaHandler(gorilla.Upgrader{}))
	defer gs.Close()
	gorilla := strings.TrimPrefix(gs.URL, "http://")
	for _, size := range []int{16, 1 << 10, 64 << 10, 1 << 20} {
		msg := bytes.Repeat([]byte("0123456789abcdef"), size/16)
		frame := binaryFrame(msg)
		for _, srv := range []struct{ name, addr string }{{"lesson", lesson}, {"gorilla", gorilla}} {
			b.Run(sizeName(size)+"/"+srv.name, func(b *testing.B) {
				conn := openWebSocket(b, srv.addr)
				if conn == nil {
					b.FailNow()
				}
				defer conn.Close()
				br := bufio.NewReaderSize(conn, 64<<10)
				echo := make([]byte, size)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					if err := roundTrip(conn, br, frame, echo); err != nil {
						b.Fatal(err)
					}
				}
				if !bytes.Equal(echo, msg) {
					b.Fatal("the echo differs from the message")
				}
			})
		}
	}
}

// roundTrip sends frame and reads its echo into echo. A frame of more
// than the socket buffers hold (loopback's take 128 KiB at least) is
// written from a goroutine of its own: a streaming server echoes while
// the client still writes, and a client that read only after writing it
// all would block both.
func roundTrip(conn net.Conn, br *bufio.Reader, frame, echo []byte) error {
	if len(frame) <= 128<<10 {
		if _, err := conn.Write(frame); err != nil {
			return err
		}
		return readEcho(br, echo)
	}
	written := make(chan error, 1)
	go func() {
		_, err := conn.Write(frame)
		written <- err
	}()
	err := readEcho(br, echo)
	return cmp.Or(<-written, err)
}

// readEcho reads one unmasked binary message from the server into p, which
// has its exact length, whatever frames the server cut it into. The
// lesson's peekHeader parses each header where it lies in br's buffer, so
// reading allocates nothing.
func readEcho(br *bufio.Reader, p []byte) error {
	for got, fin := 0, false; !fin; {
		h, err := peekHeader(br)
		if err != nil {
			return err
		}
		op := opBinary
		if got > 0 {
			op = opContinuation
		}
		if h.opcode != op || h.rsv != 0 || h.masked || h.length > int64(len(p)-got) {
			return fmt.Errorf("a %s frame of %d bytes (rsv %03b, masked %v) where %d remain",
				h.opcode, h.length, h.rsv>>4, h.masked, len(p)-got)
		}
		n := int(h.length)
		if _, err := io.ReadFull(br, p[got:got+n]); err != nil {
			return err
		}
		got, fin = got+n, h.fin
		if fin && got != len(p) {
			return fmt.Errorf("the echo ended after %d of %d bytes", got, len(p))
		}
	}
	return nil
}

// BenchmarkMask compares masking 8 bytes at a time (maskFast) with the
// RFC's byte-at-a-time loop (mask), on a 64 KiB chunk and on a 16-byte
// message.
func BenchmarkMask(b *testing.B) {
	for _, size := range []int{16, 64 << 10} {
		for _, m := range []struct {
			name string
			fn   func([4]byte, int, []byte) int
		}{{"bytewise", mask}, {"words", maskFast}} {
			b.Run(m.name+"/"+sizeName(size), func(b *testing.B) {
				p := make([]byte, size)
				b.SetBytes(int64(size))
				for b.Loop() {
					m.fn([4]byte{1, 2, 3, 4}, 1, p)
				}
			})
		}
	}
}

// BenchmarkUTF8 compares the incremental check (utf8Stream, fed the text
// in 4 KiB pieces as a socket would deliver it) with utf8.Valid over the
// whole text at once, which needs the whole message in memory.
func BenchmarkUTF8(b *testing.B) {
	texts := map[string][]byte{
		"ascii": []byte(strings.Repeat("hello, world. ", 5000)),
		"mixed": []byte(strings.Repeat("汉语/漢語 Hànyǔ, hello world. ", 2000)),
	}
	for _, name := range []string{"ascii", "mixed"} {
		p := texts[name]
		b.Run("stream/"+name, func(b *testing.B) {
			b.SetBytes(int64(len(p)))
			for b.Loop() {
				var u utf8Stream
				for rest := p; len(rest) > 0; rest = rest[min(len(rest), 4096):] {
					if !u.write(rest[:min(len(rest), 4096)]) {
						b.Fatal("invalid")
					}
				}
			}
		})
		b.Run("utf8.Valid/"+name, func(b *testing.B) {
			b.SetBytes(int64(len(p)))
			for b.Loop() {
				if !utf8.Valid(p) {
					b.Fatal("invalid")
				}
			}
		})
	}
}

func sizeName(n int) string {
	if n >= 1<<10 {
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}
