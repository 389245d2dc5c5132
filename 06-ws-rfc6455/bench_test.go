package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

// BenchmarkEcho measures round trips through the lesson's echo and,
// in the same run, through gorilla/websocket's (gorillaHandler, with its
// zero Upgrader), both in this process over loopback TCP: one connection,
// one binary message at a time, at the sizes of the speed table in the
// README. The client writes a prebuilt frame and reads the echo back into
// one buffer, so allocs/op are the server's: the lesson makes none.
//
//	go test ./06-ws-rfc6455 -run '^$' -bench Echo -count 5
func BenchmarkEcho(b *testing.B) {
	lesson, _ := startServer(b, nil)
	gs := httptest.NewServer(gorillaHandler(websocket.Upgrader{}))
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
					if _, err := conn.Write(frame); err != nil {
						b.Fatal(err)
					}
					if err := readEcho(br, echo); err != nil {
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

// readEcho reads one unmasked message from the server into p, which has
// its exact length, whatever frames the server cut it into. It reads the
// header a byte at a time, so that it allocates nothing.
func readEcho(br *bufio.Reader, p []byte) error {
	for got, fin := 0, false; !fin; {
		b0, err := br.ReadByte()
		if err != nil {
			return err
		}
		b1, err := br.ReadByte()
		if err != nil {
			return err
		}
		fin = b0&0x80 != 0
		n, ext := int(b1&0x7f), 0
		switch n {
		case 126:
			n, ext = 0, 2
		case 127:
			n, ext = 0, 8
		}
		for range ext {
			c, err := br.ReadByte()
			if err != nil {
				return err
			}
			n = n<<8 | int(c)
		}
		if n < 0 || n > len(p)-got || b1&0x80 != 0 {
			return fmt.Errorf("a frame of %d bytes (header %02x %02x) where %d remain", n, b0, b1, len(p)-got)
		}
		if _, err := io.ReadFull(br, p[got:got+n]); err != nil {
			return err
		}
		got += n
		if fin && got != len(p) {
			return fmt.Errorf("the echo ended after %d of %d bytes", got, len(p))
		}
	}
	return nil
}

// maskBytewise is masking as section 5.3 writes it, one byte at a time:
// the plain version maskBytes is measured against.
func maskBytewise(key [4]byte, pos int, p []byte) int {
	for i := range p {
		p[i] ^= key[(pos+i)&3]
	}
	return pos + len(p)
}

// BenchmarkMask compares masking 8 bytes at a time (maskBytes) with the
// byte-at-a-time loop, on a 64 KiB chunk and on a 16-byte message.
func BenchmarkMask(b *testing.B) {
	for _, size := range []int{16, 64 << 10} {
		for _, m := range []struct {
			name string
			fn   func([4]byte, int, []byte) int
		}{{"bytewise", maskBytewise}, {"words", maskBytes}} {
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
