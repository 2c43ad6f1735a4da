//go:build !nogui

package desktop

import (
	"context"
	"log/slog"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"
	fynedesktop "fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/lang"

	"switchboard/ui"
	"switchboard/ui/autostart"
)

// Available reports whether this build has the desktop app.
const Available = true

// Run shows the tray companion until the agent quits or ctx ends. It
// must be called on the main goroutine (the OS runs windows there).
func Run(ctx context.Context, opts Options) error {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	log := opts.Logger.With("room", "ui")
	a := fyneapp.NewWithID(AppID)
	var tray ui.Tray
	if d, ok := a.(fynedesktop.App); ok {
		tray = d
	}
	hasTray := trayHost()
	if !hasTray {
		log.Warn("no system tray host on this desktop: showing the status window instead of starting hidden")
	}
	c := ui.New(ui.Options{
		App:        a,
		Backend:    opts.Backend,
		Tray:       tray,
		Autostart:  loginItem{opts.Autostart},
		SystemLang: ui.ParseLang(lang.SystemLocale().String()),
		ShowPopup:  showFloating,
		Minimised:  hasFlag(opts.Args, "--minimized", "--minimised"),
		NoTrayHost: !hasTray,
		OnQuit:     a.Quit,
		Logger:     opts.Logger,
	})
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	c.Start(runCtx)
	if opts.Instance != nil {
		go func() {
			if err := opts.Instance.Serve(runCtx, func(args []string) {
				log.Info("handed over by another launch", "args", len(args))
				c.HandleArgs(args)
			}); err != nil {
				log.Warn("single-instance channel stopped", "error", err)
			}
		}()
	}
	c.HandleArgs(linksOnly(opts.Args))
	a.Lifecycle().SetOnStopped(c.Halt)
	ran := make(chan struct{})
	go func() {
		// Quit when ctx ends (SIGTERM), but never after the driver has
		// stopped: GLFW calls after its Terminate crash.
		select {
		case <-ctx.Done():
			fyne.Do(a.Quit)
		case <-ran:
		}
	}()
	log.Info("desktop app running")
	a.Run()
	close(ran)
	c.Stop()
	cancel()
	return nil
}

// linksOnly keeps the call links of the first launch (other arguments
// were handled by Run's options).
func linksOnly(args []string) []string {
	var out []string
	for _, a := range args {
		if len(a) > 0 && a[0] != '-' {
			out = append(out, a)
		}
	}
	return out
}

// loginItem is the settings window's start-at-login switch.
type loginItem struct{ opts autostart.Options }

func (l loginItem) Enabled() (bool, error) { return autostart.Enabled(l.opts) }

func (l loginItem) SetEnabled(on bool) error {
	if on {
		return autostart.Enable(l.opts)
	}
	return autostart.Disable(l.opts)
}
