// Package ui is Switchboard's native face: the tray icon and menu, the
// status, sign-in and settings windows, incoming-call notifications and
// the answer/decline popup, in English and Simplified Chinese.
//
// It builds fyne widgets but never imports fyne.io/fyne/v2/app, so its
// tests run on fyne's test driver without a display; ui/desktop starts the
// real app. It talks to the phone only through the small interfaces in
// backend.go (implemented by ui/backend) and must not touch the SIP
// stack, the audio pipeline or the local server.
package ui
