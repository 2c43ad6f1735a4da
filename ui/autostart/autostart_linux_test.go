//go:build linux

package autostart

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestXDGAutostart enables the entry in a temporary XDG_CONFIG_HOME and has
// dex, a real XDG autostart runner, start it as a session would at login.
func TestXDGAutostart(t *testing.T) {
	for _, tool := range []string{"dex", "desktop-file-validate"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is missing: install the Debian packages dex and desktop-file-utils", tool)
		}
	}
	home := t.TempDir()
	cfg := filepath.Join(home, ".config")
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", cfg)
	t.Setenv("XDG_CONFIG_DIRS", filepath.Join(home, "etc-xdg")) // no system autostart entries

	started := filepath.Join(home, "started.txt")
	exe := filepath.Join(home, "bin", "switchboard")
	if err := os.MkdirAll(filepath.Dir(exe), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, []byte("#!/bin/sh\necho \"$@\" > '"+started+"'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	opts := Options{Exec: exe, Args: []string{"--minimized"}}

	if on, err := Enabled(opts); err != nil || on {
		t.Fatalf("Enabled before Enable = %v, %v", on, err)
	}
	if err := Enable(opts); err != nil {
		t.Fatal(err)
	}
	if on, err := Enabled(opts); err != nil || !on {
		t.Fatalf("Enabled after Enable = %v, %v", on, err)
	}
	p, _ := Path(opts)
	if want := filepath.Join(cfg, "autostart", "switchboard.desktop"); p != want {
		t.Fatalf("entry at %s, want %s", p, want)
	}
	if out, err := exec.Command("desktop-file-validate", p).CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("desktop-file-validate: %v: %s", err, out)
	}

	runDex := func() {
		t.Helper()
		out, err := exec.Command("dex", "--autostart", "--environment", "GNOME", "--wait").CombinedOutput()
		if err != nil {
			t.Fatalf("dex: %v: %s", err, out)
		}
	}
	runDex()
	var b []byte
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if b, _ = os.ReadFile(started); len(b) > 0 {
			break
		}
	}
	if strings.TrimSpace(string(b)) != "--minimized" {
		t.Fatalf("autostart ran the program with %q", b)
	}

	if err := Disable(opts); err != nil {
		t.Fatal(err)
	}
	if on, err := Enabled(opts); err != nil || on {
		t.Fatalf("Enabled after Disable = %v, %v", on, err)
	}
	os.Remove(started)
	runDex()
	time.Sleep(200 * time.Millisecond)
	if _, err := os.Stat(started); err == nil {
		t.Fatal("autostart still ran the program after Disable")
	}
	// A session manager that switched the entry off keeps it switched off.
	if err := Enable(opts); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(DesktopEntry(exe, nil)+"Hidden=true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if on, _ := Enabled(opts); on {
		t.Fatal("Hidden=true entry reported enabled")
	}
}
