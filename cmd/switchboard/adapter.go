package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"switchboard/app"
	"switchboard/app/store"
	"switchboard/audio"
	"switchboard/crm"
	"switchboard/crm/crmconf"
	"switchboard/localhost"
)

// widgetPhone is the phone as the local server sees it: app.Phone plus
// the store and the sound devices.
type widgetPhone struct {
	*app.Phone // calls and events as they are
	st         *store.Store
	sys        *audio.System // nil when PortAudio is unavailable

	meterMu sync.Mutex
	meter   *sharedMeter
}

var _ localhost.Phone = (*widgetPhone)(nil)

func (w *widgetPhone) State() localhost.State {
	return localhost.State{
		Registration: w.Phone.Registration(),
		Calls:        w.Phone.Calls(),
		Settings:     w.Phone.Settings(),
	}
}

func (w *widgetPhone) History(ctx context.Context, q localhost.HistoryQuery) (localhost.HistoryPage, error) {
	page, err := w.st.ListCalls(ctx, q)
	if errors.Is(err, store.ErrInvalid) {
		return page, &localhost.FieldError{Field: "query", Message: err.Error()}
	}
	return page, err
}

func (w *widgetPhone) Settings(ctx context.Context) (localhost.Settings, error) {
	return w.Phone.Settings(), nil
}

func (w *widgetPhone) UpdateSettings(ctx context.Context, p localhost.SettingsPatch) (localhost.Settings, error) {
	var devs []audio.DeviceInfo
	if (p.Mic != nil && *p.Mic != "") || (p.Speaker != nil && *p.Speaker != "") || (p.Ringer != nil && *p.Ringer != "") {
		if w.sys == nil {
			return localhost.Settings{}, &localhost.FieldError{Field: "mic", Message: "no sound system is available on this computer"}
		}
		var err error
		if devs, err = w.sys.Devices(); err != nil {
			return localhost.Settings{}, err
		}
	}
	check := func(field string, name *string, input bool) error {
		if name == nil || *name == "" {
			return nil
		}
		for _, d := range devs {
			if d.Name == *name && ((input && d.Input) || (!input && d.Output)) {
				return nil
			}
		}
		return &localhost.FieldError{Field: field, Message: fmt.Sprintf("no such device %q", *name)}
	}
	s, err := w.Phone.UpdateSettings(ctx, func(s *app.Settings) error {
		if err := errors.Join(check("mic", p.Mic, true), check("speaker", p.Speaker, false), check("ringer", p.Ringer, false)); err != nil {
			var fe *localhost.FieldError
			if errors.As(err, &fe) {
				return fe
			}
			return err
		}
		if p.Mic != nil {
			s.Mic = *p.Mic
		}
		if p.Speaker != nil {
			s.Speaker = *p.Speaker
		}
		if p.Ringer != nil {
			s.Ringer = *p.Ringer
		}
		if p.AutoAnswer != nil {
			s.AutoAnswer = *p.AutoAnswer
		}
		if p.Language != nil {
			switch *p.Language {
			case "", "en", "zh-CN":
				s.Language = *p.Language
			default:
				return &localhost.FieldError{Field: "language", Message: "use en or zh-CN"}
			}
		}
		return nil
	})
	if err != nil {
		return localhost.Settings{}, err
	}
	return s, nil
}

func (w *widgetPhone) AudioDevices(ctx context.Context) ([]localhost.AudioDevice, error) {
	if w.sys == nil {
		return nil, nil
	}
	devs, err := w.sys.Devices()
	if err != nil {
		return nil, err
	}
	out := make([]localhost.AudioDevice, 0, len(devs))
	for _, d := range devs {
		out = append(out, localhost.AudioDevice{
			Name: d.Name, Input: d.Input, Output: d.Output, DefaultInput: d.DefaultInput,
			DefaultOutput: d.DefaultOutput, HostAPI: d.HostAPI, DefaultRateHz: d.DefaultRate,
		})
	}
	return out, nil
}

func (w *widgetPhone) PlayTestTone(ctx context.Context, role string) error {
	if w.sys == nil {
		return errors.New("no sound system is available on this computer")
	}
	s := w.Phone.Settings()
	var device string
	switch role {
	case "speaker":
		device = s.Speaker
	case "ringer":
		device = s.Ringer
	default:
		return &localhost.FieldError{Field: "role", Message: "use speaker or ringer"}
	}
	tone := audio.TestTone()
	tone.Once = true
	go func() {
		tctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_ = w.sys.PlayTone(tctx, device, tone)
	}()
	return nil
}

