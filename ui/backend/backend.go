package backend

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"switchboard/app"
	"switchboard/app/store"
	"switchboard/audio"
)

// Options configure a Backend.
type Options struct {
	// ConfigPath is the TOML config; sign-in writes the account to it.
	ConfigPath string
	DataDir    string
	Store      *store.Store
	// Audio may be nil (no sound system): calls still signal.
	Audio *audio.System
	// Bus is shared by every phone the backend starts, so subscribers
	// (the widget, the tray) survive a sign-in. Nil makes one.
	Bus    *app.Bus
	Logger *slog.Logger
	// OnPhone is called with each new phone before it starts, so the
	// caller can point the local server at it.
	OnPhone func(*app.Phone)
	// SignInTimeout bounds the wait for the PBX's verdict (default 20 s).
	SignInTimeout time.Duration
	// Tune adjusts every phone's options (tests shorten retries).
	Tune func(*app.PhoneOptions)
	// ChannelURL builds the Dynamics channel URL from the local server's
	// port and an organisation URL (localhost.ChannelURL); nil means the
	// channel URL is unknown.
	ChannelURL func(port int, crmURL string) (string, error)
}

// Account is what the agent types to sign in.
type Account struct {
	Server    string // host[:port]
	Transport string // udp, tcp, tls
	// Extension is the extension number, a SIP user name, or an email
	// address user@domain, which signs in as that SIP identity.
	Extension string
}

// Presence is the agent's availability.
type Presence string

const (
	Available Presence = "available"
	Away      Presence = "away"
	// DND declines every incoming call with 486 Busy Here, so the PBX
	// moves on (voicemail, the next queue member) at once instead of
	// letting the caller ring out.
	DND Presence = "dnd"
)

// Prefs are the desktop app's own choices.
type Prefs struct {
	StartMinimised bool `json:"startMinimised"`
	// Popup shows the small answer/decline window on incoming calls
	// (the notification is always sent).
	Popup bool `json:"popup"`
}

// Store keys of the desktop app's state.
const (
	presenceKey = "ui.presence"
	prefsKey    = "ui.prefs"
)

// Backend is the signed-in (or signed-out) phone of the desktop app.
type Backend struct {
	opts Options
	log  *slog.Logger
	bus  *app.Bus

	signMu sync.Mutex // one sign-in or sign-out at a time

	mu       sync.Mutex
	cfg      app.Config
	signedIn bool
	phone    *app.Phone
	stop     context.CancelFunc // ends the phone's context
	presence Presence
	prefs    Prefs
	keyErr   error // why the keychain could not be read at start
	runCtx   context.Context
	done     chan struct{}
}

