//go:build !nogui && !linux

package desktop

// trayHost: Windows and macOS always have a notification area / menu bar.
func trayHost() bool { return true }
