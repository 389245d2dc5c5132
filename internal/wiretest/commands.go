package wiretest

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

const (
	// startTimeout bounds how long serve waits for "listening on".
	startTimeout = 20 * time.Second
	// stopTimeout bounds how long interrupt waits for the server to exit.
	stopTimeout = 20 * time.Second
	// defaultTimeout is the deadline of one recv, eof or waitlog.
	defaultTimeout = 10 * time.Second
	// maxRecv bounds what one recv keeps in memory.
	maxRecv = 256 << 20
)

// state is one script's servers and connections.
type state struct {
	t      testscript.T // the script's test, for Skip
	lesson string       // the command that serve starts
	srv    *server      // the running server, or nil
	conns  map[string]*conn
}

func (st *state) cleanup() {
	for _, c := range st.conns {
		c.c.Close()
	}
	if st.srv != nil {
		st.srv.cmd.Process.Kill()
		<-st.srv.done
	}
}

// server is a lesson program running in the background.
type server struct {
	cmd  *exec.Cmd
	addr string        // the address it logged, e.g. 127.0.0.1:40123
	done chan struct{} // closed when the process has exited
	err  error         // cmd.Wait's result; read after done

	mu      sync.Mutex
	log     bytes.Buffer  // stdout and stderr so far; guarded by mu
	changed chan struct{} // closed and replaced on every write; guarded by mu
}

func (s *server) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log.Write(p)
	close(s.changed)
	s.changed = make(chan struct{})
	return len(p), nil
}

// waitLog waits until the log matches re and returns the submatches.
// The log passes through view (if not nil) first.
func (s *server) waitLog(re *regexp.Regexp, timeout time.Duration, view func(string) string) ([]string, error) {
	if view == nil {
		view = func(s string) string { return s }
	}
	deadline := time.After(timeout)
	for {
		s.mu.Lock()
		m := re.FindStringSubmatch(view(s.log.String()))
		changed := s.changed
		s.mu.Unlock()
		if m != nil {
			return m, nil
		}
		select {
		case <-changed:
		case <-s.done:
			// The process has exited: its output is complete.
			if m := re.FindStringSubmatch(view(s.logString())); m != nil {
				return m, nil
			}
			return nil, fmt.Errorf("server exited (%v) before logging %q; its log:\n%s", s.err, re, s.logString())
		case <-deadline:
			return nil, fmt.Errorf("server did not log %q within %v; its log:\n%s", re, timeout, s.logString())
		}
	}
}

func (s *server) logString() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

var listeningRE = regexp.MustCompile(`listening on (\S+)`)

// serve [-env KEY=VALUE]... [args...]
//
// starts the lesson in the background with -addr 127.0.0.1:0 (unless the
// arguments give an -addr) and the test's environment plus each -env,
// waits until it logs "listening on ADDR", and sets $ADDR, $HOST and $PORT.
func cmdServe(ts *testscript.TestScript, neg bool, args []string) {
	st := getState(ts)
	if neg {
		ts.Fatalf("usage: serve [-env KEY=VALUE]... [args...]")
	}
	var env []string
	for len(args) >= 2 && args[0] == "-env" {
		if !strings.Contains(args[1], "=") {
			ts.Fatalf("serve -env %s: want KEY=VALUE", args[1])
		}
		env = append(env, args[1])
		args = args[2:]
	}
	if st.srv != nil {
		ts.Fatalf("a server is already running; interrupt it first")
	}
	if !slices.ContainsFunc(args, func(a string) bool { return a == "-addr" || strings.HasPrefix(a, "-addr=") }) {
		args = append([]string{"-addr", "127.0.0.1:0"}, args...)
	}
	path, err := exec.LookPath(st.lesson)
	ts.Check(err)
	s := &server{cmd: exec.Command(path, args...), done: make(chan struct{}), changed: make(chan struct{})}
	s.cmd.Dir = ts.MkAbs(".")
	s.cmd.Env = append(os.Environ(), env...)
	s.cmd.Stdout = s
	s.cmd.Stderr = s
	ts.Check(s.cmd.Start())
	st.srv = s
	go func() {
		s.err = s.cmd.Wait()
		close(s.done)
	}()
	m, err := s.waitLog(listeningRE, startTimeout, nil)
	ts.Check(err)
	s.addr = m[1]
	host, port, err := net.SplitHostPort(s.addr)
	ts.Check(err)
	ts.Setenv("ADDR", s.addr)
	ts.Setenv("HOST", host)
	ts.Setenv("PORT", port)
}

