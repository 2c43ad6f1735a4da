package ui

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"

	"switchboard/app"
	"switchboard/ui/backend"
	"switchboard/ui/calllink"
)

// Options configure a Controller.
type Options struct {
	App     fyne.App
	Backend Backend
	// Tray is nil where there is none (tests, desktops without one).
	Tray Tray
	// Autostart is nil where starting at login is not offered.
	Autostart Autostart
	// SystemLang is used while the agent's language setting is empty.
	SystemLang Lang
	// ShowPopup shows the incoming-call window; the desktop build makes
	// it always on top without taking focus. Nil means w.Show.
	ShowPopup func(w fyne.Window)
	// Notify sends a desktop notification; nil means App.SendNotification.
	Notify func(n *fyne.Notification)
	// Minimised starts in the tray even if the preference says otherwise
	// (the autostart entry passes --minimized).
	Minimised bool
	// NoTrayHost says the desktop shows no tray: never start hidden, or
	// the agent would have no way in.
	NoTrayHost bool
	// OnQuit runs when the agent quits from the tray or a window.
	OnQuit func()
	// Dispatch runs f on the UI goroutine without waiting for it; nil
	// means fyne.Do. (fyne's test driver runs fyne.Do on the caller's
	// goroutine, so tests pass a loop of their own.)
	Dispatch func(f func())
	Logger   *slog.Logger
}

// Controller runs the native UI: it follows the phone's events and keeps
// the tray, the windows and the notifications in step.
type Controller struct {
	opts  Options
	app   fyne.App
	be    Backend
	log   *slog.Logger
	icons Icons

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// stopped is set once the driver shuts down: from then on nothing
	// may touch a window or the tray.
	stopped atomic.Bool

	// mu guards everything below. Widgets are only touched on the UI
	// goroutine (see do); the lock also lets other goroutines read the
	// controller's state.
	mu          sync.Mutex
	text        Text
	missed      int
	seen        map[string]app.Call // live calls as last seen
	notified    map[string]string   // call ID -> caller label last notified
	declined    map[string]bool     // calls the agent declined herself
	pendingDial string
	pendingAt   time.Time
	lastAuthErr bool
	trayState   TrayState
	trayMenuKey string

	status   *statusWindow
	signIn   *signInWindow
	settings *settingsWindow
	popups   map[string]*popupWindow
}

// New makes a controller; Start shows it.
func New(opts Options) *Controller {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.ShowPopup == nil {
		opts.ShowPopup = func(w fyne.Window) { w.Show() }
	}
	if opts.Notify == nil {
		opts.Notify = opts.App.SendNotification
	}
	if opts.Dispatch == nil {
		opts.Dispatch = fyne.Do
	}
	if opts.SystemLang == "" {
		opts.SystemLang = En
	}
	c := &Controller{opts: opts, app: opts.App, be: opts.Backend, log: opts.Logger.With("room", "ui"),
		seen: map[string]app.Call{}, notified: map[string]string{}, declined: map[string]bool{},
		popups: map[string]*popupWindow{}}
	c.text = c.langText(opts.Backend.Settings())
	return c
}

func (c *Controller) langText(s app.Settings) Text {
	if s.Language == "" {
		return Text{c.opts.SystemLang}
	}
	return Text{ParseLang(s.Language)}
}

// Text is the UI's current language.
func (c *Controller) Text() Text {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.text
}

// Icons are the controller's icons.
func (c *Controller) Icons() *Icons { return &c.icons }

// Start subscribes to the phone, sets up the tray and opens the first
// window: the sign-in window when signed out, the status window unless
// starting minimised. Call it on fyne's main goroutine (or in tests).
func (c *Controller) Start(ctx context.Context) {
	c.ctx, c.cancel = context.WithCancel(ctx)
	c.app.SetIcon(c.icons.App())
	c.app.Settings().SetTheme(BrandTheme())
	sub := c.be.Subscribe(128)
	c.wg.Add(1)
	go c.follow(sub)

	c.mu.Lock()
	c.status = newStatusWindow(c)
	if c.opts.Tray != nil {
		c.opts.Tray.SetSystemTrayWindow(c.status.w)
	}
	c.mu.Unlock()
	c.refreshTray()

	switch {
	case !c.be.SignedIn():
		c.ShowSignIn("")
	case c.opts.NoTrayHost || (!c.opts.Minimised && !c.be.Prefs().StartMinimised):
		c.ShowStatus()
	}
}

// Halt stops every later UI change at once; the desktop app calls it as
// the driver shuts down (fyne's Lifecycle OnStopped).
func (c *Controller) Halt() { c.stopped.Store(true) }

