package crm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"switchboard/app"
	"switchboard/app/store"
	"switchboard/crm/crmconf"
)

// Options configure an Engine.
type Options struct {
	// Settings returns the agent's current settings; it is read at every
	// decision, so a change applies at once. Required.
	Settings func() Settings
	// Bridge runs CIF calls in a Dynamics tab. Required.
	Bridge Bridge
	// Outbox keeps every write until Dynamics has it. Required.
	Outbox Outbox
	// AgentID returns the agent's systemuser id (getEnvironment's userId
	// without braces), or "" while no tab has reported it. Required.
	AgentID func() string
	Logger  *slog.Logger
	// OnUpdate, if set, receives a call's CRM state whenever it changes,
	// in order. It must not block or call back into the Engine.
	OnUpdate func(CallInfo)
	// OnPending, if set, receives the number of writes not yet in
	// Dynamics whenever it changes.
	OnPending func(int)

	// SearchTimeout bounds one read through the bridge (default 12 s:
	// CIF itself gives up after 10 s).
	SearchTimeout time.Duration
	// WriteTimeout bounds one write through the bridge (default 15 s).
	WriteTimeout time.Duration
	// RetryMin and RetryMax bound the backoff of a failed write
	// (defaults 2 s and 5 min); OfflineRetry is the wait while no tab is
	// connected (default 10 s; Kick cuts it short).
	RetryMin, RetryMax, OfflineRetry time.Duration
	// CompleteAfter completes a call's activity this long after the call
	// ended even if the agent left its page open (default 30 min).
	CompleteAfter time.Duration
	// OrgLCID, if set, returns the Dynamics organisation's language
	// (getEnvironment's orgLcid; 0 while unknown): the default subject of
	// an activity is written in it.
	OrgLCID func() int
	// KeepCalls is how many ended calls stay in memory for the agent's
	// manual actions (default 200); older ones are registered again with
	// OnCall.
	KeepCalls int
}

// CallInfo is a call's CRM state, for the call card and the toast.
type CallInfo struct {
	CallID string `json:"callId"`
	Number Number `json:"number"`
	// NumberError says why the number cannot be looked up (withheld,
	// junk); Internal calls are never looked up.
	NumberError string `json:"numberError,omitempty"`
	Internal    bool   `json:"internal,omitempty"`
	Searching   bool   `json:"searching,omitempty"`
	SearchError string `json:"searchError,omitempty"`
	// Matched: the search finished; Matches are the confirmed records, in
	// the order of the match_entities setting.
	Matched bool     `json:"matched"`
	Matches []Record `json:"matches"`
	// Chosen is the agent's pick among several matches.
	Chosen *Ref `json:"chosen,omitempty"`
	// OfferAdd: show "add as contact/account/lead".
	OfferAdd bool `json:"offerAdd,omitempty"`
	// Created is the record made for the unknown number (it may still be
	// waiting in the outbox).
	Created *Ref `json:"created,omitempty"`
	// Popped is what the screen pop did, once it happened.
	Popped PopKind `json:"popped,omitempty"`
	// ShowActivityPage asks the widget to open the activity page.
	ShowActivityPage bool          `json:"showActivityPage,omitempty"`
	Activity         *ActivityInfo `json:"activity,omitempty"`
	// SyncError is the last failure to queue a write.
	SyncError string `json:"syncError,omitempty"`
}

// ActivityInfo is the call's phonecall activity as the agent edits it.
type ActivityInfo struct {
	ID          string `json:"id"`
	Subject     string `json:"subject"`
	Description string `json:"description"`
	Regarding   *Ref   `json:"regarding,omitempty"`
	Party       *Ref   `json:"party,omitempty"`
	// Queued: a write of this activity is in the outbox or done.
	Queued bool `json:"queued"`
	// Completed: the completion has been queued.
	Completed bool `json:"completed,omitempty"`
}

// ActivityEdit is what the agent changed on the activity page. Nil
// fields are left as they are.
type ActivityEdit struct {
	Subject     *string `json:"subject,omitempty"`
	Description *string `json:"description,omitempty"`
	// Regarding sets the opportunity; ClearRegarding removes it.
	Regarding      *Ref `json:"regarding,omitempty"`
	ClearRegarding bool `json:"clearRegarding,omitempty"`
	// Party is the caller's record chosen on the page.
	Party *Ref `json:"party,omitempty"`
}