// interrupt
//
// interrupts the server (Ctrl-C), waits for it to exit and prints its log
// to stdout, scrubbed as serverlog does. It fails if the server does not
// exit 0, unless negated. (testscript's own "stop" ends a script.)
func cmdInterrupt(ts *testscript.TestScript, neg bool, args []string) {
	st := getState(ts)
	s := st.srv
	if s == nil {
		ts.Fatalf("no server is running")
	}
	if runtime.GOOS == "windows" {
		s.cmd.Process.Kill() // Windows has no SIGINT to send
	} else {
		s.cmd.Process.Signal(os.Interrupt)
	}
	select {
	case <-s.done:
	case <-time.After(stopTimeout):
		s.cmd.Process.Kill()
		<-s.done
		ts.Fatalf("server did not exit within %v of Ctrl-C; its log:\n%s", stopTimeout, s.logString())
	}
	st.srv = nil
	fmt.Fprint(ts.Stdout(), st.scrub(s.logString(), s.addr))
	if s.err != nil && !neg {
		ts.Fatalf("server exited with %v", s.err)
	}
	if s.err == nil && neg {
		ts.Fatalf("server exited 0, unexpectedly")
	}
}

// serverlog
//
// prints the running server's log so far, with the addresses of the
// script's connections replaced by their names (<c>), the server's by
// $ADDR and its port by $PORT, and other loopback ports by *.
func cmdServerlog(ts *testscript.TestScript, neg bool, args []string) {
	st := getState(ts)
	if len(args) != 0 || neg {
		ts.Fatalf("usage: serverlog")
	}
	if st.srv == nil {
		ts.Fatalf("no server is running")
	}
	fmt.Fprint(ts.Stdout(), st.scrub(st.srv.logString(), st.srv.addr))
}

var loopbackAddrRE = regexp.MustCompile(`(127\.0\.0\.1|\[::1\]):\d+`)

// scrub replaces the addresses in a server log that change from run to run.
func (st *state) scrub(log, srvAddr string) string {
	for name, c := range st.conns {
		log = strings.ReplaceAll(log, c.local, "<"+name+">")
	}
	if srvAddr != "" {
		_, port, _ := net.SplitHostPort(srvAddr)
		log = strings.ReplaceAll(log, srvAddr, "$ADDR")
		log = regexp.MustCompile(`\b`+port+`\b`).ReplaceAllString(log, "$$PORT")
	}
	return loopbackAddrRE.ReplaceAllString(log, "$1:*")
}

// waitlog [-timeout d] 'regexp'
//
// waits until the server's log, scrubbed as serverlog prints it, matches
// the regular expression (so '#1 <c> left' can name connection c).
func cmdWaitlog(ts *testscript.TestScript, neg bool, args []string) {
	fs, timeout := flags("waitlog")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 || neg {
		ts.Fatalf("usage: waitlog [-timeout d] 'regexp'")
	}
	st := getState(ts)
	if st.srv == nil {
		ts.Fatalf("no server is running")
	}
	re, err := regexp.Compile(fs.Arg(0))
	ts.Check(err)
	_, err = st.srv.waitLog(re, *timeout, func(log string) string { return st.scrub(log, st.srv.addr) })
	ts.Check(err)
}

