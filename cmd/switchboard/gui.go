package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"switchboard/app"
	"switchboard/localhost"
	"switchboard/ui/autostart"
	"switchboard/ui/backend"
	"switchboard/ui/calllink"
	"switchboard/ui/desktop"
	"switchboard/ui/instance"
)

// runGUI runs the tray companion for `switchboard [run]` without
// --headless and for `switchboard tel:...` (a clicked call link). It
// reports handled=false for every other command, and in a build without
// the desktop app (-tags nogui), so main goes on as before.
//
// A second launch hands its arguments to the first over the instance
// channel and returns at once: it never opens the store, the sound
// devices or the local server.
func runGUI(ctx context.Context, g globals, cmd string, rest []string, log *slog.Logger) (handled bool, err error) {
	var args []string
	switch {
	case g.headless || !desktop.Available:
		return false, nil
	case cmd == "run":
		args = rest
	case calllink.IsLink(cmd):
		args = append([]string{cmd}, rest...)
	default:
		return false, nil
	}
	fs := flag.NewFlagSet("switchboard run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	minimised := fs.Bool("minimized", false, "start in the tray (used by start at login)")
	if err := fs.Parse(args); err != nil {
		return true, fmt.Errorf("%w: use switchboard [run] [--minimized] [tel:NUMBER]", err)
	}
	args = fs.Args()
	if *minimised {
		args = append(args, "--minimized")
	}

	claimCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	primary, err := instance.Claim(claimCtx, instance.Options{Logger: log}, args)
	cancel()
	if errors.Is(err, instance.ErrHandedOff) {
		log.Info("Switchboard is already running: handed over", "args", len(args))
		return true, nil
	}
	if err != nil {
		return true, err
	}
	defer primary.Close()
	return true, runDesktop(ctx, g, args, primary, log)
}

func runDesktop(ctx context.Context, g globals, args []string, primary *instance.Primary, log *slog.Logger) error {
	st, sys, closeLocal, err := openLocal(ctx, g, log)
	if err != nil {
		return err
	}
	defer closeLocal()

	bus := app.NewBus()
	widget := &guiPhone{bus: bus}
	be, err := backend.New(backend.Options{
		ConfigPath: g.configPath, DataDir: g.dataDir, Store: st, Audio: sys, Bus: bus, Logger: log,
		ChannelURL: localhost.ChannelURL,
		// Sign-in replaces the phone; the widget follows it.
		OnPhone: func(p *app.Phone) { widget.cur.Store(&widgetPhone{Phone: p, st: st, sys: sys}) },
	})
	if err != nil {
		return err
	}
	// The Dynamics 365 link follows the bus every phone shares, from
	// before the first phone starts, and outlives each sign-in.
	cfg, err := app.LoadConfig(g.configPath)
	if err != nil {
		return err
	}
	link, stopCRM, err := startCRM(ctx, cfg, st, widget, bus.Subscribe(1024), log)
	if err != nil {
		return err
	}
	defer stopCRM()
	if err := be.Start(ctx); err != nil {
		return err
	}
	defer be.Close()

	srv, err := startServer(ctx, g, be.Config(), widget, link, log)
	if err != nil {
		return err
	}
	defer srv.Close()

	exe, _ := os.Executable()
	return desktop.Run(ctx, desktop.Options{
		Backend:   be,
		Instance:  primary,
		Args:      args,
		Autostart: autostart.Options{Exec: exe, Args: []string{"run", "--minimized"}},
		Logger:    log,
	})
}

// guiExit turns runGUI's error into main's exit code.
func guiExit(err error, stderr io.Writer) int {
	if err != nil {
		fmt.Fprintln(stderr, "switchboard:", err)
		return 1
	}
	return 0
}

// guiPhone is the local server's phone in the desktop app: sign-in and
// sign-out replace the app.Phone, so every call reads the current one,
// and widgets subscribe to the bus every phone shares.
type guiPhone struct {
	cur atomic.Pointer[widgetPhone]
	bus *app.Bus
}

var _ localhost.Phone = (*guiPhone)(nil)

func (g *guiPhone) p() *widgetPhone { return g.cur.Load() }

// Calls are the current phone's live calls.
func (g *guiPhone) Calls() []app.Call {
	if p := g.p(); p != nil {
		return p.Calls()
	}
	return nil
}

// SetCallName names a call of the current phone.
func (g *guiPhone) SetCallName(ctx context.Context, id, name string) error {
	if p := g.p(); p != nil {
		return p.SetCallName(ctx, id, name)
	}
	return app.ErrCallNotFound
}

func (g *guiPhone) State() localhost.State              { return g.p().State() }
func (g *guiPhone) Subscribe(buf int) *app.Subscription { return g.bus.Subscribe(buf) }
func (g *guiPhone) Dial(ctx context.Context, n string) (app.Call, error) {
	return g.p().Dial(ctx, n)
}
func (g *guiPhone) Answer(ctx context.Context, id string) error  { return g.p().Answer(ctx, id) }
func (g *guiPhone) Decline(ctx context.Context, id string) error { return g.p().Decline(ctx, id) }
func (g *guiPhone) Hangup(ctx context.Context, id string) error  { return g.p().Hangup(ctx, id) }
func (g *guiPhone) Hold(ctx context.Context, id string) error    { return g.p().Hold(ctx, id) }
func (g *guiPhone) Resume(ctx context.Context, id string) error  { return g.p().Resume(ctx, id) }
func (g *guiPhone) Mute(ctx context.Context, id string, on bool) error {
	return g.p().Mute(ctx, id, on)
}
func (g *guiPhone) SendDTMF(ctx context.Context, id, digits string) error {
	return g.p().SendDTMF(ctx, id, digits)
}
func (g *guiPhone) History(ctx context.Context, q localhost.HistoryQuery) (localhost.HistoryPage, error) {
	return g.p().History(ctx, q)
}
func (g *guiPhone) Settings(ctx context.Context) (localhost.Settings, error) {
	return g.p().Settings(ctx)
}
func (g *guiPhone) UpdateSettings(ctx context.Context, p localhost.SettingsPatch) (localhost.Settings, error) {
	return g.p().UpdateSettings(ctx, p)
}
func (g *guiPhone) AudioDevices(ctx context.Context) ([]localhost.AudioDevice, error) {
	return g.p().AudioDevices(ctx)
}
func (g *guiPhone) PlayTestTone(ctx context.Context, role string) error {
	return g.p().PlayTestTone(ctx, role)
}
func (g *guiPhone) MicLevels(ctx context.Context) (<-chan localhost.Level, error) {
	return g.p().MicLevels(ctx)
}
