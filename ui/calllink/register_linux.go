//go:build linux || freebsd || openbsd || netbsd

package calllink

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"switchboard/internal/atomicfile"
)

func (o Options) dataHome() (string, error) {
	if o.DataHome != "" {
		return o.DataHome, nil
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return d, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".local", "share"), nil
}

func (o Options) configHome() (string, error) {
	if o.ConfigHome != "" {
		return o.ConfigHome, nil
	}
	return os.UserConfigDir()
}

// xdgEnv is the environment xdg-mime runs in: ours with the two homes set.
func (o Options) xdgEnv() ([]string, error) {
	dh, err := o.dataHome()
	if err != nil {
		return nil, err
	}
	ch, err := o.configHome()
	if err != nil {
		return nil, err
	}
	return append(os.Environ(), "XDG_DATA_HOME="+dh, "XDG_CONFIG_HOME="+ch), nil
}

// Register writes the desktop entry and makes it the default handler of
// tel:, callto: and sip: with xdg-mime (package xdg-utils).
func Register(ctx context.Context, opts Options) error {
	exe, err := opts.exec()
	if err != nil {
		return err
	}
	dh, err := opts.dataHome()
	if err != nil {
		return err
	}
	dir := filepath.Join(dh, "applications")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	path := filepath.Join(dir, DesktopFileName)
	if err := atomicfile.Write(path, []byte(DesktopEntry(exe)), 0o644); err != nil {
		return err
	}
	env, err := opts.xdgEnv()
	if err != nil {
		return err
	}
	args := []string{"default", DesktopFileName}
	for _, s := range Schemes() {
		args = append(args, "x-scheme-handler/"+s)
	}
	if err := run(ctx, env, "xdg-mime", args...); err != nil {
		return fmt.Errorf("making Switchboard the handler of call links: %w (install xdg-utils)", err)
	}
	// Some desktops read the MIME cache rather than the entries; it is a
	// nicety, so a missing update-desktop-database is fine.
	if _, err := exec.LookPath("update-desktop-database"); err == nil {
		_ = run(ctx, env, "update-desktop-database", dir)
	}
	return nil
}

// Unregister removes the desktop entry; xdg-mime then finds no handler
// named switchboard.desktop and falls back to the next one.
func Unregister(ctx context.Context, opts Options) error {
	dh, err := opts.dataHome()
	if err != nil {
		return err
	}
	path := filepath.Join(dh, "applications", DesktopFileName)
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing %s: %w", path, err)
	}
	return nil
}

// Registered reports whether Switchboard is the default handler of every
// scheme, as xdg-mime sees it.
func Registered(ctx context.Context, opts Options) (bool, error) {
	env, err := opts.xdgEnv()
	if err != nil {
		return false, err
	}
	dh, _ := opts.dataHome()
	if _, err := os.Stat(filepath.Join(dh, "applications", DesktopFileName)); err != nil {
		return false, nil
	}
	for _, s := range Schemes() {
		cmd := exec.CommandContext(ctx, "xdg-mime", "query", "default", "x-scheme-handler/"+s)
		cmd.Env = env
		out, err := cmd.Output()
		if err != nil {
			return false, fmt.Errorf("xdg-mime query: %w", err)
		}
		if strings.TrimSpace(string(out)) != DesktopFileName {
			return false, nil
		}
	}
	return true, nil
}

func run(ctx context.Context, env []string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
