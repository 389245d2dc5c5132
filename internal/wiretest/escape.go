package wiretest

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"unicode"
	"unicode/utf8"
)

// Escape shows bytes as text that can be checked byte by byte, in the
// format the lessons' -trace flag uses: \r, \n, \t and \\ as in Go;
// other printable ASCII as itself; characters from U+0080 up as
// themselves only in a line that is valid UTF-8, and never a combining
// mark (it would draw on top of the character before it); every other
// byte as \xHH. A line break follows each \n, so that a multi-line
// message reads as lines:
//
//	"GET / HTTP/1.1\r\nHost: x\r\n\r\n" → GET / HTTP/1.1\r\n
//	                                       Host: x\r\n
//	                                       \r\n
//
// Bytes that are not text (a key, a hash, compressed or random data) are
// seldom valid UTF-8, so they show as \xHH rather than as stray letters:
//
//	"\xb4\xc8\x8b\x14" → \xb4\xc8\x8b\x14   (not \xb4ȋ\x14)
//
// The result ends in a line break unless it is empty.
func Escape(p []byte) string {
	var b strings.Builder
	for line := range bytes.Lines(p) {
		text := utf8.Valid(line)
		for len(line) > 0 {
			r, size := utf8.DecodeRune(line)
			switch {
			case r == '\\':
				b.WriteString(`\\`)
			case r == '\r':
				b.WriteString(`\r`)
			case r == '\n':
				b.WriteString("\\n\n")
			case r == '\t':
				b.WriteString(`\t`)
			case IsShown(r, text):
				b.Write(line[:size])
			default:
				for _, c := range line[:size] {
					fmt.Fprintf(&b, `\x%02x`, c)
				}
			}
			line = line[size:]
		}
	}
	if b.Len() > 0 && !strings.HasSuffix(b.String(), "\n") {
		b.WriteByte('\n')
	}
	return b.String()
}

// IsShown reports whether Escape shows r as itself, in a line that is
// valid UTF-8 (text) or not: printable ASCII always; a printable
// character from U+0080 up in text only, and never a combining mark.
func IsShown(r rune, text bool) bool {
	if r < utf8.RuneSelf {
		return strconv.IsPrint(r)
	}
	return text && strconv.IsPrint(r) && !unicode.In(r, unicode.Mn, unicode.Me)
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