// MicLevels shares one meter of the selected microphone among every
// widget that shows it.
func (w *widgetPhone) MicLevels(ctx context.Context) (<-chan localhost.Level, error) {
	if w.sys == nil {
		return nil, errors.New("no sound system is available on this computer")
	}
	w.meterMu.Lock()
	if w.meter == nil || w.meter.stopped() {
		w.meter = startMeter(w.sys, w.Phone.Settings().Mic)
	}
	m := w.meter
	w.meterMu.Unlock()
	return m.subscribe(ctx), nil
}

// sharedMeter meters one microphone while anyone watches.
type sharedMeter struct {
	mu     sync.Mutex
	subs   map[chan localhost.Level]struct{}
	cancel context.CancelFunc
	done   bool
}

func startMeter(sys *audio.System, mic string) *sharedMeter {
	ctx, cancel := context.WithCancel(context.Background())
	m := &sharedMeter{subs: map[chan localhost.Level]struct{}{}, cancel: cancel}
	var lm audio.LevelMeter
	go func() { _ = sys.MonitorInput(ctx, mic, &lm) }()
	go func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			l := lm.Level()
			lv := localhost.Level{RMS: fromDBFS(l.RMS), Peak: fromDBFS(l.Peak)}
			m.mu.Lock()
			for ch := range m.subs {
				select {
				case ch <- lv:
				default:
				}
			}
			m.mu.Unlock()
		}
	}()
	return m
}

func fromDBFS(db float64) float64 {
	if db <= audio.SilenceDBFS {
		return 0
	}
	return math.Min(1, math.Pow(10, db/20))
}

func (m *sharedMeter) stopped() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.done
}

func (m *sharedMeter) subscribe(ctx context.Context) <-chan localhost.Level {
	ch := make(chan localhost.Level, 4)
	m.mu.Lock()
	m.subs[ch] = struct{}{}
	m.mu.Unlock()
	go func() {
		<-ctx.Done()
		m.mu.Lock()
		delete(m.subs, ch)
		close(ch)
		if len(m.subs) == 0 {
			m.done = true
			m.cancel()
		}
		m.mu.Unlock()
	}()
	return ch
}

// crmLink joins the Dynamics 365 rules (crm.Engine) to the phone, the
// store and the local server: it feeds the engine every call event, runs
// its CIF requests in the widget (the bridge), keeps the agent's CRM
// settings over the administrator's presets, and serves the widget's CRM
// API (localhost.CRM).
type crmLink struct {
	log    *slog.Logger
	st     *store.Store
	phone  callSource
	preset crmconf.Settings
	eng    *crm.Engine

	mu       sync.Mutex
	srv      *localhost.Server // set once the server exists
	settings crm.Settings
	agent    string // the agent's systemuser id, from getEnvironment
	lcid     int    // the organisation's language, from getEnvironment
	pending  int
	recent   []string // ended calls, newest last, whose activity page may be open
	clock    map[string]*popTiming
	named    map[string]string // call ID -> the CRM name given to the phone
}

// callSource is the phone as the CRM link sees it.
type callSource interface {
	Calls() []app.Call
	SetCallName(ctx context.Context, id, name string) error
}

// popTiming measures a call's screen pop for the log: from the INVITE to
// the CIF open request, without the time the Dynamics search took (the
// org's share, not ours).
type popTiming struct {
	invite, searchFrom time.Time
	crm                time.Duration
	done               bool
}

// Store keys of the agent's CRM setting overrides (a JSON object of the
// keys the agent changed) and of the last known systemuser id.
const (
	crmSettingsKey = "agent.crm"
	crmAgentKey    = "crm.agent"
	crmLCIDKey     = "crm.orgLcid"
)

var (
	_ localhost.CRM = (*crmLink)(nil)
	_ crm.Bridge    = (*crmLink)(nil)
)

