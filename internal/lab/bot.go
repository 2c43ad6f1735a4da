package lab

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// baresip event types emitted over ctrl_tcp by baresip 1.0 (the "type"
// member). With answermode=auto an incoming call emits no CALL_INCOMING:
// it goes straight to CALL_ESTABLISHED once the ACK arrives.
const (
	EventRegisterOK      = "REGISTER_OK"
	EventRegisterFail    = "REGISTER_FAIL"
	EventUnregistering   = "UNREGISTERING"
	EventCallIncoming    = "CALL_INCOMING"
	EventCallOutgoing    = "CALL_OUTGOING"
	EventCallRinging     = "CALL_RINGING"
	EventCallProgress    = "CALL_PROGRESS"
	EventCallEstablished = "CALL_ESTABLISHED"
	EventCallClosed      = "CALL_CLOSED"
	EventCallTransfer    = "CALL_TRANSFER"
	EventCallDTMFStart   = "CALL_DTMF_START"
	EventCallDTMFEnd     = "CALL_DTMF_END"
	EventCallRTPEstab    = "CALL_RTPESTAB"
	EventCallLocalSDP    = "CALL_LOCAL_SDP"
	EventCallRemoteSDP   = "CALL_REMOTE_SDP"
	EventMWINotify       = "MWI_NOTIFY"
	EventExit            = "EXIT"
)

// Event is one ctrl_tcp event of a bot.
type Event struct {
	Type       string `json:"type"`
	Class      string `json:"class"`
	AccountAOR string `json:"accountaor"`
	Direction  string `json:"direction"` // "incoming" or "outgoing"
	PeerURI    string `json:"peeruri"`
	ID         string `json:"id"` // call id (baresip's, not the SIP Call-ID)
	// Param is the event detail: the digit for CALL_DTMF_START, the reason
	// for CALL_CLOSED ("486 Busy Here", "Connection reset by peer", ...),
	// the status for REGISTER_FAIL.
	Param string          `json:"param"`
	Raw   json.RawMessage `json:"-"`
	Time  time.Time       `json:"-"`
}

// BotOptions configures StartBot.
type BotOptions struct {
	// Kamailio, when set, supplies Registrar, Domain, Password and CAFile
	// defaults for Extension.
	Kamailio *Kamailio
	// Extension is the SIP user (required).
	Extension string
	// Password for digest auth; default Kamailio.Password(Extension).
	Password string
	// Domain of the AOR; default Kamailio.Domain() or DefaultDomain.
	Domain string
	// Registrar is the "127.0.0.1:port" the bot sends everything to (its
	// outbound proxy); default Kamailio.Addr(Transport).
	Registrar string
	// Transport to the registrar: "udp" (default), "tcp" or "tls".
	Transport string
	// CAFile verifies the registrar's TLS certificate; default
	// Kamailio.CAFile().
	CAFile string
	// SRTP makes the bot insist on SDES-keyed SRTP (RTP/SAVP) both ways.
	SRTP bool
	// AnswerMode is "auto" (default: answer at once), "early" (183 with
	// early media, answer on Accept) or "manual" (wait for
	// Accept; CALL_INCOMING is emitted).
	AnswerMode string
	// ToneHz is the sine the bot sends in calls; default 800.
	ToneHz float64
	// ToneFile replaces the generated tone: a mono 16-bit WAV at 16 kHz
	// (baresip 1.0's aufile refuses other rates for the configured source).
	ToneFile string
	// Codecs lists audio codecs in preference order, by baresip name:
	// "PCMU", "PCMA", "G722", "opus". Default: PCMU, PCMA.
	Codecs []string
	// NoRegister skips registration (the bot still accepts direct calls on
	// SIPAddr and can dial through the registrar).
	NoRegister bool
	// RegisterInterval is the registration expiry asked for; default 600 s.
	RegisterInterval time.Duration
	// AccountParams are extra ";name=value" account parameters.
	AccountParams string
	// ExtraConfig is appended to baresip's config file.
	ExtraConfig string
	// Dir is the bot's config dir; empty means a temporary directory
	// removed by Close.
	Dir string
	// Binary is the baresip executable; empty means "baresip" on PATH.
	Binary string
	// Logger receives lifecycle messages; nil means slog.Default().
	Logger *slog.Logger
	// OnEvent, if set, is called for every event from the reader goroutine.
	OnEvent func(Event)
}