// conn is a connection the script opened.
type conn struct {
	c     *net.TCPConn
	tls   *tls.Conn // TLS over c, after tlsdial; or nil
	r     *bufio.Reader
	local string     // local address, as the server logs it
	bg    chan error // result of a background send (runWrite), or nil
}

// runWrite runs write now, or with bg in the background, where shut,
// close and waitSend wait for it; one background write at a time.
func (c *conn) runWrite(ts *testscript.TestScript, bg bool, write func() error) {
	if c.bg != nil {
		ts.Fatalf("a background send is still writing on this connection")
	}
	if bg {
		c.bg = make(chan error, 1)
		go func() { c.bg <- write() }()
		return
	}
	ts.Check(write())
}

// waitSend waits for a background send, if any, to finish.
func (c *conn) waitSend() error {
	if c.bg == nil {
		return nil
	}
	err := <-c.bg
	c.bg = nil
	return err
}

func getConn(ts *testscript.TestScript, name string) *conn {
	c := getState(ts).conns[name]
	if c == nil {
		ts.Fatalf("no connection named %q; open one with dial", name)
	}
	return c
}

// dial [-retry-on 'bytes'] name [addr]
//
// opens a TCP connection to addr (default $ADDR) and calls it name. With
// -retry-on, a connection whose first bytes (within refusalWindow) are
// exactly 'bytes' followed by the server closing is a refusal: dial again
// until the server accepts or defaultTimeout passes. That waits out a
// server that frees a place just after it logs that a client left.
func cmdDial(ts *testscript.TestScript, neg bool, args []string) {
	fs, _ := flags("dial")
	retryOn := fs.String("retry-on", "", "dial again while the server answers with these `bytes` and closes")
	if err := fs.Parse(args); err != nil || fs.NArg() < 1 || fs.NArg() > 2 {
		ts.Fatalf("usage: dial [-retry-on 'bytes'] name [addr]")
	}
	name, addr := fs.Arg(0), ts.Getenv("ADDR")
	if fs.NArg() == 2 {
		addr = fs.Arg(1)
	}
	refusal, err := Unescape(*retryOn)
	ts.Check(err)
	giveUp := time.Now().Add(defaultTimeout)
	for {
		nc, err := net.DialTimeout("tcp", addr, defaultTimeout)
		if neg {
			if err == nil {
				nc.Close()
				ts.Fatalf("dial %s succeeded, unexpectedly", addr)
			}
			return
		}
		ts.Check(err)
		c := &conn{c: nc.(*net.TCPConn), r: bufio.NewReader(nc), local: nc.LocalAddr().String()}
		if len(refusal) > 0 && time.Now().Before(giveUp) && refused(c, refusal) {
			nc.Close()
			continue
		}
		st := getState(ts)
		if old := st.conns[name]; old != nil {
			old.c.Close()
		}
		st.conns[name] = c
		return
	}
}

// refusalWindow is how long dial -retry-on waits for a refusal to come.
const refusalWindow = 500 * time.Millisecond

// refused reports whether c's first bytes are refusal and then EOF. Bytes
// it peeks at stay in c.r for the script to read.
func refused(c *conn, refusal []byte) bool {
	c.c.SetReadDeadline(time.Now().Add(refusalWindow))
	defer c.c.SetReadDeadline(time.Time{})
	got, err := c.r.Peek(len(refusal) + 1)
	return bytes.Equal(got, refusal) && err == io.EOF
}

