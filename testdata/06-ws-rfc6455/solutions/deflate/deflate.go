package main

// Exercise deflate: permessage-deflate (RFC 7692), the compression every
// browser offers. The handshake agrees to it (deflateAnswer); then a
// message whose first frame has RSV1 set is DEFLATE data without its
// last four bytes (section 7.2), inflated as its frames arrive and echoed
// compressed, a chunk at a time, like any other message.

import (
	"cmp"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
)

// rsv1 is the "Per-Message Compressed" bit (section 6): set on the first
// frame of a compressed message, and on no other frame.
const rsv1 = 0x40

// deflateAnswer is the server's half of the negotiation (section 5).
// offers is the client's Sec-WebSocket-Extensions: offers in its order of
// preference, each an extension's name and parameters (RFC 6455 section
// 9.1), as Chromium sends it:
//
//	permessage-deflate; client_max_window_bits
//
// It returns the answer to the first permessage-deflate offer the server
// can honour, or "" to decline them all: the 101 then names no extension
// and every frame goes uncompressed, which every client accepts.
func deflateAnswer(offers string) string {
	for _, offer := range splitUnquoted(offers, ',') {
		params := splitUnquoted(offer, ';')
		if strings.TrimSpace(params[0]) != "permessage-deflate" {
			continue
		}
		if answer, ok := acceptDeflate(params[1:]); ok {
			return answer
		}
	}
	return ""
}

// acceptDeflate answers one permessage-deflate offer, if the server can
// honour it. The answer always asks for no context takeover, in both
// directions: each message is compressed, and inflated, on its own. So
// nothing of the compressor or the inflater outlives a message, and an
// idle connection holds no compression state at all (a compressor is
// about 800 KB, a window 32 KiB; the idle connection about 13 KiB).
// Section 7.1.1 lets the server ask for both, offered or not. A
// parameter the server does not know, one given twice, or a value it
// cannot take declines the offer (section 7).
func acceptDeflate(params []string) (answer string, ok bool) {
	answer = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
	seen := make(map[string]bool)
	for _, p := range params {
		name, value, hasValue := strings.Cut(p, "=")
		name, value = strings.TrimSpace(name), unquote(strings.TrimSpace(value))
		if seen[name] {
			return "", false
		}
		seen[name] = true
		switch name {
		case "server_no_context_takeover", "client_no_context_takeover":
			if hasValue {
				return "", false
			}
		case "server_max_window_bits":
			// Go's compress/flate always compresses with a 32 KiB window
			// (15 bits) and cannot be told to use less: a client that
			// asks for less cannot have it, and the answer to 15 must
			// repeat it (section 7.1.2.1).
			if value != "15" {
				return "", false
			}
			answer += "; server_max_window_bits=15"
		case "client_max_window_bits":
			// "I can use a smaller window if you ask": the server does
			// not ask, since its inflater reads any window up to 15 bits,
			// but a value must still be one (section 7.1.2.2).
			if hasValue && !windowBits(value) {
				return "", false
			}
		default:
			return "", false
		}
	}
	return answer, true
}

// windowBits reports whether v is a window size of section 7.1.2: 8 to
// 15, in decimal, with no leading zero.
func windowBits(v string) bool {
	n, err := strconv.Atoi(v)
	return err == nil && n >= 8 && n <= 15 && strconv.Itoa(n) == v
}