// Bot is a baresip process driven through ctrl_tcp.
type Bot struct {
	opts      BotOptions
	log       *slog.Logger
	dir       string
	ownDir    bool
	recDir    string
	logPath   string
	ctrlPort  int
	aor       string
	transport string
	p         *proc
	sipAddrs  map[string]string // "udp"/"tcp"/"tls" -> "127.0.0.1:port"

	conn   net.Conn
	wmu    sync.Mutex // one command in flight at a time
	token  atomic.Int64
	respCh chan ctrlResponse

	mu        sync.Mutex
	cond      chan struct{} // closed and replaced on every new event
	events    []Event
	cursor    int
	dtmf      strings.Builder
	readerErr error
	closeOnce sync.Once
}

type ctrlResponse struct {
	OK    bool   `json:"ok"`
	Data  string `json:"data"`
	Token string `json:"token"`
}

// StartBot writes a baresip config into a directory, starts baresip and
// connects to its ctrl_tcp port. Unless NoRegister is set it returns after
// the registration succeeded (or with an error carrying the SIP status).
func StartBot(ctx context.Context, opts BotOptions) (*Bot, error) {
	b := &Bot{opts: opts, log: opts.Logger, cond: make(chan struct{}), respCh: make(chan ctrlResponse, 1)}
	if b.log == nil {
		b.log = slog.Default()
	}
	if err := b.prepare(); err != nil {
		b.removeDir()
		return nil, err
	}
	binary := opts.Binary
	if binary == "" {
		binary = "baresip"
	}
	if _, err := exec.LookPath(binary); err != nil {
		b.removeDir()
		return nil, fmt.Errorf("lab: %s not found (%w); install Debian package baresip-core", binary, err)
	}
	p, err := startProc("baresip "+opts.Extension, b.logPath, b.dir, binary, "-f", b.dir)
	if err != nil {
		b.removeDir()
		return nil, err
	}
	b.p = p
	if err := b.connect(ctx); err != nil {
		b.Close()
		return nil, fmt.Errorf("%w\n--- baresip log (tail) ---\n%s", err, tailFile(b.logPath, 2000))
	}
	if err := b.readTransports(ctx); err != nil {
		b.Close()
		return nil, err
	}
	if !opts.NoRegister {
		if err := b.WaitRegistered(ctx); err != nil {
			b.Close()
			return nil, err
		}
	}
	b.log.Debug("lab: bot started", "aor", b.aor, "ctrl", b.ctrlPort, "dir", b.dir)
	return b, nil
}

