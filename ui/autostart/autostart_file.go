//go:build darwin || linux || freebsd || openbsd || netbsd

package autostart

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"switchboard/internal/atomicfile"
)

// Path is where the entry file lives: the XDG autostart entry, or the
// LaunchAgent on macOS.
func Path(opts Options) (string, error) { return opts.path() }

// Enable writes the entry file ($XDG_CONFIG_HOME/autostart/switchboard.desktop,
// or ~/Library/LaunchAgents/com.switchboard.softphone.plist, which
// launchd loads at the next login).
func Enable(opts Options) error {
	exe, err := opts.exec()
	if err != nil {
		return err
	}
	p, err := opts.path()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", filepath.Dir(p), err)
	}
	return atomicfile.Write(p, []byte(entryText(exe, opts.Args)), 0o644)
}

// Disable removes the entry file (missing is fine).
func Disable(opts Options) error {
	p, err := opts.path()
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing %s: %w", p, err)
	}
	return nil
}
