package localhost

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"switchboard/app"
	"switchboard/localhost/browsertest"
)

// One headless Chromium serves every browser test; the servers of those
// tests share one local CA (copied into each data dir) so it trusts them all.
type browserEnv struct {
	once  sync.Once
	certs string
	b     *browsertest.Browser
	err   error
}

var shared browserEnv

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.b != nil {
		shared.b.Close()
	}
	if shared.certs != "" {
		os.RemoveAll(shared.certs)
	}
	os.Exit(code)
}

func needBrowser(t testing.TB) *browsertest.Browser {
	t.Helper()
	if testing.Short() {
		t.Skip("browser tests skipped in -short mode")
	}
	shared.once.Do(func() {
		dir, err := os.MkdirTemp("", "switchboard-browser-ca-")
		if err != nil {
			shared.err = err
			return
		}
		shared.certs = dir
		info, err := EnsureCertificates(dir)
		if err != nil {
			shared.err = err
			return
		}
		shared.b, shared.err = browsertest.Start(context.Background(), browsertest.Options{
			CACert: info.CAPath, SPKI: info.LeafSPKI, Width: 1280, Height: 800,
		})
	})
	if shared.err != nil {
		if _, err := browsertest.ChromiumPath(); err != nil {
			t.Skip(err)
		}
		t.Fatal(shared.err)
	}
	return shared.b
}

// browserFixture is a server whose certificate the shared browser trusts.
func browserFixture(t testing.TB, mods ...func(*Options)) *fixture {
	t.Helper()
	needBrowser(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	if err := os.CopyFS(filepath.Join(dataDir, certDirName), os.DirFS(filepath.Join(shared.certs, certDirName))); err != nil {
		t.Fatal(err)
	}
	return newFixture(t, append([]func(*Options){func(o *Options) { o.DataDir = dataDir }}, mods...)...)
}

// tab opens a tab for the test; console output goes to the test log.
func tab(t testing.TB) context.Context {
	t.Helper()
	b := needBrowser(t)
	var mu sync.Mutex
	done := false
	ctx, cancel := b.Tab(func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if !done {
			t.Logf(format, args...)
		}
	})
	t.Cleanup(func() {
		mu.Lock()
		done = true
		mu.Unlock()
		cancel()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatal(err)
	}
	tctx, tcancel := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(tcancel)
	return tctx
}

func do(t testing.TB, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := browsertest.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

func text(t testing.TB, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// waitJS polls a JavaScript expression until it is truthy.
func waitJS(t testing.TB, ctx context.Context, expr string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		t.Fatalf("waiting for %s: %v", expr, err)
	}
}

// waitFor polls a Go condition.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *testPhone) snapshot() ([]string, []HistoryRecord, []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var calls []string
	for _, c := range p.calls {
		calls = append(calls, fmt.Sprintf("%s:%s:%s:muted=%v", c.ID, c.Number, c.State, c.Muted))
	}
	return calls, append([]HistoryRecord(nil), p.history...), append([]string(nil), p.dtmf...)
}

func (p *testPhone) callByNumber(n string) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.calls {
		if c.Number == n {
			return c.ID, true
		}
	}
	return "", false
}

