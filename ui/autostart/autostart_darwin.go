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

// entryText is the content of the entry file.
var entryText = LaunchAgentPlist

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
