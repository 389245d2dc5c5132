package main

import (
	"testing"

	"sockets/internal/wiretest"
)

// TestMain makes this test binary able to run the lesson as the script
// command "02-encodings", as if it were `go run ./02-encodings`.
func TestMain(m *testing.M) { wiretest.Main(m, "02-encodings", main) }

// TestScripts runs ../testdata/02-encodings/*.txtar, or with -exercise=NAME the
// check for one exercise.
func TestScripts(t *testing.T) { wiretest.Run(t, "02-encodings") }
