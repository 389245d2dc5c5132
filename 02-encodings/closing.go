package main

// This file is how a connection ends: the log line for each way it can,
// and for a client that went wrong, an error line it can read, then a
// close that does not destroy that line.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"syscall"
	"time"
)

// lingerTimeout and maxLinger bound how long, and how many bytes, the
// server keeps reading (and discarding) after it has sent an error and
// stopped sending. Closing a socket with unread bytes in it makes the
// kernel answer with a reset, which can destroy the error line before
// the client has read it; but a client that floods for the whole second
// would have the server read gigabytes for nothing.
const (
	lingerTimeout = time.Second
	maxLinger     = 64 << 10
)

// serveConn is what the skeleton calls for each connection: the echo
// (main.go), then one log line that says how the connection ended.
func (s *lineServer) serveConn(_ context.Context, c net.Conn, id int64) {
	n, err := s.echo(c, id)
	switch {
	case err == nil:
		log.Printf("#%d %s left after %d lines", id, c.RemoteAddr(), n)
	case errors.Is(err, errLineTooLong):
		log.Printf("#%d %s sent a line longer than %d bytes after %d lines: closing", id, c.RemoteAddr(), maxLine, n)
	case errors.Is(err, os.ErrDeadlineExceeded):
		log.Printf("#%d %s idle for %v after %d lines: closing", id, c.RemoteAddr(), s.idle, n)
	case errors.Is(err, net.ErrClosed):
		log.Printf("#%d %s closed at shutdown after %d lines", id, c.RemoteAddr(), n)
	case errors.Is(err, syscall.ECONNRESET):
		log.Printf("#%d %s reset the connection after %d lines", id, c.RemoteAddr(), n)
	default:
		log.Printf("#%d %s lost after %d lines: %v", id, c.RemoteAddr(), n, err)
	}
}

// sendError sends a line starting "error: " to the client, in the
// server's encoding, so that a client reading that encoding can read it.
func (s *lineServer) sendError(w *bufio.Writer, format string, args ...any) {
	msg := fmt.Sprintf("error: "+format+"\n", args...)
	out, _ := s.enc.encode(nil, []byte(msg))
	w.Write(out)
}

// closeAfterError sends what w holds, stops sending, and reads what the
// client still sends, for at most lingerTimeout and maxLinger bytes, so
// that the close does not reset the connection before the client has
// read the error.
func (s *lineServer) closeAfterError(c net.Conn, w *bufio.Writer, err error) error {
	if err := w.Flush(); err != nil {
		return err
	}
	closeWrite(c)
	c.SetReadDeadline(time.Now().Add(lingerTimeout))
	io.CopyN(io.Discard, c, maxLinger)
	return err
}

// finish sends what w holds and half-closes c: the client reads the
// echo to its end, then sees that the server is done too.
func finish(c net.Conn, w *bufio.Writer) error {
	if err := w.Flush(); err != nil {
		return err
	}
	return closeWrite(c)
}

// closeWrite half-closes c: a FIN, after every byte already written.
func closeWrite(c net.Conn) error {
	if tc, ok := c.(*net.TCPConn); ok {
		return tc.CloseWrite()
	}
	return nil
}
