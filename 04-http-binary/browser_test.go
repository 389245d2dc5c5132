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

// TestBrowser has a real browser, headless Chromium, open / and checks
// that it decoded both pictures: the page's own script writes each
// picture's naturalWidth and naturalHeight into the page once they have
// loaded (0 for a picture it could not decode), and the test reads the
// DOM the browser dumps. It keeps a screenshot in testoutput/. It skips
// when Chromium is not installed, unless WIRETEST_REQUIRE_TOOLS is set
// (CI), where it fails.
func TestBrowser(t *testing.T) {
	browser := wiretest.FindChromium()
	if browser == "" {
		wiretest.Missing(t, "chromium (Debian: apt-get install chromium)")
	}
	base := "http://" + startServer(t, builtinSite(t))

	// --virtual-time-budget lets the page's scripts and loads finish
	// before the DOM is dumped.
	page := headless(t, browser, "--virtual-time-budget=10000", "--dump-dom", base+"/")
	want := "Your browser decoded 2 of 2 pictures: ice-caps.jpg 480×320, bytes.png 256×256."
	if !strings.Contains(page, want) {
		t.Errorf("the browser's DOM of / does not say %q:\n%s", want, page)
	}

	// The stylesheet applied, and a folder's index.html is found.
	about := headless(t, browser, "--dump-dom", base+"/about")
	if !strings.Contains(about, "<h1>about/</h1>") {
		t.Errorf("/about did not lead the browser to about/index.html:\n%s", about)
	}

	// A screenshot of the page, for a person to look at; CI keeps it.
	out, err := filepath.Abs(filepath.Join("..", "testoutput", "04-http-binary"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	png := filepath.Join(out, "index.png")
	os.Remove(png)
	headless(t, browser, "--virtual-time-budget=10000", "--screenshot="+png, "--window-size=800,1000", base+"/")
	if fi, err := os.Stat(png); err != nil || fi.Size() == 0 {
		t.Fatalf("no screenshot in %s: %v", png, err)
	}
	t.Logf("screenshot of / in %s", png)
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