// New makes a backend; Start signs in from the keychain.
func New(opts Options) (*Backend, error) {
	if opts.Store == nil {
		return nil, errors.New("backend needs a store")
	}
	if opts.ConfigPath == "" {
		return nil, errors.New("backend needs a config path")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Bus == nil {
		opts.Bus = app.NewBus()
	}
	if opts.SignInTimeout <= 0 {
		opts.SignInTimeout = 20 * time.Second
	}
	return &Backend{opts: opts, log: opts.Logger.With("room", "ui"), bus: opts.Bus,
		presence: Available, prefs: Prefs{Popup: true}, done: make(chan struct{})}, nil
}

// Start loads the config and the saved password and starts the phone:
// signed in when the keychain has the account's password, signed out
// (the sign-in window's job) otherwise. ctx bounds the backend's life.
func (b *Backend) Start(ctx context.Context) error {
	cfg, err := app.LoadConfig(b.opts.ConfigPath)
	if err != nil {
		return err
	}
	var p Presence
	if ok, err := b.opts.Store.GetSetting(ctx, presenceKey, &p); err == nil && ok && validPresence(p) {
		b.presence = p
	}
	prefs := b.prefs
	if _, err := b.opts.Store.GetSetting(ctx, prefsKey, &prefs); err == nil {
		b.prefs = prefs
	}
	b.runCtx = ctx
	pw := ""
	if configured(cfg) {
		pw, err = app.LoadPassword(cfg)
		switch {
		case err == nil:
		case errors.Is(err, app.ErrNoPassword):
			b.log.Info("no saved password: waiting for sign-in", "account", app.KeychainUser(cfg))
		default:
			b.log.Warn("keychain unavailable: waiting for sign-in", "error", err)
			b.keyErr = err
		}
	}
	b.mu.Lock()
	b.cfg = cfg
	b.mu.Unlock()
	if err := b.startPhone(cfg, pw); err != nil {
		return err
	}
	go b.enforceDND(ctx)
	return nil
}

func configured(cfg app.Config) bool { return cfg.PBX.Server != "" && cfg.Account.Extension != "" }

func validPresence(p Presence) bool { return p == Available || p == Away || p == DND }

// startPhone starts a phone for cfg: registered when pw is set, an
// account-less phone (widget and history still work) when it is not.
func (b *Backend) startPhone(cfg app.Config, pw string) error {
	run := cfg
	if pw == "" {
		run.Account.Extension = ""
	}
	po := app.PhoneOptions{Config: run, Password: pw, Store: b.opts.Store, Bus: b.bus,
		Audio: b.opts.Audio, Logger: b.opts.Logger, DataDir: b.opts.DataDir}
	if b.opts.Tune != nil {
		b.opts.Tune(&po)
	}
	p, err := app.NewPhone(po)
	if err != nil {
		return err
	}
	if b.opts.OnPhone != nil {
		b.opts.OnPhone(p)
	}
	ctx, cancel := context.WithCancel(b.runCtx)
	if err := p.Start(ctx); err != nil {
		cancel()
		return err
	}
	b.mu.Lock()
	b.phone, b.stop, b.signedIn = p, cancel, pw != ""
	b.mu.Unlock()
	return nil
}

// stopPhone unregisters and stops the current phone.
func (b *Backend) stopPhone() {
	b.mu.Lock()
	p, stop := b.phone, b.stop
	b.phone, b.stop = nil, nil
	b.mu.Unlock()
	if p == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.Close(ctx); err != nil {
		b.log.Warn("closing the phone", "error", err)
	}
	stop()
}

// Close stops the phone (unregistering it).
func (b *Backend) Close() {
	b.signMu.Lock()
	defer b.signMu.Unlock()
	b.stopPhone()
}

// Phone is the phone in use (nil before Start).
func (b *Backend) Phone() *app.Phone {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.phone
}

func (b *Backend) current() (*app.Phone, error) {
	p := b.Phone()
	if p == nil {
		return nil, fmt.Errorf("%w: the phone is not running", app.ErrNotRegistered)
	}
	return p, nil
}

// SignedIn reports whether an account's password is in use (the PBX may
// still be unreachable: see Registration).
func (b *Backend) SignedIn() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.signedIn
}

// KeychainError is why the saved password could not be read at start
// (nil when it could, or when there was none).
func (b *Backend) KeychainError() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.keyErr
}

// Account is the account in the config (to prefill the sign-in window).
func (b *Backend) Account() Account {
	b.mu.Lock()
	defer b.mu.Unlock()
	a := Account{Server: b.cfg.PBX.Server, Transport: b.cfg.PBX.Transport, Extension: b.cfg.Account.Extension}
	if d := b.cfg.PBX.Domain; d != "" && a.Extension != "" {
		if h, _, _ := app.SplitHostPort(a.Server); !strings.EqualFold(h, d) {
			a.Extension += "@" + d
		}
	}
	return a
}

// Config is the config in force.
func (b *Backend) Config() app.Config {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cfg
}

// Subscribe observes every phone's events.
func (b *Backend) Subscribe(buf int) *app.Subscription { return b.bus.Subscribe(buf) }

// Registration is the current phone's registration.
func (b *Backend) Registration() app.Registration {
	if p := b.Phone(); p != nil {
		return p.Registration()
	}
	return app.Registration{State: app.RegUnregistered}
}

// Calls are the current phone's live calls.
func (b *Backend) Calls() []app.Call {
	if p := b.Phone(); p != nil {
		return p.Calls()
	}
	return nil
}

// Dial calls a number or SIP address.
func (b *Backend) Dial(ctx context.Context, number string) (app.Call, error) {
	p, err := b.current()
	if err != nil {
		return app.Call{}, err
	}
	return p.Dial(ctx, number)
}

// Answer takes a ringing call.
func (b *Backend) Answer(ctx context.Context, id string) error {
	p, err := b.current()
	if err != nil {
		return err
	}
	return p.Answer(ctx, id)
}

// Decline refuses a ringing call (486 Busy Here).
func (b *Backend) Decline(ctx context.Context, id string) error {
	p, err := b.current()
	if err != nil {
		return err
	}
	return p.Decline(ctx, id)
}

// Hangup ends a call.
func (b *Backend) Hangup(ctx context.Context, id string) error {
	p, err := b.current()
	if err != nil {
		return err
	}
	return p.Hangup(ctx, id)
}