// newCRMLink reads the agent's CRM settings over cfg's presets and makes
// the engine; startCRM runs it.
func newCRMLink(ctx context.Context, cfg app.Config, st *store.Store, phone callSource, log *slog.Logger) (*crmLink, error) {
	l := &crmLink{log: log, st: st, phone: phone, preset: cfg.CRM.Settings.Clone(), pending: -1,
		clock: map[string]*popTiming{}, named: map[string]string{}}
	var over json.RawMessage
	if _, err := st.GetSetting(ctx, crmSettingsKey, &over); err != nil {
		return nil, fmt.Errorf("reading the saved Dynamics settings: %w", err)
	}
	s, err := l.preset.WithOverrides(over)
	if err != nil {
		// A preset changed under the agent's choices: keep the presets.
		log.Warn("the saved Dynamics settings no longer apply; using the administrator's", "err", err)
		s = l.preset.Clone()
	}
	l.settings = s
	var agent string
	if _, err := st.GetSetting(ctx, crmAgentKey, &agent); err == nil {
		l.agent = agent
	}
	var lcid int
	if _, err := st.GetSetting(ctx, crmLCIDKey, &lcid); err == nil {
		l.lcid = lcid
	}
	l.eng, err = crm.New(crm.Options{
		Settings: l.current,
		Bridge:   l,
		Outbox:   st,
		AgentID:  l.agentID,
		OrgLCID:  l.orgLCID,
		Logger:   log,
		OnUpdate: func(ci crm.CallInfo) {
			l.timePop(ci)
			l.nameCall(ci)
			if srv := l.server(); srv != nil {
				srv.PublishCRMCall(ci)
			}
		},
		OnPending: func(n int) {
			l.mu.Lock()
			l.pending = n
			srv := l.srv
			l.mu.Unlock()
			if srv != nil {
				srv.PublishCRMPending(n)
			}
		},
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

// nameCall gives the phone the caller's name once Dynamics knows it (the
// record the agent chose, or the only match), so the call card, the
// desktop notification and the call log show who is calling.
func (l *crmLink) nameCall(ci crm.CallInfo) {
	var rec *crm.Ref
	switch {
	case ci.Chosen != nil:
		rec = ci.Chosen
	case len(ci.Matches) == 1:
		rec = &ci.Matches[0].Ref
	}
	if rec == nil || rec.Name == "" || (ci.Created != nil && ci.Created.ID == rec.ID) {
		return // nobody yet, or the "Automatic New Contact <number>" we made: the number says more
	}
	name := rec.Name
	l.mu.Lock()
	if l.named[ci.CallID] == name {
		l.mu.Unlock()
		return
	}
	if len(l.named) >= 256 {
		clear(l.named)
	}
	l.named[ci.CallID] = name
	l.mu.Unlock()
	// Not on the engine's goroutine: naming writes the store.
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := l.phone.SetCallName(ctx, ci.CallID, name); err != nil {
			l.log.Debug("naming the call", "call", ci.CallID, "err", err)
		}
	}()
}

func (l *crmLink) current() crm.Settings {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.settings.Clone()
}

func (l *crmLink) agentID() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.agent
}

func (l *crmLink) orgLCID() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lcid
}

func (l *crmLink) server() *localhost.Server {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.srv
}

func (l *crmLink) setServer(s *localhost.Server) {
	l.mu.Lock()
	l.srv = s
	l.mu.Unlock()
}

// follow feeds the engine every call snapshot from the phone's bus, and
// a finished call's recording when recording in CRM is on. sub must be
// taken before the phone starts, so no call is missed.
func (l *crmLink) follow(ctx context.Context, sub *app.Subscription) {
	defer sub.Close()
	dropped := 0
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-sub.C:
			if !ok {
				return
			}
			if d := sub.Dropped(); d != dropped {
				// Events were lost: the live calls' snapshots catch up.
				dropped = d
				for _, c := range l.phone.Calls() {
					l.eng.OnCall(c)
				}
			}
			if ev.Type != app.EvCall || ev.Call == nil {
				continue
			}
			l.startClock(*ev.Call)
			l.eng.OnCall(*ev.Call)
			if ev.Call.State == app.CallEnded {
				l.mu.Lock()
				l.recent = append(l.recent, ev.Call.ID)
				if len(l.recent) > 20 {
					l.recent = l.recent[len(l.recent)-20:]
				}
				l.mu.Unlock()
				l.attachRecording(ctx, *ev.Call)
			}
		}
	}
}

func (l *crmLink) startClock(c app.Call) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c.State == app.CallEnded {
		delete(l.clock, c.ID)
		return
	}
	if _, ok := l.clock[c.ID]; !ok && len(l.clock) < 64 {
		l.clock[c.ID] = &popTiming{invite: c.Started}
	}
}

