package main

// This file is the client side, a small websocat: the handshake from the
// other end (section 4.1), masked frames (section 5.3), and reading whole
// messages back.

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// runClient connects to ws://addr/ws, sends each line of stdin as a text
// message and prints every message that comes back. A line "/ping TEXT"
// sends a ping instead, "/close CODE REASON" a close frame. At the end of
// stdin it closes with 1000 and waits for the server's close. If the
// server closes first (Ctrl-C on the server), it stops at once instead of
// waiting for the end of stdin; the program then exits.
func runClient(addr string, trace bool, in io.Reader, out io.Writer) error {
	// net.Dial tries every address the host resolves to (IPv6 and IPv4)
	// until one answers.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	log.Printf("connected to %s from %s", conn.RemoteAddr(), conn.LocalAddr())
	cl := &client{c: conn, br: bufio.NewReaderSize(conn, wsReadBuffer), trace: trace, out: out}
	if err := cl.handshake(addr); err != nil {
		return err
	}

	done := make(chan error, 1)
	go func() { done <- cl.readLoop() }()
	stop := make(chan struct{})
	defer close(stop)
	lines, inputErr := readLines(in, stop)
	for input := true; input; {
		select {
		case err := <-done:
			// The server has closed: nothing more can come back, and
			// nothing more is sent, whatever stdin still holds.
			return err
		case line, ok := <-lines:
			if !ok {
				input = false
				break
			}
			if err := cl.command(line); err != nil {
				return err
			}
		}
	}
	if err := <-inputErr; err != nil {
		return err
	}
	// End of input: close with 1000 (if the input did not close already),
	// then wait for the server's close frame and for it to close TCP.
	if err := cl.send(opClose, binary.BigEndian.AppendUint16(nil, closeNormal)); err != nil {
		return err
	}
	select {
	case err := <-done:
		return err
	case <-time.After(closeTimeout):
		return fmt.Errorf("no close frame from the server within %v", closeTimeout)
	}
}

// client is the client's side of one WebSocket. Two goroutines write to
// it, runClient's, which sends the lines of stdin, and readLoop, which
// answers pings, so every frame is written under mu: one writer at a time.
type client struct {
	c     net.Conn
	br    *bufio.Reader
	trace bool
	out   io.Writer // where the messages go: stdout

	mu        sync.Mutex
	closeSent bool   // guarded by mu: after a close frame, nothing more (section 5.5.1)
	frame     []byte // guarded by mu: the frame being sent

	hdr [maxHeader]byte // readLoop's: the header being read
}

// handshake sends the opening handshake and checks the server's answer
// (section 4.1): 101, the two Upgrade headers, and the Accept that proves
// the server read this key.
func (cl *client) handshake(addr string) error {
	var nonce [16]byte
	rand.Read(nonce[:])
	key := base64.StdEncoding.EncodeToString(nonce[:])
	req := "GET " + wsPath + " HTTP/1.1\r\n" +
		"Host: " + addr + "\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\n" +
		"Sec-WebSocket-Version: 13\r\n\r\n"
	cl.c.SetDeadline(time.Now().Add(headTimeout))
	defer cl.c.SetDeadline(time.Time{})
	if cl.trace {
		tracer{id: 0, arrow: "->"}.log([]byte(req))
	}
	if _, err := io.WriteString(cl.c, req); err != nil {
		return err
	}
	head, err := readHead(cl.br, nil)
	if err != nil {
		return fmt.Errorf("reading the handshake's answer: %w", err)
	}
	if cl.trace {
		tracer{id: 0, arrow: "<-"}.log(head)
	}
	var rs request // a response head parses like a request head
	status, rest, _ := strings.Cut(string(head), "\r\n")
	for line := range strings.SplitSeq(strings.TrimSuffix(rest, "\r\n\r\n"), "\r\n") {
		if herr := rs.parseField(line); herr != nil {
			return fmt.Errorf("the server's answer: %v", herr)
		}
	}
	accept, _ := rs.header("Sec-WebSocket-Accept")
	switch {
	case !strings.HasPrefix(status, "HTTP/1.1 101 "):
		return fmt.Errorf("the server refused the handshake: %s", quote(status))
	case !hasToken(rs.list("Upgrade"), "websocket"):
		return fmt.Errorf("the server's 101 has no \"Upgrade: websocket\"")
	case !hasToken(rs.list("Connection"), "Upgrade"):
		return fmt.Errorf("the server's 101 has no \"Connection: Upgrade\"")
	case accept != acceptKey(key):
		return fmt.Errorf("Sec-WebSocket-Accept %s is not %s, the answer to our key", quote(accept), acceptKey(key))
	}
	log.Printf("handshake done: %s", status)
	return nil
}

// readLines reads in on a goroutine of its own and hands over each line,
// until the end of in, when it closes lines and puts the error, if any,
// in inputErr; or until stop is closed. It only reads: runClient sends.
// A read from stdin cannot be interrupted in a portable way (a terminal
// or a pipe has no deadline on every system), so once runClient has
// returned, the goroutine may stay blocked in its read until the next
// line or the end of input comes, and then it returns without handing
// the line over. The program exits when runClient returns, which ends it
// sooner.
func readLines(in io.Reader, stop <-chan struct{}) (lines <-chan string, inputErr <-chan error) {
	ch := make(chan string)
	errc := make(chan error, 1)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(in)
		sc.Buffer(nil, maxMessage)
		for sc.Scan() {
			select {
			case ch <- sc.Text():
			case <-stop:
				return
			}
		}
		errc <- sc.Err()
	}()
	return ch, errc
}

