package main

// This file is what makes the echo fast and an idle connection small.
// Read it after the rest: each function here does what a plainer one
// would, and says which, and the tests hold the two to the same answers.
// None changes a byte on the wire.

import (
	"bufio"
	"encoding/binary"
	"io"
	"sync"
	"time"
)

// maskFast is mask (frame.go), 8 bytes at a time: the key is rotated to
// start at pos, repeated to 8 bytes, and XORed as a uint64, four words per
// turn of the loop. On a 64 KiB chunk it is more than ten times as fast as
// the byte-by-byte loop (BenchmarkMask); TestMaskFast checks that it gives
// the same bytes for every length and starting position.
func maskFast(key [4]byte, pos int, p []byte) int {
	var k [8]byte
	for i := range k {
		k[i] = key[(pos+i)&3]
	}
	k64 := binary.LittleEndian.Uint64(k[:])
	i := 0
	for ; i+32 <= len(p); i += 32 {
		q := p[i : i+32 : i+32]
		binary.LittleEndian.PutUint64(q[0:], binary.LittleEndian.Uint64(q[0:])^k64)
		binary.LittleEndian.PutUint64(q[8:], binary.LittleEndian.Uint64(q[8:])^k64)
		binary.LittleEndian.PutUint64(q[16:], binary.LittleEndian.Uint64(q[16:])^k64)
		binary.LittleEndian.PutUint64(q[24:], binary.LittleEndian.Uint64(q[24:])^k64)
	}
	for ; i+8 <= len(p); i += 8 {
		binary.LittleEndian.PutUint64(p[i:], binary.LittleEndian.Uint64(p[i:])^k64)
	}
	for ; i < len(p); i++ {
		p[i] ^= k[i&7]
	}
	return pos + len(p)
}

// peekHeader is readHeader (frame.go) without the copy: the header is
// parsed where it lies in the reader's buffer. The first two bytes say
// how long it is, and Peek waits for that many.
func peekHeader(r *bufio.Reader) (frameHeader, error) {
	b, err := r.Peek(2)
	if err != nil {
		return frameHeader{}, err
	}
	size := headerSize(b[1])
	if b, err = r.Peek(size); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF // the peer left in the middle of a header
		}
		return frameHeader{}, err
	}
	h, err := parseHeader(b)
	if err == nil {
		r.Discard(size)
	}
	return h, err
}

// within makes sure *by leaves between d/2 and d from now, calling set
// only when it must move. The plain way, set(time.Now().Add(d)) before
// every read and write, costs a timer update each time, as much as
// echoing a small message; this way the deadline moves once per d/2.
func within(by *time.Time, d time.Duration, set func(time.Time) error) {
	if now := time.Now(); by.Sub(now) < d/2 {
		*by = now.Add(d)
		set(*by)
	}
}

// chunk is the buffer a frame is echoed through: room for the longest
// header, then the payload.
type chunk = [maxHeader + chunkSize]byte

// chunks holds the buffers frames are echoed through. The plain way is a
// buffer in every connection, 64 KiB each even while it is idle, or a new
// one for every frame, which makes garbage as fast as the echo runs. A
// connection takes one from the pool only while it echoes a frame, so an
// idle connection holds none, and a busy server reuses a few.
var chunks = sync.Pool{New: func() any { return new(chunk) }}

func getChunk() *chunk  { return chunks.Get().(*chunk) }
func putChunk(c *chunk) { chunks.Put(c) }

// onOwnStack runs f on a goroutine of its own, and waits for it to end.
// The plain way is to call f. But a goroutine's stack grows to fit its
// deepest call, and the garbage collector halves it only while less than
// a quarter is in use. Serving HTTP requests takes a stack to 8 KiB; the
// WebSocket echo fits in 4. A WebSocket may stay open for hours, so the
// HTTP requests are served on a goroutine that takes its big stack with
// it when it ends, and the WebSocket goes on from the caller's small
// stack (BenchmarkIdle: about 40 MiB less at 10,000 idle WebSockets).
func onOwnStack(f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	<-done
}
