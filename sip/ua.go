package sip

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/media"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Options configure a UA. Zero durations take the defaults noted.
type Options struct {
	Server      string // PBX host[:port]; the registrar and outbound proxy
	Transport   string // udp (default), tcp, tls
	Domain      string // SIP domain; defaults to the server host
	Extension   string // the SIP user (AOR user part)
	AuthID      string // digest user; defaults to Extension
	Password    string
	DisplayName string
	CAFile      string // extra PEM roots to verify the PBX's TLS certificate
	SRTP        string // off (default), optional, required
	Codecs      []string

	Expiry    time.Duration // requested registration lifetime, default 300 s
	Keepalive time.Duration // OPTIONS ping to the PBX, default 25 s
	// Backoff after a network failure: RetryMin doubling up to RetryMax
	// (defaults 1 s and 4 s, with jitter so 300 desktops don't return to
	// a restarted PBX in step; a PBX back from a restart sees us again
	// within seconds). Auth failures back off from AuthRetryMin
	// (default 30 s) up to 10 minutes, so a wrong password never hammers
	// the PBX or locks the account.
	RetryMin, RetryMax, AuthRetryMin time.Duration
	// BindIP is the local address to use; by default the address the OS
	// would route to the PBX from (never a wildcard).
	BindIP    string
	UserAgent string
	Logger    *slog.Logger

	// OnRegistration reports every registration state change.
	OnRegistration func(RegStatus)
	// OnCall reports call events; it must not block for long.
	OnCall func(CallEvent)
}

// UA is one SIP account: it registers and places and takes calls.
type UA struct {
	opts      Options
	log       *slog.Logger
	ua        *sipgo.UserAgent
	dg        *diago.Diago
	server    string // host:port
	proxyHost string
	domain    string
	codecs    []media.Codec
	cli       *sipgo.Client

	mu    sync.Mutex
	calls map[string]*Call
	reg   RegStatus
	// granted is the registration lifetime the PBX's last 200 to a
	// REGISTER gave (0: it did not say).
	granted time.Duration

	cancel context.CancelFunc
	done   chan struct{}
}

// New checks opts and builds a UA. Nothing is sent until Start.
func New(opts Options) (*UA, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Server == "" {
		return nil, errors.New("no PBX address: set pbx.server to host[:port]")
	}
	if opts.Extension == "" {
		return nil, errors.New("no extension: set account.extension")
	}
	if opts.Transport == "" {
		opts.Transport = "udp"
	}
	opts.Transport = strings.ToLower(opts.Transport)
	if opts.AuthID == "" {
		opts.AuthID = opts.Extension
	}
	if opts.SRTP == "" {
		opts.SRTP = "off"
	}
	setDefault(&opts.Expiry, 300*time.Second)
	setDefault(&opts.Keepalive, 25*time.Second)
	setDefault(&opts.RetryMin, time.Second)
	setDefault(&opts.RetryMax, 4*time.Second)
	setDefault(&opts.AuthRetryMin, 30*time.Second)
	if opts.UserAgent == "" {
		opts.UserAgent = "Switchboard"
	}

	host, port, err := splitServer(opts.Server, opts.Transport)
	if err != nil {
		return nil, err
	}
	server := net.JoinHostPort(host, strconv.Itoa(port))
	domain := opts.Domain
	if domain == "" {
		domain = host
	}
	codecs, err := mediaCodecs(opts.Codecs)
	if err != nil {
		return nil, err
	}
	u := &UA{
		opts:   opts,
		log:    opts.Logger.With("room", "sip"),
		server: server,
		domain: domain,
		codecs: codecs,
		calls:  make(map[string]*Call),
		reg:    RegStatus{State: RegUnregistered},
	}
	return u, nil
}

func setDefault(d *time.Duration, v time.Duration) {
	if *d <= 0 {
		*d = v
	}
}