// Errors of the manual actions.
var (
	ErrUnknownCall = errors.New("the call is not known to the CRM integration (register it with OnCall)")
	ErrNotExternal = errors.New("the call has no external number to look up in Dynamics")
	ErrNoMatch     = errors.New("no Dynamics record matches this number")
	ErrNoRecording = errors.New("recording in Dynamics is turned off (settings: recording_attach)")
	ErrCreationOff = errors.New("adding numbers to Dynamics is turned off (settings: contact_creation)")
)

// Outbox item kinds.
const (
	kindPhonecall = "crm.phonecall"          // full state of the activity
	kindComplete  = "crm.phonecall.complete" // completion only
	kindRecord    = "crm.record"             // contact/account/lead for a number
	kindNote      = "crm.note"               // recording attachment
)

// job is an outbox item's payload.
type job struct {
	Group     string        `json:"group"` // call id: items of one call run in order
	Phonecall *phonecallJob `json:"phonecall,omitempty"`
	Record    *recordJob    `json:"record,omitempty"`
	Note      *noteJob      `json:"note,omitempty"`
}

type phonecallJob struct {
	Call PhoneCall `json:"call"`
	// Fields false: completion only (never creates).
	Fields      bool `json:"fields"`
	Complete    bool `json:"complete"`
	WithParties bool `json:"withParties,omitempty"`
	// PartyNumber: resolve the party by searching this number when sent
	// (the call was logged while Dynamics could not be searched).
	PartyNumber *Number `json:"partyNumber,omitempty"`
}

type recordJob struct {
	Ref    Ref    `json:"ref"`
	Number Number `json:"number"`
	// Ensure: search the number first and create only if still unknown
	// (automatic creation decided while Dynamics could not be searched).
	Ensure bool `json:"ensure,omitempty"`
	// Open the record's form once created (the agent asked for it).
	Open bool `json:"open,omitempty"`
}

type noteJob struct {
	NoteID      string    `json:"noteId"`
	PhonecallID string    `json:"phonecallId"`
	Recording   Recording `json:"recording"`
	MaxBase64   int       `json:"maxBase64"`
}

type matchState int

const (
	matchIdle matchState = iota
	matchSearching
	matchDone
	matchFailed
)

// callState is everything the engine knows about one call. Guarded by
// Engine.mu; the per-call worker is the only one driving automatic
// actions, so they happen in order.
type callState struct {
	snap    app.Call
	live    bool
	num     Number
	numErr  error
	numDone bool

	match    matchState
	matchErr error
	matches  []Record
	chosen   *Ref
	created  *Ref

	popped                         PopKind
	expanded, pageShown, pageOpen  bool
	activity                       bool // a write of the activity is queued
	completed                      bool
	endQueued                      bool
	partyChanged                   bool
	subject, description           string
	regarding                      *Ref
	recording                      *Recording
	noteQueued                     bool
	syncErr                        string
	pending, running               bool
	endedAt                        time.Time
	searchWait                     chan struct{} // closed when a running search finishes
	createTried, popTried, ensured bool
	// recalled: brought back from the call log (Recall); activityRead:
	// its activity has been read back from Dynamics (or found absent).
	recalled, activityRead bool
}

// Engine holds every Dynamics rule: it observes call snapshots, decides
// screen pops, record creation and activities, runs reads through the
// bridge and writes through the outbox.
type Engine struct {
	o    Options
	log  *slog.Logger
	base context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup

	mu      sync.Mutex
	calls   map[string]*callState
	ended   []string // ended call ids, oldest first, for eviction
	seq     int64
	pending int

	busy  atomic.Int64 // background requests (pops, panel) in flight
	pubMu sync.Mutex   // keeps OnUpdate calls in order
	wake  chan struct{}
	kick  chan struct{}
}

