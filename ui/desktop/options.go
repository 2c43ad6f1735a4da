package desktop

import (
	"errors"
	"log/slog"

	"switchboard/ui/autostart"
	"switchboard/ui/backend"
	"switchboard/ui/instance"
)

// AppID identifies the app to the desktop (notifications, preferences).
const AppID = "com.switchboard.softphone"

// Options configure Run.
type Options struct {
	Backend *backend.Backend
	// Instance receives later launches' arguments; nil runs without.
	Instance *instance.Primary
	// Args are this launch's own (a tel: link, --minimized).
	Args []string
	// Autostart says what starts at login.
	Autostart autostart.Options
	Logger    *slog.Logger
}

// ErrNoGUI is what Run returns in a build without the desktop app.
var ErrNoGUI = errors.New("this build of Switchboard has no desktop app: run it with --headless")

func hasFlag(args []string, names ...string) bool {
	for _, a := range args {
		for _, n := range names {
			if a == n {
				return true
			}
		}
	}
	return false
}
