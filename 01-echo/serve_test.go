package main

import (
	"net"
	"testing"
)

// TestListenDistinct: a host name that resolves to one address twice
// (two lines "127.0.0.1 localhost" in /etc/hosts) gets one listener on
// that address, and the server starts, instead of failing with "address
// already in use".
func TestListenDistinct(t *testing.T) {
	lo := net.IPAddr{IP: net.IPv4(127, 0, 0, 1)}
	lns, err := listenIPs("localhost:0", "localhost", "0", []net.IPAddr{lo, lo, {IP: net.ParseIP("127.0.0.1")}})
	if err != nil {
		t.Fatalf("127.0.0.1 three times: %v", err)
	}
	for _, ln := range lns {
		ln.Close()
	}
	if len(lns) != 1 {
		t.Errorf("127.0.0.1 three times: %d listeners, want 1", len(lns))
	}
}
