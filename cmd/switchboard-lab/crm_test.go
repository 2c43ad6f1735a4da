package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"switchboard/app"
	"switchboard/crm"
	"switchboard/crm/cifhost"
	"switchboard/crm/crmtest"
	"switchboard/internal/lab"
	"switchboard/localhost"
	"switchboard/localhost/browsertest"
)

// The Dynamics 365 integration end to end: the real switchboard binary
// registered to the lab PBX, baresip bots calling from (and answering at)
// external numbers, the Dynamics host double framing the real widget in
// headless Chromium, and its in-memory Dataverse holding the sample
// records (numbers stored the ways people type them).

// External numbers the bots call from, as Kamailio users.
const (
	numZhang   = "13812345678" // contact Zhang San: "+86 138-1234-5678" and "13812345678"
	numLi      = "18600003333" // contact Li Lei: "(186) 0000 3333"
	numSeveral = "13900001111" // contacts Wang Fang, Chen Jie and lead Zhao Min, each typed differently
	numGlobex  = "02079460958" // account Globex UK "+44 20 7946 0958": only the last 8 digits agree
	numNew1    = "15500001234" // in nobody's record
	numNew2    = "15500005678"
	numNew3    = "15500009999"
)

var extNumbers = []string{numZhang, numLi, numSeveral, numGlobex, numNew1, numNew2, numNew3}

const crmHost = "crm.test"

// crmRig is the app, the lab and the Dynamics host double in Chromium.
type crmRig struct {
	t    testing.TB
	k    *lab.Kamailio
	a    *labApp
	host *cifhost.Host
	dv   *cifhost.Dataverse
	b    *browsertest.Browser
	cli  *localhost.Client

	mu     sync.Mutex
	bots   map[string]*lab.Bot
	frames map[string]bool // widget iframes already attached
}

// newCRMRig starts everything. preset edits the config file the app
// starts with (the administrator's [crm] presets).
func newCRMRig(t testing.TB, preset func(*app.Config)) *crmRig {
	return newCRMRigLog(t, preset, nil)
}

