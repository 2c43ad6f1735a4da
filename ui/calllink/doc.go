// Package calllink turns tel:, callto: and sip: links into something the
// phone can dial, and registers Switchboard as the operating system's
// handler for those schemes (Linux: a .desktop file plus xdg-mime; Windows:
// HKCU\Software\Classes; macOS: the bundle's Info.plist, written by the
// installer).
//
// It owns link parsing and handler registration only: it never dials and
// never touches the phone, the tray or the local server.
package calllink
