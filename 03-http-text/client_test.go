package main

import (
	"bytes"
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"testing"
	"time"
)

// startServer serves the lesson in this process on a free loopback port,
// with the real clock, and returns its address. The log is discarded.
func startServer(t testing.TB) string { return startHandler(t, testHandler(t)) }

// testHandler is the lesson's handler as startServer serves it, for a
// test to change before it starts it with startHandler.
func testHandler(t testing.TB) *httpServer { return newHTTPServer() }

// startHandler is startServer with a handler the test has set up.
func startHandler(t testing.TB, h *httpServer) string {
	t.Helper()
	log.SetOutput(io.Discard)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := newServer(h)
	done := make(chan struct{})
	go func() { s.acceptLoop(ln); close(done) }()
	t.Cleanup(func() {
		ln.Close()
		<-done
		s.shutdown(time.Second)
	})
	return ln.Addr().String()
}

// TestNetHTTPClient checks that Go's own HTTP client, an implementation
// independent of the lesson, understands every answer.
func TestNetHTTPClient(t *testing.T) {
	base := "http://" + startServer(t)
	client := &http.Client{Timeout: 10 * time.Second}

	// Every request after the first should reuse the first connection.
	var reused []bool
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) { reused = append(reused, info.Reused) },
	})
	do := func(method, path, body string) (*http.Response, string) {
		t.Helper()
		var r io.Reader
		if body != "" {
			r = strings.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, base+path, r)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("%s %s: reading the body: %v", method, path, err)
		}
		return resp, string(b)
	}
	expect := func(resp *http.Response, status int, contentType string) {
		t.Helper()
		if resp.StatusCode != status {
			t.Errorf("%s %s: status %d, want %d", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, status)
		}
		if got := resp.Header.Get("Content-Type"); got != contentType {
			t.Errorf("%s %s: Content-Type %q, want %q", resp.Request.Method, resp.Request.URL.Path, got, contentType)
		}
	}

	resp, body := do("GET", "/", "")
	expect(resp, 200, textHTML)
	if body != string(indexHTML) {
		t.Errorf("GET /: the body is not index.html:\n%s", body)
	}
	date, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil || time.Since(date).Abs() > time.Minute {
		t.Errorf("GET /: Date %q is not the time now (%v)", resp.Header.Get("Date"), err)
	}

	resp, body = do("GET", "/echo?q=1", "")
	expect(resp, 200, textPlain)
	for _, line := range []string{"GET /echo?q=1 HTTP/1.1\\r\\n\n", "User-Agent: Go-http-client/1.1\\r\\n\n", "Accept-Encoding: gzip\\r\\n\n"} {
		if !strings.Contains(body, line) {
			t.Errorf("GET /echo: the echo has no line %q:\n%s", line, body)
		}
	}

	resp, body = do("POST", "/echo", "汉语/漢語 Hànyǔ\n")
	expect(resp, 200, textPlain)
	if body != "汉语/漢語 Hànyǔ\n" {
		t.Errorf("POST /echo: got %q back", body)
	}

	resp, body = do("HEAD", "/", "")
	expect(resp, 200, textHTML)
	if resp.ContentLength != int64(len(indexHTML)) || body != "" {
		t.Errorf("HEAD /: Content-Length %d and %d bytes of body, want %d and none", resp.ContentLength, len(body), len(indexHTML))
	}

	resp, _ = do("GET", "/nope", "")
	expect(resp, 404, textPlain)
	resp, _ = do("PUT", "/echo", "x")
	expect(resp, 405, textPlain)
	if got := resp.Header.Get("Allow"); got != "GET, HEAD, POST" {
		t.Errorf("PUT /echo: Allow %q", got)
	}

	for i, r := range reused {
		if i > 0 && !r {
			t.Errorf("request %d opened a new connection; keep-alive should have kept the first", i+1)
		}
	}

	// A body of unknown length goes out chunked: the server refuses it
	// with 411 and closes, and the client sees a clean answer.
	req, _ := http.NewRequest("POST", base+"/echo", io.MultiReader(bytes.NewReader([]byte("hello"))))
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 411 || !resp.Close {
		t.Errorf("chunked POST: status %d, close %v; want 411 and close", resp.StatusCode, resp.Close)
	}
}
