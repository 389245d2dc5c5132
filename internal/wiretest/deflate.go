package wiretest

import (
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// deflateframe [-binary] [-zeros | -letters] [-seed s] n file
//
// writes to file one WebSocket frame from a client (FIN, RSV1, masked
// with the key 00000000), a text message unless -binary, whose payload is
// n bytes compressed as permessage-deflate sends a message (RFC 7692
// section 7.2.1): DEFLATE, flushed to a byte boundary, without the 00 00
// ff ff that ends the flush. The n bytes are zeros (the default), which
// take about a thousandth of n on the wire (a zip bomb), or with -letters
// pseudo-random lowercase letters (the same for the same seed). sendfile
// sends it.
func cmdDeflateframe(ts *testscript.TestScript, neg bool, args []string) {
	fs := flag.NewFlagSet("deflateframe", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	binaryOp := fs.Bool("binary", false, "a binary message")
	fs.Bool("zeros", true, "n zero bytes")
	letters := fs.Bool("letters", false, "n pseudo-random letters")
	seed := fs.Uint64("seed", 1, "seed of the letters")
	if err := fs.Parse(args); err != nil || fs.NArg() != 2 || neg {
		ts.Fatalf("usage: deflateframe [-binary] [-zeros | -letters] [-seed s] n file")
	}
	n, err := strconv.ParseInt(fs.Arg(0), 10, 64)
	ts.Check(err)
	var data io.Reader = io.LimitReader(zeros{}, n)
	if *letters {
		data = letterReader(n, *seed)
	}
	payload, err := deflateMessage(data)
	ts.Check(err)
	op := byte(0x1)
	if *binaryOp {
		op = 0x2
	}
	ts.Check(os.WriteFile(ts.MkAbs(fs.Arg(1)), clientFrame(0x80|0x40|op, payload), 0o644))
}

// deflatecrowd [-utf8] n name size
//
// opens n WebSockets to $ADDR, one after another, named name1 … nameN,
// each offering permessage-deflate and sending one compressed text
// message of size pseudo-random letters (a different text each), or with
// -utf8 of size bytes of pseudo-random characters of one to four bytes
// in UTF-8 (so that any cut of it is likely to split one). It
// checks that the 101 agreed to the extension and that each echo, which
// may be compressed or not, is the same text, and leaves the connections
// open: whatever the server keeps for a connection after a message shows
// in its memory (peakrss). Negated, it expects one of them to fail, and
// prints why.
func cmdDeflatecrowd(ts *testscript.TestScript, neg bool, args []string) {
	fs := flag.NewFlagSet("deflatecrowd", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	multi := fs.Bool("utf8", false, "characters of one to four bytes, not letters")
	if err := fs.Parse(args); err != nil || fs.NArg() != 3 {
		ts.Fatalf("usage: deflatecrowd [-utf8] n name size")
	}
	args = fs.Args()
	n, err := strconv.Atoi(args[0])
	if err != nil || n < 1 {
		ts.Fatalf("deflatecrowd: %q is not a number of connections", args[0])
	}
	size, err := strconv.ParseInt(args[2], 10, 64)
	if err != nil || size < 0 || size > maxRecv {
		ts.Fatalf("deflatecrowd: %q is not a message size", args[2])
	}
	st, addr := getState(ts), ts.Getenv("ADDR")
	for i := 1; i <= n; i++ {
		text, _ := io.ReadAll(letterReader(size, uint64(i)))
		if *multi {
			text = utf8Text(text)
		}
		payload, err := deflateMessage(bytes.NewReader(text))
		ts.Check(err)
		nc, err := net.DialTimeout("tcp", addr, defaultTimeout)
		if err == nil {
			c := &conn{c: nc.(*net.TCPConn), r: bufio.NewReader(nc), local: nc.LocalAddr().String()}
			name := fmt.Sprintf("%s%d", args[1], i)
			if old := st.conns[name]; old != nil {
				old.c.Close()
			}
			st.conns[name] = c
			err = deflateEcho(c, addr, text, payload)
		}
		if err != nil && neg {
			fmt.Fprintf(ts.Stdout(), "connection %d of %d: %v\n", i, n, err)
			return
		}
		if err != nil {
			ts.Fatalf("deflatecrowd: connection %d of %d: %v", i, n, err)
		}
	}
	if neg {
		ts.Fatalf("deflatecrowd: all %d connections echoed, unexpectedly", n)
	}
	fmt.Fprintf(ts.Stdout(), "%d connections, each echoed a compressed message of %d bytes\n", n, size)
}

// deflateEcho runs one connection of deflatecrowd: the handshake, then
// one compressed message and its echo.
func deflateEcho(c *conn, addr string, text, payload []byte) error {
	c.c.SetDeadline(time.Now().Add(defaultTimeout))
	defer c.c.SetDeadline(time.Time{})
	hs := "GET /ws HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
		"Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n"
	if _, err := io.WriteString(c.c, hs); err != nil {
		return err
	}
	head, err := readUntil(c.r, []byte("\r\n\r\n"))
	if err != nil {
		return fmt.Errorf("reading the answer to the handshake: %v after:\n%s", err, Escape(head))
	}
	if !bytes.HasPrefix(head, []byte("HTTP/1.1 101 ")) || !bytes.Contains(head, []byte("\r\nSec-WebSocket-Extensions: permessage-deflate")) {
		return fmt.Errorf("the answer to an offer of permessage-deflate did not agree to it:\n%s", Escape(head))
	}
	if _, err := c.c.Write(clientFrame(0x80|0x40|0x1, payload)); err != nil {
		return err
	}
	var echo []byte
	compressed := false
	for i := 1; ; i++ {
		first := i == 1
		b0, p, err := readServerFrame(c.r, int64(len(payload)+len(text)+64))
		if err != nil {
			return fmt.Errorf("reading the echo of a compressed text of %d bytes: %v", len(text), err)
		}
		wantOp := byte(0x1)
		if !first {
			wantOp = 0x0
		}
		switch {
		case b0&0x0f == 0x8:
			return fmt.Errorf("a compressed text of %d bytes was answered with a close frame, %s", len(text), Escape(p))
		case b0&0x0f != wantOp:
			return fmt.Errorf("frame %d of the echo of a compressed text of %d bytes has the opcode %x, not %x", i, len(text), b0&0x0f, wantOp)
		case !first && b0&0x40 != 0:
			return fmt.Errorf("frame %d of the echo of a compressed text of %d bytes, a continuation, has RSV1 set: only a message's first frame says it is compressed (RFC 7692 section 6)", i, len(text))
		}
		if first {
			compressed = b0&0x40 != 0
		}
		echo = append(echo, p...)
		if b0&0x80 != 0 {
			break
		}
	}
	if compressed {
		echo, err = io.ReadAll(io.LimitReader(flate.NewReader(io.MultiReader(bytes.NewReader(echo),
			bytes.NewReader([]byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}))), int64(len(text))+1))
		if err != nil {
			return fmt.Errorf("the compressed echo of a text of %d bytes does not inflate: %v", len(text), err)
		}
	}
	if !bytes.Equal(echo, text) {
		return fmt.Errorf("the echo of a compressed text of %d bytes is %d bytes that differ", len(text), len(echo))
	}
	return nil
}

// readServerFrame reads one unmasked frame of at most limit bytes and
// returns its first byte and payload.
func readServerFrame(r *bufio.Reader, limit int64) (byte, []byte, error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	n := int64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return 0, nil, err
		}
		n = int64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return 0, nil, err
		}
		n = int64(binary.BigEndian.Uint64(b[:]) &^ (1 << 63))
	}
	if h[1]&0x80 != 0 || n > limit {
		return 0, nil, fmt.Errorf("a frame that begins %s, masked or longer than %d bytes", Escape(h[:]), limit)
	}
	p := make([]byte, n)
	_, err := io.ReadFull(r, p)
	return h[0], p, err
}

