package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"sockets/internal/wiretest"
)

// TestBrowser has a real browser, headless Chromium, open the page at /
// with #selftest: the page's script connects to /ws, sends a UTF-8 text,
// a text of 70,000 bytes (the 64-bit length form) and a binary message,
// checks each echo, closes with 1000 and writes its verdict into the
// page, which the test reads as the page changes. It keeps a screenshot
// in testoutput/. It skips when Chromium is not installed, unless
// WIRETEST_REQUIRE_TOOLS is set (CI), where it fails.
func TestBrowser(t *testing.T) {
	browser := wiretest.FindChromium()
	if browser == "" {
		wiretest.Missing(t, "chromium (Debian: apt-get install chromium)")
	}
	// "localhost", not 127.0.0.1: the page's Origin must match the Host.
	addr, _ := startServer(t, nil)
	_, port, _ := strings.Cut(addr, ":")
	url := "http://localhost:" + port + "/#selftest"

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, err := wiretest.StartBrowser(ctx, browser, t.TempDir(), "--window-size=900,1100")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Open(ctx, url); err != nil {
		t.Fatal(err)
	}
	page, err := b.WaitText(ctx, regexp.MustCompile(`selftest: .*; closed .*`))
	if err != nil {
		t.Fatal(err)
	}
	want := `selftest: text 30 ok, text 70000 ok, binary 300 ok; closed code 1000 reason "" clean true`
	if !strings.Contains(page, want) {
		t.Errorf("the page does not say %q:\n%s", want, page)
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
	if err := b.Screenshot(ctx, png); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot of / in %s", png)
}
