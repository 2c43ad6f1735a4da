package ui

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/widget"

	"switchboard/app"
	"switchboard/audio"
	"switchboard/audio/audiotest"
	"switchboard/internal/lab"
	"switchboard/ui/autostart"
	"switchboard/ui/backend"
)

// TestSignInWindow types into the real window: errors show next to the
// field to fix, in the agent's language, and a good sign-in closes the
// window, registers and leaves the password in the keychain.
func TestSignInWindow(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	c := f.c
	f.eventually("the sign-in window", f.locked(func() bool { return c.signIn != nil }))
	s := c.signIn
	port, err := lab.FreePort("tcp")
	if err != nil {
		t.Fatal(err)
	}

	submit := func(server, transport, ext, pw string) {
		f.on(func() {
			s.server.SetText("")
			s.extension.SetText("")
			s.password.SetText("")
		})
		f.typ(s.server, server)
		f.on(func() { s.transport.SetSelected(transport) })
		f.typ(s.extension, ext)
		f.typ(s.password, pw)
		f.tap(s.submit)
		f.eventually("the sign-in verdict", f.locked(func() bool { return !s.working }))
	}
	shown := func(name string) (text string) {
		f.on(func() { text = shownNow(s, name) })
		return text
	}

	submit("", "UDP", "1001", "x")
	if got := shown("server"); got != "Enter the PBX address." {
		t.Errorf("empty server: %q", got)
	}
	submit(f.k.Addr("udp"), "UDP", "", "x")
	if got := shown("extension"); got != "Enter your extension number or email." {
		t.Errorf("empty extension: %q", got)
	}
	submit(f.k.Addr("udp"), "UDP", "1001", "wrong")
	if got := shown("password"); got != "Wrong extension or password." {
		t.Errorf("wrong password: %q", got)
	}
	if got := shown("server"); got != "" {
		t.Errorf("server error left over: %q", got)
	}
	submit("127.0.0.1:"+strconv.Itoa(port), "TCP", "1001", "pw1001")
	if got := shown("server"); !strings.Contains(got, "does not answer") {
		t.Errorf("nobody listening: %q", got)
	}
	submit(f.k.Addr("tls"), "TLS", "1001", "pw1001")
	if got := shown("server"); !strings.Contains(got, "certificate is not trusted") {
		t.Errorf("untrusted TLS: %q", got)
	}

	// The same mistake in Chinese.
	if _, err := f.be.UpdateSettings(f.ctx, func(st *app.Settings) error { st.Language = "zh-CN"; return nil }); err != nil {
		t.Fatal(err)
	}
	f.eventually("the window in Chinese", f.locked(func() bool { return s.w.Title() == "登录 Switchboard" }))
	submit(f.k.Addr("udp"), "UDP", "1001", "wrong")
	if got := shown("password"); got != "分机号或密码错误。" {
		t.Errorf("zh wrong password: %q", got)
	}
	if _, err := f.be.UpdateSettings(f.ctx, func(st *app.Settings) error { st.Language = "en"; return nil }); err != nil {
		t.Fatal(err)
	}
	f.eventually("the window in English", f.locked(func() bool { return s.w.Title() == "Sign in to Switchboard" }))

	submit(f.k.Addr("udp"), "UDP", "1001", "pw1001")
	if !f.be.SignedIn() {
		t.Fatalf("not signed in; errors: %q %q %q %q", shown("server"), shown("extension"), shown("password"), shown("top"))
	}
	if _, err := f.k.WaitRegistered(f.ctx, "1001", 1); err != nil {
		t.Fatal(err)
	}
	if !f.notes.find("Signed in as 1001", "Switchboard keeps running in the system tray.") {
		t.Errorf("no signed-in notification: %+v", f.notes.all)
	}
	if pw, err := app.LoadPassword(f.be.Config()); err != nil || pw != "pw1001" {
		t.Errorf("keychain after sign-in: %q, %v", pw, err)
	}
	f.eventually("the window closed", f.locked(func() bool { return c.signIn == nil && s.password.Text == "" }))
	f.eventually("the tray shows available", func() bool { return f.tray.iconName() == "switchboard-available.png" })
}

