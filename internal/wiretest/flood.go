package wiretest

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/rogpeppe/go-internal/testscript"
)

// The commands in this file speak just enough RFC 6455 to test a chat
// room of WebSocket clients under load (lesson 06's exercise fanout),
// with nothing but Go: wsflood sends numbered text messages from one
// member and has every reader read each one before the next goes out;
// wsdrain reads, later, what a member that never read was sent.

// floodKey masks the frames wsflood sends: a client masks every frame
// (RFC 6455 section 5.3), and a key that is not zero shows a server that
// forgets to unmask.
var floodKey = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// floodMessage returns message i of a flood: "m000042 " and then x up to
// size bytes, so that a reader can tell which one it got.
func floodMessage(i, size int) []byte {
	m := fmt.Appendf(make([]byte, 0, size), "m%06d ", i)
	for len(m) < size {
		m = append(m, 'x')
	}
	return m[:size]
}

// floodTimeout is wsflood's deadline, unless -timeout says otherwise.
const floodTimeout = 20 * time.Second

// wsflood [-timeout d] sender n size reader...
//
// sends n text messages of size bytes (at least 8) on the WebSocket
// connection sender, one at a time: after each, every reader (sender
// too, if named) must read that message, whole and as text, before the
// next goes out. So a room that keeps up never has more than one message
// waiting for the readers, and one that waits for a member that does not
// read stalls. It fails at the first wrong message, or when the whole
// flood takes longer than the timeout (default 20s), saying how far it
// got; else it prints how long it took.
func cmdWsflood(ts *testscript.TestScript, neg bool, args []string) {
	fs, timeout := flags("wsflood")
	*timeout = floodTimeout // the deadline of the whole flood; Parse may change it
	if err := fs.Parse(args); err != nil || fs.NArg() < 4 || neg {
		ts.Fatalf("usage: wsflood [-timeout d] sender n size reader...")
	}
	sender := getConn(ts, fs.Arg(0))
	n, err1 := strconv.Atoi(fs.Arg(1))
	size, err2 := strconv.Atoi(fs.Arg(2))
	if err1 != nil || err2 != nil || n < 1 || size < 8 || size > maxRecv {
		ts.Fatalf("wsflood: want a number of messages and a size of 8 to %d bytes, not %q and %q", maxRecv, fs.Arg(1), fs.Arg(2))
	}
	names := fs.Args()[3:]
	readers := make([]*conn, len(names))
	for i, name := range names {
		readers[i] = getConn(ts, name)
	}
	start := time.Now()
	deadline := start.Add(*timeout)
	frame := make([]byte, 0, size+14)
	for i := range n {
		msg := floodMessage(i, size)
		frame = appendMaskedFrame(frame[:0], 0x81, msg)
		sender.c.SetWriteDeadline(deadline)
		if _, err := sender.c.Write(frame); err != nil {
			ts.Fatalf("wsflood: %s could not send message %d of %d: %v", fs.Arg(0), i, n, explainTimeout(err, *timeout, i, n))
		}
		for j, r := range readers {
			r.c.SetReadDeadline(deadline)
			op, got, err := readMessage(r.r, size)
			switch {
			case err != nil:
				ts.Fatalf("wsflood: %s, reading message %d of %d: %v", names[j], i, n, explainTimeout(err, *timeout, i, n))
			case op != 1 || string(got) != string(msg):
				ts.Fatalf("wsflood: %s got message %d of %d wrong or out of order: %s, not %s", names[j], i, n, describeMessage(op, got), describeMessage(1, msg))
			}
		}
	}
	for _, r := range readers {
		r.c.SetReadDeadline(time.Time{})
	}
	fmt.Fprintf(ts.Stdout(), "%s: all %d messages in order (%d bytes each, %d MiB)\n",
		joinNames(names), n, size, int64(n)*int64(size)>>20)
	ts.Logf("wsflood took %v", time.Since(start).Round(time.Millisecond))
}

// explainTimeout says what a deadline that passed in the middle of a
// flood means.
func explainTimeout(err error, timeout time.Duration, i, n int) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("TIMED OUT: %d of %d messages got through in %v: the room waits for someone", i, n, timeout)
	}
	return err
}

func joinNames(names []string) string {
	s := ""
	for i, n := range names {
		switch {
		case i == 0:
		case i == len(names)-1:
			s += " and "
		default:
			s += ", "
		}
		s += n
	}
	return s
}

