package localhost

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"switchboard/app"
)

// put inserts or replaces a live call and publishes it.
func (p *testPhone) put(c app.Call) {
	p.mu.Lock()
	if i := slices.IndexFunc(p.calls, func(x app.Call) bool { return x.ID == c.ID }); i >= 0 {
		p.calls[i] = c
	} else {
		p.calls = append(p.calls, c)
	}
	p.mu.Unlock()
	p.publish(c)
}

// seedHistory fills the call log with a believable day or three.
func (p *testPhone) seedHistory() {
	now := time.Now()
	day := func(d int, h, m int) time.Time {
		y, mo, dd := now.AddDate(0, 0, -d).Date()
		return time.Date(y, mo, dd, h, m, 0, 0, time.Local)
	}
	today := func(back time.Duration) time.Time { return now.Add(-back) }
	recs := []HistoryRecord{
		{Direction: "outbound", Number: "+442071838750", Name: "Northwind Traders", Disposition: "answered", Start: day(3, 9, 12), DurationSec: 1245},
		{Direction: "inbound", Number: "+8613800138000", Name: "王小明", Disposition: "answered", Start: day(2, 10, 5), DurationSec: 312},
		{Direction: "inbound", Number: "+14155550134", Disposition: "missed", Start: day(2, 16, 41)},
		{Direction: "outbound", Number: "1002", Name: "Reception", Disposition: "no-answer", Start: day(1, 8, 55)},
		{Direction: "outbound", Number: "+4930901820", Name: "Contoso GmbH", Disposition: "answered", Start: day(1, 11, 20), DurationSec: 642},
		{Direction: "inbound", Number: "+8621635555555", Name: "李华", Disposition: "answered", Start: day(1, 14, 2), DurationSec: 95},
		{Direction: "inbound", Number: "+15550102030", Name: "Ada Lovelace", Disposition: "missed", Start: today(3 * time.Hour)},
		{Direction: "outbound", Number: "+15550102030", Name: "Ada Lovelace", Disposition: "answered", Start: today(2*time.Hour + 50*time.Minute), DurationSec: 421},
		{Direction: "outbound", Number: "+12065550199", Name: "Fabrikam Inc.", Disposition: "busy", Start: today(80 * time.Minute)},
		{Direction: "inbound", Number: "1004", Name: "Jamie Chen", Disposition: "answered", Start: today(35 * time.Minute), DurationSec: 63},
		{Direction: "inbound", Number: "+8613912345678", Name: "张伟", Disposition: "missed", Start: today(12 * time.Minute)},
	}
	for i := range recs {
		recs[i].ID = fmt.Sprintf("h%d", i)
		if recs[i].DurationSec > 0 {
			recs[i].Answer = recs[i].Start.Add(8 * time.Second)
			recs[i].End = recs[i].Answer.Add(time.Duration(recs[i].DurationSec) * time.Second)
		}
	}
	p.addHistory(recs...)
}

type scene struct {
	name  string
	path  string           // default "/"
	setup func(f *fixture) // phone state before the page loads
	act   func(t *testing.T, f *fixture, ctx context.Context)
	wait  string // selector that must be visible
	zh    bool
	dark  bool
	crm   func(c *fakeDynamics) // Dynamics state before the page loads
}

func activeCall(id, number, name string, talk time.Duration) app.Call {
	return app.Call{ID: id, Direction: app.Outbound, Number: number, Name: name, State: app.CallActive,
		Started: time.Now().Add(-talk - 9*time.Second), Answered: time.Now().Add(-talk), Codec: "opus",
		Quality: &app.Quality{LossPct: 0.2, JitterMs: 6, RTTMs: 38, MOS: 4.3}}
}

