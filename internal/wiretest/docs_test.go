package wiretest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/rogpeppe/go-internal/txtar"
)

// lessonDirs returns the lesson folders of the repository (01-echo, …).
func lessonDirs(t *testing.T) []string {
	dirs, err := filepath.Glob(filepath.Join("..", "..", "[0-9][0-9]-*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no lesson folders found: %v", err)
	}
	return dirs
}

// lessonTexts returns the lesson's texts: README.md, its chapter, and
// any other page beside it (*.md), each with what its blocks are checked
// against.
func lessonTexts(t *testing.T, dir string) (map[string]string, *Lesson) {
	if _, err := os.Stat(filepath.Join(dir, "README.md")); err != nil {
		t.Fatalf("every lesson needs a README.md: %v", err)
	}
	pages, err := filepath.Glob(filepath.Join(dir, "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	texts := map[string]string{}
	for _, p := range pages {
		md, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		texts[filepath.Base(p)] = string(md)
	}
	l, err := LoadLesson(dir, filepath.Join("..", "..", "testdata", filepath.Base(dir)))
	if err != nil {
		t.Fatal(err)
	}
	return texts, l
}

// TestReadmes checks that every Go excerpt and wire transcript in every
// lesson's README is still what the code and the scripts say. With
// -update it first rewrites the diff stats to what the lessons are now.
func TestReadmes(t *testing.T) {
	for _, dir := range lessonDirs(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			texts, l := lessonTexts(t, dir)
			noGit := false
			for page, md := range texts {
				if *update {
					updated, err := UpdateDiffStats(md, l)
					if err != nil {
						t.Fatalf("%s/%s %v", filepath.Base(dir), page, err)
					}
					if updated != md {
						if err := os.WriteFile(filepath.Join(dir, page), []byte(updated), 0o644); err != nil {
							t.Fatal(err)
						}
						md = updated
					}
				}
				for _, err := range CheckReadme(md, l) {
					if errors.Is(err, ErrNoGit) {
						noGit = true
						continue
					}
					t.Errorf("%s/%s %v", filepath.Base(dir), page, err)
				}
			}
			if noGit { // the rest is checked: only the diff stats wait for git
				Missing(t, "git (https://git-scm.com), which counts the diff stats,")
			}
		})
	}
}

// TestReadmeDrift proves the check can fail: changing any one byte of a
// checked block makes it report that block.
func TestReadmeDrift(t *testing.T) {
	for _, dir := range lessonDirs(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			texts, l := lessonTexts(t, dir)
			checked := 0
			for page, md := range texts {
				blocks, err := Blocks(md)
				if err != nil {
					t.Fatal(err)
				}
				for _, b := range blocks {
					if b.Wire == "" && b.Diff == "" && b.Info != "go" {
						continue
					}
					checked++
					for _, at := range []int{0, len(b.Text) / 2, len(b.Text) - 2} {
						if at < 0 {
							continue
						}
						mutated := []byte(b.Text)
						mutated[at] ^= 0x01
						drifted := strings.Replace(md, b.Text, string(mutated), 1)
						if len(CheckReadme(drifted, l)) == 0 {
							t.Errorf("%s line %d: changing byte %d of the block went unnoticed", page, b.Line, at)
						}
					}
				}
			}
			if checked == 0 {
				t.Errorf("README.md has no checked excerpt or transcript")
			}
		})
	}
}

func TestCheckReadme(t *testing.T) {
	l := &Lesson{
		Sources: map[string]string{"main.go": "package main\n\nfunc main() {\n\tprintln(1)\n}\n"},
		Scripts: map[string]string{
			"a.txtar": "recv -n 3 c\ncmp stdout a.want\n-- a.want --\nhi\\n\n",
			"f.txtar": "serve\nrecv c\ncmp stdout f.want\nserve -head-timeout 1s -trace\nrecv c\ncmp stdout g.want\n-- f.want --\nho\\n\n-- g.want --\n#1 -> hey\\n\n",
		},
		DiffStat: func(prev string) (string, error) {
			if prev != "01-a" {
				return "", fmt.Errorf("no lesson %s", prev)
			}
			return "main.go  +1 -1\n", nil
		},
	}
	tests := []struct {
		name, md string
		errs     int
	}{
		{"verbatim go", "x\n```go\nfunc main() {\n\tprintln(1)\n}\n```\n", 0},
		{"drifted go", "```go\nfunc main() {\n    println(1)\n}\n```\n", 1},
		{"wire", "<!-- wire: a.txtar -->\n```text\nhi\\n\n```\n", 0},
		{"drifted wire", "<!-- wire: a.txtar -->\n```text\nhi\\r\\n\n```\n", 1},
		{"missing script", "<!-- wire: b.txtar -->\n```text\nhi\n```\n", 1},
		{"unmarked text", "```text\nhi\n```\n", 1},
		{"marker applies to next block only", "<!-- wire: a.txtar -->\nprose\n```text\nhi\\n\n```\n", 1},
		{"shell is free", "```sh\ngo run ./01-echo\n```\n", 0},
		{"diffstat", "<!-- diffstat: 01-a -->\n```text\nmain.go  +1 -1\n```\n", 0},
		{"drifted diffstat", "<!-- diffstat: 01-a -->\n```text\nmain.go  +2 -1\n```\n", 1},
		{"diffstat of no lesson", "<!-- diffstat: 00-b -->\n```text\nmain.go  +1 -1\n```\n", 1},
		{"unclosed", "```go\nfunc main() {\n", 1},
		{"default flags", "<!-- wire: f.txtar -->\n```text\nho\\n\n```\n", 0},
		{"flags not shown", "<!-- wire: f.txtar -->\n```text\n#1 -> hey\\n\n```\n", 1},
		{"flags shown", "With `-head-timeout 1s -trace`:\n<!-- wire: f.txtar -->\n```text\n#1 -> hey\\n\n```\n", 0},
		{"-trace not shown", "With `-head-timeout 1s`:\n<!-- wire: f.txtar -->\n```text\n#1 -> hey\\n\n```\n", 1},
	}
	for _, tt := range tests {
		if got := CheckReadme(tt.md, l); len(got) != tt.errs {
			t.Errorf("%s: got %d errors %v, want %d", tt.name, len(got), got, tt.errs)
		}
	}
}

