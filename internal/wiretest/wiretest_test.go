package wiretest

import (
	"bytes"
	"crypto/tls"
	"flag"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"testing"
	"testing/quick"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain registers "fake", a minimal echo server in the shape of a
// lesson (-addr, "listening on", a log, exit 0 on Ctrl-C; TLS with -cert
// and -key), so that the commands can be tested without any lesson.
func TestMain(m *testing.M) { testscript.Main(m, map[string]func(){"fake": fakeLesson}) }

func fakeLesson() {
	addr := flag.String("addr", "localhost:0", "listen address")
	certFile := flag.String("cert", "", "speak TLS with this certificate")
	keyFile := flag.String("key", "", "and this key")
	flag.Parse()
	log.SetFlags(0)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	if *certFile != "" {
		cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
		if err != nil {
			log.Fatal(err)
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}})
	}
	log.Printf("listening on %s", ln.Addr())
	go func() {
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, os.Interrupt)
		<-stop
		log.Print("bye")
		os.Exit(0)
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			log.Fatal(err)
		}
		log.Printf("%s connected", c.RemoteAddr())
		go func() {
			defer c.Close()
			io.Copy(c, c)
			c.(interface{ CloseWrite() error }).CloseWrite()
		}()
	}
}

// TestCommands runs testdata/*.txtar against the fake lesson.
func TestCommands(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:       "testdata",
		Cmds:      Commands(),
		Condition: Condition,
		Setup:     func(env *testscript.Env) error { return setup(env, "fake") },
	})
}

func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "GET / HTTP/1.1\\r\\n\nHost: x\\r\\n\n\\r\\n\n"},
		{"\x00hi\xff", "\\x00hi\\xff\n"},
		{"tab\there\\", "tab\\there\\\\\n"},
		{"汉语 Hànyǔ", "汉语 Hànyǔ\n"},
		{"\xe6\xb1", "\\xe6\\xb1\n"},          // half a character
		{"\ufeffBOM", "\\xef\\xbb\\xbfBOM\n"}, // printable runes only
		{"\ufffd", "\ufffd\n"},                // a real U+FFFD is printable
		// Not text: a line that is not valid UTF-8 shows every byte from
		// 0x80 up as \xHH, even where a few of them spell a character.
		{"\xb4\xc8\x8b\x14`{\xa3\xb6", "\\xb4\\xc8\\x8b\\x14`{\\xa3\\xb6\n"},
		{"\x81\x05é", "\\x81\\x05\\xc3\\xa9\n"},
		// Each line is judged alone: a binary line does not hide the text
		// of the next.
		{"\xff\nHànyǔ", "\\xff\\n\nHànyǔ\n"},
		// A combining mark (U+030C) would draw on the character before it.
		{"u\u030c", "u\\xcc\\x8c\n"},
		// Invisible format characters and private use.
		{"a\u200bb\ue000", "a\\xe2\\x80\\x8bb\\xee\\x80\\x80\n"},
	}
	for _, tt := range tests {
		if got := Escape([]byte(tt.in)); got != tt.want {
			t.Errorf("Escape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestUnescape(t *testing.T) {
	tests := []struct{ in, want string }{
		{`GET / HTTP/1.1\r\n`, "GET / HTTP/1.1\r\n"},
		{`\x00hi\xff`, "\x00hi\xff"},
		{`汉语\u00e0`, "汉语à"},
		{`ÿ`, "\xc3\xbf"},
		{`say "hi"`, `say "hi"`},
	}
	for _, tt := range tests {
		got, err := Unescape(tt.in)
		if err != nil || string(got) != tt.want {
			t.Errorf("Unescape(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := Unescape(`\q`); err == nil {
		t.Errorf(`Unescape(\q) succeeded; want an error`)
	}
}

// TestEscapeRoundTrip: what Escape prints, with its line breaks removed,
// Unescape turns back into the same bytes, for any input.
func TestEscapeRoundTrip(t *testing.T) {
	f := func(p []byte) bool {
		s := bytes.ReplaceAll([]byte(Escape(p)), []byte("\n"), nil)
		back, err := Unescape(string(s))
		return err == nil && bytes.Equal(back, p)
	}
	if err := quick.Check(f, nil); err != nil {
		t.Error(err)
	}
}

// TestNoBuiltinNames: testscript runs its own command when a name
// collides (its "stop" ends a script early, silently), so no command here
// may take a builtin's name.
func TestNoBuiltinNames(t *testing.T) {
	builtins := []string{"cd", "chmod", "cmp", "cmpenv", "cp", "env", "exec", "exists", "grep",
		"kill", "mkdir", "mv", "rm", "skip", "stderr", "stdin", "stdout", "stop", "symlink",
		"unix2dos", "unquote", "wait", "ttyin", "ttyout", "cmdenv"}
	for _, b := range builtins {
		if _, ok := Commands()[b]; ok {
			t.Errorf("command %q has the name of a testscript builtin, which would run instead", b)
		}
	}
}
