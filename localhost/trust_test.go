package localhost

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The Linux system store, for real: update-ca-certificates rebuilding a
// bundle in temporary directories.
func TestTrustLinuxSystemStore(t *testing.T) {
	if _, err := exec.LookPath("update-ca-certificates"); err != nil {
		t.Skip("update-ca-certificates not installed (ca-certificates)")
	}
	dir := t.TempDir()
	etc := filepath.Join(dir, "etc-ssl-certs")
	for _, d := range []string{"share", "local", etc, "hooks"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	os.MkdirAll(etc, 0o755)
	// Like a real system, the bundle holds other CAs too (with none,
	// update-ca-certificates leaves an emptied bundle as it was).
	other, err := newCertManager(filepath.Join(dir, "other"), time.Now, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "share", "other.crt"), other.caPEM, 0o644)
	conf := filepath.Join(dir, "ca-certificates.conf")
	os.WriteFile(conf, []byte("other.crt\n"), 0o644)
	opts := TrustOptions{
		DataDir:       filepath.Join(dir, "data"),
		SystemCertDir: filepath.Join(dir, "local"),
		SystemBundle:  filepath.Join(etc, "ca-certificates.crt"),
		UpdateCommand: []string{"update-ca-certificates", "--certsconf", conf, "--certsdir", filepath.Join(dir, "share"),
			"--localcertsdir", filepath.Join(dir, "local"), "--etccertsdir", etc, "--hooksdir", filepath.Join(dir, "hooks")},
		NSSDBs: []string{},
	}
	ctx := context.Background()
	st, err := CAStatus(ctx, opts)
	if err == nil {
		t.Fatalf("status before the CA exists: %v", st)
	}
	st, err = InstallCA(ctx, opts)
	if err != nil || len(st) != 1 || !st[0].Trusted {
		t.Fatalf("install: %v %v", st, err)
	}
	bundle, _ := os.ReadFile(opts.SystemBundle)
	ca, _ := os.ReadFile(CACertPath(opts.DataDir))
	if !bundleHas(bundle, ca) {
		t.Fatal("the CA is not in the rebuilt bundle")
	}
	if st, _ := CAStatus(ctx, opts); !st[0].Trusted {
		t.Fatalf("status after install: %v", st)
	}
	// Installing twice is harmless.
	if st, err := InstallCA(ctx, opts); err != nil || !st[0].Trusted {
		t.Fatalf("second install: %v %v", st, err)
	}
	st, err = UninstallCA(ctx, opts)
	if err != nil {
		t.Fatalf("uninstall: %v %v", st, err)
	}
	bundle, _ = os.ReadFile(opts.SystemBundle)
	if bundleHas(bundle, ca) {
		t.Fatal("the CA is still in the bundle")
	}
	if st, _ := CAStatus(ctx, opts); st[0].Trusted {
		t.Fatalf("status after uninstall: %v", st)
	}
}

// The NSS database Chromium and Firefox read, for real with certutil.
func TestTrustNSS(t *testing.T) {
	if _, err := exec.LookPath("certutil"); err != nil {
		t.Skip("certutil not installed (libnss3-tools)")
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "home", ".pki", "nssdb")
	opts := TrustOptions{DataDir: filepath.Join(dir, "data"), SkipSystem: true, NSSDBs: []string{db}}
	ctx := context.Background()
	if _, err := EnsureCertificates(opts.DataDir); err != nil {
		t.Fatal(err)
	}
	if st, _ := CAStatus(ctx, opts); st[0].Trusted {
		t.Fatal("trusted before install")
	}
	st, err := InstallCA(ctx, opts)
	if err != nil || !st[0].Trusted {
		t.Fatalf("install: %v %v", st, err)
	}
	// NSS itself says the CA is a trusted SSL issuer.
	out, err := exec.Command("certutil", "-d", "sql:"+db, "-L").CombinedOutput()
	if err != nil || !strings.Contains(string(out), CAName) || !strings.Contains(string(out), "C,,") {
		t.Fatalf("certutil -L:\n%s %v", out, err)
	}
	// A new CA (say, a wiped data dir) replaces the old one on install.
	os.RemoveAll(opts.DataDir)
	if st, _ := CAStatus(ctx, opts); len(st) != 0 && st[0].Trusted {
		// status needs the CA; without it this is an error, which is fine
	}
	if st, err := InstallCA(ctx, opts); err != nil || !st[0].Trusted {
		t.Fatalf("reinstall: %v %v", st, err)
	}
	out, _ = exec.Command("certutil", "-d", "sql:"+db, "-L").CombinedOutput()
	if strings.Count(string(out), CAName) != 1 {
		t.Fatalf("old CA left behind:\n%s", out)
	}
	if _, err := UninstallCA(ctx, opts); err != nil {
		t.Fatal(err)
	}
	if st, _ := CAStatus(ctx, opts); st[0].Trusted {
		t.Fatal("trusted after uninstall")
	}
}

func TestTrustCommands(t *testing.T) {
	kc := "/Users/a/Library/Keychains/login.keychain-db"
	if got := macCommands(trustInstall, "/d/ca.pem", kc); !reflect.DeepEqual(got, [][]string{{"security", "add-trusted-cert", "-r", "trustRoot", "-k", kc, "/d/ca.pem"}}) {
		t.Errorf("mac install %v", got)
	}
	if got := macCommands(trustUninstall, "/d/ca.pem", kc); len(got) != 2 || got[0][1] != "remove-trusted-cert" || got[1][1] != "delete-certificate" {
		t.Errorf("mac uninstall %v", got)
	}
	if got := windowsCommands(trustInstall, `C:\d\ca.pem`); !reflect.DeepEqual(got, [][]string{{"certutil", "-user", "-f", "-addstore", "Root", `C:\d\ca.pem`}}) {
		t.Errorf("windows install %v", got)
	}
	if got := windowsCommands(trustUninstall, `C:\d\ca.pem`); !reflect.DeepEqual(got, [][]string{{"certutil", "-user", "-delstore", "Root", CAName}}) {
		t.Errorf("windows uninstall %v", got)
	}
}
