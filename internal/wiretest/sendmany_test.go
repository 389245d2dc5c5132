package wiretest

import "testing"

func TestRepeatArgs(t *testing.T) {
	got, err := repeatArgs([]string{`\x00`, "ab", "*3", `\xff`, `\x2a1`})
	if want := "\x00ababab\xff*1"; err != nil || string(got) != want {
		t.Errorf("repeatArgs = %q, %v; want %q", got, err, want)
	}
	for _, bad := range [][]string{{"*3"}, {"a", "*0"}, {"a", "*x"}, {"a", "*2", "*2"}} {
		if _, err := repeatArgs(bad); err == nil {
			t.Errorf("repeatArgs(%q) succeeded; want an error", bad)
		}
	}
}
