package main

import (
	"bufio"
	"bytes"
	"io"
	"io/fs"
	"log"
	"net"
	"runtime"
	"testing"
	"time"
)

// TestOversizeTextFrame sends a text frame that never ends: 0x00, then
// 'a' after 'a', with no 0xFF. The server must close the connection
// once the frame passes maxFrame, holding no more than about that much
// memory, and go on serving the next client.
func TestOversizeTextFrame(t *testing.T) {
	log.SetOutput(io.Discard)
	defer log.SetOutput(nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	files, _ := fs.Sub(site, "site")
	s := newServer(newHTTPServer(files))
	done := make(chan struct{})
	go func() { s.acceptLoop(ln); close(done) }()
	defer func() { ln.Close(); <-done; s.shutdown(time.Second) }()

	c := openWebSocket(t, ln.Addr().String())
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	c.Write([]byte{0x00})
	chunk := bytes.Repeat([]byte("a"), 32<<10)
	sent := 0
	c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	for sent < 64<<20 {
		n, err := c.Write(chunk)
		sent += n
		if err != nil {
			break // the server closed: a reset, as it left bytes unread
		}
	}
	if sent >= 64<<20 {
		t.Fatalf("the server took %d bytes of one frame without closing", sent)
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapInuse) - int64(before.HeapInuse); grew > 1<<20 { // far less than the megabytes sent
		t.Errorf("the heap grew by %d bytes for one frame; the limit is %d", grew, maxFrame)
	}
	t.Logf("the server closed after about %d bytes of the frame", sent)

	// The next client is served.
	d := openWebSocket(t, ln.Addr().String())
	d.Write([]byte("\x00still here\xff"))
	got := make([]byte, 12)
	d.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(d, got); err != nil || string(got) != "\x00still here\xff" {
		t.Fatalf("echo after the oversize frame: %q, %v", got, err)
	}
}

// openWebSocket connects and does a draft-75 handshake.
func openWebSocket(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.Write([]byte("GET /ws HTTP/1.1\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\nHost: " + addr + "\r\nOrigin: http://" + addr + "\r\n\r\n"))
	br := bufio.NewReader(c)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if line == "\r\n" {
			return c
		}
	}
}

// TestDraftExample works through draft-76's own example: the number
// hidden in each key, and the answer to the challenge.
func TestDraftExample(t *testing.T) {
	// Key1's digits make 1868545188, and it has 12 spaces; key2's make
	// 1733470270, and it has 10.
	n1, err1 := keyNumber("Sec-WebSocket-Key1", "18x 6]8vM;54 *(5:  {   U1]8  z [  8")
	n2, err2 := keyNumber("Sec-WebSocket-Key2", "1_ tx7X d  <  nw  334J702) 7]o}` 0")
	if err1 != nil || err2 != nil || n1 != 155712099 || n2 != 173347027 {
		t.Fatalf("key numbers %d, %d (%v, %v); want 155712099, 173347027", n1, n2, err1, err2)
	}
	// MD5 of 16 bytes: 09 47 fa 63 (n1), 0a 55 10 d3 (n2), "Tm[K T2u".
	got := challenge(n1, n2, [key3Len]byte([]byte("Tm[K T2u")))
	if want := "fQJ,fN/4F4!~K~MH"; string(got[:]) != want {
		t.Errorf("challenge: %q, want %q", got, want)
	}
}
