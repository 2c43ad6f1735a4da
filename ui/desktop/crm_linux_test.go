//go:build linux && !nogui

package desktop

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"switchboard/app"
	"switchboard/crm/cifhost"
	"switchboard/crm/crmtest"
	"switchboard/internal/lab"
	"switchboard/localhost"
	"switchboard/localhost/browsertest"
)

// externalNumber is a customer's phone: contact Zhang San in the sample
// Dynamics data stores it as "+86 138-1234-5678".
const externalNumber = "13812345678"

// TestDesktopDynamics: the tray app serves the Dynamics 365 panel as the
// headless app does. With the panel open in a Dynamics tab, a customer
// calls: the record pops in Dynamics, and the desktop notification and
// the popup name the caller from the CRM.
func TestDesktopDynamics(t *testing.T) {
	if _, err := browsertest.ChromiumPath(); err != nil {
		t.Fatalf("this test needs Chromium (make deps installs it): %v", err)
	}
	d := newDesk(t)
	d.writeConfig("1004")
	f, err := os.OpenFile(filepath.Join(d.home, ".config", "switchboard", "config.toml"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "\n[crm]\nurl = [\"https://%s\"]\ndefault_country = \"CN\"\nactivity_page = false\n", crmHost)
	f.Close()
	if err := app.SavePassword(appConfig(d, "1004"), d.k.Password("1004")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = app.DeletePassword(appConfig(d, "1004")) })

	host := crmtest.StartHost(t, crmHost)
	host.SetWidgetURL(fmt.Sprintf("https://localhost:%d/dyncrm?base={base}", d.port))

	p := d.start()
	if _, err := d.k.WaitRegistered(d.ctx, "1004", 1); err != nil {
		t.Fatalf("no sign-in from the keychain: %v", err)
	}
	d.eventually("the local server", 20*time.Second, func() bool { return strings.Contains(p.output(), "channel URL for Dynamics 365") })

	b, err := browsertest.Start(d.ctx, browsertest.Options{
		CACert: localhost.CACertPath(filepath.Join(d.home, "data")), AllowLocalNetwork: true, Logf: t.Logf,
		Flags: host.BrowserFlags(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	tab, cancel := b.Tab(nil)
	t.Cleanup(cancel)
	if err := chromedp.Do(tab, chromedp.Navigate(host.URL()+"/main.aspx"), chromedp.WaitReady(chromedp.CSS(`body[data-ready="1"]`))); err != nil {
		t.Fatal(err)
	}
	d.eventually("the Dynamics panel", 30*time.Second, func() bool { return strings.Contains(p.output(), "Dynamics 365 panel ready") })

	bot := lab.StartBotT(t, lab.BotOptions{Kamailio: d.k, Extension: externalNumber})
	if err := bot.Dial(d.ctx, d.k.URI("1004")); err != nil {
		t.Fatal(err)
	}
	popup := d.window("Incoming call", 15*time.Second)
	zhang := cifhost.SampleID("contact", "zhang")
	d.eventually("the screen pop in Dynamics", 15*time.Second, func() bool {
		return slices.ContainsFunc(host.Requests("openform"), func(e cifhost.LogEntry) bool {
			return strings.Contains(string(e.Data), zhang)
		})
	})
	d.eventually("the notification naming the caller", 15*time.Second, func() bool { return d.notes.seen("Incoming call", "Zhang San (13812345678) is calling") })
	time.Sleep(300 * time.Millisecond) // the popup redraws with the name
	d.screenshot("incoming-popup-crm", popup)
	if err := bot.Hangup(d.ctx); err != nil {
		t.Fatal(err)
	}
	d.eventually("the popup to close", 10*time.Second, func() bool { return d.findWindow("Incoming call") == "" })
}

const crmHost = "crm.test"