func TestDiffStat(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("01-a/README.md", "one\n")
	write("01-a/main.go", "a\nb\nc\n")
	write("01-a/serve.go", "s\n")
	write("01-a/old.go", "o\n")
	write("01-a/site/x.png", "\x89PNG\x00\x01")
	write("02-b/README.md", "two\n")
	write("02-b/main.go", "a\nB\nc\nd\n")
	write("02-b/serve.go", "s\n")
	write("02-b/new.go", "n\nn\n")
	write("02-b/site/x.png", "\x89PNG\x00\x02")
	got, err := DiffStat(filepath.Join(dir, "01-a"), filepath.Join(dir, "02-b"))
	if err != nil {
		t.Fatal(err)
	}
	want := "main.go     +2 -1\n" +
		"new.go      new, 2 lines\n" +
		"old.go      gone\n" +
		"site/x.png  changed\n" +
		"the same: serve.go\n"
	if got != want {
		t.Errorf("DiffStat:\n%s\nwant:\n%s", got, want)
	}
}

// outsideRE finds what a lesson must not point at: the write-ups this
// tutorial grew from ("the seed"), and files outside the repository.
var outsideRE = regexp.MustCompile(`(?i)seed|\.\./shared`)

// TestNoOutsideReferences checks that a lesson's texts and code are
// complete for a reader who has only this repository.
func TestNoOutsideReferences(t *testing.T) {
	for _, dir := range lessonDirs(t) {
		files, _ := filepath.Glob(filepath.Join(dir, "*.md"))
		gofiles, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, f := range append(files, gofiles...) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for i, line := range strings.Split(string(b), "\n") {
				if outsideRE.MatchString(line) {
					t.Errorf("%s:%d points outside the repository: %s", f, i+1, strings.TrimSpace(line))
				}
			}
		}
	}
}

// TestNoHiddenRunes: no golden output of a script (a file that cmp
// compares with) and no transcript in a lesson's texts shows a character
// that hides what it is: a combining mark (it draws on the character
// before it), a format character (invisible), private use or unassigned.
// Escape and the lessons' -trace show such bytes as \xHH.
func TestNoHiddenRunes(t *testing.T) {
	hidden := func(s string) (rune, bool) {
		for _, r := range s {
			if unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Co) || r >= utf8.RuneSelf && !unicode.IsGraphic(r) {
				return r, true
			}
		}
		return 0, false
	}
	scripts, err := filepath.Glob(filepath.Join("..", "..", "testdata", "*", "*.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	more, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "*", "exercises", "*.txtar"))
	checked := 0
	for _, name := range append(scripts, more...) {
		ar, err := txtar.ParseFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range ar.Files {
			if !regexp.MustCompile(`(?m)^\s*(\[[^]]*\]\s*)?!?\s*cmp(env)? (stdout|stderr) ` + regexp.QuoteMeta(f.Name) + `\s*$`).Match(ar.Comment) {
				continue // an input, not golden output
			}
			checked++
			if r, ok := hidden(string(f.Data)); ok {
				t.Errorf("%s: golden file %s shows %U unescaped", name, f.Name, r)
			}
		}
	}
	for _, dir := range lessonDirs(t) {
		texts, _ := lessonTexts(t, dir)
		for page, md := range texts {
			blocks, err := Blocks(md)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range blocks {
				if b.Info != "text" {
					continue
				}
				checked++
				if r, ok := hidden(b.Text); ok {
					t.Errorf("%s/%s line %d: transcript shows %U unescaped", filepath.Base(dir), page, b.Line, r)
				}
			}
		}
	}
	if checked < 100 {
		t.Errorf("only %d golden files and transcripts checked; the globs have gone wrong", checked)
	}
}
