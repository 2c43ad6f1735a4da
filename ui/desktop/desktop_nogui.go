//go:build nogui

package desktop

import "context"

// Available reports whether this build has the desktop app.
const Available = false

// Run returns ErrNoGUI: this build has no desktop app.
func Run(ctx context.Context, opts Options) error { return ErrNoGUI }
