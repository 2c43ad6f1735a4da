//go:build linux

package calllink

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRegisterLinux registers for real in a temporary home with xdg-mime,
// then has xdg-open follow a tel: link to the registered program.
func TestRegisterLinux(t *testing.T) {
	for _, tool := range []string{"xdg-mime", "xdg-open"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is missing: install the Debian package xdg-utils", tool)
		}
	}
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_DATA_HOME", filepath.Join(home, ".local", "share"))
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	t.Setenv("XDG_DATA_DIRS", filepath.Join(home, "empty")) // no system-wide handler interferes
	t.Setenv("XDG_CURRENT_DESKTOP", "")
	t.Setenv("DE", "")
	t.Setenv("BROWSER", "")
	// xdg-open follows scheme handlers only inside a graphical session;
	// it only checks that DISPLAY is set.
	t.Setenv("DISPLAY", ":99")
	// The "program" records the link it was started with. (xdg-open's
	// generic fallback splits Exec at the first blank, unlike GIO and KDE,
	// so quoting is proven by TestDesktopExec instead.)
	dir := filepath.Join(home, "bin")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	got := filepath.Join(home, "opened.txt")
	exe := filepath.Join(dir, "switchboard")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\nprintf '%s' \"$1\" > '"+got+"'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	opts := Options{Exec: exe}

	if ok, err := Registered(ctx, opts); err != nil || ok {
		t.Fatalf("Registered before Register = %v, %v", ok, err)
	}
	if err := Register(ctx, opts); err != nil {
		t.Fatal(err)
	}
	if ok, err := Registered(ctx, opts); err != nil || !ok {
		t.Fatalf("Registered after Register = %v, %v", ok, err)
	}
	entry, err := os.ReadFile(filepath.Join(home, ".local", "share", "applications", DesktopFileName))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(entry), "MimeType=x-scheme-handler/tel;x-scheme-handler/callto;x-scheme-handler/sip;") {
		t.Errorf("desktop entry:\n%s", entry)
	}
	if out, err := exec.Command("desktop-file-validate", filepath.Join(home, ".local", "share", "applications", DesktopFileName)).CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("desktop-file-validate (package desktop-file-utils): %v: %s", err, out)
	}
	mimeapps, err := os.ReadFile(filepath.Join(home, ".config", "mimeapps.list"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range Schemes() {
		if !strings.Contains(string(mimeapps), "x-scheme-handler/"+s+"="+DesktopFileName) {
			t.Errorf("mimeapps.list lacks %s:\n%s", s, mimeapps)
		}
	}

	for _, link := range []string{"tel:1002", "callto:+4930901820", "sip:1003@127.0.0.1"} {
		os.Remove(got)
		out, err := exec.CommandContext(ctx, "xdg-open", link).CombinedOutput()
		if err != nil {
			t.Fatalf("xdg-open %s: %v: %s", link, err, out)
		}
		var b []byte
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if b, err = os.ReadFile(got); err == nil && len(b) > 0 {
				break
			}
		}
		if string(b) != link {
			t.Errorf("xdg-open %s started the handler with %q", link, b)
		}
	}

	if err := Unregister(ctx, opts); err != nil {
		t.Fatal(err)
	}
	if ok, err := Registered(ctx, opts); err != nil || ok {
		t.Fatalf("Registered after Unregister = %v, %v", ok, err)
	}
}

func TestDesktopExec(t *testing.T) {
	tests := []struct {
		exe  string
		args []string
		want string
	}{
		{"/usr/bin/switchboard", []string{"%u"}, "/usr/bin/switchboard %u"},
		{"/opt/my apps/switchboard", []string{"%u"}, `"/opt/my apps/switchboard" %u`},
		{"/opt/a$b/s", nil, `"/opt/a\\$b/s"`},
		{"/opt/100%/s", []string{"--minimized"}, "/opt/100%%/s --minimized"},
		{`C:\x`, nil, `"C:\\\\x"`},
	}
	for _, tt := range tests {
		if got := DesktopExec(tt.exe, tt.args...); got != tt.want {
			t.Errorf("DesktopExec(%q, %q) = %s, want %s", tt.exe, tt.args, got, tt.want)
		}
	}
}
