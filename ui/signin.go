package ui

import (
	"context"
	"errors"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"switchboard/ui/backend"
)

// signInWindow asks for the PBX, the transport, the extension and the
// password, and shows what went wrong next to the field to fix.
type signInWindow struct {
	c *Controller
	w fyne.Window

	server, extension, password *widget.Entry
	transport                   *widget.RadioGroup
	errServer, errExtension     *widget.Label
	errPassword, errTop         *widget.Label
	submit                      *widget.Button
	busy                        *widget.ProgressBarInfinite
	busyLabel                   *widget.Label
	top                         string
	working                     bool
}

func newSignInWindow(c *Controller) *signInWindow {
	s := &signInWindow{c: c, w: c.app.NewWindow("")}
	s.w.SetIcon(c.icons.App())
	acc := c.be.Account()
	s.server = widget.NewEntry()
	s.server.SetText(acc.Server)
	s.extension = widget.NewEntry()
	s.extension.SetText(acc.Extension)
	s.password = widget.NewPasswordEntry()
	s.transport = widget.NewRadioGroup([]string{"UDP", "TCP", "TLS"}, nil)
	s.transport.Horizontal = true
	s.transport.Required = true
	tr := strings.ToUpper(acc.Transport)
	if tr == "" {
		tr = "UDP"
	}
	s.transport.SetSelected(tr)
	for _, e := range []*widget.Entry{s.server, s.extension, s.password} {
		e.OnSubmitted = func(string) { s.signIn() }
	}
	s.build()
	s.w.SetCloseIntercept(func() {
		// Closing the window is not quitting: the app stays in the tray.
		// The window is destroyed, not hidden: every live window costs
		// the driver's frame loop a little, even hidden.
		c.mu.Lock()
		if c.signIn == s {
			c.signIn = nil
		}
		c.mu.Unlock()
		s.w.Close()
	})
	s.w.Resize(fyne.NewSize(480, 0))
	s.w.SetFixedSize(true)
	s.w.CenterOnScreen()
	return s
}

func errLabel() *widget.Label {
	l := widget.NewLabel("")
	l.Importance = widget.DangerImportance
	l.Wrapping = fyne.TextWrapWord
	l.SizeName = theme.SizeNameCaptionText
	l.Hide()
	return l
}

func setErr(l *widget.Label, msg string) {
	l.SetText(msg)
	if msg == "" {
		l.Hide()
	} else {
		l.Show()
	}
}

// build lays the window out in the current language, keeping what the
// agent typed.
func (s *signInWindow) build() {
	t := s.c.text
	s.w.SetTitle(t.T("signin.title"))
	s.server.SetPlaceHolder(t.T("signin.serverHint"))
	s.extension.SetPlaceHolder(t.T("signin.extensionHint"))
	s.errServer, s.errExtension, s.errPassword, s.errTop = errLabel(), errLabel(), errLabel(), errLabel()
	s.submit = widget.NewButtonWithIcon(t.T("signin.submit"), theme.LoginIcon(), s.signIn)
	s.submit.Importance = widget.HighImportance
	s.busy = widget.NewProgressBarInfinite()
	s.busy.Hide()
	s.busyLabel = widget.NewLabel(t.T("signin.busy"))
	s.busyLabel.Hide()
	if s.working {
		s.submit.Disable()
		s.busy.Show()
		s.busyLabel.Show()
	}
	setErr(s.errTop, s.top)

	logo := canvas.NewImageFromResource(s.c.icons.App())
	logo.FillMode = canvas.ImageFillContain
	logo.SetMinSize(fyne.NewSize(44, 44))
	heading := widget.NewLabel(t.T("signin.heading"))
	heading.TextStyle = fyne.TextStyle{Bold: true}
	heading.SizeName = theme.SizeNameSubHeadingText

	field := func(label string, obj fyne.CanvasObject, err *widget.Label) (fyne.CanvasObject, fyne.CanvasObject) {
		l := widget.NewLabel(label)
		l.TextStyle = fyne.TextStyle{Bold: true}
		return l, container.NewVBox(obj, err)
	}
	form := container.New(layout.NewFormLayout())
	for _, f := range []struct {
		label string
		obj   fyne.CanvasObject
		err   *widget.Label
	}{
		{t.T("signin.server"), s.server, s.errServer},
		{t.T("signin.transport"), s.transport, errLabel()},
		{t.T("signin.extension"), s.extension, s.errExtension},
		{t.T("signin.password"), s.password, s.errPassword},
	} {
		l, o := field(f.label, f.obj, f.err)
		form.Add(l)
		form.Add(o)
	}
	note := widget.NewLabelWithStyle(t.T("signin.keychainNote"), fyne.TextAlignLeading, fyne.TextStyle{Italic: true})
	note.SizeName = theme.SizeNameCaptionText

	content := container.NewVBox(
		container.NewHBox(logo, heading),
		widget.NewSeparator(),
		s.errTop,
		form,
		container.NewBorder(nil, nil, nil, s.submit, container.NewVBox(s.busyLabel, s.busy)),
		note,
	)
	s.w.SetContent(container.NewPadded(content))
}

