// Package keyringtest runs a test binary inside its own D-Bus session with
// an unlocked gnome-keyring, so tests use the real Secret Service keychain
// (never an in-memory stand-in) and never the developer's own.
package keyringtest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// envMarker is set inside the session so the re-executed binary runs the
// tests instead of re-executing again.
const envMarker = "SWITCHBOARD_TEST_KEYRING_SESSION"

// Inside reports whether this process runs inside the test session.
func Inside() bool { return os.Getenv(envMarker) != "" }

// Main runs m inside a fresh session: HOME is a new temporary directory,
// set before dbus-run-session starts so the bus-activated keyring daemon
// and the tests agree on it (a daemon activated with another HOME cannot
// unlock the collection the tests use). It never returns.
func Main(m *testing.M) {
	if Inside() {
		os.Exit(m.Run())
	}
	for _, tool := range []string{"dbus-run-session", "gnome-keyring-daemon"} {
		if _, err := exec.LookPath(tool); err != nil {
			fmt.Fprintf(os.Stderr, "keyringtest: %s is missing: install the Debian packages dbus and gnome-keyring (make deps)\n", tool)
			os.Exit(1)
		}
	}
	home, err := os.MkdirTemp("", "switchboard-keyring-home-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "keyringtest:", err)
		os.Exit(1)
	}
	code := run(home)
	os.RemoveAll(home)
	os.Exit(code)
}

func run(home string) int {
	// The login keyring is created on first unlock with this password.
	script := `printf '%s' switchboard-test | gnome-keyring-daemon --unlock --components=secrets >/dev/null || exit 97; exec "$@"`
	args := append([]string{"--", "sh", "-c", script, "sh"}, os.Args...)
	cmd := exec.Command("dbus-run-session", args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	env := []string{"HOME=" + home, envMarker + "=1", "XDG_DATA_HOME=" + home + "/.local/share",
		"XDG_CONFIG_HOME=" + home + "/.config", "XDG_CACHE_HOME=" + home + "/.cache"}
	for _, kv := range os.Environ() {
		switch k, _, _ := strings.Cut(kv, "="); k {
		case "HOME", "DBUS_SESSION_BUS_ADDRESS", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME",
			"XDG_RUNTIME_DIR", "GNOME_KEYRING_CONTROL", "SSH_AUTH_SOCK", "GOPATH", "GOMODCACHE", "GOCACHE":
			continue
		}
		env = append(env, kv)
	}
	cmd.Env = append(env, goEnv()...)
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ee.ExitCode() == 97 {
			fmt.Fprintln(os.Stderr, "keyringtest: gnome-keyring-daemon --unlock failed")
		}
		return ee.ExitCode()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "keyringtest:", err)
		return 1
	}
	return 0
}

// goEnv pins the go command's caches to the caller's: tests that build
// the app must not start from an empty build cache (minutes) or module
// cache (downloads) in the fresh HOME.
func goEnv() []string {
	var out []string
	home, _ := os.UserHomeDir()
	gopath := os.Getenv("GOPATH")
	if gopath == "" && home != "" {
		gopath = filepath.Join(home, "go")
	}
	if gopath != "" {
		out = append(out, "GOPATH="+gopath)
	}
	if c := os.Getenv("GOMODCACHE"); c != "" {
		out = append(out, "GOMODCACHE="+c)
	} else if gopath != "" {
		out = append(out, "GOMODCACHE="+filepath.Join(filepath.SplitList(gopath)[0], "pkg", "mod"))
	}
	if c := os.Getenv("GOCACHE"); c != "" {
		out = append(out, "GOCACHE="+c)
	} else if dir, err := os.UserCacheDir(); err == nil {
		out = append(out, "GOCACHE="+filepath.Join(dir, "go-build"))
	}
	return out
}
