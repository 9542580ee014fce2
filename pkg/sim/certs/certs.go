// Package certs builds the small PKI that FTD streaming telemetry needs: one
// CA that signs both the collector's server certificate and the devices'
// client certificates (the FTD guide requires both ends to be signed by the
// same CA). It serves tests, the simulator and the docker-compose demo. Keys
// are made at run time; none is ever committed.
package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"
)

// Kind says which end of the connection a certificate is for; it picks the
// extended key usage, which Go's TLS stack checks on both sides.
type Kind int

const (
	Server Kind = iota
	Client
)

func (k Kind) String() string {
	switch k {
	case Server:
		return "server"
	case Client:
		return "client"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// leafLifetime is how long ServerTLS and ClientTLS certificates live; a CA
// that expires sooner caps it.
const leafLifetime = 365 * 24 * time.Hour

// clockSkew backdates certificates so that a peer whose clock is slightly
// behind does not see them as not yet valid.
const clockSkew = time.Hour

// PKI is a CA able to issue server and client certificates.
type PKI struct {
	CACert   *x509.Certificate
	CAPEM    []byte // the CA certificate, PEM
	CAKeyPEM []byte // the CA private key, PEM (PKCS#8)

	key crypto.Signer
	now func() time.Time
}

// NewPKI makes a new ECDSA P-256 CA in memory, valid from an hour ago for
// validFor.
func NewPKI(commonName string, validFor time.Duration) (*PKI, error) {
	if commonName == "" {
		return nil, errors.New("certs: CA common name is empty")
	}
	if validFor <= 0 {
		return nil, fmt.Errorf("certs: CA validity %v must be positive", validFor)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("certs: generating CA key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName, Organization: []string{"Netlens demo"}},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(validFor),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		SubjectKeyId:          keyID(&key.PublicKey),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("certs: signing CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("certs: parsing new CA certificate: %w", err)
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		return nil, err
	}
	return &PKI{
		CACert:   cert,
		CAPEM:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		CAKeyPEM: keyPEM,
		key:      key,
		now:      time.Now,
	}, nil
}

// LoadPKI rebuilds a PKI from a CA certificate and its private key (PKCS#8,
// SEC 1 "EC PRIVATE KEY" or PKCS#1 RSA). It checks that the certificate is a
// CA and that the key belongs to it; it does not check expiry, so that a
// caller can say precisely why an old CA is no longer usable.
func LoadPKI(caCertPEM, caKeyPEM []byte) (*PKI, error) {
	cert, err := parseCertPEM(caCertPEM)
	if err != nil {
		return nil, fmt.Errorf("certs: CA certificate: %w", err)
	}
	if !cert.IsCA || !cert.BasicConstraintsValid {
		return nil, fmt.Errorf("certs: certificate %q is not a CA", cert.Subject.CommonName)
	}
	key, err := parseKeyPEM(caKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("certs: CA key: %w", err)
	}
	if !publicKeysEqual(cert.PublicKey, key.Public()) {
		return nil, fmt.Errorf("certs: CA key does not belong to certificate %q", cert.Subject.CommonName)
	}
	return &PKI{
		CACert:   cert,
		CAPEM:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}),
		CAKeyPEM: append([]byte(nil), caKeyPEM...),
		key:      key,
		now:      time.Now,
	}, nil
}

// Pool returns a certificate pool holding only this CA.
func (p *PKI) Pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.CACert)
	return pool
}

