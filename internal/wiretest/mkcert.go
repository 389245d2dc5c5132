package wiretest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// certLifetime is how long a certificate from mkcert is valid: a day is
// more than any test takes, and a file left behind soon stops working.
const certLifetime = 24 * time.Hour

// mkcert [-host name]... [-spki VAR] certfile keyfile
//
// writes a new self-signed certificate, for localhost, 127.0.0.1 and ::1
// unless -host names others (DNS names or IP addresses), valid for a day,
// and its private key (ECDSA P-256), as PEM files, for a server under
// test to present. A client trusts it for the test only by taking
// certfile as its certificate authority (curl --cacert, Python's cafile,
// Node's ca). It prints the certificate's SPKI hash, which Chromium's
// --ignore-certificate-errors-spki-list takes, and with -spki sets $VAR
// to it.
func cmdMkcert(ts *testscript.TestScript, neg bool, args []string) {
	fs := flag.NewFlagSet("mkcert", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var hosts []string
	fs.Func("host", "a DNS `name` or IP address the certificate is for", func(v string) error {
		hosts = append(hosts, v)
		return nil
	})
	spkiVar := fs.String("spki", "", "set $`VAR` to the SPKI hash")
	if err := fs.Parse(args); err != nil || fs.NArg() != 2 || neg {
		ts.Fatalf("usage: mkcert [-host name]... [-spki VAR] certfile keyfile")
	}
	if len(hosts) == 0 {
		hosts = []string{"localhost", "127.0.0.1", "::1"}
	}
	certPEM, keyPEM, spki, err := makeCert(hosts, time.Now())
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(fs.Arg(0)), certPEM, 0o644))
	ts.Check(os.WriteFile(ts.MkAbs(fs.Arg(1)), keyPEM, 0o600))
	fmt.Fprintf(ts.Stdout(), "spki %s\n", spki)
	if *spkiVar != "" {
		ts.Setenv(*spkiVar, spki)
	}
}

// makeCert makes a self-signed certificate for hosts, valid from an hour
// before now (clocks differ) for certLifetime, and returns it and its key
// in PEM, and its SPKI hash: the SHA-256 of its public key, in base64.
func makeCert(hosts []string, now time.Time) (certPEM, keyPEM []byte, spki string, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, "", err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, nil, "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: hosts[0]},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(certLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		// Its own authority: a client that is given it as its CA then
		// accepts it whichever library checks (NSS refuses a self-signed
		// certificate that says it is no CA), and Go adds the Subject Key
		// Identifier that strict checkers want of a CA.
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, "", err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, "", err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, "", err
	}
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		base64.StdEncoding.EncodeToString(sum[:]), nil
}
