//go:build darwin

package calllink

import "context"

// Register is the installer's job on macOS: Launch Services reads the
// schemes from the bundle's Info.plist (see InfoPlistURLTypes) when
// Switchboard.app is installed. It returns ErrInstallerOwned.
func Register(ctx context.Context, opts Options) error { return ErrInstallerOwned }

// Unregister: removing the bundle removes its handlers.
func Unregister(ctx context.Context, opts Options) error { return ErrInstallerOwned }

// Registered cannot be answered without Launch Services; it reports false
// with ErrInstallerOwned.
func Registered(ctx context.Context, opts Options) (bool, error) { return false, ErrInstallerOwned }