func (b *Bot) prepare() error {
	o := &b.opts
	if o.Extension == "" {
		return errors.New("lab: BotOptions.Extension is required")
	}
	b.transport = strings.ToLower(o.Transport)
	if b.transport == "" {
		b.transport = "udp"
	}
	if b.transport != "udp" && b.transport != "tcp" && b.transport != "tls" {
		return fmt.Errorf("lab: bot transport %q: want udp, tcp or tls", o.Transport)
	}
	if k := o.Kamailio; k != nil {
		if o.Password == "" {
			o.Password = k.Password(o.Extension)
		}
		if o.Domain == "" {
			o.Domain = k.Domain()
		}
		if o.Registrar == "" {
			o.Registrar = k.Addr(b.transport)
		}
		if o.CAFile == "" {
			o.CAFile = k.CAFile()
		}
	}
	if o.Domain == "" {
		o.Domain = DefaultDomain
	}
	if o.Registrar == "" && !o.NoRegister {
		return errors.New("lab: BotOptions needs Kamailio or Registrar to register")
	}
	if o.ToneHz == 0 {
		o.ToneHz = 800
	}
	if len(o.Codecs) == 0 {
		o.Codecs = []string{"PCMU", "PCMA"}
	}
	switch o.AnswerMode {
	case "":
		o.AnswerMode = "auto"
	case "auto", "manual", "early":
	default:
		return fmt.Errorf("lab: bot answer mode %q: want auto, manual or early", o.AnswerMode)
	}
	regint := 600
	if o.RegisterInterval > 0 {
		regint = int(o.RegisterInterval.Seconds())
	}
	if o.NoRegister {
		regint = 0
	}

	var err error
	if o.Dir != "" {
		b.dir = o.Dir
		if err := os.MkdirAll(b.dir, 0o755); err != nil {
			return fmt.Errorf("lab: create bot directory: %w", err)
		}
	} else {
		if b.dir, err = os.MkdirTemp("", "labbot-"+sanitize(o.Extension)+"-"); err != nil {
			return fmt.Errorf("lab: create bot directory: %w", err)
		}
		b.ownDir = true
	}
	b.recDir = filepath.Join(b.dir, "rec")
	b.logPath = filepath.Join(b.dir, "baresip.log")
	if err := os.MkdirAll(b.recDir, 0o755); err != nil {
		return fmt.Errorf("lab: create recordings directory: %w", err)
	}
	tone := o.ToneFile
	if tone == "" {
		tone = filepath.Join(b.dir, "tone.wav")
		// Two minutes, because aufile plays the file once and then sends
		// nothing.
		if err := WriteToneWAV(tone, o.ToneHz, botSourceRate, 2*time.Minute, 0.5); err != nil {
			return err
		}
	}
	if b.ctrlPort, err = FreePort("tcp"); err != nil {
		return err
	}
	b.aor = fmt.Sprintf("sip:%s@%s", o.Extension, o.Domain)

	acct := fmt.Sprintf("<%s>;auth_pass=%s;answermode=%s;regint=%d;audio_codecs=%s",
		b.aor, o.Password, o.AnswerMode, regint, codecList(o.Codecs))
	if o.SRTP {
		acct += ";mediaenc=srtp-mand"
	}
	if !strings.Contains(o.AccountParams, "mwi=") {
		// The mwi module is not loaded by default; say so to the account too.
		acct += ";mwi=no"
	}
	if o.Registrar != "" {
		ob := "sip:" + o.Registrar
		if b.transport != "udp" {
			ob += ";transport=" + b.transport
		}
		acct += fmt.Sprintf(";outbound=\"%s\"", ob)
	}
	acct += o.AccountParams
	if err := os.WriteFile(filepath.Join(b.dir, "accounts"), []byte(acct+"\n"), 0o600); err != nil {
		return fmt.Errorf("lab: write baresip accounts: %w", err)
	}
	cfg := b.config(tone)
	if err := os.WriteFile(filepath.Join(b.dir, "config"), []byte(cfg), 0o644); err != nil {
		return fmt.Errorf("lab: write baresip config: %w", err)
	}
	// baresip creates a contacts file and asks nothing if one exists.
	if err := os.WriteFile(filepath.Join(b.dir, "contacts"), nil, 0o644); err != nil {
		return fmt.Errorf("lab: write baresip contacts: %w", err)
	}
	return nil
}

// codecList turns codec names into baresip's "name/rate/channels" specs:
// baresip 1.0 assumes 8000/1 when they are left out and then silently
// drops G722 (16000) and opus (48000/2), falling back to all codecs.
func codecList(names []string) string {
	specs := map[string]string{
		"pcmu": "PCMU/8000/1", "pcma": "PCMA/8000/1",
		"g722": "G722/16000/1", "opus": "opus/48000/2",
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		if s, ok := specs[strings.ToLower(n)]; ok && !strings.Contains(n, "/") {
			n = s
		}
		out = append(out, n)
	}
	return strings.Join(out, ",")
}

