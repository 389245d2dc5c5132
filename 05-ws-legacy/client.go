package main

// This file is the lesson's client. No browser speaks draft-75 or -76
// any more, so the lesson brings its own: it sends the opening handshake
// of the draft asked for and checks the answer, sends each line of stdin
// as a text frame, prints the text of every frame that comes back, and
// at the end of stdin closes as the draft says. Frames travel the same
// way in both directions; only the handshake and the closing differ.

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"fmt"
	"io"
	"log"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// clientTimeout bounds each wait of the client that has an end: the
// server's answer to the handshake, and to the closing handshake.
const clientTimeout = 10 * time.Second

// client is one WebSocket connection, from the client's side.
type client struct {
	c     *net.TCPConn
	draft int
	br    *bufio.Reader // the server's bytes

	mu        sync.Mutex
	w         io.Writer // c, or a tracer around it; guarded by mu
	closeSent bool      // draft-76: 0xFF 0x00 has gone out; guarded by mu
}

// runClient connects to addr and speaks WebSocket as the draft says.
func runClient(addr string, draft int, proto string, trace bool) error {
	if draft != 75 && draft != 76 {
		return fmt.Errorf("-draft %d: this client speaks draft 75 or 76", draft)
	}
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	c := conn.(*net.TCPConn)
	log.Printf("connected to %s from %s", c.RemoteAddr(), c.LocalAddr())

	src, dst := traced(c, 0, trace)
	cl := &client{c: c, draft: draft, br: bufio.NewReaderSize(src, maxHead), w: dst}

	c.SetDeadline(time.Now().Add(clientTimeout))
	hs := newHandshake(addr, draft, proto)
	if _, err := dst.Write(hs.request); err != nil {
		return err
	}
	if err := hs.check(cl.br); err != nil {
		return err
	}
	c.SetDeadline(time.Time{})
	log.Printf("WebSocket open (draft-%d): type lines; each one goes out as a frame", draft)

	// Read and write at the same time: replies are printed as they come,
	// not after all of stdin has been sent.
	read := make(chan error, 1)
	go func() { read <- cl.readFrames() }()
	sent := make(chan error, 1)
	go func() { sent <- cl.sendLines(os.Stdin) }()
	select {
	case err := <-read:
		// The server has closed. If we are still sending (stdin is open),
		// stop: nothing more can come back.
		return err
	case err := <-sent:
		if err != nil {
			return err
		}
	}
	// The end of stdin: draft-76 starts the closing handshake; draft-75
	// has none, so the client only says it will send nothing more. Either
	// way the server's last echoes still arrive before it closes.
	if draft == 76 {
		if err := cl.sendClose(); err != nil {
			return err
		}
	} else if err := c.CloseWrite(); err != nil {
		return err
	}
	c.SetReadDeadline(time.Now().Add(clientTimeout))
	return <-read
}

// handshake is a client's opening handshake and what the answer must hold.
type handshake struct {
	draft   int
	request []byte
	// The answer must repeat these; prefix is "WebSocket-" (draft-75) or
	// "Sec-WebSocket-" (draft-76).
	prefix, origin, location, proto string
	answer                          [md5.Size]byte // draft-76: the expected 16 bytes
}

