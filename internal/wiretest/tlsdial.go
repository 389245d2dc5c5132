package wiretest

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// tlsdial [-ca certfile] [-alpn protos] [-servername name] name [addr]
//
// opens a TCP connection to addr (default $ADDR), runs a TLS handshake on
// it as a client and calls it name: send, sendrand, recv, eof and close
// then go through TLS. The client trusts certfile alone (as curl --cacert
// does; without -ca, the system's authorities), checks the certificate
// for -servername (default: addr's host), and offers the protocols of
// -alpn in its ALPN extension (RFC 7301; default h2,http/1.1, as browsers
// do). It prints what was agreed: "TLS 1.3, ALPN http/1.1", or "ALPN
// none" when the server named no protocol. Negated, it expects the
// handshake to fail, and prints why.
func cmdTLSDial(ts *testscript.TestScript, neg bool, args []string) {
	fs, timeout := flags("tlsdial")
	ca := fs.String("ca", "", "trust only the certificates in this PEM `file`")
	alpn := fs.String("alpn", "h2,http/1.1", "offer these `protocols` with ALPN, comma-separated (empty: no ALPN)")
	serverName := fs.String("servername", "", "the `name` the certificate must be for (default: addr's host)")
	if err := fs.Parse(args); err != nil || fs.NArg() < 1 || fs.NArg() > 2 {
		ts.Fatalf("usage: tlsdial [-ca certfile] [-alpn protos] [-servername name] [-timeout d] name [addr]")
	}
	name, addr := fs.Arg(0), ts.Getenv("ADDR")
	if fs.NArg() == 2 {
		addr = fs.Arg(1)
	}
	config := &tls.Config{ServerName: *serverName}
	if config.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		ts.Check(err)
		config.ServerName = host
	}
	if *alpn != "" {
		config.NextProtos = strings.Split(*alpn, ",")
	}
	if *ca != "" {
		pem, err := os.ReadFile(ts.MkAbs(*ca))
		ts.Check(err)
		config.RootCAs = x509.NewCertPool()
		if !config.RootCAs.AppendCertsFromPEM(pem) {
			ts.Fatalf("tlsdial: no PEM certificate in %s", *ca)
		}
	}
	nc, err := net.DialTimeout("tcp", addr, defaultTimeout)
	ts.Check(err)
	tc := tls.Client(nc, config)
	nc.SetDeadline(time.Now().Add(*timeout))
	err = tc.Handshake()
	nc.SetDeadline(time.Time{})
	if neg {
		tc.Close()
		if err == nil {
			ts.Fatalf("tlsdial: the TLS handshake with %s succeeded, unexpectedly", addr)
		}
		fmt.Fprintf(ts.Stdout(), "handshake failed: %v\n", err)
		return
	}
	if err != nil {
		nc.Close()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			ts.Fatalf("tlsdial: the server did not finish the TLS handshake within %v", *timeout)
		}
		ts.Fatalf("tlsdial: the TLS handshake with %s failed: %v", addr, err)
	}
	cs := tc.ConnectionState()
	agreed := cs.NegotiatedProtocol
	if agreed == "" {
		agreed = "none"
	}
	fmt.Fprintf(ts.Stdout(), "%s, ALPN %s\n", tls.VersionName(cs.Version), agreed)
	c := &conn{c: nc.(*net.TCPConn), tls: tc, r: bufio.NewReader(tc), local: nc.LocalAddr().String()}
	st := getState(ts)
	if old := st.conns[name]; old != nil {
		old.c.Close()
	}
	st.conns[name] = c
}

// stream is what the script writes to: TLS over c.c after tlsdial, or
// c.c itself. (Reads go through c.r, which dial or tlsdial made over it.)
func (c *conn) stream() net.Conn {
	if c.tls != nil {
		return c.tls
	}
	return c.c
}

// closeWrite ends what c sends: after tlsdial, TLS's close_notify first,
// then, for both, a TCP FIN.
func (c *conn) closeWrite() error {
	if c.tls != nil {
		if err := c.tls.CloseWrite(); err != nil {
			return err
		}
	}
	return c.c.CloseWrite()
}
