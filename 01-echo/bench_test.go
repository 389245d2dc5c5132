package main

import (
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"sync"
	"testing"
	"time"
)

// BenchmarkEcho measures the lesson's echo over loopback beside the
// barest echo Go can write (io.Copy and nothing else), in the same run,
// so that the ratio between them holds on a noisy machine:
//
//	go test ./01-echo -run '^$' -bench Echo -count 5
//
// Each operation sends one 64 KiB write and reads the 64 KiB echo back.
func BenchmarkEcho(b *testing.B) {
	log.SetOutput(io.Discard) // the lesson logs every connection
	defer log.SetOutput(os.Stderr)
	servers := []struct {
		name  string
		serve func(net.Listener) // returns once ln is closed and its connections are done
	}{
		{"bare", bareEcho},
		{"lesson", func(ln net.Listener) {
			s := newServer(&echoServer{idle: idleTimeout})
			s.acceptLoop(ln)
			s.shutdown(time.Second) // the handlers' last log lines, before the log is restored
		}},
	}
	for _, conns := range []int{1, 64} {
		for _, srv := range servers {
			b.Run(fmt.Sprintf("conns=%d/%s", conns, srv.name), func(b *testing.B) {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					b.Fatal(err)
				}
				done := make(chan struct{})
				go func() { srv.serve(ln); close(done) }()
				roundTrips(b, ln.Addr().String(), conns, 64<<10)
				ln.Close()
				<-done
			})
		}
	}
}

// bareEcho is the baseline: accept, and io.Copy each connection to itself.
func bareEcho(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			io.Copy(c, c)
		}()
	}
}

// roundTrips spreads b.N round trips of size bytes over conns connections.
func roundTrips(b *testing.B, addr string, conns, size int) {
	cs := make([]net.Conn, conns)
	for i := range cs {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		cs[i] = c
	}
	out := make([]byte, size)
	for i := range out {
		out[i] = byte(i)
	}
	b.SetBytes(int64(size))
	b.ResetTimer()
	var wg sync.WaitGroup
	for i, c := range cs {
		n := b.N / conns
		if i < b.N%conns {
			n++
		}
		wg.Go(func() {
			in := make([]byte, size)
			for range n {
				if _, err := c.Write(out); err != nil {
					b.Error(err)
					return
				}
				if _, err := io.ReadFull(c, in); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}
