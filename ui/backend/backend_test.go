package backend

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"switchboard/app"
	"switchboard/app/store"
	"switchboard/internal/lab"
	"switchboard/ui/internal/keyringtest"
)

// The tests use the real Secret Service: gnome-keyring in a private D-Bus
// session (see keyringtest).
func TestMain(m *testing.M) { keyringtest.Main(m) }

type fixture struct {
	dir   string
	cfg   string
	store *store.Store
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(context.Background(), store.Options{Path: filepath.Join(dir, "switchboard.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &fixture{dir: dir, cfg: filepath.Join(dir, "config.toml"), store: st}
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.DiscardHandler)
}

// start makes and starts a backend; ctx bounds it.
func (f *fixture) start(t *testing.T, ctx context.Context) *Backend {
	t.Helper()
	b, err := New(Options{ConfigPath: f.cfg, DataDir: f.dir, Store: f.store, Logger: testLogger(t),
		SignInTimeout: 15 * time.Second,
		Tune: func(o *app.PhoneOptions) {
			o.RetryMin, o.RetryMax, o.AuthRetryMin = 200*time.Millisecond, time.Second, time.Second
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

func TestSignInErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	k := lab.StartKamailioT(t, lab.KamailioOptions{NoPresence: true})
	port, err := lab.FreePort("tcp")
	if err != nil {
		t.Fatal(err)
	}
	closed := "127.0.0.1:" + strconv.Itoa(port)
	tests := []struct {
		name  string
		acc   Account
		pw    string
		kind  Kind
		field string
	}{
		{"wrong password", Account{k.Addr("udp"), "udp", "1001"}, "nope", KindAuth, ""},
		{"wrong password over TCP", Account{k.Addr("tcp"), "tcp", "1001"}, "nope", KindAuth, ""},
		{"nobody listening", Account{closed, "tcp", "1001"}, "pw1001", KindUnreachable, ""},
		// The lab PBX's certificate comes from its own CA, which this
		// computer does not trust.
		{"untrusted certificate", Account{k.Addr("tls"), "tls", "1001"}, "pw1001", KindTLS, ""},
		{"no server", Account{"", "udp", "1001"}, "pw1001", KindInvalid, "server"},
		{"bad server", Account{"pbx:99999", "udp", "1001"}, "pw1001", KindInvalid, "server"},
		{"bad transport", Account{k.Addr("udp"), "ws", "1001"}, "pw1001", KindInvalid, "transport"},
		{"no extension", Account{k.Addr("udp"), "udp", " "}, "pw1001", KindInvalid, "extension"},
		{"bad email", Account{k.Addr("udp"), "udp", "a@"}, "pw1001", KindInvalid, "extension"},
		{"no password", Account{k.Addr("udp"), "udp", "1001"}, "", KindInvalid, "password"},
	}
	f := newFixture(t)
	b := f.start(t, ctx)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := b.SignIn(ctx, tt.acc, tt.pw)
			if err == nil {
				t.Fatal("sign-in succeeded")
			}
			var e *Error
			if !errors.As(err, &e) || e.Kind != tt.kind || e.Field != tt.field {
				t.Fatalf("SignIn = %#v (%v), want kind %s field %q", e, err, tt.kind, tt.field)
			}
			if b.SignedIn() {
				t.Fatal("signed in after a failure")
			}
		})
	}
	// Nothing was remembered.
	if _, err := os.Stat(f.cfg); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("config written after failed sign-ins: %v", err)
	}
	if _, err := app.LoadPassword(appCfg(k.Addr("udp"), "1001")); !errors.Is(err, app.ErrNoPassword) {
		t.Errorf("keychain after failed sign-ins: %v", err)
	}
}

// waitUnregistered checks the PBX dropped the extension's binding. The
// phone unregisters when it stops; the PBX would otherwise keep ringing a
// signed-out desk until the binding expires.
func waitUnregistered(t *testing.T, ctx context.Context, k *lab.Kamailio, ext string) {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := k.WaitRegistered(wctx, ext, 0); err != nil {
		t.Fatalf("the PBX still lists %s after sign-out: %v", ext, err)
	}
}

func appCfg(server, ext string) app.Config {
	c := app.DefaultConfig()
	c.PBX.Server, c.Account.Extension = server, ext
	return c
}

// TestSessionSurvivesRestart is A5: sign in, restart, signed in again
// without a password; sign out, restart, asked again.
func TestSessionSurvivesRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	k := lab.StartKamailioT(t, lab.KamailioOptions{NoPresence: true})
	f := newFixture(t)

	bctx, bcancel := context.WithCancel(ctx)
	b := f.start(t, bctx)
	if b.SignedIn() {
		t.Fatal("signed in on a fresh install")
	}
	acc := Account{Server: k.Addr("udp"), Transport: "udp", Extension: "1001"}
	if err := b.SignIn(ctx, acc, "pw1001"); err != nil {
		t.Fatal(err)
	}
	if !b.SignedIn() || b.Registration().State != app.RegRegistered {
		t.Fatalf("after sign-in: signed in %v, registration %+v", b.SignedIn(), b.Registration())
	}
	if _, err := k.WaitRegistered(ctx, "1001", 1); err != nil {
		t.Fatal(err)
	}
	cfgText, err := os.ReadFile(f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(cfgText), "pw1001") {
		t.Fatal("the password is in the config file")
	}
	b.Close()
	bcancel()
	waitUnregistered(t, ctx, k, "1001")

	// Restart: the keychain signs in by itself.
	b2 := f.start(t, ctx)
	if !b2.SignedIn() {
		t.Fatal("not signed in after a restart")
	}
	if got := b2.Account(); got != acc {
		t.Fatalf("account after restart = %+v", got)
	}
	if _, err := k.WaitRegistered(ctx, "1001", 1); err != nil {
		t.Fatal(err)
	}

	if err := b2.SignOut(ctx); err != nil {
		t.Fatal(err)
	}
	if b2.SignedIn() {
		t.Fatal("signed in after sign-out")
	}
	waitUnregistered(t, ctx, k, "1001")
	if _, err := app.LoadPassword(b2.Config()); !errors.Is(err, app.ErrNoPassword) {
		t.Fatalf("keychain after sign-out: %v", err)
	}
	b2.Close()

	// Restart after sign-out: asked again, the form prefilled.
	b3 := f.start(t, ctx)
	if b3.SignedIn() {
		t.Fatal("signed in after sign-out and restart")
	}
	if got := b3.Account(); got != acc {
		t.Fatalf("prefill after sign-out = %+v", got)
	}
}

