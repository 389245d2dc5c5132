package wiretest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/websocket"
	"github.com/rogpeppe/go-internal/testscript"
)

// A Browser is headless Chromium, driven over its DevTools protocol: the
// test opens a page, then reads the page's text as it changes, in real
// time, until it says what the test waits for. (Dumping the DOM with
// --dump-dom and a virtual time budget is simpler, but the budget does
// not wait for a WebSocket's bytes, and now and then the dump came before
// the page had its answer.)
type Browser struct {
	cmd  *exec.Cmd
	page *websocket.Conn
	id   int // the last command's id
}

// chromium names the browser for Missing.
const chromium = "chromium (Debian: apt-get install chromium)"

// FindChromium returns the path of a Chromium-like browser, or "".
func FindChromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// StartBrowser starts headless Chromium with a fresh profile in dir and
// the extra flags given (such as --ignore-certificate-errors), and
// connects to its first page. The flags keep it from reaching for the
// network (updates, sync, QUIC), which would stall it on a closed one.
func StartBrowser(ctx context.Context, path, dir string, flags ...string) (*Browser, error) {
	args := append([]string{
		"--headless", "--no-sandbox", "--disable-gpu",
		"--disable-background-networking", "--disable-component-update",
		"--disable-sync", "--no-first-run", "--disable-quic",
		"--remote-debugging-port=0", "--user-data-dir=" + dir,
	}, flags...)
	b := &Browser{cmd: exec.Command(path, append(args, "about:blank")...)}
	// Chromium starts helper processes; in a group of their own, Close
	// can stop them all, before they write more into dir.
	inGroup(b.cmd)
	if err := b.cmd.Start(); err != nil {
		return nil, err
	}
	// Chromium writes the port it picked into DevToolsActivePort.
	var port int
	for port == 0 {
		if line, _, _ := strings.Cut(readFile(filepath.Join(dir, "DevToolsActivePort")), "\n"); line != "" {
			port, _ = strconv.Atoi(line)
		}
		select {
		case <-ctx.Done():
			b.Close()
			return nil, fmt.Errorf("chromium did not start: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	target, err := pageTarget(ctx, port)
	if err != nil {
		b.Close()
		return nil, err
	}
	b.page, _, err = websocket.DefaultDialer.DialContext(ctx, target, nil)
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("connecting to chromium's page: %w", err)
	}
	return b, nil
}

func readFile(name string) string {
	b, _ := os.ReadFile(name)
	return string(b)
}

// pageTarget returns the DevTools address of the browser's first page.
func pageTarget(ctx context.Context, port int) (string, error) {
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("http://127.0.0.1:%d/json/list", port), nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			var targets []struct{ Type, WebSocketDebuggerURL string }
			err = json.NewDecoder(resp.Body).Decode(&targets)
			resp.Body.Close()
			for _, t := range targets {
				if t.Type == "page" && t.WebSocketDebuggerURL != "" {
					return t.WebSocketDebuggerURL, nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("chromium shows no page (%v): %w", err, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// call sends one DevTools command and returns its result.
func (b *Browser) call(ctx context.Context, method string, params any, result any) error {
	b.id++
	if d, ok := ctx.Deadline(); ok {
		b.page.SetReadDeadline(d)
		b.page.SetWriteDeadline(d)
	}
	if err := b.page.WriteJSON(map[string]any{"id": b.id, "method": method, "params": params}); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	for {
		var msg struct {
			ID     int
			Result json.RawMessage
			Error  *struct{ Message string }
		}
		if err := b.page.ReadJSON(&msg); err != nil {
			return fmt.Errorf("%s: %w", method, err)
		}
		if msg.ID != b.id {
			continue // an event, or the answer to a call that timed out
		}
		if msg.Error != nil {
			return fmt.Errorf("%s: %s", method, msg.Error.Message)
		}
		if result == nil {
			return nil
		}
		return json.Unmarshal(msg.Result, result)
	}
}

// Open loads url in the page.
func (b *Browser) Open(ctx context.Context, url string) error {
	var r struct{ ErrorText string }
	if err := b.call(ctx, "Page.navigate", map[string]any{"url": url}, &r); err != nil {
		return err
	}
	if r.ErrorText != "" {
		return fmt.Errorf("opening %s: %s", url, r.ErrorText)
	}
	return nil
}

// Text returns the text of the page as it is now (the body's innerText).
func (b *Browser) Text(ctx context.Context) (string, error) {
	var r struct {
		Result struct{ Value string }
	}
	err := b.call(ctx, "Runtime.evaluate", map[string]any{
		"expression":    "document.body ? document.body.innerText : ''",
		"returnByValue": true,
	}, &r)
	return r.Result.Value, err
}

// WaitText reads the page's text until it matches re, and returns it;
// if ctx ends first, the error holds the text as it was last.
func (b *Browser) WaitText(ctx context.Context, re *regexp.Regexp) (string, error) {
	text := ""
	for {
		var err error
		if text, err = b.Text(ctx); err == nil && re.MatchString(text) {
			return text, nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("the page never said %q; it says:\n%s", re, text)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Screenshot saves what the page shows as a PNG file.
func (b *Browser) Screenshot(ctx context.Context, file string) error {
	var r struct{ Data string }
	if err := b.call(ctx, "Page.captureScreenshot", map[string]any{"format": "png"}, &r); err != nil {
		return err
	}
	png, err := base64.StdEncoding.DecodeString(r.Data)
	if err != nil {
		return err
	}
	return os.WriteFile(file, png, 0o644)
}

// Close stops the browser and its helper processes.
func (b *Browser) Close() error {
	if b.page != nil {
		b.page.Close()
	}
	killGroup(b.cmd)
	err := b.cmd.Wait()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return nil // killed, as asked
	}
	return err
}

// browse [-flag F]... [-screenshot FILE] [-timeout d] URL REGEXP
//
// opens URL in headless Chromium (each -flag is one more command-line
// flag for it, such as -flag --ignore-certificate-errors), waits until
// the page's text matches REGEXP, and prints the text to stdout. With
// -screenshot it then saves what the page shows. Negated, it expects the
// page never to match within the timeout. A missing Chromium skips the
// script, unless WIRETEST_REQUIRE_TOOLS is set.
func cmdBrowse(ts *testscript.TestScript, neg bool, args []string) {
	fs, timeout := flags("browse")
	var extra []string
	fs.Func("flag", "a flag for chromium", func(v string) error { extra = append(extra, v); return nil })
	shot := fs.String("screenshot", "", "save a screenshot here")
	if err := fs.Parse(args); err != nil || fs.NArg() != 2 {
		ts.Fatalf("usage: browse [-flag F]... [-screenshot FILE] [-timeout d] URL REGEXP")
	}
	re, err := regexp.Compile(fs.Arg(1))
	ts.Check(err)
	path := FindChromium()
	if path == "" {
		Missing(scriptT{ts}, chromium)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout+startTimeout)
	defer cancel()
	dir, err := os.MkdirTemp(ts.MkAbs("."), "chromium-")
	ts.Check(err)
	b, err := StartBrowser(ctx, path, dir, extra...)
	ts.Check(err)
	defer b.Close()
	ts.Check(b.Open(ctx, fs.Arg(0)))
	wait, cancelWait := context.WithTimeout(ctx, *timeout)
	defer cancelWait()
	text, err := b.WaitText(wait, re)
	if neg {
		if err == nil {
			ts.Fatalf("the page says %q, unexpectedly:\n%s", re, text)
		}
		return
	}
	ts.Check(err)
	if *shot != "" {
		ts.Check(b.Screenshot(ctx, ts.MkAbs(*shot)))
	}
	fmt.Fprintln(ts.Stdout(), text)
}
