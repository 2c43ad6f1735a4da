package localhost

import (
	"context"
	"fmt"

	"switchboard/app"
)

// Phone is what the local server needs from the phone. It is defined here,
// where it is consumed, so the app can satisfy it with a thin adapter and
// tests can drive the HTTP layer with a small stand-in.
//
// Errors: return (or wrap) ErrCallNotFound, ErrInvalidState,
// ErrNotRegistered or a *FieldError so the API can answer with the right
// status; any other error is reported as 500 with its message, so it must
// be readable by an agent and hold no secret.
type Phone interface {
	// State is a consistent snapshot of everything a freshly connected
	// widget shows. It must not block on the network.
	State() State
	// Subscribe observes the phone's event bus. The server closes the
	// subscription when the widget goes away.
	Subscribe(buf int) *app.Subscription

	Dial(ctx context.Context, number string) (app.Call, error)
	Answer(ctx context.Context, callID string) error
	Decline(ctx context.Context, callID string) error
	Hangup(ctx context.Context, callID string) error
	Hold(ctx context.Context, callID string) error
	Resume(ctx context.Context, callID string) error
	Mute(ctx context.Context, callID string, on bool) error
	SendDTMF(ctx context.Context, callID, digits string) error

	History(ctx context.Context, q HistoryQuery) (HistoryPage, error)

	Settings(ctx context.Context) (Settings, error)
	// UpdateSettings applies the non-nil fields of p, saves them, returns
	// the result and publishes it on the bus (EvSettings) so every widget
	// follows. A bad value is a *FieldError.
	UpdateSettings(ctx context.Context, p SettingsPatch) (Settings, error)

	AudioDevices(ctx context.Context) ([]AudioDevice, error)
	// PlayTestTone plays a short tone on the device chosen for role
	// ("speaker" or "ringer") and returns once it has started.
	PlayTestTone(ctx context.Context, role string) error
	// MicLevels meters the selected microphone until ctx ends, then closes
	// the channel. The phone should share one meter among callers.
	MicLevels(ctx context.Context) (<-chan Level, error)
}

// State is the snapshot a widget receives first on every (re)connection
// and what GET /api/v1/status returns.
type State struct {
	Registration app.Registration `json:"registration"`
	Calls        []app.Call       `json:"calls"` // live calls, oldest first
	Settings     Settings         `json:"settings"`
}

// Settings are the agent's own choices (devices, auto-answer, language),
// the app's own type.
type Settings = app.Settings

// SettingsPatch changes only the fields that are set.
type SettingsPatch struct {
	Mic        *string `json:"mic,omitempty"`
	Speaker    *string `json:"speaker,omitempty"`
	Ringer     *string `json:"ringer,omitempty"`
	AutoAnswer *bool   `json:"autoAnswer,omitempty"`
	Language   *string `json:"language,omitempty"`
}

// AudioDevice is one sound device as the agent picks it.
type AudioDevice struct {
	Name           string `json:"name"`
	Input          bool   `json:"input"`  // usable as microphone
	Output         bool   `json:"output"` // usable as speaker or ringer
	DefaultInput   bool   `json:"defaultInput,omitempty"`
	DefaultOutput  bool   `json:"defaultOutput,omitempty"`
	HostAPI        string `json:"hostApi,omitempty"`
	DefaultRateHz  int    `json:"defaultRateHz,omitempty"`
	MaxInputChans  int    `json:"maxInputChannels,omitempty"`
	MaxOutputChans int    `json:"maxOutputChannels,omitempty"`
}

// Level is one reading of a level meter, both values 0..1 (linear).
type Level struct {
	RMS  float64 `json:"rms"`
	Peak float64 `json:"peak"`
}

// Errors a Phone returns (wrapped with %w) so the API answers precisely:
// the app's own sentinels, 404, 409 and 503.
var (
	ErrCallNotFound  = app.ErrCallNotFound
	ErrInvalidState  = app.ErrInvalidState
	ErrNotRegistered = app.ErrNotRegistered
)

// FieldError says which setting or request field is wrong and why.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Message) }
