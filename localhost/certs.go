package localhost

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"switchboard/internal/atomicfile"
)

// File names under DataDir/certs. Keys are 0600; the CA key is only ever
// read by this process to sign the localhost certificate.
const (
	certDirName  = "certs"
	caCertName   = "ca.pem"
	caKeyName    = "ca-key.pem"
	leafCertName = "localhost.pem"
	leafKeyName  = "localhost-key.pem"

	// CAName is the CA's common name and the nickname it gets in trust stores.
	CAName = "Switchboard Local CA"

	caLifetime   = 10 * 365 * 24 * time.Hour
	leafLifetime = 365 * 24 * time.Hour
	// renewBefore is how long before expiry the leaf is replaced; well
	// above any plausible uptime gap so a running app never serves an
	// expired certificate.
	renewBefore = 30 * 24 * time.Hour
)

// CertInfo describes the local CA and the localhost certificate.
type CertInfo struct {
	Dir           string    `json:"dir"`
	CAPath        string    `json:"caPath"`
	CAFingerprint string    `json:"caSha256"` // hex SHA-256 of the CA certificate (DER)
	CANotAfter    time.Time `json:"caNotAfter"`
	LeafNotAfter  time.Time `json:"leafNotAfter"`
	LeafSPKI      string    `json:"leafSpkiSha256"` // base64 SHA-256 of the leaf public key, as browsers pin it
}

// CACertPath is where the local CA certificate (public, PEM) lives.
func CACertPath(dataDir string) string {
	return filepath.Join(dataDir, certDirName, caCertName)
}

// EnsureCertificates creates the local CA and the localhost certificate
// in dataDir/certs if they are missing, renews the certificate when it is
// near expiry, and describes them.
func EnsureCertificates(dataDir string) (CertInfo, error) {
	m, err := newCertManager(dataDir, time.Now, slog.New(slog.DiscardHandler))
	if err != nil {
		return CertInfo{}, err
	}
	return m.info(), nil
}

// certManager keeps the CA and the current leaf, renewing the leaf on the
// fly so a long-running app keeps serving a valid certificate.
type certManager struct {
	dir    string
	now    func() time.Time
	logger *slog.Logger

	mu    sync.Mutex
	ca    *x509.Certificate
	caKey *ecdsa.PrivateKey
	leaf  *tls.Certificate
	caPEM []byte
}

func newCertManager(dataDir string, now func() time.Time, logger *slog.Logger) (*certManager, error) {
	if dataDir == "" {
		return nil, errors.New("certificates: no data directory given")
	}
	dir := filepath.Join(dataDir, certDirName)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w (check the data directory's permissions)", dir, err)
	}
	m := &certManager{dir: dir, now: now, logger: logger}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.loadOrCreateCA(); err != nil {
		return nil, err
	}
	if err := m.loadOrCreateLeaf(); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *certManager) path(name string) string { return filepath.Join(m.dir, name) }

func (m *certManager) loadOrCreateCA() error {
	cert, key, certPEM, err := loadPair(m.path(caCertName), m.path(caKeyName))
	switch {
	case err == nil && cert.IsCA && m.now().Add(leafLifetime).Before(cert.NotAfter):
		m.ca, m.caKey, m.caPEM = cert, key, certPEM
		return nil
	case err == nil:
		m.logger.Warn("local CA is expiring; creating a new one (run `switchboard cert install` again)",
			"notAfter", cert.NotAfter)
	case !errors.Is(err, os.ErrNotExist):
		m.logger.Warn("local CA unreadable; creating a new one (run `switchboard cert install` again)",
			"err", err)
	}
	key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("generating CA key: %w", err)
	}
	now := m.now()
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: CAName, Organization: []string{"Switchboard"}, OrganizationalUnit: []string{ownerName()}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
		// Name constraints keep the CA harmless even if its key were
		// copied: it can only vouch for localhost and loopback addresses.
		PermittedDNSDomainsCritical: true,
		PermittedDNSDomains:         []string{"localhost"},
		PermittedIPRanges: []*net.IPNet{
			{IP: net.IPv4(127, 0, 0, 0).To4(), Mask: net.CIDRMask(8, 32)},
			{IP: net.IPv6loopback, Mask: net.CIDRMask(128, 128)},
		},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("creating CA certificate: %w", err)
	}
	cert, err = x509.ParseCertificate(der)
	if err != nil {
		return err
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := writePair(m.path(caCertName), m.path(caKeyName), certPEM, key); err != nil {
		return err
	}
	// A new CA invalidates the old leaf.
	_ = os.Remove(m.path(leafCertName))
	m.ca, m.caKey, m.caPEM = cert, key, certPEM
	m.logger.Info("created local CA", "path", m.path(caCertName), "sha256", fingerprint(der))
	return nil
}

