// Package wiretest holds the testscript commands that every lesson's
// scripts use, so that a script reads like a transcript of a session on
// the wire:
//
//	# A client says hello and hears it back.
//	serve
//	dial c
//	send c 'Hello, world\n'
//	recv -n 13 c
//	cmp stdout hello.want
//
// Bytes go out as Go-escaped strings ('GET / HTTP/1.1\r\n', '\x00hi\xff')
// and come back printed by [Escape], the same format the lessons' -trace
// flag uses. The commands know nothing about any lesson.
package wiretest

import (
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

var (
	exercise = flag.String("exercise", "", "run the check for exercise `NAME` instead of the lesson's scripts")
	update   = flag.Bool("update", false, "rewrite the golden output in the scripts to what the lesson does now")
)

// RequireEnv names the environment variable that turns a missing tool
// (curl, chromium, …) from a skipped test into a failed one. CI sets it.
const RequireEnv = "WIRETEST_REQUIRE_TOOLS"

// Missing is what a test does when a tool it needs is not installed: it
// skips, or fails if RequireEnv says every tool is required. what names
// the tool, and how to get it: "chromium (Debian: apt-get install chromium)".
//
// An exercise's check (-exercise=NAME) never skips: a check that could
// not run must not read as a pass, so it fails with a line that starts
// NOT CHECKED and says what to install.
func Missing(t TB, what string) {
	if h, ok := t.(interface{ Helper() }); ok {
		h.Helper()
	}
	switch {
	case *exercise != "":
		t.Fatal(fmt.Sprintf("NOT CHECKED: the check for exercise %s needs what is not installed here: %s. Install it, then run the check again", *exercise, what))
	case os.Getenv(RequireEnv) != "":
		t.Fatal(fmt.Sprintf("%s is not installed, and %s says every tool is required", what, RequireEnv))
	}
	t.Skip(fmt.Sprintf("skipping: %s is needed, and not installed", what))
}

// TB is what Missing needs of a test: a *testing.T, or a script's.
type TB interface {
	Fatal(args ...any)
	Skip(args ...any)
}

// scriptT lets Missing skip a script, or fail it at the line that needed
// the tool.
type scriptT struct{ ts *testscript.TestScript }

func (s scriptT) Fatal(args ...any) { s.ts.Fatalf("%s", fmt.Sprint(args...)) }
func (s scriptT) Skip(args ...any)  { getState(s.ts).t.Skip(args...) }

// Main registers the lesson's main function as the script command named
// after the lesson's folder (for example "01-echo"), and the commands
// given to [Command], then runs the tests. Call it from the lesson's
// TestMain. With -exercise=NAME it runs the exercise's check alone: a
// solved exercise changes the lesson on purpose, and the lesson's own
// tests of what it did before have nothing to say about it.
func Main(m *testing.M, main func()) {
	cmds := map[string]func(){LessonName(): main}
	for name, f := range others {
		if _, dup := cmds[name]; dup {
			panic("wiretest.Main: two commands named " + name)
		}
		cmds[name] = f
	}
	// The test binary runs as one of the commands too, with that
	// command's arguments; only the test run itself has test flags.
	if _, isCommand := cmds[strings.TrimSuffix(filepath.Base(os.Args[0]), ".exe")]; !isCommand {
		flag.Parse()
		if *exercise != "" {
			flag.Set("test.run", "^TestScripts$")
			flag.Set("test.bench", "")
			flag.Set("test.fuzz", "")
		}
	}
	testscript.Main(m, cmds)
}

// others are the commands registered with Command.
var others = map[string]func(){}

// Command registers one more command for Main, such as a reference server
// that a benchmark compares the lesson with. Like the lesson, it can run
// in a process of its own, found with exec.LookPath(name), and it is a
// script command too. Call it from an init function of a test file.
func Command(name string, main func()) {
	if _, dup := others[name]; dup {
		panic("wiretest.Command: two commands named " + name)
	}
	others[name] = main
}

// LessonName returns the name of the lesson under test, the last element
// of its package path, such as "01-echo". It comes from the test binary's
// build information, so that it is the same in the copies of the binary
// that scripts run as commands, whose working directory is a script's.
func LessonName() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		panic("wiretest: the test binary has no build information")
	}
	return path.Base(bi.Path)
}