func splitServer(s, transport string) (string, int, error) {
	host, portStr, err := net.SplitHostPort(s)
	if err != nil {
		host, portStr = strings.Trim(s, "[]"), ""
	}
	if host == "" || strings.ContainsAny(host, " /@;") {
		return "", 0, fmt.Errorf("PBX address %q is not host[:port]", s)
	}
	port := 5060
	if transport == "tls" {
		port = 5061
	}
	if portStr != "" {
		port, err = strconv.Atoi(portStr)
		if err != nil || port < 1 || port > 65535 {
			return "", 0, fmt.Errorf("PBX address %q: port must be 1-65535", s)
		}
	}
	switch transport {
	case "udp", "tcp", "tls":
	default:
		return "", 0, fmt.Errorf("transport %q: use udp, tcp or tls", transport)
	}
	return host, port, nil
}

// localIPFor finds the local address the OS routes to host from. Binding
// to it (not 0.0.0.0) keeps Switchboard off interfaces the PBX never uses.
func localIPFor(ctx context.Context, host string) (net.IP, error) {
	ips, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return nil, fmt.Errorf("PBX %s: %w: %w", host, ErrUnresolvable, err)
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("PBX %s: %w", host, ErrUnresolvable)
	}
	c, err := net.DialUDP("udp", nil, &net.UDPAddr{IP: ips[0].IP, Port: 9})
	if err != nil {
		return nil, fmt.Errorf("PBX %s: no route: %w: %w", host, ErrUnreachable, err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).IP, nil
}

func (u *UA) tlsConfig(serverName string) (*tls.Config, error) {
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	if u.opts.CAFile != "" {
		pem, err := os.ReadFile(u.opts.CAFile)
		if err != nil {
			return nil, fmt.Errorf("reading pbx.ca_file: %w", err)
		}
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("pbx.ca_file %s holds no PEM certificate", u.opts.CAFile)
		}
	}
	return &tls.Config{RootCAs: roots, ServerName: serverName, MinVersion: tls.VersionTLS12}, nil
}

// Start binds the transport, starts serving incoming requests and the
// registration loop. It returns once the transport listens; registration
// progress arrives through OnRegistration.
func (u *UA) Start(ctx context.Context) error {
	host, _, _ := net.SplitHostPort(u.server)
	var bindIP net.IP
	if u.opts.BindIP != "" {
		bindIP = net.ParseIP(u.opts.BindIP)
		if bindIP == nil {
			return fmt.Errorf("bind address %q is not an IP", u.opts.BindIP)
		}
	} else {
		ip, err := localIPFor(ctx, host)
		if err != nil {
			return err
		}
		bindIP = ip
	}

	uaOpts := []sipgo.UserAgentOption{
		sipgo.WithUserAgent(u.opts.Extension),
		sipgo.WithUserAgentHostname(u.domain),
	}
	port := 0
	if u.opts.Transport != "tls" {
		p, err := freePort(u.opts.Transport, bindIP)
		if err != nil {
			return err
		}
		port = p
	}
	tr := diago.Transport{
		Transport: u.opts.Transport,
		BindHost:  bindIP.String(),
		BindPort:  port,
		// In-dialog requests follow the address the peer really used.
		RewriteContact: true,
	}
	if u.opts.SRTP != "off" {
		tr.MediaSRTP = 1
	}
	if u.opts.Transport == "tls" {
		tc, err := u.tlsConfig(host)
		if err != nil {
			return err
		}
		uaOpts = append(uaOpts, sipgo.WithUserAgenTLSConfig(tc))
		// A softphone has no server certificate: it keeps no TLS listener
		// and takes incoming requests on the connection it opened.
		tr.TLSURINoSIPS = true
	}
	sua, err := sipgo.NewUA(uaOpts...)
	if err != nil {
		return fmt.Errorf("creating SIP user agent: %w", err)
	}
	u.ua = sua
	u.proxyHost = u.server

	// One client for everything, so REGISTER, OPTIONS keepalives and calls
	// leave from the socket the PBX knows us by (NAT bindings stay warm).
	cliOpts := []sipgo.ClientOption{sipgo.WithClientNAT(), sipgo.WithClientLogger(u.log), sipgo.WithClientHostname(bindIP.String())}
	if u.opts.Transport == "udp" {
		cliOpts = append(cliOpts, sipgo.WithClientConnectionAddr(net.JoinHostPort(bindIP.String(), strconv.Itoa(port))))
	}
	if port != 0 {
		cliOpts = append(cliOpts, sipgo.WithClientPort(port))
	}
	cli, err := sipgo.NewClient(sua, cliOpts...)
	if err != nil {
		return fmt.Errorf("creating SIP client: %w", err)
	}
	tx := &requester{ua: sua, onRegister: u.noteRegister}
	if u.opts.Transport == "udp" {
		tx.laddr = &sip.Addr{IP: bindIP, Port: port}
	}
	cli.TxRequester = tx
	u.cli = cli

	u.dg = diago.NewDiago(sua,
		diago.WithClient(cli),
		diago.WithTransport(tr),
		diago.WithLogger(u.log),
		diago.WithMediaConfig(diago.MediaConfig{Codecs: u.codecs}),
		diago.WithServerRequestMiddleware(u.inspect),
	)

	runCtx, cancel := context.WithCancel(context.Background())
	u.cancel = cancel
	u.done = make(chan struct{})
	// The listener outlives the register loop, so the final un-REGISTER
	// is not written on a socket Close already shut.
	serveCtx, stopServe := context.WithCancel(context.Background())

	if u.opts.Transport == "tls" {
		u.dg.HandleFunc(u.serveInvite)
	} else if err := u.dg.ServeBackground(serveCtx, u.serveInvite); err != nil {
		cancel()
		stopServe()
		return fmt.Errorf("listening for SIP on %s: %w", bindIP, err)
	}
	if u.opts.Transport == "udp" {
		if err := waitUDPListener(sua, tx.laddr.String()); err != nil {
			cancel()
			stopServe()
			return err
		}
	}
	go func() {
		defer close(u.done)
		defer stopServe()
		u.registerLoop(runCtx)
	}()
	return nil
}

