package main

// This file gives the echo its deadlines without giving up io.Copy's
// fast path.

import (
	"errors"
	"io"
	"net"
	"os"
	"time"
)

// copyIdle is io.Copy(dst, src) for the connection c under them, except
// that a client that sends nothing for idle, or takes nothing for idle,
// ends it with an error that is os.ErrDeadlineExceeded.
//
// A deadline is a time, not a duration, so each pass of the loop opens a
// window: reads may wait until idle from its start, writes until twice
// that. When a deadline fires, io.Copy returns, and the two cases differ.
// A read that times out holds no bytes, so the copy can go on, if bytes
// moved in the window (the client is not idle). A write that times out
// may leave bytes read and not yet written, so it must end the
// connection: going on would lose them. A timeout before the write
// deadline came from a read; that is how the loop tells them apart. A
// timeout after it may have been either, and the loop takes it for a
// write's: at worst it drops a client that was slow, never a byte.
func copyIdle(dst io.Writer, src io.Reader, c net.Conn, idle time.Duration) (int64, error) {
	var total int64
	for {
		start := time.Now()
		c.SetReadDeadline(start.Add(idle))
		c.SetWriteDeadline(start.Add(2 * idle))
		// Between two TCP sockets on Linux, io.Copy asks the kernel to
		// splice the bytes across: they never enter this program.
		n, err := io.Copy(dst, src)
		total += n
		beforeWriteDeadline := time.Since(start) < 2*idle // so a timeout was a read's
		if errors.Is(err, os.ErrDeadlineExceeded) && beforeWriteDeadline && n > 0 {
			continue // bytes moved in this window: the client is not idle
		}
		return total, err
	}
}