// TestSwitchAccount signs in as another extension: the old one is
// unregistered and its password removed.
func TestSwitchAccount(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	k := lab.StartKamailioT(t, lab.KamailioOptions{NoPresence: true})
	f := newFixture(t)
	b := f.start(t, ctx)
	if err := b.SignIn(ctx, Account{k.Addr("udp"), "udp", "1003"}, "pw1003"); err != nil {
		t.Fatal(err)
	}
	old := b.Config()
	// A failed switch keeps the old account registered.
	if err := b.SignIn(ctx, Account{k.Addr("udp"), "udp", "1004"}, "bad"); KindOf(err) != KindAuth {
		t.Fatalf("switch with a bad password = %v", err)
	}
	if _, err := k.WaitRegistered(ctx, "1003", 1); err != nil {
		t.Fatalf("old account not back after a failed switch: %v", err)
	}
	if !b.SignedIn() || b.Account().Extension != "1003" {
		t.Fatalf("after a failed switch: %v %+v", b.SignedIn(), b.Account())
	}
	if err := b.SignIn(ctx, Account{k.Addr("udp"), "udp", "1004"}, "pw1004"); err != nil {
		t.Fatal(err)
	}
	waitUnregistered(t, ctx, k, "1003")
	if _, err := k.WaitRegistered(ctx, "1004", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := app.LoadPassword(old); !errors.Is(err, app.ErrNoPassword) {
		t.Fatalf("old account's password still saved: %v", err)
	}
}

// TestDoNotDisturb: on DND an incoming call is declined with 486, so the
// caller hears busy at once; back to available, it rings and is answered.
func TestDoNotDisturb(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	k := lab.StartKamailioT(t, lab.KamailioOptions{NoPresence: true})
	f := newFixture(t)
	b := f.start(t, ctx)
	if err := b.SignIn(ctx, Account{k.Addr("udp"), "udp", "1001"}, "pw1001"); err != nil {
		t.Fatal(err)
	}
	bot := lab.StartBotT(t, lab.BotOptions{Kamailio: k, Extension: "1002"})
	if err := b.SetPresence(ctx, DND); err != nil {
		t.Fatal(err)
	}
	if err := bot.Dial(ctx, k.URI("1001")); err != nil {
		t.Fatal(err)
	}
	ev, err := bot.WaitEvent(ctx, lab.EventCallClosed)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ev.Param, "486") {
		t.Fatalf("caller's call closed with %q, want 486 Busy Here", ev.Param)
	}

	// Presence survives a restart of the backend.
	b.Close()
	b = f.start(t, ctx)
	if b.Presence() != DND {
		t.Fatalf("presence after restart = %s", b.Presence())
	}
	if _, err := k.WaitRegistered(ctx, "1001", 1); err != nil {
		t.Fatal(err)
	}
	if err := b.SetPresence(ctx, Available); err != nil {
		t.Fatal(err)
	}
	sub := b.Subscribe(32)
	defer sub.Close()
	if err := bot.Dial(ctx, k.URI("1001")); err != nil {
		t.Fatal(err)
	}
	var id string
	for id == "" {
		select {
		case e := <-sub.C:
			if e.Type == app.EvCall && e.Call.State == app.CallIncoming {
				id = e.Call.ID
			}
		case <-ctx.Done():
			t.Fatal("no incoming call")
		}
	}
	if err := b.Answer(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := bot.WaitEvent(ctx, lab.EventCallEstablished); err != nil {
		t.Fatal(err)
	}
	if err := b.Hangup(ctx, id); err != nil {
		t.Fatal(err)
	}
}

func TestClassify(t *testing.T) {
	tests := map[string]Kind{
		"wrong extension or password":               KindAuth,
		"extension not found on the PBX":            KindNotFound,
		"PBX certificate not trusted or TLS failed": KindTLS,
		"PBX address does not resolve":              KindUnresolved,
		"PBX unreachable":                           KindUnreachable,
		"PBX temporarily unavailable":               KindUnreachable,
		"connection to the PBX lost":                KindUnreachable,
		"PBX rejected the registration (488)":       KindRejected,
	}
	for reason, want := range tests {
		if got := Classify(app.Registration{State: app.RegFailed, Error: reason}); got != want {
			t.Errorf("Classify(%q) = %s, want %s", reason, got, want)
		}
	}
}

func TestApplyAccount(t *testing.T) {
	base := app.DefaultConfig()
	base.PBX.Server, base.PBX.Domain, base.PBX.CAFile = "old.example", "old.example", "/ca.pem"
	cfg, err := apply(base, Account{Server: " sip:pbx.example.com:5061/ ", Transport: "TLS", Extension: "alice@corp.example"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.PBX.Server != "pbx.example.com:5061" || cfg.PBX.Transport != "tls" || cfg.Account.Extension != "alice" ||
		cfg.PBX.Domain != "corp.example" || cfg.PBX.CAFile != "" {
		t.Fatalf("apply = %+v %+v", cfg.PBX, cfg.Account)
	}
}
