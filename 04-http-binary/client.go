package main

// This file is the client: -connect sends stdin as it is and prints what
// comes back. It knows nothing about HTTP: you type the request, and see
// what a server makes of it.

import (
	"io"
	"log"
	"net"
	"os"
)

// runClient connects to addr, sends everything from stdin as it is and
// prints everything that comes back, until the server closes the
// connection.
func runClient(addr string, trace bool) error {
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
