package crm_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"switchboard/app"
	"switchboard/app/store"
	"switchboard/crm"
	"switchboard/crm/cifhost"
	"switchboard/crm/crmconf"
	"switchboard/crm/crmtest"
)

// rig is an engine over a real SQLite outbox and the in-memory CIF
// bridge backed by the Dataverse double.
type rig struct {
	t        *testing.T
	br       *crmtest.Bridge
	dv       *cifhost.Dataverse
	st       *store.Store
	eng      *crm.Engine
	settings atomic.Pointer[crm.Settings]
	agent    atomic.Value
	stop     context.CancelFunc
	done     chan struct{}

	mu      sync.Mutex
	infos   map[string]crm.CallInfo
	pending int
}

type rigOpt struct {
	lcid     int // the organisation's language
	parsed   bool
	storeDir string
	dv       *cifhost.Dataverse
}

func newRig(t *testing.T, mod func(*crm.Settings), o rigOpt) *rig {
	t.Helper()
	s := crm.DefaultSettings()
	s.DefaultCountry = "CN"
	if mod != nil {
		mod(&s)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	dir := o.storeDir
	if dir == "" {
		dir = t.TempDir()
	}
	st, err := store.Open(t.Context(), store.Options{Path: filepath.Join(dir, "switchboard.db")})
	if err != nil {
		t.Fatal(err)
	}
	dv := o.dv
	if dv == nil {
		dv = cifhost.NewDataverse(cifhost.DataverseOptions{})
		cifhost.LoadSample(dv)
	}
	r := &rig{t: t, dv: dv, st: st, infos: map[string]crm.CallInfo{}, done: make(chan struct{})}
	r.br = crmtest.New(crmtest.Options{Dataverse: dv, Parsed: o.parsed})
	r.settings.Store(&s)
	r.agent.Store(dv.UserID())
	r.eng, err = crm.New(crm.Options{
		Settings: func() crm.Settings { return *r.settings.Load() },
		Bridge:   r.br, Outbox: st,
		AgentID: func() string { return r.agent.Load().(string) },
		OrgLCID: func() int { return o.lcid },
		OnUpdate: func(ci crm.CallInfo) {
			r.mu.Lock()
			r.infos[ci.CallID] = ci
			r.mu.Unlock()
		},
		OnPending: func(n int) {
			r.mu.Lock()
			r.pending = n
			r.mu.Unlock()
		},
		Logger:   slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
		RetryMin: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond, OfflineRetry: 50 * time.Millisecond,
		SearchTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.stop = cancel
	go func() { defer close(r.done); _ = r.eng.Run(ctx) }()
	t.Cleanup(r.close)
	return r
}

func (r *rig) close() {
	if r.stop == nil {
		return
	}
	r.stop()
	<-r.done
	r.eng.Close()
	r.st.Close()
	r.stop = nil
}

func (r *rig) set(mod func(*crm.Settings)) {
	s := r.settings.Load().Clone()
	mod(&s)
	r.settings.Store(&s)
}

func (r *rig) info(id string) crm.CallInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.infos[id]
}

// waitFor polls cond; the deadline is generous and only there so a bug
// fails the test instead of hanging it.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// settle waits until the outbox is empty.
func (r *rig) settle() {
	r.t.Helper()
	waitFor(r.t, "the outbox to drain", func() bool {
		if !r.eng.Idle() {
			return false
		}
		n, err := r.eng.Pending(context.Background())
		return err == nil && n == 0 && r.eng.Idle()
	})
}

// call builds snapshots of one call through its life.
type call struct {
	r *rig
	c app.Call
}

var callSeq atomic.Int64

func (r *rig) newCall(dir app.Direction, number string) *call {
	c := app.Call{ID: fmt.Sprintf("call-%d", callSeq.Add(1)), Direction: dir, Number: number, Started: time.Now().Add(-time.Minute)}
	if dir == app.Inbound {
		c.State = app.CallIncoming
	} else {
		c.State = app.CallDialing
	}
	r.eng.OnCall(c)
	return &call{r, c}
}

func (c *call) answer() *call {
	c.c.State = app.CallActive
	c.c.Answered = c.c.Started.Add(10 * time.Second)
	c.r.eng.OnCall(c.c)
	return c
}

func (c *call) end() *call {
	c.c.State = app.CallEnded
	c.c.Ended = c.c.Started.Add(10*time.Second + 95*time.Second)
	if !c.c.Answered.IsZero() {
		c.c.Disposition = app.DispAnswered
		c.c.Quality = &app.Quality{LossPct: 0.4, JitterMs: 12, MOS: 4.2}
	} else {
		c.c.Disposition = app.DispMissed
	}
	c.r.eng.OnCall(c.c)
	return c
}

func (c *call) again() { c.r.eng.OnCall(c.c) }

func (c *call) wait(what string, cond func(crm.CallInfo) bool) crm.CallInfo {
	c.r.t.Helper()
	var ci crm.CallInfo
	waitFor(c.r.t, what, func() bool { ci = c.r.info(c.c.ID); return cond(ci) })
	return ci
}

func (c *call) phonecall() map[string]any {
	rec, _ := c.r.dv.Record("phonecall", crm.StableID("phonecall", c.c.ID))
	return rec
}

func opened(r *rig) []string {
	var out []string
	for _, q := range r.br.Requests() {
		if q.Op == crm.OpOpenForm {
			out = append(out, q.Entity+":"+q.ID)
		}
	}
	return out
}

func TestScreenPopOneMatch(t *testing.T) {
	r := newRig(t, func(s *crm.Settings) { s.ActivityPage = false }, rigOpt{})
	zhang := cifhost.SampleID("contact", "zhang")
	for _, number := range []string{"+86 138-1234-5678", "13812345678", "(138) 1234 5678"} {
		before := len(opened(r))
		c := r.newCall(app.Inbound, number)
		ci := c.wait("the pop", func(ci crm.CallInfo) bool { return ci.Popped != "" })
		if ci.Popped != crm.PopOpen || len(ci.Matches) != 1 || ci.Matches[0].ID != zhang || ci.Matches[0].Name != "Zhang San" {
			t.Fatalf("%s: %+v", number, ci)
		}
		c.answer()
		c.again()
		c.end()
		r.settle()
		if got := opened(r)[before:]; len(got) != 1 || got[0] != "contact:"+zhang {
			t.Errorf("%s: opened %v, want Zhang San once", number, got)
		}
	}
	if r.br.Mode() != 1 {
		t.Error("the panel was not expanded for the incoming call")
	}
}

func TestScreenPopTriggers(t *testing.T) {
	for _, trig := range []string{crmconf.PopRinging, crmconf.PopAnswered, crmconf.PopEnded, crmconf.PopManual} {
		t.Run(trig, func(t *testing.T) {
			r := newRig(t, func(s *crm.Settings) { s.ScreenPop = trig; s.ActivityAutoCreate = nil }, rigOpt{})
			c := r.newCall(app.Inbound, "13812345678")
			c.wait("the search", func(ci crm.CallInfo) bool { return ci.Matched })
			popsAt := map[string]int{}
			popsAt["ringing"] = len(opened(r))
			c.answer()
			c.wait("the answer", func(ci crm.CallInfo) bool { return trig != crmconf.PopAnswered || ci.Popped != "" })
			popsAt["answered"] = len(opened(r))
			c.end()
			c.wait("the end", func(ci crm.CallInfo) bool { return trig != crmconf.PopEnded || ci.Popped != "" })
			popsAt["ended"] = len(opened(r))
			want := map[string]map[string]int{
				crmconf.PopRinging:  {"ringing": 1, "answered": 1, "ended": 1},
				crmconf.PopAnswered: {"ringing": 0, "answered": 1, "ended": 1},
				crmconf.PopEnded:    {"ringing": 0, "answered": 0, "ended": 1},
				crmconf.PopManual:   {"ringing": 0, "answered": 0, "ended": 0},
			}[trig]
			for k, v := range want {
				if popsAt[k] != v {
					t.Errorf("after %s: %d pops, want %d", k, popsAt[k], v)
				}
			}
			if trig == crmconf.PopManual {
				if err := r.eng.OpenRecord(t.Context(), c.c.ID); err != nil {
					t.Fatal(err)
				}
				if len(opened(r)) != 1 {
					t.Error("the manual open did not open the record")
				}
			}
		})
	}
}

func TestScreenPopSeveralAndNone(t *testing.T) {
	r := newRig(t, nil, rigOpt{})
	c := r.newCall(app.Inbound, "+86 139 0000 1111")
	ci := c.wait("the pop", func(ci crm.CallInfo) bool { return ci.Popped != "" })
	if ci.Popped != crm.PopSearch || len(ci.Matches) != 3 {
		t.Fatalf("several: %+v", ci)
	}
	if r.br.Count(crm.OpRenderSearch, "contact") != 1 || len(opened(r)) != 0 {
		t.Errorf("several matches should open the search page only: %v", r.br.Requests())
	}
	// The agent picks one: the manual open now opens it.
	pick := ci.Matches[1].Ref
	if err := r.eng.Choose(c.c.ID, pick); err != nil {
		t.Fatal(err)
	}
	if err := r.eng.OpenRecord(t.Context(), c.c.ID); err != nil {
		t.Fatal(err)
	}
	if got := opened(r); len(got) != 1 || got[0] != pick.Entity+":"+pick.ID {
		t.Errorf("opened %v, want the pick", got)
	}

	u := r.newCall(app.Inbound, "+86 150 0000 9999")
	ci = u.wait("the pop", func(ci crm.CallInfo) bool { return ci.Popped != "" })
	if ci.Popped != crm.PopOfferAdd || !ci.OfferAdd || len(ci.Matches) != 0 {
		t.Errorf("none: %+v", ci)
	}

	in := r.newCall(app.Inbound, "1001")
	in.answer().end()
	ci = in.wait("the internal call", func(ci crm.CallInfo) bool { return ci.Internal })
	if ci.Popped != "" || ci.Matched {
		t.Errorf("internal calls are not looked up: %+v", ci)
	}
	r.settle()
	if r.br.Count(crm.OpCreate, "") != 0 {
		t.Error("an internal or unanswered call wrote to Dynamics")
	}
}

func TestMatchModes(t *testing.T) {
	r := newRig(t, func(s *crm.Settings) { s.ActivityAutoCreate = nil }, rigOpt{})
	// Acme New York is stored as "+1 (646) 212-3456": exact does not
	// find it for a Shanghai caller with the same last 8 digits.
	c := r.newCall(app.Inbound, "+86 21 6212 3456")
	ci := c.wait("the search", func(ci crm.CallInfo) bool { return ci.Matched })
	if len(ci.Matches) != 0 {
		t.Errorf("exact: %+v", ci.Matches)
	}
	r.set(func(s *crm.Settings) { s.MatchMode, s.MatchDigits = crmconf.MatchLastDigits, 8 })
	c = r.newCall(app.Inbound, "+86 21 6212 3456")
	ci = c.wait("the search", func(ci crm.CallInfo) bool { return ci.Matched })
	if len(ci.Matches) != 1 || ci.Matches[0].Name != "Acme New York" {
		t.Errorf("last 8: %+v", ci.Matches)
	}
	r.set(func(s *crm.Settings) { s.MatchEntities = []string{"lead"} })
	c = r.newCall(app.Inbound, "+86 21 6212 3456")
	if ci := c.wait("the search", func(ci crm.CallInfo) bool { return ci.Matched }); len(ci.Matches) != 0 {
		t.Errorf("accounts are not searched now: %+v", ci.Matches)
	}
}

func TestContactCreation(t *testing.T) {
	for _, as := range []string{"contact", "account", "lead"} {
		t.Run(as, func(t *testing.T) {
			r := newRig(t, func(s *crm.Settings) {
				s.ContactCreation, s.ContactCreateAs, s.ActivityAutoCreate = crmconf.CreateAuto, as, nil
			}, rigOpt{})
			before := len(r.dv.Records(as))
			c := r.newCall(app.Inbound, "+86 150 0000 9999")
			c.wait("the search", func(ci crm.CallInfo) bool { return ci.Matched })
			r.settle()
			if len(r.dv.Records(as)) != before {
				t.Fatal("an unanswered inbound call created a record")
			}
			c.answer()
			c.again()
			c.answer()
			c.end()
			r.settle()
			recs := r.dv.Records(as)
			if len(recs) != before+1 {
				t.Fatalf("%d new %ss, want 1", len(recs)-before, as)
			}
			n := recs[len(recs)-1]
			name := n["fullname"]
			if as == "account" {
				name = n["name"]
			}
			if name != "Automatic New Contact +8615000009999" {
				t.Errorf("name = %v", name)
			}
			ci := r.info(c.c.ID)
			if ci.Created == nil || ci.Created.Entity != as || len(ci.Matches) != 1 {
				t.Errorf("call info = %+v", ci)
			}
			// The same number on another call is known now: no second record.
			d := r.newCall(app.Inbound, "150-0000-9999")
			if ci := d.wait("the search", func(ci crm.CallInfo) bool { return ci.Matched }); len(ci.Matches) != 1 {
				t.Errorf("the created record was not found again: %+v", ci)
			}
			d.answer().end()
			r.settle()
			if len(r.dv.Records(as)) != before+1 {
				t.Error("a known number was created again")
			}
		})
	}
}

func TestContactCreationOutboundAndManual(t *testing.T) {
	r := newRig(t, func(s *crm.Settings) {
		s.ContactCreation, s.ContactCreateOn, s.ActivityAutoCreate = crmconf.CreateAuto, []string{"outbound"}, nil
	}, rigOpt{})
	before := len(r.dv.Records("contact"))
	in := r.newCall(app.Inbound, "+86 150 0000 1234")
	in.answer().end()
	out := r.newCall(app.Outbound, "+86 150 0000 4321")
	out.wait("the creation", func(ci crm.CallInfo) bool { return ci.Created != nil })
	r.settle()
	if got := len(r.dv.Records("contact")) - before; got != 1 {
		t.Fatalf("%d contacts created, want 1 (outbound only)", got)
	}
	// Manual: the agent adds the inbound caller as a lead; its form opens.
	ref, err := r.eng.AddRecord(t.Context(), in.c.ID, "lead")
	if err != nil {
		t.Fatal(err)
	}
	r.settle()
	if _, ok := r.dv.Record("lead", ref.ID); !ok {
		t.Fatal("the lead was not created")
	}
	if got := opened(r); len(got) != 1 || got[0] != "lead:"+ref.ID {
		t.Errorf("opened %v", got)
	}
	if _, err := r.eng.AddRecord(t.Context(), in.c.ID, "lead"); err != nil {
		t.Fatal(err)
	}
	r.settle()
	if n := len(r.dv.Records("lead")); n != 3 { // two in the sample
		t.Errorf("%d leads; adding twice must not duplicate", n)
	}
}

func partyMasks(rec map[string]any) map[string]int64 {
	out := map[string]int64{}
	ps, _ := rec["phonecall_activity_parties"].([]map[string]any)
	for _, p := range ps {
		out[p["_partyid_value@Microsoft.Dynamics.CRM.lookuplogicalname"].(string)+":"+p["_partyid_value"].(string)] = p["participationtypemask"].(int64)
	}
	return out
}

func TestActivityLifecycle(t *testing.T) {
	r := newRig(t, func(s *crm.Settings) { s.ActivityPage = false }, rigOpt{})
	zhang := cifhost.SampleID("contact", "zhang")
	c := r.newCall(app.Inbound, "+86 138 1234 5678")
	c.wait("the search", func(ci crm.CallInfo) bool { return ci.Matched })
	r.settle()
	if c.phonecall() != nil {
		t.Fatal("an activity before the answer")
	}
	c.answer()
	r.settle()
	pc := c.phonecall()
	if pc == nil || pc["statecode"] != int64(0) || pc["subject"] != "Call from Zhang San (+86 138 1234 5678)" || pc["directioncode"] != false {
		t.Fatalf("after answer: %v", pc)
	}
	if m := partyMasks(pc); m["contact:"+zhang] != 1 || m["systemuser:"+r.dv.UserID()] != 2 || len(m) != 2 {
		t.Errorf("parties = %v", m)
	}
	if pc["_regardingobjectid_value"] != zhang {
		t.Errorf("regarding = %v", pc["_regardingobjectid_value"])
	}
	// Autosave while typing, then regarding an opportunity.
	subj, desc := "PBX upgrade", "Asked about remote work."
	if err := r.eng.SaveActivity(t.Context(), c.c.ID, crm.ActivityEdit{Subject: &subj}); err != nil {
		t.Fatal(err)
	}
	opps, err := r.eng.SearchOpportunities(t.Context(), "infra")
	if err != nil || len(opps) != 1 {
		t.Fatalf("opportunities: %v, %v", opps, err)
	}
	if err := r.eng.SaveActivity(t.Context(), c.c.ID, crm.ActivityEdit{Description: &desc, Regarding: &opps[0]}); err != nil {
		t.Fatal(err)
	}
	r.settle()
	pc = c.phonecall()
	if pc["subject"] != subj || pc["description"] != desc || pc["_regardingobjectid_value"] != opps[0].ID {
		t.Errorf("after edits: %v", pc)
	}
	c.end()
	r.settle()
	pc = c.phonecall()
	if pc["statecode"] != int64(1) || pc["statuscode"] != int64(4) || pc["actualdurationminutes"] != int64(2) ||
		pc["actualend"] != c.c.Ended.UTC().Format(time.RFC3339) || pc["actualstart"] != c.c.Answered.UTC().Format(time.RFC3339) ||
		pc["description"] != desc+"\n\nQuality: loss 0.4 %, jitter 12 ms, MOS 4.2" {
		t.Errorf("completed: %v", pc)
	}
	// An edit after completion reopens, updates and completes again.
	more := desc + " Call back Friday."
	if err := r.eng.SaveActivity(t.Context(), c.c.ID, crm.ActivityEdit{Description: &more}); err != nil {
		t.Fatal(err)
	}
	r.settle()
	pc = c.phonecall()
	if pc["statecode"] != int64(1) || !strings.HasPrefix(pc["description"].(string), more) {
		t.Errorf("after a late edit: %v", pc)
	}
	if n := len(r.dv.Records("phonecall")); n != 1 {
		t.Errorf("%d phonecalls, want 1", n)
	}
}

func TestActivityOutboundMadeAndPage(t *testing.T) {
	r := newRig(t, nil, rigOpt{})
	c := r.newCall(app.Outbound, "010-6552 9988")
	c.answer()
	ci := c.wait("the activity page", func(ci crm.CallInfo) bool { return ci.ShowActivityPage && ci.Activity != nil && ci.Activity.Queued })
	if ci.Activity.ID != crm.StableID("phonecall", c.c.ID) {
		t.Fatalf("info = %+v", ci)
	}
	c.end()
	r.settle()
	pc := c.phonecall()
	if pc["statecode"] != int64(0) {
		t.Fatal("completed while the agent still has the page open")
	}
	acme := cifhost.SampleID("account", "acme")
	if m := partyMasks(pc); m["account:"+acme] != 2 || m["systemuser:"+r.dv.UserID()] != 1 {
		t.Errorf("outbound parties = %v", m)
	}
	if err := r.eng.ActivityPage(c.c.ID, false); err != nil {
		t.Fatal(err)
	}
	r.settle()
	if pc = c.phonecall(); pc["statecode"] != int64(1) || pc["statuscode"] != int64(2) || pc["directioncode"] != true {
		t.Errorf("outbound completion: %v", pc)
	}
}

func TestManualActivity(t *testing.T) {
	r := newRig(t, func(s *crm.Settings) { s.ActivityAutoCreate = []string{"outbound"}; s.ActivityPage = false }, rigOpt{})
	c := r.newCall(app.Inbound, "13812345678")
	c.answer()
	c.end()
	r.settle()
	if c.phonecall() != nil {
		t.Fatal("manual mode wrote before Save")
	}
	subj := "Follow-up"
	if err := r.eng.SaveActivity(t.Context(), c.c.ID, crm.ActivityEdit{Subject: &subj}); err != nil {
		t.Fatal(err)
	}
	r.settle()
	pc := c.phonecall()
	if pc == nil || pc["subject"] != subj || pc["statecode"] != int64(1) || pc["statuscode"] != int64(4) || pc["actualdurationminutes"] != int64(2) {
		t.Errorf("saved after the call: %v", pc)
	}
	// A missed call logged by hand from the call log after a restart of
	// the engine's memory: registered with OnCall, then saved.
	pops := len(opened(r))
	missed := app.Call{ID: "old-missed", Direction: app.Inbound, Number: "13812345678", State: app.CallEnded,
		Started: time.Now().Add(-time.Hour), Ended: time.Now().Add(-time.Hour + 20*time.Second), Disposition: app.DispMissed}
	r.eng.OnCall(missed)
	if err := r.eng.SaveActivity(t.Context(), missed.ID, crm.ActivityEdit{}); err != nil {
		t.Fatal(err)
	}
	r.settle()
	rec, _ := r.dv.Record("phonecall", crm.StableID("phonecall", missed.ID))
	if rec == nil || rec["actualdurationminutes"] != int64(0) || rec["statecode"] != int64(1) {
		t.Errorf("missed call activity: %v", rec)
	}
	if len(opened(r)) != pops {
		t.Error("history must not pop")
	}
}

func TestOutboxSurvivesClosedTab(t *testing.T) {
	r := newRig(t, func(s *crm.Settings) { s.ActivityPage = false }, rigOpt{})
	c := r.newCall(app.Inbound, "13812345678")
	c.wait("the search", func(ci crm.CallInfo) bool { return ci.Matched })
	r.br.SetConnected(false) // the agent closes the Dynamics tab mid-call
	c.answer()
	subj := "Written while offline"
	if err := r.eng.SaveActivity(t.Context(), c.c.ID, crm.ActivityEdit{Subject: &subj}); err != nil {
		t.Fatal(err)
	}
	c.end()
	waitFor(t, "the writes to wait", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.pending >= 1
	})
	time.Sleep(200 * time.Millisecond) // several offline retry rounds
	if c.phonecall() != nil {
		t.Fatal("a write reached Dynamics without a tab")
	}
	r.br.SetConnected(true)
	r.eng.Kick()
	r.settle()
	pc := c.phonecall()
	if pc == nil || pc["subject"] != subj || pc["statecode"] != int64(1) {
		t.Fatalf("after reconnect: %v", pc)
	}
	if n := len(r.dv.Records("phonecall")); n != 1 {
		t.Errorf("%d phonecalls, want exactly 1", n)
	}
	// Superseded writes were not sent: one create, one completion.
	if n := r.br.Count(crm.OpCreate, "phonecall"); n != 1 {
		t.Errorf("%d creates", n)
	}
}

func TestLostAnswerNotDuplicated(t *testing.T) {
	r := newRig(t, func(s *crm.Settings) { s.ActivityPage = false }, rigOpt{})
	// The create happens but its answer is lost, twice; then the update
	// answer is lost too.
	r.dv.Inject(cifhost.Fault{Op: "create", Entity: "phonecall", AfterApply: true, Count: 2})
	r.dv.Inject(cifhost.Fault{Op: "update", Entity: "phonecall", AfterApply: true, Status: 503})
	c := r.newCall(app.Inbound, "13812345678")
	c.answer().end()
	r.settle()
	if n := len(r.dv.Records("phonecall")); n != 1 {
		t.Fatalf("%d phonecalls after lost answers, want 1", n)
	}
	if pc := c.phonecall(); pc["statecode"] != int64(1) {
		t.Errorf("not completed: %v", pc)
	}
}

func TestSearchTimeoutThenEnsure(t *testing.T) {
	r := newRig(t, func(s *crm.Settings) {
		s.ContactCreation, s.ActivityPage = crmconf.CreateAuto, false
	}, rigOpt{})
	// Every search stalls past the engine's timeout: the pop cannot
	// happen, and creation is queued to check again before creating.
	r.dv.Inject(cifhost.Fault{Op: "query", Delay: 3 * time.Second, Count: 3})
	c := r.newCall(app.Inbound, "+86 150 0000 7777")
	ci := c.wait("the failed search", func(ci crm.CallInfo) bool { return ci.SearchError != "" })
	if ci.Popped != "" || ci.Matched {
		t.Fatalf("info = %+v", ci)
	}
	before := len(r.dv.Records("contact"))
	c.answer().end()
	r.settle()
	if got := len(r.dv.Records("contact")) - before; got != 1 {
		t.Fatalf("%d contacts created, want 1", got)
	}
	created := r.dv.Records("contact")[before]
	pc := c.phonecall()
	if m := partyMasks(pc); m["contact:"+created["contactid"].(string)] != 1 {
		t.Errorf("the activity's party is not the created contact: %v", m)
	}
}

func TestRecordingNote(t *testing.T) {
	r := newRig(t, func(s *crm.Settings) {
		s.RecordingAttach, s.ActivityPage, s.RecordingMaxBase64 = true, false, crmconf.MinRecordingMaxBase64
	}, rigOpt{})
	dir := t.TempDir()
	small := filepath.Join(dir, "small.wav")
	big := filepath.Join(dir, "big.wav")
	if err := os.WriteFile(small, []byte("RIFF\x24\x00\x00\x00WAVEfmt "), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(big, make([]byte, crmconf.MinRecordingMaxBase64), 0o600); err != nil {
		t.Fatal(err)
	}
	a := r.newCall(app.Inbound, "13812345678")
	a.answer().end()
	if err := r.eng.AttachRecording(t.Context(), a.c.ID, crm.Recording{Path: small, Name: "a.wav", MIME: "audio/wav"}); err != nil {
		t.Fatal(err)
	}
	b := r.newCall(app.Outbound, "13812345678")
	b.answer().end()
	if err := r.eng.AttachRecording(t.Context(), b.c.ID, crm.Recording{Path: big, Name: "b.wav", MIME: "audio/wav"}); err != nil {
		t.Fatal(err)
	}
	r.settle()
	notes := r.dv.Records("annotation")
	if len(notes) != 2 {
		t.Fatalf("%d notes", len(notes))
	}
	for _, n := range notes {
		switch n["_objectid_value"] {
		case crm.StableID("phonecall", a.c.ID):
			if n["isdocument"] != true || n["filename"] != "a.wav" || n["mimetype"] != "audio/wav" {
				t.Errorf("small note = %v", n)
			}
		case crm.StableID("phonecall", b.c.ID):
			if n["isdocument"] != false || n["documentbody"] != nil || !strings.Contains(n["notetext"].(string), "larger than") {
				t.Errorf("big note = %v", n)
			}
		default:
			t.Errorf("note on %v", n["_objectid_value"])
		}
	}
	r.set(func(s *crm.Settings) { s.RecordingAttach = false })
	if err := r.eng.AttachRecording(t.Context(), a.c.ID, crm.Recording{Path: small}); err != crm.ErrNoRecording {
		t.Errorf("attach while off: %v", err)
	}
}

func TestRestartSendsOnce(t *testing.T) {
	dir := t.TempDir()
	dv := cifhost.NewDataverse(cifhost.DataverseOptions{})
	cifhost.LoadSample(dv)
	r := newRig(t, func(s *crm.Settings) { s.ActivityPage = false }, rigOpt{storeDir: dir, dv: dv})
	r.br.SetConnected(false)
	c := r.newCall(app.Inbound, "13812345678")
	c.answer().end()
	waitFor(t, "the writes to be queued", func() bool {
		n, _ := r.st.Pending(context.Background())
		return r.eng.Idle() && n >= 1
	})
	r.close() // the app quits with writes pending

	r2 := newRig(t, func(s *crm.Settings) { s.ActivityPage = false }, rigOpt{storeDir: dir, dv: dv})
	r2.settle()
	pcs := dv.Records("phonecall")
	if len(pcs) != 1 || pcs[0]["statecode"] != int64(1) || pcs[0]["activityid"] != crm.StableID("phonecall", c.c.ID) {
		t.Fatalf("after restart: %v", pcs)
	}
}

func TestParsedResultsToo(t *testing.T) {
	// A widget that JSON-parses CIF's strings before forwarding them.
	r := newRig(t, func(s *crm.Settings) { s.ActivityPage = false }, rigOpt{parsed: true})
	c := r.newCall(app.Inbound, "(138) 1234 5678")
	if ci := c.wait("the pop", func(ci crm.CallInfo) bool { return ci.Popped != "" }); ci.Popped != crm.PopOpen {
		t.Fatalf("%+v", ci)
	}
	c.answer().end()
	r.settle()
	if c.phonecall()["statecode"] != int64(1) {
		t.Error("activity not completed")
	}
}

func TestNoAgentYet(t *testing.T) {
	r := newRig(t, func(s *crm.Settings) { s.ActivityPage = false }, rigOpt{})
	r.agent.Store("")
	c := r.newCall(app.Inbound, "13812345678")
	c.answer().end()
	time.Sleep(150 * time.Millisecond)
	if c.phonecall() != nil {
		t.Fatal("a phonecall without the agent's party was written")
	}
	r.agent.Store(r.dv.UserID())
	r.eng.Kick()
	r.settle()
	if m := partyMasks(c.phonecall()); m["systemuser:"+r.dv.UserID()] != 2 {
		t.Errorf("parties = %v", m)
	}
}

func TestEnsureFindsExisting(t *testing.T) {
	r := newRig(t, func(s *crm.Settings) { s.ContactCreation, s.ActivityPage = crmconf.CreateAuto, false }, rigOpt{})
	r.dv.Inject(cifhost.Fault{Op: "query", Delay: 3 * time.Second, Count: 3})
	c := r.newCall(app.Inbound, "13812345678")
	c.wait("the failed search", func(ci crm.CallInfo) bool { return ci.SearchError != "" })
	before := len(r.dv.Records("contact"))
	c.answer().end()
	r.settle()
	if n := len(r.dv.Records("contact")); n != before {
		t.Fatalf("%d contacts created for a known number", n-before)
	}
	if m := partyMasks(c.phonecall()); m["contact:"+cifhost.SampleID("contact", "zhang")] != 1 {
		t.Errorf("parties = %v", m)
	}
	if ci := r.info(c.c.ID); ci.Created != nil || len(ci.Matches) != 1 {
		t.Errorf("info = %+v", ci)
	}
}

func TestPartyChosenLater(t *testing.T) {
	r := newRig(t, func(s *crm.Settings) { s.ActivityPage = false }, rigOpt{})
	c := r.newCall(app.Inbound, "+86 139 0000 1111")
	ci := c.wait("the search", func(ci crm.CallInfo) bool { return ci.Matched })
	c.answer()
	r.settle()
	if m := partyMasks(c.phonecall()); len(m) != 1 || m["systemuser:"+r.dv.UserID()] != 2 {
		t.Fatalf("several matches: only the agent is a party until the agent picks: %v", m)
	}
	pick := ci.Matches[2].Ref // the lead
	if err := r.eng.SaveActivity(t.Context(), c.c.ID, crm.ActivityEdit{Party: &pick}); err != nil {
		t.Fatal(err)
	}
	c.end()
	r.settle()
	pc := c.phonecall()
	if m := partyMasks(pc); m["lead:"+pick.ID] != 1 || len(m) != 2 {
		t.Errorf("parties after the pick = %v", m)
	}
	if pc["_regardingobjectid_value"] != pick.ID || pc["statecode"] != int64(1) {
		t.Errorf("phonecall = %v", pc)
	}

	// Unknown caller, added by hand during the call: the new contact
	// becomes the activity's party.
	u := r.newCall(app.Inbound, "+86 150 0000 6666")
	u.wait("the search", func(ci crm.CallInfo) bool { return ci.Matched })
	u.answer()
	ref, err := r.eng.AddRecord(t.Context(), u.c.ID, "contact")
	if err != nil {
		t.Fatal(err)
	}
	u.end()
	r.settle()
	if m := partyMasks(u.phonecall()); m["contact:"+ref.ID] != 1 {
		t.Errorf("parties after adding the caller = %v", m)
	}
}