func scenes() []scene {
	click := func(sel string) func(t *testing.T, f *fixture, ctx context.Context) {
		return func(t *testing.T, f *fixture, ctx context.Context) {
			do(t, ctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
		}
	}
	incoming := func(f *fixture) {
		f.phone.put(app.Call{ID: "in1", Direction: app.Inbound, Number: "+15550102030", Name: "Ada Lovelace", State: app.CallIncoming, Started: time.Now()})
	}
	incomingZh := func(f *fixture) {
		f.phone.put(app.Call{ID: "in1", Direction: app.Inbound, Number: "+8613800138000", Name: "王小明", State: app.CallIncoming, Started: time.Now()})
	}
	active := func(f *fixture) {
		f.phone.put(activeCall("a1", "+15550102030", "Ada Lovelace", 2*time.Minute+13*time.Second))
	}
	base := []scene{
		{name: "dialpad", wait: ".dialpad .keypad"},
		{name: "dialpad-number", wait: ".dialpad .keypad", act: func(t *testing.T, f *fixture, ctx context.Context) {
			do(t, ctx, chromedp.SendKeys(chromedp.CSS(".dial-input"), "+1 (555) 010-20"))
		}},
		{name: "incoming", setup: incoming, wait: ".incoming-card .btn-answer"},
		{name: "calling", setup: func(f *fixture) {
			f.phone.put(app.Call{ID: "o1", Direction: app.Outbound, Number: "+442071838750", Name: "Northwind Traders", State: app.CallRinging, Started: time.Now()})
		}, wait: ".call-card.ringing"},
		{name: "active", setup: active, wait: ".call-card.active"},
		{name: "active-muted-keypad", setup: func(f *fixture) {
			c := activeCall("a1", "+15550102030", "Ada Lovelace", 47*time.Second)
			c.Muted = true
			f.phone.put(c)
		}, act: click(`.ctl[data-k="keypad"]`), wait: ".dtmf .keypad"},
		{name: "two-lines", setup: func(f *fixture) {
			h := activeCall("a1", "+442071838750", "Northwind Traders", 5*time.Minute+2*time.Second)
			h.State = app.CallHeld
			f.phone.put(h)
			f.phone.put(activeCall("a2", "1004", "Jamie Chen", 38*time.Second))
		}, wait: ".lines .line.selected"},
		{name: "call-waiting", setup: func(f *fixture) {
			active(f)
			f.phone.put(app.Call{ID: "in2", Direction: app.Inbound, Number: "+8613912345678", Name: "张伟", State: app.CallIncoming, Waiting: true, Started: time.Now()})
		}, wait: ".incoming-card .btn-answer"},
		{name: "ended", setup: active, act: click(".btn-hangup"), wait: ".ended .ended-actions"},
		{name: "call-log", act: click(`.nav-item[data-v="history"]`), wait: ".log-row"},
		{name: "call-log-missed", act: func(t *testing.T, f *fixture, ctx context.Context) {
			do(t, ctx, chromedp.Click(chromedp.CSS(`.nav-item[data-v="history"]`)), chromedp.WaitVisible(chromedp.CSS(".log-row")),
				chromedp.Click(chromedp.CSS(`.chip[data-f="missed"]`)))
			time.Sleep(300 * time.Millisecond)
		}, wait: ".log-row.missed"},
		{name: "settings", setup: func(f *fixture) {
			f.phone.settings = Settings{Mic: "Jabra Evolve2 65", Speaker: "Jabra Evolve2 65", Ringer: "Built-in Speakers"}
		}, act: func(t *testing.T, f *fixture, ctx context.Context) {
			do(t, ctx, chromedp.Click(chromedp.CSS(`.nav-item[data-v="settings"]`)), chromedp.WaitVisible(chromedp.CSS(".group")))
			waitJS(t, ctx, `Number(document.querySelector('.meter').getAttribute('aria-valuenow')) > 40`)
		}, wait: ".group"},
		{name: "reconnecting", act: func(t *testing.T, f *fixture, ctx context.Context) {
			f.s.Close()
		}, wait: ".banner.warn"},
		{name: "registration-failed", setup: func(f *fixture) {
			f.phone.reg = app.Registration{State: app.RegFailed, Account: "1001@pbx.example.com", Error: "403 Forbidden: the PBX refused the password for 1001"}
		}, wait: ".banner.error"},
	}
	// Dynamics 365 screens.
	zhang := crmRec("contact", "5f0a6c1e-0b7e-5d2a-9c1e-1a2b3c4d5e6f", "Zhang San")
	crmIncoming := func(f *fixture) {
		f.phone.put(app.Call{ID: "in1", Direction: app.Inbound, Number: "+8613812345678", State: app.CallIncoming, Started: time.Now()})
	}
	crmActive := func(f *fixture) {
		c := activeCall("a1", "+8613812345678", "", 1*time.Minute+4*time.Second)
		c.Direction = app.Inbound
		f.phone.put(c)
	}
	scrollTo := func(nav, sel string) func(t *testing.T, f *fixture, ctx context.Context) {
		return func(t *testing.T, f *fixture, ctx context.Context) {
			do(t, ctx, chromedp.Click(chromedp.CSS(nav)), chromedp.WaitVisible(chromedp.CSS(sel)),
				chromedp.Evaluate[chromedp.Void](`document.querySelector('`+sel+`').scrollIntoView({block: 'start'})`))
		}
	}
	crmScenes := []scene{
		{name: "crm-incoming", setup: crmIncoming, crm: func(c *fakeDynamics) {
			c.put(crmInfo("in1", "+8613812345678", []any{zhang}, map[string]any{"popped": "open"}))
		}, wait: ".incoming-card .crm-rec-name"},
		{name: "crm-searching", setup: crmIncoming, crm: func(c *fakeDynamics) {
			c.put(crmInfo("in1", "+8613812345678", []any{}, map[string]any{"matched": false, "searching": true}))
		}, wait: ".incoming-card .crm-state"},
		{name: "crm-several", setup: crmActive, crm: func(c *fakeDynamics) {
			c.put(crmInfo("a1", "+8613900001111", []any{
				crmRec("contact", "c1", "Wang Fang"), crmRec("contact", "c2", "Chen Jie"), crmRec("lead", "l1", "Zhao Min"),
			}, map[string]any{"chosen": crmRec("lead", "l1", "Zhao Min"), "popped": "search"}))
		}, wait: ".crm-pick"},
		{name: "crm-unknown", setup: crmActive, crm: func(c *fakeDynamics) {
			c.put(crmInfo("a1", "+8615500001234", []any{}, map[string]any{"offerAdd": true, "popped": "offer-add"}))
		}, wait: ".crm-add"},
		{name: "crm-activity", setup: crmActive, crm: func(c *fakeDynamics) {
			c.pending = 2
			c.put(crmInfo("a1", "+8613812345678", []any{zhang}, map[string]any{"showActivityPage": true,
				"activity": map[string]any{"id": "pc1", "subject": "Call from Zhang San", "description": "Wants 40 headsets for the new call centre; send a quote by Friday.",
					"regarding": crmRec("opportunity", "o1", "PBX upgrade 2025"), "party": zhang, "queued": true}}))
		}, wait: ".activity #act-desc"},
		{name: "crm-settings", act: scrollTo(`.nav-item[data-v="settings"]`, ".crm-settings"), wait: ".crm-settings"},
		{name: "crm-call-log", crm: func(c *fakeDynamics) {
			c.put(crmInfo("h10", "+8613912345678", []any{}, map[string]any{"offerAdd": true}))
		}, act: func(t *testing.T, f *fixture, ctx context.Context) {
			do(t, ctx, chromedp.Click(chromedp.CSS(`.nav-item[data-v="history"]`)), chromedp.WaitVisible(chromedp.CSS(".log-row .log-crm")),
				chromedp.Click(chromedp.CSS(".log-row .log-crm")))
		}, wait: ".log-crm-detail .crm-add"},
	}
	base = append(base, crmScenes...)
	var out []scene
	out = append(out, base...)
	for _, s := range []scene{
		{name: "zh-dialpad", wait: ".dialpad .keypad"},
		{name: "zh-incoming", setup: incomingZh, wait: ".incoming-card .btn-answer"},
		{name: "zh-active", setup: func(f *fixture) { f.phone.put(activeCall("a1", "+8613800138000", "王小明", 75*time.Second)) }, wait: ".call-card.active"},
		{name: "zh-call-log", act: click(`.nav-item[data-v="history"]`), wait: ".log-row"},
		{name: "zh-settings", act: click(`.nav-item[data-v="settings"]`), wait: ".group"},
		crmScenes[0], crmScenes[2], crmScenes[3], crmScenes[4], crmScenes[5], crmScenes[6],
	} {
		if !s.zh && strings.HasPrefix(s.name, "crm-") {
			s.name = "zh-" + s.name
		}
		s.zh = true
		out = append(out, s)
	}
	for _, s := range []scene{
		{name: "dark-active", setup: active, wait: ".call-card.active"},
		{name: "dark-call-log", act: click(`.nav-item[data-v="history"]`), wait: ".log-row"},
		{name: "dark-incoming", setup: incoming, wait: ".incoming-card .btn-answer"},
		{name: "dark-crm-activity", setup: crmScenes[4].setup, crm: crmScenes[4].crm, wait: crmScenes[4].wait},
		{name: "dark-crm-several", setup: crmScenes[2].setup, crm: crmScenes[2].crm, wait: crmScenes[2].wait},
	} {
		s.dark = true
		out = append(out, s)
	}
	out = append(out,
		scene{name: "bad-base", path: "/dyncrm?base=" + url.QueryEscape("https://evil.example"), wait: ".notice"},
		scene{name: "sso-login", path: "/dyncrm/login", wait: ".notice"},
	)
	return out
}

// TestScreenshots writes a PNG of every widget screen at 360×720 (the
// Dynamics side panel) and 1280×800 (a browser tab) into
// $SWITCHBOARD_SCREENSHOTS. Look at them before calling a change done.
func TestScreenshots(t *testing.T) {
	dir := os.Getenv("SWITCHBOARD_SCREENSHOTS")
	if dir == "" {
		t.Skip("set SWITCHBOARD_SCREENSHOTS=dir to write screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, size := range [][2]int{{360, 720}, {1280, 800}} {
		for _, sc := range scenes() {
			t.Run(fmt.Sprintf("%s-%dx%d", sc.name, size[0], size[1]), func(t *testing.T) {
				dyn := newFakeDynamics()
				dyn.settings.DefaultCountry = "CN"
				f := browserFixture(t, func(o *Options) { o.CRM = dyn })
				f.phone.seedHistory()
				if sc.crm != nil {
					sc.crm(dyn)
				}
				if sc.zh {
					f.phone.settings.Language = "zh-CN"
				}
				if sc.setup != nil {
					sc.setup(f)
				}
				ctx := tab(t)
				path := sc.path
				if path == "" {
					path = "/"
				}
				if sc.dark {
					if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
						Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}},
					}); err != nil {
						t.Fatal(err)
					}
				}
				do(t, ctx, chromedp.EmulateViewport(int64(size[0]), int64(size[1])),
					chromedp.Navigate(f.base+path), chromedp.WaitVisible(chromedp.CSS("body")))
				if sc.path == "" {
					waitJS(t, ctx, `!!document.querySelector('.reg-text') && document.querySelector('.reg-text').textContent !== ''`)
				}
				if sc.act != nil {
					sc.act(t, f, ctx)
				}
				do(t, ctx, chromedp.WaitVisible(chromedp.CSS(sc.wait)))
				time.Sleep(450 * time.Millisecond) // let entrance animations finish
				png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
				if err != nil {
					t.Fatal(err)
				}
				name := filepath.Join(dir, fmt.Sprintf("%s-%dx%d.png", sc.name, size[0], size[1]))
				if err := os.WriteFile(name, png, 0o644); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}
