package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var idleConns = flag.Int("idle-conns", 10000, "how many WebSockets BenchmarkIdle holds open (thousands, for the per-connection cost to stand out from the runtime's own)")

// BenchmarkIdle measures what an idle WebSocket costs the server: it
// starts a server in a process of its own, opens -idle-conns WebSockets
// to it, echoes one small message on each (so every connection is fully
// set up on both sides), leaves them all quiet, and reads the server's
// resident memory from /proc. It reports the growth per connection
// (KiB/conn) and the total (MiB-RSS). The servers, one sub-benchmark each:
//
//   - lesson: this lesson, with its defaults;
//   - gorilla: gorilla/websocket with 4096-byte buffers, as in its Autobahn
//     example and in the round-trip measurements of REFERENCE.md;
//   - gorilla-reuse: gorilla/websocket's zero Upgrader, which reuses the
//     buffers net/http allocated for the request instead of its own.
//
// Run it alone; it takes a few seconds per server, and each process needs
// a file descriptor per connection (Go raises the soft limit to the hard
// one; see ulimit -Hn):
//
//	go test ./06-ws-rfc6455 -run '^$' -bench Idle -benchtime 1x
func BenchmarkIdle(b *testing.B) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		b.Skip("skipping: resident memory is read from /proc, which this system does not have")
	}
	for _, s := range []struct{ name, cmd, arg string }{
		{"lesson", "06-ws-rfc6455", "-ping=1h"}, // pings on, but none while we measure
		{"gorilla", gorillaEchoCmd, "-bufsize=4096"},
		{"gorilla-reuse", gorillaEchoCmd, "-bufsize=0"},
	} {
		b.Run(s.name, func(b *testing.B) {
			for b.Loop() {
				perConn, total := idleRSS(b, *idleConns, s.cmd, s.arg)
				b.ReportMetric(perConn, "KiB/conn")
				b.ReportMetric(total, "MiB-RSS")
				b.ReportMetric(0, "ns/op") // the time is setup, not the measure
			}
		})
	}
}

// idleRSS runs cmd (a command TestMain registered) on a free port, opens
// n idle WebSockets to it, and returns the growth of its resident memory
// per connection in KiB, and its resident memory in MiB.
func idleRSS(b *testing.B, n int, cmd, arg string) (perConn, total float64) {
	path, err := exec.LookPath(cmd) // this test binary, as TestMain set it up
	if err != nil {
		b.Fatal(err)
	}
	c := exec.Command(path, arg, "-addr", "127.0.0.1:0")
	stderr, err := c.StderrPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := c.Start(); err != nil {
		b.Fatal(err)
	}
	drained := make(chan struct{})
	defer func() {
		c.Process.Kill()
		<-drained // the pipe is read to its end before Wait closes it
		c.Wait()
	}()
	addr, head := "", ""
	sc := bufio.NewScanner(stderr)
	for addr == "" && sc.Scan() {
		head += sc.Text() + "\n"
		if _, a, ok := strings.Cut(sc.Text(), ": listening on "); ok {
			addr = a
		}
	}
	go func() {
		io.Copy(io.Discard, stderr) // a line per connection; it must not block the server
		close(drained)
	}()
	if addr == "" {
		b.Fatalf("%s did not log its address; it said:\n%s", cmd, head)
	}

	// One connection first, closed again: the server's code and buffers are
	// in memory, and what follows is the cost of the connections alone.
	first := openWebSocket(b, addr)
	if first == nil {
		b.FailNow()
	}
	first.Close()
	time.Sleep(100 * time.Millisecond)
	before := residentKiB(b, c.Process.Pid)

	conns := make([]net.Conn, n)
	var wg sync.WaitGroup
	const workers = 16
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				conns[i] = openWebSocket(b, addr)
			}
		})
	}
	wg.Wait()
	defer func() {
		for _, conn := range conns {
			if conn != nil {
				conn.Close()
			}
		}
	}()
	if b.Failed() {
		b.FailNow()
	}
	time.Sleep(time.Second) // let the server settle
	after := residentKiB(b, c.Process.Pid)

	// Every connection must still be open and echoing, or the figure
	// would be the cost of fewer connections than it says.
	for i, conn := range conns {
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		if err := echoOnce(conn, conn, []byte("still here, hi!!")); err != nil {
			b.Fatalf("connection %d after the measurement: %v", i, err)
		}
	}
	return float64(after-before) / float64(n), float64(after) / 1024
}

// openWebSocket opens a WebSocket to addr and echoes one 16-byte binary
// message through it. The client is bytes written by hand, the same for
// every server, so that it asks the same of each.
func openWebSocket(b testing.TB, addr string) net.Conn {
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		b.Error(err)
		return nil
	}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	defer conn.SetDeadline(time.Time{})
	fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", addr)
	br := bufio.NewReaderSize(conn, 256)
	status, err := br.ReadString('\n')
	for line := status; err == nil && line != "\r\n"; {
		line, err = br.ReadString('\n')
	}
	if err == nil && !strings.HasPrefix(status, "HTTP/1.1 101 ") {
		err = fmt.Errorf("got %q", status)
	}
	// The message goes only after the 101: gorilla refuses a client that
	// sends data before the handshake is complete.
	if err == nil {
		err = echoOnce(conn, br, []byte("0123456789abcdef"))
	}
	if err != nil {
		conn.Close()
		b.Errorf("opening a WebSocket: %v", err)
		return nil
	}
	return conn
}

// echoOnce sends msg (at most 125 bytes) as a binary message on w and
// checks that r brings it back as one.
func echoOnce(w io.Writer, r io.Reader, msg []byte) error {
	if _, err := w.Write(binaryFrame(msg)); err != nil {
		return err
	}
	echo := make([]byte, 2+len(msg))
	if _, err := io.ReadFull(r, echo); err != nil {
		return err
	}
	if echo[0] != finBit|byte(opBinary) || int(echo[1]) != len(msg) || !bytes.Equal(echo[2:], msg) {
		return fmt.Errorf("sent %q, got back %q", msg, echo)
	}
	return nil
}

// residentKiB returns the resident memory (VmRSS) of a process, in KiB.
func residentKiB(b *testing.B, pid int) int64 {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kib, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kib
		}
	}
	b.Fatal("no VmRSS in /proc/PID/status")
	return 0
}