// wsdrain [-timeout d] name size
//
// reads what the WebSocket connection name was sent, when it has read
// nothing for a while: the messages of a wsflood of size bytes each,
// numbered from 0, then (a room that dropped it) a close frame, which it
// answers, then the end of the stream. It prints what it read, e.g.
//
//	61 messages in order, then close 1008 "too slow", then EOF
//
// and fails only when the bytes are not WebSocket frames; the script
// matches the line. Each read waits at most the timeout (default 10s).
func cmdWsdrain(ts *testscript.TestScript, neg bool, args []string) {
	fs, timeout := flags("wsdrain")
	if err := fs.Parse(args); err != nil || fs.NArg() != 2 || neg {
		ts.Fatalf("usage: wsdrain [-timeout d] name size")
	}
	c := getConn(ts, fs.Arg(0))
	size, err := strconv.Atoi(fs.Arg(1))
	if err != nil || size < 8 || size > maxRecv {
		ts.Fatalf("wsdrain: want a size of 8 to %d bytes, not %q", maxRecv, fs.Arg(1))
	}
	count := 0
	say := func(format string, args ...any) {
		fmt.Fprintf(ts.Stdout(), "%d messages in order, then "+format+"\n", append([]any{count}, args...)...)
	}
	for {
		c.c.SetReadDeadline(time.Now().Add(*timeout))
		op, got, err := readMessage(c.r, size)
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			say("nothing for %v, and no close frame", *timeout)
			return
		case errors.Is(err, io.EOF):
			say("the end of the stream, without a close frame")
			return
		case errors.Is(err, io.ErrUnexpectedEOF):
			say("the end of the stream inside a frame")
			return
		case isReset(err):
			say("a reset (the server closed with unread bytes), without a close frame")
			return
		case err != nil:
			ts.Fatalf("wsdrain: after %d messages: %v", count, err)
		case op == 9 || op == 10:
			continue // a ping from a server that heard nothing for a while
		case op == 8:
			code, reason := "(no code)", ""
			if len(got) >= 2 {
				code, reason = strconv.Itoa(int(binary.BigEndian.Uint16(got))), string(got[2:])
			}
			// The answer (section 5.5.1): the code back, masked.
			c.c.SetWriteDeadline(time.Now().Add(*timeout))
			c.c.Write(appendMaskedFrame(nil, 0x88, got[:min(len(got), 2)]))
			var rest [1]byte
			k, err := c.r.Read(rest[:])
			end := "EOF"
			switch {
			case k > 0:
				end = "more bytes: " + Escape(rest[:k])
			case isReset(err):
				end = "a reset"
			case err != io.EOF:
				end = fmt.Sprint(err)
			}
			say("close %s %q, then %s", code, reason, end)
			return
		case op != 1 || string(got) != string(floodMessage(count, size)):
			say("a wrong one: %s, not %s", describeMessage(op, got), describeMessage(1, floodMessage(count, size)))
			return
		}
		count++
	}
}

// describeMessage shows the start of a message, and its kind and length.
func describeMessage(op byte, p []byte) string {
	kind := map[byte]string{1: "text", 2: "binary", 8: "close", 9: "ping", 10: "pong"}[op]
	if kind == "" {
		kind = fmt.Sprintf("opcode %d", op)
	}
	head := p[:min(len(p), 16)]
	for len(head) > 0 && !utf8.Valid(head) {
		head = head[:len(head)-1] // a character the cut split
	}
	return fmt.Sprintf("%s of %d bytes %q…", kind, len(p), head)
}

// appendMaskedFrame appends a final frame with the first byte b0 (FIN and
// opcode) and payload p, masked with floodKey.
func appendMaskedFrame(f []byte, b0 byte, p []byte) []byte {
	f = append(f, b0)
	switch n := len(p); {
	case n < 126:
		f = append(f, 0x80|byte(n))
	case n < 1<<16:
		f = append(f, 0x80|126)
		f = binary.BigEndian.AppendUint16(f, uint16(n))
	default:
		f = append(f, 0x80|127)
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	}
	f = append(f, floodKey[:]...)
	for i, b := range p {
		f = append(f, b^floodKey[i%4])
	}
	return f
}

