package localhost

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"switchboard/internal/atomicfile"
)

// TrustOptions says which trust stores `switchboard cert install |
// uninstall | status` touch. The zero value (with DataDir) means the
// platform's usual stores for the current user; the paths and commands are
// fields so tests can point them at temporary stores.
type TrustOptions struct {
	DataDir string // where the local CA lives (DataDir/certs/ca.pem)

	// Linux system store: the CA is copied to SystemCertDir as
	// switchboard-local-ca.crt and UpdateCommand rebuilds SystemBundle.
	// Writing there needs root; without it the system store is reported as
	// not trusted with a hint, and the per-user NSS stores still work.
	SystemCertDir string   // default /usr/local/share/ca-certificates
	SystemBundle  string   // default /etc/ssl/certs/ca-certificates.crt
	UpdateCommand []string // default ["update-ca-certificates"]; "--fresh" is appended on uninstall
	SkipSystem    bool     // leave the system store alone

	// NSSDBs are the NSS databases Chromium and Firefox read (certutil -d
	// sql:DIR). Default: $HOME/.pki/nssdb, created when missing.
	NSSDBs []string

	// Keychain is the macOS keychain (default: the login keychain).
	Keychain string
}

// StoreStatus is the CA's state in one trust store.
type StoreStatus struct {
	Store   string `json:"store"` // "system", "nss", "keychain", "windows-user-root"
	Path    string `json:"path,omitempty"`
	Trusted bool   `json:"trusted"`
	Detail  string `json:"detail,omitempty"` // what happened or what the user can do
}

func (s StoreStatus) String() string {
	state := "not trusted"
	if s.Trusted {
		state = "trusted"
	}
	out := fmt.Sprintf("%-18s %-12s %s", s.Store, state, s.Path)
	if s.Detail != "" {
		out += "  (" + s.Detail + ")"
	}
	return strings.TrimRight(out, " ")
}

// InstallCA adds the local CA to the OS trust stores (creating the CA
// first if needed) so browsers load the widget without warnings.
func InstallCA(ctx context.Context, opts TrustOptions) ([]StoreStatus, error) {
	if _, err := EnsureCertificates(opts.DataDir); err != nil {
		return nil, err
	}
	return platformTrust(ctx, opts, trustInstall)
}

// UninstallCA removes the local CA from the OS trust stores. The CA files
// in the data directory are kept.
func UninstallCA(ctx context.Context, opts TrustOptions) ([]StoreStatus, error) {
	return platformTrust(ctx, opts, trustUninstall)
}

// CAStatus reports whether each trust store holds the current local CA.
func CAStatus(ctx context.Context, opts TrustOptions) ([]StoreStatus, error) {
	return platformTrust(ctx, opts, trustStatus)
}

type trustOp int

const (
	trustInstall trustOp = iota
	trustUninstall
	trustStatus
)

