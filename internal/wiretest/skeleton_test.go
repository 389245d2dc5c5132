package wiretest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// carried lists the files that lessons share byte for byte. Each is the
// same in every lesson from the one that brings it in (from) on, up to
// until (or the last lesson, if until is ""), so that `diff -r` of two
// lessons shows only what the later one adds. A lesson that changes such
// a file on purpose gets an entry of its own here, and the lessons after
// it are compared with its copy.
var carried = []struct{ file, from, until string }{
	{"serve.go", "01-echo", ""},      // the skeleton: listen, accept, shutdown
	{"serve_test.go", "01-echo", ""}, // tests the skeleton's listen
	{"trace.go", "01-echo", ""},      // -trace and the escape format
	{"flags.go", "01-echo", ""},      // flag values that cannot work, refused at startup
	{"main_test.go", "01-echo", ""},  // runs the lesson's scripts
	{"date_test.go", "03-http-text", ""},
	{"client.go", "03-http-text", "04-http-binary"}, // the raw -connect client; 05 and 06 speak WebSocket
	{"bodies_test.go", "03-http-text", "04-http-binary"},
	{"conns_test.go", "03-http-text", "04-http-binary"}, // a connection's life: stalled reader, Ctrl-C, idle memory
	{"http.go", "04-http-binary", "05-ws-legacy"},       // 06 adds header fields and statuses for its handshake
	{"files.go", "04-http-binary", ""},
	{"files_unix.go", "04-http-binary", ""}, // how files.go opens without waiting, by platform
	{"files_other.go", "04-http-binary", ""},
	{"fifo_test.go", "04-http-binary", ""},
	{"genimages.go", "04-http-binary", ""},
	{"site/bytes.png", "04-http-binary", ""},
	{"site/ice-caps.jpg", "04-http-binary", ""},
	{"site/hello.txt", "04-http-binary", ""},
	{"site/style.css", "04-http-binary", ""},
}

// TestCarriedFiles checks that every lesson's copy of a shared file is
// the copy of the lesson it comes from.
func TestCarriedFiles(t *testing.T) {
	var lessons []string
	for _, dir := range lessonDirs(t) {
		lessons = append(lessons, filepath.Base(dir))
	}
	for _, err := range checkCarried(filepath.Join("..", ".."), lessons) {
		t.Error(err)
	}
}

// checkCarried returns an error for every copy of a carried file under
// root that is missing or differs from the copy it must equal.
func checkCarried(root string, lessons []string) []error {
	var errs []error
	for _, lesson := range lessons {
		for _, c := range carried {
			// The copy to compare with: the latest entry for the file
			// that is not after this lesson.
			from := ""
			for _, e := range carried {
				if e.file == c.file && e.from <= lesson && e.from > from {
					from = e.from
				}
			}
			if from != c.from || from == lesson || !slices.Contains(lessons, from) ||
				c.until != "" && lesson > c.until {
				continue
			}
			want, err := os.ReadFile(filepath.Join(root, from, c.file))
			if err != nil {
				errs = append(errs, err)
				continue
			}
			got, err := os.ReadFile(filepath.Join(root, lesson, c.file))
			if err != nil {
				errs = append(errs, fmt.Errorf("%s has no %s; every lesson from %s on carries it", lesson, c.file, from))
				continue
			}
			if !bytes.Equal(got, want) {
				errs = append(errs, fmt.Errorf("%s/%s differs from %s/%s; it is carried unchanged (run diff -u %[3]s/%[2]s %[1]s/%[2]s)", lesson, c.file, from, c.file))
			}
		}
	}
	return errs
}

// TestCheckCarried proves the check can fail: a copy of serve.go that
// differs by a byte, or is missing, is reported.
func TestCheckCarried(t *testing.T) {
	root := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		p := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range carried {
		write(filepath.Join("01-echo", c.file), c.file)
		write(filepath.Join("02-two", c.file), c.file)
	}
	if errs := checkCarried(root, []string{"01-echo", "02-two"}); len(errs) != 0 {
		t.Fatalf("identical copies: %v", errs)
	}
	write("02-two/serve.go", "serve.gO")
	if errs := checkCarried(root, []string{"01-echo", "02-two"}); len(errs) != 1 {
		t.Errorf("a changed serve.go: got %d errors %v, want 1", len(errs), errs)
	}
	os.Remove(filepath.Join(root, "02-two", "trace.go"))
	if errs := checkCarried(root, []string{"01-echo", "02-two"}); len(errs) != 2 {
		t.Errorf("and a missing trace.go: got %d errors %v, want 2", len(errs), errs)
	}
}
