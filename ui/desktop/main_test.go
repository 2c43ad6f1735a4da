package desktop

import (
	"testing"

	"switchboard/ui/internal/keyringtest"
)

// The desktop tests run inside a private D-Bus session with an unlocked
// gnome-keyring: the app's keychain, tray and notifications all go there.
func TestMain(m *testing.M) { keyringtest.Main(m) }
