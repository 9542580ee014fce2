package ftd

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"google.golang.org/grpc/credentials"
)

// ExpiryWarning is how far ahead an expiring certificate is reported: long
// enough to order and install a new one before devices start failing.
const ExpiryWarning = 30 * 24 * time.Hour

// CertInfo describes one certificate the receiver uses, for the health
// check. Err is set when the file could not be used at all.
type CertInfo struct {
	Role      string // "server" (presented to devices) or "ca" (verifies devices)
	File      string
	Subject   string
	NotBefore time.Time
	NotAfter  time.Time
	Err       error
}

// Problem says what is wrong with the certificate at now, or "" when it is
// valid for longer than ExpiryWarning.
func (c CertInfo) Problem(now time.Time) string {
	switch {
	case c.Err != nil:
		return "invalid: " + c.Err.Error()
	case now.After(c.NotAfter):
		return "expired on " + c.NotAfter.UTC().Format(time.DateOnly)
	case now.Before(c.NotBefore):
		return "not valid before " + c.NotBefore.UTC().Format(time.DateOnly)
	case c.NotAfter.Sub(now) < ExpiryWarning:
		return fmt.Sprintf("expires in %d days, on %s", int(c.NotAfter.Sub(now).Hours()/24), c.NotAfter.UTC().Format(time.DateOnly))
	}
	return ""
}

// tlsFiles is what loadTLS read: the server configuration and what the
// health check reports.
type tlsFiles struct {
	config *tls.Config
	certs  []CertInfo
}

// loadTLS reads and checks the three files, naming the file in every error
// so the operator knows which setting to fix. Mutual TLS is not optional:
// devices without a certificate signed by the CA never reach a handler.
func loadTLS(certFile, keyFile, caFile string) (tlsFiles, error) {
	var out tlsFiles
	read := func(setting, file string) ([]byte, error) {
		if file == "" {
			return nil, fmt.Errorf("%s is empty: mutual TLS is mandatory", setting)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", setting, file, err)
		}
		return b, nil
	}
	certPEM, err := read("ftd_tls_cert_file", certFile)
	if err != nil {
		return out, err
	}
	keyPEM, err := read("ftd_tls_key_file", keyFile)
	if err != nil {
		return out, err
	}
	caPEM, err := read("ftd_tls_ca_file", caFile)
	if err != nil {
		return out, err
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return out, fmt.Errorf("ftd_tls_cert_file %s with ftd_tls_key_file %s: %w", certFile, keyFile, err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return out, fmt.Errorf("ftd_tls_cert_file %s: %w", certFile, err)
	}
	out.certs = append(out.certs, info("server", certFile, leaf))
	cas, err := parseCerts(caPEM)
	if err != nil {
		return out, fmt.Errorf("ftd_tls_ca_file %s: %w", caFile, err)
	}
	pool := x509.NewCertPool()
	for _, ca := range cas {
		pool.AddCert(ca)
		out.certs = append(out.certs, info("ca", caFile, ca))
	}
	out.config = &tls.Config{
		Certificates: []tls.Certificate{pair},
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
	}
	return out, nil
}

func info(role, file string, c *x509.Certificate) CertInfo {
	return CertInfo{Role: role, File: file, Subject: c.Subject.String(), NotBefore: c.NotBefore, NotAfter: c.NotAfter}
}

// parseCerts reads every CERTIFICATE block; a file with none, or with one
// that does not parse, is refused rather than half used.
func parseCerts(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", len(out)+1, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no PEM CERTIFICATE block found")
	}
	return out, nil
}

// peerIP is the address of a connection's remote end, IPv4-mapped
// addresses unmapped so they compare equal to their IPv4 form.
func peerIP(a net.Addr) netip.Addr {
	if a == nil {
		return netip.Addr{}
	}
	if tcp, ok := a.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(tcp.IP)
		return ip.Unmap()
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// recordingCreds wraps the server's TLS credentials so that a handshake
// that fails (no certificate, one the CA did not sign, plain TCP) is
// recorded before gRPC drops the connection: otherwise such devices would
// be invisible, since they never reach a handler.
type recordingCreds struct {
	credentials.TransportCredentials
	failed func(remote net.Addr, err error)
}

func (c *recordingCreds) ServerHandshake(conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	nc, ai, err := c.TransportCredentials.ServerHandshake(conn)
	if err != nil {
		c.failed(conn.RemoteAddr(), err)
	}
	return nc, ai, err
}

func (c *recordingCreds) ClientHandshake(ctx context.Context, authority string, conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return nil, nil, errors.New("ftd receiver credentials are server-side only")
}

func (c *recordingCreds) Clone() credentials.TransportCredentials {
	return &recordingCreds{TransportCredentials: c.TransportCredentials.Clone(), failed: c.failed}
}

// filterListener refuses peers outside the allowed networks before any TLS
// work is spent on them. Accept keeps going after a refusal: returning an
// error would stop gRPC's whole server.
type filterListener struct {
	net.Listener
	allowed  func(netip.Addr) bool
	accepted func(net.Conn)
	refused  func(net.Conn, netip.Addr)
}

func (l *filterListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := peerIP(c.RemoteAddr())
		if l.allowed == nil || l.allowed(ip) {
			l.accepted(c)
			return c, nil
		}
		c.Close()
		l.refused(c, ip)
	}
}
