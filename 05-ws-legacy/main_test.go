package main

import (
	"testing"

	"sockets/internal/wiretest"
)

// TestMain makes this test binary able to run the lesson as the script
// command "05-ws-legacy", as if it were `go run ./05-ws-legacy`.
func TestMain(m *testing.M) { wiretest.Main(m, "05-ws-legacy", main) }

// TestScripts runs ../testdata/05-ws-legacy/*.txtar, or with -exercise=NAME the
// check for one exercise.
func TestScripts(t *testing.T) { wiretest.Run(t, "05-ws-legacy") }
