package main

import (
	"testing"

	"sockets/internal/wiretest"
)

// TestMain makes this test binary able to run the lesson as the script
// command "03-http-text", as if it were `go run ./03-http-text`.
func TestMain(m *testing.M) { wiretest.Main(m, "03-http-text", main) }

// TestScripts runs ../testdata/03-http-text/*.txtar, or with -exercise=NAME the
// check for one exercise.
func TestScripts(t *testing.T) { wiretest.Run(t, "03-http-text") }
