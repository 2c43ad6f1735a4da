package sip_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"testing"
	"time"

	"switchboard/internal/lab"
	"switchboard/sip"
)

// regWatch collects registration states for assertions.
type regWatch struct{ ch chan sip.RegStatus }

func newRegWatch() *regWatch { return &regWatch{ch: make(chan sip.RegStatus, 64)} }

func (w *regWatch) on(s sip.RegStatus) {
	select {
	case w.ch <- s:
	default:
	}
}

func (w *regWatch) wait(t *testing.T, want sip.RegState, d time.Duration) sip.RegStatus {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case s := <-w.ch:
			if s.State == want {
				return s
			}
		case <-deadline:
			t.Fatalf("registration did not reach %s within %v", want, d)
		}
	}
}

func testLogger() *slog.Logger {
	if os.Getenv("SWITCHBOARD_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
}

// settle returns the first outcome of a registration attempt: registered
// or failed (wait, by contrast, sits through failures and retries).
func (w *regWatch) settle(t *testing.T, d time.Duration) sip.RegStatus {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case s := <-w.ch:
			if s.State == sip.RegRegistered || s.State == sip.RegFailed {
				return s
			}
		case <-deadline:
			t.Fatalf("registration neither succeeded nor failed within %v", d)
		}
	}
}

func startKamailio(t *testing.T) *lab.Kamailio {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	k, err := lab.StartKamailio(ctx, lab.KamailioOptions{})
	if err != nil {
		t.Fatalf("starting Kamailio: %v", err)
	}
	t.Cleanup(func() { k.Close() })
	return k
}

func newUA(t *testing.T, k *lab.Kamailio, transport, ext, password string, w *regWatch, onCall func(sip.CallEvent)) *sip.UA {
	t.Helper()
	opts := sip.Options{
		Server:         k.Addr(transport),
		Transport:      transport,
		Domain:         k.Domain(),
		Extension:      ext,
		Password:       password,
		CAFile:         k.CAFile(),
		Codecs:         []string{"pcmu", "pcma"},
		Keepalive:      500 * time.Millisecond,
		RetryMin:       200 * time.Millisecond,
		RetryMax:       time.Second,
		AuthRetryMin:   time.Second,
		Logger:         testLogger(),
		OnRegistration: w.on,
		OnCall:         onCall,
	}
	ua, err := sip.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := ua.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ua.Close(ctx)
	})
	return ua
}

