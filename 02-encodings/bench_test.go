package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"log"
	"net"
	"os"
	"testing"
	"time"
	"unicode/utf8"
)

// BenchmarkEcho streams 1 KiB lines of UTF-8 text through the lesson's line
// echo, beside lesson 01's byte echo (copied below: a main package cannot
// import another), in the same run so that their ratio holds on a noisy
// machine:
//
//	go test ./02-encodings -run '^$' -bench Echo -count 5
//
// Each operation is one line: 1023 bytes of text and a newline, sent and
// echoed while the client keeps sending.
func BenchmarkEcho(b *testing.B) {
	log.SetOutput(io.Discard) // the lesson logs every connection
	defer log.SetOutput(os.Stderr)
	lesson := func(ln net.Listener) {
		s := newServer(&lineServer{enc: utf8Enc, idle: idleTimeout})
		s.acceptLoop(ln)
		s.wg.Wait() // its last log line, before the log is restored
	}
	for _, text := range []string{"ascii", "mixed"} {
		line := textLine(text)
		b.Run(text+"/01-bytes", func(b *testing.B) { run(b, line, 0, func(ln net.Listener) { acceptEach(ln, byteEcho) }) })
		b.Run(text+"/02-lines", func(b *testing.B) { run(b, line, len(greeting), lesson) })
	}
}

// BenchmarkValidUTF8 is the check that is all of the line echo's work on
// valid UTF-8, the lesson's validUTF8 beside the standard library's, on
// the same lines as BenchmarkEcho:
//
//	go test ./02-encodings -run '^$' -bench ValidUTF8 -count 5
func BenchmarkValidUTF8(b *testing.B) {
	for _, text := range []string{"ascii", "mixed"} {
		line := textLine(text)
		for _, v := range []struct {
			name  string
			valid func([]byte) bool
		}{{"utf8.Valid", utf8.Valid}, {"validUTF8", validUTF8}} {
			b.Run(text+"/"+v.name, func(b *testing.B) {
				b.SetBytes(int64(len(line)))
				for b.Loop() {
					if !v.valid(line) {
						b.Fatal("the line is valid UTF-8")
					}
				}
			})
		}
	}
}

// textLine returns a valid UTF-8 line of 1024 bytes, newline included:
// English ("ascii"), which utf8.Valid checks eight bytes at a time, or
// "mixed" with 汉语 and Hànyǔ, which it checks a character at a time.
func textLine(text string) []byte {
	unit := "The quick brown fox jumps over the lazy dog. "
	if text == "mixed" {
		unit = "Hànyǔ 汉语 "
	}
	var line []byte
	for len(line)+len(unit) < 1023 {
		line = append(line, unit...)
	}
	line = append(line, bytes.Repeat([]byte("."), 1023-len(line))...)
	return append(line, '\n')
}

func run(b *testing.B, line []byte, greeting int, serve func(net.Listener)) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	served := make(chan struct{})
	go func() {
		serve(ln)
		close(served)
	}()
	stream(b, ln.Addr().String(), greeting, line)
	ln.Close()
	<-served
}

// stream sends b.N copies of line on one connection while it reads the
// echo back, and checks the last line of the echo.
func stream(b *testing.B, addr string, greeting int, line []byte) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReaderSize(c, 64<<10)
	if _, err := r.Discard(greeting); err != nil {
		b.Fatal(err)
	}
	batch := bytes.Repeat(line, 64) // 64 KiB per write
	b.SetBytes(int64(len(line)))
	b.ResetTimer()
	sent := make(chan error, 1)
	go func() {
		for n := b.N; n > 0; {
			k := min(n, 64)
			if _, err := c.Write(batch[:k*len(line)]); err != nil {
				sent <- err
				return
			}
			n -= k
		}
		sent <- nil
	}()
	if _, err := r.Discard((b.N - 1) * len(line)); err != nil {
		b.Fatal(err)
	}
	last := make([]byte, len(line))
	if _, err := io.ReadFull(r, last); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if err := <-sent; err != nil {
		b.Fatal(err)
	}
	if !bytes.Equal(last, line) {
		b.Fatalf("last line came back as %q", last)
	}
}

func acceptEach(ln net.Listener, handle func(net.Conn)) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			handle(c)
		}()
	}
}

// byteEcho is lesson 01's echo loop (server.echo without -trace).
func byteEcho(c net.Conn) {
	for {
		c.SetDeadline(time.Now().Add(idleTimeout))
		n, err := io.Copy(c, c)
		if errors.Is(err, os.ErrDeadlineExceeded) && n > 0 {
			continue
		}
		if err != nil {
			return
		}
		c.(*net.TCPConn).CloseWrite()
		return
	}
}
