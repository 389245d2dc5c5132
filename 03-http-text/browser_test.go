package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sockets/internal/wiretest"
)

// TestBrowser has a real browser, headless Chromium, load / and /echo
// from the lesson, and checks what it rendered (the DOM after loading).
// It skips when Chromium is not installed, unless WIRETEST_REQUIRE_TOOLS
// is set (CI), where it fails.
func TestBrowser(t *testing.T) {
	browser := wiretest.FindChromium()
	if browser == "" {
		wiretest.Missing(t, "chromium (Debian: apt-get install chromium)")
	}
	base := "http://" + startServer(t)

	page := headless(t, browser, "--dump-dom", base+"/")
	for _, want := range []string{"<title>03-http-text</title>", "<h1>Hello from a raw socket</h1>", `<a href="/echo">`} {
		if !strings.Contains(page, want) {
			t.Errorf("the browser's DOM of / has no %s:\n%s", want, page)
		}
	}

	// A browser shows text/plain inside a <pre>: the echo of its own
	// request, every line ending in a visible \r\n.
	echo := headless(t, browser, "--dump-dom", base+"/echo")
	for _, want := range []string{"<pre", "GET /echo HTTP/1.1\\r\\n\n", "User-Agent: Mozilla/5.0", "HeadlessChrome", "\n\\r\\n\n"} {
		if !strings.Contains(echo, want) {
			t.Errorf("the browser's DOM of /echo has no %q:\n%s", want, echo)
		}
	}

	// A screenshot of the page, for a person to look at.
	out, _ := filepath.Abs(filepath.Join("..", "testoutput", "03-http-text"))
	if err := os.MkdirAll(out, 0o755); err == nil {
		png := filepath.Join(out, "index.png")
		headless(t, browser, "--screenshot="+png, "--window-size=800,600", base+"/")
		t.Logf("screenshot of / in %s", png)
	}
}

// headless runs the browser once, headless, with a fresh profile, and
// returns what it printed. The flags keep it from reaching for the
// network (updates, sync, QUIC), which would stall it on a closed one.
func headless(t *testing.T, browser string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args = append([]string{
		"--headless", "--no-sandbox", "--disable-gpu",
		"--disable-background-networking", "--disable-component-update",
		"--disable-sync", "--no-first-run", "--disable-quic",
		"--user-data-dir=" + t.TempDir(),
	}, args...)
	cmd := exec.CommandContext(ctx, browser, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", browser, strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}