// focus puts the cursor where typing should start: the password when an
// administrator preset the PBX and the extension, else the PBX address.
func (s *signInWindow) focus() {
	target := s.server
	switch {
	case s.server.Text == "":
	case s.extension.Text == "":
		target = s.extension
	default:
		target = s.password
	}
	s.w.Canvas().Focus(target)
}

// setTop shows a message above the form (an expired password, a broken
// keychain).
func (s *signInWindow) setTop(msg string) {
	s.top = msg
	setErr(s.errTop, msg)
}

func (s *signInWindow) clearErrors() {
	for _, l := range []*widget.Label{s.errServer, s.errExtension, s.errPassword, s.errTop} {
		setErr(l, "")
	}
	s.top = ""
}

// signIn runs the sign-in in the background; the window stays
// responsive and shows the PBX's verdict in place.
func (s *signInWindow) signIn() {
	s.c.mu.Lock()
	if s.working {
		s.c.mu.Unlock()
		return
	}
	s.working = true
	s.clearErrors()
	s.submit.Disable()
	s.busy.Show()
	s.busyLabel.Show()
	acc := backend.Account{Server: s.server.Text, Transport: strings.ToLower(s.transport.Selected), Extension: s.extension.Text}
	pw := s.password.Text
	s.c.mu.Unlock()

	go func() {
		ctx, cancel := context.WithTimeout(s.c.ctx, 60*time.Second)
		defer cancel()
		err := s.c.be.SignIn(ctx, acc, pw)
		s.c.do(func() { s.done(err) })
		s.c.refreshTray()
	}()
}

func (s *signInWindow) done(err error) {
	s.working = false
	s.submit.Enable()
	s.busy.Hide()
	s.busyLabel.Hide()
	if err == nil || backend.KindOf(err) == backend.KindKeychain {
		s.password.SetText("")
		if s.c.signIn == s {
			s.c.signIn = nil
		}
		s.w.Close()
		s.c.signedInLocked(err)
		return
	}
	t := s.c.text
	var e *backend.Error
	errors.As(err, &e)
	switch backend.KindOf(err) {
	case backend.KindInvalid:
		switch e.Field {
		case "server":
			if strings.TrimSpace(s.server.Text) == "" {
				setErr(s.errServer, t.T("err.server.empty"))
			} else {
				setErr(s.errServer, t.T("err.server.bad"))
			}
		case "transport":
			setErr(s.errServer, t.T("err.transport"))
		case "extension":
			setErr(s.errExtension, t.T("err.extension"))
		case "password":
			setErr(s.errPassword, t.T("err.password"))
		}
	case backend.KindAuth:
		setErr(s.errPassword, t.T("err.auth"))
		s.password.SetText("")
	case backend.KindNotFound:
		setErr(s.errExtension, t.T("err.notfound"))
	case backend.KindUnreachable:
		setErr(s.errServer, t.T("err.unreachable"))
	case backend.KindUnresolved:
		setErr(s.errServer, t.T("err.unresolved"))
	case backend.KindTLS:
		setErr(s.errServer, t.T("err.tls"))
	default:
		s.setTop(t.T("err.rejected", err.Error()))
	}
	s.w.Content().Refresh()
}
