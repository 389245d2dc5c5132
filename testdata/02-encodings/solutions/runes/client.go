package main

// This file is the client: -connect sends stdin a line at a time in
// -encoding, and prints each line that comes back, decoded the same way.

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"
)

// runClient connects to addr, sends stdin a line at a time in enc, and
// prints each line that comes back, decoded with enc, until the server
// closes the connection.
func runClient(addr string, enc *encoding, raw, count, trace bool) error {
	// net.Dial tries every address the host resolves to (IPv6 and IPv4)
	// until one answers.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	c := conn.(*net.TCPConn)
	log.Printf("connected to %s from %s, speaking %s", c.RemoteAddr(), c.LocalAddr(), enc.name)

	src, dst := traced(c, 0, trace)
	// Send and receive at the same time, as in lesson 01.
	sent := make(chan error, 1)
	go func() {
		err := sendLines(dst, enc)
		if err == nil {
			err = c.CloseWrite() // tell the server we are done sending
		}
		sent <- err
	}()
	if err := printLines(src, enc, raw, count); err != nil {
		return err
	}
	// The server has closed. If we are still sending (stdin is open), stop:
	// nothing more can come back.
	select {
	case err := <-sent:
		return err
	default:
		return nil
	}
}

// sendLines sends stdin, which is UTF-8 like any Go text, in enc.
func sendLines(dst io.Writer, enc *encoding) error {
	lr := newLineReader(os.Stdin, utf8Enc)
	var out []byte
	for {
		line, err := lr.ReadLine()
		var missing trouble
		out, missing = enc.encode(out[:0], line)
		if missing.n > 0 {
			log.Printf("sending: %v", missing)
		}
		if _, err := dst.Write(out); err != nil {
			return err
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// printLines prints each line from src as text decoded with enc, with
// raw the bytes it came from, and with count how many bytes and runes
// it holds.
func printLines(src io.Reader, enc *encoding, raw, count bool) error {
	lr := newLineReader(src, enc)
	var text []byte
	for {
		line, err := lr.ReadLine()
		if len(line) > 0 {
			var bad trouble
			text, bad = enc.decode(text[:0], line)
			fmt.Printf("%s\n", show(text))
			if raw {
				fmt.Printf("  bytes: % x\n", line)
			}
			if count {
				// The bytes are what came on the wire; the runes are
				// the code points they decoded to, newline included.
				fmt.Printf("  %d bytes, %d runes\n", len(line), utf8.RuneCount(text))
			}
			if bad.n > 0 {
				log.Printf("%v; shown as U+FFFD", bad)
			}
		}
		if err == io.EOF {
			if len(line) > 0 {
				log.Printf("the last line has no newline")
			}
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// show makes decoded text visible on a terminal, one line of it: a
// control character (such as the NUL of UTF-16 read as ASCII) appears as
// an escape, \x00 or \u0085, instead of as nothing.
func show(text []byte) string {
	text = bytes.TrimSuffix(text, []byte("\n"))
	var b strings.Builder
	for _, r := range string(text) {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case strconv.IsPrint(r):
			b.WriteRune(r)
		default:
			q := strconv.QuoteRune(r) // '\x00'
			b.WriteString(q[1 : len(q)-1])
		}
	}
	return b.String()
}