func TestRegisterTransports(t *testing.T) {
	k := startKamailio(t)
	for i, tr := range []string{"udp", "tcp", "tls"} {
		t.Run(tr, func(t *testing.T) {
			ext := []string{"1001", "1002", "1003"}[i]
			w := newRegWatch()
			ua := newUA(t, k, tr, ext, k.Password(ext), w, nil)
			w.wait(t, sip.RegRegistered, 10*time.Second)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			contacts, err := k.WaitRegistered(ctx, ext, 1)
			if err != nil {
				t.Fatalf("Kamailio does not list %s: %v", ext, err)
			}
			t.Logf("%s registered as %s via %s", ext, contacts[0].Address, contacts[0].Socket)
			if err := ua.Close(ctx); err != nil {
				t.Logf("close: %v", err)
			}
			// Unregistered on exit.
			for ctx.Err() == nil {
				c, _ := k.Registered(ctx, ext)
				if len(c) == 0 {
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
			t.Fatalf("%s still registered after Close", ext)
		})
	}
}

func TestRegisterWrongPasswordBacksOff(t *testing.T) {
	k := startKamailio(t)
	w := newRegWatch()
	newUA(t, k, "udp", "1004", "not-the-password", w, nil)
	var fails []sip.RegStatus
	deadline := time.After(4 * time.Second)
loop:
	for {
		select {
		case s := <-w.ch:
			if s.State == sip.RegFailed {
				fails = append(fails, s)
			}
		case <-deadline:
			break loop
		}
	}
	if len(fails) == 0 {
		t.Fatal("no failed state for a wrong password")
	}
	if !errors.Is(fails[0].Err, sip.ErrAuth) || fails[0].Reason != "wrong extension or password" {
		t.Fatalf("want auth failure with a clear reason, got %v / %q", fails[0].Err, fails[0].Reason)
	}
	// AuthRetryMin is 1 s doubling: in 4 s at most 3 attempts, never a storm.
	if len(fails) > 3 {
		t.Fatalf("%d attempts in 4 s: the phone hammers the PBX", len(fails))
	}
	if fails[0].RetryIn < 800*time.Millisecond { // 1 s less 20 % jitter
		t.Fatalf("retry after %v, want at least the auth backoff", fails[0].RetryIn)
	}
}

func TestReregisterAfterPBXRestart(t *testing.T) {
	k := startKamailio(t)
	w := newRegWatch()
	newUA(t, k, "udp", "1005", k.Password("1005"), w, nil)
	w.wait(t, sip.RegRegistered, 10*time.Second)
	k.Stop()
	// The keepalive notices the PBX is gone.
	w.wait(t, sip.RegRegistering, 10*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := k.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	w.wait(t, sip.RegRegistered, 5*time.Second)
	if _, err := k.WaitRegistered(ctx, "1005", 1); err != nil {
		t.Fatal(err)
	}
	t.Logf("registered again %v after the PBX restarted", time.Since(restarted).Round(time.Millisecond))
}

func TestUnreachableAndUnresolvablePBX(t *testing.T) {
	for _, tc := range []struct {
		server string
		want   error
	}{
		{"127.0.0.1:9", sip.ErrUnreachable},
		{"pbx.invalid", sip.ErrUnresolvable},
	} {
		t.Run(tc.server, func(t *testing.T) {
			w := newRegWatch()
			ua, err := sip.New(sip.Options{
				Server: tc.server, Extension: "1001", Password: "x", Keepalive: time.Second,
				RetryMin: 200 * time.Millisecond, RetryMax: time.Second, Logger: testLogger(),
				OnRegistration: w.on,
			})
			if err != nil {
				t.Fatal(err)
			}
			err = ua.Start(context.Background())
			defer ua.Close(context.Background())
			if err != nil {
				if !errors.Is(err, tc.want) {
					t.Fatalf("Start: want %v, got %v", tc.want, err)
				}
				return
			}
			s := w.wait(t, sip.RegFailed, 15*time.Second)
			if !errors.Is(s.Err, tc.want) {
				t.Fatalf("want %v, got %v (%s)", tc.want, s.Err, s.Reason)
			}
		})
	}
}

// A PBX certificate we can't verify is a clear TLS error, never a silent
// skip: without the lab CA the handshake must fail.
func TestTLSUntrustedCertificate(t *testing.T) {
	k := startKamailio(t)
	w := newRegWatch()
	ua, err := sip.New(sip.Options{
		Server: k.Addr("tls"), Transport: "tls", Domain: k.Domain(), Extension: "1006",
		Password: k.Password("1006"), RetryMin: 200 * time.Millisecond, RetryMax: time.Second,
		Logger: testLogger(), OnRegistration: w.on,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := ua.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer ua.Close(context.Background())
	s := w.wait(t, sip.RegFailed, 15*time.Second)
	if !errors.Is(s.Err, sip.ErrTLS) {
		t.Fatalf("want a TLS error, got %v (%s)", s.Err, s.Reason)
	}
	t.Logf("reason shown: %s", s.Reason)
}

// A PBX (or an SBC before it) that keeps registrations for less than we
// ask: the UA refreshes in time for the lifetime granted, on every
// transport, so the binding never lapses.
func TestRegisterHonoursGrantedExpiry(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	k, err := lab.StartKamailio(ctx, lab.KamailioOptions{MaxExpires: 6})
	if err != nil {
		t.Fatalf("starting Kamailio: %v", err)
	}
	t.Cleanup(func() { k.Close() })
	for i, tr := range []string{"udp", "tcp", "tls"} {
		t.Run(tr, func(t *testing.T) {
			ext := []string{"1004", "1005", "1006"}[i]
			w := newRegWatch()
			newUA(t, k, tr, ext, k.Password(ext), w, nil) // asks for 300 s
			st := w.wait(t, sip.RegRegistered, 10*time.Second)
			if st.Expires != 6*time.Second {
				t.Errorf("registered for %v, want the 6 s granted", st.Expires)
			}
			firstCSeq := 0
			deadline := time.Now().Add(10 * time.Second) // over one lifetime and a half
			for time.Now().Before(deadline) {
				cs, err := k.Registered(ctx, ext)
				if err != nil || len(cs) != 1 || cs[0].Expires <= 0 {
					t.Fatalf("the binding lapsed: %+v, %v", cs, err)
				}
				if firstCSeq == 0 {
					firstCSeq = cs[0].CSeq
				}
				time.Sleep(250 * time.Millisecond)
			}
			cs, _ := k.Registered(ctx, ext)
			if len(cs) != 1 || cs[0].CSeq-firstCSeq < 2 {
				t.Fatalf("refreshes in 10 s: CSeq %d -> %+v", firstCSeq, cs)
			}
		})
	}
}

// 423 Interval Too Brief: the UA asks again, on the same Call-ID, for the
// registrar's Min-Expires, and is registered.
func TestRegisterIntervalTooBrief(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := lab.StartSipp(ctx, lab.SippOptions{Scenario: lab.ScenarioRegistrar423(120), Timeout: 25 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	w := newRegWatch()
	ua, err := sip.New(sip.Options{
		Server: s.Addr(), Transport: "udp", Domain: "127.0.0.1", Extension: "1001", Password: "pw1001",
		Codecs: []string{"pcmu"}, Expiry: 30 * time.Second, Keepalive: time.Hour,
		RetryMin: 200 * time.Millisecond, RetryMax: time.Second, AuthRetryMin: time.Second,
		Logger: testLogger(), OnRegistration: w.on,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := ua.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := w.wait(t, sip.RegRegistered, 10*time.Second)
	if st.Expires != 120*time.Second {
		t.Errorf("registered for %v, want the 120 s the registrar asked for", st.Expires)
	}
	cctx, ccancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer ccancel()
	if err := ua.Close(cctx); err != nil {
		t.Logf("close: %v", err)
	}
	res, err := s.Wait(ctx)
	if err != nil || !res.Passed() {
		t.Fatalf("the registrar scenario: %v\n%s", err, res.Summary())
	}
}