// Settings are the agent's settings (devices, language...).
func (b *Backend) Settings() app.Settings {
	if p := b.Phone(); p != nil {
		return p.Settings()
	}
	return app.Settings{}
}

// UpdateSettings changes and saves the settings; the widget follows.
func (b *Backend) UpdateSettings(ctx context.Context, fn func(*app.Settings) error) (app.Settings, error) {
	p, err := b.current()
	if err != nil {
		return app.Settings{}, err
	}
	return p.UpdateSettings(ctx, fn)
}

// Presence is the agent's availability.
func (b *Backend) Presence() Presence {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.presence
}

// SetPresence changes and saves the availability.
func (b *Backend) SetPresence(ctx context.Context, p Presence) error {
	if !validPresence(p) {
		return fmt.Errorf("presence %q: use available, away or dnd", p)
	}
	if err := b.opts.Store.PutSetting(ctx, presenceKey, p); err != nil {
		return fmt.Errorf("saving presence: %w", err)
	}
	b.mu.Lock()
	b.presence = p
	b.mu.Unlock()
	b.log.Info("presence", "state", p)
	return nil
}

// Prefs are the desktop app's own choices.
func (b *Backend) Prefs() Prefs {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.prefs
}

// SetPrefs saves them.
func (b *Backend) SetPrefs(ctx context.Context, p Prefs) error {
	if err := b.opts.Store.PutSetting(ctx, prefsKey, p); err != nil {
		return fmt.Errorf("saving preferences: %w", err)
	}
	b.mu.Lock()
	b.prefs = p
	b.mu.Unlock()
	return nil
}

// enforceDND declines incoming calls while the agent is on do not
// disturb. (The phone may have started the ringer a few milliseconds
// earlier; the decline stops it.)
func (b *Backend) enforceDND(ctx context.Context) {
	sub := b.bus.Subscribe(64)
	defer sub.Close()
	for {
		select {
		case <-ctx.Done():
			close(b.done)
			return
		case e, ok := <-sub.C:
			if !ok {
				return
			}
			if e.Type != app.EvCall || e.Call.Direction != app.Inbound || e.Call.State != app.CallIncoming {
				continue
			}
			if b.Presence() != DND {
				continue
			}
			b.log.Info("do not disturb: declining", "call", e.Call.ID, "number", e.Call.Number)
			dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			if err := b.Decline(dctx, e.Call.ID); err != nil && !errors.Is(err, app.ErrCallNotFound) {
				b.log.Warn("do not disturb: decline failed", "error", err)
			}
			cancel()
		}
	}
}

// WidgetURL is the softphone page of the local server.
func (b *Backend) WidgetURL() string {
	return fmt.Sprintf("https://localhost:%d/", b.Config().Server.Port)
}

// ErrNoCRM means no Dynamics 365 organisation is configured.
var ErrNoCRM = errors.New("no Dynamics 365 organisation is configured: set [crm] url in the config file")

// ChannelURL is the URL for the Dynamics 365 channel provider (the first
// configured organisation's).
func (b *Backend) ChannelURL() (string, error) {
	cfg := b.Config()
	if len(cfg.CRM.URL) == 0 {
		return "", ErrNoCRM
	}
	if b.opts.ChannelURL == nil {
		return "", errors.New("the channel URL is not available in this build")
	}
	return b.opts.ChannelURL(cfg.Server.Port, cfg.CRM.URL[0])
}

// Devices lists the sound devices.
func (b *Backend) Devices() ([]audio.DeviceInfo, error) {
	if b.opts.Audio == nil {
		return nil, ErrNoAudio
	}
	return b.opts.Audio.Devices()
}

// ErrNoAudio means PortAudio could not start on this computer.
var ErrNoAudio = errors.New("no sound system is available on this computer")

// PlayTestTone plays the test tone once on device ("" = default).
func (b *Backend) PlayTestTone(ctx context.Context, device string) error {
	if b.opts.Audio == nil {
		return ErrNoAudio
	}
	t := audio.TestTone()
	t.Once = true
	return b.opts.Audio.PlayTone(ctx, device, t)
}

// MonitorInput meters device ("" = default) into m until ctx ends.
func (b *Backend) MonitorInput(ctx context.Context, device string, m *audio.LevelMeter) error {
	if b.opts.Audio == nil {
		return ErrNoAudio
	}
	return b.opts.Audio.MonitorInput(ctx, device, m)
}