// The chromedp test: load the widget, dial from the dialpad and
// see the call card; then the in-call controls reach the phone.
func TestWidgetDialFromDialpad(t *testing.T) {
	f := browserFixture(t)
	ctx := tab(t)
	do(t, ctx, chromedp.Navigate(f.base+"/"), chromedp.WaitVisible(chromedp.CSS(".dialpad .dial-input")))
	waitJS(t, ctx, `document.querySelector('.reg-text').textContent === 'Online'`)
	do(t, ctx,
		chromedp.SendKeys(chromedp.CSS(".dial-input"), "+1 (555) 010-2030"),
		chromedp.Click(chromedp.CSS(".btn-call"), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.CSS(".callscreen .call-name")),
	)
	if got := text(t, ctx, ".callscreen .call-name"); got != "+1 555 010 2030" {
		t.Errorf("call card name %q", got)
	}
	if got := text(t, ctx, ".callscreen .call-status"); got != "Calling…" {
		t.Errorf("call card status %q", got)
	}
	id, ok := f.phone.callByNumber("+15550102030")
	if !ok {
		calls, _, _ := f.phone.snapshot()
		t.Fatalf("the phone got no normalised call: %v", calls)
	}
	// The far end answers: timer, codec badge, controls.
	f.phone.answerRemote(id)
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(".call-card.active .badge.hd")))
	waitJS(t, ctx, `/^0:0\d$/.test(document.querySelector('.call-card .call-status').textContent)`)
	do(t, ctx, chromedp.Click(chromedp.CSS(`.ctl[data-k="mic"]`)))
	waitFor(t, "mute", func() bool { c, _, _ := f.phone.snapshot(); return strings.Contains(c[0], "muted=true") })
	do(t, ctx, chromedp.Click(chromedp.CSS(`.ctl[data-k="pause"]`)), chromedp.WaitVisible(chromedp.CSS(".call-card.held")))
	do(t, ctx, chromedp.Click(chromedp.CSS(`.ctl[data-k="pause"]`)), chromedp.WaitVisible(chromedp.CSS(".call-card.active")))
	do(t, ctx, chromedp.Click(chromedp.CSS(`.ctl[data-k="keypad"]`)), chromedp.WaitVisible(chromedp.CSS(".dtmf .key")))
	do(t, ctx, chromedp.Click(chromedp.CSS(`.dtmf .key[data-key="5"]`)), chromedp.Click(chromedp.CSS(`.dtmf .key[data-key="#"]`)))
	waitFor(t, "dtmf", func() bool { _, _, d := f.phone.snapshot(); return strings.Join(d, "") == "5#" })
	if got := text(t, ctx, ".dtmf-digits"); got != "5#" {
		t.Errorf("dtmf shown %q", got)
	}
	do(t, ctx, chromedp.Click(chromedp.CSS(".btn-hangup")), chromedp.WaitVisible(chromedp.CSS(".ended .call-status")))
	if got := text(t, ctx, ".ended .call-status"); !strings.HasPrefix(got, "Call ended") {
		t.Errorf("ended card %q", got)
	}
	_, hist, _ := f.phone.snapshot()
	if len(hist) != 1 || hist[0].Disposition != "answered" {
		t.Errorf("history %+v", hist)
	}
	// The summary goes away by itself and the dialpad is back.
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(".dialpad .dial-input")))
}

func TestWidgetIncomingAnswerAndCallLog(t *testing.T) {
	f := browserFixture(t)
	ctx := tab(t)
	do(t, ctx, chromedp.Navigate(f.base+"/"), chromedp.WaitVisible(chromedp.CSS(".dialpad")))
	waitJS(t, ctx, `document.querySelector('.reg-text').textContent === 'Online'`)
	in := f.phone.ring("+15550102030", "Ada Lovelace")
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(".incoming-card .btn-answer")))
	if got := text(t, ctx, ".incoming-name"); got != "Ada Lovelace" {
		t.Errorf("incoming name %q", got)
	}
	// The Answer button has the focus: Enter answers from the keyboard.
	waitJS(t, ctx, `document.activeElement && document.activeElement.classList.contains('btn-answer')`)
	do(t, ctx, chromedp.KeyEvent("\r"), chromedp.WaitVisible(chromedp.CSS(".call-card.active")))
	do(t, ctx, chromedp.WaitNotPresent(chromedp.CSS(".incoming-card")))
	// A second call rings and is declined.
	f.phone.ring("1004", "Jamie Chen")
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(".incoming-card .btn-decline")))
	if got := text(t, ctx, ".incoming-label"); !strings.EqualFold(got, "Call waiting") {
		t.Errorf("waiting label %q", got)
	}
	do(t, ctx, chromedp.Click(chromedp.CSS(".incoming-card .btn-decline")), chromedp.WaitNotPresent(chromedp.CSS(".incoming-card")))
	do(t, ctx, chromedp.Click(chromedp.CSS(".btn-hangup")))
	waitFor(t, "both calls in history", func() bool { _, h, _ := f.phone.snapshot(); return len(h) == 2 })
	_ = in
	// The log shows both; search narrows it; double-click calls back.
	do(t, ctx, chromedp.Click(chromedp.CSS(`.nav-item[data-v="history"]`)))
	waitJS(t, ctx, `document.querySelectorAll('.log-row').length === 2`)
	do(t, ctx, chromedp.SendKeys(chromedp.CSS(".search-input"), "ada"))
	waitJS(t, ctx, `document.querySelectorAll('.log-row').length === 1 && document.querySelector('.log-title').textContent === 'Ada Lovelace'`)
	do(t, ctx, chromedp.DoubleClick(chromedp.CSS(".log-row")))
	waitFor(t, "call back", func() bool { _, ok := f.phone.callByNumber("+15550102030"); return ok })
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(".callscreen .call-name")))
}

