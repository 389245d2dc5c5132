package main

import (
	"bufio"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// deadlineCounter counts the read deadlines set on a connection.
type deadlineCounter struct {
	net.Conn
	n atomic.Int64
}

func (c *deadlineCounter) SetReadDeadline(t time.Time) error {
	c.n.Add(1)
	return c.Conn.SetReadDeadline(t)
}

// TestFrameDeadlinesCostNothingWhole holds frameWait to its promise: a
// frame that arrives whole moves no deadline (the echo of small messages
// stays as fast as it was), and one whose rest must be waited for moves
// it once for the piece. 1,000 whole frames may cost the quiet wait's
// deadline, set once per half interval: a handful at most.
func TestFrameDeadlinesCostNothingWhole(t *testing.T) {
	server, client := net.Pipe()
	defer client.Close()
	counted := &deadlineCounter{Conn: server}
	ws := &websocket{c: counted, br: bufio.NewReaderSize(counted, wsReadBuffer), ping: time.Minute, maxMessage: maxMessage}
	done := make(chan error, 1)
	go func() { done <- ws.serve() }()
	hello := frame(finBit|opText, []byte("Hello"), false)
	echo := make([]byte, 7)
	exchangeOne := func(parts ...[]byte) {
		t.Helper()
		for _, p := range parts {
			if _, err := client.Write(p); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := io.ReadFull(client, echo); err != nil || string(echo) != "\x81\x05Hello" {
			t.Fatalf("echo %q, %v", echo, err)
		}
	}
	for range 1000 {
		exchangeOne(hello) // one write: the frame arrives whole
	}
	if n := counted.n.Load(); n > 5 {
		t.Errorf("1000 whole frames set the read deadline %d times; want a handful at most", n)
	}
	before := counted.n.Load()
	exchangeOne(hello[:1], hello[1:]) // the rest must be waited for
	if n := counted.n.Load() - before; n != 1 {
		t.Errorf("a frame in two pieces set the read deadline %d times; want 1, for the piece", n)
	}
	client.Close()
	<-done
}
