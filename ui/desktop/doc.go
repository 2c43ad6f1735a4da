// Package desktop starts the real fyne app around the ui controller: the
// system tray (fyne's own, fyne.io/systray), notifications, the
// always-on-top incoming-call popup, the single-instance hand-over and
// starting at login.
//
// It is the only package that imports fyne.io/fyne/v2/app (and so needs a
// display, OpenGL and cgo). Built with -tags nogui it shrinks to a stub,
// for servers that only ever run --headless.
package desktop
