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
	"path/filepath"
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

// Main registers the lesson's main function as the script command named
// after the lesson (for example "01-echo"), then runs the tests. Call it
// from the lesson's TestMain. others, if given, are more commands by name
// (a reference server a benchmark compares the lesson with, say); like
// the lesson, each can run in a process of its own, found with
// exec.LookPath(name), and is a script command too.
func Main(m *testing.M, lesson string, main func(), others ...map[string]func()) {
	cmds := map[string]func(){lesson: main}
	for _, o := range others {
		for name, f := range o {
			if _, dup := cmds[name]; dup {
				panic("wiretest.Main: two commands named " + name)
			}
			cmds[name] = f
		}
	}
	testscript.Main(m, cmds)
}

// Run runs the lesson's scripts in ../testdata/LESSON, or, with
// -exercise=NAME, the single check ../testdata/LESSON/exercises/NAME.txtar.
func Run(t *testing.T, lesson string) {
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
	}
}

// Condition answers the scripts' own conditions:
//
//	[ipv6]        this machine can listen on [::1]
//	[localhost6]  and "localhost" resolves to ::1 as well as 127.0.0.1
func Condition(cond string) (bool, error) {
	switch cond {
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
