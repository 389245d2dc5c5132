package wiretest

import (
	"net/url"
	"testing"
)

func TestLinks(t *testing.T) {
	base, _ := url.Parse("http://127.0.0.1:8004/files/")
	page := `<ul><li><a href="./a.txt">a.txt</a>
<li><A class=x HREF='b%20c.txt'>b c.txt</A>
<li><a href=./%3Cb%3E.txt><b>&lt;b&gt;.txt</b></a>
<li><a href="javascript:void(0)">javascript:void(0)</a>
<li><a href="./&amp;lt;.txt">&amp;lt;.txt</a>
<li><a href="&lt;.txt">raw</a>
<li><a href="what?.txt">q</a><a href="#1.txt">f</a>
<li><abbr href="x">no</abbr><a name=top>no href</a>
<li><a href="./caf%E9.txt">caf` + "\xe9" + `.txt</a>
<li><a href="sub/" href="other">sub/</a></ul>`
	want := []string{
		"/files/a.txt  a.txt",
		"/files/b c.txt  b c.txt",
		"/files/<b>.txt  <b>.txt",
		"javascript:void(0)  javascript:void(0)",
		"/files/&lt;.txt  &lt;.txt",
		"/files/<.txt  raw",
		`/files/what (query ".txt")  q`,
		`/files/ (fragment "1.txt")  f`,
		`/files/caf\xe9.txt  caf` + "\uFFFD" + `.txt`,
		"/files/sub/  sub/",
	}
	got := anchors(page)
	if len(got) != len(want) {
		t.Fatalf("found %d links, want %d: %q", len(got), len(want), got)
	}
	for i, a := range got {
		line := trimNL(Escape([]byte(linkTarget(base, a.href)))) + "  " + trimNL(Escape([]byte(a.text)))
		if line != want[i] {
			t.Errorf("link %d: got %q, want %q", i, line, want[i])
		}
	}
}

func trimNL(s string) string {
	if len(s) > 0 && s[len(s)-1] == '\n' {
		return s[:len(s)-1]
	}
	return s
}
