package ui

import (
	"context"
	"errors"
	"math"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"switchboard/app"
	"switchboard/audio"
	"switchboard/ui/backend"
)

// settingsWindow edits what belongs to the desktop: the sound devices
// (shared with the widget's settings through app.Settings), starting at
// login, starting minimised, the popup and the language. Every change is
// saved at once.
type settingsWindow struct {
	c *Controller
	w fyne.Window

	devices            []audio.DeviceInfo
	devErr             error
	mic, speaker, ring *widget.Select
	level              *widget.ProgressBar
	status             *widget.Label
	testSpeaker        *widget.Button
	testRinger         *widget.Button
	autostart          *widget.Check
	minimised, popup   *widget.Check
	language           *widget.Select
	saveMu             sync.Mutex
	// meterStop ends the microphone meter; nil when none runs.
	meterStop context.CancelFunc
	loading   bool
}

func newSettingsWindow(c *Controller) *settingsWindow {
	s := &settingsWindow{c: c, w: c.app.NewWindow("")}
	s.w.SetIcon(c.icons.App())
	s.w.SetCloseIntercept(s.close)
	s.w.Resize(fyne.NewSize(520, 0))
	s.w.CenterOnScreen()
	return s
}

// close stops the meter and destroys the window (closing is not
// quitting; the next Settings… builds a fresh one).
func (s *settingsWindow) close() {
	s.c.mu.Lock()
	s.stopMeterLocked()
	if s.c.settings == s {
		s.c.settings = nil
	}
	s.c.mu.Unlock()
	s.w.Close()
}

// open reads the devices afresh (a headset may have been plugged in),
// shows the window and starts the level meter.
func (s *settingsWindow) open() {
	s.devices, s.devErr = s.c.be.Devices()
	s.build()
	s.w.Show()
	s.w.RequestFocus()
	s.startMeterLocked()
}

func (s *settingsWindow) deviceNames(input bool) []string {
	names := []string{s.c.text.T("settings.default")}
	for _, d := range s.devices {
		if (input && d.Input) || (!input && d.Output) {
			names = append(names, d.Name)
		}
	}
	return names
}

func (s *settingsWindow) build() {
	t := s.c.text
	s.loading = true
	defer func() { s.loading = false }()
	s.w.SetTitle(t.T("settings.title"))
	set := s.c.be.Settings()
	def := t.T("settings.default")
	pick := func(sel *widget.Select, cur string) {
		if cur == "" {
			sel.SetSelected(def)
		} else {
			sel.SetSelected(cur)
		}
	}
	s.mic = widget.NewSelect(s.deviceNames(true), func(v string) { s.setDevice("mic", v) })
	s.speaker = widget.NewSelect(s.deviceNames(false), func(v string) { s.setDevice("speaker", v) })
	s.ring = widget.NewSelect(s.deviceNames(false), func(v string) { s.setDevice("ringer", v) })
	pick(s.mic, set.Mic)
	pick(s.speaker, set.Speaker)
	pick(s.ring, set.Ringer)
	s.level = widget.NewProgressBar()
	s.level.TextFormatter = func() string { return "" }
	s.status = widget.NewLabel("")
	s.status.Importance = widget.LowImportance
	s.status.SizeName = theme.SizeNameCaptionText
	if s.devErr != nil {
		s.status.Importance = widget.DangerImportance
		if errors.Is(s.devErr, backend.ErrNoAudio) {
			s.status.SetText(t.T("err.noAudio"))
		} else {
			s.status.SetText(t.T("settings.devicesError", s.devErr.Error()))
		}
	}
	testSpeaker := widget.NewButtonWithIcon(t.T("settings.test"), theme.MediaPlayIcon(), nil)
	testSpeaker.OnTapped = func() { s.testTone(testSpeaker, s.speaker) }
	testRinger := widget.NewButtonWithIcon(t.T("settings.test"), theme.MediaPlayIcon(), nil)
	testRinger.OnTapped = func() { s.testTone(testRinger, s.ring) }
	s.testSpeaker, s.testRinger = testSpeaker, testRinger

	bold := func(k string) *widget.Label {
		l := widget.NewLabel(t.T(k))
		l.TextStyle = fyne.TextStyle{Bold: true}
		return l
	}
	audioForm := container.New(layout.NewFormLayout(),
		bold("settings.mic"), s.mic,
		bold("settings.level"), s.level,
		bold("settings.speaker"), container.NewBorder(nil, nil, nil, testSpeaker, s.speaker),
		bold("settings.ringer"), container.NewBorder(nil, nil, nil, testRinger, s.ring),
	)

	prefs := s.c.be.Prefs()
	autostart := widget.NewCheck(t.T("settings.autostart"), nil)
	if s.c.opts.Autostart != nil {
		on, err := s.c.opts.Autostart.Enabled()
		autostart.SetChecked(on && err == nil)
		autostart.OnChanged = func(on bool) {
			if s.loading {
				return
			}
			s.saved(s.c.opts.Autostart.SetEnabled(on))
		}
	} else {
		autostart.Disable()
	}
	minimised := widget.NewCheck(t.T("settings.minimised"), nil)
	minimised.SetChecked(prefs.StartMinimised)
	minimised.OnChanged = func(on bool) {
		if s.loading {
			return
		}
		p := s.c.be.Prefs()
		p.StartMinimised = on
		s.saved(s.c.be.SetPrefs(s.c.ctx, p))
	}
	popup := widget.NewCheck(t.T("settings.popup"), nil)
	popup.SetChecked(prefs.Popup)
	popup.OnChanged = func(on bool) {
		if s.loading {
			return
		}
		p := s.c.be.Prefs()
		p.Popup = on
		s.saved(s.c.be.SetPrefs(s.c.ctx, p))
	}
	langs := []string{t.T("settings.langSystem"), "English", "简体中文"}
	codes := []string{"", "en", "zh-CN"}
	lang := widget.NewSelect(langs, nil)
	for i, code := range codes {
		if code == set.Language {
			lang.SetSelected(langs[i])
		}
	}
	lang.OnChanged = func(v string) {
		if s.loading {
			return
		}
		for i, l := range langs {
			if l == v {
				code := codes[i]
				go func() {
					s.saveMu.Lock()
					defer s.saveMu.Unlock()
					_, err := s.c.be.UpdateSettings(s.c.ctx, func(st *app.Settings) error { st.Language = code; return nil })
					// The settings event rebuilds every window in the new language.
					if err != nil {
						s.c.do(func() { s.saved(err) })
					}
				}()
			}
		}
	}

	s.autostart, s.minimised, s.popup, s.language = autostart, minimised, popup, lang
	content := container.NewPadded(container.NewVBox(
		widget.NewCard(t.T("settings.audio"), "", audioForm),
		widget.NewCard(t.T("settings.desktop"), "", container.NewVBox(
			autostart, minimised, popup,
			container.New(layout.NewFormLayout(), bold("settings.language"), lang),
		)),
		s.status,
	))
	s.w.SetContent(content)
	// Grow the window to the content: a language switch changes its size.
	min := content.MinSize()
	s.w.Resize(fyne.NewSize(max(520, min.Width), min.Height))
}

