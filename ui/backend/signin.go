package backend

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"switchboard/app"
	"switchboard/sip"
)

// Kind says what went wrong with a sign-in, so the window can say it in
// the agent's language, next to the field to fix.
type Kind string

const (
	KindInvalid     Kind = "invalid"     // a field is malformed (Field says which)
	KindUnresolved  Kind = "unresolved"  // the PBX address does not resolve
	KindUnreachable Kind = "unreachable" // no answer from the PBX
	KindAuth        Kind = "auth"        // wrong extension or password
	KindNotFound    Kind = "notfound"    // the PBX does not know the extension
	KindTLS         Kind = "tls"         // certificate not trusted, or TLS failed
	KindRejected    Kind = "rejected"    // any other refusal
	KindKeychain    Kind = "keychain"    // signed in, but the password was not saved
)

// Error is a classified sign-in failure.
type Error struct {
	Kind  Kind
	Field string // for KindInvalid: server, transport or extension
	Err   error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// KindOf is the kind of err (KindRejected when it is not an *Error).
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindRejected
}

// Classify maps a failed registration to a Kind. The SIP room reports the
// cause as a reason text on the registration (app.Registration.Error).
func Classify(r app.Registration) Kind {
	reason := strings.ToLower(r.Error)
	switch {
	case strings.Contains(reason, "password"):
		return KindAuth
	case strings.Contains(reason, "not found"), strings.Contains(reason, "does not know"):
		return KindNotFound
	case strings.Contains(reason, "tls"), strings.Contains(reason, "certificate"):
		return KindTLS
	case strings.Contains(reason, "resolve"):
		return KindUnresolved
	case strings.Contains(reason, "unreachable"), strings.Contains(reason, "unavailable"), strings.Contains(reason, "lost"):
		return KindUnreachable
	}
	return KindRejected
}

// classifyStart maps an error from starting the phone.
func classifyStart(err error) Kind {
	switch {
	case errors.Is(err, sip.ErrUnresolvable):
		return KindUnresolved
	case errors.Is(err, sip.ErrUnreachable):
		return KindUnreachable
	case errors.Is(err, sip.ErrTLS):
		return KindTLS
	case errors.Is(err, sip.ErrAuth):
		return KindAuth
	}
	return KindRejected
}

// apply puts the account into a copy of cfg and checks it.
func apply(cfg app.Config, a Account) (app.Config, error) {
	a.Server = strings.TrimSpace(a.Server)
	a.Extension = strings.TrimSpace(a.Extension)
	a.Transport = strings.ToLower(strings.TrimSpace(a.Transport))
	// Pasted PBX addresses often carry a scheme.
	for _, p := range []string{"sip:", "sips:", "https://", "http://"} {
		if strings.HasPrefix(strings.ToLower(a.Server), p) {
			a.Server = strings.TrimRight(a.Server[len(p):], "/")
		}
	}
	if a.Server == "" {
		return cfg, &Error{Kind: KindInvalid, Field: "server", Err: errors.New("enter the PBX address")}
	}
	if _, _, err := app.SplitHostPort(a.Server); err != nil {
		return cfg, &Error{Kind: KindInvalid, Field: "server", Err: fmt.Errorf("PBX address: %w", err)}
	}
	if a.Transport == "" {
		a.Transport = "udp"
	}
	if a.Transport != "udp" && a.Transport != "tcp" && a.Transport != "tls" {
		return cfg, &Error{Kind: KindInvalid, Field: "transport", Err: fmt.Errorf("transport %q: choose UDP, TCP or TLS", a.Transport)}
	}
	user, domain, email := strings.Cut(a.Extension, "@")
	if user == "" {
		return cfg, &Error{Kind: KindInvalid, Field: "extension", Err: errors.New("enter your extension number or email")}
	}
	if email && (domain == "" || strings.ContainsAny(domain, " /@:;<>\"")) {
		return cfg, &Error{Kind: KindInvalid, Field: "extension", Err: fmt.Errorf("%q is not an email address", a.Extension)}
	}
	if strings.ContainsAny(user, " :;<>\"/") {
		return cfg, &Error{Kind: KindInvalid, Field: "extension", Err: fmt.Errorf("%q: give the extension number or user name only", user)}
	}
	if cfg.PBX.Server != a.Server {
		// A different PBX: the administrator's domain and CA were for the
		// old one.
		cfg.PBX.Domain, cfg.PBX.CAFile = "", ""
	}
	cfg.PBX.Server, cfg.PBX.Transport = a.Server, a.Transport
	if email {
		cfg.PBX.Domain = domain
	}
	if cfg.Account.Extension != user {
		cfg.Account.AuthID = ""
	}
	cfg.Account.Extension = user
	if err := cfg.Validate(); err != nil {
		return cfg, &Error{Kind: KindInvalid, Field: "server", Err: err}
	}
	return cfg, nil
}

