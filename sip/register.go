package sip

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo/sip"
)

// RegState is the registration state.
type RegState string

const (
	RegUnregistered RegState = "unregistered"
	RegRegistering  RegState = "registering"
	RegRegistered   RegState = "registered"
	RegFailed       RegState = "failed"
)

// RegStatus reports registration state with a reason a person can act on.
type RegStatus struct {
	State   RegState
	Reason  string // e.g. "wrong password", "PBX unreachable"
	Code    int    // last SIP status, 0 when none
	Err     error
	RetryIn time.Duration
	Since   time.Time
	Expires time.Duration
}

// Errors callers can test with errors.Is.
var (
	ErrAuth          = errors.New("authentication failed")
	ErrUnreachable   = errors.New("PBX unreachable")
	ErrUnresolvable  = errors.New("PBX address does not resolve")
	ErrTLS           = errors.New("TLS handshake with the PBX failed")
	ErrRejected      = errors.New("registration rejected")
	errKeepaliveLost = errors.New("PBX stopped answering")
)

// registerLoop keeps the account registered until ctx ends, then
// unregisters. Every failure backs off, capped, so neither a dead PBX nor
// a wrong password gets hammered.
func (u *UA) registerLoop(ctx context.Context) {
	aor := sip.Uri{Scheme: "sip", User: u.opts.Extension, Host: u.domain}
	if u.opts.Transport != "udp" {
		aor.UriParams = sip.NewParams()
		aor.UriParams.Add("transport", u.opts.Transport)
	}
	netFail, authFail := 0, 0
	var tx *diago.RegisterTransaction
	registered := false // whether the PBX may still hold a binding of ours
	expiry := u.opts.Expiry
	for ctx.Err() == nil {
		u.setReg(RegStatus{State: RegRegistering})
		var err error
		u.setGranted(0)
		tx, err = u.dg.RegisterTransaction(ctx, aor, diago.RegisterOptions{
			Username:  u.opts.AuthID,
			Password:  u.opts.Password,
			ProxyHost: u.proxyHost,
			Expiry:    expiry,
		})
		if err == nil {
			err = u.register(ctx, tx, &expiry)
		}
		if err == nil {
			registered = true
			netFail, authFail = 0, 0
			err = u.keepRegistered(ctx, tx, expiry)
		}
		if ctx.Err() != nil {
			break // shutting down: not a failure to report
		}
		st := classifyRegError(err)
		var wait time.Duration
		if errors.Is(st.Err, ErrAuth) {
			authFail++
			wait = backoff(u.opts.AuthRetryMin, 10*time.Minute, authFail)
		} else {
			netFail++
			wait = backoff(u.opts.RetryMin, u.opts.RetryMax, netFail)
		}
		st.RetryIn = wait
		u.log.Warn("registration failed", "reason", st.Reason, "code", st.Code, "retry_in", wait)
		u.setReg(st)
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
	if tx != nil && registered {
		uctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		if err := tx.Unregister(uctx); err != nil {
			u.log.Info("unregister failed", "error", err)
		}
		cancel()
	}
	u.setReg(RegStatus{State: RegUnregistered})
}

// register sends the first REGISTER of tx. A 423 (Interval Too Brief)
// asks again at once, on the same Call-ID, for the PBX's Min-Expires, and
// *expiry becomes it.
func (u *UA) register(ctx context.Context, tx *diago.RegisterTransaction, expiry *time.Duration) error {
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err := tx.Register(rctx)
	var rr *diago.RegisterResponseError
	if !errors.As(err, &rr) {
		return err
	}
	least, ok := minExpires(rr.RegisterRes)
	if !ok || least <= *expiry || least > 24*time.Hour {
		return err
	}
	u.log.Info("the PBX wants a longer registration", "asked", *expiry, "min_expires", least)
	*expiry = least
	h := sip.ExpiresHeader(uint32(least / time.Second))
	tx.Origin.ReplaceHeader(&h)
	return tx.Register(rctx)
}

// keepRegistered refreshes before expiry and pings the PBX in between; it
// returns when either fails.
func (u *UA) keepRegistered(ctx context.Context, tx *diago.RegisterTransaction, asked time.Duration) error {
	expiry := u.lifetime(asked)
	u.setReg(RegStatus{State: RegRegistered, Code: 200, Expires: expiry})
	if expiry < asked {
		u.log.Info("the PBX keeps the registration for less than asked; refreshing sooner", "asked", asked, "granted", expiry)
	}
	refresh := time.NewTimer(refreshAfter(expiry))
	defer refresh.Stop()
	ping := time.NewTicker(u.opts.Keepalive)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-refresh.C:
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := tx.Qualify(rctx)
			cancel()
			if err != nil {
				return err
			}
			expiry = u.lifetime(asked)
			refresh.Reset(refreshAfter(expiry))
		case <-ping.C:
			if err := u.ping(ctx); err != nil {
				return err
			}
		}
	}
}