// timePop logs how long the screen pop took once it is issued (the
// engine publishes the pop just before it sends the open request).
func (l *crmLink) timePop(ci crm.CallInfo) {
	now := time.Now()
	l.mu.Lock()
	pt, ok := l.clock[ci.CallID]
	if !ok || pt.done {
		l.mu.Unlock()
		return
	}
	switch {
	case ci.Searching && pt.searchFrom.IsZero():
		pt.searchFrom = now
	case !ci.Searching && !pt.searchFrom.IsZero():
		pt.crm += now.Sub(pt.searchFrom)
		pt.searchFrom = time.Time{}
	}
	if ci.Popped == "" || ci.Popped == crm.PopOfferAdd {
		l.mu.Unlock()
		return
	}
	pt.done = true
	total := now.Sub(pt.invite)
	crmTime := pt.crm
	l.mu.Unlock()
	l.log.Info("screen pop", "call", ci.CallID, "kind", ci.Popped, "latency", total-crmTime, "crm", crmTime)
}

// attachRecording hands the ended call's recording (indexed before the
// phone publishes the end) to the engine (C5).
func (l *crmLink) attachRecording(ctx context.Context, c app.Call) {
	if !l.current().RecordingAttach || c.Answered.IsZero() {
		return
	}
	page, err := l.st.ListRecordings(ctx, store.RecordingQuery{CallID: c.ID, Limit: 1})
	if err != nil {
		l.log.Warn("finding the call's recording for Dynamics", "call", c.ID, "err", err)
		return
	}
	if len(page.Recordings) == 0 {
		return
	}
	r := page.Recordings[0]
	mime := "audio/ogg"
	if r.Format == "wav" {
		mime = "audio/wav"
	}
	if err := l.eng.AttachRecording(ctx, c.ID, crm.Recording{Path: r.Path, Name: filepath.Base(r.Path), MIME: mime}); err != nil {
		l.log.Warn("attaching the recording in Dynamics", "call", c.ID, "err", err)
	}
}

// Do runs one CIF call in the most recently active Dynamics tab (the
// widget's cif-bridge.js executes it).
func (l *crmLink) Do(ctx context.Context, req crm.Request) (crm.Response, error) {
	srv := l.server()
	if srv == nil {
		return crm.Response{}, crm.ErrNotConnected
	}
	start := time.Now()
	data, err := srv.Request(ctx, "cif.call", req)
	l.log.Debug("cif request", "op", req.Op, "entity", req.Entity, "dur", time.Since(start), "ok", err == nil)
	if err == nil {
		return crm.Response{Result: data}, nil
	}
	var we *localhost.WidgetError
	switch {
	case errors.Is(err, localhost.ErrNoWidget), errors.Is(err, localhost.ErrWidgetGone):
		return crm.Response{}, fmt.Errorf("%w (%v)", crm.ErrNotConnected, err)
	case errors.As(err, &we) && we.Code == "cif_error":
		return crm.Response{}, crm.BridgeError(json.RawMessage(we.Message))
	case errors.As(err, &we) && (we.Code == "cif_unavailable" || we.Code == "not_ready"):
		return crm.Response{}, fmt.Errorf("%w (%s)", crm.ErrNotConnected, we.Message)
	}
	return crm.Response{}, err
}

// crmError turns the engine's errors into the local API's.
func crmError(err error) error {
	var fe *crmconf.FieldError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &fe):
		return &localhost.FieldError{Field: fe.JSON, Message: fe.Msg}
	case errors.Is(err, crm.ErrUnknownCall):
		return fmt.Errorf("%w: %v", localhost.ErrCallNotFound, err)
	case errors.Is(err, crm.ErrNotConnected):
		return fmt.Errorf("%w: %v", localhost.ErrCRMOffline, err)
	case errors.Is(err, crm.ErrNotExternal), errors.Is(err, crm.ErrNoMatch),
		errors.Is(err, crm.ErrCreationOff), errors.Is(err, crm.ErrNoRecording):
		return fmt.Errorf("%w: %v", localhost.ErrInvalidState, err)
	}
	return err
}

