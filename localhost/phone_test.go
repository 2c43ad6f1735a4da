package localhost

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"switchboard/app"
)

// testPhone stands in for the app's phone so the HTTP layer, the
// WebSocket and the widget can be exercised on their own. It keeps calls
// in memory and publishes the same app.Events the real phone does; the
// end-to-end tests against the real phone and the lab replace it.
type testPhone struct {
	bus *app.Bus

	mu       sync.Mutex
	reg      app.Registration
	calls    []app.Call
	settings Settings
	devices  []AudioDevice
	history  []HistoryRecord
	seq      int
	dtmf     []string
	tones    []string
	lastQ    HistoryQuery
	meters   int
	dialErr  error
}

func newTestPhone() *testPhone {
	return &testPhone{
		bus: app.NewBus(),
		reg: app.Registration{State: app.RegRegistered, Account: "1001@pbx.example.com", Server: "pbx.example.com:5060", Transport: "udp", Since: time.Now()},
		devices: []AudioDevice{
			{Name: "Jabra Evolve2 65", Input: true, Output: true, HostAPI: "ALSA", DefaultRateHz: 48000, MaxInputChans: 1, MaxOutputChans: 2},
			{Name: "Built-in Microphone", Input: true, DefaultInput: true, HostAPI: "ALSA"},
			{Name: "Built-in Speakers", Output: true, DefaultOutput: true, HostAPI: "ALSA"},
		},
	}
}

func (p *testPhone) State() State {
	p.mu.Lock()
	defer p.mu.Unlock()
	return State{Registration: p.reg, Calls: slices.Clone(p.calls), Settings: p.settings}
}

func (p *testPhone) Subscribe(buf int) *app.Subscription { return p.bus.Subscribe(buf) }

func (p *testPhone) publish(c app.Call) {
	p.bus.Publish(app.Event{Type: app.EvCall, Call: &c})
}

// setReg changes the registration and tells every observer.
func (p *testPhone) setReg(r app.Registration) {
	p.mu.Lock()
	p.reg = r
	p.mu.Unlock()
	p.bus.Publish(app.Event{Type: app.EvRegistration, Registration: &r})
}

func (p *testPhone) Dial(ctx context.Context, number string) (app.Call, error) {
	p.mu.Lock()
	if p.dialErr != nil {
		err := p.dialErr
		p.mu.Unlock()
		return app.Call{}, err
	}
	if p.reg.State != app.RegRegistered {
		p.mu.Unlock()
		return app.Call{}, ErrNotRegistered
	}
	p.seq++
	c := app.Call{ID: fmt.Sprintf("c%d", p.seq), Direction: app.Outbound, Number: number, State: app.CallDialing, Started: time.Now()}
	p.calls = append(p.calls, c)
	p.mu.Unlock()
	p.publish(c)
	return c, nil
}

// ring makes an inbound call arrive.
func (p *testPhone) ring(number, name string) app.Call {
	p.mu.Lock()
	p.seq++
	c := app.Call{ID: fmt.Sprintf("c%d", p.seq), Direction: app.Inbound, Number: number, Name: name, State: app.CallIncoming, Started: time.Now()}
	for _, o := range p.calls {
		if o.State == app.CallActive || o.State == app.CallHeld {
			c.Waiting = true
		}
	}
	p.calls = append(p.calls, c)
	p.mu.Unlock()
	p.publish(c)
	return c
}

// update changes a live call under the lock and publishes it.
func (p *testPhone) update(id string, allowed []app.CallState, fn func(*app.Call)) error {
	p.mu.Lock()
	i := slices.IndexFunc(p.calls, func(c app.Call) bool { return c.ID == id })
	if i < 0 {
		p.mu.Unlock()
		return fmt.Errorf("call %s: %w", id, ErrCallNotFound)
	}
	if allowed != nil && !slices.Contains(allowed, p.calls[i].State) {
		st := p.calls[i].State
		p.mu.Unlock()
		return fmt.Errorf("call is %s: %w", st, ErrInvalidState)
	}
	fn(&p.calls[i])
	c := p.calls[i]
	if c.State == app.CallEnded {
		p.calls = slices.Delete(p.calls, i, i+1)
		rec := HistoryRecord{ID: c.ID, Direction: string(c.Direction), Number: c.Number, Name: c.Name,
			Disposition: string(c.Disposition), Start: c.Started, Answer: c.Answered, End: c.Ended, Codec: c.Codec}
		if !c.Answered.IsZero() {
			rec.DurationSec = c.Ended.Sub(c.Answered).Seconds()
		}
		p.history = append(p.history, rec)
	}
	p.mu.Unlock()
	p.publish(c)
	return nil
}

