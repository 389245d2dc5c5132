package wiretest

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// A lesson's README.md shows code and wire transcripts; CheckReadme keeps
// them true to the lesson:
//
//   - every ```go block is a verbatim piece of one of the lesson's .go files;
//   - every block right after a <!-- wire: NAME.txtar --> line is a verbatim
//     piece of that script in testdata/LESSON, normally a golden file the
//     script compares the wire bytes with, so the test produced it;
//   - a ```text block without such a line is an error: a transcript must
//     say where it comes from.
//
// Blocks in other languages (sh, mermaid, …) are not checked.

// Block is one fenced block of a README.
type Block struct {
	Line int    // line of the opening fence, from 1
	Info string // the fence's info string, e.g. "go"
	Wire string // the script named by a <!-- wire: … --> line before it
	Text string // the content, ending in a line break
}

var wireRE = regexp.MustCompile(`^<!--\s*wire:\s*(\S+)\s*-->\s*$`)

// Blocks returns the fenced blocks of a Markdown document.
func Blocks(md string) ([]Block, error) {
	var blocks []Block
	lines := strings.SplitAfter(md, "\n")
	wire := ""
	for i := 0; i < len(lines); i++ {
		line := strings.TrimRight(lines[i], "\r\n")
		if m := wireRE.FindStringSubmatch(line); m != nil {
			wire = m[1]
			continue
		}
		if !strings.HasPrefix(line, "```") {
			if strings.TrimSpace(line) != "" {
				wire = "" // a marker applies to the very next block only
			}
			continue
		}
		b := Block{Line: i + 1, Info: strings.TrimSpace(strings.TrimPrefix(line, "```")), Wire: wire}
		wire = ""
		var text strings.Builder
		for i++; ; i++ {
			if i == len(lines) {
				return nil, fmt.Errorf("line %d: fenced block never closed", b.Line)
			}
			if strings.TrimRight(lines[i], "\r\n") == "```" {
				break
			}
			text.WriteString(lines[i])
		}
		b.Text = text.String()
		blocks = append(blocks, b)
	}
	return blocks, nil
}

// Lesson is what a README's blocks are checked against.
type Lesson struct {
	Sources map[string]string // .go files of the lesson, by name
	Scripts map[string]string // txtar files under testdata/LESSON, by path relative to it
}

// LoadLesson reads the sources of lessonDir and the scripts of testdataDir.
func LoadLesson(lessonDir, testdataDir string) (*Lesson, error) {
	l := &Lesson{Sources: map[string]string{}, Scripts: map[string]string{}}
	gofiles, err := filepath.Glob(filepath.Join(lessonDir, "*.go"))
	if err != nil {
		return nil, err
	}
	for _, f := range gofiles {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		l.Sources[filepath.Base(f)] = string(b)
	}
	err = filepath.WalkDir(testdataDir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".txtar") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(testdataDir, path)
		l.Scripts[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	return l, err
}

// CheckReadme returns one error per block of md that drifted from l.
func CheckReadme(md string, l *Lesson) []error {
	blocks, err := Blocks(md)
	if err != nil {
		return []error{err}
	}
	var errs []error
	for _, b := range blocks {
		switch {
		case b.Wire != "":
			script, ok := l.Scripts[b.Wire]
			if !ok {
				errs = append(errs, fmt.Errorf("line %d: <!-- wire: %s -->: no such script", b.Line, b.Wire))
			} else if !strings.Contains(script, b.Text) {
				errs = append(errs, fmt.Errorf("line %d: transcript is not in %s (run the tests with -update, then copy the golden output):\n%s", b.Line, b.Wire, b.Text))
			}
		case b.Info == "go":
			if !inAny(l.Sources, b.Text) {
				errs = append(errs, fmt.Errorf("line %d: Go excerpt is not verbatim in the lesson's source:\n%s", b.Line, b.Text))
			}
		case b.Info == "text":
			errs = append(errs, fmt.Errorf("line %d: a text block must follow a <!-- wire: SCRIPT.txtar --> line naming the script that produces it", b.Line))
		}
	}
	return errs
}

func inAny(files map[string]string, s string) bool {
	for _, f := range files {
		if strings.Contains(f, s) {
			return true
		}
	}
	return false
}
