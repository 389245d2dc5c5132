package wiretest

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// A lesson's README.md shows code and wire transcripts; CheckReadme keeps
// them true to the lesson:
//
//   - every ```go block is a verbatim piece of one of the lesson's .go files;
//   - every block right after a <!-- wire: NAME.txtar --> line is a verbatim
//     piece of that script in testdata/LESSON, normally a golden file the
//     script compares the wire bytes with, so the test produced it; and
//     the text before it shows the flags the script's server ran with
//     (-trace only where the block shows trace lines), since a reader
//     who runs the lesson without them gets other bytes;
//   - every block right after a <!-- diffstat: PREV --> line is what
//     [DiffStat] says of the lesson folder PREV (the lesson before) and
//     this one, so that "what changed" is what did;
//   - a ```text block without such a line is an error: a transcript must
//     say where it comes from.
//
// Blocks in other languages (sh, mermaid, …) are not checked.

// Block is one fenced block of a README.
type Block struct {
	Line int    // line of the opening fence, from 1
	Info string // the fence's info string, e.g. "go"
	Wire string // the script named by a <!-- wire: … --> line before it
	Diff string // the lesson named by a <!-- diffstat: … --> line before it
	Text string // the content, ending in a line break
}

var (
	wireRE = regexp.MustCompile(`^<!--\s*wire:\s*(\S+)\s*-->\s*$`)
	diffRE = regexp.MustCompile(`^<!--\s*diffstat:\s*(\S+)\s*-->\s*$`)
)

