package certs

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func newTestPKI(t *testing.T) *PKI {
	t.Helper()
	p, err := NewPKI("Netlens test CA", 24*time.Hour)
	if err != nil {
		t.Fatalf("NewPKI: %v", err)
	}
	return p
}

func parseLeaf(t *testing.T, certPEM []byte) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("no CERTIFICATE block in %q", certPEM)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return cert
}

func verify(p *PKI, cert *x509.Certificate, at time.Time, usage x509.ExtKeyUsage) error {
	_, err := cert.Verify(x509.VerifyOptions{Roots: p.Pool(), CurrentTime: at, KeyUsages: []x509.ExtKeyUsage{usage}})
	return err
}

func TestIssuedCertificatesVerifyAgainstTheirCA(t *testing.T) {
	p := newTestPKI(t)
	now := time.Now()

	serverPEM, serverKey, err := p.Issue(Server, "collector", []string{"localhost", "127.0.0.1", "grafana"}, now.Add(-time.Minute), now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	server := parseLeaf(t, serverPEM)
	if err := verify(p, server, now, x509.ExtKeyUsageServerAuth); err != nil {
		t.Errorf("server cert does not verify for server auth: %v", err)
	}
	if err := verify(p, server, now, x509.ExtKeyUsageClientAuth); err == nil {
		t.Error("server cert verified for client auth; its EKU must be server only")
	}
	for _, h := range []string{"localhost", "127.0.0.1", "grafana"} {
		if err := server.VerifyHostname(h); err != nil {
			t.Errorf("server cert does not cover %s: %v", h, err)
		}
	}
	if len(server.IPAddresses) != 1 || len(server.DNSNames) != 2 {
		t.Errorf("SANs: IPs %v DNS %v, want one IP and two names", server.IPAddresses, server.DNSNames)
	}
	if _, err := tls.X509KeyPair(serverPEM, serverKey); err != nil {
		t.Errorf("server key does not match its certificate: %v", err)
	}

	clientPEM, _, err := p.Issue(Client, "firepower", nil, now.Add(-time.Minute), now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	client := parseLeaf(t, clientPEM)
	if err := verify(p, client, now, x509.ExtKeyUsageClientAuth); err != nil {
		t.Errorf("client cert does not verify for client auth: %v", err)
	}
	if client.Subject.CommonName != "firepower" {
		t.Errorf("client CN %q", client.Subject.CommonName)
	}
}

func TestCertificateFromAnotherPKIDoesNotVerify(t *testing.T) {
	p, other := newTestPKI(t), newTestPKI(t)
	now := time.Now()
	certPEM, _, err := other.Issue(Client, "intruder", nil, now.Add(-time.Minute), now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var unknown x509.UnknownAuthorityError
	if err := verify(p, parseLeaf(t, certPEM), now, x509.ExtKeyUsageClientAuth); !errors.As(err, &unknown) {
		t.Errorf("verify against the wrong CA: got %v, want x509.UnknownAuthorityError", err)
	}
}

func TestIssueOutsideTheValidityWindow(t *testing.T) {
	p := newTestPKI(t)
	now := time.Now()
	cases := []struct {
		name                string
		notBefore, notAfter time.Time
		wantExpired         bool
	}{
		{"expired yesterday", now.Add(-48 * time.Hour), now.Add(-24 * time.Hour), true},
		{"valid from tomorrow", now.Add(24 * time.Hour), now.Add(48 * time.Hour), true},
		{"expires in 10 days", now.Add(-time.Hour), now.Add(10 * 24 * time.Hour), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			certPEM, _, err := p.Issue(Server, "localhost", []string{"localhost"}, c.notBefore, c.notAfter)
			if err != nil {
				t.Fatal(err)
			}
			cert := parseLeaf(t, certPEM)
			if !cert.NotAfter.Equal(c.notAfter.Truncate(time.Second)) {
				t.Errorf("NotAfter %s, want %s", cert.NotAfter, c.notAfter)
			}
			err = verify(p, cert, now, x509.ExtKeyUsageServerAuth)
			var invalid x509.CertificateInvalidError
			gotExpired := errors.As(err, &invalid) && invalid.Reason == x509.Expired
			if gotExpired != c.wantExpired {
				t.Errorf("verify now: %v, want expired=%v", err, c.wantExpired)
			}
		})
	}
}

func TestIssueRejectsNonsense(t *testing.T) {
	p := newTestPKI(t)
	now := time.Now()
	if _, _, err := p.Issue(Server, "", nil, now, now.Add(time.Hour)); err == nil {
		t.Error("empty common name accepted")
	}
	if _, _, err := p.Issue(Server, "x", nil, now, now); err == nil {
		t.Error("empty validity window accepted")
	}
	if _, _, err := p.Issue(Kind(7), "x", nil, now, now.Add(time.Hour)); err == nil {
		t.Error("unknown kind accepted")
	}
	if _, err := NewPKI("ca", 0); err == nil {
		t.Error("zero CA validity accepted")
	}
}

func TestLoadPKIRoundTrip(t *testing.T) {
	p := newTestPKI(t)
	loaded, err := LoadPKI(p.CAPEM, p.CAKeyPEM)
	if err != nil {
		t.Fatalf("LoadPKI: %v", err)
	}
	now := time.Now()
	certPEM, _, err := loaded.Issue(Client, "firepower", nil, now.Add(-time.Minute), now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := verify(p, parseLeaf(t, certPEM), now, x509.ExtKeyUsageClientAuth); err != nil {
		t.Errorf("cert issued by the reloaded CA does not verify against the original: %v", err)
	}

	other := newTestPKI(t)
	if _, err := LoadPKI(p.CAPEM, other.CAKeyPEM); err == nil || !strings.Contains(err.Error(), "does not belong") {
		t.Errorf("mismatched key: %v", err)
	}
	leafPEM, leafKey, err := p.Issue(Server, "localhost", nil, now, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPKI(leafPEM, leafKey); err == nil || !strings.Contains(err.Error(), "not a CA") {
		t.Errorf("leaf as CA: %v", err)
	}
	if _, err := LoadPKI([]byte("garbage"), p.CAKeyPEM); err == nil {
		t.Error("garbage certificate accepted")
	}
}

// handshake runs one TLS handshake over loopback and returns the client's
// and the server's errors.
func handshake(t *testing.T, server, client *tls.Config) (clientErr, serverErr error) {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", server)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		err = c.(*tls.Conn).Handshake()
		if err == nil {
			// TLS 1.3 clients finish before the server has checked their
			// certificate; one byte makes the client wait for the verdict.
			_, err = c.Write([]byte{1})
		}
		done <- err
	}()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", ln.Addr().String(), client)
	if err == nil {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		_, err = io.ReadFull(c, make([]byte, 1))
		c.Close()
	}
	return err, <-done
}

func TestMutualTLSOverLoopback(t *testing.T) {
	p := newTestPKI(t)
	server, err := p.ServerTLS()
	if err != nil {
		t.Fatal(err)
	}
	if server.ClientAuth != tls.RequireAndVerifyClientCert || server.MinVersion < tls.VersionTLS12 {
		t.Fatalf("server config: ClientAuth %v MinVersion %x", server.ClientAuth, server.MinVersion)
	}
	client, err := p.ClientTLS("firepower")
	if err != nil {
		t.Fatal(err)
	}
	if cerr, serr := handshake(t, server, client); cerr != nil || serr != nil {
		t.Fatalf("same CA: client %v, server %v", cerr, serr)
	}

	intruder, err := newTestPKI(t).ClientTLS("intruder")
	if err != nil {
		t.Fatal(err)
	}
	intruder.RootCAs = p.Pool() // trusts the collector, but its own cert is foreign
	if _, serr := handshake(t, server, intruder); serr == nil {
		t.Error("server accepted a client certificate signed by another CA")
	}

	anonymous := client.Clone()
	anonymous.Certificates = nil
	if _, serr := handshake(t, server, anonymous); serr == nil {
		t.Error("server accepted a client without a certificate")
	}
}

func TestWriteFilesIsIdempotent(t *testing.T) {
	dir := t.TempDir()
	hosts := []string{"localhost", "127.0.0.1", "grafana"}
	if err := WriteFiles(dir, newTestPKI(t), hosts, "firepower"); err != nil {
		t.Fatal(err)
	}
	names := []string{CACertFile, CAKeyFile, ServerCertFile, ServerKeyFile, ClientCertFile, ClientKeyFile}
	first := map[string][]byte{}
	for _, n := range names {
		info, err := os.Stat(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		wantPerm := os.FileMode(0o644)
		if strings.HasSuffix(n, ".key") {
			wantPerm = 0o600
		}
		if info.Mode().Perm() != wantPerm {
			t.Errorf("%s mode %v, want %v", n, info.Mode().Perm(), wantPerm)
		}
		first[n], _ = os.ReadFile(filepath.Join(dir, n))
	}

	// A second run, even with another CA in hand, keeps what is valid.
	if err := WriteFiles(dir, newTestPKI(t), hosts, "firepower"); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		again, _ := os.ReadFile(filepath.Join(dir, n))
		if !bytes.Equal(first[n], again) {
			t.Errorf("%s changed on the second run", n)
		}
	}

	// The files work together: the server's pair and the client's pair
	// complete a mutual TLS handshake under the written CA.
	p, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	serverPair, err := tls.LoadX509KeyPair(filepath.Join(dir, ServerCertFile), filepath.Join(dir, ServerKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	clientPair, err := tls.LoadX509KeyPair(filepath.Join(dir, ClientCertFile), filepath.Join(dir, ClientKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	server := &tls.Config{Certificates: []tls.Certificate{serverPair}, ClientCAs: p.Pool(), ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}
	client := &tls.Config{Certificates: []tls.Certificate{clientPair}, RootCAs: p.Pool(), ServerName: "grafana", MinVersion: tls.VersionTLS12}
	if cerr, serr := handshake(t, server, client); cerr != nil || serr != nil {
		t.Fatalf("written files: client %v, server %v", cerr, serr)
	}
}

func TestWriteFilesReplacesWhatNoLongerFits(t *testing.T) {
	dir := t.TempDir()
	p := newTestPKI(t)
	if err := WriteFiles(dir, p, []string{"localhost"}, "firepower"); err != nil {
		t.Fatal(err)
	}
	read := func(n string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ca, client := read(CACertFile), read(ClientCertFile)

	// An expired server certificate is renewed; a new host name too.
	now := time.Now()
	expired, expiredKey, err := p.Issue(Server, "localhost", []string{"localhost"}, now.Add(-48*time.Hour), now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, ServerCertFile), expired, 0o644)
	os.WriteFile(filepath.Join(dir, ServerKeyFile), expiredKey, 0o600)
	if err := WriteFiles(dir, p, []string{"localhost", "grafana"}, "firepower"); err != nil {
		t.Fatal(err)
	}
	server := parseLeaf(t, read(ServerCertFile))
	if err := verify(p, server, now, x509.ExtKeyUsageServerAuth); err != nil {
		t.Errorf("renewed server cert: %v", err)
	}
	if err := server.VerifyHostname("grafana"); err != nil {
		t.Errorf("renewed server cert misses the new host: %v", err)
	}
	if !bytes.Equal(ca, read(CACertFile)) || !bytes.Equal(client, read(ClientCertFile)) {
		t.Error("CA or client pair changed although they were still valid")
	}

	// A broken CA key means a new CA, and every leaf follows it.
	os.WriteFile(filepath.Join(dir, CAKeyFile), []byte("not a key"), 0o600)
	next := newTestPKI(t)
	if err := WriteFiles(dir, next, []string{"localhost"}, "firepower"); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(read(CACertFile), next.CAPEM) {
		t.Error("unusable CA was not replaced by the given one")
	}
	if err := verify(next, parseLeaf(t, read(ClientCertFile)), now, x509.ExtKeyUsageClientAuth); err != nil {
		t.Errorf("client cert was not reissued under the new CA: %v", err)
	}
}
