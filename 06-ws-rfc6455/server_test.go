package main

import (
	"io"
	"io/fs"
	"log"
	"net"
	"testing"
	"time"
)

// startServer serves the built-in site and /ws with the lesson in this
// process on a free loopback port, with the real clock, and returns its
// address and the server. configure, if not nil, changes the server
// before it starts. The log is discarded.
func startServer(t testing.TB, configure func(*httpServer)) (string, *server) {
	t.Helper()
	log.SetOutput(io.Discard)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return startServerOn(t, ln, configure)
}

// startServerOn is startServer on a listener of the caller's, leaving
// the log where it is.
func startServerOn(t testing.TB, ln net.Listener, configure func(*httpServer)) (string, *server) {
	t.Helper()
	files, err := fs.Sub(site, "site")
	if err != nil {
		t.Fatal(err)
	}
	h := newHTTPServer(files)
	if configure != nil {
		configure(h)
	}
	s := newServer(h)
	done := make(chan struct{})
	go func() { s.acceptLoop(ln); close(done) }()
	t.Cleanup(func() {
		ln.Close()
		<-done
		s.shutdown(time.Second)
	})
	return ln.Addr().String(), s
}

// waitIdle waits until the server has no open connection left.
func waitIdle(t testing.TB, s *server) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		s.mu.Lock()
		n := len(s.conns)
		s.mu.Unlock()
		if n == 0 {
			return
		}
	}
	t.Fatal("the server still has open connections after 10s")
}
