package localhost

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestCertificatesCreatedAndReused(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	m, err := newCertManager(dir, func() time.Time { return now }, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	// ECDSA P-256 everywhere, keys 0600.
	for _, k := range []*ecdsa.PrivateKey{m.caKey, m.leaf.PrivateKey.(*ecdsa.PrivateKey)} {
		if k.Curve != elliptic.P256() {
			t.Errorf("curve %v", k.Curve.Params().Name)
		}
	}
	for _, name := range []string{caKeyName, leafKeyName} {
		st, err := os.Stat(filepath.Join(dir, certDirName, name))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v", name, st.Mode(), err)
		}
	}
	// The leaf verifies for localhost and 127.0.0.1 as a server cert.
	pool := x509.NewCertPool()
	pool.AddCert(m.ca)
	for _, name := range []string{"localhost", "127.0.0.1"} {
		if _, err := m.leaf.Leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			t.Errorf("verify %s: %v", name, err)
		}
	}
	if _, err := m.leaf.Leaf.Verify(x509.VerifyOptions{DNSName: "example.com", Roots: pool}); err == nil {
		t.Error("leaf valid for example.com")
	}
	// A second start reuses both.
	m2, err := newCertManager(dir, func() time.Time { return now.Add(time.Hour) }, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if !m2.ca.Equal(m.ca) || !m2.leaf.Leaf.Equal(m.leaf.Leaf) {
		t.Error("certificates were not reused")
	}
	info, err := EnsureCertificates(dir)
	if err != nil || info.CAFingerprint != fingerprint(m.ca.Raw) || info.CAPath != CACertPath(dir) {
		t.Errorf("info = %+v, %v", info, err)
	}
}

// Even with its key in hand, the CA can't vouch for any other site.
func TestCANameConstraints(t *testing.T) {
	m, err := newCertManager(t.TempDir(), time.Now, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(m.ca)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, tt := range []struct {
		dns []string
		ips []net.IP
	}{
		{dns: []string{"bank.example"}},
		{dns: []string{"login.microsoftonline.com"}},
		{dns: []string{"localhost.evil.example"}},
		{ips: []net.IP{net.IPv4(192, 168, 1, 1)}},
	} {
		tmpl := &x509.Certificate{SerialNumber: randomSerial(), Subject: pkix.Name{CommonName: "forged"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, DNSNames: tt.dns, IPAddresses: tt.ips}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, m.ca, &key.PublicKey, m.caKey)
		if err != nil {
			t.Fatal(err)
		}
		forged, _ := x509.ParseCertificate(der)
		if _, err := forged.Verify(x509.VerifyOptions{Roots: pool}); err == nil {
			t.Errorf("a certificate for %v %v verified under the local CA", tt.dns, tt.ips)
		}
	}
}

func TestLeafRenewal(t *testing.T) {
	dir := t.TempDir()
	clock := time.Now()
	now := func() time.Time { return clock }
	m, err := newCertManager(dir, now, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	first := m.leaf.Leaf
	// Well before expiry nothing changes.
	clock = first.NotAfter.Add(-renewBefore - 24*time.Hour)
	c, _ := m.getCertificate(nil)
	if !c.Leaf.Equal(first) {
		t.Fatal("renewed too early")
	}
	// Inside the renewal window the running server swaps the leaf.
	clock = first.NotAfter.Add(-renewBefore + time.Hour)
	c, err = m.getCertificate(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Leaf.Equal(first) || !c.Leaf.NotAfter.After(first.NotAfter) {
		t.Fatalf("not renewed: %v", c.Leaf.NotAfter)
	}
	if c.Leaf.CheckSignatureFrom(m.ca) != nil {
		t.Fatal("renewed leaf not signed by the same CA")
	}
	// And it is on disk for the next start.
	m2, err := newCertManager(dir, now, slog.New(slog.DiscardHandler))
	if err != nil || !m2.leaf.Leaf.Equal(c.Leaf) {
		t.Fatalf("renewed leaf not saved: %v", err)
	}
}

func TestCertificateRepair(t *testing.T) {
	dir := t.TempDir()
	m, err := newCertManager(dir, time.Now, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(dir, certDirName, caKeyName)
	// Loosened permissions are tightened on load.
	os.Chmod(keyPath, 0o644)
	if _, err := newCertManager(dir, time.Now, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(keyPath); st.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v", st.Mode().Perm())
	}
	// A damaged CA key means a new CA (and a new leaf signed by it).
	os.WriteFile(keyPath, []byte("garbage"), 0o600)
	m2, err := newCertManager(dir, time.Now, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if m2.ca.Equal(m.ca) || m2.leaf.Leaf.CheckSignatureFrom(m2.ca) != nil {
		t.Error("damaged CA not replaced consistently")
	}
	// A leaf key that doesn't match its certificate is replaced.
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	writePair(filepath.Join(dir, certDirName, leafCertName), filepath.Join(dir, certDirName, leafKeyName), mustRead(t, filepath.Join(dir, certDirName, leafCertName)), other)
	m3, err := newCertManager(dir, time.Now, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if m3.leaf.Leaf.Equal(m2.leaf.Leaf) {
		t.Error("mismatched leaf key kept")
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