func (m *certManager) leafUsable(cert *x509.Certificate) bool {
	now := m.now()
	if now.Before(cert.NotBefore) || now.Add(renewBefore).After(cert.NotAfter) {
		return false
	}
	if cert.CheckSignatureFrom(m.ca) != nil {
		return false
	}
	return slices.Contains(cert.DNSNames, "localhost") &&
		slices.ContainsFunc(cert.IPAddresses, func(ip net.IP) bool { return ip.Equal(net.IPv4(127, 0, 0, 1)) })
}

func (m *certManager) loadOrCreateLeaf() error {
	cert, key, certPEM, err := loadPair(m.path(leafCertName), m.path(leafKeyName))
	if err == nil && m.leafUsable(cert) {
		return m.setLeaf(cert, key, certPEM)
	}
	key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("generating localhost key: %w", err)
	}
	now := m.now()
	notAfter := now.Add(leafLifetime)
	if notAfter.After(m.ca.NotAfter) {
		notAfter = m.ca.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: "localhost", Organization: []string{"Switchboard"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, m.ca, &key.PublicKey, m.caKey)
	if err != nil {
		return fmt.Errorf("signing localhost certificate: %w", err)
	}
	cert, err = x509.ParseCertificate(der)
	if err != nil {
		return err
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := writePair(m.path(leafCertName), m.path(leafKeyName), certPEM, key); err != nil {
		return err
	}
	m.logger.Info("issued localhost certificate", "notAfter", cert.NotAfter)
	return m.setLeaf(cert, key, certPEM)
}

func (m *certManager) setLeaf(cert *x509.Certificate, key *ecdsa.PrivateKey, _ []byte) error {
	m.leaf = &tls.Certificate{
		Certificate: [][]byte{cert.Raw, m.ca.Raw},
		PrivateKey:  key,
		Leaf:        cert,
	}
	return nil
}

// getCertificate serves the current leaf and renews it when it nears
// expiry, so certificate rotation needs no restart.
func (m *certManager) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.leafUsable(m.leaf.Leaf) {
		if err := m.loadOrCreateCA(); err != nil {
			return nil, err
		}
		if err := m.loadOrCreateLeaf(); err != nil {
			return nil, err
		}
	}
	return m.leaf, nil
}

func (m *certManager) info() CertInfo {
	m.mu.Lock()
	defer m.mu.Unlock()
	spki := sha256.Sum256(m.leaf.Leaf.RawSubjectPublicKeyInfo)
	return CertInfo{
		Dir:           m.dir,
		CAPath:        m.path(caCertName),
		CAFingerprint: fingerprint(m.ca.Raw),
		CANotAfter:    m.ca.NotAfter,
		LeafNotAfter:  m.leaf.Leaf.NotAfter,
		LeafSPKI:      base64.StdEncoding.EncodeToString(spki[:]),
	}
}

// caPool returns a pool holding only the local CA, for clients.
func (m *certManager) caPool() *x509.CertPool {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := x509.NewCertPool()
	p.AddCert(m.ca)
	return p
}

// loadCAPool reads the local CA from dataDir for a client.
func loadCAPool(dataDir string) (*x509.CertPool, error) {
	b, err := os.ReadFile(CACertPath(dataDir))
	if err != nil {
		return nil, fmt.Errorf("reading the local CA: %w (start switchboard once to create it)", err)
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s holds no certificate", CACertPath(dataDir))
	}
	return p, nil
}

func loadPair(certPath, keyPath string) (*x509.Certificate, *ecdsa.PrivateKey, []byte, error) {
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, nil, nil, err
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, nil, nil, err
	}
	// Keys must stay private even if something loosened them.
	if st, err := os.Stat(keyPath); err == nil && st.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(keyPath, 0o600); err != nil {
			return nil, nil, nil, fmt.Errorf("tightening %s to 0600: %w", keyPath, err)
		}
	}
	cb, _ := pem.Decode(certPEM)
	if cb == nil || cb.Type != "CERTIFICATE" {
		return nil, nil, nil, fmt.Errorf("%s: no PEM certificate", certPath)
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", certPath, err)
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, nil, nil, fmt.Errorf("%s: no PEM key", keyPath)
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", keyPath, err)
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || !pub.Equal(&key.PublicKey) {
		return nil, nil, nil, fmt.Errorf("%s does not match %s", keyPath, certPath)
	}
	return cert, key, certPEM, nil
}

func writePair(certPath, keyPath string, certPEM []byte, key *ecdsa.PrivateKey) error {
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
	if err := atomicfile.Write(keyPath, keyPEM, 0o600); err != nil {
		return err
	}
	return atomicfile.Write(certPath, certPEM, 0o644)
}

func randomSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		// crypto/rand does not fail on supported platforms.
		panic(err)
	}
	return n.Add(n, big.NewInt(1))
}

func fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

func ownerName() string {
	host, _ := os.Hostname()
	name := "user"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	return name + "@" + host
}

// samePEM reports whether two PEM files hold the same certificate bytes.
func samePEM(a, b []byte) bool {
	ab, _ := pem.Decode(a)
	bb, _ := pem.Decode(b)
	return ab != nil && bb != nil && bytes.Equal(ab.Bytes, bb.Bytes)
}