// send [-after d] [-chunk n] [-pause d] name 'bytes'...
//
// writes the arguments, Go escapes decoded (\r \n \t \\ \xHH \uHHHH), as
// one write, or in writes of n bytes with a pause between them (default
// 50ms) so that they arrive as separate TCP segments. With -after it
// first waits d: for stories about when bytes come, such as a frame that
// begins just before a deadline, never to wait for the server to be ready.
func cmdSend(ts *testscript.TestScript, neg bool, args []string) {
	fs, _ := flags("send")
	after := fs.Duration("after", 0, "wait `d` before the first write")
	chunk := fs.Int("chunk", 0, "write `n` bytes at a time")
	pause := fs.Duration("pause", 50*time.Millisecond, "pause between chunks")
	if err := fs.Parse(args); err != nil || fs.NArg() < 1 {
		ts.Fatalf("usage: send [-after d] [-chunk n] [-pause d] name 'bytes'...")
	}
	c := getConn(ts, fs.Arg(0))
	var data []byte
	for _, a := range fs.Args()[1:] {
		b, err := Unescape(a)
		ts.Check(err)
		data = append(data, b...)
	}
	time.Sleep(*after)
	checkNeg(ts, neg, writeChunks(c, data, *chunk, *pause))
}

// sendfile name file
//
// writes the bytes of a file (for example one from the script's archive).
func cmdSendfile(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: sendfile name file")
	}
	c := getConn(ts, args[0])
	data, err := os.ReadFile(ts.MkAbs(args[1]))
	ts.Check(err)
	checkNeg(ts, neg, writeChunks(c, data, 0, 0))
}

func writeChunks(c *conn, data []byte, chunk int, pause time.Duration) error {
	if c.bg != nil {
		return errors.New("a background sendrand is still writing on this connection")
	}
	if chunk <= 0 {
		chunk = len(data)
	}
	for len(data) > 0 {
		n := min(chunk, len(data))
		c.c.SetWriteDeadline(time.Now().Add(defaultTimeout))
		if _, err := c.stream().Write(data[:n]); err != nil {
			return err
		}
		data = data[n:]
		if len(data) > 0 {
			time.Sleep(pause) // lets the piece leave as its own segment
		}
	}
	return nil
}

// sendrand [-bg] [-seed s] [-prefix 'bytes'] name n
//
// writes n pseudo-random bytes (the same bytes for the same seed), in the
// background with -bg so that the script can read the echo meanwhile.
// shut and close wait for a background send to finish. With -prefix, the
// given bytes (Go escapes decoded) go first, in the same write as the
// start of the random ones: a request head and its body arrive together.
func cmdSendrand(ts *testscript.TestScript, neg bool, args []string) {
	fs, _ := flags("sendrand")
	bg := fs.Bool("bg", false, "write in the background")
	seed := fs.Uint64("seed", 1, "seed of the bytes")
	prefix := fs.String("prefix", "", "write these `bytes` first")
	if err := fs.Parse(args); err != nil || fs.NArg() != 2 || neg {
		ts.Fatalf("usage: sendrand [-bg] [-seed s] [-prefix 'bytes'] name n")
	}
	head, err := Unescape(*prefix)
	ts.Check(err)
	c := getConn(ts, fs.Arg(0))
	n, err := strconv.ParseInt(fs.Arg(1), 10, 64)
	ts.Check(err)
	c.runWrite(ts, *bg, func() error {
		c.c.SetWriteDeadline(time.Now().Add(time.Minute))
		w, r := c.stream(), randReader(n, *seed)
		if len(head) > 0 {
			first := append(head, make([]byte, min(n, 64<<10))...)
			if _, err := io.ReadFull(r, first[len(head):]); err != nil {
				return err
			}
			if _, err := w.Write(first); err != nil {
				return err
			}
		}
		_, err := io.Copy(w, r)
		return err
	})
}

// hashrand [-seed s] n
//
// prints the length and SHA-256 of the bytes sendrand sends, in the format
// of recv -sha256.
func cmdHashrand(ts *testscript.TestScript, neg bool, args []string) {
	fs, _ := flags("hashrand")
	seed := fs.Uint64("seed", 1, "seed of the bytes")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 || neg {
		ts.Fatalf("usage: hashrand [-seed s] n")
	}
	n, err := strconv.ParseInt(fs.Arg(0), 10, 64)
	ts.Check(err)
	h := sha256.New()
	io.Copy(h, randReader(n, *seed))
	fmt.Fprintf(ts.Stdout(), "%d bytes, sha256 %x\n", n, h.Sum(nil))
}