// New checks opts and returns an engine. Call Run to send the outbox and
// Close when done.
func New(o Options) (*Engine, error) {
	switch {
	case o.Settings == nil:
		return nil, errors.New("crm: Options.Settings is required")
	case o.Bridge == nil:
		return nil, errors.New("crm: Options.Bridge is required")
	case o.Outbox == nil:
		return nil, errors.New("crm: Options.Outbox is required")
	case o.AgentID == nil:
		return nil, errors.New("crm: Options.AgentID is required")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.SearchTimeout, 12*time.Second)
	def(&o.WriteTimeout, 15*time.Second)
	def(&o.RetryMin, 2*time.Second)
	def(&o.RetryMax, 5*time.Minute)
	def(&o.OfflineRetry, 10*time.Second)
	def(&o.CompleteAfter, 30*time.Minute)
	if o.KeepCalls <= 0 {
		o.KeepCalls = 200
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	base, stop := context.WithCancel(context.Background())
	return &Engine{
		o: o, log: log.With("room", "crm"), base: base, stop: stop,
		calls: map[string]*callState{},
		wake:  make(chan struct{}, 1), kick: make(chan struct{}, 1),
		pending: -1,
	}, nil
}

// Close stops the call workers and waits for them. Writes not yet sent
// stay in the outbox for the next start.
func (e *Engine) Close() {
	e.stop()
	e.wg.Wait()
}

// Kick tells the engine a Dynamics tab has connected: every waiting write
// is tried now rather than at its backoff time.
func (e *Engine) Kick() {
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

func (e *Engine) settings() Settings { return e.o.Settings().Canonical() }

// lcid is the organisation's language; never call it holding e.mu.
func (e *Engine) lcid() int {
	if e.o.OrgLCID == nil {
		return 0
	}
	return e.o.OrgLCID()
}

// OnCall observes a call snapshot; the app calls it for every call event.
// It never blocks: decisions run on a worker per call, in order. A call
// first seen already ended (history) is only registered, so the agent's
// manual actions can refer to it.
func (e *Engine) OnCall(c app.Call) {
	if c.ID == "" {
		return
	}
	e.mu.Lock()
	st, ok := e.calls[c.ID]
	if !ok {
		st = &callState{live: c.State != app.CallEnded}
		e.calls[c.ID] = st
	}
	st.snap = c
	if c.State == app.CallEnded && st.endedAt.IsZero() {
		st.endedAt = time.Now()
		e.ended = append(e.ended, c.ID)
		e.evictLocked()
	}
	st.pending = true
	start := !st.running
	st.running = true
	e.mu.Unlock()
	if start {
		e.wg.Add(1)
		go e.work(st)
	}
}

func (e *Engine) evictLocked() {
	for len(e.ended) > e.o.KeepCalls {
		id := e.ended[0]
		e.ended = e.ended[1:]
		if st, ok := e.calls[id]; ok && !st.running {
			delete(e.calls, id)
		}
	}
}

func (e *Engine) work(st *callState) {
	defer e.wg.Done()
	for {
		e.mu.Lock()
		if !st.pending || e.base.Err() != nil {
			st.running = false
			e.mu.Unlock()
			return
		}
		st.pending = false
		snap := st.snap
		e.mu.Unlock()
		e.step(st, snap)
	}
}

func (e *Engine) facts(st *callState, c app.Call) Facts {
	return Facts{
		Direction: c.Direction, External: st.numErr == nil && st.num.External(), Live: st.live,
		Answered: !c.Answered.IsZero(), Ended: c.State == app.CallEnded,
		Matched: st.match == matchDone, Matches: len(st.matches),
		Popped: st.popped != "" || st.popTried, Created: st.created != nil || st.createTried,
		ActivityStarted: st.activity, PageShown: st.pageShown, Expanded: st.expanded,
	}
}

// step drives the automatic actions for the latest snapshot.
func (e *Engine) step(st *callState, c app.Call) {
	s := e.settings()
	e.mu.Lock()
	if !st.numDone {
		st.num, st.numErr = Normalize(c.Number, NumberOptionsOf(s))
		st.numDone = true
	}
	f := e.facts(st, c)
	expand := ShouldExpand(s, f)
	if expand {
		st.expanded = true
	}
	search := f.Live && f.External && st.match == matchIdle
	e.mu.Unlock()

	if expand {
		e.async(func() {
			ctx, cancel := context.WithTimeout(e.base, e.o.SearchTimeout)
			defer cancel()
			if _, err := e.o.Bridge.Do(ctx, Request{Op: OpSetMode, Data: json.RawMessage("1")}); err != nil {
				e.log.Info("could not expand the Dynamics panel", "call", c.ID, "err", err)
			}
		})
	}
	if search {
		e.runSearch(st)
	}
	e.publish(st)

	e.mu.Lock()
	f = e.facts(st, c)
	pop := ShouldPop(s, f)
	if pop {
		st.popTried = true
	}
	create := ShouldCreate(s, f)
	// Automatic creation decided while Dynamics could not be searched:
	// queue it to search again and create only if still unknown.
	ensure := false
	if !create && st.match == matchFailed {
		g := f
		g.Matched, g.Matches = true, 0
		ensure = ShouldCreate(s, g)
	}
	if create || ensure {
		st.createTried = true
	}
	page := ShouldShowActivityPage(s, f)
	if page {
		st.pageShown, st.pageOpen = true, true
	}
	startActivity := ShouldStartActivity(s, f)
	e.mu.Unlock()

	if pop {
		e.pop(st, c.ID)
	}
	if create || ensure {
		e.createRecord(st, c.ID, s.ContactCreateAs, ensure, false)
	}
	if page {
		e.publish(st)
	}
	if startActivity {
		e.queueActivity(st, "phonecall:create:"+c.ID, false)
	}
	if f.Ended && f.Live {
		e.finish(st, c)
	}
	e.queueNote(st)
}

// runSearch looks the call's number up, once at a time per call.
func (e *Engine) runSearch(st *callState) {
	e.mu.Lock()
	if st.match == matchSearching {
		w := st.searchWait
		e.mu.Unlock()
		select {
		case <-w:
		case <-e.base.Done():
		}
		return
	}
	st.match = matchSearching
	st.searchWait = make(chan struct{})
	n := st.num
	e.mu.Unlock()
	e.publish(st)

	matches, err := e.searchNumber(e.base, e.settings(), n)

	e.mu.Lock()
	if err != nil {
		st.match, st.matchErr = matchFailed, err
	} else {
		st.match, st.matchErr, st.matches = matchDone, nil, matches
		if st.created != nil && len(matches) == 0 {
			st.matches = []Record{{Ref: *st.created}}
		}
	}
	close(st.searchWait)
	e.mu.Unlock()
	if err != nil {
		e.log.Warn("Dynamics search failed", "number", n.Raw, "err", err)
	}
}

// searchNumber finds the records whose phone columns hold n, in the
// order of the match_entities setting. A table Dynamics refuses to search
// (e.g. no lead table without Sales) is skipped; a search that could not
// run fails the whole lookup, so nothing is created on a guess.
func (e *Engine) searchNumber(ctx context.Context, s Settings, n Number) ([]Record, error) {
	rule := MatchRuleOf(s)
	type res struct {
		recs []Record
		err  error
	}
	results := make([]res, len(s.MatchEntities))
	var wg sync.WaitGroup
	for i, ent := range s.MatchEntities {
		wg.Go(func() {
			q, err := PhoneQuery(ent, n)
			if err != nil {
				results[i].err = err
				return
			}
			cctx, cancel := context.WithTimeout(ctx, e.o.SearchTimeout)
			defer cancel()
			resp, err := e.o.Bridge.Do(cctx, Request{Op: OpSearch, Entity: ent, Query: q})
			if err != nil {
				results[i].err = err
				return
			}
			recs, err := ParseSearch(ent, resp.Result)
			if err != nil {
				results[i].err = err
				return
			}
			if len(recs) >= SearchTop {
				e.log.Warn("phone search hit its limit; a match may be missed", "entity", ent, "limit", SearchTop)
			}
			for _, r := range recs {
				for _, v := range r.Phones {
					if rule.Same(n, v) {
						results[i].recs = append(results[i].recs, r)
						break
					}
				}
			}
		})
	}
	wg.Wait()
	var out []Record
	for i, r := range results {
		var ce *CIFError
		switch {
		case r.err == nil:
			out = append(out, r.recs...)
		case errors.As(r.err, &ce):
			e.log.Warn("Dynamics refused a phone search; skipping that table", "entity", s.MatchEntities[i], "err", r.err)
		default:
			return nil, fmt.Errorf("searching %ss: %w", s.MatchEntities[i], r.err)
		}
	}
	return out, nil
}

// pop does the screen pop for the call's matches. It does not wait for
// the answer: CIF gives openForm no timeout, and a form may only "return"
// when the agent leaves it, which must not hold up the call's activity.
func (e *Engine) pop(st *callState, callID string) {
	e.mu.Lock()
	plan := PlanPop(st.matches, st.chosen)
	st.popped = plan.Kind
	e.mu.Unlock()
	e.publish(st)
	e.async(func() {
		if err := e.doPop(plan); err != nil {
			e.log.Warn("screen pop failed", "call", callID, "err", err)
		}
	})
}

// async runs f in the background, tracked so Close waits for it.
func (e *Engine) async(f func()) {
	e.wg.Add(1)
	e.busy.Add(1)
	go func() {
		defer e.wg.Done()
		defer e.busy.Add(-1)
		f()
	}()
}

func (e *Engine) doPop(plan PopPlan) error {
	ctx, cancel := context.WithTimeout(e.base, e.o.SearchTimeout)
	defer cancel()
	switch plan.Kind {
	case PopOpen:
		data, _ := json.Marshal(map[string]string{"entityName": plan.Target.Entity, "entityId": plan.Target.ID})
		_, err := e.o.Bridge.Do(ctx, Request{Op: OpOpenForm, Entity: plan.Target.Entity, ID: plan.Target.ID, Data: data})
		return err
	case PopSearch:
		_, err := e.o.Bridge.Do(ctx, Request{Op: OpRenderSearch, Entity: plan.Entity, Query: plan.Search})
		return err
	}
	return nil
}

// party is the record the activity names: the agent's pick, the one
// match, or the record created for the number.
func (st *callState) party() *Ref {
	switch {
	case st.chosen != nil:
		r := *st.chosen
		return &r
	case len(st.matches) == 1:
		r := st.matches[0].Ref
		return &r
	case st.created != nil && len(st.matches) == 0:
		r := *st.created
		return &r
	}
	return nil
}

// phonecall is the activity as the call and the agent's edits make it.
func (st *callState) phonecall(lcid int) PhoneCall {
	c := st.snap
	p := PhoneCall{
		ID: StableID("phonecall", c.ID), Direction: c.Direction,
		Number: c.Number, Subject: st.subject, Description: st.description,
		Answered: !c.Answered.IsZero(), Quality: c.Quality,
		Party: st.party(), Regarding: st.regarding, LCID: lcid,
	}
	if p.Subject == "" {
		name := c.Name
		if p.Party != nil && p.Party.Name != "" {
			name = p.Party.Name
		}
		p.Subject = SubjectIn(lcid, c.Direction, name, c.Number)
	}
	p.Start = c.Answered
	if p.Start.IsZero() {
		p.Start = c.Started
	}
	if c.State == app.CallEnded {
		p.End = c.Ended
	}
	return p
}

// queueActivity writes the activity's full state. complete asks for the
// completion in the same write (the call is over and its page closed).
func (e *Engine) queueActivity(st *callState, key string, complete bool) {
	lcid := e.lcid()
	e.mu.Lock()
	st.activity = true
	if complete {
		st.completed = true
	}
	j := &phonecallJob{Call: st.phonecall(lcid), Fields: true, Complete: complete, WithParties: st.partyChanged}
	if st.chosen == nil && st.ensured && st.created != nil && j.Call.Party != nil && *j.Call.Party == *st.created {
		// The record may not be created after all (the deferred search
		// can find one): name whatever the number matches when sent.
		j.Call.Party = nil
	}
	if j.Call.Party == nil && (st.match == matchFailed || st.ensured) && st.numErr == nil {
		n := st.num
		j.PartyNumber = &n
	}
	id := st.snap.ID
	e.mu.Unlock()
	e.enqueue(st, key, kindPhonecall, job{Group: id, Phonecall: j}, time.Time{})
	e.publish(st)
}

// finish queues what a call's end brings: the end time, duration and
// quality, the completion (now if the activity page is closed, else when
// it closes or after CompleteAfter) and the pop at call end.
func (e *Engine) finish(st *callState, c app.Call) {
	e.mu.Lock()
	if st.endQueued || !st.activity {
		e.mu.Unlock()
		return
	}
	st.endQueued = true
	open := st.pageOpen
	e.mu.Unlock()
	e.queueActivity(st, "phonecall:end:"+c.ID, !open)
	if open {
		e.enqueue(st, "phonecall:complete-late:"+c.ID, kindComplete,
			job{Group: c.ID, Phonecall: &phonecallJob{Call: PhoneCall{ID: StableID("phonecall", c.ID), Direction: c.Direction}, Complete: true}},
			time.Now().Add(e.o.CompleteAfter))
	}
}

// createRecord queues the record for the call's unknown number.
func (e *Engine) createRecord(st *callState, callID, entity string, ensure, open bool) Ref {
	e.mu.Lock()
	n := st.num
	ref := Ref{Entity: entity, ID: StableID("record", entity, callID, n.Digits), Name: NewRecordName(n)}
	st.created = &ref
	st.ensured = ensure
	if st.match == matchDone && len(st.matches) == 0 {
		st.matches = []Record{{Ref: ref}}
	}
	e.mu.Unlock()
	e.enqueue(st, "record:create:"+callID+":"+entity+":"+n.Digits, kindRecord,
		job{Group: callID, Record: &recordJob{Ref: ref, Number: n, Ensure: ensure, Open: open}}, time.Time{})
	e.publish(st)
	return ref
}

// queueNote attaches the recording once both it and the activity exist.
func (e *Engine) queueNote(st *callState) {
	s := e.settings()
	e.mu.Lock()
	if !s.RecordingAttach || st.recording == nil || !st.activity || st.noteQueued || st.snap.State != app.CallEnded {
		e.mu.Unlock()
		return
	}
	st.noteQueued = true
	rec := *st.recording
	id := st.snap.ID
	e.mu.Unlock()
	e.enqueue(st, "note:create:"+id+":"+rec.Name, kindNote, job{Group: id, Note: &noteJob{
		NoteID: StableID("note", id, rec.Name), PhonecallID: StableID("phonecall", id),
		Recording: rec, MaxBase64: s.RecordingMaxBase64,
	}}, time.Time{})
}

func (e *Engine) enqueue(st *callState, key, kind string, j job, at time.Time) {
	payload, err := json.Marshal(j)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(e.base), 10*time.Second)
		_, _, err = e.o.Outbox.Enqueue(ctx, store.OutboxItem{Key: key, Kind: kind, Payload: payload, NextAt: at})
		cancel()
	}
	if err != nil {
		e.log.Error("could not queue a Dynamics write", "key", key, "err", err)
		e.mu.Lock()
		st.syncErr = err.Error()
		e.mu.Unlock()
		return
	}
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

func (e *Engine) nextSeq() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.seq++
	return strconv.FormatInt(time.Now().UnixNano(), 36) + "." + strconv.FormatInt(e.seq, 36)
}

