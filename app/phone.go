package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"switchboard/app/store"
	"switchboard/audio"
	"switchboard/sip"
)

// Errors the phone returns (wrapped) so callers can tell them apart.
var (
	ErrCallNotFound  = errors.New("no such call")
	ErrInvalidState  = errors.New("the call is not in a state that allows this")
	ErrNotRegistered = errors.New("the phone is not registered to the PBX")
)

// PhoneOptions configure a Phone.
type PhoneOptions struct {
	Config   Config
	Password string
	Store    *store.Store
	Bus      *Bus
	// Audio provides the sound devices; nil runs calls without any (RTP
	// still flows, nothing is played): servers, tests of signalling.
	Audio  *audio.System
	Logger *slog.Logger
	// DataDir holds recordings.
	DataDir string
	// SIP tuning for tests and unusual networks; zero means defaults.
	Keepalive, RetryMin, RetryMax, AuthRetryMin time.Duration
}

// Phone is the phone model: one account, its calls, their audio and
// history. Every change is published on the bus.
type Phone struct {
	opts PhoneOptions
	log  *slog.Logger
	bus  *Bus
	st   *store.Store
	ua   *sip.UA

	// settingsMu makes UpdateSettings one read-modify-write at a time,
	// so two changes made together both stay.
	settingsMu sync.Mutex

	mu       sync.Mutex
	settings Settings
	reg      Registration
	lines    []*line
	// focus is the call whose audio is on the devices (nil: none).
	focus *line
}

// line is one call as the phone tracks it.
type line struct {
	sc       *sip.Call
	call     Call
	audio    *audio.Call
	port     *sip.Port
	rec      *recording
	ringStop func()
	quality  Quality
	// begun is closed once the call's history row is written; the answer
	// and the end wait for it, so their updates find the row.
	begun chan struct{}
}

// waitBegun waits until the call's history row exists.
func (l *line) waitBegun() {
	if l.begun != nil {
		<-l.begun
	}
}

// stopRing silences the line's ringer, ringback or waiting beep.
func (l *line) stopRing() {
	if l.ringStop != nil {
		l.ringStop()
		l.ringStop = nil
	}
}

// NewPhone builds a phone; Start connects it.
func NewPhone(opts PhoneOptions) (*Phone, error) {
	if opts.Bus == nil {
		opts.Bus = NewBus()
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Store == nil {
		return nil, errors.New("phone needs a store")
	}
	cfg := opts.Config
	p := &Phone{opts: opts, log: opts.Logger.With("room", "app"), bus: opts.Bus, st: opts.Store, settings: presetSettings(cfg)}
	p.reg = Registration{State: RegUnregistered, Account: cfg.Account.Extension + "@" + cfg.PBX.Domain, Server: cfg.PBX.Server, Transport: cfg.PBX.Transport, Since: time.Now()}
	if cfg.PBX.Server == "" || cfg.Account.Extension == "" {
		return p, nil // not configured yet: the widget and tray still work
	}
	ua, err := sip.New(sip.Options{
		Server:         cfg.PBX.Server,
		Transport:      cfg.PBX.Transport,
		Domain:         cfg.PBX.Domain,
		Extension:      cfg.Account.Extension,
		AuthID:         cfg.Account.AuthID,
		Password:       opts.Password,
		DisplayName:    cfg.Account.DisplayName,
		CAFile:         cfg.PBX.CAFile,
		SRTP:           cfg.PBX.SRTP,
		Codecs:         cfg.Audio.Codecs,
		Expiry:         time.Duration(cfg.PBX.Expiry) * time.Second,
		Keepalive:      opts.Keepalive,
		RetryMin:       opts.RetryMin,
		RetryMax:       opts.RetryMax,
		AuthRetryMin:   opts.AuthRetryMin,
		Logger:         opts.Logger,
		OnRegistration: p.onRegistration,
		OnCall:         p.onCall,
	})
	if err != nil {
		return nil, err
	}
	p.ua = ua
	p.reg.Account = ua.AOR()
	return p, nil
}

// Bus is the phone's event bus.
func (p *Phone) Bus() *Bus { return p.bus }

// Subscribe observes the phone's events.
func (p *Phone) Subscribe(buf int) *Subscription { return p.bus.Subscribe(buf) }

// Start registers to the PBX (in the background) and begins taking calls.
func (p *Phone) Start(ctx context.Context) error {
	if err := p.loadSettings(ctx); err != nil {
		return err
	}
	if p.opts.Audio != nil {
		go p.relayDevices(ctx)
	}
	if p.ua == nil {
		return nil
	}
	go p.heartbeat(ctx)
	return p.ua.Start(ctx)
}

// relayDevices publishes the audio room's device changes on the bus.
func (p *Phone) relayDevices(ctx context.Context) {
	ch, cancel := p.opts.Audio.Subscribe(32)
	defer cancel()
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-ch:
			if !ok {
				return
			}
			role := "speaker"
			if e.Input {
				role = "mic"
			}
			d := DeviceEvent{Kind: e.Kind.String(), Role: role, Name: e.Name, Fallback: e.Actual}
			if e.Err != nil {
				d.Error = e.Err.Error()
			}
			p.log.Info("audio device", "kind", d.Kind, "role", d.Role, "name", d.Name, "now", d.Fallback)
			p.bus.Publish(Event{Type: EvDevice, Device: &d})
		}
	}
}

