// Package backend is the tray companion's view of the phone: it signs in
// and out (config file plus OS keychain), restarts app.Phone for a new
// account, keeps the agent's presence (available, away, do not disturb —
// which declines incoming calls with 486 Busy Here) and exposes calls,
// settings and audio devices to the windows.
//
// It owns the account lifecycle of the desktop app only. It never touches
// fyne (so a build without a GUI still compiles it), the SIP stack, the
// audio pipeline or the local server; cmd/switchboard points the local
// server at each new phone through Options.OnPhone.
package backend