// newHandshake builds the request of draft-75 §4.1 or draft-76 §4.1:
// a GET with fixed Upgrade and Connection lines, the Host, an Origin
// (this client stands for a page the server itself served), and for
// draft-76 two keys in the head and 8 random bytes after it.
func newHandshake(addr string, draft int, proto string) *handshake {
	hs := &handshake{draft: draft, prefix: "WebSocket-", origin: "http://" + addr,
		location: "ws://" + addr + wsPath, proto: proto}
	var b bytes.Buffer
	b.WriteString("GET " + wsPath + " HTTP/1.1\r\n")
	b.WriteString("Upgrade: WebSocket\r\n")
	b.WriteString("Connection: Upgrade\r\n")
	b.WriteString("Host: " + addr + "\r\n")
	b.WriteString("Origin: " + hs.origin + "\r\n")
	if draft == 75 {
		if proto != "" {
			b.WriteString("WebSocket-Protocol: " + proto + "\r\n")
		}
		b.WriteString("\r\n")
		hs.request = b.Bytes()
		return hs
	}
	hs.prefix = "Sec-WebSocket-"
	if proto != "" {
		b.WriteString("Sec-WebSocket-Protocol: " + proto + "\r\n")
	}
	key1, n1 := newKey()
	key2, n2 := newKey()
	b.WriteString("Sec-WebSocket-Key1: " + key1 + "\r\n")
	b.WriteString("Sec-WebSocket-Key2: " + key2 + "\r\n")
	b.WriteString("\r\n")
	var key3 [key3Len]byte
	for i := range key3 {
		key3[i] = byte(rand.IntN(256))
	}
	b.Write(key3[:])
	hs.answer = challenge(n1, n2, key3)
	hs.request = b.Bytes()
	return hs
}

// newKey makes a draft-76 key (§4.1 steps 16-22): a number times a count
// of spaces, written in decimal, with 1 to 12 random non-digits and the
// spaces mixed in. It returns the key and the number the server will find.
func newKey() (string, uint32) {
	spaces := 1 + rand.IntN(12)
	number := rand.IntN(math.MaxUint32/spaces + 1)
	key := []byte(strconv.Itoa(number * spaces))
	insert := func(pos int, c byte) { key = append(key[:pos], append([]byte{c}, key[pos:]...)...) }
	for range 1 + rand.IntN(12) {
		// U+0021 to U+002F and U+003A to U+007E: printable, not digits.
		c := byte(0x21 + rand.IntN(15))
		if rand.IntN(84) >= 15 {
			c = byte(0x3A + rand.IntN(69))
		}
		insert(rand.IntN(len(key)+1), c)
	}
	for range spaces {
		insert(1+rand.IntN(len(key)-1), ' ') // never first or last
	}
	return string(key), uint32(number)
}

// check reads the server's answer and checks it as draft-76 §4.1 (or
// draft-75 §4.1) asks: 101, the Upgrade and Connection lines, the origin
// and location the client sent, the protocol it asked for, and for
// draft-76 the 16 bytes that prove the server read the keys.
func (hs *handshake) check(br *bufio.Reader) error {
	status, fields, err := readResponseHead(br)
	if err != nil {
		return fmt.Errorf("reading the handshake's answer: %w", err)
	}
	if !strings.HasPrefix(status, "HTTP/1.1 101 ") {
		return refused(status, fields, br)
	}
	want := []field{
		{"Upgrade", "WebSocket"},
		{"Connection", "Upgrade"},
		{hs.prefix + "Origin", hs.origin},
		{hs.prefix + "Location", hs.location},
	}
	if hs.proto != "" {
		want = append(want, field{hs.prefix + "Protocol", hs.proto})
	}
	for _, f := range want {
		got, ok := fields[strings.ToLower(f.name)]
		if !ok {
			return fmt.Errorf("the handshake's answer has no %s field", f.name)
		}
		match := got == f.value
		if f.name == "Upgrade" || f.name == "Connection" {
			match = strings.EqualFold(got, f.value) // fixed words: case does not matter
		}
		if !match {
			return fmt.Errorf("the handshake's answer says %s: %s, not %s", f.name, quote(got), quote(f.value))
		}
	}
	if hs.draft == 75 {
		return nil
	}
	var got [md5.Size]byte
	if _, err := io.ReadFull(br, got[:]); err != nil {
		return fmt.Errorf("reading the 16 bytes of the challenge answer: %w", err)
	}
	if got != hs.answer {
		return fmt.Errorf("the challenge answer is %s, not %s: the server did not read the keys right",
			quote(string(got[:])), quote(string(hs.answer[:])))
	}
	return nil
}