// Close hangs up, unregisters and stops.
func (p *Phone) Close(ctx context.Context) error {
	if p.ua == nil {
		return nil
	}
	return p.ua.Close(ctx)
}

// heartbeat marks live calls in the store so a crash leaves an honest end.
func (p *Phone) heartbeat(ctx context.Context) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			p.mu.Lock()
			ids := make([]string, 0, len(p.lines))
			for _, l := range p.lines {
				ids = append(ids, l.call.ID)
			}
			p.mu.Unlock()
			for _, id := range ids {
				if err := p.st.Touch(ctx, id, now); err != nil {
					p.log.Warn("history heartbeat failed", "error", err)
				}
			}
		}
	}
}

// Registration is the current registration snapshot.
func (p *Phone) Registration() Registration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.reg
}

// Calls returns the live calls, oldest first.
func (p *Phone) Calls() []Call {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Call, 0, len(p.lines))
	for _, l := range p.lines {
		out = append(out, l.call)
	}
	return out
}

// postDialPause is how long after the answer (and after each further
// comma) the extension digits wait: the far end's attendant needs a
// moment to listen.
const postDialPause = 2 * time.Second

func validPostDial(post string) error {
	if len(post) > 32 {
		return fmt.Errorf("the extension after the number is too long")
	}
	for _, r := range post {
		if !(r >= '0' && r <= '9' || r == '*' || r == '#' || r == ',') {
			return fmt.Errorf("%q after the comma is not an extension (digits, * and # only)", post)
		}
	}
	return nil
}