// saved reports a change's outcome under the form.
func (s *settingsWindow) saved(err error) {
	t := s.c.text
	if err != nil {
		s.status.Importance = widget.DangerImportance
		s.status.SetText(t.T("err.settings", err.Error()))
		return
	}
	s.status.Importance = widget.LowImportance
	s.status.SetText(t.T("settings.saved"))
}

func (s *settingsWindow) deviceValue(v string) string {
	if v == s.c.text.T("settings.default") {
		return ""
	}
	return v
}

func (s *settingsWindow) setDevice(role, v string) {
	if s.loading {
		return
	}
	name := s.deviceValue(v)
	go func() {
		// app.Phone.UpdateSettings reads, changes and writes the whole
		// settings: two at once would lose one change.
		s.saveMu.Lock()
		defer s.saveMu.Unlock()
		_, err := s.c.be.UpdateSettings(s.c.ctx, func(st *app.Settings) error {
			switch role {
			case "mic":
				st.Mic = name
			case "speaker":
				st.Speaker = name
			case "ringer":
				st.Ringer = name
			}
			return nil
		})
		s.c.do(func() {
			s.saved(err)
			if role == "mic" && err == nil {
				s.stopMeterLocked()
				s.startMeterLocked()
			}
		})
	}()
}

func (s *settingsWindow) testTone(b *widget.Button, sel *widget.Select) {
	device := s.deviceValue(sel.Selected)
	label := b.Text
	b.SetText(s.c.text.T("settings.testing"))
	b.Disable()
	go func() {
		ctx, cancel := context.WithTimeout(s.c.ctx, 5*time.Second)
		defer cancel()
		err := s.c.be.PlayTestTone(ctx, device)
		s.c.do(func() {
			b.SetText(label)
			b.Enable()
			if err != nil {
				s.saved(err)
			}
		})
	}()
}

// startMeterLocked meters the chosen microphone while the window is open:
// ten readings a second, on a dB scale (-60 dBFS empty, 0 dBFS full).
func (s *settingsWindow) startMeterLocked() {
	if s.meterStop != nil || s.devErr != nil {
		return
	}
	ctx, cancel := context.WithCancel(s.c.ctx)
	s.meterStop = cancel
	device := s.deviceValue(s.mic.Selected)
	var m audio.LevelMeter
	go func() {
		if err := s.c.be.MonitorInput(ctx, device, &m); err != nil && ctx.Err() == nil {
			s.c.log.Warn("level meter", "error", err)
		}
	}()
	bar := s.level
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		last := -1.0
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			v := LevelFraction(m.Level().RMS)
			if math.Abs(v-last) < 0.01 {
				continue // no redraw, no CPU, while the room is quiet
			}
			last = v
			s.c.opts.Dispatch(func() { bar.SetValue(v) })
		}
	}()
}

func (s *settingsWindow) stopMeterLocked() {
	if s.meterStop != nil {
		s.meterStop()
		s.meterStop = nil
	}
}

// LevelFraction maps a level in dBFS to a meter position: -60 dBFS and
// below is empty, 0 dBFS is full.
func LevelFraction(dbfs float64) float64 {
	return math.Max(0, math.Min(1, (dbfs+60)/60))
}
