package main

// This file is the -trace view of the bytes, the same in every lesson
// (a test checks it): what netcat or Wireshark would show, printed by the
// server itself.

import (
	"bytes"
	"io"
	"log"
	"strconv"
	"unicode"
	"unicode/utf8"
)

// tracer logs the bytes that pass through it, one line per line of data,
// as "#id <- bytes" (read) or "#id -> bytes" (written).
type tracer struct {
	id    int64
	arrow string
	r     io.Reader
	w     io.Writer
}

func (t tracer) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	t.log(p[:n])
	return n, err
}

func (t tracer) Write(p []byte) (int, error) {
	n, err := t.w.Write(p)
	t.log(p[:n])
	return n, err
}

func (t tracer) log(p []byte) {
	for len(p) > 0 {
		line := p
		if i := bytes.IndexByte(p, '\n'); i >= 0 {
			line = p[:i+1]
		}
		log.Printf("#%d %s %s", t.id, t.arrow, escape(line))
		p = p[len(line):]
	}
}

// traced returns c's two directions, wrapped in tracers when on is set.
func traced(c io.ReadWriter, id int64, on bool) (io.Reader, io.Writer) {
	if !on {
		return c, c
	}
	return tracer{id: id, arrow: "<-", r: c}, tracer{id: id, arrow: "->", w: c}
}

// escape shows bytes as text a reader can check byte by byte: \r, \n,
// \t and \\ as in Go; other printable ASCII as itself; characters from
// U+0080 up as themselves only when all of p is valid UTF-8, and then
// not the combining marks, which would draw on top of the character
// before them; every other byte as \xHH. Bytes that are not text (a key,
// a hash, a binary file) are seldom valid UTF-8, so they show as \xHH
// instead of as stray letters.
func escape(p []byte) string { return string(appendEscaped(nil, p)) }

// appendEscaped appends escape's text for p to b, for a caller that
// reuses b instead of allocating a string each time.
func appendEscaped(b, p []byte) []byte {
	const hex = "0123456789abcdef"
	text := utf8.Valid(p)
	for len(p) > 0 {
		r, size := utf8.DecodeRune(p)
		switch {
		case r == '\\':
			b = append(b, `\\`...)
		case r == '\r':
			b = append(b, `\r`...)
		case r == '\n':
			b = append(b, `\n`...)
		case r == '\t':
			b = append(b, `\t`...)
		case r < utf8.RuneSelf && strconv.IsPrint(r),
			text && strconv.IsPrint(r) && !unicode.In(r, unicode.Mn, unicode.Me):
			b = append(b, p[:size]...)
		default:
			for _, c := range p[:size] {
				b = append(b, '\\', 'x', hex[c>>4], hex[c&0xf])
			}
		}
		p = p[size:]
	}
	return b
}
