package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gorilla "github.com/gorilla/websocket"

	"sockets/internal/wiretest"
)

// The peers below are WebSocket implementations written by other people,
// each talking to the lesson (or, for gorilla, the lesson's client to
// it). Each echoes text and binary messages of every length form: 0, 125
// (the largest 7-bit length), 126 and 65535 (the 16-bit form), 65536 (the
// 64-bit form), and 16 MiB.

// peerSizes are the message lengths every peer sends.
const peerSizes = "0, 125, 126, 127, 65535, 65536, 16 << 20"

// pythonPeer uses Debian's python3-websockets (asyncio client).
const pythonPeer = `
import asyncio, sys, websockets
async def main():
    async with websockets.connect(sys.argv[1], max_size=None) as ws:
        for n in [` + peerSizes + `]:
            text = ("é" * (n // 2) + "a" * (n % 2))
            await ws.send(text)
            assert await ws.recv() == text, ("text", n)
            data = bytes(i % 251 for i in range(n))
            await ws.send(data)
            assert await ws.recv() == data, ("binary", n)
        pong = await ws.ping(b"python")
        await pong
    assert ws.close_code == 1000, ws.close_code
    print("python ok")
asyncio.run(main())
`

// nodePeer uses Node's ws module (Debian: node-ws).
var nodePeer = `
const WebSocket = require("ws");
const ws = new WebSocket(process.argv[2], { maxPayload: 0 });
const sizes = [` + strings.ReplaceAll(peerSizes, " << ", " * 2 ** ") + `];
const queue = [];
for (const n of sizes) {
  queue.push("é".repeat(Math.floor(n / 2)) + "a".repeat(n % 2));
  queue.push(Buffer.from(Array.from({ length: n }, (_, i) => i % 251)));
}
let i = 0;
ws.on("open", () => ws.send(queue[0]));
ws.on("message", (data, isBinary) => {
  const want = queue[i];
  const same = typeof want === "string" ? !isBinary && data.toString("utf8") === want : isBinary && Buffer.compare(data, want) === 0;
  if (!same) { console.log("echo " + i + " differs"); process.exit(1); }
  if (++i < queue.length) ws.send(queue[i]); else ws.close(1000, "done");
});
ws.on("close", (code) => { console.log(code === 1000 ? "node ok" : "node closed with " + code); });
ws.on("error", (err) => { console.log("node error " + err); process.exit(1); });
`

// findTool returns the first command that runs probe without error, or
// skips the test (fails it in CI, where WIRETEST_REQUIRE_TOOLS is set).
func findTool(t *testing.T, what string, env []string, probe []string, candidates ...string) string {
	t.Helper()
	for _, c := range candidates {
		cmd := exec.Command(c, probe...)
		cmd.Env = append(os.Environ(), env...)
		if cmd.Run() == nil {
			return c
		}
	}
	wiretest.Missing(t, what)
	return ""
}

func runPeer(t *testing.T, want string, env []string, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), want) {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// TestPythonWebsockets echoes through the lesson with Python's websockets.
func TestPythonWebsockets(t *testing.T) {
	py := findTool(t, "python3 with websockets (Debian: apt-get install python3-websockets)", nil,
		[]string{"-c", "import websockets"}, "/usr/bin/python3", "python3")
	addr, _ := startServer(t, nil)
	script := filepath.Join(t.TempDir(), "peer.py")
	os.WriteFile(script, []byte(pythonPeer), 0o644)
	runPeer(t, "python ok", nil, py, script, "ws://"+addr+"/ws")
}

// TestNodeWs echoes through the lesson with Node's ws module.
func TestNodeWs(t *testing.T) {
	env := []string{"NODE_PATH=/usr/share/nodejs:/usr/lib/nodejs"}
	node := findTool(t, "node with the ws module (Debian: apt-get install node-ws)", env,
		[]string{"-e", `require("ws")`}, "node", "nodejs")
	addr, _ := startServer(t, nil)
	script := filepath.Join(t.TempDir(), "peer.js")
	os.WriteFile(script, []byte(nodePeer), 0o644)
	runPeer(t, "node ok", env, node, script, "ws://"+addr+"/ws")
}

// TestClientAgainstGorilla runs the lesson's client against an echo
// server written with gorilla/websocket: the handshake, masked frames
// from our side, and the closing handshake, checked by someone else's
// code.
func TestClientAgainstGorilla(t *testing.T) {
	echo := gorillaHandler(gorilla.Upgrader{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != wsPath {
			http.NotFound(w, r) // the client must ask for /ws
			return
		}
		echo.ServeHTTP(w, r)
	}))
	defer srv.Close()
	long := strings.Repeat("é", 40000) // 80,000 bytes: the 64-bit length form
	in := strings.Join([]string{"Hello", "/ping gorilla", "κόσμε", strings.Repeat("x", 126), long}, "\n") + "\n"
	var out bytes.Buffer
	err := runClient(strings.TrimPrefix(srv.URL, "http://"), false, strings.NewReader(in), &out)
	if err != nil {
		t.Fatal(err)
	}
	want := "Hello\nκόσμε\n" + strings.Repeat("x", 126) + "\n" + long + "\n"
	if out.String() != want {
		t.Errorf("the client printed %d bytes, want %d: %.80q…", out.Len(), len(want), out.String())
	}
}