// info renders a call's state. Caller holds e.mu.
func (st *callState) info(lcid int) CallInfo {
	ci := CallInfo{CallID: st.snap.ID, Number: st.num, Matches: slices.Clone(st.matches), SyncError: st.syncErr}
	if ci.Matches == nil {
		ci.Matches = []Record{}
	}
	if st.numErr != nil {
		ci.NumberError = st.numErr.Error()
	}
	ci.Internal = st.numErr == nil && !st.num.External()
	ci.Searching = st.match == matchSearching
	ci.Matched = st.match == matchDone
	if st.matchErr != nil {
		ci.SearchError = st.matchErr.Error()
	}
	if st.chosen != nil {
		r := *st.chosen
		ci.Chosen = &r
	}
	if st.created != nil {
		r := *st.created
		ci.Created = &r
	}
	ci.Popped = st.popped
	ci.ShowActivityPage = st.pageOpen
	p := st.phonecall(lcid)
	ci.Activity = &ActivityInfo{
		ID: p.ID, Subject: p.Subject, Description: st.description,
		Regarding: st.regarding, Party: p.Party, Queued: st.activity, Completed: st.completed,
	}
	return ci
}

// offerAdd is computed with the settings, outside info.
func (e *Engine) publish(st *callState) {
	if e.o.OnUpdate == nil {
		return
	}
	s := e.settings()
	e.pubMu.Lock()
	defer e.pubMu.Unlock()
	lcid := e.lcid()
	e.mu.Lock()
	ci := st.info(lcid)
	ci.OfferAdd = OfferAdd(s, e.facts(st, st.snap))
	e.mu.Unlock()
	e.o.OnUpdate(ci)
}