func randReader(n int64, seed uint64) io.Reader {
	var key [32]byte
	key[0] = byte(seed)
	for i := range 8 {
		key[i] = byte(seed >> (8 * i))
	}
	return io.LimitReader(rand.NewChaCha8(key), n)
}

// recv [-n n | -until 'bytes'] [-sha256] [-timeout d] name
//
// reads exactly n bytes, or up to and including the first 'bytes', or
// (with neither) until the peer closes, and prints them with [Escape], or
// with -sha256 their length and hash. It fails, showing what did come, if
// the bytes do not come before the deadline (default 10s).
func cmdRecv(ts *testscript.TestScript, neg bool, args []string) {
	fs, timeout := flags("recv")
	n := fs.Int("n", -1, "read exactly `n` bytes")
	until := fs.String("until", "", "read up to and including these `bytes`")
	hash := fs.Bool("sha256", false, "print the length and SHA-256 instead of the bytes")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 || (*n >= 0 && *until != "") {
		ts.Fatalf("usage: recv [-n n | -until 'bytes'] [-sha256] [-timeout d] name")
	}
	c := getConn(ts, fs.Arg(0))
	c.c.SetReadDeadline(time.Now().Add(*timeout))
	var got []byte
	var err error
	switch {
	case *n > maxRecv:
		ts.Fatalf("recv -n %d: more than the limit of %d bytes", *n, maxRecv)
	case *n >= 0:
		got = make([]byte, *n)
		var k int
		k, err = io.ReadFull(c.r, got)
		got = got[:k]
	case *until != "":
		var delim []byte
		delim, err = Unescape(*until)
		ts.Check(err)
		got, err = readUntil(c.r, delim)
	default:
		got, err = io.ReadAll(io.LimitReader(c.r, maxRecv))
	}
	if neg {
		if err == nil {
			ts.Fatalf("recv succeeded, unexpectedly, with:\n%s", Escape(got))
		}
		fmt.Fprintf(ts.Stdout(), "%s", Escape(got))
		return
	}
	if err != nil && *hash {
		// Bytes worth hashing are too many to show.
		ts.Fatalf("recv: %v after %d bytes, sha256 %x", err, len(got), sha256.Sum256(got))
	}
	if err != nil {
		ts.Fatalf("recv: %v after %d bytes:\n%s", err, len(got), Escape(elide(got)))
	}
	if *hash {
		fmt.Fprintf(ts.Stdout(), "%d bytes, sha256 %x\n", len(got), sha256.Sum256(got))
		return
	}
	fmt.Fprint(ts.Stdout(), Escape(got))
}

// elide keeps the start and the end of what a failed recv got, so that
// megabytes that came before the failure do not bury its message.
func elide(got []byte) []byte {
	const keep = 256
	if len(got) <= 3*keep {
		return got
	}
	return slices.Concat(got[:keep], fmt.Appendf(nil, "\n… %d bytes …\n", len(got)-2*keep), got[len(got)-keep:])
}

func readUntil(r *bufio.Reader, delim []byte) ([]byte, error) {
	var got []byte
	last := delim[len(delim)-1]
	for len(got) < maxRecv {
		b, err := r.ReadSlice(last)
		got = append(got, b...)
		if err == nil && bytes.HasSuffix(got, delim) {
			return got, nil
		}
		if err != nil && err != bufio.ErrBufferFull {
			return got, err
		}
	}
	return got, fmt.Errorf("no %q in the first %d bytes", delim, maxRecv)
}

