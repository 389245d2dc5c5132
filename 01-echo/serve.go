package main

// This file is the skeleton of every lesson, and the same in all six of
// them, byte for byte (a test checks it). It knows nothing of any
// protocol: it listens, accepts, runs the lesson's handler for each
// connection on a goroutine of its own, and shuts down cleanly on Ctrl-C.
// Lesson 01's README walks through it.

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// shutdownGrace is how long Ctrl-C waits for open connections to finish
// before it closes them.
const shutdownGrace = 2 * time.Second

// A handler is what a lesson adds to the skeleton.
type handler interface {
	// serveConn serves one connection, on a goroutine of its own; the
	// server closes c when serveConn returns. id numbers the connections
	// in the order they arrived, for the log. ctx is cancelled when the
	// server begins to shut down.
	serveConn(ctx context.Context, c net.Conn, id int64)

	// try is what the server suggests trying, once it listens on port.
	try(port string) string
}

// serve listens on addr and serves every connection with h until Ctrl-C
// (SIGINT) or SIGTERM. Then it stops accepting, gives open connections
// shutdownGrace to finish, closes the rest and returns nil.
func serve(addr string, h handler) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	lns, err := listen(addr)
	if err != nil {
		return err
	}
	for _, ln := range lns {
		log.Printf("listening on %s", ln.Addr())
	}
	_, port, _ := net.SplitHostPort(lns[0].Addr().String())
	log.Printf("try: %s", h.try(port))

	s := newServer(h)
	var accepting sync.WaitGroup
	for _, ln := range lns {
		accepting.Go(func() { s.acceptLoop(ln) })
	}
	<-ctx.Done()
	stop() // from now on a second Ctrl-C kills the program at once
	log.Printf("shutting down: no new connections, %v for open ones", shutdownGrace)
	for _, ln := range lns {
		ln.Close() // makes Accept return an error, ending acceptLoop
	}
	accepting.Wait()
	s.shutdown(shutdownGrace)
	return nil
}

// listen listens on every address that addr's host resolves to. A host
// name such as "localhost" may resolve to both 127.0.0.1 and ::1, and a
// client may try either one first; net.Listen alone would pick only one.
// An IP literal or an empty host (":8001", every interface) needs a
// single listener.
func listen(addr string) ([]net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if host == "" || net.ParseIP(host) != nil {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, err
		}
		return []net.Listener{ln}, nil
	}
	ips, err := net.DefaultResolver.LookupIPAddr(context.Background(), host)
	if err != nil {
		return nil, err
	}
	return listenIPs(addr, host, port, ips)
}

// listenIPs listens on port at each distinct address of ips, the
// addresses that addr's host resolved to. One address can come twice: Go
// reads /etc/hosts as it is, and a second line "127.0.0.1 localhost"
// would make a second listener there fail with "address already in use".
func listenIPs(addr, host, port string, ips []net.IPAddr) ([]net.Listener, error) {
	var lns []net.Listener
	seen := make(map[string]bool) // by ip.String(), which holds the zone
	for _, ip := range ips {
		if seen[ip.String()] {
			continue
		}
		seen[ip.String()] = true
		ln, err := net.Listen("tcp", net.JoinHostPort(ip.String(), port))
		if errors.Is(err, syscall.EADDRNOTAVAIL) {
			// The name lists an address this machine cannot use, such as
			// ::1 with IPv6 turned off: skip it, and serve on the others.
			log.Printf("skipping %s: %v", ip, err)
			continue
		}
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return nil, err
		}
		lns = append(lns, ln)
		// Port 0 picks a free port; the other addresses share the one
		// the first listener got, so one port number reaches them all.
		_, port, _ = net.SplitHostPort(ln.Addr().String())
	}
	if len(lns) == 0 {
		return nil, fmt.Errorf("%s: no address of %s to listen on", addr, host)
	}
	return lns, nil
}

// A server runs its handler on every connection it accepts, and keeps
// track of the open ones so that shutdown can wait for them.
type server struct {
	h      handler            // immutable
	ctx    context.Context    // immutable: cancelled when shutdown begins
	cancel context.CancelFunc // cancels ctx
	// nextID is the last connection's number. It is atomic because each
	// listener has an accept loop of its own.
	nextID atomic.Int64

	mu    sync.Mutex
	conns map[net.Conn]struct{} // open connections; guarded by mu
	wg    sync.WaitGroup        // one count per running handler
}

func newServer(h handler) *server {
	ctx, cancel := context.WithCancel(context.Background())
	return &server{h: h, ctx: ctx, cancel: cancel, conns: make(map[net.Conn]struct{})}
}

// acceptLoop accepts connections until ln is closed, and serves each one
// on its own goroutine so that one slow client never delays another.
func (s *server) acceptLoop(ln net.Listener) {
	backoff := 5 * time.Millisecond
	for {
		c, err := ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			// Typically EMFILE (too many open files): wait for a handler
			// to finish and free a descriptor, instead of spinning.
			log.Printf("accept: %v; retrying in %v", err, backoff)
			time.Sleep(backoff)
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		id := s.nextID.Add(1) // numbered here, in the order of arrival
		s.track(c, true)      // before the goroutine runs, so that shutdown sees it
		s.wg.Go(func() {
			defer s.track(c, false)
			defer c.Close()
			log.Printf("#%d %s connected", id, c.RemoteAddr())
			s.h.serveConn(s.ctx, c, id)
		})
	}
}

func (s *server) track(c net.Conn, open bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if open {
		s.conns[c] = struct{}{}
	} else {
		delete(s.conns, c)
	}
}

// shutdown tells the handlers (through ctx), waits up to grace for them
// to finish, then closes the connections that are still open and waits
// for their handlers to return.
func (s *server) shutdown(grace time.Duration) {
	s.cancel()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return
	case <-time.After(grace):
	}
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	<-done
}
