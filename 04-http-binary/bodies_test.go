package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"sockets/internal/wiretest"
)

// TestBodyBudget checks the budget behind maxBodies, made small (64 KiB)
// so that two clients can spend it: the bodies of all connections
// together never hold more than the budget; a body that finds it spent
// is answered 503 and its connection closed; and the memory comes back
// once the answer is written, so an idle connection holds none.
func TestBodyBudget(t *testing.T) {
	if wiretest.Exercise() != "" {
		t.Skip("checking an exercise, not the lesson as shipped")
	}
	const limit = 64 << 10
	h := testHandler(t)
	h.bodies = &budget{limit: limit}
	addr := startHandler(t, h)
	used := func(want int64) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); h.bodies.used.Load() != want; {
			if time.Now().After(deadline) {
				t.Fatalf("the bodies hold %d bytes, want %d", h.bodies.used.Load(), want)
			}
			time.Sleep(time.Millisecond)
		}
	}
	dial := func() (net.Conn, *bufio.Reader) {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(10 * time.Second))
		return c, bufio.NewReader(c)
	}
	post := func(c net.Conn, length int, body string) {
		t.Helper()
		if _, err := fmt.Fprintf(c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", length, body); err != nil {
			t.Fatal(err)
		}
	}

	// a announces the whole budget and sends a little over half of it:
	// its room doubles from bodyStart and reaches the limit.
	a, ar := dial()
	body := strings.Repeat("a", limit)
	post(a, limit, body[:limit/2+1])
	used(limit)

	// b's 10 bytes find the budget spent: 503, and b is closed.
	b, br := dial()
	post(b, 10, "0123456789")
	if got := readAll(t, br); !strings.HasPrefix(got, "HTTP/1.1 503 Service Unavailable\r\n") || !strings.Contains(got, "Connection: close\r\n") {
		t.Errorf("b, over the budget: got %q, want a 503 that closes", got)
	}
	b.Close()

	// a sends the rest and gets its echo; then, idle on its open
	// connection, it holds nothing.
	if _, err := io.WriteString(a, body[limit/2+1:]); err != nil {
		t.Fatal(err)
	}
	if got := readResponse(t, ar); got != body {
		t.Errorf("a: %d bytes echoed, want the %d sent", len(got), len(body))
	}
	used(0)

	// So c is served.
	c, cr := dial()
	post(c, 10, "0123456789")
	if got := readResponse(t, cr); got != "0123456789" {
		t.Errorf("c: got %q, want its 10 bytes back", got)
	}
	used(0)
}

// readAll reads until the server closes.
func readAll(t *testing.T, r io.Reader) string {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// readResponse reads one response with a Content-Length and returns its
// body; it fails the test unless the status is 200.
func readResponse(t *testing.T, br *bufio.Reader) string {
	t.Helper()
	status, err := br.ReadString('\n')
	if err != nil || status != "HTTP/1.1 200 OK\r\n" {
		t.Fatalf("status line %q, %v; want 200", status, err)
	}
	length := -1
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if line == "\r\n" {
			break
		}
		if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
			fmt.Sscan(v, &length)
		}
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(br, body); err != nil {
		t.Fatal(err)
	}
	return string(body)
}
