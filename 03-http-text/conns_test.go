package main

// Tests of a connection's life that a script cannot set up: a client that
// stops reading its answers (with writeTimeout made short), Ctrl-C with
// one connection idle and one busy, and the memory an idle connection
// keeps.

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"log"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"sockets/internal/wiretest"
)

// logBuffer collects the server's log for a test to read.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// captureLog sends the log to a buffer until the test ends.
func captureLog(t *testing.T) *logBuffer {
	logs := &logBuffer{}
	log.SetOutput(logs)
	t.Cleanup(func() { log.SetOutput(io.Discard) })
	return logs
}

// waitLog waits up to timeout for the log to hold want.
func waitLog(t *testing.T, logs *logBuffer, want string, timeout time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !strings.Contains(logs.String(), want); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the log does not say %q within %v; it says:\n%s", want, timeout, logs.String())
		}
	}
}

func dialTest(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestStalledReader has a client send requests and read none of the
// answers. Once an answer has waited writeTimeout to leave, the server
// ends the connection, and its log says so: not that the client was idle,
// nor late with a request (408), and no answer follows the one that could
// not leave. Large answers stall in write; small ones, pipelined, in the
// flush before the server reads more.
func TestStalledReader(t *testing.T) {
	if wiretest.Exercise() != "" {
		t.Skip("checking an exercise, not the lesson as shipped")
	}
	for _, tc := range []struct {
		name, request string
		count         int
	}{
		{"1 MiB answers", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n" + strings.Repeat("a", 1<<20), 8},
		{"small answers", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 100_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := testHandler(t)
			h.writeTimeout = 200 * time.Millisecond
			addr := startHandler(t, h)
			logs := captureLog(t)
			c := dialTest(t, addr)
			go c.Write([]byte(strings.Repeat(tc.request, tc.count))) // ends when c closes
			waitLog(t, logs, "stopped reading: an answer waited 200ms to leave; closing", 5*time.Second)

			// The connection is over: what the client reads ends, with
			// the end of the stream or a reset, not a timeout.
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			got, err := io.ReadAll(c)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("after %d bytes the connection is still open", len(got))
			}
			for _, bad := range []string{"idle for", "408 Request Timeout"} {
				if strings.Contains(logs.String(), bad) {
					t.Errorf("the log says %q:\n%s", bad, logs.String())
				}
			}
		})
	}
}

// TestShutdown checks what Ctrl-C does to open connections: one that
// waits for its next request is closed at once, not when the grace runs
// out; one in the middle of a request finishes it, and its answer says
// Connection: close; and shutdown returns as soon as both are done.
func TestShutdown(t *testing.T) {
	if wiretest.Exercise() != "" {
		t.Skip("checking an exercise, not the lesson as shipped")
	}
	const grace = 10 * time.Second
	h := testHandler(t)
	logs := captureLog(t)
	srv := newServer(h)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepting := make(chan struct{})
	go func() { srv.acceptLoop(ln); close(accepting) }()
	addr := ln.Addr().String()

	idle := dialTest(t, addr)
	io.WriteString(idle, "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
	idle.SetReadDeadline(time.Now().Add(5 * time.Second))
	ir := bufio.NewReader(idle)
	if head := readHeadOf(t, ir); !strings.HasPrefix(head, "HTTP/1.1 200 OK\r\n") {
		t.Fatalf("idle: got %q", head)
	}
	busy := dialTest(t, addr)
	io.WriteString(busy, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
	for deadline := time.Now().Add(5 * time.Second); h.bodies.used.Load() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the server did not start reading the body")
		}
	}

	start := time.Now()
	done := make(chan struct{})
	go func() { ln.Close(); <-accepting; srv.shutdown(grace); close(done) }()
	if _, err := ir.ReadByte(); err != io.EOF {
		t.Errorf("idle: got %v, want the end of the stream", err)
	}
	if d := time.Since(start); d > grace/4 {
		t.Errorf("idle: closed %v after shutdown began, want at once", d)
	}

	io.WriteString(busy, "defghij")
	busy.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(busy)
	head := readHeadOf(t, br)
	if !strings.HasPrefix(head, "HTTP/1.1 200 OK\r\n") || !strings.Contains(head, "\r\nConnection: close\r\n") {
		t.Errorf("busy: got %q, want 200 with Connection: close", head)
	}
	if rest, err := io.ReadAll(br); string(rest) != "abcdefghij" || err != nil {
		t.Errorf("busy: body %q, %v; want abcdefghij, then the end", rest, err)
	}
	busy.Close()
	select {
	case <-done:
	case <-time.After(grace / 2):
		t.Errorf("shutdown still waits %v after both connections are done", grace/2)
	}
	waitLog(t, logs, "idle at shutdown after 1 requests: closing", time.Second)
}

