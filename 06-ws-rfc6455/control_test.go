package main

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestFailTrimsReason checks that a close reason longer than a close
// frame can carry is cut at a character boundary, not dropped: 100 é
// (200 bytes) leave the 61 that fit in 123 bytes, where a cut at byte
// 123 would split the 62nd. No client can make the server's own reasons
// that long, so a script cannot show it.
func TestFailTrimsReason(t *testing.T) {
	server, client := net.Pipe()
	defer client.Close()
	ws := &websocket{c: server, br: bufio.NewReader(server)}
	done := make(chan error, 1)
	go func() { done <- ws.fail(&closeError{closePolicy, strings.Repeat("é", 100)}) }()
	var hdr [maxHeader]byte
	h, err := readHeader(client, &hdr)
	if err != nil {
		t.Fatal(err)
	}
	p := make([]byte, h.length)
	if _, err := io.ReadFull(client, p); err != nil {
		t.Fatal(err)
	}
	client.Close() // the end of the closing handshake: fail returns
	<-done
	want := strings.Repeat("é", 61)
	switch {
	case h.opcode != opClose || len(p) < 2:
		t.Fatalf("got a %s frame of %d bytes, want a close frame with a code", h.opcode, len(p))
	case len(p) > maxControl || !utf8.Valid(p[2:]):
		t.Fatalf("the close frame carries %d bytes, valid UTF-8: %v", len(p), utf8.Valid(p[2:]))
	case string(p[2:]) != want:
		t.Fatalf("the reason is %q (%d bytes), want the 61 characters that fit", p[2:], len(p)-2)
	}
}