func (l *crmLink) Snapshot() localhost.CRMState {
	l.mu.Lock()
	st := localhost.CRMState{Settings: l.settings.Clone(), Pending: max(l.pending, 0)}
	recent := slices.Clone(l.recent)
	l.mu.Unlock()
	// A reloaded panel gets the live calls, and the ended ones whose
	// activity page is still open.
	for _, id := range recent {
		if ci, ok := l.eng.Info(id); ok && ci.ShowActivityPage {
			st.Calls = append(st.Calls, ci)
		}
	}
	for _, c := range l.phone.Calls() {
		if ci, ok := l.eng.Info(c.ID); ok {
			st.Calls = append(st.Calls, ci)
		}
	}
	return st
}

func (l *crmLink) Settings(ctx context.Context) (localhost.CRMSettings, error) {
	return l.current(), nil
}

// UpdateSettings merges the agent's change into its saved overrides, so
// keys the agent never touched keep following the administrator's
// presets.
func (l *crmLink) UpdateSettings(ctx context.Context, patch json.RawMessage) (localhost.CRMSettings, error) {
	var p map[string]json.RawMessage
	if err := json.Unmarshal(patch, &p); err != nil {
		return crm.Settings{}, &localhost.FieldError{Field: "settings", Message: "send a JSON object"}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	over := map[string]json.RawMessage{}
	if _, err := l.st.GetSetting(ctx, crmSettingsKey, &over); err != nil {
		return crm.Settings{}, err
	}
	if over == nil {
		over = map[string]json.RawMessage{}
	}
	for k, v := range p {
		over[k] = v
	}
	raw, _ := json.Marshal(over)
	s, err := l.preset.WithOverrides(raw)
	if err != nil {
		var fe *crmconf.FieldError
		if errors.As(err, &fe) {
			return crm.Settings{}, crmError(fe)
		}
		return crm.Settings{}, &localhost.FieldError{Field: "settings", Message: err.Error()}
	}
	if err := l.st.PutSetting(ctx, crmSettingsKey, over); err != nil {
		return crm.Settings{}, fmt.Errorf("saving the Dynamics settings: %w", err)
	}
	l.settings = s
	if l.srv != nil {
		l.srv.PublishCRMSettings(s.Clone())
	}
	return s.Clone(), nil
}

// Call is a call's Dynamics state; a call the engine has forgotten is
// recalled from the call log (the log's Dynamics actions, E1).
func (l *crmLink) Call(ctx context.Context, callID string) (any, error) {
	if ci, ok := l.eng.Info(callID); ok {
		return ci, nil
	}
	ci, err := l.recall(ctx, callID)
	if err != nil {
		return nil, err
	}
	return ci, nil
}

// known makes sure the engine holds callID before an action on it.
func (l *crmLink) known(ctx context.Context, callID string) error {
	if _, ok := l.eng.Info(callID); ok {
		return nil
	}
	_, err := l.recall(ctx, callID)
	return err
}

// recall brings a call of the log back to the engine: its number is
// searched and its activity read back from Dynamics.
func (l *crmLink) recall(ctx context.Context, callID string) (crm.CallInfo, error) {
	rec, err := l.st.GetCall(ctx, callID)
	if errors.Is(err, store.ErrNotFound) {
		return crm.CallInfo{}, fmt.Errorf("call %s: %w", callID, localhost.ErrCallNotFound)
	}
	if err != nil {
		return crm.CallInfo{}, err
	}
	ci, err := l.eng.Recall(ctx, callOfRecord(rec))
	if err != nil {
		return crm.CallInfo{}, crmError(err)
	}
	l.mu.Lock()
	if !slices.Contains(l.recent, callID) {
		l.recent = append(l.recent, callID)
		if len(l.recent) > 20 {
			l.recent = l.recent[len(l.recent)-20:]
		}
	}
	l.mu.Unlock()
	return ci, nil
}

// callOfRecord is a call of the log as the phone reported it when it
// ended.
func callOfRecord(r store.CallRecord) app.Call {
	c := app.Call{
		ID: r.ID, Direction: app.Direction(r.Direction), Number: r.Number, Name: r.Name, State: app.CallEnded,
		Codec: r.Codec, Started: r.Start, Answered: r.Answer, Ended: r.End,
		Disposition: app.Disposition(r.Disposition), Reason: r.Reason,
	}
	if c.Ended.IsZero() {
		c.Ended = c.Started // still open in the log: a crash the store will mend
	}
	if !r.Answer.IsZero() && r.MOS > 0 {
		c.Quality = &app.Quality{LossPct: r.LossPct, JitterMs: r.JitterMs, RTTMs: r.RTTMs, MOS: r.MOS}
	}
	return c
}

func (l *crmLink) OpenRecord(ctx context.Context, callID string) error {
	if err := l.known(ctx, callID); err != nil {
		return err
	}
	return crmError(l.eng.OpenRecord(ctx, callID))
}

func (l *crmLink) Choose(ctx context.Context, callID string, r localhost.CRMRef) error {
	if err := l.known(ctx, callID); err != nil {
		return err
	}
	if err := l.eng.Choose(callID, crm.Ref{Entity: r.Entity, ID: r.ID, Name: r.Name}); err != nil {
		if errors.Is(err, crm.ErrUnknownCall) {
			return crmError(err)
		}
		return &localhost.FieldError{Field: "id", Message: err.Error()}
	}
	return nil
}

func (l *crmLink) AddRecord(ctx context.Context, callID, entity string) (localhost.CRMRef, error) {
	switch entity {
	case crmconf.EntityContact, crmconf.EntityAccount, crmconf.EntityLead:
	default:
		return localhost.CRMRef{}, &localhost.FieldError{Field: "entity", Message: "use contact, account or lead"}
	}
	if err := l.known(ctx, callID); err != nil {
		return localhost.CRMRef{}, err
	}
	ref, err := l.eng.AddRecord(ctx, callID, entity)
	if err != nil {
		return localhost.CRMRef{}, crmError(err)
	}
	return localhost.CRMRef{Entity: ref.Entity, ID: ref.ID, Name: ref.Name}, nil
}

func (l *crmLink) SaveActivity(ctx context.Context, callID string, ed localhost.CRMActivityEdit) error {
	ref := func(r *localhost.CRMRef) *crm.Ref {
		if r == nil {
			return nil
		}
		return &crm.Ref{Entity: r.Entity, ID: r.ID, Name: r.Name}
	}
	if err := l.known(ctx, callID); err != nil {
		return err
	}
	err := l.eng.SaveActivity(ctx, callID, crm.ActivityEdit{
		Subject: ed.Subject, Description: ed.Description, Regarding: ref(ed.Regarding),
		ClearRegarding: ed.ClearRegarding, Party: ref(ed.Party),
	})
	if err != nil && !errors.Is(err, crm.ErrUnknownCall) && !errors.Is(err, crm.ErrNotConnected) &&
		!errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		return &localhost.FieldError{Field: "activity", Message: err.Error()}
	}
	return crmError(err)
}