// Stop ends the event loop.
func (c *Controller) Stop() {
	c.Halt()
	if c.cancel != nil {
		c.cancel()
	}
	c.wg.Wait()
}

// do runs f on the UI goroutine, holding the controller's lock.
func (c *Controller) do(f func()) {
	if c.stopped.Load() {
		return
	}
	c.opts.Dispatch(func() {
		if c.stopped.Load() {
			return
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		f()
	})
}

// follow turns the phone's events into UI changes.
func (c *Controller) follow(sub *app.Subscription) {
	defer c.wg.Done()
	defer sub.Close()
	for {
		select {
		case <-c.ctx.Done():
			return
		case e, ok := <-sub.C:
			if !ok {
				return
			}
			switch e.Type {
			case app.EvCall:
				call := *e.Call
				c.do(func() { c.onCallLocked(call) })
			case app.EvRegistration:
				r := *e.Registration
				c.do(func() { c.onRegistrationLocked(r) })
			case app.EvSettings:
				s := *e.Settings
				c.do(func() { c.onSettingsLocked(s) })
			}
			c.refreshTray()
		}
	}
}

func (c *Controller) notify(title, body string) {
	c.opts.Notify(fyne.NewNotification(title, body))
}

func (c *Controller) onCallLocked(call app.Call) {
	t := c.text
	prev, had := c.seen[call.ID]
	if call.State == app.CallEnded {
		delete(c.seen, call.ID)
		delete(c.notified, call.ID)
		c.closePopupLocked(call.ID)
		if call.Direction == app.Inbound && call.Answered.IsZero() {
			switch {
			case call.Disposition == app.DispMissed:
				c.missed++
				c.notify(t.T("call.missed"), t.T("call.missedFrom", CallerLabel(call, t)))
			case call.Disposition == app.DispDeclined && !c.declined[call.ID] && c.be.Presence() == backend.DND:
				c.missed++
				c.notify(t.T("call.missed"), t.T("call.missedDND", CallerLabel(call, t)))
			}
		}
		delete(c.declined, call.ID)
		c.refreshStatusLocked()
		return
	}
	c.seen[call.ID] = call
	if call.Direction == app.Inbound && call.State == app.CallIncoming {
		if c.be.Presence() == backend.DND {
			return // declined by the backend as it arrives
		}
		label := CallerLabel(call, t)
		if last, ok := c.notified[call.ID]; !ok || (last != label && call.Name != "" && prev.Name == "") {
			// First ring, or the CRM name just arrived: say it.
			title := t.T("call.incoming")
			if call.Waiting {
				title = t.T("call.waiting")
			}
			c.notify(title, t.T("call.from", label))
			c.notified[call.ID] = label
		}
		if p, ok := c.popups[call.ID]; ok {
			p.update(call)
		} else if c.be.Prefs().Popup {
			c.popups[call.ID] = newPopupWindow(c, call)
			c.opts.ShowPopup(c.popups[call.ID].w)
		}
		return
	}
	if had && prev.State == app.CallIncoming {
		c.closePopupLocked(call.ID)
	}
}

func (c *Controller) closePopupLocked(id string) {
	if p, ok := c.popups[id]; ok {
		delete(c.popups, id)
		p.w.Close()
	}
}

func (c *Controller) onRegistrationLocked(r app.Registration) {
	switch r.State {
	case app.RegRegistered:
		c.lastAuthErr = false
		if c.pendingDial != "" && time.Since(c.pendingAt) < time.Minute {
			number := c.pendingDial
			c.pendingDial = ""
			go c.dial(number)
		}
	case app.RegFailed:
		// A password that stopped working (changed on the PBX) needs the
		// agent: open the sign-in window once per failure streak.
		if backend.Classify(r) == backend.KindAuth && c.be.SignedIn() && !c.lastAuthErr {
			c.lastAuthErr = true
			c.showSignInLocked(c.text.T("err.signedOutByAuth"))
		}
	}
	c.refreshStatusLocked()
}

func (c *Controller) onSettingsLocked(s app.Settings) {
	t := c.langText(s)
	if t == c.text {
		return
	}
	c.text = t
	c.trayMenuKey = "" // rebuild in the new language
	if c.status != nil {
		c.status.build()
	}
	if c.signIn != nil {
		c.signIn.build()
	}
	if c.settings != nil {
		c.settings.build()
	}
	for _, p := range c.popups {
		p.build()
	}
}

// state is the phone's state as the tray shows it.
func (c *Controller) stateLocked() PhoneState {
	return PhoneState{SignedIn: c.be.SignedIn(), Registration: c.be.Registration(), Calls: c.be.Calls(),
		Presence: c.be.Presence(), Missed: c.missed}
}

// refreshTray updates the tray icon and menu when they changed.
func (c *Controller) refreshTray() {
	c.do(func() {
		c.refreshStatusLocked()
		if c.opts.Tray == nil {
			return
		}
		st := TrayStateOf(c.stateLocked(), c.text)
		if st.Icon != c.trayState.Icon || st.Badge != c.trayState.Badge || c.trayMenuKey == "" {
			c.opts.Tray.SetSystemTrayIcon(c.icons.Tray(st.Icon, st.Badge))
		}
		key := st.Status + "|" + string(c.be.Presence()) + "|" + boolKey(c.be.SignedIn()) + "|" + itoa(c.missed)
		if key != c.trayMenuKey {
			c.opts.Tray.SetSystemTrayMenu(c.trayMenuLocked(st))
			c.trayMenuKey = key
		}
		c.trayState = st
	})
}

func (c *Controller) refreshStatusLocked() {
	if c.status != nil {
		c.status.update()
	}
}

func boolKey(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// TrayMenu is the tray menu for the current state.
func (c *Controller) TrayMenu() *fyne.Menu {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.trayMenuLocked(TrayStateOf(c.stateLocked(), c.text))
}

func (c *Controller) trayMenuLocked(st TrayState) *fyne.Menu {
	t := c.text
	status := fyne.NewMenuItem(st.Status, nil)
	status.Disabled = true
	items := []*fyne.MenuItem{status}
	if c.missed > 0 {
		label := t.T("status.missedOne")
		if c.missed > 1 {
			label = t.T("status.missed", c.missed)
		}
		items = append(items, fyne.NewMenuItem(label, func() { c.OpenSoftphone() }))
	}
	for _, call := range c.be.Calls() {
		if call.Direction == app.Inbound && call.State == app.CallIncoming {
			id := call.ID
			items = append(items, fyne.NewMenuItem(t.T("menu.answer", CallerLabel(call, t)), func() { c.Answer(id) }))
		}
	}
	items = append(items, fyne.NewMenuItemSeparator())
	if c.be.SignedIn() {
		presence := fyne.NewMenuItem(t.T("menu.presence"), nil)
		cur := c.be.Presence()
		var sub []*fyne.MenuItem
		for _, p := range []backend.Presence{backend.Available, backend.Away, backend.DND} {
			p := p
			it := fyne.NewMenuItem(t.T("presence."+string(p)), func() { c.SetPresence(p) })
			it.Checked = p == cur
			sub = append(sub, it)
		}
		presence.ChildMenu = fyne.NewMenu("", sub...)
		items = append(items, presence)
	}
	items = append(items,
		fyne.NewMenuItem(t.T("menu.openSoftphone"), func() { c.OpenSoftphone() }),
		fyne.NewMenuItem(t.T("menu.copyChannelURL"), func() { c.CopyChannelURL() }),
		fyne.NewMenuItem(t.T("menu.showStatus"), func() { c.ShowStatus() }),
		fyne.NewMenuItemSeparator(),
		fyne.NewMenuItem(t.T("menu.settings"), func() { c.ShowSettings() }),
	)
	if c.be.SignedIn() {
		items = append(items, fyne.NewMenuItem(t.T("menu.signOut"), func() { c.SignOut() }))
	} else {
		items = append(items, fyne.NewMenuItem(t.T("menu.signIn"), func() { c.ShowSignIn("") }))
	}
	quit := fyne.NewMenuItem(t.T("menu.quit"), func() { c.Quit() })
	quit.IsQuit = true
	items = append(items, fyne.NewMenuItemSeparator(), quit)
	return fyne.NewMenu(t.T("app.name"), items...)
}

// SetPresence changes the agent's availability.
func (c *Controller) SetPresence(p backend.Presence) {
	go func() {
		if err := c.be.SetPresence(c.ctx, p); err != nil {
			c.log.Warn("presence", "error", err)
		}
		c.refreshTray()
	}()
}

// OpenSoftphone opens the widget in the default browser and clears the
// missed-call badge (the call log shows them).
func (c *Controller) OpenSoftphone() {
	u, err := url.Parse(c.be.WidgetURL())
	if err == nil {
		err = c.app.OpenURL(u)
	}
	if err != nil {
		c.log.Warn("opening the softphone", "error", err)
	}
	c.mu.Lock()
	c.missed = 0
	c.mu.Unlock()
	c.refreshTray()
}

// CopyChannelURL puts the Dynamics channel URL on the clipboard (the
// widget's URL when no organisation is configured).
func (c *Controller) CopyChannelURL() {
	t := c.Text()
	u, err := c.be.ChannelURL()
	if err != nil {
		c.app.Clipboard().SetContent(c.be.WidgetURL())
		c.notify(t.T("nocrm.title"), t.T("nocrm.body"))
		return
	}
	c.app.Clipboard().SetContent(u)
	c.notify(t.T("copied.title"), t.T("copied.body"))
}

// Answer takes a ringing call.
func (c *Controller) Answer(id string) {
	go func() {
		if err := c.be.Answer(c.ctx, id); err != nil {
			c.log.Warn("answer", "error", err)
			t := c.Text()
			c.notify(t.T("call.incoming"), t.T("err.answer", err.Error()))
		}
	}()
}

// Decline refuses a ringing call.
func (c *Controller) Decline(id string) {
	c.mu.Lock()
	c.declined[id] = true
	c.mu.Unlock()
	go func() {
		if err := c.be.Decline(c.ctx, id); err != nil && !errors.Is(err, app.ErrCallNotFound) {
			c.log.Warn("decline", "error", err)
		}
	}()
}

// SignOut signs out and opens the sign-in window.
func (c *Controller) SignOut() {
	go func() {
		if err := c.be.SignOut(c.ctx); err != nil {
			c.log.Warn("sign-out", "error", err)
		}
		c.refreshTray()
		c.ShowSignIn("")
	}()
}

// Quit leaves the app.
func (c *Controller) Quit() {
	if c.opts.OnQuit != nil {
		c.opts.OnQuit()
		return
	}
	c.app.Quit()
}

// HandleArgs acts on a command line handed over by another launch (or
// this one's): a tel:, callto: or sip: link dials, anything else shows
// the status window (the agent started the app again to find it).
func (c *Controller) HandleArgs(args []string) {
	dialed := false
	for _, a := range args {
		if !calllink.IsLink(a) {
			continue
		}
		dialed = true
		number, err := calllink.Parse(a)
		if err != nil {
			c.log.Warn("ignoring a call link", "link", a, "error", err)
			continue
		}
		c.log.Info("call link", "number", number)
		switch {
		case !c.be.SignedIn():
			t := c.Text()
			c.notify(t.T("app.name"), t.T("err.notSignedIn", number))
			c.mu.Lock()
			c.pendingDial, c.pendingAt = number, time.Now()
			c.mu.Unlock()
			c.ShowSignIn("")
		case c.be.Registration().State != app.RegRegistered:
			// Started by the link itself: dial once registered.
			c.mu.Lock()
			c.pendingDial, c.pendingAt = number, time.Now()
			c.mu.Unlock()
		default:
			go c.dial(number)
		}
	}
	if !dialed {
		hasFlagOnly := false
		for _, a := range args {
			if a == "--minimized" || a == "--minimised" {
				hasFlagOnly = true
			}
		}
		if !hasFlagOnly {
			if c.be.SignedIn() {
				c.ShowStatus()
			} else {
				c.ShowSignIn("")
			}
		}
	}
}

func (c *Controller) dial(number string) {
	t := c.Text()
	if _, err := c.be.Dial(c.ctx, number); err != nil {
		c.log.Warn("dial", "number", number, "error", err)
		c.notify(t.T("notify.dialing.title", number), t.T("err.dial", number, err.Error()))
	}
}

// ShowStatus opens (or raises) the status window.
func (c *Controller) ShowStatus() {
	c.do(func() {
		c.status.update()
		c.status.w.Show()
		c.status.w.RequestFocus()
	})
}

// ShowSignIn opens (or raises) the sign-in window with an optional
// message on top.
func (c *Controller) ShowSignIn(message string) {
	c.do(func() { c.showSignInLocked(message) })
}

func (c *Controller) showSignInLocked(message string) {
	if c.signIn == nil {
		c.signIn = newSignInWindow(c)
	}
	if message == "" {
		if err := c.be.KeychainError(); err != nil {
			message = c.text.T("signin.keychainBroken", err.Error())
		}
	}
	c.signIn.setTop(message)
	c.signIn.w.Show()
	c.signIn.w.RequestFocus()
	c.signIn.focus()
}

// ShowSettings opens (or raises) the settings window.
func (c *Controller) ShowSettings() {
	c.do(func() {
		if c.settings == nil {
			c.settings = newSettingsWindow(c)
		}
		c.settings.open()
	})
}

// signedIn runs after a successful sign-in from the window.
func (c *Controller) signedInLocked(warn error) {
	t := c.text
	acc := c.be.Account()
	if warn != nil {
		c.notify(t.T("signin.done", acc.Extension), t.T("err.keychain"))
	} else {
		c.notify(t.T("signin.done", acc.Extension), t.T("signin.doneBody"))
	}
	c.trayMenuKey = ""
}