// newCRMRigLog also hands every app log line to onLine.
func newCRMRigLog(t testing.TB, preset func(*app.Config), onLine func(string)) *crmRig {
	t.Helper()
	if _, err := browsertest.ChromiumPath(); err != nil {
		t.Fatalf("these tests need Chromium (make deps installs it): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	users := lab.DefaultUsers()
	for _, n := range extNumbers {
		users[n] = "pw" + n
	}
	k, err := lab.StartKamailio(ctx, lab.KamailioOptions{Users: users, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })

	dyn := crmtest.StartHost(t, crmHost)
	host := dyn.Host

	// The app's log (debug level) is kept and shown when a test fails.
	var logMu sync.Mutex
	var logTail []string
	keep := func(l string) {
		logMu.Lock()
		logTail = append(logTail, l)
		if len(logTail) > 400 {
			logTail = logTail[len(logTail)-300:]
		}
		logMu.Unlock()
		if onLine != nil {
			onLine(l)
		}
	}
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		logMu.Lock()
		defer logMu.Unlock()
		t.Logf("the app's last %d log lines:\n%s", len(logTail), strings.Join(logTail, "\n"))
	})
	a, err := startApp(ctx, labAppOptions{bin: appBin, k: k, log: quiet(), codecs: []string{"pcmu"}, crmURL: "https://" + crmHost, onLine: keep, verbose: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.stop)
	// The administrator's presets: written to the config file, read at
	// start.
	a.terminate()
	cfg, err := app.LoadConfig(a.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg.CRM.DefaultCountry = "CN"
	if preset != nil {
		preset(&cfg)
	}
	if err := app.SaveConfig(a.cfgPath, cfg); err != nil {
		t.Fatal(err)
	}
	if err := a.launch(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.waitRegistered(ctx); err != nil {
		t.Fatal(err)
	}
	host.SetWidgetURL(fmt.Sprintf("https://localhost:%d/dyncrm?base={base}", a.port))

	b, err := browsertest.Start(context.Background(), browsertest.Options{
		CACert: localhost.CACertPath(a.dataDir), Width: 1280, Height: 860, Logf: t.Logf, AllowLocalNetwork: true,
		Flags: dyn.BrowserFlags(), // the real CIF library posts to the org's default port
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	cli, err := localhost.NewClient(localhost.ClientOptions{
		TokenFile: filepath.Join(a.dir, "config", "switchboard", "api-token.json"), DataDir: a.dataDir,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cli.Close)
	return &crmRig{t: t, k: k, a: a, host: host, dv: host.Dataverse(), b: b, cli: cli, bots: map[string]*lab.Bot{}, frames: map[string]bool{}}
}

// bot is the phone at an external number (started once, answering
// automatically when called).
func (r *crmRig) bot(number string) *lab.Bot {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if b, ok := r.bots[number]; ok {
		return b
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, err := lab.StartBot(ctx, lab.BotOptions{Kamailio: r.k, Extension: number, AnswerMode: "auto", Logger: quiet()})
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { b.Close() })
	r.bots[number] = b
	return b
}

// crmTab is one Dynamics tab: the host's page and the widget framed in it.
type crmTab struct {
	page, widget context.Context
	close        func()
}

// tab opens the Dynamics page and waits until its panel runs CIF calls
// for the app.
func (r *crmRig) tab() *crmTab {
	r.t.Helper()
	before := r.status().CRM.Tabs
	ctx, cancel := r.b.Tab(nil)
	ctx, cancelT := context.WithTimeout(ctx, 3*time.Minute)
	closeTab := func() { cancelT(); cancel() }
	r.t.Cleanup(closeTab)
	if err := chromedp.Do(ctx, chromedp.Navigate(r.host.URL()+"/main.aspx"), chromedp.WaitReady(chromedp.CSS(`body[data-ready="1"]`))); err != nil {
		r.t.Fatal(err)
	}
	r.waitFor("the Dynamics panel to be ready", func() bool { return r.status().CRM.Tabs > before })
	return &crmTab{page: ctx, widget: r.frame(ctx), close: closeTab}
}

// frame attaches to the newest widget iframe of a tab.
func (r *crmRig) frame(ctx context.Context) context.Context {
	r.t.Helper()
	var id string
	r.waitFor("the widget iframe", func() bool {
		infos, err := chromedp.Targets(ctx)
		if err != nil {
			return false
		}
		for _, in := range infos {
			if in.Type == "iframe" && strings.Contains(in.URL, "/dyncrm?") && !r.frames[string(in.TargetID)] {
				id = string(in.TargetID)
			}
		}
		return id != ""
	})
	r.mu.Lock()
	r.frames[id] = true
	r.mu.Unlock()
	fctx, cancel := chromedp.NewContext(ctx, chromedp.WithTargetID(target.ID(id)))
	r.t.Cleanup(cancel)
	if err := chromedp.Do(fctx, chromedp.WaitReady(chromedp.CSS(".nav-item"))); err != nil {
		r.t.Fatal(err)
	}
	return fctx
}

func (r *crmRig) status() localhost.Status {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := r.cli.Status(ctx)
	if err != nil {
		r.t.Fatal(err)
	}
	if st.CRM == nil {
		r.t.Fatal("the app reports no Dynamics integration")
	}
	return st
}

// set changes CRM settings as the agent does (the local API).
func (r *crmRig) set(patch map[string]any) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := r.cli.UpdateCRMSettings(ctx, patch); err != nil {
		r.t.Fatalf("settings %v: %v", patch, err)
	}
}

// waitFor polls cond (every 50 ms, up to 30 s).
func (r *crmRig) waitFor(what string, cond func() bool) {
	r.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			r.t.Logf("pending writes %d; phonecalls %v; notes %d", r.pending(), r.dv.Records("phonecall"), len(r.dv.Records("annotation")))
			r.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (r *crmRig) js(ctx context.Context, expr string) {
	r.t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		r.t.Fatalf("waiting for %s: %v", expr, err)
	}
}

func (r *crmRig) do(ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	r.t.Helper()
	if err := browsertest.Do(ctx, steps...); err != nil {
		r.t.Fatal(err)
	}
}

// liveCall is the app's live call with number, once it exists.
func (r *crmRig) liveCall(number string) app.Call {
	r.t.Helper()
	var c app.Call
	r.waitFor("a call with "+number, func() bool {
		for _, x := range r.status().Calls {
			if x.Number == number {
				c = x
				return true
			}
		}
		return false
	})
	return c
}

func (r *crmRig) noCalls() {
	r.t.Helper()
	r.waitFor("no live call", func() bool { return len(r.status().Calls) == 0 })
}

// info is a call's CRM state (ok false while the app has not seen the
// call yet).
func (r *crmRig) info(callID string) (crm.CallInfo, bool) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	raw, err := r.cli.CRMCall(ctx, callID)
	var re *localhost.ResponseError
	if errors.As(err, &re) && re.Status == http.StatusNotFound {
		return crm.CallInfo{}, false
	}
	if err != nil {
		r.t.Fatal(err)
	}
	var ci crm.CallInfo
	if err := json.Unmarshal(raw, &ci); err != nil {
		r.t.Fatal(err)
	}
	return ci, true
}

func (r *crmRig) waitInfo(callID, what string, cond func(crm.CallInfo) bool) crm.CallInfo {
	r.t.Helper()
	var ci crm.CallInfo
	r.waitFor(what, func() bool {
		var ok bool
		ci, ok = r.info(callID)
		return ok && cond(ci)
	})
	return ci
}

// call has the bot at number call the agent (1001) and waits for it to
// ring in the app.
func (r *crmRig) call(number string) app.Call {
	r.t.Helper()
	b := r.bot(number)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := b.Dial(ctx, r.k.AOR("1001")); err != nil {
		r.t.Fatal(err)
	}
	return r.liveCall(number)
}

// hangupBot ends the bot's call and waits until the app has no call.
func (r *crmRig) hangupBot(number string) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := r.bot(number).Hangup(ctx); err != nil {
		r.t.Fatal(err)
	}
	r.noCalls()
}

// opened lists the records the screen pops opened so far (openForm).
func (r *crmRig) opened() []string {
	var out []string
	for _, e := range r.host.Requests("openform") {
		var d struct {
			Options string `json:"entityFormOptions"`
		}
		_ = json.Unmarshal(e.Data, &d)
		var o struct {
			Entity string `json:"entityName"`
			ID     string `json:"entityId"`
		}
		_ = json.Unmarshal([]byte(d.Options), &o)
		out = append(out, o.Entity+":"+o.ID)
	}
	return out
}

func (r *crmRig) waitOpened(n int, want string) {
	r.t.Helper()
	r.waitFor(fmt.Sprintf("screen pop %d (%s)", n, want), func() bool { return len(r.opened()) >= n })
	if got := r.opened()[n-1]; got != want {
		r.t.Fatalf("screen pop %d opened %s, want %s", n, got, want)
	}
}

// phonecalls are the phone call activities Dynamics holds for number.
func (r *crmRig) phonecalls(number string) []map[string]any {
	var out []map[string]any
	for _, pc := range r.dv.Records("phonecall") {
		if pc["phonenumber"] == number {
			out = append(out, pc)
		}
	}
	return out
}

func (r *crmRig) pending() int { return r.status().CRM.Pending }

func (r *crmRig) settled() {
	r.t.Helper()
	r.waitFor("every write in Dynamics", func() bool { return r.pending() == 0 })
}

func partyMasks(rec map[string]any) map[string]int64 {
	out := map[string]int64{}
	ps, _ := rec["phonecall_activity_parties"].([]map[string]any)
	for _, p := range ps {
		out[fmt.Sprint(p["_partyid_value@Microsoft.Dynamics.CRM.lookuplogicalname"])+":"+fmt.Sprint(p["_partyid_value"])] = p["participationtypemask"].(int64)
	}
	return out
}

func sampleRef(entity, key string) string { return entity + ":" + cifhost.SampleID(entity, key) }

// C1 and C3: numbers stored in several formats are found in both
// matching modes; the record pops when the phone rings, when the agent
// answers, or when the call ends, as set; several matches open the
// search and a picker; the panel expands on incoming calls (B4).
func TestCRMMatchingAndScreenPop(t *testing.T) {
	r := newCRMRig(t, func(c *app.Config) {
		c.CRM.ScreenPop = "ringing"
		c.CRM.ActivityPage = false // the call card stays in view
	})
	tab := r.tab()

	// Ringing: "13812345678" finds Zhang San stored as "+86 138-1234-5678"
	// and "13812345678" (one record, not two), before anyone answers.
	// The caller's name arriving from Dynamics updates the ringing card in
	// place: its Answer button is never replaced under the agent's click.
	r.js(tab.widget, `(() => {
		window.answerSwaps = 0;
		new MutationObserver((ms) => { for (const m of ms) for (const n of m.removedNodes) {
			if (n.nodeType === 1 && (n.matches('.btn-answer') || n.querySelector('.btn-answer'))) window.answerSwaps++;
		} }).observe(document.querySelector('.incoming-layer'), { childList: true, subtree: true });
		return true;
	})()`)
	c := r.call(numZhang)
	r.waitOpened(1, sampleRef("contact", "zhang"))
	if st := r.liveCall(numZhang); st.State != app.CallIncoming {
		t.Fatalf("popped in state %s, want incoming", st.State)
	}
	ci := r.waitInfo(c.ID, "the match", func(ci crm.CallInfo) bool { return ci.Matched })
	if len(ci.Matches) != 1 || ci.Number.E164 != "+8613812345678" {
		t.Fatalf("matches %+v (number %+v)", ci.Matches, ci.Number)
	}
	// The panel expanded (setMode 1) and the incoming card names the caller.
	r.waitFor("setMode(1)", func() bool {
		for _, e := range r.host.Requests("setmode") {
			if string(e.Data) == `{"value":1}` {
				return true
			}
		}
		return false
	})
	r.js(tab.widget, `[...document.querySelectorAll('.incoming-card .crm-rec-name')].some(e => e.textContent === 'Zhang San')`)
	r.js(tab.widget, `document.querySelector('.incoming-card .incoming-name').textContent === 'Zhang San'`)
	if swaps, err := chromedp.Run(tab.widget, chromedp.Evaluate[int](`window.answerSwaps`)); err != nil || swaps != 0 {
		t.Fatalf("the Answer button was rebuilt %d times while the call rang (%v)", swaps, err)
	}
	r.hangupBot(numZhang)

	// "(186) 0000 3333" is Li Lei.
	c = r.call(numLi)
	r.waitOpened(2, sampleRef("contact", "li"))
	r.hangupBot(numLi)

	// Three records share a number typed three ways: the search page
	// opens, and the call card offers a picker.
	c = r.call(numSeveral)
	ci = r.waitInfo(c.ID, "three matches", func(ci crm.CallInfo) bool { return ci.Matched })
	got := []string{}
	for _, m := range ci.Matches {
		got = append(got, m.Entity+":"+m.ID)
	}
	slices.Sort(got)
	want := []string{sampleRef("contact", "chen"), sampleRef("contact", "wang"), sampleRef("lead", "zhao")}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("matches %v, want %v", got, want)
	}
	r.waitFor("the search page", func() bool { return len(r.host.Requests("renderSearchPage")) == 1 })
	r.do(tab.widget, chromedp.Click(chromedp.CSS(".incoming-card .btn-answer"), chromedp.NodeVisible))
	r.do(tab.widget, chromedp.WaitVisible(chromedp.CSS(`.callscreen .crm-pick-row[data-id="`+cifhost.SampleID("lead", "zhao")+`"]`)))
	r.do(tab.widget, chromedp.Click(chromedp.CSS(`.callscreen .crm-pick-row[data-id="`+cifhost.SampleID("lead", "zhao")+`"]`)))
	r.waitInfo(c.ID, "the agent's pick", func(ci crm.CallInfo) bool {
		return ci.Chosen != nil && ci.Chosen.ID == cifhost.SampleID("lead", "zhao")
	})
	// "Open record" now opens the pick.
	r.js(tab.widget, `document.querySelector('.callscreen .crm-pick-row[aria-checked="true"]') !== null`)
	r.do(tab.widget, chromedp.Click(chromedp.CSS(".callscreen .crm-open"), chromedp.NodeVisible))
	r.waitOpened(3, sampleRef("lead", "zhao"))
	r.hangupBot(numSeveral)

	// Exact matching does not take the UK number dialled the Chinese way;
	// matching the last 8 digits does.
	c = r.call(numGlobex)
	ci = r.waitInfo(c.ID, "the search", func(ci crm.CallInfo) bool { return ci.Matched })
	if len(ci.Matches) != 0 || !ci.OfferAdd {
		t.Fatalf("exact matching found %+v (offer add %v)", ci.Matches, ci.OfferAdd)
	}
	r.js(tab.widget, `!!document.querySelector('.incoming-card .crm-box')`)
	r.hangupBot(numGlobex)
	// The agent switches the mode in the widget's settings (8 digits is
	// the default); it applies at once.
	r.do(tab.widget, chromedp.Click(chromedp.CSS(`.nav-item[data-v="settings"]`), chromedp.NodeVisible),
		chromedp.Click(chromedp.CSS(`.segmented[data-key="matchMode"] .seg[data-v="last_digits"]`), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.CSS("#crm-digits")))
	r.waitFor("the setting saved", func() bool {
		st, err := r.cli.CRMSettings(context.Background())
		return err == nil && st.MatchMode == "last_digits" && st.MatchDigits == 8
	})
	r.do(tab.widget, chromedp.Click(chromedp.CSS(`.nav-item[data-v="phone"]`), chromedp.NodeVisible))
	c = r.call(numGlobex)
	r.waitOpened(4, sampleRef("account", "globex"))
	r.hangupBot(numGlobex)
	r.set(map[string]any{"matchMode": "exact"})

	// Answered: nothing opens while it rings; answering opens it.
	r.set(map[string]any{"screenPop": "answered"})
	c = r.call(numLi)
	r.waitInfo(c.ID, "the search", func(ci crm.CallInfo) bool { return ci.Matched })
	r.js(tab.widget, `!!document.querySelector('.incoming-card .btn-answer')`)
	if n := len(r.opened()); n != 4 {
		t.Fatalf("popped while ringing with screen pop on answer (%d pops)", n)
	}
	r.do(tab.widget, chromedp.Click(chromedp.CSS(".incoming-card .btn-answer"), chromedp.NodeVisible))
	r.waitOpened(5, sampleRef("contact", "li"))
	r.hangupBot(numLi)

	// Ended: the record opens once the call is over.
	r.set(map[string]any{"screenPop": "ended"})
	c = r.call(numZhang)
	r.do(tab.widget, chromedp.Click(chromedp.CSS(".incoming-card .btn-answer"), chromedp.NodeVisible))
	r.do(tab.widget, chromedp.WaitVisible(chromedp.CSS(".call-card.active")))
	r.waitInfo(c.ID, "the search", func(ci crm.CallInfo) bool { return ci.Matched })
	if n := len(r.opened()); n != 5 {
		t.Fatalf("popped during the call with screen pop at the end (%d pops)", n)
	}
	r.hangupBot(numZhang)
	r.waitOpened(6, sampleRef("contact", "zhang"))

	// Manual: only the call card's button opens it.
	r.set(map[string]any{"screenPop": "manual"})
	c = r.call(numLi)
	r.waitInfo(c.ID, "the search", func(ci crm.CallInfo) bool { return ci.Matched })
	r.do(tab.widget, chromedp.Click(chromedp.CSS(".incoming-card .btn-answer"), chromedp.NodeVisible))
	r.do(tab.widget, chromedp.Click(chromedp.CSS(".callscreen .crm-open"), chromedp.NodeVisible))
	r.waitOpened(7, sampleRef("contact", "li"))
	r.hangupBot(numLi)
	if n := len(r.opened()); n != 7 {
		t.Fatalf("%d pops, want 7", n)
	}
}

// recordsWith lists the records of entity whose phone columns hold
// digits (the created ones store the E.164 form).
func (r *crmRig) recordsWith(entity, digits string) []map[string]any {
	var out []map[string]any
	for _, rec := range r.dv.Records(entity) {
		for _, col := range []string{"telephone1", "telephone2", "telephone3", "mobilephone"} {
			if s, _ := rec[col].(string); s != "" && strings.HasSuffix(strings.NewReplacer(" ", "", "-", "", "+", "").Replace(s), digits) {
				out = append(out, rec)
				break
			}
		}
	}
	return out
}

// C2 and C4: unknown numbers become a lead, an account or a contact as
// set, once per number; the activity page opens on answer, autosaves
// the agent's notes and the opportunity it is regarding, and the
// activity is completed with the right fields and parties when the page
// closes after the call; the page adds an unknown caller; manual mode
// writes on Save only.
func TestCRMContactsAndActivities(t *testing.T) {
	r := newCRMRig(t, func(c *app.Config) {
		c.CRM.ContactCreation = "auto"
		c.CRM.ContactCreateOn = []string{"inbound"}
		c.CRM.ContactCreateAs = "lead"
		c.CRM.ActivityPage = true
		c.CRM.ActivityAutosave = true
		c.CRM.ActivityAutoCreate = []string{"inbound"}
	})
	tab := r.tab()
	w := tab.widget
	agent := r.dv.UserID()

	// An unknown caller who is answered becomes a lead named after the
	// number; the activity page opens by itself.
	r.call(numNew1)
	r.do(w, chromedp.Click(chromedp.CSS(".incoming-card .btn-answer"), chromedp.NodeVisible))
	r.waitFor("the new lead", func() bool { return len(r.recordsWith("lead", numNew1)) == 1 })
	lead := r.recordsWith("lead", numNew1)[0]
	if lead["lastname"] != "Automatic New Contact +8615500001234" {
		t.Fatalf("new lead %v", lead)
	}
	leadID := lead["leadid"].(string)

	// The notes and the opportunity are saved while the agent works.
	r.do(w, chromedp.WaitVisible(chromedp.CSS(".activity #act-desc")))
	r.waitFor("the activity in Dynamics", func() bool { return len(r.phonecalls(numNew1)) == 1 })
	r.do(w, chromedp.SendKeys(chromedp.CSS("#act-desc"), "Wants 40 headsets"))
	r.waitFor("the autosaved notes", func() bool {
		pcs := r.phonecalls(numNew1)
		return len(pcs) == 1 && strings.HasPrefix(fmt.Sprint(pcs[0]["description"]), "Wants 40 headsets")
	})
	r.do(w, chromedp.SendKeys(chromedp.CSS("#act-regarding"), "pbx\r"))
	pbx := cifhost.SampleID("opportunity", "pbx")
	r.do(w, chromedp.Click(chromedp.CSS(".act-result"), chromedp.NodeVisible))
	r.waitFor("the regarding opportunity", func() bool {
		pcs := r.phonecalls(numNew1)
		return len(pcs) == 1 && pcs[0]["_regardingobjectid_value"] == pbx
	})
	r.js(w, `document.querySelector('.act-chip-text').textContent === 'PBX upgrade 2025'`)
	// The call ends; the page stays open (the agent may still write), so
	// the activity is not completed yet.
	r.hangupBot(numNew1)
	r.waitFor("the call's end in Dynamics", func() bool { return r.phonecalls(numNew1)[0]["actualend"] != nil })
	r.settled()
	if pc := r.phonecalls(numNew1)[0]; pc["statecode"] != int64(0) {
		t.Fatalf("after the call, page open: %v", pc)
	}
	r.do(w, chromedp.Click(chromedp.CSS(".act-save"), chromedp.NodeVisible))
	r.do(w, chromedp.WaitNotPresent(chromedp.CSS(".activity")))
	r.waitFor("the completed activity", func() bool { return r.phonecalls(numNew1)[0]["statecode"] == int64(1) })
	pc := r.phonecalls(numNew1)[0]
	if pc["statuscode"] != int64(4) || pc["directioncode"] != false || pc["_regardingobjectid_value"] != pbx ||
		pc["actualstart"] == nil || pc["actualdurationminutes"] == nil ||
		!strings.Contains(fmt.Sprint(pc["description"]), "Wants 40 headsets") || !strings.Contains(fmt.Sprint(pc["description"]), "MOS") {
		t.Errorf("completed activity: %v", pc)
	}
	if m := partyMasks(pc); m["lead:"+leadID] != 1 || m["systemuser:"+agent] != 2 || len(m) != 2 {
		t.Errorf("parties %v, want the lead as From and the agent as To", m)
	}

	// The same number again: it is that lead now, not a second one.
	c := r.call(numNew1)
	ci := r.waitInfo(c.ID, "the search", func(ci crm.CallInfo) bool { return ci.Matched })
	if len(ci.Matches) != 1 || ci.Matches[0].ID != leadID || ci.Created != nil {
		t.Fatalf("second call: %+v", ci)
	}
	r.hangupBot(numNew1)
	if n := len(r.recordsWith("lead", numNew1)); n != 1 {
		t.Fatalf("%d leads for one number", n)
	}

	// As an account, then as a contact; each once.
	r.set(map[string]any{"contactCreateAs": "account", "activityPage": false})
	r.call(numNew2)
	r.do(w, chromedp.Click(chromedp.CSS(".incoming-card .btn-answer"), chromedp.NodeVisible))
	r.waitFor("the new account", func() bool { return len(r.recordsWith("account", numNew2)) == 1 })
	r.hangupBot(numNew2)
	r.set(map[string]any{"contactCreateAs": "contact"})
	for range 2 {
		c = r.call(numNew3)
		r.waitInfo(c.ID, "the search", func(ci crm.CallInfo) bool { return ci.Matched })
		r.do(w, chromedp.Click(chromedp.CSS(".incoming-card .btn-answer"), chromedp.NodeVisible))
		r.waitFor("the new contact", func() bool { return len(r.recordsWith("contact", numNew3)) == 1 })
		r.hangupBot(numNew3)
	}
	r.settled()
	if n, m := len(r.recordsWith("contact", numNew3)), len(r.recordsWith("account", numNew2)); n != 1 || m != 1 {
		t.Fatalf("%d contacts and %d accounts, want one each", n, m)
	}

	// Manual creation from the activity page; manual saving.
	r.set(map[string]any{"contactCreation": "manual", "activityPage": true, "activityAutosave": false, "activityAutoCreate": []string{}})
	c = r.call(numGlobex)
	r.do(w, chromedp.Click(chromedp.CSS(".incoming-card .btn-answer"), chromedp.NodeVisible))
	r.do(w, chromedp.WaitVisible(chromedp.CSS(`.activity .crm-add-btn[data-entity="contact"]`)))
	r.do(w, chromedp.Click(chromedp.CSS(`.activity .crm-add-btn[data-entity="contact"]`)))
	r.waitFor("the added contact", func() bool { return len(r.recordsWith("contact", "2079460958")) == 1 })
	added := r.recordsWith("contact", "2079460958")[0]["contactid"].(string)
	r.do(w, chromedp.SendKeys(chromedp.CSS("#act-desc"), "Manual notes"))
	// The added record opens (the agent asked for it); nothing else is
	// written until Save.
	r.waitFor("the added contact's form", func() bool { return slices.Contains(r.opened(), "contact:"+added) })
	r.settled()
	if n := len(r.phonecalls(numGlobex)); n != 0 {
		t.Fatalf("manual mode wrote the activity before Save (%d)", n)
	}
	r.do(w, chromedp.Click(chromedp.CSS(".act-save")))
	r.waitFor("the saved activity", func() bool { return len(r.phonecalls(numGlobex)) == 1 })
	r.hangupBot(numGlobex)
	r.waitFor("the completed activity", func() bool { return r.phonecalls(numGlobex)[0]["statecode"] == int64(1) })
	pc = r.phonecalls(numGlobex)[0]
	if !strings.HasPrefix(fmt.Sprint(pc["description"]), "Manual notes") {
		t.Errorf("manual activity: %v", pc)
	}
	if m := partyMasks(pc); m["contact:"+added] != 1 || m["systemuser:"+agent] != 2 {
		t.Errorf("parties %v", m)
	}
}

// D1, B3, G2, C5: click-to-act on a phone field in Dynamics dials the
// bot at that number; with two tabs the most recently used one runs the
// screen pop and both show the call; the panel collapses on request;
// closing every Dynamics tab mid-call loses nothing: the activity
// arrives once when a tab opens again, with the recording attached as a
// note under the size limit.
func TestCRMClickToActTabsAndOutbox(t *testing.T) {
	r := newCRMRig(t, func(c *app.Config) {
		c.Recording.Mode = "always"
		c.CRM.RecordingAttach = true
		c.CRM.RecordingMaxBase64 = 2 << 20
		c.CRM.ActivityPage = false
		c.CRM.ScreenPopOutbound = true
	})
	one := r.tab()

	// Click-to-act: the host raises onclicktoact as Dynamics does; the
	// widget dials the number (value, or field.value).
	bot := r.bot(numZhang)
	r.host.Raise("onclicktoact", map[string]any{"value": numZhang, "name": "mobilephone", "format": "phone", "entityLogicalName": "contact"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := bot.WaitEvent(ctx, lab.EventCallEstablished); err != nil {
		t.Fatalf("click-to-act did not reach the bot: %v", err)
	}
	c := r.liveCall(numZhang)
	if c.Direction != app.Outbound {
		t.Fatalf("click-to-act call %+v", c)
	}
	r.waitOpened(1, sampleRef("contact", "zhang")) // screen pop on outbound calls is on
	// The matched record names the call: in the app and the call log.
	r.waitFor("the CRM name on the call", func() bool { return r.liveCall(numZhang).Name == "Zhang San" })
	if err := bot.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	r.noCalls()
	if h, err := r.cli.History(ctx, localhost.HistoryQuery{Search: numZhang}); err != nil || len(h.Calls) != 1 || h.Calls[0].Name != "Zhang San" {
		t.Fatalf("call log after a matched call: %+v, %v", h, err)
	}
	r.waitFor("the completed outbound activity", func() bool {
		pc := r.phonecalls(numZhang)
		return len(pc) == 1 && pc[0]["statecode"] == int64(1)
	})
	pc := r.phonecalls(numZhang)
	if len(pc) != 1 || pc[0]["directioncode"] != true || pc[0]["statuscode"] != int64(2) {
		t.Fatalf("outbound activity: %v (all: %v)", pc, r.dv.Records("phonecall"))
	}
	// A number with an extension, as CRM records hold them: the number is
	// dialled, the extension follows the answer as DTMF.
	r.host.Raise("onclicktoact", map[string]any{"value": numZhang + " ext. 7", "name": "telephone1", "format": "phone", "entityLogicalName": "contact"})
	if err := bot.WaitDTMF(ctx, "7"); err != nil {
		t.Fatalf("the extension after a clicked number: got %q: %v", bot.ReceivedDTMF(), err)
	}
	if err := bot.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	r.noCalls()
	// The legacy click-to-act shape carries the number in field.value.
	r.bot(numLi)
	r.host.Raise("onclicktoact", map[string]any{"field": map[string]any{"value": numLi, "name": "telephone1"}})
	if _, err := r.bot(numLi).WaitEvent(ctx, lab.EventCallEstablished); err != nil {
		t.Fatalf("click-to-act (field.value): %v", err)
	}
	if err := r.bot(numLi).Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	r.noCalls()

	// Two tabs: the one the agent used last runs the pop; both show it.
	two := r.tab()
	r.do(two.widget, chromedp.Click(chromedp.CSS(`.nav-item[data-v="history"]`)))
	popsBefore := len(r.host.Requests("openform"))
	c = r.call(numLi)
	r.waitFor("the screen pop", func() bool { return len(r.host.Requests("openform")) > popsBefore })
	last := r.host.Requests("openform")[len(r.host.Requests("openform"))-1]
	var tabs []string
	for _, e := range r.host.Requests("getenvironment") {
		if !slices.Contains(tabs, e.Tab) {
			tabs = append(tabs, e.Tab)
		}
	}
	if len(tabs) != 2 || last.Tab != tabs[1] {
		t.Fatalf("the pop ran in tab %q; tabs %v (the second was used last)", last.Tab, tabs)
	}
	for _, w := range []context.Context{one.widget, two.widget} {
		r.js(w, `[...document.querySelectorAll('.incoming-card .crm-rec-name')].some(e => e.textContent === 'Li Lei')`)
	}
	r.hangupBot(numLi)

	// The collapse button minimises the side panel (setMode 0).
	r.do(two.widget, chromedp.Click(chromedp.CSS(".topbar .collapse"), chromedp.NodeVisible))
	r.waitFor("setMode(0)", func() bool {
		for _, e := range r.host.Requests("setmode") {
			if string(e.Data) == `{"value":0}` {
				return true
			}
		}
		return false
	})

	// Every tab closes during a call: the activity, its completion and
	// the recording wait in the outbox, counted in the app.
	c = r.call(numSeveral)
	r.waitInfo(c.ID, "the search", func(ci crm.CallInfo) bool { return ci.Matched })
	one.close()
	two.close()
	r.waitFor("no Dynamics tab", func() bool { return r.status().CRM.Tabs == 0 })
	if _, err := r.cli.Answer(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	r.waitFor("the call to be answered", func() bool { return r.liveCall(numSeveral).State == app.CallActive })
	time.Sleep(1500 * time.Millisecond) // a recording worth attaching
	r.hangupBot(numSeveral)
	r.waitFor("writes waiting", func() bool { return r.pending() >= 2 })
	if n := len(r.phonecalls(numSeveral)); n != 0 {
		t.Fatalf("%d activities written without a tab", n)
	}
	// A tab opens again: everything arrives, once, and the panel shows
	// nothing waiting.
	again := r.tab()
	notesOf := func(activity any) []map[string]any {
		var out []map[string]any
		for _, n := range r.dv.Records("annotation") {
			if n["_objectid_value"] == activity {
				out = append(out, n)
			}
		}
		return out
	}
	r.waitFor("the activity and its note", func() bool {
		pcs := r.phonecalls(numSeveral)
		return len(pcs) == 1 && pcs[0]["statecode"] == int64(1) && len(notesOf(pcs[0]["activityid"])) > 0
	})
	r.settled()
	r.js(again.widget, `document.querySelector('.crm-pending').hidden === true`)
	pcs := r.phonecalls(numSeveral)
	if len(pcs) != 1 || pcs[0]["statuscode"] != int64(4) {
		t.Fatalf("activities after the tab came back: %v", pcs)
	}
	notes := notesOf(pcs[0]["activityid"])
	if len(notes) != 1 {
		t.Fatalf("%d recording notes, want 1", len(notes))
	}
	body, _ := notes[0]["documentbody"].(string)
	if notes[0]["mimetype"] != "audio/ogg" || !strings.HasSuffix(fmt.Sprint(notes[0]["filename"]), ".opus") || body == "" || len(body) > 2<<20 {
		t.Fatalf("recording note: mimetype %v, file %v, %d bytes of Base64", notes[0]["mimetype"], notes[0]["filename"], len(body))
	}
}

// BenchmarkCRMScreenPop: screen-pop latency in the real app, from the
// INVITE (the SIP call's creation) to the CIF open-form request, the
// Dynamics search (through the widget, CIF and the host double)
// excluded, as the app logs it. Fifty calls from a bot whose number
// matches one sample contact; run with -benchtime 1x.
func BenchmarkCRMScreenPop(b *testing.B) {
	const calls = 50
	lat := make(chan time.Duration, calls*2)
	crmTime := make(chan time.Duration, calls*2)
	r := newCRMRigLog(b, func(c *app.Config) { c.CRM.ActivityAutoCreate = []string{} }, func(l string) {
		if !strings.Contains(l, `msg="screen pop"`) {
			return
		}
		for _, f := range strings.Fields(l) {
			if v, ok := strings.CutPrefix(f, "latency="); ok {
				if d, err := time.ParseDuration(v); err == nil {
					lat <- d
				}
			}
			if v, ok := strings.CutPrefix(f, "crm="); ok {
				if d, err := time.ParseDuration(v); err == nil {
					crmTime <- d
				}
			}
		}
	})
	r.tab()
	var got, crms []time.Duration
	b.ResetTimer()
	for range b.N {
		got, crms = got[:0], crms[:0]
		for range calls {
			r.call(numZhang)
			select {
			case d := <-lat:
				got = append(got, d)
				crms = append(crms, <-crmTime)
			case <-time.After(30 * time.Second):
				b.Fatal("no screen pop logged")
			}
			r.hangupBot(numZhang)
		}
	}
	b.StopTimer()
	pct := func(l []time.Duration, p float64) time.Duration {
		s := slices.Clone(l)
		slices.Sort(s)
		return s[min(len(s)-1, int(p*float64(len(s))))]
	}
	b.ReportMetric(float64(pct(got, .50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(pct(got, .95).Microseconds())/1000, "p95-ms")
	b.ReportMetric(float64(pct(crms, .50).Microseconds())/1000, "crm-p50-ms")
	b.Logf("%d calls: screen pop p50 %v, p95 %v (Dynamics search through the panel: p50 %v, p95 %v)",
		len(got), pct(got, .50), pct(got, .95), pct(crms, .50), pct(crms, .95))
}

// E1: the Dynamics actions of the local call log. A missed call from an
// unknown number is added as a lead from its row, and its activity is
// logged from there, naming the new lead.
func TestCRMCallLogActions(t *testing.T) {
	r := newCRMRig(t, func(c *app.Config) {
		c.CRM.ContactCreation = "manual"
		c.CRM.ActivityAutoCreate = []string{}
		c.CRM.ActivityPage = false
		c.CRM.ActivityAutosave = false
		c.CRM.ScreenPop = "manual"
	})
	tab := r.tab()
	w := tab.widget
	r.call(numNew2)
	r.hangupBot(numNew2) // missed
	r.settled()
	if n := len(r.phonecalls(numNew2)); n != 0 {
		t.Fatalf("%d activities without automatic creation", n)
	}

	r.do(w, chromedp.Click(chromedp.CSS(`.nav-item[data-v="history"]`)))
	r.js(w, `!!document.querySelector('.log-row .log-crm')`)
	r.do(w, chromedp.Click(chromedp.CSS(".log-row .log-crm")))
	r.do(w, chromedp.WaitVisible(chromedp.CSS(`.log-crm-detail .crm-add-btn[data-entity="lead"]`)))
	r.do(w, chromedp.Click(chromedp.CSS(`.log-crm-detail .crm-add-btn[data-entity="lead"]`)))
	r.waitFor("the lead", func() bool { return len(r.recordsWith("lead", "15500005678")) == 1 })
	lead := r.recordsWith("lead", "15500005678")[0]["leadid"].(string)
	r.waitFor("the lead's form", func() bool { return slices.Contains(r.opened(), "lead:"+lead) })

	// The activity, written from the log and completed when saved.
	r.do(w, chromedp.Click(chromedp.CSS(".log-crm-detail .crm-activity"), chromedp.NodeVisible))
	r.do(w, chromedp.WaitVisible(chromedp.CSS("#act-desc")))
	r.do(w, chromedp.SendKeys(chromedp.CSS("#act-desc"), "Called back about pricing"))
	r.do(w, chromedp.Click(chromedp.CSS(".act-save")))
	r.waitFor("the activity from the log", func() bool {
		pcs := r.phonecalls(numNew2)
		return len(pcs) == 1 && pcs[0]["statecode"] == int64(1)
	})
	r.settled()
	pc := r.phonecalls(numNew2)[0]
	if !strings.HasPrefix(fmt.Sprint(pc["description"]), "Called back about pricing") || pc["directioncode"] != false || pc["statuscode"] != int64(4) {
		t.Errorf("activity from the log: %v", pc)
	}
	if m := partyMasks(pc); m["lead:"+lead] != 1 {
		t.Errorf("parties %v, want the new lead as the caller", m)
	}
	// Nothing was written twice.
	if n := len(r.recordsWith("lead", "15500005678")); n != 1 {
		t.Errorf("%d leads", n)
	}
}