// Info returns a call's CRM state.
func (e *Engine) Info(callID string) (CallInfo, bool) {
	s := e.settings()
	lcid := e.lcid()
	e.mu.Lock()
	defer e.mu.Unlock()
	st, ok := e.calls[callID]
	if !ok {
		return CallInfo{}, false
	}
	ci := st.info(lcid)
	ci.OfferAdd = OfferAdd(s, e.facts(st, st.snap))
	return ci, true
}

func (e *Engine) call(callID string) (*callState, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	st, ok := e.calls[callID]
	if !ok {
		return nil, fmt.Errorf("call %s: %w", callID, ErrUnknownCall)
	}
	return st, nil
}

// ensureMatched searches the call's number if that has not succeeded
// yet (a call from history, or a search that failed while no tab was
// connected).
func (e *Engine) ensureMatched(ctx context.Context, st *callState) error {
	s := e.settings()
	e.mu.Lock()
	if !st.numDone {
		st.num, st.numErr = Normalize(st.snap.Number, NumberOptionsOf(s))
		st.numDone = true
	}
	if st.numErr != nil || !st.num.External() {
		e.mu.Unlock()
		return ErrNotExternal
	}
	done := st.match == matchDone
	if !done && st.match != matchSearching {
		st.match = matchIdle
	}
	e.mu.Unlock()
	if done {
		return nil
	}
	e.runSearch(st)
	e.publish(st)
	e.mu.Lock()
	defer e.mu.Unlock()
	if st.match != matchDone {
		return st.matchErr
	}
	return ctx.Err()
}

