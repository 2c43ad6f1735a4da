// Package autostart makes Switchboard start when the agent signs in to the
// desktop: an XDG autostart entry on Linux, a LaunchAgent on macOS and the
// Run key on Windows, all per user (no administrator rights).
//
// It owns those three OS entries only; whether the app then starts
// minimised is the app's own setting, not this package's.
package autostart