// Issue signs a new ECDSA P-256 certificate. hosts become SANs: IP addresses
// as IP SANs, anything else as DNS names. The validity window is taken as
// given, including windows in the past or the future, because tests of the
// receiver need expired, not-yet-valid and soon-expiring certificates.
func (p *PKI) Issue(kind Kind, cn string, hosts []string, notBefore, notAfter time.Time) (certPEM, keyPEM []byte, err error) {
	if cn == "" {
		return nil, nil, errors.New("certs: common name is empty")
	}
	if !notAfter.After(notBefore) {
		return nil, nil, fmt.Errorf("certs: notAfter %s is not after notBefore %s", notAfter.Format(time.RFC3339), notBefore.Format(time.RFC3339))
	}
	var eku x509.ExtKeyUsage
	switch kind {
	case Server:
		eku = x509.ExtKeyUsageServerAuth
	case Client:
		eku = x509.ExtKeyUsageClientAuth
	default:
		return nil, nil, fmt.Errorf("certs: unknown certificate kind %d", int(kind))
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: generating %s key: %w", kind, err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"Netlens demo"}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{eku},
		BasicConstraintsValid: true,
		SubjectKeyId:          keyID(&key.PublicKey),
		AuthorityKeyId:        p.CACert.SubjectKeyId,
	}
	for _, h := range hosts {
		if h == "" {
			continue
		}
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.CACert, &key.PublicKey, p.key)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: signing %s certificate %q: %w", kind, cn, err)
	}
	keyPEM, err = encodeKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), keyPEM, nil
}

// DefaultServerHosts are the names a loopback collector answers to.
var DefaultServerHosts = []string{"localhost", "127.0.0.1", "::1"}

// ServerTLS returns a collector configuration: a fresh server certificate for
// hosts (DefaultServerHosts when none), client certificates required and
// verified against this CA, TLS 1.2 or newer.
func (p *PKI) ServerTLS(hosts ...string) (*tls.Config, error) {
	if len(hosts) == 0 {
		hosts = DefaultServerHosts
	}
	pair, err := p.issuePair(Server, hosts[0], hosts)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		Certificates: []tls.Certificate{pair},
		ClientCAs:    p.Pool(),
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
	}, nil
}

// ClientTLS returns a device configuration: a fresh client certificate named
// cn, this CA as the only root, and "localhost" as the expected server name
// (override ServerName to reach a collector by another name).
func (p *PKI) ClientTLS(cn string) (*tls.Config, error) {
	pair, err := p.issuePair(Client, cn, nil)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		Certificates: []tls.Certificate{pair},
		RootCAs:      p.Pool(),
		ServerName:   "localhost",
		MinVersion:   tls.VersionTLS12,
	}, nil
}

// issuePair issues a certificate valid from now (minus skew) for leafLifetime
// or until the CA expires, whichever is first.
func (p *PKI) issuePair(kind Kind, cn string, hosts []string) (tls.Certificate, error) {
	now := p.now()
	notAfter := now.Add(leafLifetime)
	if p.CACert.NotAfter.Before(notAfter) {
		notAfter = p.CACert.NotAfter
	}
	certPEM, keyPEM, err := p.Issue(kind, cn, hosts, now.Add(-clockSkew), notAfter)
	if err != nil {
		return tls.Certificate{}, err
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("certs: loading issued %s pair: %w", kind, err)
	}
	return pair, nil
}

func newSerial() (*big.Int, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("certs: serial number: %w", err)
	}
	return serial, nil
}

// keyID follows RFC 5280's first method (SHA-1 of the public key bytes); Go
// would compute one for the CA itself but not for leaves.
func keyID(pub *ecdsa.PublicKey) []byte {
	ecdh, err := pub.ECDH()
	if err != nil {
		return nil
	}
	sum := sha1.Sum(ecdh.Bytes())
	return sum[:]
}

func encodeKey(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("certs: encoding private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func parseCertPEM(data []byte) (*x509.Certificate, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, errors.New("no PEM CERTIFICATE block found")
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parsing certificate: %w", err)
		}
		return cert, nil
	}
}

func parseKeyPEM(data []byte) (crypto.Signer, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, errors.New("no PEM private key block found")
		}
		var key any
		var err error
		switch block.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("parsing %s: %w", block.Type, err)
		}
		signer, ok := key.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("%s holds a %T, which cannot sign", block.Type, key)
		}
		return signer, nil
	}
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	ea, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ea.Equal(b)
}