// OpenRecord is the call card's "open record" button (manual screen pop):
// the chosen or only match opens; several open the search page.
func (e *Engine) OpenRecord(ctx context.Context, callID string) error {
	st, err := e.call(callID)
	if err != nil {
		return err
	}
	if err := e.ensureMatched(ctx, st); err != nil {
		return fmt.Errorf("open record: %w", err)
	}
	e.mu.Lock()
	plan := PlanPop(st.matches, st.chosen)
	e.mu.Unlock()
	if plan.Kind == PopOfferAdd {
		return fmt.Errorf("open record: %w", ErrNoMatch)
	}
	if err := e.doPop(plan); err != nil {
		return fmt.Errorf("open record: %w", err)
	}
	return nil
}

// Choose records the agent's pick among several matches (or on the
// activity page); a queued activity gets the new party.
func (e *Engine) Choose(callID string, r Ref) error {
	if _, ok := EntityInfo(r.Entity); !ok || len(mustEntity(r.Entity).Phones) == 0 {
		return fmt.Errorf("choose record: %q is not a contact, account or lead", r.Entity)
	}
	id, err := NormalizeGUID(r.ID)
	if err != nil {
		return fmt.Errorf("choose record: %w", err)
	}
	r.ID = id
	st, err := e.call(callID)
	if err != nil {
		return err
	}
	e.mu.Lock()
	st.chosen = &r
	st.partyChanged = true
	queued := st.activity
	e.mu.Unlock()
	if queued {
		e.queueActivity(st, "phonecall:edit:"+callID+":"+e.nextSeq(), e.completeNow(st))
	} else {
		e.publish(st)
	}
	return nil
}

