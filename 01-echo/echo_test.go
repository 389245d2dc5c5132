package main

import (
	"bytes"
	"crypto/sha256"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"os"
	"testing"
	"time"

	"sockets/internal/wiretest"
)

// TestSlowReaderLosesNothing: a client that reads slowly, so that the
// echo's writes block across several idle windows, still gets every byte
// back in order; and a client that stops reading altogether is dropped.
func TestSlowReaderLosesNothing(t *testing.T) {
	if wiretest.Exercise() != "" {
		t.Skip("checking an exercise, not the lesson as shipped")
	}
	log.SetOutput(io.Discard)
	defer log.SetOutput(os.Stderr)
	// The reader takes 40ms per 64 KiB, so 2 MiB take about 1.3s: more
	// than two idle windows. idle is generous because a loaded machine
	// (the race detector, other tests) can stall the reader for a while,
	// and a reader that takes nothing for an idle window is dropped.
	const idle = 500 * time.Millisecond
	// Random lines of letters: any byte would do, but -trace escapes
	// every byte it logs, and random binary makes that slow enough, under
	// the race detector, to take an idle window of its own.
	out := make([]byte, 2<<20)
	rand.NewChaCha8([32]byte{1}).Read(out)
	for i := range out {
		out[i] = 'a' + out[i]%26
		if i%64 == 63 {
			out[i] = '\n'
		}
	}
	for _, trace := range []bool{false, true} {
		s := newServer(&echoServer{idle: idle, trace: trace})
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go s.acceptLoop(ln)
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			c.Write(out)
			c.(*net.TCPConn).CloseWrite()
		}()
		h := sha256.New()
		buf := make([]byte, 64<<10)
		var got int
		for {
			time.Sleep(40 * time.Millisecond) // a slow reader, on purpose
			n, err := c.Read(buf)
			h.Write(buf[:n])
			got += n
			if err != nil {
				break
			}
		}
		if want := sha256.Sum256(out); got != len(out) || !bytes.Equal(h.Sum(nil), want[:]) {
			t.Errorf("trace=%v: got %d of %d bytes back, hash equal: %v", trace, got, len(out), bytes.Equal(h.Sum(nil), want[:]))
		}
		c.Close()

		// A client that sends and never reads: once the socket buffers are
		// full the echo's write blocks, and the write deadline drops it.
		stuck, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		go stuck.Write(out)
		deadline := time.Now().Add(10 * time.Second)
		for open := 1; open > 0; {
			if time.Now().After(deadline) {
				t.Fatalf("trace=%v: a client that never reads is still connected", trace)
			}
			time.Sleep(10 * time.Millisecond)
			s.mu.Lock()
			open = len(s.conns)
			s.mu.Unlock()
		}
		stuck.Close()
		ln.Close()
		s.shutdown(time.Second)
	}
}
