package main

// This file is the client: -connect sends stdin as it is, or the bytes
// -send spells out, and prints what comes back. It knows nothing about
// HTTP: you write the request, and see what a server makes of it.

import (
	"bytes"
	"io"
	"log"
	"net"
	"os"
	"strconv"
	"unicode/utf8"
)

// runClient connects to addr, sends everything from input as it is and
// prints everything that comes back, until the server closes the
// connection.
func runClient(addr string, input io.Reader, trace bool) error {
	// net.Dial tries every address the host resolves to (IPv6 and IPv4)
	// until one answers.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	c := conn.(*net.TCPConn)
	log.Printf("connected to %s from %s", c.RemoteAddr(), c.LocalAddr())

	src, dst := traced(c, 0, trace)

	// Send and receive at the same time: the server may answer a request
	// before we finish sending the next one.
	sent := make(chan error, 1)
	go func() {
		_, err := io.Copy(dst, input)
		if err == nil {
			err = c.CloseWrite() // tell the server we are done sending
		}
		sent <- err
	}()
	if _, err := io.Copy(os.Stdout, src); err != nil {
		return err
	}
	// The server has closed. The bytes of -send are written by now, or
	// fail at once: wait for them, so that -trace has logged them all.
	if input != io.Reader(os.Stdin) {
		return <-sent
	}
	// If we are still sending (stdin is open), stop: nothing more can come
	// back.
	select {
	case err := <-sent:
		return err
	default:
		return nil
	}
}

// clientInput is what the client sends: the bytes of -send, its Go
// escapes decoded, so that a request with \r\n line ends or a frame of
// binary bytes can be typed on any system; or, without -send, stdin.
func clientInput(send string) io.Reader {
	if send == "" {
		return os.Stdin
	}
	b, _ := unescape(send) // checkFlags has made sure it decodes
	return bytes.NewReader(b)
}

// validEscapes reports whether s decodes with unescape.
func validEscapes(s string) bool {
	_, err := unescape(s)
	return err == nil
}

// unescape decodes Go's escapes in s: \xHH is one byte, whatever its
// value; \r, \n, \t, \\ and \uHHHH as in a Go string; everything else
// stands for itself.
func unescape(s string) ([]byte, error) {
	var out []byte
	for len(s) > 0 {
		r, multibyte, tail, err := strconv.UnquoteChar(s, 0)
		if err != nil {
			return nil, err
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
