package crmtest

import (
	"testing"

	"switchboard/crm/cifhost"
	"switchboard/crm/cifhost/cifbrowser"
)

// Host is a running Dynamics host double with its test certificate.
type Host struct {
	*cifhost.Host
	Name string
	Cert *cifhost.TestCert
}

// StartHost starts the Dynamics host double at https://hostname with a
// test certificate and the sample records, for end-to-end tests that
// open it in Chromium. It stops when the test ends.
func StartHost(t testing.TB, hostname string) *Host {
	t.Helper()
	cert, err := cifhost.NewTestCert(hostname, "localhost", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	h, err := cifhost.New(cifhost.Options{TLS: cert.TLS, Hostname: hostname})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	cifhost.LoadSample(h.Dataverse())
	return &Host{Host: h, Name: hostname, Cert: cert}
}

// BrowserFlags are the Chromium switches that reach the host by its name
// and trust its test certificate.
func (h *Host) BrowserFlags() map[string]any {
	return map[string]any{
		"host-rules":                          cifbrowser.MapHost(h.Name, h.Host),
		"ignore-certificate-errors-spki-list": h.Cert.SPKI,
	}
}