// readResponseHead reads a status line and header fields up to the
// blank line, and returns the fields by lower-case name.
func readResponseHead(br *bufio.Reader) (string, map[string]string, error) {
	var status string
	fields := make(map[string]string)
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return "", nil, err // bufio.ErrBufferFull: a head over maxHead
		}
		text := strings.TrimSuffix(strings.TrimSuffix(string(line), "\n"), "\r")
		switch {
		case status == "":
			status = text
		case text == "":
			return status, fields, nil
		default:
			name, value, ok := strings.Cut(text, ":")
			if !ok {
				return "", nil, fmt.Errorf("header line %s has no colon", quote(text))
			}
			fields[strings.ToLower(name)] = strings.Trim(value, " \t")
		}
	}
}

// refused says why the server did not switch: its status and, when the
// server says how long it is, the start of the body (this lesson's
// server explains a refusal there).
func refused(status string, fields map[string]string, br *bufio.Reader) error {
	n, _ := strconv.Atoi(fields["content-length"])
	body := make([]byte, min(max(n, 0), 1024))
	k, _ := io.ReadFull(br, body)
	return fmt.Errorf("the server refused the handshake: %s\n%s", status, body[:k])
}

// sendLines sends each line of r as a text frame. A frame ends at the
// first 0xFF, a byte UTF-8 never uses, so only UTF-8 can travel.
func (cl *client) sendLines(r io.Reader) error {
	lines := bufio.NewReaderSize(r, maxFrame)
	for n := 1; ; n++ {
		line, err := lines.ReadSlice('\n')
		if err == io.EOF && len(line) == 0 {
			return nil
		}
		if err != nil && err != io.EOF {
			if err == bufio.ErrBufferFull {
				return fmt.Errorf("line %d of the input is longer than %d bytes", n, maxFrame)
			}
			return err
		}
		line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		if !utf8.Valid(line) {
			return fmt.Errorf("line %d of the input, %s, is not UTF-8: a text frame carries only UTF-8", n, quote(string(line)))
		}
		frame := append(append([]byte{textFrame}, line...), sentinel)
		if err := cl.write(frame); err != nil {
			return err
		}
	}
}

// write sends bytes; the reading goroutine writes too, to answer a
// closing handshake, so writes take turns.
func (cl *client) write(p []byte) error {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	cl.c.SetWriteDeadline(time.Now().Add(clientTimeout))
	_, err := cl.w.Write(p)
	return err
}

// sendClose sends draft-76's closing frame, once.
func (cl *client) sendClose() error {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if cl.closeSent {
		return nil
	}
	cl.closeSent = true
	cl.c.SetWriteDeadline(time.Now().Add(clientTimeout))
	_, err := cl.w.Write(closingFrame)
	return err
}

// readFrames prints the text of each text frame from the server, one
// line each, until the server closes: with draft-76's closing frame (to
// which it answers with its own if it has not sent one yet), or by
// closing the connection.
func (cl *client) readFrames() error {
	var msg []byte
	for {
		typ, err := cl.br.ReadByte()
		if err == io.EOF {
			if cl.draft == 76 {
				log.Printf("the server closed the connection without a closing handshake")
			} else {
				log.Printf("the server closed the connection")
			}
			return nil
		}
		if err != nil {
			return err
		}
		if typ&lengthBit == 0 {
			msg, err = readSentinelFrame(cl.br, msg[:0])
			if err != nil {
				return err
			}
			if typ == textFrame {
				fmt.Printf("%s\n", msg)
			}
			continue
		}
		n, err := readFrameLength(cl.br)
		if err != nil {
			return err
		}
		if cl.draft == 76 && typ == 0xFF && n == 0 {
			if err := cl.sendClose(); err != nil {
				return err
			}
			log.Printf("closing handshake done")
			return nil
		}
		if _, err := io.CopyN(io.Discard, cl.br, n); err != nil {
			return err
		}
	}
}
