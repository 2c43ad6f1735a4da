package crm_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"switchboard/app"
	"switchboard/app/store"
	"switchboard/crm"
	"switchboard/crm/cifhost"
	"switchboard/crm/cifhost/cifbrowser"
	"switchboard/crm/crmconf"
)

// browserRig is the engine driving real Dynamics-like pages: engine →
// WebSocket → cif-bridge.js → msdyn_ciLibrary.js (double) → postMessage →
// host shell → Web API → in-memory Dataverse.
type browserRig struct {
	*rig
	lab *cifbrowser.Lab
}

func newBrowserRig(t *testing.T, mod func(*crm.Settings)) *browserRig {
	t.Helper()
	lab, err := cifbrowser.NewLab(cifbrowser.LabOptions{Sample: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lab.Close)
	s := crm.DefaultSettings()
	s.DefaultCountry = "CN"
	if mod != nil {
		mod(&s)
	}
	st, err := store.Open(t.Context(), store.Options{Path: filepath.Join(t.TempDir(), "switchboard.db")})
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, dv: lab.Host.Dataverse(), st: st, infos: map[string]crm.CallInfo{}, done: make(chan struct{})}
	r.settings.Store(&s)
	r.eng, err = crm.New(crm.Options{
		Settings: func() crm.Settings { return *r.settings.Load() },
		Bridge:   lab.Widget, Outbox: st, AgentID: lab.Widget.AgentID,
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
		OnUpdate: func(ci crm.CallInfo) {
			r.mu.Lock()
			r.infos[ci.CallID] = ci
			r.mu.Unlock()
		},
		RetryMin: 50 * time.Millisecond, RetryMax: 500 * time.Millisecond, OfflineRetry: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	lab.Widget.OnReady(r.eng.Kick)
	ctx, cancel := context.WithCancel(context.Background())
	r.stop = cancel
	go func() { defer close(r.done); _ = r.eng.Run(ctx) }()
	t.Cleanup(r.close)
	return &browserRig{rig: r, lab: lab}
}

func (b *browserRig) tab() (context.Context, context.CancelFunc) {
	b.t.Helper()
	n := b.lab.Widget.ReadyTabs()
	ctx, cancel, err := b.lab.OpenTab("")
	if err != nil {
		b.t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer wcancel()
	if err := b.lab.WaitReadyTabs(wctx, n+1); err != nil {
		b.t.Fatal(err)
	}
	return ctx, cancel
}

func page(t *testing.T, tab context.Context) (title, search string) {
	t.Helper()
	v, err := chromedp.Run(tab, chromedp.Evaluate[[]string](`[(document.querySelector("main h1") || {}).textContent || "", location.search]`))
	if err != nil || len(v) != 2 {
		return "", ""
	}
	return v[0], v[1]
}

func mode(tab context.Context) int {
	m, _ := chromedp.Run(tab, chromedp.Evaluate[int](`cifHost.state.mode`))
	return m
}

func TestEndToEndInChromium(t *testing.T) {
	b := newBrowserRig(t, func(s *crm.Settings) {
		s.ContactCreation, s.ActivityPage = crmconf.CreateAuto, false
	})
	tab, closeTab := b.tab()
	zhang := cifhost.SampleID("contact", "zhang")

	// B4 + C3: the collapsed panel expands for the call and the caller's
	// record opens, found from a number formatted differently.
	if _, err := chromedp.Run(tab, chromedp.Evaluate[chromedp.Void](`cifHost.setMode(0)`)); err != nil {
		t.Fatal(err)
	}
	c := b.newCall(app.Inbound, "(138) 1234 5678")
	waitFor(t, "the screen pop", func() bool {
		title, q := page(t, tab)
		return title == "Zhang San" && strings.Contains(q, "id="+zhang)
	})
	if m := mode(tab); m != 1 {
		t.Errorf("panel mode %d after an incoming call, want 1", m)
	}
	// C4: created at answer, completed at hang-up with the right fields.
	c.answer()
	b.settle()
	if pc := c.phonecall(); pc == nil || pc["statecode"] != int64(0) {
		t.Fatalf("after answer: %v", pc)
	}
	c.end()
	b.settle()
	pc := c.phonecall()
	if pc["statecode"] != int64(1) || pc["statuscode"] != int64(4) || pc["actualdurationminutes"] != int64(2) ||
		!strings.HasSuffix(pc["description"].(string), "Quality: loss 0.4 %, jitter 12 ms, MOS 4.2") {
		t.Errorf("completed activity: %v", pc)
	}
	if m := partyMasks(pc); m["contact:"+zhang] != 1 || m["systemuser:"+b.dv.UserID()] != 2 {
		t.Errorf("parties = %v", m)
	}

	// Several matches open the search page.
	s := b.newCall(app.Inbound, "+86 139 0000 1111")
	waitFor(t, "the search page", func() bool {
		_, q := page(t, tab)
		return strings.Contains(q, "pagetype=search")
	})
	s.end()

	// The tab is closed mid-call: the writes wait, the new tab takes
	// them, and each record arrives once.
	before := len(b.dv.Records("contact"))
	u := b.newCall(app.Inbound, "+86 150 0000 8888")
	u.wait("the search", func(ci crm.CallInfo) bool { return ci.Matched })
	closeTab()
	waitFor(t, "the tab to go", func() bool { return b.lab.Widget.ReadyTabs() == 0 })
	u.answer()
	subj := "Asked for a quote"
	if err := b.eng.SaveActivity(t.Context(), u.c.ID, crm.ActivityEdit{Subject: &subj}); err != nil {
		t.Fatal(err)
	}
	u.end()
	waitFor(t, "the writes to wait", func() bool { n, _ := b.eng.Pending(t.Context()); return b.eng.Idle() && n > 0 })
	time.Sleep(500 * time.Millisecond) // a few offline rounds
	if u.phonecall() != nil || len(b.dv.Records("contact")) != before {
		t.Fatal("a write reached Dynamics with no tab open")
	}
	tab2, closeTab2 := b.tab()
	defer closeTab2()
	b.settle()
	if n := len(b.dv.Records("contact")) - before; n != 1 {
		t.Errorf("%d contacts created, want 1", n)
	}
	pc = u.phonecall()
	if pc == nil || pc["subject"] != subj || pc["statecode"] != int64(1) {
		t.Fatalf("activity after reopening: %v", pc)
	}
	if n := len(b.dv.Records("phonecall")); n != 2 {
		t.Errorf("%d phonecalls, want 2 (one per answered call; the missed one logged none)", n)
	}

	// Two tabs: the most recently active one pops.
	tab3, closeTab3 := b.tab()
	defer closeTab3()
	_, q2 := page(t, tab2)
	d := b.newCall(app.Inbound, "010-6552 9988")
	acme := cifhost.SampleID("account", "acme")
	waitFor(t, "the pop in the newest tab", func() bool {
		_, q := page(t, tab3)
		return strings.Contains(q, "id="+acme)
	})
	if _, q := page(t, tab2); q != q2 {
		t.Errorf("the older tab navigated too: %s", q)
	}
	d.end()

	// Click-to-act in Dynamics reaches the app as a number to dial.
	var clicked atomic.Value
	b.lab.Widget.OnEvent(func(ev cifbrowser.Event) {
		if ev.Type == "clicktoact" {
			clicked.Store(ev.Number)
		}
	})
	b.lab.Host.Navigate("contact", zhang)
	waitFor(t, "Zhang's page", func() bool { title, _ := page(t, tab3); return title == "Zhang San" })
	if err := chromedp.Do(tab3, chromedp.Click(chromedp.CSS(`button[data-clicktoact="telephone1"]`))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the click", func() bool { v, _ := clicked.Load().(string); return v == "+86 138-1234-5678" })
}

func TestEndToEndRecordingNote(t *testing.T) {
	b := newBrowserRig(t, func(s *crm.Settings) {
		s.RecordingAttach, s.ActivityPage, s.ScreenPop = true, false, crmconf.PopManual
		s.RecordingMaxBase64 = crmconf.MinRecordingMaxBase64
	})
	tab, closeTab := b.tab()
	defer closeTab()
	wav := filepath.Join(t.TempDir(), "call.wav")
	if err := writeWAV(wav, 8000); err != nil {
		t.Fatal(err)
	}
	c := b.newCall(app.Outbound, "13812345678")
	c.answer().end()
	if err := b.eng.AttachRecording(t.Context(), c.c.ID, crm.Recording{Path: wav, Name: "call.wav", MIME: "audio/wav"}); err != nil {
		t.Fatal(err)
	}
	b.settle()
	notes := b.dv.Records("annotation")
	if len(notes) != 1 || notes[0]["isdocument"] != true || notes[0]["_objectid_value"] != crm.StableID("phonecall", c.c.ID) {
		t.Fatalf("notes = %v", notes)
	}
	// The note plays on the activity's page.
	b.lab.Host.Navigate("phonecall", crm.StableID("phonecall", c.c.ID))
	waitFor(t, "the audio player", func() bool {
		n, _ := chromedp.Run(tab, chromedp.Evaluate[int](`document.querySelectorAll("main audio[src^='data:audio/wav;base64,']").length`))
		return n == 1
	})
}

// writeWAV writes n samples of a 440 Hz tone as 8 kHz 16-bit mono WAV.
func writeWAV(path string, n int) error {
	var b bytes.Buffer
	le := binary.LittleEndian
	b.WriteString("RIFF")
	_ = binary.Write(&b, le, uint32(36+2*n))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(8000), uint32(16000), uint16(2), uint16(16)} {
		_ = binary.Write(&b, le, v)
	}
	b.WriteString("data")
	_ = binary.Write(&b, le, uint32(2*n))
	for i := range n {
		_ = binary.Write(&b, le, int16(8000*math.Sin(2*math.Pi*440*float64(i)/8000)))
	}
	return os.WriteFile(path, b.Bytes(), 0o600)
}