// readHeadOf reads an answer's head, up to its blank line.
func readHeadOf(t *testing.T, br *bufio.Reader) string {
	t.Helper()
	var head string
	for !strings.HasSuffix(head, "\r\n\r\n") {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("after %q: %v", head, err)
		}
		head += line
	}
	return head
}

// TestIdleHead checks what an idle keep-alive connection keeps of its
// last request head: the bytes, in the buffer the next head reuses, and
// no second copy in the strings parsed from it.
func TestIdleHead(t *testing.T) {
	if wiretest.Exercise() != "" {
		t.Skip("checking an exercise, not the lesson as shipped")
	}
	const conns, cookie = 100, 15_000
	addr := startHandler(t, testHandler(t))
	heap := func() int64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return int64(m.HeapAlloc)
	}
	open := func(request string) {
		for range conns {
			c := dialTest(t, addr)
			io.WriteString(c, request)
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			readHeadOf(t, bufio.NewReader(c))
		}
	}
	base := heap()
	open("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
	small := heap()
	open("HEAD / HTTP/1.1\r\nHost: x\r\nCookie: " + strings.Repeat("a", cookie) + "\r\n\r\n")
	large := heap()
	more := (large-small)/conns - (small-base)/conns
	t.Logf("an idle connection after a head of %d bytes: %d bytes more than after a small one", cookie, more)
	if more > cookie*3/2 {
		t.Errorf("an idle connection keeps %d bytes more after a head of %d bytes than after a small one; want one copy of the head", more, cookie)
	}
}

// TestEchoText checks that the pieces of GET /echo's text, cut every
// echoPiece bytes, show the same as escaping each line whole would: no
// UTF-8 character is cut in two, and bytes that are no character are
// escaped one by one wherever the cut falls.
func TestEchoText(t *testing.T) {
	for _, body := range []string{
		strings.Repeat("aé", 3*echoPiece),       // 3-byte units: cuts fall inside é
		strings.Repeat("€", 2*echoPiece),        // a 3-byte character
		strings.Repeat("\x80", 2*echoPiece+1),   // continuation bytes only
		"x" + strings.Repeat("𝄞", echoPiece),    // a 4-byte character
		strings.Repeat("\x01\r\n", echoPiece),   // many short lines
		strings.Repeat("a", echoPiece) + "\xf0", // a character cut short at the end
	} {
		rq := &request{head: "GET /echo HTTP/1.1\r\n\r\n", body: []byte(body)}
		var want []byte
		for _, p := range [][]byte{[]byte(rq.head), rq.body} {
			for line := range bytes.Lines(p) {
				want = append(append(want, escape(line)...), '\n')
			}
		}
		var got []byte
		for piece := range echoText(rq) {
			got = append(got, piece...)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("body %q...: the pieces differ from the lines escaped whole", body[:8])
		}
		if n := echoSize(rq); n != len(want) {
			t.Errorf("body %q...: echoSize %d, want %d", body[:8], n, len(want))
		}
	}
}