// Blocks returns the fenced blocks of a Markdown document.
func Blocks(md string) ([]Block, error) {
	var blocks []Block
	lines := strings.SplitAfter(md, "\n")
	wire, diff := "", ""
	for i := 0; i < len(lines); i++ {
		line := strings.TrimRight(lines[i], "\r\n")
		if m := wireRE.FindStringSubmatch(line); m != nil {
			wire = m[1]
			continue
		}
		if m := diffRE.FindStringSubmatch(line); m != nil {
			diff = m[1]
			continue
		}
		if !strings.HasPrefix(line, "```") {
			if strings.TrimSpace(line) != "" {
				wire, diff = "", "" // a marker applies to the very next block only
			}
			continue
		}
		b := Block{Line: i + 1, Info: strings.TrimSpace(strings.TrimPrefix(line, "```")), Wire: wire, Diff: diff}
		wire, diff = "", ""
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
	// DiffStat returns DiffStat(PREV, this lesson) for a diffstat marker.
	DiffStat func(prev string) (string, error)
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
	l.DiffStat = func(prev string) (string, error) {
		return DiffStat(filepath.Join(filepath.Dir(lessonDir), prev), lessonDir)
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
			} else if missing := unshownFlags(md, b, script); len(missing) > 0 {
				errs = append(errs, fmt.Errorf("line %d: %s starts the server with %s, which the text before the transcript does not show: a reader without it gets other bytes", b.Line, b.Wire, strings.Join(missing, ", ")))
			}
		case b.Diff != "":
			if l.DiffStat == nil {
				errs = append(errs, fmt.Errorf("line %d: <!-- diffstat: %s -->: no lesson folders to compare", b.Line, b.Diff))
				break
			}
			want, err := l.DiffStat(b.Diff)
			if err != nil {
				errs = append(errs, fmt.Errorf("line %d: <!-- diffstat: %s -->: %w", b.Line, b.Diff, err))
			} else if b.Text != want {
				errs = append(errs, fmt.Errorf("line %d: the diff stat against %s is now:\n%s", b.Line, b.Diff, want))
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

// UpdateDiffStats returns md with every block after a <!-- diffstat -->
// line replaced by what l.DiffStat says now (go test ./internal/...
// -update).
func UpdateDiffStats(md string, l *Lesson) (string, error) {
	blocks, err := Blocks(md)
	if err != nil {
		return "", err
	}
	lines := strings.SplitAfter(md, "\n")
	// From the last block up, so that the line numbers above stay true.
	for _, b := range slices.Backward(blocks) {
		if b.Diff == "" {
			continue
		}
		want, err := l.DiffStat(b.Diff)
		if err != nil {
			return "", fmt.Errorf("line %d: <!-- diffstat: %s -->: %v", b.Line, b.Diff, err)
		}
		start := b.Line // the block's first line of text (b.Line counts from 1)
		end := start + strings.Count(b.Text, "\n")
		lines = slices.Replace(lines, start, end, strings.SplitAfter(strings.TrimSuffix(want, "\n"), "\n")...)
		lines[start+strings.Count(want, "\n")-1] += "\n"
	}
	return strings.Join(lines, ""), nil
}

// flagWindow is how many lines before a transcript the text must show
// the flags its script started the server with.
const flagWindow = 40

// unshownFlags returns the flags of the serve command that made block b
// (the last one before the block's text in the script, or before the
// first command that reads the golden file the block is) that the
// flagWindow lines of md before the block do not show, each as it would
// be typed: -name or -name value.
func unshownFlags(md string, b Block, script string) []string {
	at := strings.Index(script, b.Text)
	// In a golden file, the command that reads the file made it.
	if i := strings.LastIndex(script[:min(at+len("-- "), len(script))], "\n-- "); i >= 0 {
		name, _, _ := strings.Cut(script[i+len("\n-- "):], " --\n")
		if use := strings.Index(script, " "+name+"\n"); use >= 0 && use < at {
			at = use
		}
	}
	var serve []string
	for line := range strings.Lines(script[:at]) {
		f := strings.Fields(line)
		if len(f) > 0 && strings.HasPrefix(f[0], "[") {
			f = f[1:] // a condition
		}
		if len(f) > 0 && f[0] == "serve" {
			serve = f[1:]
		}
	}
	lines := strings.Split(md, "\n")
	before := strings.Join(lines[max(0, b.Line-1-flagWindow):b.Line-1], "\n")
	traced := strings.Contains(b.Text, " <- ") || strings.Contains(b.Text, " -> ")
	var missing []string
	for i := 0; i < len(serve); i++ {
		flag := serve[i]
		if i+1 < len(serve) && !strings.HasPrefix(serve[i+1], "-") {
			i++
			flag += " " + strings.Trim(serve[i], "'")
		}
		if flag == "-trace" && !traced {
			continue // the block does not show what -trace adds
		}
		if !strings.Contains(before, flag) {
			missing = append(missing, flag)
		}
	}
	return missing
}

func inAny(files map[string]string, s string) bool {
	for _, f := range files {
		if strings.Contains(f, s) {
			return true
		}
	}
	return false
}

// DiffStat says how the lesson folder newDir differs from oldDir, file by
// file, leaving out the lesson texts (*.md): one line for each file that
// differs, in order of name, with the lines added and removed that
// `git diff --no-index --numstat oldDir newDir` prints for it,
//
//	client.go    +40 -25
//	encoding.go  new, 309 lines
//	idle.go      gone
//
// and last a line naming the files that are the same in both. The
// counts are git's own: a shortest diff has fewer lines in places, and a
// reader checks the text with git.
func DiffStat(oldDir, newDir string) (string, error) {
	oldFiles, err := lessonFiles(oldDir)
	if err != nil {
		return "", err
	}
	newFiles, err := lessonFiles(newDir)
	if err != nil {
		return "", err
	}
	names := slices.Sorted(maps.Keys(oldFiles))
	for name := range newFiles {
		if _, ok := oldFiles[name]; !ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	numstat, err := gitNumstat(oldDir, newDir)
	if err != nil {
		return "", err
	}
	width := 0
	for _, name := range names {
		if oldFiles[name] != newFiles[name] {
			width = max(width, len(name))
		}
	}
	var b strings.Builder
	var same []string
	for _, name := range names {
		o, inOld := oldFiles[name]
		n, inNew := newFiles[name]
		var what string
		switch {
		case o == n:
			same = append(same, name)
			continue
		case !inOld && isText(n):
			what = fmt.Sprintf("new, %d lines", strings.Count(n, "\n"))
		case !inOld:
			what = "new"
		case !inNew:
			what = "gone"
		case !isText(o) || !isText(n):
			what = "changed"
		default:
			what = numstat[name]
		}
		fmt.Fprintf(&b, "%-*s  %s\n", width, name, what)
	}
	if len(same) > 0 {
		fmt.Fprintf(&b, "the same: %s\n", strings.Join(same, " "))
	}
	return b.String(), nil
}

// ErrNoGit is DiffStat's error where git is not installed: the counts
// are git's, and nothing else makes them.
var ErrNoGit = errors.New("git is not installed; git diff --numstat counts the lines of a diff stat")

// gitNumstat returns "+ADDED -REMOVED" by file name, relative to the
// two folders, as git diff --no-index --numstat counts them.
func gitNumstat(oldDir, newDir string) (map[string]string, error) {
	if _, err := exec.LookPath("git"); err != nil {
		return nil, ErrNoGit
	}
	cmd := exec.Command("git", "-c", "diff.algorithm=myers", "diff", "--no-index", "--numstat", "--no-renames", "--", oldDir, newDir)
	out, err := cmd.Output()
	if len(out) == 0 {
		return nil, fmt.Errorf("git diff --no-index --numstat %s %s: %v (git counts the lines of a diff stat)", oldDir, newDir, err)
	}
	oldDir, newDir = filepath.ToSlash(oldDir), filepath.ToSlash(newDir)
	stats := map[string]string{}
	for line := range strings.Lines(string(out)) {
		// ADDED, REMOVED and the path: a/{01-x => 02-y}/main.go;
		// /dev/null => a/02-y/new.go; a/01-x/old.go => /dev/null.
		f := strings.SplitN(strings.TrimSuffix(line, "\n"), "\t", 3)
		if len(f) != 3 {
			return nil, fmt.Errorf("git diff --numstat printed %q", line)
		}
		name := f[2]
		if _, after, ok := strings.Cut(name, "}/"); ok {
			name = after
		} else if o, n, ok := strings.Cut(name, " => "); ok {
			name = strings.TrimPrefix(strings.TrimPrefix(n, newDir+"/"), oldDir+"/")
			if n == "/dev/null" {
				name = strings.TrimPrefix(o, oldDir+"/")
			}
		}
		stats[name] = "+" + f[0] + " -" + f[1]
	}
	return stats, nil
}

// lessonFiles reads the files of a lesson folder but its texts (*.md),
// by path relative to it, with / between names.
func lessonFiles(dir string) (map[string]string, error) {
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") && path != dir {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() || strings.HasSuffix(path, ".md") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		files[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	return files, err
}

// isText says whether a file holds text: UTF-8 without NUL bytes.
func isText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}
