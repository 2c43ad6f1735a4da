//go:build windows

package calllink

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/sys/windows/registry"
)

// progID is the class Switchboard's links open with.
const progID = "Switchboard.CallLink"

// Register writes, under HKCU\Software\Classes, a ProgID whose open command
// runs switchboard with the link, points each scheme at it, and declares
// the capability so Settings > Default apps lists Switchboard. Windows 10
// and later keep the user's own choice (UserChoice) over these keys: when
// another app was picked for tel:, the agent picks Switchboard once in
// Settings (or an administrator sets it by policy).
func Register(ctx context.Context, opts Options) error {
	exe, err := opts.exec()
	if err != nil {
		return err
	}
	command := `"` + exe + `" "%1"`
	set := func(path, name, value string) error {
		k, _, err := registry.CreateKey(registry.CURRENT_USER, path, registry.SET_VALUE)
		if err != nil {
			return fmt.Errorf("registry %s: %w", path, err)
		}
		defer k.Close()
		if err := k.SetStringValue(name, value); err != nil {
			return fmt.Errorf("registry %s\\%s: %w", path, name, err)
		}
		return nil
	}
	steps := [][3]string{
		{`Software\Classes\` + progID, "", "Switchboard call link"},
		{`Software\Classes\` + progID, "URL Protocol", ""},
		{`Software\Classes\` + progID + `\DefaultIcon`, "", `"` + exe + `",0`},
		{`Software\Classes\` + progID + `\shell\open\command`, "", command},
		{`Software\Switchboard\Capabilities`, "ApplicationName", "Switchboard"},
		{`Software\Switchboard\Capabilities`, "ApplicationDescription", "Softphone for Dynamics 365"},
		{`Software\RegisteredApplications`, "Switchboard", `Software\Switchboard\Capabilities`},
	}
	for _, s := range Schemes() {
		steps = append(steps,
			[3]string{`Software\Classes\` + s, "", "URL:" + s},
			[3]string{`Software\Classes\` + s, "URL Protocol", ""},
			[3]string{`Software\Classes\` + s + `\shell\open\command`, "", command},
			[3]string{`Software\Switchboard\Capabilities\URLAssociations`, s, progID},
		)
	}
	for _, s := range steps {
		if err := set(s[0], s[1], s[2]); err != nil {
			return err
		}
	}
	return nil
}

// Unregister removes what Register wrote. A scheme key is removed only
// when it still opens Switchboard, so another app's handler survives.
func Unregister(ctx context.Context, opts Options) error {
	exe, err := opts.exec()
	if err != nil {
		return err
	}
	var errs []error
	for _, s := range Schemes() {
		if cmd, _ := readString(`Software\Classes\`+s+`\shell\open\command`, ""); cmd == `"`+exe+`" "%1"` {
			errs = append(errs, deleteTree(`Software\Classes\`+s))
		}
	}
	errs = append(errs,
		deleteTree(`Software\Classes\`+progID),
		deleteTree(`Software\Switchboard\Capabilities`))
	if k, err := registry.OpenKey(registry.CURRENT_USER, `Software\RegisteredApplications`, registry.SET_VALUE); err == nil {
		if err := k.DeleteValue("Switchboard"); err != nil && !errors.Is(err, registry.ErrNotExist) {
			errs = append(errs, err)
		}
		k.Close()
	}
	return errors.Join(errs...)
}

// Registered reports whether every scheme's open command runs this
// executable (the per-user class keys; a UserChoice may still override).
func Registered(ctx context.Context, opts Options) (bool, error) {
	exe, err := opts.exec()
	if err != nil {
		return false, err
	}
	for _, s := range Schemes() {
		cmd, err := readString(`Software\Classes\`+s+`\shell\open\command`, "")
		if err != nil || cmd != `"`+exe+`" "%1"` {
			return false, nil
		}
	}
	return true, nil
}

func readString(path, name string) (string, error) {
	k, err := registry.OpenKey(registry.CURRENT_USER, path, registry.QUERY_VALUE)
	if err != nil {
		return "", err
	}
	defer k.Close()
	v, _, err := k.GetStringValue(name)
	return v, err
}

// deleteTree removes path and its sub-keys (registry.DeleteKey refuses a
// key that has children).
func deleteTree(path string) error {
	k, err := registry.OpenKey(registry.CURRENT_USER, path, registry.ENUMERATE_SUB_KEYS)
	if errors.Is(err, registry.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	names, err := k.ReadSubKeyNames(-1)
	k.Close()
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := deleteTree(path + `\` + n); err != nil {
			return err
		}
	}
	if err := registry.DeleteKey(registry.CURRENT_USER, path); err != nil && !errors.Is(err, registry.ErrNotExist) {
		return fmt.Errorf("registry %s: %w", path, err)
	}
	return nil
}
