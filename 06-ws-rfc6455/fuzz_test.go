package main

import (
	"bufio"
	"bytes"
	"io"
	"log"
	"net"
	"strings"
	"testing"
	"time"
)

// pipeConn is a net.Conn that reads a fixed input and records what is
// written: the server side of a connection, without a network, for
// fuzzing.
type pipeConn struct {
	r   *bytes.Reader
	out bytes.Buffer
}

func (c *pipeConn) Read(p []byte) (int, error)         { return c.r.Read(p) }
func (c *pipeConn) Write(p []byte) (int, error)        { return c.out.Write(p) }
func (c *pipeConn) Close() error                       { return nil }
func (c *pipeConn) LocalAddr() net.Addr                { return &net.TCPAddr{} }
func (c *pipeConn) RemoteAddr() net.Addr               { return &net.TCPAddr{} }
func (c *pipeConn) SetDeadline(t time.Time) error      { return nil }
func (c *pipeConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *pipeConn) SetWriteDeadline(t time.Time) error { return nil }

// FuzzFrames feeds any bytes to the frame reader and echo loop as if a
// client had sent them after its handshake. Whatever comes in, the server
// must not panic, must not allocate what a header announces, and must
// answer with well-formed frames: unmasked, control frames small and
// whole, data only as messages that were valid, a close frame last if at
// all. The corpus plain go test runs is the scripts' frames.
func FuzzFrames(f *testing.F) {
	for _, example := range []string{
		"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58",
		"\x01\x83\x00\x00\x00\x00Hel\x89\x81\x00\x00\x00\x00?\x80\x82\x00\x00\x00\x00lo",
		"\x82\xfe\x00\x7e\x00\x00\x00\x00" + strings.Repeat("x", 126),
		"\x82\xff\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00" + strings.Repeat("y", 1000),
		"\x82\xff\x7f\xff\xff\xff\xff\xff\xff\xff\x01\x02\x03\x04",
		"\x81\x82\x00\x00\x00\x00a\xc3\x80\x81\x00\x00\x00\x00\xa9",
		"\x81\x83\x00\x00\x00\x00a\xffb",
		"\x88\x82\x00\x00\x00\x00\x03\xe8",
		"\x88\x81\x00\x00\x00\x00\x03",
		"\x88\x84\x00\x00\x00\x00\x03\xe8\xc3\x28",
		"\x89\xfe\x00\x7e\x00\x00\x00\x00",
		"\xc1\x80\x00\x00\x00\x00",
		"\x81\x05Hello",
	} {
		f.Add([]byte(example))
	}
	log.SetOutput(io.Discard)
	f.Fuzz(func(t *testing.T, in []byte) {
		c := &pipeConn{r: bytes.NewReader(in)}
		ws := &websocket{c: c, br: bufio.NewReaderSize(c, wsReadBuffer), maxMessage: 1 << 20}
		ws.serve()
		br := bufio.NewReader(&c.out)
		for closed := false; ; {
			h, err := peekHeader(br)
			if err == io.EOF {
				return
			}
			if err != nil {
				t.Fatalf("the server wrote a broken frame header: %v\n%q", err, c.out.Bytes())
			}
			if closed || h.masked || h.rsv != 0 || !h.opcode.defined() || h.opcode.isControl() && (h.length > maxControl || !h.fin) {
				t.Fatalf("the server wrote a frame it must not: %+v (after a close: %v)", h, closed)
			}
			if _, err := io.CopyN(io.Discard, br, h.length); err != nil {
				t.Fatalf("a frame's payload is cut short: %v", err)
			}
			closed = h.opcode == opClose
		}
	})
}

// FuzzHandshake feeds any bytes to the HTTP reader and the handshake
// checks. Whatever comes in, nothing may panic, and a 101 must only go
// to a request that met every requirement (an Origin, if any, exactly
// http:// and the Host), with the Accept for its key.
func FuzzHandshake(f *testing.F) {
	for _, example := range []string{
		"GET /ws HTTP/1.1\r\nHost: localhost:8006\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
		"GET /ws HTTP/1.1\r\nhost: localhost:8006\r\nconnection: keep-alive, upgrade\r\nupgrade: WebSocket\r\norigin: http://localhost:8006\r\nsec-websocket-version: 13\r\nsec-websocket-key: AQIDBAUGBwgJCgsMDQ4PEA==\r\nSec-WebSocket-Protocol: a, json\r\n\r\n",
		"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4P\r\nSec-WebSocket-Version: 8\r\nOrigin: null\r\n\r\n",
		"POST /ws HTTP/1.0\r\n\r\n",
		"GET /ws HTTP/1.1\r\nHost: a\r\nOrigin: http://b\r\nUpgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\nSec-WebSocket-Version: 13\r\n\r\n",
		"GET /ws HTTP/1.1\r\nHost: a\r\nOrigin: http://a\r\nOrigin: http://b\r\nUpgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\nSec-WebSocket-Version: 13\r\n\r\n",
		"GET /ws HTTP/1.1\r\nHost: a:1\r\nOrigin: https://u@a:1\r\nUpgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\nSec-WebSocket-Version: 13\r\n\r\n",
	} {
		f.Add([]byte(example))
	}
	s := newHTTPServer(nil)
	s.protocols = []string{"json"}
	f.Fuzz(func(t *testing.T, in []byte) {
		head, err := readHead(bufio.NewReaderSize(bytes.NewReader(in), maxHead), nil)
		if err != nil {
			return
		}
		var rq request
		if parseHead(string(head), &rq) != nil || rq.path != wsPath {
			return
		}
		r := s.handshake(&rq)
		if r.status != 101 {
			if r.status < 400 || len(r.body) == 0 {
				t.Fatalf("a refusal with status %d and body %q", r.status, r.body)
			}
			return
		}
		keys := rq.all("Sec-WebSocket-Key")
		if rq.method != "GET" || len(keys) != 1 || rq.list("Sec-WebSocket-Version") != "13" ||
			!hasToken(rq.list("Upgrade"), "websocket") || !hasToken(rq.list("Connection"), "upgrade") {
			t.Fatalf("101 for a request that does not qualify:\n%s", head)
		}
		host, _ := rq.header("Host")
		if origins := rq.all("Origin"); len(origins) > 1 || len(origins) == 1 && !strings.EqualFold(origins[0], "http://"+host) {
			t.Fatalf("101 for Origin %q on Host %q:\n%s", origins, host, head)
		}
		if got := r.fields[2].value; got != acceptKey(keys[0]) || len(got) != 28 {
			t.Fatalf("Sec-WebSocket-Accept %q for key %q", got, keys[0])
		}
		if p := r.protocol(); p != "" && p != "json" {
			t.Fatalf("agreed to subprotocol %q, which the server does not speak", p)
		}
	})
}