// Close hangs up every call, unregisters (bounded by ctx) and stops.
func (u *UA) Close(ctx context.Context) error {
	u.mu.Lock()
	calls := make([]*Call, 0, len(u.calls))
	for _, c := range u.calls {
		calls = append(calls, c)
	}
	u.mu.Unlock()
	for _, c := range calls {
		_ = c.Hangup(ctx)
	}
	if u.cancel == nil {
		return nil
	}
	u.cancel()
	select {
	case <-u.done:
	case <-ctx.Done():
	}
	return u.ua.Close()
}

// Registration returns the current registration status.
func (u *UA) Registration() RegStatus {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.reg
}

// AOR is the account's address of record, extension@domain.
func (u *UA) AOR() string { return u.opts.Extension + "@" + u.domain }

func (u *UA) setReg(s RegStatus) {
	s.Since = time.Now()
	u.mu.Lock()
	changed := s.State != u.reg.State || s.Reason != u.reg.Reason || s.Err != nil
	u.reg = s
	u.mu.Unlock()
	if changed && u.opts.OnRegistration != nil {
		u.opts.OnRegistration(s)
	}
}

func (u *UA) emit(e CallEvent) {
	if u.opts.OnCall != nil {
		u.opts.OnCall(e)
	}
}

func (u *UA) addCall(c *Call) {
	u.mu.Lock()
	u.calls[c.ID] = c
	u.mu.Unlock()
}

func (u *UA) removeCall(c *Call) {
	u.mu.Lock()
	delete(u.calls, c.ID)
	u.mu.Unlock()
}

// CallByID finds a live call.
func (u *UA) CallByID(id string) (*Call, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	c, ok := u.calls[id]
	return c, ok
}

func (u *UA) callBySIPID(callID string) *Call {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, c := range u.calls {
		c.mu.Lock()
		id := c.sipCallID
		c.mu.Unlock()
		if id == callID {
			return c
		}
	}
	return nil
}

