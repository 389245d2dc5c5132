package main

// This file is -naive: the server this lesson warns against, kept so
// that you can watch it break a character in two.

import (
	"bufio"
	"io"
	"net"
	"time"
)

// naiveReadSize is the buffer of the -naive server's reads: 1024 bytes,
// the size so many first socket programs pass to recv.
const naiveReadSize = 1024

// echoReads is the mistake this lesson warns about, kept to show it: it
// decodes whatever one read returns as if it were whole text. A
// character whose bytes arrive in two reads becomes two broken halves.
func (s *lineServer) echoReads(c net.Conn, id int64, src io.Reader, w *bufio.Writer) (int, error) {
	buf := make([]byte, naiveReadSize)
	var text, out []byte
	for n := 0; ; n++ {
		c.SetDeadline(time.Now().Add(s.idle))
		if err := w.Flush(); err != nil {
			return n, err
		}
		k, err := src.Read(buf)
		text, _ = s.enc.decode(text[:0], buf[:k])
		out, _ = s.enc.encode(out[:0], text)
		w.Write(out)
		if err == io.EOF {
			w.Flush()
			return n, closeWrite(c)
		}
		if err != nil {
			return n, err
		}
	}
}