// botSourceRate is the rate of the tone file and of baresip's audio source
// (ausrc_srate): baresip 1.0 resamples from 16 kHz to every codec's rate
// (8k for G.711, 16k for G.722, 48k for Opus), while aufile alone would
// refuse a file whose rate differs from the codec's.
const botSourceRate = 16000

func (b *Bot) config(tone string) string {
	var c strings.Builder
	w := func(k, v string) { fmt.Fprintf(&c, "%-22s %s\n", k, v) }
	w("poll_method", "epoll")
	// Port 0: baresip picks free ports per transport, so bots never clash.
	w("sip_listen", "127.0.0.1:0")
	if b.opts.CAFile != "" {
		w("sip_cafile", b.opts.CAFile)
	}
	w("call_local_timeout", "120")
	w("call_max_calls", "4")
	// No sound card: play into an aubridge device nothing reads. (ALSA's
	// null PCM has no clock, so a player on it spins a whole core per
	// call.) sndfile records what is decoded before it reaches the player.
	w("audio_player", "aubridge,sink-"+b.opts.Extension)
	w("audio_alert", "aubridge,alert-"+b.opts.Extension)
	w("audio_source", "aufile,"+tone)
	w("ausrc_srate", strconv.Itoa(botSourceRate))
	w("ausrc_channels", "1")
	w("audio_level", "no")
	w("audio_buffer", "20-160")
	w("rtcp_mux", "no")
	w("jitter_buffer_delay", "5-10")
	w("rtp_stats", "no")
	// Without it the SDP carries the host's non-loopback address.
	w("net_interface", "127.0.0.1")
	w("module_path", "/usr/lib/baresip/modules")
	for _, m := range []string{"g711.so", "g722.so", "opus.so", "sndfile.so", "aubridge.so", "aufile.so", "srtp.so"} {
		w("module", m)
	}
	w("module_tmp", "account.so")
	w("module_app", "ctrl_tcp.so")
	w("module_app", "menu.so")
	w("module_app", "debug_cmd.so") // uastat, for the registration status
	w("ctrl_tcp_listen", fmt.Sprintf("127.0.0.1:%d", b.ctrlPort))
	w("snd_path", b.recDir)
	c.WriteString(b.opts.ExtraConfig)
	c.WriteString("\n")
	return c.String()
}

