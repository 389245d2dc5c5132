module sockets

go 1.25

require (
	github.com/gorilla/websocket v1.5.3
	github.com/rogpeppe/go-internal v1.16.0
)

require (
	golang.org/x/sys v0.26.0 // indirect
	golang.org/x/tools v0.26.0 // indirect
)
