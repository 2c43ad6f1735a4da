package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"switchboard/internal/lab"
	"switchboard/localhost"
	"switchboard/localhost/browsertest"
)

// widgetRig is the real app against the lab, with headless Chromium
// trusting the app's own local CA.
type widgetRig struct {
	t   *testing.T
	k   *lab.Kamailio
	a   *labApp
	b   *browsertest.Browser
	url string
}

func newWidgetRig(t *testing.T) *widgetRig {
	t.Helper()
	if _, err := browsertest.ChromiumPath(); err != nil {
		t.Fatalf("these tests need Chromium (make deps installs it): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	k, err := lab.StartKamailio(ctx, lab.KamailioOptions{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	a, err := startApp(ctx, labAppOptions{bin: appBin, k: k, log: quiet(), codecs: []string{"pcmu"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.stop)
	if _, err := a.waitRegistered(ctx); err != nil {
		t.Fatal(err)
	}
	b, err := browsertest.Start(context.Background(), browsertest.Options{
		CACert: localhost.CACertPath(a.dataDir), Width: 400, Height: 760, Logf: t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return &widgetRig{t: t, k: k, a: a, b: b, url: fmt.Sprintf("https://localhost:%d/", a.port)}
}

func (r *widgetRig) bot(ext string, hz float64, answer string) *lab.Bot {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, err := lab.StartBot(ctx, lab.BotOptions{Kamailio: r.k, Extension: ext, ToneHz: hz, AnswerMode: answer, Logger: quiet()})
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { b.Close() })
	return b
}

// tab opens the widget and waits until it shows the phone online.
func (r *widgetRig) tab() context.Context {
	r.t.Helper()
	ctx, cancel := r.b.Tab(nil)
	r.t.Cleanup(cancel)
	ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	r.t.Cleanup(cancel)
	r.do(ctx, chromedp.Navigate(r.url), chromedp.WaitVisible(chromedp.CSS(".dialpad .dial-input")))
	r.waitJS(ctx, `document.querySelector('.reg-text').textContent === 'Online'`)
	return ctx
}

func (r *widgetRig) do(ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	r.t.Helper()
	if err := browsertest.Do(ctx, steps...); err != nil {
		r.t.Fatal(err)
	}
}

func (r *widgetRig) waitJS(ctx context.Context, expr string) {
	r.t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		r.t.Fatalf("waiting for %s: %v", expr, err)
	}
}

// speakerTone is the dominant frequency our speaker played (16 kHz file).
func (r *widgetRig) speakerTone() float64 {
	b, err := os.ReadFile(filepath.Join(r.a.home, "speaker.out.raw"))
	if err != nil {
		r.t.Fatal(err)
	}
	pcm := make([]int16, len(b)/2)
	for i := range pcm {
		pcm[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
	}
	return lab.DominantFrequency(pcm, 16000)
}

func near(f, want float64) bool { return f > want-15 && f < want+15 }

// The end-to-end widget scenarios, on the real phone: dial from
// the dialpad to a bot and hang up; a bot calls and is answered in the
// widget with audio both ways; a reload mid-call shows the call again;
// the call log shows both calls.
func TestWidgetWithRealPhone(t *testing.T) {
	r := newWidgetRig(t)
	answering := r.bot("1002", 800, "auto")
	caller := r.bot("1003", 1200, "auto")
	ctx := r.tab()

	// Dial from the dialpad; the bot answers; hang up from the widget.
	r.do(ctx,
		chromedp.SendKeys(chromedp.CSS(".dial-input"), "1002"),
		chromedp.Click(chromedp.CSS(".btn-call"), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.CSS(".call-card.active")),
	)
	if _, err := answering.WaitEvent(ctx, lab.EventCallEstablished); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	// A reload mid-call keeps the call and shows it again.
	r.do(ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(".call-card.active")))
	r.waitJS(ctx, `document.querySelector('.callscreen .call-name').textContent.trim() === '1002'`)
	r.do(ctx, chromedp.Click(chromedp.CSS(".btn-hangup"), chromedp.NodeVisible))
	if _, err := answering.WaitEvent(ctx, lab.EventCallClosed); err != nil {
		t.Fatal(err)
	}
	if f := r.speakerTone(); !near(f, 800) {
		t.Fatalf("our speaker played %.0f Hz, want the bot's 800 Hz", f)
	}

	// A bot calls; the widget answers; audio both ways; the bot hangs up.
	r.do(ctx, chromedp.WaitVisible(chromedp.CSS(".dialpad .dial-input")))
	if err := caller.Dial(ctx, r.k.AOR("1001")); err != nil {
		t.Fatal(err)
	}
	r.do(ctx,
		chromedp.WaitVisible(chromedp.CSS(".incoming-card .btn-answer")),
		chromedp.Click(chromedp.CSS(".incoming-card .btn-answer")),
		chromedp.WaitVisible(chromedp.CSS(".call-card.active")),
	)
	time.Sleep(2 * time.Second)
	if err := caller.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	r.do(ctx, chromedp.WaitVisible(chromedp.CSS(".ended .call-status")))
	if f := r.speakerTone(); !near(f, 1200) {
		t.Fatalf("our speaker played %.0f Hz, want the caller's 1200 Hz", f)
	}
	samples, rate, err := lab.ReadWAV(caller.LastDecoded())
	if err != nil {
		t.Fatal(err)
	}
	if !lab.HasTone(samples, rate, 440) { // the app's lab microphone
		t.Fatalf("the caller did not hear our microphone (dominant %.0f Hz)", lab.DominantFrequency(samples, rate))
	}

	// The call log shows both.
	r.do(ctx, chromedp.Click(chromedp.CSS(`.nav-item[data-v="history"]`)))
	r.waitJS(ctx, `document.querySelectorAll('.log-row').length === 2`)
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll('.log-row')].map(r => r.textContent).join(' | ')`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rows, "1002") || !strings.Contains(rows, "1003") {
		t.Fatalf("call log rows: %s", rows)
	}
}

// A setting changed in the widget persists across an app restart.
func TestWidgetSettingSurvivesRestart(t *testing.T) {
	r := newWidgetRig(t)
	ctx := r.tab()
	r.do(ctx,
		chromedp.Click(chromedp.CSS(`.nav-item[data-v="settings"]`)),
		chromedp.WaitVisible(chromedp.CSS("#auto-answer")),
		chromedp.Click(chromedp.CSS(`label.switch-row[for="auto-answer"]`)),
	)
	r.waitJS(ctx, `document.querySelector('#auto-answer').checked === true`)
	r.a.terminate()
	if err := r.a.launch(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.a.waitRegistered(ctx); err != nil {
		t.Fatal(err)
	}
	// The widget finds the restarted app by itself and shows the setting.
	r.waitJS(ctx, `document.querySelector('.reg-text') && document.querySelector('.reg-text').textContent === 'Online'`)
	r.do(ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(".nav-item")))
	r.do(ctx, chromedp.Click(chromedp.CSS(`.nav-item[data-v="settings"]`)), chromedp.WaitVisible(chromedp.CSS("#auto-answer")))
	r.waitJS(ctx, `document.querySelector('#auto-answer').checked === true`)

	// And the restarted phone applies it: a bot's call is answered alone.
	caller := r.bot("1003", 1200, "auto")
	if err := caller.Dial(ctx, r.k.AOR("1001")); err != nil {
		t.Fatal(err)
	}
	if _, err := caller.WaitEvent(ctx, lab.EventCallEstablished); err != nil {
		t.Fatalf("auto-answer after restart: %v", err)
	}
}