// eof [-timeout d] name
//
// expects the peer to close the connection with no more bytes, and prints
// "closed (EOF)" or "closed (reset)".
func cmdEOF(ts *testscript.TestScript, neg bool, args []string) {
	fs, timeout := flags("eof")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 || neg {
		ts.Fatalf("usage: eof [-timeout d] name")
	}
	c := getConn(ts, fs.Arg(0))
	c.c.SetReadDeadline(time.Now().Add(*timeout))
	var buf [4096]byte
	n, err := c.r.Read(buf[:])
	switch {
	case n > 0:
		ts.Fatalf("expected the connection to close, got %d bytes:\n%s", n, Escape(buf[:n]))
	case err == io.EOF:
		fmt.Fprintln(ts.Stdout(), "closed (EOF)")
	case errors.Is(err, os.ErrDeadlineExceeded):
		ts.Fatalf("the connection is still open after %v", *timeout)
	case isReset(err):
		fmt.Fprintln(ts.Stdout(), "closed (reset)")
	default:
		ts.Fatalf("eof: %v", err)
	}
}

// shut name
//
// half-closes the connection: no more bytes go out, the reply can still
// come in.
func cmdShut(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 || neg {
		ts.Fatalf("usage: shut name")
	}
	c := getConn(ts, args[0])
	ts.Check(c.waitSend())
	ts.Check(c.closeWrite())
}

// reset name
//
// closes the connection abruptly: the peer gets a TCP RST, not a FIN.
func cmdReset(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 || neg {
		ts.Fatalf("usage: reset name")
	}
	c := getConn(ts, args[0])
	ts.Check(c.c.SetLinger(0))
	ts.Check(c.c.Close())
}

// close name
//
// closes the connection normally.
func cmdClose(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 || neg {
		ts.Fatalf("usage: close name")
	}
	c := getConn(ts, args[0])
	c.waitSend()
	ts.Check(c.c.Close())
}

// require tool...
//
// skips the script, saying why, when a tool is not installed; where
// $WIRETEST_REQUIRE_TOOLS is set (CI), fails it instead.
func cmdRequire(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 1 || neg {
		ts.Fatalf("usage: require tool...")
	}
	var missing []string
	for _, tool := range args {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, HowToGet(tool))
		}
	}
	if len(missing) > 0 {
		Missing(scriptT{ts}, strings.Join(missing, "; "))
	}
}

// howToGet says where the tools that scripts require come from.
var howToGet = map[string]string{
	"curl":     "Debian: apt-get install curl; macOS: it comes with the system; Windows: winget install cURL.cURL",
	"chromium": "Debian: apt-get install chromium; macOS: brew install --cask chromium; Windows: winget install Hibbiki.Chromium",
	"node":     "with its ws module; Debian: apt-get install node-ws; elsewhere: nodejs.org, then npm install ws",
	"python3":  "with its websockets module; Debian: apt-get install python3-websockets; elsewhere: python.org, then pip install websockets",
	"perl":     "with Protocol::WebSocket; Debian: apt-get install libprotocol-websocket-perl",
	"nginx":    "Debian: apt-get install nginx-light; macOS: brew install nginx",
}

// HowToGet names tool (a command or a path such as /usr/bin/python3)
// with how to install it, for Missing.
func HowToGet(tool string) string {
	if how, ok := howToGet[filepath.Base(tool)]; ok {
		return tool + " (" + how + ")"
	}
	return tool
}

func flags(name string) (*flag.FlagSet, *time.Duration) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs, fs.Duration("timeout", defaultTimeout, "deadline")
}

func checkNeg(ts *testscript.TestScript, neg bool, err error) {
	switch {
	case neg && err == nil:
		ts.Fatalf("succeeded, unexpectedly")
	case !neg:
		ts.Check(err)
	}
}

