package main

// This file is the client: -connect sends stdin and prints what comes
// back, and -naive makes the mistake this lesson is about on purpose.

import (
	"io"
	"log"
	"net"
	"os"
)

// naiveReadSize is the one read the -naive client makes: 1024 bytes, the
// size so many first socket programs pass to recv.
const naiveReadSize = 1024

// runClient connects to addr, sends everything from stdin and prints
// everything that comes back, until the server closes the connection.
func runClient(addr string, naive, trace bool) error {
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
	if naive {
		return naiveExchange(src, dst)
	}

	// Send and receive at the same time: the server may echo a large
	// input before we finish sending it, and if nobody read the echo both
	// sides would block with full buffers.
	sent := make(chan error, 1)
	go func() {
		_, err := io.Copy(dst, os.Stdin)
		if err == nil {
			err = c.CloseWrite() // tell the server we are done sending
		}
		sent <- err
	}()
	if _, err := io.Copy(os.Stdout, src); err != nil {
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

// naiveExchange sends stdin, then makes one read and takes it as "the
// reply". A reply longer than the read, or one that arrives in pieces,
// is cut short: one read is not one message.
func naiveExchange(src io.Reader, dst io.Writer) error {
	msg, err := io.ReadAll(os.Stdin)
	if err != nil {
		return err
	}
	if _, err := dst.Write(msg); err != nil {
		return err
	}
	buf := make([]byte, naiveReadSize)
	n, err := src.Read(buf)
	if err != nil {
		return err
	}
	os.Stdout.Write(buf[:n])
	log.Printf("sent %d bytes, one read returned %d", len(msg), n)
	return nil
}
