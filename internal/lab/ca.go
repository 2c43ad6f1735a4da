package lab

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// CA is a throw-away certificate authority for tests: an ECDSA P-256 key
// and a self-signed root, written as PEM files in a directory.
type CA struct {
	// CertFile is the PEM path of the root certificate; hand it to clients
	// that must verify servers (baresip sip_cafile, Go tls.Config, Chromium).
	CertFile string
	// KeyFile is the PEM path of the root key.
	KeyFile string

	dir  string
	cert *x509.Certificate
	key  *ecdsa.PrivateKey

	mu     sync.Mutex
	serial int64
}

// Cert is a certificate issued by a CA, with its key, as PEM files.
type Cert struct {
	CertFile string // leaf certificate PEM
	KeyFile  string // PKCS#8 private key PEM
	// ChainFile holds the leaf followed by the CA certificate, for servers
	// that want the chain in one file.
	ChainFile string
	Hosts     []string
}

// TLSCertificate loads the pair for a Go server.
func (c *Cert) TLSCertificate() (tls.Certificate, error) {
	return tls.LoadX509KeyPair(c.ChainFile, c.KeyFile)
}

// NewCA creates a root CA in dir (created if missing).
func NewCA(dir string) (*CA, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("lab: create CA directory: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("lab: generate CA key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "Switchboard Lab Test CA", Organization: []string{"Switchboard Lab"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(30 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("lab: self-sign CA: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("lab: parse CA: %w", err)
	}
	ca := &CA{
		CertFile: filepath.Join(dir, "ca.pem"),
		KeyFile:  filepath.Join(dir, "ca-key.pem"),
		dir:      dir,
		cert:     cert,
		key:      key,
		serial:   1,
	}
	if err := writePEM(ca.CertFile, "CERTIFICATE", der, 0o644); err != nil {
		return nil, err
	}
	if err := writeKey(ca.KeyFile, key); err != nil {
		return nil, err
	}
	return ca, nil
}

// Pool returns a cert pool holding only this CA, for Go clients.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// Certificate returns the parsed root certificate.
func (ca *CA) Certificate() *x509.Certificate { return ca.cert }

// IssueServerCert issues a server certificate (also usable as a client
// certificate) whose SANs are hosts: IP literals become IP SANs, the rest
// DNS SANs. The first host is the common name. Files are named after it.
func (ca *CA) IssueServerCert(hosts ...string) (*Cert, error) {
	if len(hosts) == 0 {
		return nil, fmt.Errorf("lab: IssueServerCert needs at least one host name or IP")
	}
	ca.mu.Lock()
	ca.serial++
	serial := ca.serial
	ca.mu.Unlock()

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("lab: generate server key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: hosts[0], Organization: []string{"Switchboard Lab"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(30 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	seen := map[string]bool{}
	for _, h := range hosts {
		if seen[h] {
			continue
		}
		seen[h] = true
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, fmt.Errorf("lab: sign server certificate: %w", err)
	}
	base := fmt.Sprintf("server-%d-%s", serial, sanitize(hosts[0]))
	c := &Cert{
		CertFile:  filepath.Join(ca.dir, base+".pem"),
		KeyFile:   filepath.Join(ca.dir, base+"-key.pem"),
		ChainFile: filepath.Join(ca.dir, base+"-chain.pem"),
		Hosts:     append([]string(nil), hosts...),
	}
	if err := writePEM(c.CertFile, "CERTIFICATE", der, 0o644); err != nil {
		return nil, err
	}
	if err := writeKey(c.KeyFile, key); err != nil {
		return nil, err
	}
	chain := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw})...)
	if err := os.WriteFile(c.ChainFile, chain, 0o644); err != nil {
		return nil, fmt.Errorf("lab: write certificate chain: %w", err)
	}
	return c, nil
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("lab: marshal key: %w", err)
	}
	return writePEM(path, "PRIVATE KEY", der, 0o600)
}

func writePEM(path, typ string, der []byte, mode os.FileMode) error {
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode); err != nil {
		return fmt.Errorf("lab: write %s: %w", filepath.Base(path), err)
	}
	return nil
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-':
			return r
		}
		return '_'
	}, s)
}
