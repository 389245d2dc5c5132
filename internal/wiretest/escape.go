package wiretest

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"unicode/utf8"
)

// Escape shows bytes as text that can be checked byte by byte, in the
// format the lessons' -trace flag uses: printable UTF-8 as itself; \r, \n,
// \t and \\ as in Go; every other byte as \xHH. A line break follows each
// \n, so that a multi-line message reads as lines:
//
//	"GET / HTTP/1.1\r\nHost: x\r\n\r\n" → GET / HTTP/1.1\r\n
//	                                       Host: x\r\n
//	                                       \r\n
//
// The result ends in a line break unless it is empty.
func Escape(p []byte) string {
	var b strings.Builder
	for len(p) > 0 {
		r, size := utf8.DecodeRune(p)
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\n':
			b.WriteString("\\n\n")
		case r == '\t':
			b.WriteString(`\t`)
		case !(r == utf8.RuneError && size == 1) && strconv.IsPrint(r):
			b.Write(p[:size])
		default:
			for _, c := range p[:size] {
				fmt.Fprintf(&b, `\x%02x`, c)
			}
		}
		p = p[size:]
	}
	if b.Len() > 0 && !strings.HasSuffix(b.String(), "\n") {
		b.WriteByte('\n')
	}
	return b.String()
}

// Unescape turns a script argument written with Go escapes into bytes:
// \xHH is one byte, \uHHHH and literal characters are UTF-8.
//
//	'GET / HTTP/1.1\r\n' → "GET / HTTP/1.1\r\n"
//	'\x00hi\xff'         → "\x00hi\xff"
func Unescape(s string) ([]byte, error) {
	var out []byte
	for len(s) > 0 {
		r, multibyte, tail, err := strconv.UnquoteChar(s, 0)
		if err != nil {
			return nil, fmt.Errorf("bad escape in %q at %q", s, s[:min(len(s), 4)])
		}
		if r < utf8.RuneSelf || !multibyte && r <= 0xff {
			out = append(out, byte(r))
		} else {
			out = utf8.AppendRune(out, r)
		}
		s = tail
	}
	return out, nil
}

func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET)
}
