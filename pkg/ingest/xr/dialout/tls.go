package dialout

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc/credentials"
)

// Security modes, as shown on the board and in logs.
const (
	ModePlaintext = "plaintext"
	ModeTLS       = "tls"
	ModeMutualTLS = "mtls"
)

// loadTLS builds the server's TLS configuration from the three files: none
// set is plaintext (nil config, what routers do unless told otherwise),
// certificate and key give TLS, and a client CA on top makes routers prove
// who they are. Every error names the setting and the file.
func loadTLS(certFile, keyFile, caFile string) (*tls.Config, string, error) {
	if certFile == "" && keyFile == "" {
		if caFile != "" {
			return nil, "", errors.New("xr_grpc_tls_client_ca_file is set without xr_grpc_tls_cert_file and xr_grpc_tls_key_file: mutual TLS needs a server certificate")
		}
		return nil, ModePlaintext, nil
	}
	if certFile == "" || keyFile == "" {
		return nil, "", errors.New("xr_grpc_tls_cert_file and xr_grpc_tls_key_file go together")
	}
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, "", fmt.Errorf("xr_grpc_tls_cert_file %s: %w", certFile, err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, "", fmt.Errorf("xr_grpc_tls_key_file %s: %w", keyFile, err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, "", fmt.Errorf("xr_grpc_tls_cert_file %s with xr_grpc_tls_key_file %s: %w", certFile, keyFile, err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	if caFile == "" {
		return cfg, ModeTLS, nil
	}
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return nil, "", fmt.Errorf("xr_grpc_tls_client_ca_file %s: %w", caFile, err)
	}
	pool, err := certPool(caPEM)
	if err != nil {
		return nil, "", fmt.Errorf("xr_grpc_tls_client_ca_file %s: %w", caFile, err)
	}
	cfg.ClientCAs = pool
	cfg.ClientAuth = tls.RequireAndVerifyClientCert
	return cfg, ModeMutualTLS, nil
}

// certPool takes every CERTIFICATE block; a file with none, or with one
// that does not parse, is refused rather than half used (a CA file that
// silently trusts nothing would refuse every router with a vague error).
func certPool(data []byte) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	n := 0
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
			return nil, fmt.Errorf("certificate %d: %w", n+1, err)
		}
		pool.AddCert(c)
		n++
	}
	if n == 0 {
		return nil, errors.New("no PEM CERTIFICATE block found")
	}
	return pool, nil
}

// recordingCreds reports failed TLS handshakes (no client certificate, one
// from another CA, a router dialing plaintext into TLS) before gRPC drops
// the connection; such routers never reach the handler and would otherwise
// be invisible.
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

func (c *recordingCreds) ClientHandshake(context.Context, string, net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return nil, nil, errors.New("xr dial-out credentials are server-side only")
}

func (c *recordingCreds) Clone() credentials.TransportCredentials {
	return &recordingCreds{TransportCredentials: c.TransportCredentials.Clone(), failed: c.failed}
}

// limitListener bounds concurrent connections. Unlike a listener that
// blocks in Accept at the limit, it closes the surplus connection at once
// and counts it: a router then retries later (with its own back-off) and
// the refusal shows in health instead of as a silent hang.
type limitListener struct {
	net.Listener
	max     int64
	open    atomic.Int64
	refused func(net.Conn)
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.open.Add(1) > l.max {
			l.open.Add(-1)
			c.Close()
			l.refused(c)
			continue
		}
		return &countedConn{Conn: c, l: l}, nil
	}
}

// countedConn gives its slot back once, however often it is closed.
type countedConn struct {
	net.Conn
	l    *limitListener
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() { c.l.open.Add(-1) })
	return c.Conn.Close()
}