func mustEntity(name string) Entity { e, _ := EntityInfo(name); return e }

// completeNow: a write made now may complete the activity (the call is
// over and its page is closed).
func (e *Engine) completeNow(st *callState) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return st.snap.State == app.CallEnded && !st.pageOpen && st.endQueued
}

// AddRecord saves the call's unknown number in Dynamics as a contact,
// account or lead (the agent's "add" button, C2 manual) and opens its
// form once written. It returns the record the write will create.
func (e *Engine) AddRecord(ctx context.Context, callID, entity string) (Ref, error) {
	s := e.settings()
	if s.ContactCreation == crmconf.CreateOff {
		return Ref{}, ErrCreationOff
	}
	if entity != crmconf.EntityContact && entity != crmconf.EntityAccount && entity != crmconf.EntityLead {
		return Ref{}, fmt.Errorf("add record: %q: use contact, account or lead", entity)
	}
	st, err := e.call(callID)
	if err != nil {
		return Ref{}, err
	}
	e.mu.Lock()
	if !st.numDone {
		st.num, st.numErr = Normalize(st.snap.Number, NumberOptionsOf(s))
		st.numDone = true
	}
	bad := st.numErr != nil || !st.num.External()
	e.mu.Unlock()
	if bad {
		return Ref{}, fmt.Errorf("add record: %w", ErrNotExternal)
	}
	ref := e.createRecord(st, callID, entity, false, true)
	e.mu.Lock()
	queued := st.activity
	if queued && st.chosen == nil {
		st.chosen, st.partyChanged = &ref, true
	}
	e.mu.Unlock()
	if queued {
		e.queueActivity(st, "phonecall:edit:"+callID+":"+e.nextSeq(), e.completeNow(st))
	}
	return ref, ctx.Err()
}

// ActivityPage tells the engine the widget opened or closed the call's
// activity page: the activity is completed only once the call is over
// and its page closed, so the agent can keep writing notes.
func (e *Engine) ActivityPage(callID string, open bool) error {
	st, err := e.call(callID)
	if err != nil {
		return err
	}
	e.mu.Lock()
	was := st.pageOpen
	st.pageOpen = open
	closeNow := was && !open && st.endQueued && !st.completed
	e.mu.Unlock()
	if closeNow {
		e.queueActivity(st, "phonecall:close:"+callID+":"+e.nextSeq(), true)
		return nil
	}
	e.publish(st)
	return nil
}

