// Command 02-encodings is a line echo server that speaks the encoding you
// pick, and a client for it. There are no strings on the wire, only bytes
// that both sides agree stand for text. This file is the line echo; the
// others are named for what they hold, and serve.go and trace.go are the
// skeleton every lesson shares.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"time"
)

const (
	defaultAddr = "localhost:8002" // where the server listens without -addr

	// idleTimeout drops a client that sends no line, or takes no echo,
	// for this long: a vanished client must not hold a socket forever.
	idleTimeout = 2 * time.Minute

	// maxLine bounds a line, newline included. A line is decoded whole,
	// so it must fit in memory; without a bound a client that never sends
	// a newline would make us buffer forever. 64 KiB is far longer than
	// any line a person types, and cheap enough to hold per connection.
	maxLine = 64 << 10

	// echoBuffer is where echoes wait to go out together: a burst of
	// lines costs one write per echoBuffer bytes. As large as a line may
	// be; at 4 KiB, BenchmarkEcho's line echo ran at a third of the speed.
	echoBuffer = maxLine
)

// greeting is what the server says first, in its encoding: a line any
// encoding can say, and one that only Unicode encodings can.
var greeting = []byte("Hello\n汉语/漢語 Hànyǔ\n")

func main() {
	addr := flag.String("addr", defaultAddr, "listen on `host:port` (port 0 picks a free port)")
	connect := flag.String("connect", "", "be a client: connect to the echo server at `host:port`")
	encName := flag.String("encoding", "utf-8", "speak `enc`: ascii, latin1, utf-8, utf-16le or utf-16be")
	naive := flag.Bool("naive", false, "server: decode each read on its own, not each line (wrong on purpose)")
	raw := flag.Bool("raw", false, "client: print the bytes of each line, in hex, under its text")
	trace := flag.Bool("trace", false, "print every byte read and written, with visible escapes")
	idle := flag.Duration("idle-timeout", idleTimeout, "drop a client that sends no line, or takes no echo, for `d`")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "02-encodings: a line echo server that speaks the encoding you pick, and a client.\n\n"+
			"  go run ./02-encodings -encoding utf-16le                   serve on %s\n"+
			"  go run ./02-encodings -connect localhost:8002 -encoding ascii -raw\n"+
			"                                                             send stdin, print what comes back\n\n", defaultAddr)
		flag.PrintDefaults()
	}
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("02-encodings: ")
	enc, encErr := encodingNamed(*encName)
	checkFlags(
		flagRule{"addr", hostPort(*addr, 0), "host:port, the port from 0 (any free port) to 65535"},
		flagRule{"connect", *connect == "" || hostPort(*connect, 1), "host:port, the port from 1 to 65535"},
		flagRule{"encoding", encErr == nil, "ascii, latin1, utf-8, utf-16le or utf-16be"},
		flagRule{"idle-timeout", *idle > 0, "a duration above 0, such as 30s"},
	)

	var err error
	if *connect != "" {
		err = runClient(*connect, enc, *raw, *trace)
	} else {
		err = serve(*addr, &lineServer{enc: enc, naive: *naive, trace: *trace, idle: *idle})
	}
	if err != nil {
		log.Fatal(err)
	}
}

// lineServer is this lesson's handler for the skeleton in serve.go.
type lineServer struct {
	enc   *encoding     // what the server speaks
	naive bool          // decode each read, not each line
	trace bool          // log every byte
	idle  time.Duration // idleTimeout, unless -idle-timeout says otherwise
}

func (s *lineServer) try(port string) string {
	return fmt.Sprintf("nc -N localhost %s   (or: go run ./02-encodings -connect localhost:%s -encoding %s)", port, port, s.enc.name)
}

// echo sends the greeting, then reads c a line at a time and sends each
// line back, decoded and encoded again. It returns the number of lines.
func (s *lineServer) echo(c net.Conn, id int64) (int, error) {
	src, dst := traced(c, id, s.trace)
	// Echoes collect in w, and go out before the server waits for more
	// input: one write for many short lines, none held back while the
	// client waits. (A line longer than w's buffer goes out past it.)
	w := bufio.NewWriterSize(dst, echoBuffer)
	greet, missing := s.enc.encode(nil, greeting)
	if missing.n > 0 {
		log.Printf("#%d greeting: %v", id, missing)
	}
	w.Write(greet)
	if s.naive {
		return s.echoReads(c, id, src, w)
	}

	lr := newLineReader(beforeRead{r: src, c: c, w: w, idle: s.idle}, s.enc)
	var bufs lineBufs
	for n := 0; ; {
		line, err := lr.ReadLine() // up to and with the newline, at most maxLine bytes
		switch {
		case err == errLineTooLong:
			s.sendError(w, "line %d is longer than %d bytes; closing", n+1, maxLine)
			return n, s.closeAfterError(c, w, err)
		case len(line)%len(s.enc.newline) != 0:
			// Only the end of the stream can leave half a UTF-16 code
			// unit: ReadLine looks for the newline at even offsets.
			s.sendError(w, "the stream ended inside a code unit, %d bytes after the last newline", len(line))
		case len(line) > 0:
			n++
			w.Write(s.echoLine(id, n, line, &bufs))
		}
		if err == io.EOF {
			return n, finish(c, w) // the client has sent its last byte: so do we
		} else if err != nil {
			return n, err
		}
	}
}

// lineBufs are echoLine's buffers, reused for every line of a connection:
// echoing a line allocates nothing.
type lineBufs struct{ text, out []byte }

// echoLine decodes line n into text and encodes the text again: the same
// bytes, but where the line was not valid in the server's encoding, and
// the log says where. The result is valid until the next call.
func (s *lineServer) echoLine(id int64, n int, line []byte, b *lineBufs) []byte {
	if s.enc == utf8Enc && validUTF8(line) {
		// Valid UTF-8 decodes to itself and encodes to itself: skip both.
		// validUTF8 is utf8.Valid, made faster (validutf8.go).
		return line
	}
	var bad, missing trouble
	b.text, bad = s.enc.decode(b.text[:0], line)
	b.out, missing = s.enc.encode(b.out[:0], b.text)
	if bad.n > 0 {
		log.Printf("#%d line %d: %v; sent U+FFFD in its place", id, n, bad)
	}
	if missing.n > 0 {
		log.Printf("#%d line %d: %v", id, n, missing)
	}
	return b.out
}
