package main

import (
	"testing"

	"sockets/internal/wiretest"
)

// TestMain makes this test binary able to run the lesson as the script
// command "01-echo", as if it were `go run ./01-echo`.
func TestMain(m *testing.M) { wiretest.Main(m, "01-echo", main) }

// TestScripts runs ../testdata/01-echo/*.txtar, or with -exercise=NAME the
// check for one exercise.
func TestScripts(t *testing.T) { wiretest.Run(t, "01-echo") }