// runTool runs an external trust tool and returns a readable error that
// includes its output (which never holds secrets: only certificates).
func runTool(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	if err != nil {
		var ee *exec.Error
		if errors.As(err, &ee) {
			return out.Bytes(), fmt.Errorf("%s not found: %w", name, err)
		}
		return out.Bytes(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return out.Bytes(), nil
}

// Linux ----------------------------------------------------------------

const linuxSystemCertName = "switchboard-local-ca.crt"

func (o TrustOptions) linuxDefaults() TrustOptions {
	if o.SystemCertDir == "" {
		o.SystemCertDir = "/usr/local/share/ca-certificates"
	}
	if o.SystemBundle == "" {
		o.SystemBundle = "/etc/ssl/certs/ca-certificates.crt"
	}
	if len(o.UpdateCommand) == 0 {
		o.UpdateCommand = []string{"update-ca-certificates"}
	}
	if o.NSSDBs == nil {
		if home, err := os.UserHomeDir(); err == nil {
			o.NSSDBs = []string{filepath.Join(home, ".pki", "nssdb")}
		}
	}
	return o
}

// linuxTrust handles the Debian-style system store and NSS databases.
// It is compiled on every platform so its logic is tested everywhere the
// tools exist.
func linuxTrust(ctx context.Context, o TrustOptions, op trustOp) ([]StoreStatus, error) {
	o = o.linuxDefaults()
	caPath := CACertPath(o.DataDir)
	caPEM, err := os.ReadFile(caPath)
	if err != nil && op != trustUninstall {
		return nil, fmt.Errorf("reading the local CA: %w (start switchboard once, or run `switchboard cert install`)", err)
	}
	var out []StoreStatus
	var errs []error
	if !o.SkipSystem {
		st, err := linuxSystem(ctx, o, op, caPEM)
		out = append(out, st)
		errs = append(errs, err)
	}
	for _, db := range o.NSSDBs {
		st, err := nssTrust(ctx, db, op, caPath, caPEM)
		out = append(out, st)
		errs = append(errs, err)
	}
	return out, errors.Join(errs...)
}

func linuxSystem(ctx context.Context, o TrustOptions, op trustOp, caPEM []byte) (StoreStatus, error) {
	dst := filepath.Join(o.SystemCertDir, linuxSystemCertName)
	st := StoreStatus{Store: "system", Path: dst}
	switch op {
	case trustInstall:
		if err := os.MkdirAll(o.SystemCertDir, 0o755); err != nil {
			st.Detail = "needs administrator rights: run `sudo switchboard cert install`"
			return st, fmt.Errorf("system store: %w", err)
		}
		if err := atomicfile.Write(dst, caPEM, 0o644); err != nil {
			st.Detail = "needs administrator rights: run `sudo switchboard cert install`"
			return st, fmt.Errorf("system store: %w", err)
		}
		if _, err := runTool(ctx, o.UpdateCommand[0], o.UpdateCommand[1:]...); err != nil {
			st.Detail = "copied, but rebuilding the bundle failed"
			return st, fmt.Errorf("system store: %w", err)
		}
	case trustUninstall:
		err := os.Remove(dst)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			st.Detail = "needs administrator rights: run `sudo switchboard cert uninstall`"
			return st, fmt.Errorf("system store: %w", err)
		}
		if err == nil {
			args := append(append([]string{}, o.UpdateCommand[1:]...), "--fresh")
			if _, err := runTool(ctx, o.UpdateCommand[0], args...); err != nil {
				st.Detail = "removed, but rebuilding the bundle failed"
				return st, fmt.Errorf("system store: %w", err)
			}
		}
		st.Detail = "removed"
		return st, nil
	}
	installed, _ := os.ReadFile(dst)
	bundle, _ := os.ReadFile(o.SystemBundle)
	st.Trusted = samePEM(installed, caPEM) && bundleHas(bundle, caPEM)
	if !st.Trusted && op == trustStatus && len(installed) > 0 {
		st.Detail = "an older or different CA is installed; run `sudo switchboard cert install`"
	}
	return st, nil
}

// bundleHas reports whether a PEM bundle contains cert.
func bundleHas(bundle, cert []byte) bool {
	for len(bundle) > 0 {
		i := bytes.Index(bundle, []byte("-----BEGIN CERTIFICATE-----"))
		if i < 0 {
			return false
		}
		bundle = bundle[i:]
		if samePEM(bundle, cert) {
			return true
		}
		bundle = bundle[1:]
	}
	return false
}

func nssTrust(ctx context.Context, db string, op trustOp, caPath string, caPEM []byte) (StoreStatus, error) {
	st := StoreStatus{Store: "nss", Path: db}
	if _, err := exec.LookPath("certutil"); err != nil {
		st.Detail = "certutil not found: install libnss3-tools"
		if op == trustStatus {
			return st, nil
		}
		return st, fmt.Errorf("NSS store %s: certutil not found (install libnss3-tools)", db)
	}
	dbArg := "sql:" + db
	exists := fileExists(filepath.Join(db, "cert9.db"))
	switch op {
	case trustInstall:
		if !exists {
			if err := os.MkdirAll(db, 0o700); err != nil {
				return st, fmt.Errorf("NSS store: %w", err)
			}
			if _, err := runTool(ctx, "certutil", "-d", dbArg, "-N", "--empty-password"); err != nil {
				return st, fmt.Errorf("NSS store: %w", err)
			}
		}
		// Replace any earlier CA under our nickname (a new data dir makes a new CA).
		for range 4 {
			if _, err := runTool(ctx, "certutil", "-d", dbArg, "-D", "-n", CAName); err != nil {
				break
			}
		}
		if _, err := runTool(ctx, "certutil", "-d", dbArg, "-A", "-t", "C,,", "-n", CAName, "-i", caPath); err != nil {
			return st, fmt.Errorf("NSS store: %w", err)
		}
	case trustUninstall:
		if exists {
			for range 4 {
				if _, err := runTool(ctx, "certutil", "-d", dbArg, "-D", "-n", CAName); err != nil {
					break
				}
			}
		}
		st.Detail = "removed"
		return st, nil
	}
	if !exists && op == trustStatus {
		st.Detail = "no NSS database yet"
		return st, nil
	}
	got, err := runTool(ctx, "certutil", "-d", dbArg, "-L", "-n", CAName, "-a")
	st.Trusted = err == nil && bundleHas(got, caPEM)
	return st, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// macOS ----------------------------------------------------------------

// macCommands are the `security` invocations for the login keychain.
func macCommands(op trustOp, caPath, keychain string) [][]string {
	switch op {
	case trustInstall:
		return [][]string{{"security", "add-trusted-cert", "-r", "trustRoot", "-k", keychain, caPath}}
	case trustUninstall:
		return [][]string{
			{"security", "remove-trusted-cert", caPath},
			{"security", "delete-certificate", "-c", CAName, keychain},
		}
	default:
		return [][]string{{"security", "verify-cert", "-c", caPath, "-p", "ssl", "-s", "localhost"}}
	}
}

// Windows --------------------------------------------------------------

// windowsCommands are the certutil invocations for the current user's
// Root store (no administrator rights needed; Windows asks the user).
func windowsCommands(op trustOp, caPath string) [][]string {
	switch op {
	case trustInstall:
		return [][]string{{"certutil", "-user", "-f", "-addstore", "Root", caPath}}
	case trustUninstall:
		return [][]string{{"certutil", "-user", "-delstore", "Root", CAName}}
	default:
		return [][]string{{"certutil", "-user", "-verifystore", "Root", CAName}}
	}
}
