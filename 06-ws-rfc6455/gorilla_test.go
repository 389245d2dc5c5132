package main

import (
	"flag"
	"io"
	"log"
	"net"
	"net/http"
	"os"

	gorilla "github.com/gorilla/websocket"

	"sockets/internal/wiretest"
)

// gorillaEchoCmd names the reference server: gorillaEcho, run as a
// command of its own by TestMain.
const gorillaEchoCmd = "gorilla-echo"

func init() { wiretest.Command(gorillaEchoCmd, gorillaEcho) }

// gorillaEcho serves gorillaHandler on -addr, and logs its address as
// the lesson does.
func gorillaEcho() {
	log.SetFlags(0)
	fs := flag.NewFlagSet(gorillaEchoCmd, flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen on `host:port`")
	bufSize := fs.Int("bufsize", 4096, "the Upgrader's read and write buffer sizes (0: reuse net/http's)")
	fs.Parse(os.Args[1:])
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("%s: listening on %s", gorillaEchoCmd, ln.Addr())
	log.Fatal(http.Serve(ln, gorillaHandler(gorilla.Upgrader{ReadBufferSize: *bufSize, WriteBufferSize: *bufSize})))
}

// gorillaHandler is an echo server on gorilla/websocket that streams each
// message back as it arrives (NextReader, NextWriter, io.Copy), as
// gorilla's Autobahn example does, without the example's UTF-8 check of
// text (the benchmarks send binary). It answers on any path.
func gorillaHandler(up gorilla.Upgrader) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer conn.Close()
		for {
			typ, r, err := conn.NextReader()
			if err != nil {
				return
			}
			w, err := conn.NextWriter(typ)
			if err != nil {
				return
			}
			if _, err := io.Copy(w, r); err != nil {
				return
			}
			if err := w.Close(); err != nil {
				return
			}
		}
	})
}