// lifetime is how long the registration lasts: what the PBX granted in
// its last 200, never more than asked.
func (u *UA) lifetime(asked time.Duration) time.Duration {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.granted > 0 && u.granted < asked {
		return u.granted
	}
	return asked
}

func (u *UA) setGranted(d time.Duration) {
	u.mu.Lock()
	u.granted = d
	u.mu.Unlock()
}

// noteRegister reads the lifetime a 200 to a REGISTER grants (not to
// the final un-REGISTER, which asks for none).
func (u *UA) noteRegister(req *sip.Request, res *sip.Response) {
	if res.StatusCode != 200 {
		return
	}
	if h := req.GetHeader("Expires"); h != nil && strings.TrimSpace(h.Value()) == "0" {
		return
	}
	if d, ok := grantedExpiry(req, res); ok && d > 0 {
		u.setGranted(d)
	}
}

// ping sends OPTIONS to the PBX. Any answer means it is alive; a PBX that
// restarted and forgot us is caught by the next refresh, and one that went
// away is caught here within a keepalive interval.
func (u *UA) ping(ctx context.Context) error {
	req := sip.NewRequest(sip.OPTIONS, sip.Uri{Scheme: "sip", Host: u.domain})
	req.SetDestination(u.proxyHost)
	if u.opts.Transport != "udp" {
		req.SetTransport(sip.NetworkToUpper(u.opts.Transport))
	}
	timeout := u.opts.Keepalive
	if timeout > 5*time.Second {
		timeout = 5 * time.Second
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if _, err := u.cli.Do(pctx, req); err != nil {
		return fmt.Errorf("%w: %w", errKeepaliveLost, err)
	}
	return nil
}

func refreshAfter(expiry time.Duration) time.Duration {
	d := expiry * 3 / 4
	if d < 5*time.Second {
		d = 5 * time.Second
	}
	return d
}

func backoff(min, max time.Duration, n int) time.Duration {
	d := min
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	// ±20 % jitter.
	return d - d/5 + time.Duration(mrand.Int64N(int64(d/5)*2+1))
}

// classifyRegError turns what the stack returned into a reason an agent
// understands.
func classifyRegError(err error) RegStatus {
	st := RegStatus{State: RegFailed, Err: err}
	var rr *diago.RegisterResponseError
	switch {
	case errors.As(err, &rr):
		st.Code = rr.StatusCode()
		switch st.Code {
		case 401, 403, 407:
			st.Err = fmt.Errorf("%w (%d): check the extension and password", ErrAuth, st.Code)
			st.Reason = "wrong extension or password"
		case 404:
			st.Err = fmt.Errorf("%w: the PBX does not know this extension (404)", ErrRejected)
			st.Reason = "extension not found on the PBX"
		case 423:
			st.Err = fmt.Errorf("%w: registration interval too brief (423)", ErrRejected)
			st.Reason = "PBX wants a longer registration interval"
		case 503, 500, 504:
			st.Err = fmt.Errorf("%w: PBX busy or failing (%d)", ErrUnreachable, st.Code)
			st.Reason = "PBX temporarily unavailable"
		default:
			st.Err = fmt.Errorf("%w: %s", ErrRejected, rr.RegisterRes.StartLine())
			st.Reason = "PBX rejected the registration (" + strconv.Itoa(st.Code) + ")"
		}
	case errors.Is(err, ErrUnresolvable):
		st.Reason = "PBX address does not resolve"
	case isTLSError(err):
		st.Err = fmt.Errorf("%w: %w", ErrTLS, err)
		st.Reason = "PBX certificate not trusted or TLS failed"
	case errors.Is(err, errKeepaliveLost):
		st.State = RegRegistering
		st.Err = fmt.Errorf("%w: %w", ErrUnreachable, err)
		st.Reason = "connection to the PBX lost"
	default:
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) {
			st.Err = fmt.Errorf("%w: %w", ErrUnresolvable, err)
			st.Reason = "PBX address does not resolve"
			break
		}
		st.Err = fmt.Errorf("%w: %w", ErrUnreachable, err)
		st.Reason = "PBX unreachable"
	}
	return st
}

func isTLSError(err error) bool {
	if err == nil {
		return false
	}
	var certErr *tls.CertificateVerificationError
	var recErr tls.RecordHeaderError
	var alert tls.AlertError
	var unk x509.UnknownAuthorityError
	var host x509.HostnameError
	return errors.As(err, &certErr) || errors.As(err, &recErr) || errors.As(err, &alert) ||
		errors.As(err, &unk) || errors.As(err, &host) || strings.Contains(err.Error(), "tls:")
}
