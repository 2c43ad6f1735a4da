//go:build windows

package autostart

import (
	"errors"
	"fmt"

	"golang.org/x/sys/windows/registry"
)

const runKey = `Software\Microsoft\Windows\CurrentVersion\Run`

// valueName of Switchboard's entry under the Run key.
const valueName = "Switchboard"

// Path names the registry value.
func Path(opts Options) (string, error) { return `HKCU\` + runKey + `\` + valueName, nil }

// Enable sets HKCU\...\Run\Switchboard to the command line.
func Enable(opts Options) error {
	exe, err := opts.exec()
	if err != nil {
		return err
	}
	k, _, err := registry.CreateKey(registry.CURRENT_USER, runKey, registry.SET_VALUE)
	if err != nil {
		return fmt.Errorf("opening the Run key: %w", err)
	}
	defer k.Close()
	if err := k.SetStringValue(valueName, RunValue(exe, opts.Args)); err != nil {
		return fmt.Errorf("writing the Run key: %w", err)
	}
	return nil
}

// Disable deletes the value.
func Disable(opts Options) error {
	k, err := registry.OpenKey(registry.CURRENT_USER, runKey, registry.SET_VALUE)
	if errors.Is(err, registry.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("opening the Run key: %w", err)
	}
	defer k.Close()
	if err := k.DeleteValue(valueName); err != nil && !errors.Is(err, registry.ErrNotExist) {
		return fmt.Errorf("deleting the Run key value: %w", err)
	}
	return nil
}

// Enabled reports whether the value exists (Task Manager's "disabled"
// state lives elsewhere, under StartupApproved, and wins over it).
func Enabled(opts Options) (bool, error) {
	k, err := registry.OpenKey(registry.CURRENT_USER, runKey, registry.QUERY_VALUE)
	if errors.Is(err, registry.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer k.Close()
	_, _, err = k.GetStringValue(valueName)
	if errors.Is(err, registry.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}