// SignIn starts the phone with the account and waits for the PBX's
// verdict. On success the account is saved in the config file and the
// password in the OS keychain (an *Error of KindKeychain says the sign-in
// worked but the password could not be saved). On failure the previous
// phone comes back as it was and nothing is saved.
func (b *Backend) SignIn(ctx context.Context, a Account, password string) error {
	if password == "" {
		return &Error{Kind: KindInvalid, Field: "password", Err: errors.New("enter your password")}
	}
	b.signMu.Lock()
	defer b.signMu.Unlock()
	b.mu.Lock()
	old, wasIn := b.cfg, b.signedIn
	b.mu.Unlock()
	cfg, err := apply(old, a)
	if err != nil {
		return err
	}
	oldPw := ""
	if wasIn {
		oldPw, _ = app.LoadPassword(old)
	}

	b.stopPhone()
	sub := b.bus.Subscribe(32)
	defer sub.Close()
	if err := b.startPhone(cfg, password); err != nil {
		b.restore(old, oldPw)
		return &Error{Kind: classifyStart(err), Err: err}
	}
	if err := b.waitRegistered(ctx, sub); err != nil {
		b.stopPhone()
		b.restore(old, oldPw)
		return err
	}

	b.mu.Lock()
	b.cfg = cfg
	b.keyErr = nil
	b.mu.Unlock()
	if err := app.SaveConfig(b.opts.ConfigPath, cfg); err != nil {
		b.log.Warn("saving the account in the config file failed", "error", err)
	}
	if wasIn && app.KeychainUser(old) != app.KeychainUser(cfg) {
		// Signing in as someone else signs the previous account out.
		if err := app.DeletePassword(old); err != nil {
			b.log.Warn("removing the previous account's password", "error", err)
		}
	}
	if err := app.SavePassword(cfg, password); err != nil {
		b.log.Warn("signed in, but the password is not remembered", "error", err)
		return &Error{Kind: KindKeychain, Err: err}
	}
	b.log.Info("signed in", "account", app.KeychainUser(cfg), "transport", cfg.PBX.Transport)
	return nil
}

// restore brings the previous phone back after a failed sign-in.
func (b *Backend) restore(cfg app.Config, pw string) {
	if err := b.startPhone(cfg, pw); err != nil {
		b.log.Warn("restarting the previous account failed", "error", err)
	}
}

// waitRegistered waits for the new phone's first verdict.
func (b *Backend) waitRegistered(ctx context.Context, sub *app.Subscription) error {
	timer := time.NewTimer(b.opts.SignInTimeout)
	defer timer.Stop()
	retried := false
	for {
		select {
		case <-ctx.Done():
			return &Error{Kind: KindUnreachable, Err: fmt.Errorf("sign-in cancelled: %w", ctx.Err())}
		case <-timer.C:
			return &Error{Kind: KindUnreachable, Err: fmt.Errorf("no answer from the PBX within %s: check the address, the transport and your network", b.opts.SignInTimeout)}
		case e, ok := <-sub.C:
			if !ok {
				return &Error{Kind: KindRejected, Err: errors.New("the phone stopped")}
			}
			if e.Type != app.EvRegistration {
				continue
			}
			switch r := *e.Registration; r.State {
			case app.RegRegistered:
				return nil
			case app.RegFailed:
				kind := Classify(r)
				// A network failure may be a blip (the phone retries on
				// its own within seconds): judge on the second one. A
				// refusal by the PBX is final at once.
				if kind == KindUnreachable && !retried {
					retried = true
					continue
				}
				return &Error{Kind: kind, Err: errors.New(r.Error)}
			}
		}
	}
}

// SignOut unregisters, removes the password from the keychain and keeps
// the phone running without an account (the PBX address and extension
// stay in the config to prefill the next sign-in).
func (b *Backend) SignOut(ctx context.Context) error {
	b.signMu.Lock()
	defer b.signMu.Unlock()
	cfg := b.Config()
	b.stopPhone()
	err := app.DeletePassword(cfg)
	if serr := b.startPhone(cfg, ""); serr != nil {
		err = errors.Join(err, serr)
	}
	b.log.Info("signed out", "account", app.KeychainUser(cfg))
	return err
}
