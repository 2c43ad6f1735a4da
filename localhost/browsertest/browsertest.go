// Package browsertest starts Debian's headless Chromium (through chromedp)
// for tests that drive the Switchboard widget as an agent would.
//
// The browser trusts the Switchboard Local CA the way `switchboard cert
// install` makes it trusted on Linux: the CA goes into the NSS database of
// a temporary HOME (certutil -d sql:$HOME/.pki/nssdb), which Chromium
// reads. Without certutil it falls back to pinning the server's key with
// --ignore-certificate-errors-spki-list.
//
// It is for tests only: it owns its temporary HOME and profile and removes
// them on Close. It must not be imported by the product.
package browsertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/chromedp/chromedp"
)

// Options configure the browser.
type Options struct {
	// CACert is the PEM file of the CA to trust (localhost.CACertPath).
	CACert string
	// SPKI is the base64 SHA-256 of the server key, used when certutil is
	// missing (localhost.CertInfo.LeafSPKI).
	SPKI string
	// Width and Height of the window (default 1280×800).
	Width, Height int
	// Lang is the browser language and Accept-Language (default en-US).
	Lang string
	// AllowLocalNetwork turns off Chrome's Local Network Access checks, for
	// tests whose "Dynamics" page is not itself on loopback.
	AllowLocalNetwork bool
	// Logf receives the pages' console messages and exceptions (optional).
	Logf func(format string, args ...any)
	// Flags are extra command-line switches.
	Flags map[string]any
}

// Browser is one headless Chromium.
type Browser struct {
	ctx         context.Context
	cancel      context.CancelFunc
	allocCancel context.CancelFunc
	dir         string
	logf        func(string, ...any)
	// Trust says how the local CA is trusted: "nss", "spki" or "" (not).
	Trust string
}

// ChromiumPath finds the browser: $CHROMIUM, else chromium (Debian's
// package), chromium-browser, google-chrome.
func ChromiumPath() (string, error) {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no Chromium found: apt-get install -y chromium (or set CHROMIUM)")
}

// Start launches the browser. Close it when done.
func Start(ctx context.Context, opts Options) (*Browser, error) {
	path, err := ChromiumPath()
	if err != nil {
		return nil, err
	}
	if opts.Width == 0 {
		opts.Width, opts.Height = 1280, 800
	}
	if opts.Lang == "" {
		opts.Lang = "en-US"
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	dir, err := os.MkdirTemp("", "switchboard-chromium-")
	if err != nil {
		return nil, err
	}
	b := &Browser{dir: dir, logf: opts.Logf}
	home := filepath.Join(dir, "home")
	// The Chromium on this machine only trusts what an agent's would: the
	// OS stores. Put the CA where InstallCA puts it for the user.
	disable := []string{"Translate", "MediaRouter", "OptimizationHints", "DialMediaRouteProvider"}
	if opts.AllowLocalNetwork {
		disable = append(disable, "LocalNetworkAccessChecks", "LocalNetworkAccessChecksWebSockets")
	}
	alloc := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(filepath.Join(dir, "profile")),
		chromedp.WindowSize(opts.Width, opts.Height),
		chromedp.Env("HOME=" + home),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-breakpad", true),
		// Chromium honours only the last --disable-features: one list.
		chromedp.Flag("disable-features", strings.Join(disable, ",")),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("lang", opts.Lang),
		chromedp.Flag("accept-lang", opts.Lang),
	}
	if _, err := exec.LookPath("certutil"); err == nil && opts.CACert != "" {
		db := filepath.Join(home, ".pki", "nssdb")
		if err := trustNSS(ctx, db, opts.CACert); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		b.Trust = "nss"
	} else if opts.SPKI != "" {
		alloc = append(alloc, chromedp.Flag("ignore-certificate-errors-spki-list", opts.SPKI))
		b.Trust = "spki"
	}
	for k, v := range opts.Flags {
		alloc = append(alloc, chromedp.Flag(k, v))
	}
	allocCtx, allocCancel := chromedp.NewExecAllocator(context.WithoutCancel(ctx), alloc...)
	bctx, cancel := chromedp.NewContext(allocCtx)
	if err := chromedp.Do(bctx); err != nil {
		cancel()
		allocCancel()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting %s: %w", path, err)
	}
	b.ctx, b.cancel, b.allocCancel = bctx, cancel, allocCancel
	return b, nil
}

// trustNSS makes a fresh NSS database trusting caPath as a TLS issuer.
func trustNSS(ctx context.Context, db, caPath string) error {
	if err := os.MkdirAll(db, 0o700); err != nil {
		return err
	}
	for _, args := range [][]string{
		{"-d", "sql:" + db, "-N", "--empty-password"},
		{"-d", "sql:" + db, "-A", "-t", "C,,", "-n", "Switchboard Local CA", "-i", caPath},
	} {
		if out, err := exec.CommandContext(ctx, "certutil", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("certutil %s: %w: %s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}

// Tab opens a new tab whose console goes to logf (Options.Logf if nil).
func (b *Browser) Tab(logf func(string, ...any)) (context.Context, context.CancelFunc) {
	if logf == nil {
		logf = b.logf
	}
	ctx, cancel := chromedp.NewContext(b.ctx)
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			logf("browser console: %s", m)
		}
	}()
	return ctx, cancel
}

// Close stops the browser and removes its temporary HOME and profile.
func (b *Browser) Close() {
	b.cancel()
	b.allocCancel()
	os.RemoveAll(b.dir)
}

// Do runs steps in order as chromedp.Do does, except that a step whose
// node left the page between being found and being used (the widget drew
// it again meanwhile) is run again on the new node, up to three times: a
// person's click lands on whatever is under the pointer, the node a test
// found a moment before may be gone.
func Do(ctx context.Context, steps ...chromedp.Action[chromedp.Void]) error {
	for _, st := range steps {
		var err error
		for range 3 {
			if err = chromedp.Do(ctx, st); err == nil || !nodeGone(err) {
				break
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func nodeGone(err error) bool {
	s := err.Error()
	return strings.Contains(s, "Could not find node with given id") || strings.Contains(s, "Node is detached") ||
		strings.Contains(s, "No node with given id")
}