// TestTrayMenu follows the phone through the tray: status line, presence
// (DND declines), sign out.
func TestTrayMenu(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	if got := f.menuLabels(); !slices.Contains(got, "Sign in…") || got[0] != "Not signed in" {
		t.Fatalf("signed-out menu: %q", got)
	}
	if f.tray.iconName() != "switchboard-signed-out.png" {
		t.Fatalf("signed-out icon: %s", f.tray.iconName())
	}
	f.signIn("1001")
	want := []string{"1001@127.0.0.1 · Available", "", "Presence", "Open softphone", "Copy channel URL",
		"Show status window", "", "Settings…", "Sign out", "", "Quit Switchboard"}
	f.eventually("the signed-in menu", func() bool {
		return slices.Equal(f.menuLabels(), want)
	})
	menu := f.c.TrayMenu()
	presence := menu.Items[2].ChildMenu
	if !presence.Items[0].Checked || presence.Items[2].Label != "Do not disturb" {
		t.Fatalf("presence submenu: %+v", presence.Items)
	}
	if !menu.Items[len(menu.Items)-1].IsQuit {
		t.Fatal("quit item not marked as quit")
	}
	f.on(presence.Items[2].Action) // Do not disturb
	f.eventually("DND", func() bool { return f.be.Presence() == backend.DND })
	f.eventually("the DND icon", func() bool { return f.tray.iconName() == "switchboard-dnd.png" })

	// A caller on DND hears busy, and the agent sees a missed call.
	bot := lab.StartBotT(t, lab.BotOptions{Kamailio: f.k, Extension: "1002"})
	if err := bot.Dial(f.ctx, f.k.URI("1001")); err != nil {
		t.Fatal(err)
	}
	ev, err := bot.WaitEvent(f.ctx, lab.EventCallClosed)
	if err != nil || !strings.Contains(ev.Param, "486") {
		t.Fatalf("DND: caller's call closed %v %q", err, ev.Param)
	}
	f.eventually("the missed-call badge", func() bool { return f.tray.iconName() == "switchboard-dnd-missed.png" })
	if !f.notes.find("Missed call", "1002 called while you were on do not disturb.") {
		t.Errorf("no DND missed notification: %+v", f.notes.all)
	}
	if got := f.menuLabels(); got[1] != "1 missed call" {
		t.Errorf("menu after a missed call: %q", got)
	}

	// Copy channel URL: no organisation configured, so the widget URL.
	f.on(f.c.CopyChannelURL)
	if got := f.c.app.Clipboard().Content(); got != "https://localhost:8777/" {
		t.Errorf("clipboard = %q", got)
	}

	f.on(f.c.SignOut)
	f.eventually("signed out", func() bool { return !f.be.SignedIn() && f.tray.iconName() == "switchboard-signed-out.png" })
	f.eventually("the sign-in window", f.locked(func() bool { return f.c.signIn != nil && f.c.signIn.w.Content().Visible() }))
}

