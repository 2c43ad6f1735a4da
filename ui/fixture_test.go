package ui

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"switchboard/app/store"
	"switchboard/audio"
	"switchboard/internal/lab"
	"switchboard/ui/backend"
	"switchboard/ui/internal/keyringtest"
)

// The windows sign in for real: lab Kamailio as the PBX, gnome-keyring in
// a private D-Bus session as the keychain.
func TestMain(m *testing.M) { keyringtest.Main(m) }

// notes records the notifications the controller sends.
type notes struct {
	mu  sync.Mutex
	all []fyne.Notification
}

func (n *notes) add(x *fyne.Notification) {
	n.mu.Lock()
	n.all = append(n.all, *x)
	n.mu.Unlock()
}

func (n *notes) find(title, content string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, x := range n.all {
		if x.Title == title && (content == "" || x.Content == content) {
			return true
		}
	}
	return false
}

// trayRecorder stands where the OS tray would: it keeps what the
// controller last set (the real tray is exercised over D-Bus by the
// ui/desktop tests).
type trayRecorder struct {
	mu   sync.Mutex
	menu *fyne.Menu
	icon fyne.Resource
}

func (r *trayRecorder) SetSystemTrayMenu(m *fyne.Menu) { r.mu.Lock(); r.menu = m; r.mu.Unlock() }
func (r *trayRecorder) SetSystemTrayIcon(i fyne.Resource) {
	r.mu.Lock()
	r.icon = i
	r.mu.Unlock()
}
func (r *trayRecorder) SetSystemTrayWindow(fyne.Window) {}
func (r *trayRecorder) iconName() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.icon == nil {
		return ""
	}
	return r.icon.Name()
}

// uiLoop is the tests' main goroutine: every widget change and every
// simulated tap runs on it, one at a time, as on fyne's real main thread.
type uiLoop struct{ q chan func() }

func newUILoop(t *testing.T) *uiLoop {
	l := &uiLoop{q: make(chan func(), 4096)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for f := range l.q {
			f()
		}
	}()
	t.Cleanup(func() { close(l.q); <-done })
	return l
}

// dispatch queues f (fyne.Do semantics).
func (l *uiLoop) dispatch(f func()) { l.q <- f }

// run runs f on the loop and waits for it.
func (l *uiLoop) run(f func()) {
	done := make(chan struct{})
	l.q <- func() { defer close(done); f() }
	<-done
}

type fixture struct {
	ui    *uiLoop
	t     *testing.T
	ctx   context.Context
	k     *lab.Kamailio
	be    *backend.Backend
	c     *Controller
	notes *notes
	tray  *trayRecorder
}

type fixtureOptions struct {
	audio     *audio.System
	autostart Autostart
	noKam     bool
}

func newFixture(t *testing.T, o fixtureOptions) *fixture {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	f := &fixture{t: t, ctx: ctx, notes: &notes{}, tray: &trayRecorder{}, ui: newUILoop(t)}
	if !o.noKam {
		f.k = lab.StartKamailioT(t, lab.KamailioOptions{NoPresence: true})
	}
	dir := t.TempDir()
	st, err := store.Open(ctx, store.Options{Path: filepath.Join(dir, "switchboard.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log := slog.New(slog.DiscardHandler)
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	f.be, err = backend.New(backend.Options{ConfigPath: filepath.Join(dir, "config.toml"), DataDir: dir, Store: st,
		Audio: o.audio, Logger: log, SignInTimeout: 15 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.be.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.be.Close)
	a := test.NewTempApp(t)
	f.c = New(Options{App: a, Backend: f.be, Tray: f.tray, Autostart: o.autostart, Notify: f.notes.add, Logger: log,
		Dispatch: f.ui.dispatch})
	f.ui.run(func() { f.c.Start(ctx) })
	t.Cleanup(f.c.Stop)
	return f
}

// eventually polls cond until it holds.
func (f *fixture) eventually(what string, cond func() bool) {
	f.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	f.t.Fatalf("timed out waiting for %s", what)
}

// signIn signs in through the backend (the window is tested elsewhere).
func (f *fixture) signIn(ext string) {
	f.t.Helper()
	if err := f.be.SignIn(f.ctx, backend.Account{Server: f.k.Addr("udp"), Transport: "udp", Extension: ext}, f.k.Password(ext)); err != nil {
		f.t.Fatal(err)
	}
	f.c.refreshTray()
}

// locked evaluates cond on the UI loop under the controller's lock (for
// its own state and the widgets it changes).
func (f *fixture) locked(cond func() bool) func() bool {
	return func() bool {
		var ok bool
		f.ui.run(func() {
			f.c.mu.Lock()
			defer f.c.mu.Unlock()
			ok = cond()
		})
		return ok
	}
}

// tap and typ act on the UI loop, as a person's click would.
func (f *fixture) tap(b fyne.Tappable) { f.ui.run(func() { test.Tap(b) }) }

func (f *fixture) typ(e fyne.Focusable, s string) { f.ui.run(func() { test.Type(e, s) }) }

// on runs f on the UI loop.
func (f *fixture) on(fn func()) { f.ui.run(fn) }

func (f *fixture) menuLabels() []string {
	var out []string
	for _, it := range f.c.TrayMenu().Items {
		out = append(out, it.Label)
	}
	return out
}