// inspect watches in-dialog re-INVITEs to learn when the remote party
// puts us on hold: diago applies the new SDP but does not say so.
func (u *UA) inspect(next sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		if req.IsInvite() && req.To() != nil {
			if tag, ok := req.To().Params.Get("tag"); ok && tag != "" {
				if c := u.callBySIPID(req.CallID().Value()); c != nil && len(req.Body()) > 0 {
					c.setRemoteHold(remoteHoldFromSDP(req.Body()))
				}
			}
		}
		next(req, tx)
	}
}

// waitUDPListener returns once sipgo's transport knows our UDP listener.
// diago reports the network ready just before sipgo adds the socket to its
// pool, so a REGISTER sent in that gap would try to bind the same port
// again and fail with "address already in use".
func waitUDPListener(sua *sipgo.UserAgent, laddr string) error {
	deadline := time.Now().Add(2 * time.Second)
	for {
		if _, err := sua.TransportLayer().GetConnection("udp", laddr); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("listening for SIP on %s: the socket did not come up", laddr)
		}
		time.Sleep(time.Millisecond)
	}
}

// freePort picks a free port on ip for network (udp or tcp). The short
// race until the stack binds it is harmless: a clash fails Start loudly.
func freePort(network string, ip net.IP) (int, error) {
	switch network {
	case "udp":
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip})
		if err != nil {
			return 0, fmt.Errorf("no free UDP port on %s: %w", ip, err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port, nil
	default:
		l, err := net.ListenTCP("tcp", &net.TCPAddr{IP: ip})
		if err != nil {
			return 0, fmt.Errorf("no free TCP port on %s: %w", ip, err)
		}
		defer l.Close()
		return l.Addr().(*net.TCPAddr).Port, nil
	}
}

// requester sends every request through sipgo's transaction layer, but
// fixes two things for in-dialog requests (re-INVITE, BYE, ...): they
// leave from our bound UDP socket (sipgo's dialogs skip the client's local
// address, so they would go out of a fresh socket no NAT has seen), and
// they go to the first Route of the dialog's route set, as RFC 3261 12.2.1.1
// says (a cloned request keeps the remote target as its destination, which
// bypasses a record-routing proxy).
type requester struct {
	ua    *sipgo.UserAgent
	laddr *sip.Addr
	// onRegister sees every response to a REGISTER (see regwatch.go).
	onRegister func(*sip.Request, *sip.Response)
}

func (r *requester) Request(ctx context.Context, req *sip.Request) (sip.ClientTransaction, error) {
	if r.laddr != nil && req.Laddr.IP == nil {
		r.laddr.Copy(&req.Laddr)
	}
	// An in-dialog request carries the route set: its first hop wins over
	// any destination copied from the remote target (sip.Request.Clone
	// freezes one before the dialog adds the Route headers).
	if to := req.To(); to != nil && to.Params.Has("tag") {
		if h := req.GetHeader("Route"); h != nil {
			if dest, ok := routeDestination(h.Value()); ok {
				req.SetDestination(dest)
			}
		}
	}
	if req.IsAck() {
		return nil, r.ua.TransportLayer().WriteMsg(req)
	}
	tx, err := r.ua.TransactionLayer().Request(ctx, req)
	if err != nil || req.Method != sip.REGISTER || r.onRegister == nil {
		return tx, err
	}
	return watchRegister(tx, func(res *sip.Response) { r.onRegister(req, res) }), nil
}

// routeDestination is the host:port of the first URI in a Route value.
func routeDestination(v string) (string, bool) {
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, ','); i >= 0 {
		v = v[:i]
	}
	v = strings.TrimSpace(v)
	if strings.HasPrefix(v, "<") {
		end := strings.IndexByte(v, '>')
		if end < 0 {
			return "", false
		}
		v = v[1:end]
	}
	var u sip.Uri
	if err := sip.ParseUri(v, &u); err != nil || u.Host == "" {
		return "", false
	}
	port := u.Port
	if port == 0 {
		port = 5060
		if u.IsEncrypted() {
			port = 5061
		}
	}
	return net.JoinHostPort(u.Host, strconv.Itoa(port)), true
}
