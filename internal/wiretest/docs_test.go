package wiretest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// lessonDirs returns the lesson folders of the repository (01-echo, …).
func lessonDirs(t *testing.T) []string {
	dirs, err := filepath.Glob(filepath.Join("..", "..", "[0-9][0-9]-*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no lesson folders found: %v", err)
	}
	return dirs
}

func loadReadme(t *testing.T, dir string) (string, *Lesson) {
	md, err := os.ReadFile(filepath.Join(dir, "README.md"))
	if err != nil {
		t.Fatalf("every lesson needs a README.md: %v", err)
	}
	l, err := LoadLesson(dir, filepath.Join("..", "..", "testdata", filepath.Base(dir)))
	if err != nil {
		t.Fatal(err)
	}
	return string(md), l
}

// TestReadmes checks that every Go excerpt and wire transcript in every
// lesson's README is still what the code and the scripts say.
func TestReadmes(t *testing.T) {
	for _, dir := range lessonDirs(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			md, l := loadReadme(t, dir)
			for _, err := range CheckReadme(md, l) {
				t.Errorf("%s/README.md %v", filepath.Base(dir), err)
			}
		})
	}
}

// TestReadmeDrift proves the check can fail: changing any one byte of a
// checked block makes it report that block.
func TestReadmeDrift(t *testing.T) {
	for _, dir := range lessonDirs(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			md, l := loadReadme(t, dir)
			blocks, err := Blocks(md)
			if err != nil {
				t.Fatal(err)
			}
			checked := 0
			for _, b := range blocks {
				if b.Wire == "" && b.Info != "go" {
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
						t.Errorf("README.md line %d: changing byte %d of the block went unnoticed", b.Line, at)
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
		Scripts: map[string]string{"a.txtar": "recv -n 3 c\ncmp stdout a.want\n-- a.want --\nhi\\n\n"},
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
		{"unclosed", "```go\nfunc main() {\n", 1},
	}
	for _, tt := range tests {
		if got := CheckReadme(tt.md, l); len(got) != tt.errs {
			t.Errorf("%s: got %d errors %v, want %d", tt.name, len(got), got, tt.errs)
		}
	}
}