// Run runs the lesson's scripts in ../testdata/LESSON, or, with
// -exercise=NAME, the single check ../testdata/LESSON/exercises/NAME.txtar.
func Run(t *testing.T) {
	lesson := LessonName()
	dir := filepath.Join("..", "testdata", lesson)
	p := testscript.Params{
		Dir:                dir,
		Cmds:               Commands(),
		Condition:          Condition,
		Setup:              func(env *testscript.Env) error { return setup(env, lesson) },
		UpdateScripts:      *update,
		RequireUniqueNames: true,
	}
	if *exercise != "" {
		file := filepath.Join(dir, "exercises", *exercise+".txtar")
		if _, err := os.Stat(file); err != nil {
			names, _ := filepath.Glob(filepath.Join(dir, "exercises", "*.txtar"))
			for i, n := range names {
				names[i] = strings.TrimSuffix(filepath.Base(n), ".txtar")
			}
			t.Fatalf("no exercise %q in %s; the exercises are: %s", *exercise, lesson, strings.Join(names, ", "))
		}
		p.Dir, p.Files = "", []string{file}
	}
	testscript.Run(t, p)
}

// Commands returns the script commands by name.
func Commands() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"serve":     cmdServe,
		"interrupt": cmdInterrupt,
		"serverlog": cmdServerlog,
		"waitlog":   cmdWaitlog,
		"dial":      cmdDial,
		"send":      cmdSend,
		"sendfile":  cmdSendfile,
		"sendrand":  cmdSendrand,
		"recv":      cmdRecv,
		"eof":       cmdEOF,
		"shut":      cmdShut,
		"reset":     cmdReset,
		"close":     cmdClose,
		"hashrand":  cmdHashrand,
		"require":   cmdRequire,
		"browse":    cmdBrowse,
		"crowd":     cmdCrowd,
		"peakrss":   cmdPeakrss,
		"mkcert":    cmdMkcert,
		"tlsdial":   cmdTLSDial,
		"links":     cmdLinks,
		"mkfile":    cmdMkfile,
		"sendmany":  cmdSendmany,

		// permessage-deflate (deflate.go)
		"deflateframe": cmdDeflateframe,
		"deflatecrowd": cmdDeflatecrowd,

		// WebSocket rooms under load (flood.go)
		"wsflood": cmdWsflood,
		"wsdrain": cmdWsdrain,
		"wssend":  cmdWssend,
	}
}

// Condition answers the scripts' own conditions:
//
//	[ipv6]        this machine can listen on [::1]
//	[localhost6]  and "localhost" resolves to ::1 as well as 127.0.0.1
//	[race]        the lesson runs under the race detector (go test -race),
//	              so its memory says little about the lesson's own
func Condition(cond string) (bool, error) {
	switch cond {
	case "race":
		return raceEnabled, nil
	case "ipv6":
		return haveIPv6(), nil
	case "localhost6":
		return haveIPv6() && localhostHasIPv6(), nil
	}
	return false, fmt.Errorf("unknown condition %q", cond)
}

type stateKey struct{}

func setup(env *testscript.Env, lesson string) error {
	st := &state{
		t:      env.T(),
		lesson: lesson,
		conns:  make(map[string]*conn),
	}
	env.Values[stateKey{}] = st
	env.Defer(st.cleanup)
	return nil
}

func getState(ts *testscript.TestScript) *state {
	return ts.Value(stateKey{}).(*state)
}

// Exercise returns the name given with -exercise, or "". A lesson's Go
// tests of its shipped behaviour skip when it is set: a solved exercise
// changes that behaviour on purpose.
func Exercise() string { return *exercise }
