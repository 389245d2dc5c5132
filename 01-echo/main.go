// Command 01-echo is a TCP echo server, and a client for it. TCP carries
// a stream of bytes with no message boundaries; the server sends back
// every byte it reads, in order, and never needs to know where a message
// ends. This file is the echo; serve.go is the skeleton every lesson
// shares, idle.go its deadlines, client.go the client.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"syscall"
	"time"
)

const (
	defaultAddr = "localhost:8001" // where the server listens without -addr

	// idleTimeout drops a client that sends nothing, or takes nothing,
	// for this long: a vanished client must not hold a socket forever.
	idleTimeout = 2 * time.Minute
)

func main() {
	// A name in backquotes in a usage string is what -h shows as the
	// flag's value: "-addr host:port", "-idle-timeout d".
	addr := flag.String("addr", defaultAddr, "listen on `host:port` (port 0 picks a free port)")
	connect := flag.String("connect", "", "be a client: connect to the echo server at `host:port`")
	naive := flag.Bool("naive", false, "client: send stdin, then make one read of 1024 bytes (wrong on purpose)")
	trace := flag.Bool("trace", false, "print every byte read and written, with visible escapes")
	idle := flag.Duration("idle-timeout", idleTimeout, "drop a client that sends nothing, or takes nothing, for `d`")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "01-echo: a TCP echo server, and a client for it.\n\n"+
			"  go run ./01-echo                          serve on %s\n"+
			"  go run ./01-echo -connect localhost:8001  send stdin, print what comes back\n\n", defaultAddr)
		flag.PrintDefaults()
	}
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("01-echo: ")
	checkFlags(
		flagRule{"addr", hostPort(*addr, 0), "host:port, the port from 0 (any free port) to 65535"},
		flagRule{"connect", *connect == "" || hostPort(*connect, 1), "host:port, the port from 1 to 65535"},
		flagRule{"idle-timeout", *idle > 0, "a duration above 0, such as 30s"},
	)

	var err error
	if *connect != "" {
		err = runClient(*connect, *naive, *trace)
	} else {
		err = serve(*addr, &echoServer{trace: *trace, idle: *idle})
	}
	if err != nil {
		log.Fatal(err)
	}
}

// echoServer is this lesson's handler for the skeleton in serve.go.
type echoServer struct {
	trace bool          // log every byte
	idle  time.Duration // idleTimeout, unless -idle-timeout says otherwise
}

func (e *echoServer) try(port string) string {
	return fmt.Sprintf("nc -N localhost %s   (or: go run ./01-echo -connect localhost:%s)", port, port)
}

// serveConn echoes one connection, then logs how it ended.
func (e *echoServer) serveConn(_ context.Context, c net.Conn, id int64) {
	n, err := e.echo(c, id)
	switch {
	case err == nil:
		log.Printf("#%d %s left after %d bytes", id, c.RemoteAddr(), n)
	case errors.Is(err, os.ErrDeadlineExceeded):
		log.Printf("#%d %s idle for %v after %d bytes: closing", id, c.RemoteAddr(), e.idle, n)
	case errors.Is(err, net.ErrClosed):
		log.Printf("#%d %s closed at shutdown after %d bytes", id, c.RemoteAddr(), n)
	case errors.Is(err, syscall.ECONNRESET):
		log.Printf("#%d %s reset the connection after %d bytes", id, c.RemoteAddr(), n)
	default:
		log.Printf("#%d %s lost after %d bytes: %v", id, c.RemoteAddr(), n, err)
	}
}

// echo sends back every byte that arrives on c, until the client closes
// its sending side; then it closes ours, and the client knows the echo
// is complete. It never asks where a message ends, so it is never wrong.
func (e *echoServer) echo(c net.Conn, id int64) (int64, error) {
	src, dst := traced(c, id, e.trace) // c itself, or c wrapped for -trace
	// io.Copy(dst, src), with deadlines; they are set on c itself.
	n, err := copyIdle(dst, src, c, e.idle)
	if err != nil {
		return n, err
	}
	return n, c.(*net.TCPConn).CloseWrite()
}
