package ui

import (
	"context"

	"fyne.io/fyne/v2"

	"switchboard/app"
	"switchboard/audio"
	"switchboard/ui/backend"
)

// Account is the sign-in side of the phone.
type Account interface {
	SignedIn() bool
	// KeychainError says why the saved password could not be read at
	// start (nil when it could or there was none).
	KeychainError() error
	Account() backend.Account
	// SignIn returns a *backend.Error classifying a failure.
	SignIn(ctx context.Context, a backend.Account, password string) error
	SignOut(ctx context.Context) error
}

// Calls is the call side of the phone.
type Calls interface {
	Registration() app.Registration
	Calls() []app.Call
	Subscribe(buf int) *app.Subscription
	Dial(ctx context.Context, number string) (app.Call, error)
	Answer(ctx context.Context, id string) error
	Decline(ctx context.Context, id string) error
}

// Preferences are the agent's choices the windows edit.
type Preferences interface {
	Presence() backend.Presence
	SetPresence(ctx context.Context, p backend.Presence) error
	Prefs() backend.Prefs
	SetPrefs(ctx context.Context, p backend.Prefs) error
	Settings() app.Settings
	UpdateSettings(ctx context.Context, fn func(*app.Settings) error) (app.Settings, error)
}

// Sound is what the settings window needs of the sound devices.
type Sound interface {
	Devices() ([]audio.DeviceInfo, error)
	PlayTestTone(ctx context.Context, device string) error
	MonitorInput(ctx context.Context, device string, m *audio.LevelMeter) error
}

// Links are the local server's addresses.
type Links interface {
	WidgetURL() string
	ChannelURL() (string, error)
}

// Backend is everything the tray companion needs of the phone;
// *backend.Backend implements it.
type Backend interface {
	Account
	Calls
	Preferences
	Sound
	Links
}

var _ Backend = (*backend.Backend)(nil)

// Autostart switches starting at login on and off (ui/autostart behind it).
type Autostart interface {
	Enabled() (bool, error)
	SetEnabled(on bool) error
}

// Tray is the system tray (fyne's desktop.App).
type Tray interface {
	SetSystemTrayMenu(menu *fyne.Menu)
	SetSystemTrayIcon(icon fyne.Resource)
	SetSystemTrayWindow(w fyne.Window)
}
