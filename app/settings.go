package app

import (
	"context"
	"fmt"

	"switchboard/audio"
)

// Settings are the agent's own choices. They start from the
// administrator's config file and the agent's changes, kept in the store,
// win over it.
type Settings struct {
	Mic        string `json:"mic"`
	Speaker    string `json:"speaker"`
	Ringer     string `json:"ringer"`
	AutoAnswer bool   `json:"autoAnswer"`
	Language   string `json:"language"`
}

// settingsKey is the store key of the agent's overrides.
const settingsKey = "agent.settings"

// presetSettings are the settings the config file gives.
func presetSettings(cfg Config) Settings {
	return Settings{
		Mic: cfg.Audio.Mic, Speaker: cfg.Audio.Speaker, Ringer: cfg.Audio.Ringer,
		AutoAnswer: cfg.Calls.AutoAnswer, Language: cfg.UI.Language,
	}
}

// loadSettings overlays the stored overrides on the presets.
func (p *Phone) loadSettings(ctx context.Context) error {
	s := presetSettings(p.opts.Config)
	if _, err := p.st.GetSetting(ctx, settingsKey, &s); err != nil {
		return fmt.Errorf("reading saved settings: %w", err)
	}
	p.mu.Lock()
	p.settings = s
	p.mu.Unlock()
	return nil
}

// Settings returns the settings in force.
func (p *Phone) Settings() Settings {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.settings
}

// UpdateSettings applies fn to a copy of the settings, checks and saves
// the result and applies it at once (devices switch on the current call
// too). The caller validates device names against the device list.
func (p *Phone) UpdateSettings(ctx context.Context, fn func(*Settings) error) (Settings, error) {
	p.settingsMu.Lock()
	defer p.settingsMu.Unlock()
	p.mu.Lock()
	s := p.settings
	p.mu.Unlock()
	if err := fn(&s); err != nil {
		return Settings{}, err
	}
	switch s.Language {
	case "", "en", "zh-CN":
	default:
		return Settings{}, fmt.Errorf("language %q: use en or zh-CN", s.Language)
	}
	if err := p.st.PutSetting(ctx, settingsKey, s); err != nil {
		return Settings{}, fmt.Errorf("saving settings: %w", err)
	}
	p.mu.Lock()
	p.settings = s
	var active *audio.Call
	if p.focus != nil {
		active = p.focus.audio
	}
	p.mu.Unlock()
	if active != nil {
		if err := active.SetDevices(s.Mic, s.Speaker); err != nil {
			p.log.Warn("switching devices on the current call failed", "error", err)
		}
	}
	p.bus.Publish(Event{Type: EvSettings, Settings: &s})
	return s, nil
}