// answerRemote is the far end picking up an outbound call.
func (p *testPhone) answerRemote(id string) error {
	return p.update(id, []app.CallState{app.CallDialing, app.CallRinging}, func(c *app.Call) {
		c.State, c.Answered, c.Codec = app.CallActive, time.Now(), "opus"
	})
}

func (p *testPhone) Answer(ctx context.Context, id string) error {
	return p.update(id, []app.CallState{app.CallIncoming}, func(c *app.Call) {
		c.State, c.Answered, c.Codec = app.CallActive, time.Now(), "pcmu"
	})
}

func (p *testPhone) Decline(ctx context.Context, id string) error {
	return p.update(id, []app.CallState{app.CallIncoming}, func(c *app.Call) {
		c.State, c.Ended, c.Disposition = app.CallEnded, time.Now(), app.DispDeclined
	})
}

func (p *testPhone) Hangup(ctx context.Context, id string) error {
	return p.update(id, nil, func(c *app.Call) {
		c.Ended = time.Now()
		switch {
		case !c.Answered.IsZero():
			c.Disposition = app.DispAnswered
		case c.Direction == app.Inbound:
			c.Disposition = app.DispDeclined
		default:
			c.Disposition = app.DispNoAnswer
		}
		c.State = app.CallEnded
	})
}

func (p *testPhone) Hold(ctx context.Context, id string) error {
	return p.update(id, []app.CallState{app.CallActive}, func(c *app.Call) { c.State = app.CallHeld })
}

func (p *testPhone) Resume(ctx context.Context, id string) error {
	return p.update(id, []app.CallState{app.CallHeld}, func(c *app.Call) { c.State = app.CallActive })
}

func (p *testPhone) Mute(ctx context.Context, id string, on bool) error {
	return p.update(id, []app.CallState{app.CallActive, app.CallHeld}, func(c *app.Call) { c.Muted = on })
}

func (p *testPhone) SendDTMF(ctx context.Context, id, digits string) error {
	if err := p.update(id, []app.CallState{app.CallActive}, func(*app.Call) {}); err != nil {
		return err
	}
	p.mu.Lock()
	p.dtmf = append(p.dtmf, digits)
	p.mu.Unlock()
	return nil
}

func (p *testPhone) History(ctx context.Context, q HistoryQuery) (HistoryPage, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lastQ = q
	var match []HistoryRecord
	for i := len(p.history) - 1; i >= 0; i-- {
		r := p.history[i]
		if q.Search != "" && !strings.Contains(r.Number, q.Search) && !strings.Contains(strings.ToLower(r.Name), strings.ToLower(q.Search)) {
			continue
		}
		if q.Direction != "" && r.Direction != q.Direction {
			continue
		}
		if q.Disposition != "" && r.Disposition != q.Disposition {
			continue
		}
		if !q.From.IsZero() && r.Start.Before(q.From) {
			continue
		}
		if !q.To.IsZero() && !r.Start.Before(q.To) {
			continue
		}
		match = append(match, r)
	}
	page := HistoryPage{Total: len(match)}
	if q.Offset < len(match) {
		page.Calls = match[q.Offset:min(len(match), q.Offset+q.Limit)]
	}
	return page, nil
}

func (p *testPhone) Settings(ctx context.Context) (Settings, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.settings, nil
}

func (p *testPhone) UpdateSettings(ctx context.Context, patch SettingsPatch) (Settings, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.settings
	if patch.Mic != nil {
		s.Mic = *patch.Mic
	}
	if patch.Speaker != nil {
		s.Speaker = *patch.Speaker
	}
	if patch.Ringer != nil {
		s.Ringer = *patch.Ringer
	}
	if patch.AutoAnswer != nil {
		s.AutoAnswer = *patch.AutoAnswer
	}
	if patch.Language != nil {
		s.Language = *patch.Language
	}
	p.settings = s
	// Like the app's phone: every observer hears about the change.
	p.bus.Publish(app.Event{Type: app.EvSettings, Settings: &s})
	return s, nil
}

func (p *testPhone) AudioDevices(ctx context.Context) ([]AudioDevice, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.devices), nil
}

func (p *testPhone) PlayTestTone(ctx context.Context, role string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tones = append(p.tones, role)
	return nil
}

// MicLevels produces a slowly swinging level every 50 ms.
func (p *testPhone) MicLevels(ctx context.Context) (<-chan Level, error) {
	p.mu.Lock()
	p.meters++
	p.mu.Unlock()
	ch := make(chan Level)
	go func() {
		defer close(ch)
		tk := time.NewTicker(50 * time.Millisecond)
		defer tk.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
				v := 0.05 + 0.25*(1+math.Sin(float64(i)/4))
				select {
				case ch <- Level{RMS: v, Peak: math.Min(1, v*1.6)}:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return ch, nil
}

func (p *testPhone) addHistory(recs ...HistoryRecord) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.history = append(p.history, recs...)
}
