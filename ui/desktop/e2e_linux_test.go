//go:build linux && !nogui

package desktop

import (
	"bytes"
	"context"
	"errors"
	"image/color"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"switchboard/app"
	"switchboard/internal/lab"
)

// near reports whether two colours are within a few steps (scaling).
func near(a, b color.NRGBA) bool {
	d := func(x, y uint8) int {
		if x > y {
			return int(x - y)
		}
		return int(y - x)
	}
	return d(a.R, b.R) < 24 && d(a.G, b.G) < 24 && d(a.B, b.B) < 24 && a.A > 200
}

var (
	green = color.NRGBA{0x2e, 0x9d, 0x5b, 0xff}
	red   = color.NRGBA{0xd6, 0x45, 0x41, 0xff}
	blue  = color.NRGBA{0x15, 0x65, 0xc0, 0xff}
)

// TestDesktopApp runs the real GUI build under Xvfb against the lab PBX:
// sign in through the window (wrong password first), the tray over
// D-Bus, an incoming call answered from the popup, a tel: link handed
// from a second launch, restart with the keychain, sign out, restart.
func TestDesktopApp(t *testing.T) {
	d := newDesk(t)
	d.writeConfig("1001")
	bot := lab.StartBotT(t, lab.BotOptions{Kamailio: d.k, Extension: "1002"})

	// First start: signed out, the sign-in window comes up prefilled with
	// the administrator's PBX and extension, the cursor in the password.
	p := d.start()
	win := d.window("Sign in to Switchboard", 30*time.Second)
	d.typeInto(win, "not-my-password")
	d.eventually("the wrong-password error", 20*time.Second, func() bool {
		return strings.Contains(p.output(), "registration failed") && strings.Contains(p.output(), "wrong extension or password")
	})
	d.screenshot("signin-wrong-password", win)
	if _, err := app.LoadPassword(appConfig(d, "1001")); !errors.Is(err, app.ErrNoPassword) {
		t.Fatalf("keychain after a wrong password: %v", err)
	}
	d.typeInto(win, d.k.Password("1001"))
	if _, err := d.k.WaitRegistered(d.ctx, "1001", 1); err != nil {
		t.Fatal(err)
	}
	d.eventually("the sign-in window to close", 10*time.Second, func() bool { return d.findWindow("Sign in to Switchboard") == "" })
	if pw, err := app.LoadPassword(appConfig(d, "1001")); err != nil || pw != "pw1001" {
		t.Fatalf("keychain after sign-in: %q %v", pw, err)
	}
	if !d.notes.seen("Signed in as 1001") {
		t.Error("no signed-in notification on the bus")
	}

	tray := d.tray(p.pid())
	d.eventuallyStatus(tray, eq("1001@127.0.0.1 · Available"), "the tray status")
	if c := tray.iconColour(); !near(c, green) {
		t.Errorf("registered tray icon colour %v, want green", c)
	}
	want := []string{"1001@127.0.0.1 · Available", "---", "Presence", "Open softphone", "Copy channel URL",
		"Show status window", "---", "Settings…", "Sign out", "---", "Quit Switchboard"}
	if got := labels(tray.menu()); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("tray menu:\n got %q\nwant %q", got, want)
	}

	// Copy channel URL puts the widget's address on the X clipboard (no
	// Dynamics organisation is configured).
	tray.click("Copy channel URL")
	d.eventually("the clipboard", 5*time.Second, func() bool {
		out, _ := d.x("xclip", "-o", "-selection", "clipboard")
		return strings.TrimSpace(out) == "https://localhost:"+itoa(d.port)+"/"
	})
	tray.click("Open softphone")
	d.eventually("the browser", 10*time.Second, func() bool {
		b, _ := os.ReadFile(d.opened)
		return strings.Contains(string(b), "https://localhost:"+itoa(d.port)+"/")
	})

	// An incoming call: the notification and the popup, answered there.
	if err := bot.Dial(d.ctx, d.k.URI("1001")); err != nil {
		t.Fatal(err)
	}
	popup := d.window("Incoming call", 15*time.Second)
	d.eventually("the incoming-call notification", 5*time.Second, func() bool { return d.notes.seen("Incoming call", "1002 is calling") })
	d.screenshot("incoming-popup", popup)
	d.screenshot("incoming-screen", "root")
	x, y, w, h := d.geometry(popup)
	_ = x
	_ = y
	d.click(popup, w*3/4, h-28) // Answer: the right half of the bottom row
	if _, err := bot.WaitEvent(d.ctx, lab.EventCallEstablished); err != nil {
		t.Fatalf("answering from the popup: %v", err)
	}
	d.eventually("the popup to close", 10*time.Second, func() bool { return d.findWindow("Incoming call") == "" })
	d.eventuallyStatus(tray, func(s string) bool { return strings.HasPrefix(s, "In a call with 1002") }, "the in-call tray")
	if c := tray.iconColour(); !near(c, blue) {
		t.Errorf("in-call tray icon colour %v, want blue", c)
	}
	if err := bot.Hangup(d.ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := bot.WaitEvent(d.ctx, lab.EventCallClosed); err != nil {
		t.Fatal(err)
	}

	// A second launch with a tel: link hands it to the first and exits;
	// the first dials the bot, which answers by itself.
	second := d.start("tel:1002")
	if err := second.wait(15 * time.Second); err != nil {
		t.Fatalf("second launch: %v\n%s", err, second.output())
	}
	if !strings.Contains(second.output(), "already running") {
		t.Errorf("second launch did not hand over:\n%s", second.output())
	}
	if _, err := bot.WaitEvent(d.ctx, lab.EventCallEstablished); err != nil {
		t.Fatalf("the tel: link did not reach the bot: %v", err)
	}
	if err := bot.Hangup(d.ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := bot.WaitEvent(d.ctx, lab.EventCallClosed); err != nil {
		t.Fatal(err)
	}

	// Do not disturb from the tray: the bot hears busy. (The menu is
	// rebuilt as the call ends; click once it has settled.)
	d.eventuallyStatus(tray, eq("1001@127.0.0.1 · Available"), "the tray after the call")
	tray.click("Do not disturb")
	d.eventuallyStatus(tray, eq("1001@127.0.0.1 · Do not disturb"), "the DND tray")
	if c := tray.iconColour(); !near(c, red) {
		t.Errorf("DND tray icon colour %v, want red", c)
	}
	if err := bot.Dial(d.ctx, d.k.URI("1001")); err != nil {
		t.Fatal(err)
	}
	ev, err := bot.WaitEvent(d.ctx, lab.EventCallClosed)
	if err != nil || !strings.Contains(ev.Param, "486") {
		t.Fatalf("DND: %v %q", err, ev.Param)
	}
	d.eventuallyStatus(tray, eq("1001@127.0.0.1 · Do not disturb"), "the DND tray after the call")
	tray.click("Available")
	d.eventuallyStatus(tray, eq("1001@127.0.0.1 · Available"), "available again")

	measureIdle(t, d, p)

	// The status window and the settings, opened from the tray.
	tray.click("Show status window")
	d.screenshot("status-window", d.window("^Switchboard$", 10*time.Second))
	tray.click("Settings…")
	settings := d.window("Switchboard settings", 10*time.Second)
	time.Sleep(time.Second) // the level meter follows the microphone's tone
	d.screenshot("settings-window", settings)

	// Quit from the tray, start again: signed in from the keychain, no
	// window asks for anything.
	tray.click("Quit Switchboard")
	if err := p.wait(15 * time.Second); err != nil {
		t.Fatalf("quit: %v", err)
	}
	wctx, wcancel := context.WithTimeout(d.ctx, 5*time.Second)
	if _, err := d.k.WaitRegistered(wctx, "1001", 0); err != nil {
		t.Errorf("quitting did not unregister: %v", err)
	}
	wcancel()
	// This time a clicked tel: link starts the app: it signs in from the
	// keychain, then dials.
	p = d.start("tel:1002")
	if _, err := d.k.WaitRegistered(d.ctx, "1001", 1); err != nil {
		t.Fatalf("no automatic sign-in after a restart: %v\n%s", err, p.output())
	}
	if _, err := bot.WaitEvent(d.ctx, lab.EventCallEstablished); err != nil {
		t.Fatalf("the tel: link that started the app did not dial: %v", err)
	}
	if err := bot.Hangup(d.ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := bot.WaitEvent(d.ctx, lab.EventCallClosed); err != nil {
		t.Fatal(err)
	}
	tray = d.tray(p.pid())
	d.eventuallyStatus(tray, eq("1001@127.0.0.1 · Available"), "the tray after restart")
	if id := d.findWindow("Sign in to Switchboard"); id != "" {
		t.Error("asked for the password again after a restart")
	}

	// Sign out: the keychain forgets, the sign-in window returns; and
	// after another restart it asks again.
	tray.click("Sign out")
	d.window("Sign in to Switchboard", 15*time.Second)
	if _, err := app.LoadPassword(appConfig(d, "1001")); !errors.Is(err, app.ErrNoPassword) {
		t.Fatalf("keychain after sign-out: %v", err)
	}
	tray.click("Quit Switchboard")
	if err := p.wait(15 * time.Second); err != nil {
		t.Fatalf("quit: %v", err)
	}
	// Started at login (minimised) while signed out: it still asks.
	p = d.start("run", "--minimized")
	win = d.window("Sign in to Switchboard", 30*time.Second)
	d.screenshot("signin-after-signout", win)
	tray = d.tray(p.pid())
	d.eventuallyStatus(tray, eq("Not signed in"), "the tray after sign-out and restart")
}

func eq(want string) func(string) bool { return func(s string) bool { return s == want } }

func appConfig(d *desk, ext string) app.Config {
	c := app.DefaultConfig()
	c.PBX.Server, c.Account.Extension = d.k.Addr("udp"), ext
	return c
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestDesktopChinese: an administrator presets zh-CN; the first window
// speaks it, CJK glyphs and all.
func TestDesktopChinese(t *testing.T) {
	d := newDesk(t)
	d.writeConfig("1005")
	f, err := os.OpenFile(filepath.Join(d.home, ".config", "switchboard", "config.toml"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("\n[ui]\nlanguage = \"zh-CN\"\n")
	f.Close()
	p := d.start()
	win := d.window("登录 Switchboard", 30*time.Second)
	d.typeInto(win, "wrong")
	d.eventually("the error", 20*time.Second, func() bool { return strings.Contains(p.output(), "wrong extension or password") })
	d.screenshot("signin-zh-CN", win)
	tray := d.tray(p.pid())
	d.eventuallyStatus(tray, eq("未登录"), "the tray in Chinese")
}

// TestHeadlessWithoutDisplay: --headless never touches fyne, so it runs
// with no X server at all.
func TestHeadlessWithoutDisplay(t *testing.T) {
	d := newDesk(t)
	d.writeConfig("1003")
	env := []string{}
	for _, kv := range d.env {
		if !strings.HasPrefix(kv, "DISPLAY=") {
			env = append(env, kv)
		}
	}
	cmd := exec.CommandContext(d.ctx, d.bin, "--headless")
	cmd.Env = append(env, "SWITCHBOARD_PASSWORD=pw1003")
	out := &lockedBuf{mu: new(sync.Mutex), buf: new(bytes.Buffer)}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() }()
	if _, err := d.k.WaitRegistered(d.ctx, "1003", 1); err != nil {
		t.Fatalf("headless did not register: %v\n%s", err, out.buf)
	}
}