// TestIncomingPopup: a bot calls; the popup and the notification name
// the caller; Answer in the popup connects the call. A call the caller
// gives up on leaves a missed-call notification.
func TestIncomingPopup(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	f.signIn("1001")
	bot := lab.StartBotT(t, lab.BotOptions{Kamailio: f.k, Extension: "1002"})
	if err := bot.Dial(f.ctx, f.k.URI("1001")); err != nil {
		t.Fatal(err)
	}
	var p *popupWindow
	f.eventually("the popup", f.locked(func() bool {
		for _, x := range f.c.popups {
			p = x
		}
		return p != nil
	}))
	var name, number, title string
	f.on(func() { name, number, title = p.name.Text, p.number.Text, p.w.Title() })
	if name != "1002" || number != "" || title != "Incoming call — 1002" {
		t.Errorf("popup shows %q / %q, title %q", name, number, title)
	}
	if !f.notes.find("Incoming call", "1002 is calling") {
		t.Errorf("no incoming notification: %+v", f.notes.all)
	}
	f.eventually("the ringing icon", func() bool { return f.tray.iconName() == "switchboard-ringing.png" })
	f.tap(p.answer)
	if _, err := bot.WaitEvent(f.ctx, lab.EventCallEstablished); err != nil {
		t.Fatal(err)
	}
	f.eventually("the popup gone", f.locked(func() bool { return len(f.c.popups) == 0 }))
	f.eventually("the in-call icon", func() bool { return f.tray.iconName() == "switchboard-in-call.png" })
	if err := bot.Hangup(f.ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := bot.WaitEvent(f.ctx, lab.EventCallClosed); err != nil {
		t.Fatal(err)
	}
	f.eventually("the available icon", func() bool { return f.tray.iconName() == "switchboard-available.png" })

	// The caller gives up: a missed call.
	if err := bot.Dial(f.ctx, f.k.URI("1001")); err != nil {
		t.Fatal(err)
	}
	f.eventually("the second popup", f.locked(func() bool { return len(f.c.popups) == 1 }))
	if err := bot.Hangup(f.ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := bot.WaitEvent(f.ctx, lab.EventCallClosed); err != nil {
		t.Fatal(err)
	}
	f.eventually("the missed call", f.locked(func() bool { return f.c.missed == 1 && len(f.c.popups) == 0 }))
	if !f.notes.find("Missed call", "1002 called you.") {
		t.Errorf("no missed notification: %+v", f.notes.all)
	}
	f.eventually("the badge", func() bool { return f.tray.iconName() == "switchboard-available-missed.png" })

	// Declining from the popup is not a missed call.
	if err := bot.Dial(f.ctx, f.k.URI("1001")); err != nil {
		t.Fatal(err)
	}
	p = nil
	f.eventually("the third popup", f.locked(func() bool {
		for _, x := range f.c.popups {
			p = x
		}
		return p != nil
	}))
	f.tap(p.decline)
	ev, err := bot.WaitEvent(f.ctx, lab.EventCallClosed)
	if err != nil || !strings.Contains(ev.Param, "486") {
		t.Fatalf("decline: %v %q", err, ev.Param)
	}
	time.Sleep(200 * time.Millisecond)
	f.eventually("still one missed call", f.locked(func() bool { return f.c.missed == 1 && len(f.c.popups) == 0 }))

	// Opening the softphone clears the badge.
	f.on(f.c.OpenSoftphone)
	f.eventually("the badge cleared", func() bool { return f.tray.iconName() == "switchboard-available.png" })
}

// xdgAutostart is the settings window's start-at-login switch over the
// real XDG autostart entry.
type xdgAutostart struct{ opts autostart.Options }

func (x xdgAutostart) Enabled() (bool, error) { return autostart.Enabled(x.opts) }
func (x xdgAutostart) SetEnabled(on bool) error {
	if on {
		return autostart.Enable(x.opts)
	}
	return autostart.Disable(x.opts)
}

// TestSettingsWindow drives the settings with PortAudio over ALSA file
// devices: the meter moves with what the microphone hears, the test tone
// reaches the chosen speaker, choices are saved, autostart writes the
// XDG entry and the language switches the window.
func TestSettingsWindow(t *testing.T) {
	alsa := audiotest.DefaultALSA(t)
	sys, err := audio.NewSystem(audio.SystemOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sys.Close() })
	cfgHome := filepath.Join(alsa.Home, ".config")
	as := xdgAutostart{autostart.Options{Exec: "/usr/bin/switchboard", Args: []string{"--minimized"}, ConfigHome: cfgHome}}
	f := newFixture(t, fixtureOptions{audio: sys, autostart: as, noKam: true})
	f.on(f.c.ShowSettings)
	var s *settingsWindow
	f.eventually("the settings window", f.locked(func() bool { s = f.c.settings; return s != nil }))
	var mics, speakers []string
	f.on(func() { mics, speakers = s.mic.Options, s.speaker.Options })
	if !slices.Contains(mics, audiotest.MicName) || !slices.Contains(speakers, audiotest.SpeakerName) || !slices.Contains(speakers, audiotest.RingerName) {
		t.Fatalf("devices: mics %q speakers %q", mics, speakers)
	}
	if mics[0] != "System default" {
		t.Fatalf("first choice %q", mics[0])
	}
	// The default microphone hears a 1 kHz tone at half scale (-9 dBFS).
	f.eventually("the level meter", f.locked(func() bool { return s.level.Value > 0.7 }))

	f.on(func() {
		s.mic.SetSelected(audiotest.MicName)
		s.ring.SetSelected(audiotest.RingerName)
	})
	f.eventually("the saved devices", func() bool {
		st := f.be.Settings()
		return st.Mic == audiotest.MicName && st.Ringer == audiotest.RingerName
	})
	f.eventually("the meter on the chosen mic", f.locked(func() bool { return s.level.Value > 0.7 }))

	// Test the ringer: the tone lands in the ringer's file, not the speaker's.
	f.tap(s.testRinger)
	f.eventually("the test tone", func() bool {
		pcm, _ := alsa.Played(audiotest.RingerName)
		return len(pcm) > audiotest.DeviceFileRate/2
	})
	pcm, _ := alsa.Played(audiotest.RingerName)
	if !audiotest.HasTone(pcm, audiotest.DeviceFileRate, 1000, 20) {
		t.Errorf("the ringer did not play a 1 kHz tone (%d samples)", len(pcm))
	}
	if sp, _ := alsa.Played(audiotest.SpeakerName); len(sp) > 0 && audiotest.HasTone(sp, audiotest.DeviceFileRate, 1000, 20) {
		t.Error("the speaker played the ringer's test")
	}

	// Desktop choices.
	f.tap(s.autostart)
	entry := filepath.Join(cfgHome, "autostart", "switchboard.desktop")
	f.eventually("the autostart entry", func() bool { _, err := os.Stat(entry); return err == nil })
	b, _ := os.ReadFile(entry)
	if !strings.Contains(string(b), "Exec=/usr/bin/switchboard --minimized") {
		t.Errorf("autostart entry:\n%s", b)
	}
	f.tap(s.minimised)
	f.tap(s.popup) // off
	f.eventually("the prefs", func() bool {
		p := f.be.Prefs()
		return p.StartMinimised && !p.Popup
	})
	f.tap(s.autostart)
	f.eventually("autostart off", func() bool { _, err := os.Stat(entry); return os.IsNotExist(err) })

	f.on(func() { s.language.SetSelected("简体中文") })
	f.eventually("Chinese", f.locked(func() bool { return s.w.Title() == "Switchboard 设置" }))
	if f.be.Settings().Language != "zh-CN" {
		t.Errorf("language = %q", f.be.Settings().Language)
	}
	if got := f.c.TrayMenu().Items[0].Label; got != "未登录" {
		t.Errorf("tray in Chinese: %q", got)
	}
	f.on(s.close)
	stopped := f.locked(func() bool { return s.meterStop == nil && f.c.settings == nil })()
	if !stopped {
		t.Error("the meter still runs after closing the window")
	}
}

// shownNow is the error shown under a sign-in field ("" if none).
func shownNow(s *signInWindow, name string) string {
	l := map[string]*widget.Label{"server": s.errServer, "extension": s.errExtension, "password": s.errPassword, "top": s.errTop}[name]
	if l.Visible() {
		return l.Text
	}
	return ""
}
