package cifbrowser

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/chromedp/chromedp"

	"switchboard/crm/cifhost"
)

// Lab is the host double, a test widget and headless Chromium wired
// together: pages load https://<Hostname>/main.aspx, which frames the
// widget, which loads the host's msdyn_ciLibrary.js.
type Lab struct {
	Cert    *cifhost.TestCert
	Host    *cifhost.Host
	Widget  *WidgetServer
	Browser context.Context

	cancel  context.CancelFunc
	mu      sync.Mutex
	console []string
}

// LabOptions configure NewLab.
type LabOptions struct {
	// Hostname of the org (default "crm.test").
	Hostname string
	// Sample loads the sample records.
	Sample bool
	// Host is applied to the host's options before it starts.
	Host func(*cifhost.Options)
}

// NewLab starts everything; Close stops it.
func NewLab(o LabOptions) (*Lab, error) {
	if o.Hostname == "" {
		o.Hostname = "crm.test"
	}
	cert, err := cifhost.NewTestCert(o.Hostname, "localhost", "127.0.0.1")
	if err != nil {
		return nil, err
	}
	ho := cifhost.Options{TLS: cert.TLS, Hostname: o.Hostname}
	if o.Host != nil {
		o.Host(&ho)
	}
	h, err := cifhost.New(ho)
	if err != nil {
		return nil, err
	}
	if err := h.Start(); err != nil {
		return nil, err
	}
	if o.Sample {
		cifhost.LoadSample(h.Dataverse())
	}
	l := &Lab{Cert: cert, Host: h, Widget: NewWidgetServer(cert.TLS)}
	if ho.WidgetURL == "" {
		h.SetWidgetURL(l.Widget.LandingURL())
	}
	l.Browser, l.cancel, err = Launch(context.Background(), Options{
		HostRules: []string{MapHost(o.Hostname, h)},
		SPKI:      []string{cert.SPKI},
		Console:   l.logConsole,
	})
	if err != nil {
		l.Widget.Close()
		_ = h.Close()
		return nil, err
	}
	return l, nil
}

func (l *Lab) logConsole(s string) {
	l.mu.Lock()
	l.console = append(l.console, s)
	l.mu.Unlock()
}

// Console returns what the top pages logged (frames of other origins
// run in their own processes and are not included).
func (l *Lab) Console() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.console)
}

// Close stops the browser, the widget and the host.
func (l *Lab) Close() {
	l.cancel()
	l.Widget.Close()
	_ = l.Host.Close()
}

// OpenTab opens a new tab on the host's main page (path, if given, such
// as "/main.aspx?pagetype=entityrecord&etn=contact&id=…") and waits for
// the shell to be up. Cancel closes the tab.
func (l *Lab) OpenTab(path string) (context.Context, context.CancelFunc, error) {
	ctx, cancel := chromedp.NewContext(l.Browser)
	if path == "" {
		path = "/main.aspx"
	}
	// The tab lives as long as the context of its first action: open it
	// with ctx itself, then bound the page load.
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		return nil, nil, fmt.Errorf("opening a tab: %w", err)
	}
	tctx, tcancel := context.WithTimeout(ctx, 30*time.Second)
	defer tcancel()
	err := chromedp.Do(tctx,
		chromedp.Navigate(l.Host.URL()+path),
		chromedp.WaitReady(chromedp.CSS(`body[data-ready="1"]`)),
	)
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("opening the Dynamics page: %w", err)
	}
	Listen(ctx, l.logConsole)
	return ctx, cancel, nil
}

// WaitReadyTabs waits until n widget tabs have CIF up.
func (l *Lab) WaitReadyTabs(ctx context.Context, n int) error {
	for l.Widget.ReadyTabs() < n {
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d ready Dynamics tabs (have %d): %w", n, l.Widget.ReadyTabs(), ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}
