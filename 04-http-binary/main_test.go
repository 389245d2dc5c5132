package main

import (
	"testing"

	"sockets/internal/wiretest"
)

// TestMain makes this test binary able to run the lesson as the script
// command "04-http-binary", as if it were `go run ./04-http-binary`.
func TestMain(m *testing.M) { wiretest.Main(m, "04-http-binary", main) }

// TestScripts runs ../testdata/04-http-binary/*.txtar, or with -exercise=NAME the
// check for one exercise.
func TestScripts(t *testing.T) { wiretest.Run(t, "04-http-binary") }
