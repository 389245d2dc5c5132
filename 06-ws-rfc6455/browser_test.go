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

// TestBrowser has a real browser, headless Chromium, open the page at /
// with #selftest: the page's script connects to /ws, sends a UTF-8 text,
// a text of 70,000 bytes (the 64-bit length form) and a binary message,
// checks each echo, closes with 1000 and writes its verdict into the
// page, which the test reads from the DOM the browser dumps. It keeps a
// screenshot in testoutput/. It skips when Chromium is not installed,
// unless WIRETEST_REQUIRE_TOOLS is set (CI), where it fails.
func TestBrowser(t *testing.T) {
	browser := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			browser = p
			break
		}
	}
	if browser == "" {
		if os.Getenv(wiretest.RequireEnv) != "" {
			t.Fatalf("chromium is not installed, and %s says every tool is required", wiretest.RequireEnv)
		}
		t.Skip("skipping: this test needs chromium (Debian: apt-get install chromium), which is not installed")
	}
	// "localhost", not 127.0.0.1: the page's Origin must match the Host.
	addr, _ := startServer(t, nil)
	_, port, _ := strings.Cut(addr, ":")
	url := "http://localhost:" + port + "/#selftest"

	// --virtual-time-budget lets the page's script finish before the DOM
	// is dumped.
	page := headless(t, browser, "--virtual-time-budget=10000", "--dump-dom", url)
	want := `selftest: text 30 ok, text 70000 ok, binary 300 ok; closed code 1000 reason "" clean true`
	if !strings.Contains(page, want) {
		t.Errorf("the browser's DOM does not say %q:\n%s", want, page)
	}

	// A screenshot of the page after its self-test, for a person to look
	// at; CI keeps it.
	out, err := filepath.Abs(filepath.Join("..", "testoutput", "06-ws-rfc6455"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	png := filepath.Join(out, "index.png")
	os.Remove(png)
	headless(t, browser, "--virtual-time-budget=10000", "--screenshot="+png, "--window-size=900,1100", url)
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
