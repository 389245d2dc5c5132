package wiretest

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"net"
	"testing"
	"time"
)

// TestMakeCert checks that a certificate from mkcert is one a client can
// trust: it verifies against itself for each of its hosts and no other,
// expires after a day, has the SPKI hash printed, and serves a real TLS
// handshake to a client that has it as its only authority.
func TestMakeCert(t *testing.T) {
	now := time.Now()
	certPEM, keyPEM, spki, err := makeCert([]string{"localhost", "127.0.0.1", "::1"}, now)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	cert := pair.Leaf
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	for _, host := range []string{"localhost", "127.0.0.1", "::1"} {
		if _, err := cert.Verify(x509.VerifyOptions{DNSName: host, Roots: roots}); err != nil {
			t.Errorf("%s: %v", host, err)
		}
	}
	if _, err := cert.Verify(x509.VerifyOptions{DNSName: "example.com", Roots: roots}); err == nil {
		t.Error("the certificate is good for example.com too")
	}
	late := now.Add(certLifetime + time.Minute)
	if _, err := cert.Verify(x509.VerifyOptions{DNSName: "localhost", Roots: roots, CurrentTime: late}); err == nil {
		t.Errorf("the certificate is still good at %v", late)
	}
	if sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo); spki != base64.StdEncoding.EncodeToString(sum[:]) {
		t.Errorf("spki %s is not the hash of the public key", spki)
	}

	sc, cc := net.Pipe()
	defer sc.Close()
	defer cc.Close()
	go tls.Server(sc, &tls.Config{Certificates: []tls.Certificate{pair}}).Handshake()
	client := tls.Client(cc, &tls.Config{RootCAs: roots, ServerName: "localhost"})
	client.SetDeadline(time.Now().Add(10 * time.Second))
	if err := client.Handshake(); err != nil {
		t.Errorf("a client that trusts the certificate: %v", err)
	}
}