// readMessage reads frames from a server (unmasked, section 5.1) until it
// has a whole message, or a control frame, which it returns at once; a
// ping is a control frame like any other. A message of more than max
// bytes is an error, found before its bytes are read.
func readMessage(r *bufio.Reader, max int) (op byte, msg []byte, err error) {
	for {
		var h [2]byte
		if _, err := io.ReadFull(r, h[:]); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return 0, nil, io.ErrUnexpectedEOF
			}
			return 0, nil, err // io.EOF: between frames
		}
		fin, code := h[0]&0x80 != 0, h[0]&0x0f
		if h[1]&0x80 != 0 {
			return 0, nil, errors.New("a masked frame from the server (section 5.1)")
		}
		n := uint64(h[1] & 0x7f)
		switch n {
		case 126:
			var b [2]byte
			_, err = io.ReadFull(r, b[:])
			n = uint64(binary.BigEndian.Uint16(b[:]))
		case 127:
			var b [8]byte
			_, err = io.ReadFull(r, b[:])
			n = binary.BigEndian.Uint64(b[:])
		}
		if err != nil {
			return 0, nil, noEOF(err)
		}
		if code >= 8 {
			if n > 125 || !fin {
				return 0, nil, fmt.Errorf("a control frame (opcode %d) of %d bytes, FIN %v: not one of section 5.5", code, n, fin)
			}
			p := make([]byte, n)
			_, err := io.ReadFull(r, p)
			return code, p, noEOF(err)
		}
		switch {
		case code == 0 && op == 0:
			return 0, nil, errors.New("a continuation frame with no message to continue (section 5.4)")
		case code != 0 && op != 0:
			return 0, nil, fmt.Errorf("a new message (opcode %d) inside another (section 5.4)", code)
		case n > uint64(max-len(msg)):
			return 0, nil, fmt.Errorf("a message of more than %d bytes", max)
		case code != 0:
			op = code
		}
		start := len(msg)
		msg = append(msg, make([]byte, n)...)
		if _, err := io.ReadFull(r, msg[start:]); err != nil {
			return 0, nil, noEOF(err)
		}
		if fin {
			return op, msg, nil
		}
	}
}

// noEOF turns the end of the stream inside a frame into ErrUnexpectedEOF.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// wssend [-bg] [-frame n] name size
//
// sends one binary message of size bytes, all 'x', on the WebSocket
// connection name, masked, in frames of at most n bytes (default: one
// frame): a message larger than the socket buffers, say, from a member
// that reads nothing meanwhile. With -bg it writes in the background, as
// sendrand -bg does, so that the script can read elsewhere meanwhile;
// shut and close wait for it, and a write the server cut off is no error
// there.
func cmdWssend(ts *testscript.TestScript, neg bool, args []string) {
	fs, _ := flags("wssend")
	bg := fs.Bool("bg", false, "write in the background")
	frameSize := fs.Int("frame", 0, "at most `n` bytes of payload a frame")
	if err := fs.Parse(args); err != nil || fs.NArg() != 2 || neg {
		ts.Fatalf("usage: wssend [-bg] [-frame n] name size")
	}
	c := getConn(ts, fs.Arg(0))
	size, err := strconv.Atoi(fs.Arg(1))
	if err != nil || size < 0 || size > maxRecv {
		ts.Fatalf("wssend: want a size of 0 to %d bytes, not %q", maxRecv, fs.Arg(1))
	}
	n := *frameSize
	if n <= 0 {
		n = max(size, 1)
	}
	c.runWrite(ts, *bg, func() error {
		c.c.SetWriteDeadline(time.Now().Add(time.Minute))
		w := bufio.NewWriterSize(c.c, 64<<10)
		payload := make([]byte, min(n, size))
		for i := range payload {
			payload[i] = 'x'
		}
		var frame []byte
		for sent := 0; sent < size || sent == 0; {
			k := min(n, size-sent)
			b0 := byte(0x00) // a continuation
			if sent == 0 {
				b0 = 0x02 // binary
			}
			if sent+k == size {
				b0 |= 0x80 // FIN
			}
			frame = appendMaskedFrame(frame[:0], b0, payload[:k])
			if _, err := w.Write(frame); err != nil {
				return err
			}
			if sent += k; size == 0 {
				break
			}
		}
		return w.Flush()
	})
}