func (l *crmLink) ActivityPage(ctx context.Context, callID string, open bool) error {
	if err := l.known(ctx, callID); err != nil {
		return err
	}
	return crmError(l.eng.ActivityPage(callID, open))
}

func (l *crmLink) SearchOpportunities(ctx context.Context, text string) ([]localhost.CRMRef, error) {
	refs, err := l.eng.SearchOpportunities(ctx, text)
	if err != nil {
		return nil, crmError(err)
	}
	out := make([]localhost.CRMRef, len(refs))
	for i, r := range refs {
		out[i] = localhost.CRMRef{Entity: r.Entity, ID: r.ID, Name: r.Name}
	}
	return out, nil
}

// CIFReady: a Dynamics tab is up. Its user is the agent's systemuser
// (the activities' party), and the writes waiting in the outbox go now.
func (l *crmLink) CIFReady(raw json.RawMessage) {
	env, err := crm.ParseEnvironment(raw)
	if err != nil || env.UserID == "" {
		l.log.Warn("the Dynamics panel did not report its user", "err", err)
	} else {
		l.mu.Lock()
		changed := l.agent != env.UserID
		l.agent = env.UserID
		lcidChanged := env.OrgLCID > 0 && env.OrgLCID != l.lcid
		if lcidChanged {
			l.lcid = env.OrgLCID
		}
		l.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if changed {
			if err := l.st.PutSetting(ctx, crmAgentKey, env.UserID); err != nil {
				l.log.Warn("saving the Dynamics user", "err", err)
			}
		}
		if lcidChanged {
			if err := l.st.PutSetting(ctx, crmLCIDKey, env.OrgLCID); err != nil {
				l.log.Warn("saving the Dynamics language", "err", err)
			}
		}
		cancel()
	}
	l.eng.Kick()
}
