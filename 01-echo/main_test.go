package main

import (
	"testing"

	"sockets/internal/wiretest"
)

// TestMain makes this test binary able to run the lesson as a script
// command named after its folder ("01-echo"), as if it were `go run`.
func TestMain(m *testing.M) { wiretest.Main(m, main) }

// TestScripts runs the lesson's scripts in ../testdata/NN-name, or with
// -exercise=NAME the check for one exercise.
func TestScripts(t *testing.T) { wiretest.Run(t) }
