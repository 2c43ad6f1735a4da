//go:build darwin

package autostart

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

func (o Options) path() (string, error) {
	home := o.Home
	if home == "" {
		var err error
		if home, err = os.UserHomeDir(); err != nil {
			return "", fmt.Errorf("finding the home directory: %w", err)
		}
	}
	return filepath.Join(home, "Library", "LaunchAgents", Label+".plist"), nil
}

// Path is where the LaunchAgent lives.
func Path(opts Options) (string, error) { return opts.path() }

// Enable writes ~/Library/LaunchAgents/com.switchboard.softphone.plist;
// launchd loads it at the next login.
func Enable(opts Options) error {
	exe, err := opts.exec()
	if err != nil {
		return err
	}
	p, err := opts.path()
	if err != nil {
		return err
	}
	return writeFileAtomic(p, []byte(LaunchAgentPlist(exe, opts.Args)), 0o644)
}

// Disable removes the LaunchAgent.
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

// Enabled reports whether the LaunchAgent exists.
func Enabled(opts Options) (bool, error) {
	p, err := opts.path()
	if err != nil {
		return false, err
	}
	_, err = os.Stat(p)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}