// A call event that arrives while the agent holds a call control down (the
// caller's name from Dynamics, a remote hold) does not swallow the click:
// the call screen is redrawn once the button is released.
func TestWidgetClickSurvivesCallUpdate(t *testing.T) {
	f := browserFixture(t)
	c := activeCall("a1", "+15550102030", "", 20*time.Second)
	f.phone.put(c)
	ctx := tab(t)
	do(t, ctx, chromedp.Navigate(f.base+"/"), chromedp.WaitVisible(chromedp.CSS(`.ctl[data-k="pause"]`)))
	xy, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`(() => {
		const r = document.querySelector('.ctl[data-k="pause"]').getBoundingClientRect();
		return [r.x + r.width / 2, r.y + r.height / 2];
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	do(t, ctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMousePressed, xy[0], xy[1], chromedp.ButtonLeft, chromedp.ClickCount(1)))
	c.Name = "Ada Lovelace"
	f.phone.put(c)
	time.Sleep(300 * time.Millisecond) // the event reaches the widget meanwhile
	do(t, ctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseReleased, xy[0], xy[1], chromedp.ButtonLeft, chromedp.ClickCount(1)))
	waitFor(t, "the call held by the click", func() bool {
		f.phone.mu.Lock()
		defer f.phone.mu.Unlock()
		return len(f.phone.calls) == 1 && f.phone.calls[0].State == app.CallHeld
	})
	waitJS(t, ctx, `document.querySelector('.call-name').textContent === 'Ada Lovelace' && document.querySelector('.ctl[data-k="pause"]').getAttribute('aria-pressed') === 'true'`)
}

// G3: a widget reload mid-call shows the call again, and the widget finds
// the app again by itself after a restart (with a new session token).
func TestWidgetReloadAndReconnect(t *testing.T) {
	f := browserFixture(t)
	c, _ := f.phone.Dial(context.Background(), "1002")
	f.phone.answerRemote(c.ID)
	ctx := tab(t)
	do(t, ctx, chromedp.Navigate(f.base+"/"), chromedp.WaitVisible(chromedp.CSS(".call-card.active")))
	do(t, ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(".call-card.active")))
	if got := text(t, ctx, ".callscreen .call-name"); got != "1002" {
		t.Errorf("after reload: %q", got)
	}
	// Restart the app on the same port: new token, same phone.
	oldToken := f.s.token
	f.s.Close()
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(".banner.warn")))
	s2, err := New(Options{Addr: fmt.Sprintf("127.0.0.1:%d", f.port), DataDir: f.dataDir, TokenFile: f.tokenFile,
		CRMOrigins: []string{testCRM}, Phone: f.phone, Version: "restarted"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s2.Close() })
	if s2.token == oldToken {
		t.Fatal("the token did not change")
	}
	f.phone.Hold(context.Background(), c.ID)
	do(t, ctx, chromedp.WaitNotPresent(chromedp.CSS(".banner.warn")), chromedp.WaitVisible(chromedp.CSS(".call-card.held")))
	waitFor(t, "widget on the new server", func() bool { return len(s2.Widgets()) == 1 })
}

func TestWidgetKeyboardAndPaste(t *testing.T) {
	f := browserFixture(t)
	ctx := tab(t)
	do(t, ctx, chromedp.Navigate(f.base+"/"), chromedp.WaitVisible(chromedp.CSS(".dialpad")))
	waitJS(t, ctx, `document.querySelector('.reg-text').textContent === 'Online'`)
	// Paste a formatted number with full-width digits: it is normalised.
	do(t, ctx, chromedp.Evaluate[chromedp.Void](`(() => {
		const input = document.querySelector('.dial-input');
		input.focus();
		const dt = new DataTransfer();
		dt.setData('text/plain', '+86 １３８-0013 8000');
		input.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
	})()`))
	if v, _ := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(".dial-input"))); v != "+8613800138000" {
		t.Errorf("pasted %q", v)
	}
	// Typing anywhere goes to the dial field; Backspace edits, Enter calls.
	do(t, ctx, chromedp.Evaluate[chromedp.Void](`document.querySelector('.dial-input').value = ''; document.querySelector('.dial-input').dispatchEvent(new Event('input')); document.activeElement.blur()`))
	do(t, ctx, chromedp.KeyEvent("10029"), chromedp.KeyEvent("\b"), chromedp.KeyEvent("\r"))
	waitFor(t, "keyboard call", func() bool { _, ok := f.phone.callByNumber("1002"); return ok })
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(".callscreen .call-name")))
	// Every control on the call screen is a labelled button.
	missing, err := chromedp.Run(ctx, chromedp.Evaluate[int](`[...document.querySelectorAll('button')].filter(b => b.offsetParent && !(b.getAttribute('aria-label') || b.textContent.trim())).length`))
	if err != nil || missing != 0 {
		t.Errorf("%d visible buttons without a label (%v)", missing, err)
	}
}

func TestWidgetSettingsAndLanguage(t *testing.T) {
	f := browserFixture(t)
	ctx := tab(t)
	do(t, ctx, chromedp.Navigate(f.base+"/"), chromedp.WaitVisible(chromedp.CSS(".dialpad")),
		chromedp.Click(chromedp.CSS(`.nav-item[data-v="settings"]`)), chromedp.WaitVisible(chromedp.CSS("#dev-mic")))
	// The live mic level moves.
	waitJS(t, ctx, `Number(document.querySelector('.meter').getAttribute('aria-valuenow')) > 0`)
	do(t, ctx, chromedp.SetValue(chromedp.CSS("#dev-mic"), "Jabra Evolve2 65"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#dev-mic').dispatchEvent(new Event('change'))`))
	waitFor(t, "mic saved", func() bool { s, _ := f.phone.Settings(context.Background()); return s.Mic == "Jabra Evolve2 65" })
	do(t, ctx, chromedp.Click(chromedp.CSS(".switch-row")))
	waitFor(t, "auto-answer saved", func() bool { s, _ := f.phone.Settings(context.Background()); return s.AutoAnswer })
	do(t, ctx, chromedp.Click(chromedp.CSS(`#dev-ringer ~ button, .field:nth-of-type(3) .btn`)))
	waitFor(t, "test tone", func() bool { f.phone.mu.Lock(); defer f.phone.mu.Unlock(); return len(f.phone.tones) == 1 })
	// Switch to Chinese: the whole widget follows, and the choice is saved.
	do(t, ctx, chromedp.Click(chromedp.CSS(`.seg[lang="zh-CN"]`)))
	waitJS(t, ctx, `document.documentElement.lang === 'zh-CN' && document.querySelector('.view-settings .panel-title').textContent === '设置'`)
	waitFor(t, "language saved", func() bool { s, _ := f.phone.Settings(context.Background()); return s.Language == "zh-CN" })
	// Leaving settings stops the meter.
	do(t, ctx, chromedp.Click(chromedp.CSS(`.nav-item[data-v="history"]`)))
	waitJS(t, ctx, `document.querySelector('.view-history .panel-title').textContent === '通话记录'`)
	// A fresh page comes up in Chinese straight from the server.
	do(t, ctx, chromedp.Navigate(f.base+"/"))
	waitJS(t, ctx, `document.documentElement.lang === 'zh-CN' && !!document.querySelector('.nav-label') && document.querySelector('.nav-label').textContent === '电话'`)
}
