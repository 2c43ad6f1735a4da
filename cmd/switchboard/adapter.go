package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"switchboard/app"
	"switchboard/app/store"
	"switchboard/audio"
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
