package main

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/chromedp/chromedp"

	"switchboard/crm/cifhost"
	"switchboard/crm/cifhost/cifbrowser"
	"switchboard/internal/lab"
	"switchboard/localhost"
)

// The demo's Dynamics-like page: the Dynamics 365 host double with the
// sample contacts, framing the app's real widget, so a newcomer sees a
// call pop a record and log an activity without a Dynamics tenant.

// demoCaller is the sample contact Zhang San's mobile number; a bot
// calls from it.
const demoCaller = "13812345678"

// demoDynamics is the host double of the demo.
type demoDynamics struct {
	host   *cifhost.Host
	cert   *cifhost.TestCert
	caFile string
}

// reserveDynamics picks the page's address before the app starts (the
// app's [crm] url must name it).
func reserveDynamics() (string, int, error) {
	port, err := lab.FreePort("tcp")
	if err != nil {
		return "", 0, err
	}
	return "https://localhost:" + strconv.Itoa(port), port, nil
}

// startDynamics serves the host double on port, framing the app's widget.
// Off port 443 the double keeps the port in the library's target origin
// (the real library drops it), so a plain browser works.
func startDynamics(port int, a *labApp) (*demoDynamics, error) {
	cert, err := cifhost.NewTestCert("localhost", "127.0.0.1")
	if err != nil {
		return nil, err
	}
	h, err := cifhost.New(cifhost.Options{
		Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Hostname: "localhost", KeepPort: true, TLS: cert.TLS,
		WidgetURL: fmt.Sprintf("https://localhost:%d/dyncrm?base={base}", a.port),
	})
	if err != nil {
		return nil, err
	}
	cifhost.LoadSample(h.Dataverse())
	if err := h.Start(); err != nil {
		return nil, err
	}
	d := &demoDynamics{host: h, cert: cert, caFile: filepath.Join(a.dir, "dynamics-double-ca.pem")}
	if err := os.WriteFile(d.caFile, cert.CAPEM, 0o644); err != nil {
		_ = h.Close()
		return nil, err
	}
	return d, nil
}

func (d *demoDynamics) Close() { _ = d.host.Close() }

// appSPKI is the pin of the app's localhost certificate, for a browser
// that should accept it without installing the local CA.
func appSPKI(dataDir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(filepath.Dir(localhost.CACertPath(dataDir)), "localhost.pem"))
	if err != nil {
		return "", err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return "", errors.New("no certificate in localhost.pem")
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:]), nil
}

// watchPop opens the page in headless Chromium (when installed), has the
// bot at demoCaller call the agent, answers, hangs up, and reports what
// Dynamics got: the screen pop and the logged activity.
func watchPop(ctx context.Context, d *demoDynamics, a *labApp, k *lab.Kamailio, say func(string, ...any)) error {
	spki, err := appSPKI(a.dataDir)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	bctx, stop, err := cifbrowser.Launch(ctx, cifbrowser.Options{SPKI: []string{d.cert.SPKI, spki}})
	if err != nil {
		return err
	}
	defer stop()
	if err := chromedp.Do(bctx, chromedp.Navigate(d.host.URL()+"/main.aspx"), chromedp.WaitReady(chromedp.CSS(`body[data-ready="1"]`))); err != nil {
		return fmt.Errorf("opening the page: %w", err)
	}
	if err := waitUntil(ctx, func() bool { return len(d.host.Requests("getenvironment")) > 0 }); err != nil {
		return errors.New("the widget did not start inside the page")
	}
	time.Sleep(300 * time.Millisecond) // the panel's hello reaches the app
	bot, err := lab.StartBot(ctx, lab.BotOptions{Kamailio: k, Extension: demoCaller, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	defer bot.Close()
	if err := bot.Dial(ctx, k.AOR("1001")); err != nil {
		return err
	}
	zhang := cifhost.SampleID("contact", "zhang")
	if err := waitUntil(ctx, func() bool { return len(d.host.Requests("openform")) > 0 }); err != nil {
		return errors.New("no screen pop")
	}
	rec, _ := d.host.Dataverse().Record("contact", zhang)
	say("   the page popped %v %v's contact record while the phone rang", rec["firstname"], rec["lastname"])
	if waitIncoming(ctx, a) {
		out, _ := a.cli(ctx, "answer")
		say("   %s", out)
	}
	time.Sleep(1500 * time.Millisecond)
	if err := bot.Hangup(ctx); err != nil {
		return err
	}
	var pc map[string]any
	err = waitUntil(ctx, func() bool {
		for _, r := range d.host.Dataverse().Records("phonecall") {
			if r["phonenumber"] == demoCaller {
				pc = r
			}
		}
		return pc != nil && pc["actualend"] != nil
	})
	if err != nil {
		return errors.New("the activity did not reach Dynamics")
	}
	say("   Dynamics logged the phone call activity %q (%v min)", pc["subject"], pc["actualdurationminutes"])
	return nil
}

func waitUntil(ctx context.Context, cond func() bool) error {
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// crmCall has Zhang San's phone call the agent (the prompt's "crm"); the
// bot gives up after 30 s unanswered and hangs up after 20 s of talk.
func crmCall(ctx context.Context, k *lab.Kamailio) error {
	bot, err := lab.StartBot(ctx, lab.BotOptions{Kamailio: k, Extension: demoCaller, ToneHz: 600, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	if err := bot.Dial(ctx, k.AOR("1001")); err != nil {
		bot.Close()
		return err
	}
	go func() {
		defer bot.Close()
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if _, err := bot.WaitEvent(wctx, lab.EventCallEstablished, lab.EventCallClosed); err == nil {
			select {
			case <-ctx.Done():
			case <-time.After(20 * time.Second):
			}
		}
		_ = bot.Hangup(context.WithoutCancel(ctx))
		tctx, cancel2 := context.WithTimeout(ctx, 5*time.Second)
		defer cancel2()
		_, _ = bot.WaitEvent(tctx, lab.EventCallClosed)
	}()
	return nil
}
