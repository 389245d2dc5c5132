package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"
)

// BenchmarkGetIndex measures requests per second for GET / over 1 and 64
// keep-alive connections, against the lesson and against net/http serving
// the same page with the same header fields, in the same run. Both get
// the same requests from the same minimal client, so the difference is
// the servers'.
//
//	go test ./03-http-text -run '^$' -bench GetIndex
func BenchmarkGetIndex(b *testing.B) {
	servers := []struct {
		name  string
		start func(testing.TB) string
	}{
		{"lesson", startServer},
		{"net-http", startNetHTTP},
	}
	for _, conns := range []int{1, 64} {
		for _, s := range servers {
			b.Run(fmt.Sprintf("conns=%d/%s", conns, s.name), func(b *testing.B) {
				benchGet(b, s.start(b), conns)
			})
		}
	}
}

// startNetHTTP serves index.html with net/http, setting Content-Type so
// that net/http does not sniff, and returns the address.
func startNetHTTP(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", textHTML)
			w.Header().Set("Content-Length", strconv.Itoa(len(indexHTML)))
			w.Write(indexHTML)
		}),
		ReadHeaderTimeout: headTimeout,
		IdleTimeout:       idleTimeout,
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

var getIndex = []byte("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")

// benchGet sends b.N requests over conns connections, each one after the
// answer to the previous one, and checks every answer's length.
func benchGet(b *testing.B, addr string, conns int) {
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	b.ResetTimer()
	for i := range conns {
		n := b.N / conns
		if i < b.N%conns {
			n++
		}
		wg.Go(func() {
			if err := getMany(addr, n); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// getMany sends n requests for / on one connection, reading each response
// (head up to the blank line, then Content-Length bytes) before the next.
func getMany(addr string, n int) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Minute))
	br := bufio.NewReader(c)
	for range n {
		if _, err := c.Write(getIndex); err != nil {
			return err
		}
		length := -1
		for {
			line, err := br.ReadSlice('\n')
			if err != nil {
				return err
			}
			if len(line) == 2 {
				break
			}
			if v, ok := bytes.CutPrefix(line, []byte("Content-Length: ")); ok {
				length, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
			}
		}
		if length != len(indexHTML) {
			return fmt.Errorf("Content-Length %d, want %d", length, len(indexHTML))
		}
		if _, err := br.Discard(length); err != nil {
			return err
		}
	}
	return nil
}
