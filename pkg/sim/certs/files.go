package certs

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// File names written by WriteFiles. They match what the FTD guide expects on
// a collector (server.key, server.crt, ca.crt) plus the device's pair.
const (
	CACertFile     = "ca.crt"
	CAKeyFile      = "ca.key"
	ServerCertFile = "server.crt"
	ServerKeyFile  = "server.key"
	ClientCertFile = "client.crt"
	ClientKeyFile  = "client.key"
)

// DefaultClientCN is the client certificate's name when none is given: the
// hostname an FTD reports by default.
const DefaultClientCN = "firepower"

// WriteFiles makes dir hold a usable demo PKI: ca.crt, ca.key, server.crt,
// server.key, client.crt, client.key (keys 0600, certificates 0644).
//
// It is idempotent, because docker-compose runs it on every start and the
// collector may already trust what is there:
//   - a CA already in dir that loads and is within its validity is kept, and
//     p is used only when there is none (or it is unusable);
//   - a server or client pair is kept when its key matches, it chains to the
//     CA in use with the right key usage, it is within its validity, and (for
//     the server) it covers every name in serverHosts, (for the client) its
//     common name is clientCN. Anything else is issued anew.
//
// Files are replaced atomically (write to a temporary file, then rename) so a
// collector reading them concurrently never sees half a key.
func WriteFiles(dir string, p *PKI, serverHosts []string, clientCN string) error {
	if dir == "" {
		return errors.New("certs: directory is empty")
	}
	if p == nil {
		return errors.New("certs: no PKI given")
	}
	if len(serverHosts) == 0 {
		serverHosts = DefaultServerHosts
	}
	if clientCN == "" {
		clientCN = DefaultClientCN
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("certs: creating %s: %w", dir, err)
	}
	now := p.now()

	ca, err := existingCA(dir, now)
	if err != nil {
		ca = p
		if err := writeFile(filepath.Join(dir, CACertFile), ca.CAPEM, 0o644); err != nil {
			return err
		}
		if err := writeFile(filepath.Join(dir, CAKeyFile), ca.CAKeyPEM, 0o600); err != nil {
			return err
		}
	} else if err := os.Chmod(filepath.Join(dir, CAKeyFile), 0o600); err != nil {
		return fmt.Errorf("certs: %w", err)
	}

	leaves := []struct {
		kind      Kind
		cn        string
		hosts     []string
		cert, key string
	}{
		{Server, serverHosts[0], serverHosts, ServerCertFile, ServerKeyFile},
		{Client, clientCN, nil, ClientCertFile, ClientKeyFile},
	}
	for _, l := range leaves {
		certPath, keyPath := filepath.Join(dir, l.cert), filepath.Join(dir, l.key)
		if existingLeafOK(ca, l.kind, l.cn, l.hosts, certPath, keyPath, now) {
			if err := os.Chmod(keyPath, 0o600); err != nil {
				return fmt.Errorf("certs: %w", err)
			}
			continue
		}
		notAfter := now.Add(leafLifetime)
		if ca.CACert.NotAfter.Before(notAfter) {
			notAfter = ca.CACert.NotAfter
		}
		certPEM, keyPEM, err := ca.Issue(l.kind, l.cn, l.hosts, now.Add(-clockSkew), notAfter)
		if err != nil {
			return err
		}
		// Key first: a reader that sees the new certificate must find its key.
		if err := writeFile(keyPath, keyPEM, 0o600); err != nil {
			return err
		}
		if err := writeFile(certPath, certPEM, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// LoadDir loads the CA that WriteFiles left in dir.
func LoadDir(dir string) (*PKI, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, CACertFile))
	if err != nil {
		return nil, fmt.Errorf("certs: %w", err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, CAKeyFile))
	if err != nil {
		return nil, fmt.Errorf("certs: %w", err)
	}
	p, err := LoadPKI(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, dir)
	}
	return p, nil
}

func existingCA(dir string, now time.Time) (*PKI, error) {
	p, err := LoadDir(dir)
	if err != nil {
		return nil, err
	}
	if now.Before(p.CACert.NotBefore) || !now.Before(p.CACert.NotAfter) {
		return nil, fmt.Errorf("certs: CA in %s is outside its validity", dir)
	}
	return p, nil
}

func existingLeafOK(ca *PKI, kind Kind, cn string, hosts []string, certPath, keyPath string, now time.Time) bool {
	pair, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return false
	}
	leaf := pair.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return false
		}
	}
	usage := x509.ExtKeyUsageServerAuth
	if kind == Client {
		usage = x509.ExtKeyUsageClientAuth
		if leaf.Subject.CommonName != cn {
			return false
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
		return false
	}
	for _, h := range hosts {
		if leaf.VerifyHostname(h) != nil {
			return false
		}
	}
	return true
}

func writeFile(path string, data []byte, perm fs.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return fmt.Errorf("certs: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("certs: writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("certs: writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	return nil
}