func haveIPv6() bool {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

func localhostHasIPv6() bool {
	ips, _ := net.LookupIP("localhost")
	return slices.ContainsFunc(ips, func(ip net.IP) bool { return ip.To4() == nil })
}

// crowd n name 'bytes'...
//
// opens n connections to $ADDR, named name1 … nameN, and writes the
// arguments (Go escapes decoded, as send does) on each, in one write: a
// crowd of clients that each send, say, a request head and then nothing.
func cmdCrowd(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 3 || neg {
		ts.Fatalf("usage: crowd n name 'bytes'...")
	}
	n, err := strconv.Atoi(args[0])
	if err != nil || n < 1 {
		ts.Fatalf("crowd: %q is not a number of connections", args[0])
	}
	var data []byte
	for _, a := range args[2:] {
		b, err := Unescape(a)
		ts.Check(err)
		data = append(data, b...)
	}
	st, addr := getState(ts), ts.Getenv("ADDR")
	for i := 1; i <= n; i++ {
		nc, err := net.DialTimeout("tcp", addr, defaultTimeout)
		if err != nil {
			ts.Fatalf("crowd: connection %d of %d: %v", i, n, err)
		}
		c := &conn{c: nc.(*net.TCPConn), r: bufio.NewReader(nc), local: nc.LocalAddr().String()}
		name := fmt.Sprintf("%s%d", args[1], i)
		if old := st.conns[name]; old != nil {
			old.c.Close()
		}
		st.conns[name] = c
		ts.Check(writeChunks(c, data, 0, 0))
	}
}

// peakrss [-max size [-for d]]
//
// prints the running server's peak resident memory, the VmHWM line of
// /proc/PID/status (so Linux only: elsewhere it calls Missing, which
// skips the script, or fails an exercise's check). With -max it fails
// when the peak is over size (bytes, or with KiB, MiB or GiB: 64MiB), and
// with -for it watches the peak for d and fails as soon as it goes over:
// memory that a server takes a moment to allocate shows.
// Negated, it expects the peak to go over size.
func cmdPeakrss(ts *testscript.TestScript, neg bool, args []string) {
	fs, _ := flags("peakrss")
	limit := fs.String("max", "", "the most the peak may be, e.g. `64MiB`")
	watch := fs.Duration("for", 0, "watch the peak for `d`")
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 || (*limit == "" && (neg || *watch > 0)) {
		ts.Fatalf("usage: peakrss [-max size [-for d]]")
	}
	st := getState(ts)
	if st.srv == nil {
		ts.Fatalf("no server is running")
	}
	max := int64(-1)
	if *limit != "" {
		var err error
		max, err = parseSize(*limit)
		ts.Check(err)
	}
	peak := st.peakRSS(ts)
	for end := time.Now().Add(*watch); time.Now().Before(end) && peak <= max; peak = st.peakRSS(ts) {
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Fprintf(ts.Stdout(), "peak RSS %d KiB\n", peak>>10)
	switch {
	case max < 0:
	case peak > max && !neg:
		ts.Fatalf("the server's peak RSS is %d KiB, over %s", peak>>10, *limit)
	case peak <= max && neg:
		ts.Fatalf("the server's peak RSS is %d KiB, not over %s", peak>>10, *limit)
	}
}

// peakRSS returns the server's VmHWM in bytes.
func (st *state) peakRSS(ts *testscript.TestScript) int64 {
	pid := st.srv.cmd.Process.Pid
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if errors.Is(err, os.ErrNotExist) && runtime.GOOS != "linux" {
		Missing(scriptT{ts}, "Linux: peakrss reads the server's peak memory from /proc/PID/status, which only Linux has")
	}
	ts.Check(err)
	for line := range strings.SplitSeq(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kib, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			ts.Check(err)
			return kib << 10
		}
	}
	ts.Fatalf("peakrss: no VmHWM line in /proc/%d/status", pid)
	return 0
}

// parseSize parses "1048576", "64KiB", "64MiB" or "1GiB".
func parseSize(s string) (int64, error) {
	num, shift := s, 0
	for _, u := range []struct {
		suffix string
		shift  int
	}{{"KiB", 10}, {"MiB", 20}, {"GiB", 30}} {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			num, shift = v, u.shift
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a size such as 1048576 or 64MiB", s)
	}
	return n << shift, nil
}