func (b *Bot) connect(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	addr := fmt.Sprintf("127.0.0.1:%d", b.ctrlPort)
	var d net.Dialer
	for {
		if b.p.exited() {
			return fmt.Errorf("lab: baresip exited during start-up (%v); see %s", b.p.err, b.logPath)
		}
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			b.conn = c
			go b.readLoop(bufio.NewReader(c))
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("lab: baresip ctrl_tcp on %s: %w", addr, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (b *Bot) readLoop(r *bufio.Reader) {
	for {
		msg, err := readNetstring(r)
		if err != nil {
			b.mu.Lock()
			b.readerErr = err
			b.notifyLocked()
			b.mu.Unlock()
			return
		}
		var head struct {
			Event    bool `json:"event"`
			Response bool `json:"response"`
		}
		if json.Unmarshal(msg, &head) != nil {
			b.log.Warn("lab: bad ctrl_tcp message", "ext", b.opts.Extension, "msg", string(msg))
			continue
		}
		switch {
		case head.Response:
			var resp ctrlResponse
			if err := json.Unmarshal(msg, &resp); err == nil {
				select {
				case b.respCh <- resp:
				default: // nobody waits (command timed out)
				}
			}
		case head.Event:
			var ev Event
			if err := json.Unmarshal(msg, &ev); err != nil {
				continue
			}
			ev.Raw = append(json.RawMessage(nil), msg...)
			ev.Time = time.Now()
			b.mu.Lock()
			b.events = append(b.events, ev)
			if ev.Type == EventCallDTMFStart {
				b.dtmf.WriteString(ev.Param)
			}
			b.notifyLocked()
			b.mu.Unlock()
			if b.opts.OnEvent != nil {
				b.opts.OnEvent(ev)
			}
		}
	}
}

func (b *Bot) notifyLocked() {
	close(b.cond)
	b.cond = make(chan struct{})
}

// Command runs a ctrl_tcp command (a menu command without the slash, e.g.
// "dial", "accept", "hangup", "hold", "resume", "sndcode", "transfer",
// "listcalls", "reginfo", "uastat") and returns its text output.
func (b *Bot) Command(ctx context.Context, command, params string) (string, error) {
	b.wmu.Lock()
	defer b.wmu.Unlock()
	// Drop a late answer to an earlier command that timed out.
	select {
	case <-b.respCh:
	default:
	}
	tok := strconv.FormatInt(b.token.Add(1), 10)
	req := map[string]string{"command": command, "token": tok}
	if params != "" {
		req["params"] = params
	}
	body, _ := json.Marshal(req)
	if dl, ok := ctx.Deadline(); ok {
		_ = b.conn.SetWriteDeadline(dl)
	} else {
		_ = b.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	}
	if err := writeNetstring(b.conn, body); err != nil {
		return "", fmt.Errorf("lab: bot %s: send %s: %w", b.opts.Extension, command, err)
	}
	timer := time.NewTimer(10 * time.Second)
	defer timer.Stop()
	for {
		select {
		case resp := <-b.respCh:
			if resp.Token != "" && resp.Token != tok {
				continue
			}
			if !resp.OK {
				return resp.Data, fmt.Errorf("lab: bot %s: %s %s failed: %s", b.opts.Extension, command, params, strings.TrimSpace(resp.Data))
			}
			return resp.Data, nil
		case <-ctx.Done():
			return "", fmt.Errorf("lab: bot %s: %s: %w", b.opts.Extension, command, ctx.Err())
		case <-timer.C:
			return "", fmt.Errorf("lab: bot %s: no answer to %s within 10s", b.opts.Extension, command)
		case <-b.p.done:
			return "", fmt.Errorf("lab: bot %s: baresip exited (%v)", b.opts.Extension, b.p.err)
		}
	}
}

// Dial calls uri (e.g. k.URI("1002") or "sip:1002@127.0.0.1:5070").
func (b *Bot) Dial(ctx context.Context, uri string) error {
	_, err := b.Command(ctx, "dial", uri)
	return err
}

// Accept answers the ringing incoming call (AnswerMode "manual").
func (b *Bot) Accept(ctx context.Context) error {
	_, err := b.Command(ctx, "accept", "")
	return err
}

// Hangup ends (or rejects, or cancels) the current call.
func (b *Bot) Hangup(ctx context.Context) error {
	_, err := b.Command(ctx, "hangup", "")
	return err
}

// Hold puts the current call on hold (re-INVITE with a=sendonly).
func (b *Bot) Hold(ctx context.Context) error {
	_, err := b.Command(ctx, "hold", "")
	return err
}

// Resume takes the current call off hold.
func (b *Bot) Resume(ctx context.Context) error {
	_, err := b.Command(ctx, "resume", "")
	return err
}

// Transfer sends a blind REFER for the current call to uri.
func (b *Bot) Transfer(ctx context.Context, uri string) error {
	_, err := b.Command(ctx, "transfer", uri)
	return err
}

// SendDTMF sends digits (0-9, *, #, A-D) in the current call as RFC 4733
// telephone-events.
func (b *Bot) SendDTMF(ctx context.Context, digits string) error {
	_, err := b.Command(ctx, "sndcode", digits)
	return err
}

var transportRE = regexp.MustCompile(`(?m)^\s*(\S+:\d+) \((UDP|TCP|TLS)\)`)

// readTransports learns the SIP ports baresip bound (sip_listen port 0)
// from "sipstat".
func (b *Bot) readTransports(ctx context.Context) error {
	out, err := b.Command(ctx, "sipstat", "")
	if err != nil {
		return err
	}
	b.sipAddrs = map[string]string{}
	for _, m := range transportRE.FindAllStringSubmatch(out, -1) {
		b.sipAddrs[strings.ToLower(m[2])] = m[1]
	}
	if b.sipAddrs["udp"] == "" {
		return fmt.Errorf("lab: bot %s: no UDP transport in sipstat output %q", b.opts.Extension, out)
	}
	return nil
}

// SIPAddr returns the "127.0.0.1:port" where the bot takes SIP directly
// over transport "udp" (default), "tcp" or "tls", e.g. as a sipp target or
// for calls that bypass Kamailio.
func (b *Bot) SIPAddr(transport string) string {
	if transport == "" {
		transport = "udp"
	}
	return b.sipAddrs[strings.ToLower(transport)]
}

// SIPURI returns a URI that reaches the bot directly over UDP.
func (b *Bot) SIPURI() string {
	return fmt.Sprintf("sip:%s@%s", b.opts.Extension, b.SIPAddr("udp"))
}

var scodeRE = regexp.MustCompile(`scode:\s+(\d+)`)

// RegisterStatus returns the SIP status of the last registration attempt
// (0 while none has completed), from baresip's "uastat".
func (b *Bot) RegisterStatus(ctx context.Context) (int, error) {
	out, err := b.Command(ctx, "uastat", "")
	if err != nil {
		return 0, err
	}
	m := scodeRE.FindStringSubmatch(out)
	if m == nil {
		return 0, nil
	}
	return strconv.Atoi(m[1])
}

// WaitRegistered waits until the registration succeeded. It polls the
// status rather than waiting for REGISTER_OK because the first
// registration may finish before the control connection exists.
func (b *Bot) WaitRegistered(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	for {
		code, err := b.RegisterStatus(ctx)
		if err != nil {
			return err
		}
		switch {
		case code >= 200 && code < 300:
			return nil
		case code >= 300:
			return &RegisterError{Extension: b.opts.Extension, Status: code}
		}
		select {
		case <-ctx.Done():
			if code != 0 {
				return &RegisterError{Extension: b.opts.Extension, Status: code}
			}
			return fmt.Errorf("lab: bot %s did not register: %w", b.opts.Extension, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// RegisterError is a failed bot registration.
type RegisterError struct {
	Extension string
	Status    int
}

func (e *RegisterError) Error() string {
	return fmt.Sprintf("lab: bot %s registration failed with SIP %d", e.Extension, e.Status)
}

// WaitEvent returns the next event of one of types (any type if none is
// given) after the last event WaitEvent returned. Events are kept from
// the bot's start, so an event that arrived before the call is not missed;
// events skipped over are not returned later.
func (b *Bot) WaitEvent(ctx context.Context, types ...string) (Event, error) {
	for {
		b.mu.Lock()
		for i := b.cursor; i < len(b.events); i++ {
			ev := b.events[i]
			if len(types) == 0 || contains(types, ev.Type) {
				b.cursor = i + 1
				b.mu.Unlock()
				return ev, nil
			}
		}
		ch, rerr := b.cond, b.readerErr
		b.mu.Unlock()
		if rerr != nil {
			return Event{}, fmt.Errorf("lab: bot %s: waiting for %v: control connection closed: %w", b.opts.Extension, types, rerr)
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return Event{}, fmt.Errorf("lab: bot %s: waiting for %v: %w (events so far: %s)", b.opts.Extension, types, ctx.Err(), b.eventTypes())
		}
	}
}

func (b *Bot) eventTypes() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var s []string
	for _, ev := range b.events {
		if ev.Type == "CALL_RTCP" {
			continue
		}
		s = append(s, ev.Type)
	}
	return strings.Join(s, ",")
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Events returns a copy of every event received so far.
func (b *Bot) Events() []Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Event(nil), b.events...)
}

// ReceivedDTMF returns the digits received so far (RFC 4733 events the bot
// decoded, in order, across calls).
func (b *Bot) ReceivedDTMF() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.dtmf.String()
}

// WaitDTMF waits until the received digits contain digits.
func (b *Bot) WaitDTMF(ctx context.Context, digits string) error {
	for {
		b.mu.Lock()
		got, ch := b.dtmf.String(), b.cond
		b.mu.Unlock()
		if strings.Contains(got, digits) {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("lab: bot %s: DTMF %q not received (got %q): %w", b.opts.Extension, digits, got, ctx.Err())
		}
	}
}

// Recordings returns the WAV files sndfile wrote, oldest first:
// "dump-<start time>-dec.wav" holds what the bot heard, "-enc.wav" what it
// sent. A file's header is completed when its call ends (ReadWAV copes
// with files of calls still running). Two calls starting in the same
// second on one bot share a name and the later overwrites the earlier.
func (b *Bot) Recordings() []string {
	m, _ := filepath.Glob(filepath.Join(b.recDir, "*.wav"))
	sort.Strings(m)
	return m
}

// LastDecoded returns the newest "-dec.wav" recording (what the bot heard
// in its latest call), or "" if there is none.
func (b *Bot) LastDecoded() string { return b.last("-dec.wav") }

// LastEncoded returns the newest "-enc.wav" recording (what it sent).
func (b *Bot) LastEncoded() string { return b.last("-enc.wav") }

func (b *Bot) last(suffix string) string {
	recs := b.Recordings()
	for i := len(recs) - 1; i >= 0; i-- {
		if strings.HasSuffix(recs[i], suffix) {
			return recs[i]
		}
	}
	return ""
}

// WaitHeard waits until the bot's latest decoded recording holds at least
// d of received audio and returns its path. Use it instead of sleeping
// before hanging up: on a loaded machine media can start late.
func (b *Bot) WaitHeard(ctx context.Context, d time.Duration) (string, error) {
	var got time.Duration
	for {
		if path := b.LastDecoded(); path != "" {
			if s, rate, err := ReadWAV(path); err == nil && rate > 0 {
				got = time.Duration(len(s)) * time.Second / time.Duration(rate)
				if got >= d {
					return path, nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("lab: bot %s heard %v of audio, want %v: %w", b.opts.Extension, got, d, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// RecordingsDir is where sndfile writes.
func (b *Bot) RecordingsDir() string { return b.recDir }

// AOR returns the bot's address-of-record, "sip:ext@domain".
func (b *Bot) AOR() string { return b.aor }

// Extension returns the bot's SIP user.
func (b *Bot) Extension() string { return b.opts.Extension }

// ToneHz returns the frequency the bot sends.
func (b *Bot) ToneHz() float64 { return b.opts.ToneHz }

// Log returns the path of baresip's output.
func (b *Bot) Log() string { return b.logPath }

// Dir returns the bot's config directory.
func (b *Bot) Dir() string { return b.dir }

// Quit asks baresip to unregister and exit, and waits for it (killing it
// after a few seconds).
func (b *Bot) Quit(ctx context.Context) error {
	if b.p == nil || b.p.exited() {
		return nil
	}
	if b.conn != nil {
		qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, _ = b.Command(qctx, "quit", "")
		cancel()
	}
	select {
	case <-b.p.done:
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
	}
	b.p.stop(syscall.SIGTERM, 2*time.Second)
	return nil
}

// Close stops baresip (without waiting for it to unregister) and removes
// its directory if the lab created it. Recordings go with it: copy them
// first if they must outlive the bot.
func (b *Bot) Close() error {
	b.closeOnce.Do(func() {
		if b.p != nil {
			b.p.stop(syscall.SIGTERM, 3*time.Second)
		}
		if b.conn != nil {
			b.conn.Close()
		}
	})
	return b.removeDir()
}

func (b *Bot) removeDir() error {
	if b.ownDir && b.dir != "" {
		return os.RemoveAll(b.dir)
	}
	return nil
}
