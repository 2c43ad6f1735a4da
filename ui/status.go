package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"switchboard/ui/backend"
)

// statusWindow is the app's main window: where the agent sees the state
// and finds every tray action when the desktop has no tray.
type statusWindow struct {
	c *Controller
	w fyne.Window

	icon      *canvas.Image
	state     *widget.Label
	account   *widget.Label
	missed    *widget.Label
	presence  *widget.RadioGroup
	channel   *widget.Label
	signInOut *widget.Button
	presences []backend.Presence
	updating  bool
}

func newStatusWindow(c *Controller) *statusWindow {
	s := &statusWindow{c: c, w: c.app.NewWindow("")}
	s.w.SetIcon(c.icons.App())
	s.build()
	s.w.SetCloseIntercept(func() { s.w.Hide() })
	s.w.Resize(fyne.NewSize(420, 0))
	s.w.CenterOnScreen()
	return s
}

func (s *statusWindow) build() {
	t := s.c.text
	s.w.SetTitle(t.T("window.status"))
	s.icon = canvas.NewImageFromResource(s.c.icons.Tray(IconSignedOut, false))
	s.icon.FillMode = canvas.ImageFillContain
	s.icon.SetMinSize(fyne.NewSize(48, 48))
	s.state = widget.NewLabel("")
	s.state.TextStyle = fyne.TextStyle{Bold: true}
	s.state.Wrapping = fyne.TextWrapWord
	s.account = widget.NewLabel("")
	s.account.Wrapping = fyne.TextWrapWord
	s.missed = widget.NewLabel("")
	s.missed.Importance = widget.DangerImportance
	s.presences = []backend.Presence{backend.Available, backend.Away, backend.DND}
	var labels []string
	for _, p := range s.presences {
		labels = append(labels, t.T("presence."+string(p)))
	}
	s.presence = widget.NewRadioGroup(labels, func(sel string) {
		if s.updating {
			return
		}
		for i, l := range labels {
			if l == sel {
				s.c.SetPresence(s.presences[i])
			}
		}
	})
	s.presence.Horizontal = true
	s.presence.Required = true
	s.channel = widget.NewLabel("")
	s.channel.Truncation = fyne.TextTruncateEllipsis
	s.channel.TextStyle = fyne.TextStyle{Monospace: true}
	open := widget.NewButtonWithIcon(t.T("button.openSoftphone"), theme.ComputerIcon(), func() { s.c.OpenSoftphone() })
	open.Importance = widget.HighImportance
	copyURL := widget.NewButtonWithIcon(t.T("button.copy"), theme.ContentCopyIcon(), func() { s.c.CopyChannelURL() })
	settings := widget.NewButtonWithIcon(t.T("button.settings"), theme.SettingsIcon(), func() { s.c.ShowSettings() })
	s.signInOut = widget.NewButton("", nil)

	channelTitle := widget.NewLabel(t.T("status.channelURL"))
	channelTitle.TextStyle = fyne.TextStyle{Bold: true}
	presenceTitle := widget.NewLabel(t.T("menu.presence"))
	presenceTitle.TextStyle = fyne.TextStyle{Bold: true}
	s.w.SetContent(container.NewPadded(container.NewVBox(
		container.NewBorder(nil, nil, s.icon, nil, container.NewVBox(s.state, s.account)),
		s.missed,
		widget.NewSeparator(),
		presenceTitle,
		s.presence,
		channelTitle,
		container.NewBorder(nil, nil, nil, copyURL, s.channel),
		widget.NewSeparator(),
		container.NewHBox(open, settings, s.signInOut),
	)))
	s.update()
}

// update shows the current state; the caller holds the controller lock.
func (s *statusWindow) update() {
	c, t := s.c, s.c.text
	st := TrayStateOf(c.stateLocked(), t)
	s.icon.Resource = c.icons.Tray(st.Icon, st.Badge)
	s.icon.Refresh()
	s.state.SetText(st.Status)
	signedIn := c.be.SignedIn()
	if signedIn {
		acc := c.be.Account()
		s.account.SetText(t.T("status.account", acc.Extension, acc.Server, acc.Transport))
		s.presence.Enable()
		s.signInOut.SetText(t.T("button.signOut"))
		s.signInOut.SetIcon(theme.LogoutIcon())
		s.signInOut.OnTapped = func() { s.c.SignOut() }
	} else {
		s.account.SetText(t.T("status.noAccount"))
		s.presence.Disable()
		s.signInOut.SetText(t.T("button.signIn"))
		s.signInOut.SetIcon(theme.LoginIcon())
		s.signInOut.OnTapped = func() { s.c.ShowSignIn("") }
	}
	if c.missed > 0 {
		s.missed.SetText(t.T("status.missedCalls", c.missed))
		s.missed.Show()
	} else {
		s.missed.Hide()
	}
	cur := c.be.Presence()
	s.updating = true
	for i, p := range s.presences {
		if p == cur {
			s.presence.SetSelected(s.presence.Options[i])
		}
	}
	s.updating = false
	if u, err := c.be.ChannelURL(); err == nil {
		s.channel.SetText(u)
	} else {
		s.channel.SetText(c.be.WidgetURL())
	}
}
