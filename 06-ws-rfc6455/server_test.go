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
// address. configure, if not nil, changes the server before it starts.
// The log is discarded.
func startServer(t testing.TB, configure func(*server)) string {
	t.Helper()
	log.SetOutput(io.Discard)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	files, err := fs.Sub(site, "site")
	if err != nil {
		t.Fatal(err)
	}
	s := newServer(files)
	if configure != nil {
		configure(s)
	}
	done := make(chan struct{})
	go func() { s.acceptLoop(ln); close(done) }()
	t.Cleanup(func() {
		ln.Close()
		<-done
		s.shutdown(time.Second)
	})
	return ln.Addr().String()
}
