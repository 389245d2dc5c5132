package wiretest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// TestBrowserWaits checks that the driver reads a page as it changes: the
// page's script writes its verdict half a second after the page loaded,
// and WaitText sees it; a verdict that never comes is an error that
// shows the page's text.
func TestBrowserWaits(t *testing.T) {
	path := FindChromium()
	if path == "" {
		Missing(t, chromium)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(`<!doctype html><p id=v>waiting</p>
<script>setTimeout(() => { document.getElementById("v").textContent = "verdict: ok" }, 500)</script>`))
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, err := StartBrowser(ctx, path, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Open(ctx, srv.URL); err != nil {
		t.Fatal(err)
	}
	text, err := b.WaitText(ctx, regexp.MustCompile(`verdict: \w+`))
	if err != nil || text != "verdict: ok" {
		t.Fatalf("WaitText = %q, %v; want the verdict", text, err)
	}
	short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancelShort()
	if _, err := b.WaitText(short, regexp.MustCompile(`never`)); err == nil {
		t.Error("WaitText found a text the page never had")
	}
	png := filepath.Join(t.TempDir(), "page.png")
	if err := b.Screenshot(ctx, png); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(png); err != nil || fi.Size() == 0 {
		t.Errorf("no screenshot: %v", err)
	}
}