// splitUnquoted splits s at each sep that is not inside a quoted-string
// (RFC 9110 section 5.6.4).
func splitUnquoted(s string, sep byte) []string {
	var parts []string
	quoted, start := false, 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && quoted:
			i++ // an escaped character, quote or not
		case s[i] == '"':
			quoted = !quoted
		case s[i] == sep && !quoted:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// unquote returns a parameter's value without the quotes and escapes of a
// quoted-string: client_max_window_bits="10" is 10 (section 7.1). A value
// without its closing quote stays as it is, and fails the check of its
// parameter.
func unquote(v string) string {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return v
	}
	var b strings.Builder
	for i := 1; i < len(v)-1; i++ {
		if v[i] == '\\' && i+1 < len(v)-1 {
			i++
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// errClosedMidMessage says a close frame came between the fragments of a
// compressed message. control has answered it: the closing handshake is
// done, and serve ends as after any other close.
var errClosedMidMessage = errors.New("the client closed in the middle of a message")

// echoDeflated echoes a compressed message whose first frame is h. The
// payloads of all its frames together are one DEFLATE stream, so unlike
// echo, which sees one frame at a time, it reads the whole message: the
// inflater reads the frames as they come (deflated, below), control frames
// between them answered on the way, and the inflated bytes go to the
// compressor a chunk at a time, which writes the echo's frames (echoFrames).
// Memory stays a few chunks, however large the message. The inflated
// size is counted as it comes out, and past ws.maxMessage the message is
// refused with 1009: a few bytes on the wire can inflate to a thousand
// times as many (a zip bomb), so the limit on the wire alone is not enough.
//
// It runs on a goroutine of its own (onOwnStack, fast.go): compress/flate
// takes a goroutine's stack past 4 KiB, and an idle connection would keep
// the bigger stack long after the message.
func (ws *websocket) echoDeflated(h frameHeader) (err error) {
	onOwnStack(func() { err = ws.inflateEcho(h) })
	return err
}

func (ws *websocket) inflateEcho(h frameHeader) error {
	ws.inMessage, ws.op, ws.size = true, h.opcode, h.length
	ws.text = utf8Stream{}
	ws.traceDeflated(h)
	in := getInflater(ws, h)
	defer putInflater(in)
	out := startEcho(ws, ws.op)
	defer out.release()
	buf := getChunk()
	defer putChunk(buf)
	var size int64
	for {
		// Room for one byte past the limit: a message that fills it is
		// over the limit, and goes no further.
		room := int64(chunkSize)
		if left := ws.maxMessage - size; left < room {
			room = left + 1
		}
		n, err := in.fr.Read(buf[:room])
		size += int64(n)
		if size > ws.maxMessage {
			return &closeError{closeTooBig, fmt.Sprintf("a compressed message of %d bytes that inflates past the limit of %d", ws.size, ws.maxMessage)}
		}
		if ws.op == opText && !ws.text.write(buf[:n]) {
			return &closeError{closeInvalidPayload, "a text message that is not UTF-8 (section 8.1)"}
		}
		if werr := out.write(buf[:n]); werr != nil {
			return werr
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return in.src.failure(err)
		}
	}
	// A stream may end in a block marked final before the message ends
	// (section 7.2.3.4): whatever follows it is read and ignored.
	if _, err := io.Copy(io.Discard, &in.src); err != nil {
		return in.src.failure(err)
	}
	if ws.op == opText && !ws.text.complete() {
		return &closeError{closeInvalidPayload, "a text message that ends inside a character (section 8.1)"}
	}
	if ws.trace {
		ws.logf("   inflated %d bytes to %d", ws.size, size)
	}
	if err := out.finish(); err != nil {
		return err
	}
	ws.inMessage, ws.size = false, 0
	ws.messages++
	return nil
}

// deflateTail goes after a compressed message's last byte: the four
// bytes the sender removed (section 7.2.2), 00 00 ff ff, the end of an
// empty stored block; then an empty stored block marked final, so that
// the inflater meets the end of a stream (io.EOF) rather than the end of
// its input (io.ErrUnexpectedEOF).
var deflateTail = []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

// deflated is a compressed message as the inflater reads it: the payloads
// of its frames, unmasked, one after another, then deflateTail. It reads
// the next frame's header itself, and answers a control frame that comes
// between two fragments. It is an io.ByteReader, so flate reads from it
// directly, no further than the stream goes, with no buffer of its own.
type deflated struct {
	ws   *websocket
	key  [4]byte // the current frame's masking key
	pos  int     // where in the current frame's payload the next byte is
	left int64   // bytes of the current frame's payload not read yet
	fin  bool    // the current frame is the message's last
	tail int     // bytes of deflateTail read so far
	err  error   // what went wrong on the connection, if anything
}

func (d *deflated) ReadByte() (byte, error) {
	if err := d.more(); err != nil {
		return 0, err
	}
	if d.left == 0 {
		b := deflateTail[d.tail]
		d.tail++
		return b, nil
	}
	d.wait()
	b, err := d.ws.br.ReadByte()
	if err != nil {
		return 0, d.broken(err)
	}
	b ^= d.key[d.pos&3]
	d.pos++
	d.left--
	return b, nil
}

func (d *deflated) Read(p []byte) (int, error) {
	if err := d.more(); err != nil {
		return 0, err
	}
	if d.left == 0 {
		n := copy(p, deflateTail[d.tail:])
		d.tail += n
		return n, nil
	}
	d.wait()
	n, err := d.ws.br.Read(p[:min(int64(len(p)), d.left)])
	if n == 0 {
		return 0, d.broken(cmp.Or(err, io.ErrNoProgress))
	}
	d.pos = maskFast(d.key, d.pos, p[:n])
	d.left -= int64(n)
	return n, nil
}

// more makes sure a byte can be read: one of the current frame's, or of
// the tail once the last frame is read. Between frames it reads the next
// frame's header (nextFrame checks it: a continuation, within the limit
// on the wire), and answers any control frames first.
func (d *deflated) more() error {
	if d.err != nil {
		return d.err
	}
	for d.left == 0 && !d.fin {
		h, err := d.ws.nextFrame()
		if err != nil {
			return d.broken(err)
		}
		if h.opcode.isControl() {
			done, err := d.ws.control(h)
			if err == nil && done {
				err = errClosedMidMessage
			}
			if err != nil {
				return d.broken(err)
			}
			continue
		}
		d.ws.traceDeflated(h)
		d.key, d.pos, d.left, d.fin = h.key, 0, h.length, h.fin
		d.ws.size += h.length
	}
	if d.left == 0 && d.tail == len(deflateTail) {
		return io.EOF
	}
	return nil
}

// wait keeps the read deadline ahead when a read is about to wait for
// the network, as echo does; a byte already buffered needs no clock.
func (d *deflated) wait() {
	if d.ws.br.Buffered() == 0 {
		within(&d.ws.readBy, d.ws.readWait(), d.ws.setReadDeadline)
	}
}

// broken keeps the first error of the connection, which the inflater
// may hand on changed or not at all, for failure to find.
func (d *deflated) broken(err error) error {
	err = d.ws.readErr(err)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF // the client left in the middle of a message
	}
	if d.err == nil {
		d.err = err
	}
	return d.err
}

// failure says why inflating stopped with err: the connection's own
// error, if it had one; otherwise the data was not DEFLATE, or ended
// inside a block, and the extension's rules are broken (1002).
func (d *deflated) failure(err error) error {
	if d.err != nil {
		return d.err
	}
	return protocolError("a compressed message that does not inflate: %v (RFC 7692 section 7.2.2)", err)
}

// traceDeflated logs a frame of a compressed message for -trace. The
// inflater reads its payload later, so what has already arrived of it is
// shown, unmasked, from the read buffer.
func (ws *websocket) traceDeflated(h frameHeader) {
	if !ws.trace {
		return
	}
	p, _ := ws.br.Peek(int(min(h.length, traceLimit, int64(ws.br.Buffered()))))
	shown := append([]byte(nil), p...)
	mask(h.key, 0, shown)
	ws.logf("<- %s", describeFrame(h, shown))
}

// An inflater is a flate reader and the message it reads. It is taken
// from a pool for one message and reset for it (no context takeover), so
// an idle connection has none.
type inflater struct {
	src deflated
	fr  io.Reader
}

var inflaters = sync.Pool{New: func() any {
	in := &inflater{}
	in.fr = flate.NewReader(&in.src)
	return in
}}

// getInflater takes an inflater for the message whose first frame is h.
func getInflater(ws *websocket, h frameHeader) *inflater {
	in := inflaters.Get().(*inflater)
	in.src = deflated{ws: ws, key: h.key, left: h.length, fin: h.fin}
	// No dictionary: the client does not take context over (the answer
	// said client_no_context_takeover), so nothing of the last message
	// is needed to inflate this one.
	in.fr.(flate.Resetter).Reset(&in.src, nil)
	return in
}

func putInflater(in *inflater) {
	in.src = deflated{} // let go of the connection
	inflaters.Put(in)
}

// maxDeflaters bounds the compressors in use at once. One is about
// 800 KB (compress/flate at the default level keeps a 32 KiB window and
// hash tables for it), so a thousand connections echoing at the same
// moment would take 800 MB; with 64, at most about 50 MB. When all are
// busy, the echo goes uncompressed, which RFC 7692 allows for any
// message: RSV1 is set message by message.
const maxDeflaters = 64

var (
	deflaterSlots = make(chan struct{}, maxDeflaters)
	deflaters     = sync.Pool{New: func() any {
		d := &deflater{}
		d.fw, _ = flate.NewWriter(&d.frames, flate.DefaultCompression)
		return d
	}}
)

// A deflater is a compressor that writes its output into an echo's frames.
type deflater struct {
	fw     *flate.Writer
	frames echoFrames
}

// An echoOut is where an inflated message goes: to a compressor when one
// is free, or else straight into uncompressed frames.
type echoOut struct {
	d      *deflater  // the compressor, or nil
	frames echoFrames // the uncompressed frames, when d is nil
}

// startEcho begins the echo of a message of opcode op.
func startEcho(ws *websocket, op opcode) echoOut {
	select {
	case deflaterSlots <- struct{}{}:
		d := deflaters.Get().(*deflater)
		d.frames = echoFrames{ws: ws, op: op, compressed: true, buf: getChunk()}
		// Reset forgets the last message (no context takeover): each
		// message compressed on its own, as the answer promised.
		d.fw.Reset(&d.frames)
		return echoOut{d: d}
	default:
		return echoOut{frames: echoFrames{ws: ws, op: op, buf: getChunk()}}
	}
}

func (e *echoOut) write(p []byte) error {
	if e.d != nil {
		_, err := e.d.fw.Write(p)
		return err
	}
	_, err := e.frames.Write(p)
	return err
}

// finish sends what is left of the echo as its last frame. A compressed
// one is flushed first, to a byte boundary, which ends the stream in 00
// 00 ff ff, and those four bytes are left out (section 7.2.1).
func (e *echoOut) finish() error {
	if e.d == nil {
		return e.frames.send(true, e.frames.n)
	}
	if err := e.d.fw.Flush(); err != nil {
		return err
	}
	f := &e.d.frames
	if f.n < 4 || string(f.buf[maxHeader+f.n-4:maxHeader+f.n]) != "\x00\x00\xff\xff" {
		return errors.New("compress/flate's flush did not end in 00 00 ff ff")
	}
	return f.send(true, f.n-4)
}

// release gives back the compressor and the buffer.
func (e *echoOut) release() {
	if e.d == nil {
		putChunk(e.frames.buf)
		return
	}
	putChunk(e.d.frames.buf)
	e.d.frames = echoFrames{} // let go of the connection
	deflaters.Put(e.d)
	<-deflaterSlots
}

// echoFrames cuts the bytes written to it into the echo's frames, a chunk
// each, the first with the message's opcode (and RSV1 if compressed). In
// a compressed message the last four bytes written always stay behind:
// they may be the 00 00 ff ff that finish leaves out.
type echoFrames struct {
	ws         *websocket
	op         opcode // the next frame's: the message's, then continuation
	compressed bool
	buf        *chunk // a header's room, then the payload so far
	n          int    // payload bytes in buf
}

func (f *echoFrames) Write(p []byte) (int, error) {
	written := len(p)
	for len(p) > 0 {
		k := copy(f.buf[maxHeader+f.n:], p)
		f.n += k
		p = p[k:]
		if f.n == chunkSize {
			keep := 0
			if f.compressed {
				keep = 4
			}
			if err := f.send(false, f.n-keep); err != nil {
				return 0, err
			}
		}
	}
	return written, nil
}

// send sends the first n bytes of the payload as a frame, and moves the
// rest to the front.
func (f *echoFrames) send(fin bool, n int) error {
	start := maxHeader - headerLen(n)
	appendHeader(f.buf[start:start], fin, f.op, n)
	if f.compressed && f.op != opContinuation {
		f.buf[start] |= rsv1
	}
	if err := f.ws.writeFrame(f.buf[start : maxHeader+n]); err != nil {
		return err
	}
	f.op = opContinuation
	f.n = copy(f.buf[maxHeader:], f.buf[maxHeader+n:maxHeader+f.n])
	return nil
}
