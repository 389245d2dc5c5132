package main

import (
	"io"
	"testing"
	"time"
)

// TestClientStopsReadingInput checks that once the connection has ended,
// the client neither sends nor keeps reading its input: its reader may
// take one more line (a read from stdin cannot be interrupted), then it
// stops. The client closes with /close; after runClient returns, a
// first line is taken, and a second finds no reader.
func TestClientStopsReadingInput(t *testing.T) {
	addr, _ := startServer(t, nil)
	pr, pw := io.Pipe()
	defer pw.Close()
	ended := make(chan error, 1)
	go func() { ended <- runClient(addr, false, pr, io.Discard) }()
	io.WriteString(pw, "hello\n/close 1000 bye\n")
	select {
	case err := <-ended:
		if err != nil {
			t.Fatalf("runClient: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("runClient did not return after the closing handshake")
	}
	written := make(chan struct{})
	go func() {
		io.WriteString(pw, "one more\n") // the blocked read takes this one
		io.WriteString(pw, "and another\n")
		close(written)
	}()
	select {
	case <-written:
		t.Fatal("the client still reads its input after the connection ended")
	case <-time.After(300 * time.Millisecond):
	}
}