// SaveActivity applies the agent's edits (Save, or autosave while typing)
// and queues the activity: created if it is not in Dynamics yet (manual
// mode writes on Save only), else updated.
func (e *Engine) SaveActivity(ctx context.Context, callID string, ed ActivityEdit) error {
	st, err := e.call(callID)
	if err != nil {
		return err
	}
	// A past call's activity is edited over what Dynamics holds, never
	// over blanks: read it first if Recall could not.
	e.mu.Lock()
	unread := st.recalled && !st.activityRead
	e.mu.Unlock()
	if unread {
		if err := e.readActivity(ctx, st); err != nil {
			return fmt.Errorf("save activity: reading the call's activity first: %w", err)
		}
	}
	if ed.Regarding != nil {
		if ed.Regarding.Entity != "opportunity" {
			return fmt.Errorf("save activity: regarding must be an opportunity, not %q", ed.Regarding.Entity)
		}
		id, err := NormalizeGUID(ed.Regarding.ID)
		if err != nil {
			return fmt.Errorf("save activity: regarding: %w", err)
		}
		ed.Regarding.ID = id
	}
	if ed.Party != nil {
		if err := e.Choose(callID, *ed.Party); err != nil {
			return fmt.Errorf("save activity: %w", err)
		}
	}
	e.mu.Lock()
	if ed.Subject != nil {
		st.subject = truncUTF16(*ed.Subject, maxSubject)
	}
	if ed.Description != nil {
		st.description = *ed.Description
	}
	switch {
	case ed.ClearRegarding:
		st.regarding = nil
	case ed.Regarding != nil:
		r := *ed.Regarding
		st.regarding = &r
	}
	ended := st.snap.State == app.CallEnded
	dir := st.snap.Direction
	if ended {
		st.endQueued = true // this write carries the end
	}
	e.mu.Unlock()
	complete := e.completeNow(st)
	e.queueActivity(st, "phonecall:edit:"+callID+":"+e.nextSeq(), complete)
	if ended && !complete {
		e.enqueue(st, "phonecall:complete-late:"+callID, kindComplete,
			job{Group: callID, Phonecall: &phonecallJob{Call: PhoneCall{ID: StableID("phonecall", callID), Direction: dir}, Complete: true}},
			time.Now().Add(e.o.CompleteAfter))
	}
	e.queueNote(st)
	return ctx.Err()
}

// AttachRecording hands the engine a finished call's recording (C5); it
// is attached to the call's activity as a note when recording_attach is
// on and the activity exists.
func (e *Engine) AttachRecording(ctx context.Context, callID string, rec Recording) error {
	if !e.settings().RecordingAttach {
		return ErrNoRecording
	}
	if rec.Path == "" {
		return errors.New("attach recording: no file given")
	}
	st, err := e.call(callID)
	if err != nil {
		return err
	}
	e.mu.Lock()
	r := rec
	st.recording = &r
	e.mu.Unlock()
	e.queueNote(st)
	return ctx.Err()
}

// SearchOpportunities finds open opportunities whose topic contains text
// (the activity page's "regarding" search).
func (e *Engine) SearchOpportunities(ctx context.Context, text string) ([]Ref, error) {
	q, err := TopicQuery(text)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, e.o.SearchTimeout)
	defer cancel()
	resp, err := e.o.Bridge.Do(ctx, Request{Op: OpSearch, Entity: "opportunity", Query: q})
	if err != nil {
		return nil, fmt.Errorf("searching opportunities: %w", err)
	}
	recs, err := ParseSearch("opportunity", resp.Result)
	if err != nil {
		return nil, err
	}
	out := make([]Ref, len(recs))
	for i, r := range recs {
		out[i] = r.Ref
	}
	return out, nil
}

// Idle reports whether no call is being worked on: every snapshot given
// to OnCall has been acted on and its pops and panel requests have been
// answered (writes are queued, not necessarily sent).
func (e *Engine) Idle() bool {
	if e.busy.Load() > 0 {
		return false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, st := range e.calls {
		if st.running {
			return false
		}
	}
	return true
}

// backoff is the wait before retry number attempts (1-based), jittered
// by ±20 % so many waiting writes do not retry in step.
func (e *Engine) backoff(attempts int) time.Duration {
	d := e.o.RetryMin
	for i := 1; i < attempts && d < e.o.RetryMax; i++ {
		d *= 2
	}
	d = min(d, e.o.RetryMax)
	j := time.Duration(rand.Int64N(int64(d)/5+1)*2) - d/5
	return d + j
}
