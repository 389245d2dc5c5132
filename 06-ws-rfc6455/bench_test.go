package main

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

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