// deflateMessage compresses data as permessage-deflate does: at the
// strongest level, flushed, the flush's 00 00 ff ff removed.
func deflateMessage(data io.Reader) ([]byte, error) {
	var out bytes.Buffer
	fw, _ := flate.NewWriter(&out, flate.BestCompression)
	if _, err := io.Copy(fw, data); err != nil {
		return nil, err
	}
	if err := fw.Flush(); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(out.Bytes(), []byte{0x00, 0x00, 0xff, 0xff}), nil
}

// clientFrame is a frame with first byte b0 and payload p, masked with
// the key 00000000, so that the payload goes as it is.
func clientFrame(b0 byte, p []byte) []byte {
	f := []byte{b0}
	switch n := len(p); {
	case n < 126:
		f = append(f, 0x80|byte(n))
	case n <= 0xffff:
		f = binary.BigEndian.AppendUint16(append(f, 0x80|126), uint16(n))
	default:
		f = binary.BigEndian.AppendUint64(append(f, 0x80|127), uint64(n))
	}
	f = append(f, 0, 0, 0, 0)
	return append(f, p...)
}

// zeros reads as an endless run of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// letterReader reads n pseudo-random lowercase letters, the same for the
// same seed.
func letterReader(n int64, seed uint64) io.Reader {
	p, _ := io.ReadAll(randReader(n, seed))
	for i := range p {
		p[i] = 'a' + p[i]%26
	}
	return bytes.NewReader(p)
}

// utf8Text turns pseudo-random letters into as many bytes of UTF-8 text
// made of characters of one to four bytes (a, é, €, 😀), each picked by a
// letter, the end filled with letters.
func utf8Text(letters []byte) []byte {
	chars := []string{"a", "\u00e9", "\u20ac", "\U0001f600"}
	out := make([]byte, 0, len(letters))
	for _, l := range letters {
		c := chars[l%4]
		if len(out)+len(c) > len(letters) {
			c = "a"
		}
		if len(out) == len(letters) {
			break
		}
		out = append(out, c...)
	}
	return out
}