// command sends one line of input.
func (cl *client) command(line string) error {
	switch {
	case line == "/ping" || strings.HasPrefix(line, "/ping "):
		return cl.send(opPing, []byte(strings.TrimPrefix(strings.TrimPrefix(line, "/ping"), " ")))
	case line == "/close" || strings.HasPrefix(line, "/close "):
		codeText, reason, _ := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(line, "/close"), " "), " ")
		code, err := strconv.ParseUint(codeText, 10, 16)
		if err != nil {
			// A typing mistake is no reason to drop the connection.
			log.Printf("%s: want /close CODE [REASON], such as /close 1000 bye", quote(line))
			return nil
		}
		return cl.send(opClose, append(binary.BigEndian.AppendUint16(nil, uint16(code)), reason...))
	}
	return cl.send(opText, []byte(line))
}

// send writes one frame, masked with a new random key (section 5.3: a
// client masks every frame, with a key the page's script cannot predict,
// so that it cannot choose the bytes a proxy on the way sees).
func (cl *client) send(op opcode, payload []byte) error {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if cl.closeSent {
		return nil
	}
	cl.closeSent = op == opClose
	var key [4]byte
	rand.Read(key[:])
	f := appendHeader(cl.frame[:0], true, op, len(payload))
	f[1] |= maskBit
	f = append(f, key[:]...)
	start := len(f)
	f = append(f, payload...)
	mask(key, 0, f[start:])
	cl.frame = f
	if cl.trace {
		h := frameHeader{fin: true, opcode: op, masked: true, key: key, length: int64(len(payload))}
		log.Printf("#0 -> %s", describeFrame(h, payload))
	}
	cl.c.SetWriteDeadline(time.Now().Add(frameTimeout))
	_, err := cl.c.Write(f)
	return err
}

// readLoop prints the messages the server sends, answers its pings, and
// returns once the server has closed: nil after a closing handshake.
func (cl *client) readLoop() error {
	var msg []byte
	var op opcode
	for {
		h, p, err := cl.readFrame(len(msg))
		if err != nil {
			return err
		}
		switch {
		case h.opcode == opPing:
			if err := cl.send(opPong, p); err != nil {
				return err
			}
		case h.opcode == opPong:
			log.Printf("pong %s", quote(string(p)))
		case h.opcode == opClose:
			log.Printf("the server closed: %s", describeClose(p))
			cl.send(opClose, p[:min(len(p), 2)]) // answer, unless we closed first
			// Section 7.1.1: the server closes TCP first; wait for it.
			cl.c.SetReadDeadline(time.Now().Add(closeTimeout))
			io.Copy(io.Discard, cl.br)
			return nil
		case h.opcode != opContinuation && op != 0:
			return fmt.Errorf("a new %s message before the last one ended", h.opcode)
		case h.opcode == opContinuation && op == 0:
			return fmt.Errorf("a continuation frame with no message to continue")
		default:
			if h.opcode != opContinuation {
				op = h.opcode
			}
			msg = append(msg, p...)
			if h.fin {
				cl.print(op, msg)
				msg, op = msg[:0], 0
			}
		}
	}
}

// readFrame reads one frame from the server and checks what a client
// must: server frames are never masked (section 5.1), control frames are
// small and whole, and no message outgrows maxMessage.
func (cl *client) readFrame(sofar int) (frameHeader, []byte, error) {
	cl.c.SetReadDeadline(time.Time{}) // the server pings when it wants to know
	h, err := readHeader(cl.br, &cl.hdr)
	if err != nil {
		return h, nil, err
	}
	switch {
	case h.masked:
		return h, nil, errors.New("the server masked a frame; servers never do (section 5.1)")
	case h.rsv != 0 || !h.opcode.defined():
		return h, nil, fmt.Errorf("a frame with RSV bits %03b and %s", h.rsv>>4, h.opcode)
	case h.opcode.isControl() && (h.length > maxControl || !h.fin):
		return h, nil, fmt.Errorf("a %s frame of %d bytes, fragmented: %v", h.opcode, h.length, !h.fin)
	case h.length > maxMessage-int64(sofar): // not sofar+h.length, which a huge length wraps around
		return h, nil, fmt.Errorf("a message of more than %d bytes", maxMessage)
	}
	p := make([]byte, h.length)
	cl.c.SetReadDeadline(time.Now().Add(frameTimeout))
	if _, err := io.ReadFull(cl.br, p); err != nil {
		return h, nil, err
	}
	if cl.trace {
		log.Printf("#0 <- %s", describeFrame(h, p))
	}
	return h, p, nil
}

// print shows a message: text as a line of its own, binary as its length
// and its bytes with visible escapes.
func (cl *client) print(op opcode, msg []byte) {
	switch {
	case op == opBinary:
		fmt.Fprintf(cl.out, "binary, %d bytes: %s\n", len(msg), escape(msg))
	case !utf8.Valid(msg):
		fmt.Fprintf(cl.out, "text that is not UTF-8, %d bytes: %s\n", len(msg), escape(msg))
	default:
		fmt.Fprintf(cl.out, "%s\n", msg)
	}
}
