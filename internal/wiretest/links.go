package wiretest

import (
	"fmt"
	"html"
	"net/url"
	"os"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

// links base file
//
// prints where each link (<a href>) of the HTML page in file leads, and
// its text, one link a line: "PATH  TEXT". file holds the page as recv
// printed it (an answer's head may come first). The href is taken as a
// browser takes it: HTML entities decoded, then resolved against the URL
// base. A link that stays on base's server shows as its path, decoded,
// then (query "…") and (fragment "…") when it has them; any other
// (another server, "javascript:…") shows whole. The text shows as a browser shows
// it: tags dropped, entities decoded, bytes that are not UTF-8 as U+FFFD.
// Both are printed with [Escape]'s escapes.
func cmdLinks(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 || neg {
		ts.Fatalf("usage: links base file")
	}
	base, err := url.Parse(args[0])
	ts.Check(err)
	printed, err := os.ReadFile(ts.MkAbs(args[1]))
	ts.Check(err)
	page, err := Unescape(strings.ReplaceAll(string(printed), "\\n\n", "\\n"))
	ts.Check(err)
	for _, a := range anchors(string(page)) {
		fmt.Fprintf(ts.Stdout(), "%s  %s\n", strings.TrimSuffix(Escape([]byte(linkTarget(base, a.href))), "\n"),
			strings.TrimSuffix(Escape([]byte(a.text)), "\n"))
	}
}

// linkTarget is where href leads from base, as links prints it.
func linkTarget(base *url.URL, href string) string {
	u, err := base.Parse(strings.TrimSpace(href))
	if err != nil {
		return "unparsable href " + href + ": " + err.Error()
	}
	if u.Scheme != base.Scheme || u.Host != base.Host || u.Opaque != "" || u.User != nil {
		return u.String()
	}
	s := u.Path
	if u.RawQuery != "" || u.ForceQuery {
		s += ` (query "` + u.RawQuery + `")`
	}
	if u.Fragment != "" || strings.HasSuffix(href, "#") {
		s += ` (fragment "` + u.Fragment + `")`
	}
	return s
}

// anchor is one <a> element: its href, decoded, and its text.
type anchor struct{ href, text string }

// anchors finds the <a href=…>…</a> elements of page. It reads the little
// of HTML that pages of links need (attribute values in double quotes,
// single quotes or none, entities, tags inside the text), as a browser
// reads them, and no more.
func anchors(page string) []anchor {
	var found []anchor
	lower := asciiLower(page) // same length as page: indices agree
	for i := 0; ; {
		j := strings.Index(lower[i:], "<a")
		if j < 0 {
			return found
		}
		i += j + 2
		if i >= len(page) || !strings.ContainsRune(" \t\r\n\f/>", rune(page[i])) {
			continue // <abbr>, <article>: not a link
		}
		attrs, end := tagAttrs(page, i)
		i = end
		href, ok := attrs["href"]
		if !ok {
			continue
		}
		k := strings.Index(lower[i:], "</a")
		if k < 0 {
			k = len(page) - i
		}
		found = append(found, anchor{href: html.UnescapeString(href), text: visibleText(page[i : i+k])})
		i += k
	}
}

// asciiLower lowers A-Z alone. strings.ToLower would also turn each
// byte that is not UTF-8 into U+FFFD, three bytes.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// tagAttrs reads the attributes of the tag whose name ends at i, up to
// its '>', and returns them (names in lower case, the first of each name
// wins, as in HTML) and the index after the '>'.
func tagAttrs(s string, i int) (map[string]string, int) {
	attrs := map[string]string{}
	for {
		for i < len(s) && strings.IndexByte(" \t\r\n\f/", s[i]) >= 0 {
			i++
		}
		if i >= len(s) || s[i] == '>' {
			return attrs, min(i+1, len(s))
		}
		start := i
		for i < len(s) && strings.IndexByte(" \t\r\n\f/>=", s[i]) < 0 {
			i++
		}
		name := strings.ToLower(s[start:i])
		var value string
		if i < len(s) && s[i] == '=' {
			i++
			switch {
			case i < len(s) && (s[i] == '"' || s[i] == '\''):
				q := s[i]
				end := strings.IndexByte(s[i+1:], q)
				if end < 0 {
					end = len(s) - i - 1
				}
				value, i = s[i+1:i+1+end], min(i+2+end, len(s))
			default:
				start := i
				for i < len(s) && strings.IndexByte(" \t\r\n\f>", s[i]) < 0 {
					i++
				}
				value = s[start:i]
			}
		}
		if _, dup := attrs[name]; !dup {
			attrs[name] = value
		}
	}
}

// visibleText is what a browser shows of HTML text: tags dropped,
// entities decoded, bytes that are not UTF-8 replaced by U+FFFD.
func visibleText(s string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			break
		}
		s = s[i+j+1:]
	}
	return html.UnescapeString(strings.ToValidUTF8(b.String(), "\uFFFD"))
}

// mkfile name 'bytes'...
//
// writes a file whose name and contents are Go-escaped ('caf\xe9.txt'),
// for names a script's archive cannot hold on every system.
func cmdMkfile(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 1 || neg {
		ts.Fatalf("usage: mkfile name 'bytes'...")
	}
	name, err := Unescape(args[0])
	ts.Check(err)
	var data []byte
	for _, a := range args[1:] {
		b, err := Unescape(a)
		ts.Check(err)
		data = append(data, b...)
	}
	ts.Check(os.WriteFile(ts.MkAbs(string(name)), data, 0o666))
}
