//go:build !nogui && linux

package desktop

import (
	"os"

	"github.com/godbus/dbus/v5"
)

// trayHost reports whether a StatusNotifierItem host (the tray of KDE,
// Xfce, LXQt, GNOME with the AppIndicator extension...) is on the session
// bus; fyne's tray shows nowhere without one.
func trayHost() bool {
	// Never let godbus autolaunch a private bus just to ask.
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		return false
	}
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		return false
	}
	defer conn.Close()
	var has bool
	err = conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, "org.kde.StatusNotifierWatcher").Store(&has)
	return err == nil && has
}