// postDial sends the extension digits of call id once it is answered.
func (p *Phone) postDial(id, post string, sub *Subscription) {
	defer sub.Close()
	giveUp := time.NewTimer(3 * time.Minute)
	defer giveUp.Stop()
	for answered := false; !answered; {
		select {
		case ev, ok := <-sub.C:
			if !ok {
				return
			}
			if ev.Type != EvCall || ev.Call == nil || ev.Call.ID != id {
				continue
			}
			switch ev.Call.State {
			case CallActive:
				answered = true
			case CallEnded:
				return
			}
		case <-giveUp.C:
			return
		}
	}
	wait := postDialPause
	for _, part := range strings.Split(post, ",") {
		time.Sleep(wait) // a call that ends meanwhile refuses the digits below
		wait = postDialPause
		if part == "" {
			continue // another comma: wait once more
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := p.SendDTMF(ctx, id, part)
		cancel()
		if err != nil {
			p.log.Warn("could not send the extension", "call", id, "error", err)
			return
		}
		p.log.Info("extension sent", "call", id, "digits", len(part))
	}
}

// SetCallName names a call's remote party once something knows it (the
// CRM record matched to the number): a live call's snapshot is published
// again with the name, and the history row keeps it.
func (p *Phone) SetCallName(ctx context.Context, id, name string) error {
	name = strings.TrimSpace(name)
	p.mu.Lock()
	var live *Call
	var ln *line
	for _, l := range p.lines {
		if l.call.ID == id {
			if l.call.Name == name {
				p.mu.Unlock()
				return nil
			}
			l.call.Name = name
			c := l.call
			live, ln = &c, l
			break
		}
	}
	p.mu.Unlock()
	if live != nil && live.State != CallEnded {
		p.publish(*live)
	}
	if ln != nil {
		ln.waitBegun()
	}
	return p.st.SetCallName(ctx, id, name)
}

func (p *Phone) onRegistration(s sip.RegStatus) {
	p.mu.Lock()
	p.reg.State = RegState(s.State)
	p.reg.Error = s.Reason
	p.reg.RetryIn = s.RetryIn
	p.reg.Since = s.Since
	r := p.reg
	p.mu.Unlock()
	p.log.Info("registration", "state", r.State, "reason", r.Error)
	p.bus.Publish(Event{Type: EvRegistration, Registration: &r})
}

func (p *Phone) find(id string) (*line, error) {
	for _, l := range p.lines {
		if l.call.ID == id {
			return l, nil
		}
	}
	return nil, fmt.Errorf("%w: %s", ErrCallNotFound, id)
}

// lookup finds call id and checks it is in one of states (any state when
// none are given). It returns the call's state too, read under the lock.
func (p *Phone) lookup(id string, states ...CallState) (*line, CallState, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	l, err := p.find(id)
	if err != nil {
		return nil, "", err
	}
	st := l.call.State
	if len(states) > 0 && !slices.Contains(states, st) {
		return nil, st, fmt.Errorf("%w: call is %s", ErrInvalidState, st)
	}
	return l, st, nil
}

func (p *Phone) lineFor(sc *sip.Call) *line {
	for _, l := range p.lines {
		if l.sc == sc {
			return l
		}
	}
	return nil
}

// publish sends a call snapshot; callers hold no lock.
func (p *Phone) publish(c Call) {
	attrs := []any{"id", c.ID, "direction", c.Direction, "number", c.Number, "state", c.State}
	if c.Codec != "" {
		attrs = append(attrs, "codec", c.Codec)
	}
	if c.State == CallEnded {
		attrs = append(attrs, "disposition", c.Disposition, "reason", c.Reason)
	}
	p.log.Info("call", attrs...)
	p.bus.Publish(Event{Type: EvCall, Call: &c})
}

// Dial places a call to number. Digits after a comma are an extension
// behind the callee's switchboard: they are sent as DTMF once the call is
// answered ("+14255550100,123"; each further comma waits longer).
func (p *Phone) Dial(ctx context.Context, number string) (Call, error) {
	if p.ua == nil {
		return Call{}, fmt.Errorf("%w: no PBX account is configured", ErrNotRegistered)
	}
	if p.Registration().State != RegRegistered {
		return Call{}, fmt.Errorf("%w (%s)", ErrNotRegistered, p.Registration().Error)
	}
	number, post, _ := strings.Cut(number, ",")
	if err := validPostDial(post); err != nil {
		return Call{}, err
	}
	// Dialling while a call is up holds it first, as a desk phone does.
	if err := p.holdFocus(ctx); err != nil {
		return Call{}, err
	}
	var answered *Subscription
	if post != "" {
		answered = p.bus.Subscribe(64) // before the call exists: its answer is not missed
	}
	sc, err := p.ua.Dial(ctx, number)
	if err != nil {
		if answered != nil {
			answered.Close()
		}
		return Call{}, err
	}
	if answered != nil {
		go p.postDial(sc.ID, post, answered)
	}
	l := &line{sc: sc, call: Call{
		ID: sc.ID, Direction: Outbound, Number: sc.RemoteUser, State: CallDialing, Started: sc.Created,
	}}
	p.mu.Lock()
	p.lines = append(p.lines, l)
	p.focus = l
	c := l.call
	p.mu.Unlock()
	if err := p.st.BeginCall(ctx, recordOf(c)); err != nil {
		p.log.Warn("history: could not record call start", "error", err)
	}
	p.publish(c)
	return c, nil
}

// holdFocus puts the call on the devices on hold (if any).
func (p *Phone) holdFocus(ctx context.Context) error {
	p.mu.Lock()
	f := p.focus
	p.mu.Unlock()
	if f == nil || f.call.State != CallActive {
		return nil
	}
	return p.Hold(ctx, f.call.ID)
}

// Answer takes an incoming call; an active call is held first.
func (p *Phone) Answer(ctx context.Context, id string) error {
	l, _, err := p.lookup(id, CallIncoming)
	if err != nil {
		return err
	}
	if err := p.holdFocus(ctx); err != nil {
		return err
	}
	p.mu.Lock()
	p.focus = l
	p.mu.Unlock()
	return l.sc.Answer(ctx)
}

// Decline refuses an incoming call with 486 Busy Here.
func (p *Phone) Decline(ctx context.Context, id string) error {
	l, _, err := p.lookup(id, CallIncoming) // only inbound calls are incoming
	if err != nil {
		return err
	}
	return l.sc.Decline(ctx, false)
}

// Hangup ends a call in any state.
func (p *Phone) Hangup(ctx context.Context, id string) error {
	l, _, err := p.lookup(id)
	if err != nil {
		return err
	}
	return l.sc.Hangup(ctx)
}

// Hold puts a call on hold and frees the devices.
func (p *Phone) Hold(ctx context.Context, id string) error {
	l, st, err := p.lookup(id, CallActive, CallHeld)
	if err != nil || st == CallHeld {
		return err
	}
	if err := l.sc.Hold(ctx); err != nil {
		return err
	}
	p.mu.Lock()
	p.stopAudioLocked(l)
	l.call.State = CallHeld
	if p.focus == l {
		p.focus = nil
	}
	c := l.call
	p.mu.Unlock()
	p.publish(c)
	return nil
}

// Resume takes a call off hold; any other active call is held first.
func (p *Phone) Resume(ctx context.Context, id string) error {
	l, _, err := p.lookup(id, CallHeld)
	if err != nil {
		return err
	}
	if err := p.holdFocus(ctx); err != nil {
		return err
	}
	if err := l.sc.Resume(ctx); err != nil {
		return err
	}
	p.mu.Lock()
	l.call.State = CallActive
	p.focus = l
	p.mu.Unlock()
	p.startAudio(l)
	p.mu.Lock()
	c := l.call
	p.mu.Unlock()
	p.publish(c)
	return nil
}

// Swap moves the focus to call id: the active call is held and id resumed.
func (p *Phone) Swap(ctx context.Context, id string) error { return p.Resume(ctx, id) }

// Mute mutes or unmutes our microphone on a call.
func (p *Phone) Mute(ctx context.Context, id string, on bool) error {
	l, _, err := p.lookup(id, CallActive, CallHeld)
	if err != nil {
		return err
	}
	p.mu.Lock()
	l.call.Muted = on
	if l.audio != nil {
		l.audio.SetMute(on)
	}
	c := l.call
	p.mu.Unlock()
	p.publish(c)
	return nil
}

// SendDTMF sends digits (0-9 * # A-D) as RFC 4733 events.
func (p *Phone) SendDTMF(ctx context.Context, id, digits string) error {
	p.mu.Lock()
	l, err := p.find(id)
	if err != nil {
		p.mu.Unlock()
		return err
	}
	a := l.audio
	p.mu.Unlock()
	if a == nil {
		return fmt.Errorf("%w: DTMF needs an active call", ErrInvalidState)
	}
	for _, d := range digits {
		if !slices.Contains([]rune("0123456789*#ABCDabcd"), d) {
			return fmt.Errorf("%q is not a DTMF digit (use 0-9, *, #, A-D)", d)
		}
	}
	for _, d := range digits {
		if d >= 'a' && d <= 'd' {
			d -= 'a' - 'A'
		}
		if err := a.SendDTMF(d); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
	}
	return nil
}

func (p *Phone) onCall(e sip.CallEvent) {
	switch e.Kind {
	case sip.EvIncoming:
		p.onIncoming(e.Call)
	case sip.EvRinging:
		p.update(e.Call, func(l *line) {
			if l.call.State == CallDialing {
				l.call.State = CallRinging
				l.ringStop = p.startTone(p.settings.Speaker, audio.RingbackTone())
			}
		})
	case sip.EvEarlyMedia:
		p.onEarlyMedia(e.Call)
	case sip.EvAnswered:
		p.onAnswered(e.Call)
	case sip.EvRemoteHold, sip.EvRemoteResume:
		p.update(e.Call, func(l *line) { l.call.RemoteHold = e.Kind == sip.EvRemoteHold })
	case sip.EvMediaChanged:
		p.update(e.Call, func(l *line) {
			if m := l.sc.Media(); m != nil {
				name, _, _ := m.Codec()
				l.call.Codec = name
			}
		})
	case sip.EvEnded:
		p.onEnded(e)
	}
}

// update applies fn to the line of sc and publishes the result.
func (p *Phone) update(sc *sip.Call, fn func(*line)) {
	p.mu.Lock()
	l := p.lineFor(sc)
	if l == nil {
		p.mu.Unlock()
		return
	}
	fn(l)
	c := l.call
	p.mu.Unlock()
	p.publish(c)
}

func (p *Phone) onIncoming(sc *sip.Call) {
	p.mu.Lock()
	waiting := false
	for _, l := range p.lines {
		if l.call.State == CallActive || l.call.State == CallHeld || l.call.State == CallDialing || l.call.State == CallRinging {
			waiting = true
		}
	}
	l := &line{sc: sc, call: Call{
		ID: sc.ID, Direction: Inbound, Number: sc.RemoteUser, Name: sc.RemoteName,
		State: CallIncoming, Started: sc.Created, Waiting: waiting,
	}, begun: make(chan struct{})}
	p.lines = append(p.lines, l)
	c := l.call
	auto := p.settings.AutoAnswer && !waiting
	ringer := p.settings.Ringer
	p.mu.Unlock()

	// The agent hears the ring and sees the call first; the history row
	// (a synced disk write, milliseconds to tens of them on a busy disk)
	// follows, and the answer and the end wait for it.
	defer func() {
		if err := p.st.BeginCall(context.Background(), recordOf(c)); err != nil {
			p.log.Warn("history: could not record call start", "error", err)
		}
		close(l.begun)
	}()
	p.publish(c)
	if auto {
		go func() {
			if err := p.Answer(context.Background(), c.ID); err != nil {
				p.log.Warn("auto-answer failed", "error", err)
			}
		}()
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if l.call.State != CallIncoming {
		return // answered or gone already
	}
	if waiting {
		// Call waiting: a beep in the earpiece of the call in progress,
		// never the ringer, which would blast the agent's desk.
		if p.focus != nil && p.focus.audio != nil {
			a := p.focus.audio
			a.PlayTone(audio.CallWaitingTone())
			l.ringStop = a.StopTone
		}
		return
	}
	l.ringStop = p.startTone(ringer, audio.RingerTone())
}

// startTone plays t on device until the returned stop is called; stop
// returns once the device is released, so the call's own stream can open
// it next (some drivers allow one stream per device).
func (p *Phone) startTone(device string, t audio.Tone) (stop func()) {
	if p.opts.Audio == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := p.opts.Audio.PlayRinger(ctx, device, t); err != nil {
			p.log.Warn("could not play tone", "device", device, "error", err)
			p.bus.Publish(Event{Type: EvDevice, Device: &DeviceEvent{Kind: "error", Name: device, Error: err.Error()}})
		}
	}()
	return func() { cancel(); <-done }
}

// onEarlyMedia plays what the far end sends before answering (the PBX's
// ringback, "the number you dialled...") instead of our own ringback.
func (p *Phone) onEarlyMedia(sc *sip.Call) {
	p.mu.Lock()
	l := p.lineFor(sc)
	if l == nil {
		p.mu.Unlock()
		return
	}
	l.stopRing()
	if l.call.State == CallDialing {
		l.call.State = CallRinging
	}
	p.mu.Unlock()
	p.startAudio(l)
	p.mu.Lock()
	c := l.call
	p.mu.Unlock()
	p.publish(c)
}

func (p *Phone) onAnswered(sc *sip.Call) {
	p.mu.Lock()
	l := p.lineFor(sc)
	if l == nil {
		p.mu.Unlock()
		return
	}
	l.stopRing()
	now := time.Now()
	l.call.State = CallActive
	l.call.Answered = now
	l.call.Waiting = false
	if m := sc.Media(); m != nil {
		name, _, _ := m.Codec()
		l.call.Codec = name
	}
	c := l.call
	p.focus = l
	early := l.audio != nil // already playing early media
	p.mu.Unlock()

	// Sound first: the history write must not clip the first words.
	if !early {
		p.startAudio(l)
	}
	p.publish(c)
	l.waitBegun()
	if err := p.st.AnswerCall(context.Background(), c.ID, now, c.Codec); err != nil {
		p.log.Warn("history: could not record answer", "error", err)
	}
}

// startAudio connects l's media to the devices.
func (p *Phone) startAudio(l *line) {
	m := l.sc.Media()
	if m == nil {
		return
	}
	name, pt, _ := m.Codec()
	codec, ok := audio.LookupCodec(name)
	if !ok {
		p.log.Error("negotiated codec has no implementation; the call stays up without sound", "codec", name)
		return
	}
	codec.PayloadType = pt
	id := l.call.ID
	set := p.Settings()
	p.mu.Lock()
	if l.rec == nil && p.opts.Config.Recording.Mode == "always" {
		rec, err := p.startRecording(l.call)
		if err != nil {
			p.log.Error("recording could not start", "error", err)
		}
		l.rec = rec
	}
	var recorder *audio.Recorder
	if l.rec != nil {
		recorder = l.rec.r
	}
	p.mu.Unlock()
	port := m.Port()
	a, err := audio.StartCall(context.Background(), audio.CallOptions{
		System: p.opts.Audio, Mic: set.Mic, Speaker: set.Speaker,
		Port: port, Codec: codec, DTMFPayloadType: m.DTMFPayloadType(),
		DTMFClockRate: 8000, // the SIP room offers telephone-event/8000 only
		OnDTMF: func(d rune) {
			p.bus.Publish(Event{Type: EvDTMF, DTMF: string(d), Call: &Call{ID: id}})
		},
		Record: recorder,
		Logger: p.opts.Logger.With("call", id),
	})
	if err != nil {
		port.Close()
		p.log.Error("audio could not start; the call stays up without sound", "error", err)
		p.bus.Publish(Event{Type: EvDevice, Device: &DeviceEvent{Kind: "error", Error: err.Error()}})
		return
	}
	p.mu.Lock()
	l.audio = a
	l.port = port
	a.SetMute(l.call.Muted)
	p.mu.Unlock()
}

func (p *Phone) stopAudioLocked(l *line) {
	if l.audio == nil {
		return
	}
	// RTCP gives the round trip to the SIP room; the MOS needs it too.
	if m := l.sc.Media(); m != nil && m.RTTMs() > 0 {
		l.audio.SetRTT(time.Duration(m.RTTMs() * float64(time.Millisecond)))
	}
	q := l.audio.Quality()
	l.quality = Quality{LossPct: q.LossPct, JitterMs: q.JitterMs, RTTMs: q.RTTMs, MOS: q.MOS}
	_ = l.audio.Close()
	l.audio = nil
	if l.port != nil {
		l.port.Close()
		l.port = nil
	}
}

func (p *Phone) onEnded(e sip.CallEvent) {
	p.mu.Lock()
	l := p.lineFor(e.Call)
	if l == nil {
		p.mu.Unlock()
		return
	}
	l.stopRing()
	p.stopAudioLocked(l)
	rec := l.rec
	l.rec = nil
	l.call.State = CallEnded
	l.call.Ended = time.Now()
	l.call.Disposition = disposition(l.call, e.Cause)
	l.call.Reason = e.Reason
	q := l.quality
	if !l.call.Answered.IsZero() {
		l.call.Quality = &q
	}
	p.lines = slices.DeleteFunc(p.lines, func(x *line) bool { return x == l })
	if p.focus == l {
		p.focus = nil
	}
	c := l.call
	p.mu.Unlock()

	l.waitBegun()
	if rec != nil {
		p.finishRecording(context.Background(), c.ID, rec)
	}
	if err := p.st.EndCall(context.Background(), c.ID, store.CallEnd{
		At: c.Ended, Disposition: string(c.Disposition), Reason: c.Reason, Quality: storeQuality(c.Quality),
	}); err != nil {
		p.log.Warn("history: could not record call end", "error", err)
	}
	p.publish(c)
}

func disposition(c Call, cause sip.EndCause) Disposition {
	if !c.Answered.IsZero() {
		return DispAnswered
	}
	switch cause {
	case sip.CauseMissed:
		return DispMissed
	case sip.CauseDeclined:
		return DispDeclined
	case sip.CauseBusy:
		return DispBusy
	case sip.CauseCancelled:
		return DispNoAnswer
	}
	if c.Direction == Inbound {
		return DispMissed
	}
	return DispFailed
}
