package main

import (
	"testing"

	"sockets/internal/wiretest"
)

// TestMain makes this test binary able to run the lesson as the script
// command "06-ws-rfc6455", as if it were `go run ./06-ws-rfc6455`, and
// gorilla's echo server, which BenchmarkIdle compares it with.
func TestMain(m *testing.M) {
	wiretest.Main(m, "06-ws-rfc6455", main, map[string]func(){gorillaEchoCmd: gorillaEcho})
}

// TestScripts runs ../testdata/06-ws-rfc6455/*.txtar, or with -exercise=NAME the
// check for one exercise.
func TestScripts(t *testing.T) { wiretest.Run(t, "06-ws-rfc6455") }
