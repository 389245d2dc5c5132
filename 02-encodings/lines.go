package main

// This file splits a stream into lines: the first framing of this
// tutorial, a delimiter. In UTF-16 the delimiter is two bytes, and only
// at a code unit boundary.

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"time"
)

// errLineTooLong is a line that does not fit in maxLine bytes.
var errLineTooLong = fmt.Errorf("line longer than %d bytes", maxLine)

// A lineReader splits a stream into lines that end in an encoding's
// newline. It holds at most maxLine bytes, and returns each line as a
// slice of its buffer: no copy, no allocation.
type lineReader struct {
	r       *bufio.Reader
	newline []byte // 0a, or 0a 00 (UTF-16LE), or 00 0a (UTF-16BE)
}

func newLineReader(r io.Reader, e *encoding) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, maxLine), newline: e.newline}
}

// Buffered is the number of bytes read from the stream but not yet
// returned in a line.
func (lr *lineReader) Buffered() int { return lr.r.Buffered() }

// ReadLine returns the next line, newline included. The line is valid
// until the next call. At the end of the stream it returns what is left
// (a last line without a newline, or nothing) with io.EOF. A line that
// does not fit in maxLine bytes is errLineTooLong.
func (lr *lineReader) ReadLine() ([]byte, error) {
	searched := 0 // the first bytes of buf, known to hold no newline
	for {
		buf, _ := lr.r.Peek(lr.r.Buffered()) // what we have; reads nothing
		if i := lr.index(buf, searched); i >= 0 {
			lr.r.Discard(i + len(lr.newline))
			return buf[:i+len(lr.newline)], nil
		}
		if len(buf) == lr.r.Size() {
			return nil, errLineTooLong
		}
		searched = len(buf) - len(buf)%len(lr.newline)
		// Wait for at least one more byte.
		if _, err := lr.r.Peek(len(buf) + 1); err == io.EOF {
			rest, _ := lr.r.Peek(lr.r.Buffered())
			lr.r.Discard(len(rest))
			return rest, io.EOF
		} else if err != nil {
			return nil, err
		}
	}
}

// index returns the offset of the first newline in buf at or after from
// that starts on a code unit boundary (from is one), or -1. In UTF-16LE
// the bytes 0a 00 at an odd offset are halves of two other characters
// (as in "\u0a48\u0065"), not a newline.
func (lr *lineReader) index(buf []byte, from int) int {
	unit := len(lr.newline)
	for from <= len(buf)-unit {
		i := bytes.Index(buf[from:], lr.newline)
		if i < 0 {
			return -1
		}
		if (from+i)%unit == 0 {
			return from + i
		}
		from += i + 1
	}
	return -1
}

// beforeRead is the reader under the line reader. The line reader reads
// only when it holds no whole line; before each of those reads, which may
// wait for the client, beforeRead sends the echoes written so far and
// gives the client its idle time again.
type beforeRead struct {
	r    io.Reader
	c    net.Conn
	w    *bufio.Writer
	idle time.Duration
}

func (b beforeRead) Read(p []byte) (int, error) {
	b.c.SetDeadline(time.Now().Add(b.idle))
	if err := b.w.Flush(); err != nil {
		return 0, err
	}
	return b.r.Read(p)
}
