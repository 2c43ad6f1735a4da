//go:build linux || freebsd || openbsd || netbsd

package autostart

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

func (o Options) path() (string, error) {
	dir := o.ConfigHome
	if dir == "" {
		var err error
		if dir, err = os.UserConfigDir(); err != nil {
			return "", fmt.Errorf("finding the config directory: %w", err)
		}
	}
	return filepath.Join(dir, "autostart", fileName), nil
}

// entryText is the content of the entry file.
var entryText = DesktopEntry

// Enabled reports whether the entry exists and is not switched off
// (Hidden=true or X-GNOME-Autostart-enabled=false, as session managers'
// own settings dialogs write).
func Enabled(opts Options) (bool, error) {
	p, err := opts.path()
	if err != nil {
		return false, err
	}
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.TrimSpace(k) {
		case "Hidden":
			if v == "true" {
				return false, nil
			}
		case "X-GNOME-Autostart-enabled":
			if v == "false" {
				return false, nil
			}
		}
	}
	return true, sc.Err()
}
