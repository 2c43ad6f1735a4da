package sip

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/media"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// Direction of a call.
type Direction string

const (
	Inbound  Direction = "inbound"
	Outbound Direction = "outbound"
)

// CallEventKind names what happened to a call.
type CallEventKind string

const (
	EvIncoming     CallEventKind = "incoming"      // inbound, ringing here
	EvRinging      CallEventKind = "ringing"       // outbound, callee alerting (no early media)
	EvEarlyMedia   CallEventKind = "early-media"   // outbound, 183 with SDP
	EvAnswered     CallEventKind = "answered"      // media is up: Call.Media is set
	EvMediaChanged CallEventKind = "media-changed" // re-INVITE changed the codec or address
	EvRemoteHold   CallEventKind = "remote-hold"
	EvRemoteResume CallEventKind = "remote-resume"
	EvEnded        CallEventKind = "ended"
)

// EndCause says why a call ended, in words an agent understands.
type EndCause string

const (
	CauseLocalHangup  EndCause = "local-hangup"
	CauseRemoteHangup EndCause = "remote-hangup"
	CauseCancelled    EndCause = "cancelled"    // we gave up before answer
	CauseMissed       EndCause = "missed"       // caller gave up before we answered
	CauseDeclined     EndCause = "declined"     // we or the callee declined
	CauseBusy         EndCause = "busy"         // 486/600
	CauseNotFound     EndCause = "not-found"    // 404/484/604
	CauseUnavailable  EndCause = "unavailable"  // 480/408: no answer, offline
	CauseAuthFailed   EndCause = "auth-failed"  // 401/403/407 on INVITE
	CauseUnreachable  EndCause = "unreachable"  // transport failure, timeout
	CauseIncompatible EndCause = "incompatible" // 488/606: no common codec
	CauseFailed       EndCause = "failed"
)

// CallEvent is one change in a call's life.
type CallEvent struct {
	Call   *Call
	Kind   CallEventKind
	Cause  EndCause // set on EvEnded
	Code   int      // SIP status behind the cause, when there is one
	Reason string   // human text for the cause
}

// Call is one SIP call, inbound or outbound.
type Call struct {
	ID         string
	Direction  Direction
	RemoteUser string // number or SIP user of the other party
	RemoteName string // display name, when given
	Created    time.Time

	ua        *UA
	sipCallID string

	mu         sync.Mutex
	server     *diago.DialogServerSession
	client     *diago.DialogClientSession
	med        *diago.DialogMedia
	port       *Media
	answered   bool
	ended      bool
	held       bool
	remoteHold bool
	endCause   EndCause
	cancelDial context.CancelFunc
	decision   chan int // inbound: 200 to answer, 4xx/6xx to decline
}

func newCallID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Media returns the call's RTP port once answered (nil before).
func (c *Call) Media() *Media {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.port
}

// Held reports whether we hold the call.
func (c *Call) Held() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.held
}

// RemoteHeld reports whether the other party holds the call.
func (c *Call) RemoteHeld() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.remoteHold
}

func (c *Call) setRemoteHold(on bool) {
	c.mu.Lock()
	changed := c.remoteHold != on && c.answered && !c.ended
	c.remoteHold = on
	c.mu.Unlock()
	if !changed {
		return
	}
	kind := EvRemoteResume
	if on {
		kind = EvRemoteHold
	}
	c.ua.emit(CallEvent{Call: c, Kind: kind})
}

// Dial places an outbound call to target (a number, a SIP user or a full
// sip: URI). It returns at once; progress arrives as call events.
func (u *UA) Dial(ctx context.Context, target string) (*Call, error) {
	if u.dg == nil {
		return nil, errors.New("phone not started")
	}
	uri, user, err := u.targetURI(target)
	if err != nil {
		return nil, err
	}
	dialog, err := u.dg.NewDialog(uri, diago.NewDialogOptions{Transport: u.opts.Transport})
	if err != nil {
		return nil, fmt.Errorf("creating call: %w", err)
	}
	dialog.InviteRequest.SetDestination(u.proxyHost)
	c := &Call{
		ID:         newCallID(),
		Direction:  Outbound,
		RemoteUser: user,
		Created:    time.Now(),
		ua:         u,
		client:     dialog,
	}
	dctx, cancel := context.WithCancel(context.Background())
	c.cancelDial = cancel
	u.addCall(c)
	go c.runOutbound(dctx)
	return c, nil
}

// targetURI turns what an agent typed into a request URI on our domain.
func (u *UA) targetURI(target string) (sip.Uri, string, error) {
	t := strings.TrimSpace(target)
	if t == "" {
		return sip.Uri{}, "", errors.New("no number to call")
	}
	lower := strings.ToLower(t)
	if strings.HasPrefix(lower, "sip:") || strings.HasPrefix(lower, "sips:") {
		var uri sip.Uri
		if err := sip.ParseUri(t, &uri); err != nil {
			return sip.Uri{}, "", fmt.Errorf("%q is not a SIP address: %w", target, err)
		}
		if uri.User == "" {
			return sip.Uri{}, "", fmt.Errorf("%q has no user part to call", target)
		}
		return uri, uri.User, nil
	}
	user := DialString(t)
	if user == "" {
		return sip.Uri{}, "", fmt.Errorf("%q has no digits or user name to call", target)
	}
	return sip.Uri{Scheme: "sip", User: user, Host: u.domain}, user, nil
}

// DialString keeps what a PBX dial plan understands from typed or pasted
// text: digits, a leading +, * and #, or a plain SIP user name. Spaces,
// dashes, dots and brackets are dropped.
func DialString(s string) string {
	s = strings.TrimSpace(s)
	var b strings.Builder
	digits := true
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9', r == '*', r == '#':
			b.WriteRune(r)
		case r == '+' && b.Len() == 0:
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')' || r == '/' || r == '\u00a0':
		default:
			digits = false
		}
	}
	if digits {
		return b.String()
	}
	// A user name (e.g. "alice"): keep it if it is a legal SIP user.
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.!~*'()&=+$,;?/", r)) {
			return ""
		}
	}
	return s
}

func (c *Call) runOutbound(ctx context.Context) {
	u := c.ua
	ringing := false
	onResponse := func(res *sip.Response) error {
		// 183 with SDP is early media (announcements, the PBX's own
		// ringback): reported as such below, not as plain ringing.
		early := res.StatusCode == 183 && len(res.Body()) > 0
		if (res.StatusCode == 180 || res.StatusCode == 183) && !early && !ringing {
			ringing = true
			c.ua.emit(CallEvent{Call: c, Kind: EvRinging, Code: res.StatusCode})
		}
		return nil
	}
	med, err := c.client.Invite(ctx, diago.InviteClientOptions{
		Username:         u.opts.AuthID,
		Password:         u.opts.Password,
		OnResponse:       onResponse,
		OnMediaUpdate:    func(*diago.DialogMedia) { c.mediaChanged() },
		EarlyMediaDetect: true,
	})
	if errors.Is(err, diago.ErrClientEarlyMedia) {
		c.mu.Lock()
		c.med = med
		c.port = newMedia(med, c.ua.opts.Logger)
		// Early media is heard, not answered: nothing is sent until the
		// 200, which also keeps our writes away from diago applying it.
		c.port.sendOff.Store(true)
		c.mu.Unlock()
		u.emit(CallEvent{Call: c, Kind: EvEarlyMedia, Code: 183})
		err = c.client.WaitAnswer(ctx, med, sipgo.AnswerOptions{
			Username: u.opts.AuthID, Password: u.opts.Password, OnResponse: onResponse,
		})
	}
	if err == nil {
		err = c.client.Ack(ctx)
	}
	if err != nil {
		cause, code, reason := outboundCause(ctx, err)
		c.finish(cause, code, reason)
		_ = c.client.Close()
		return
	}
	c.mu.Lock()
	c.med = med
	c.answered = true
	if c.port == nil {
		c.port = newMedia(med, c.ua.opts.Logger)
	} else {
		c.port.refreshCodec()
		c.port.sendOff.Store(false)
	}
	if h := c.client.InviteRequest.CallID(); h != nil {
		c.sipCallID = h.Value()
	}
	cancelled := c.ended
	c.mu.Unlock()
	if cancelled {
		_ = c.client.Hangup(context.Background())
		return
	}
	u.emit(CallEvent{Call: c, Kind: EvAnswered, Code: 200})
	<-c.client.Context().Done()
	c.finish(CauseRemoteHangup, 0, "")
	_ = c.client.Close()
}

// outboundCause maps a failed INVITE to a cause.
func outboundCause(ctx context.Context, err error) (EndCause, int, string) {
	if ctx.Err() != nil {
		return CauseCancelled, 487, "cancelled"
	}
	var de *sipgo.ErrDialogResponse
	if errors.As(err, &de) && de.Res != nil {
		code := de.Res.StatusCode
		return causeForStatus(code), code, de.Res.Reason
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, sip.ErrTransactionTimeout) || errors.Is(err, context.DeadlineExceeded) {
		return CauseUnreachable, 0, "PBX did not answer"
	}
	if strings.Contains(err.Error(), "codec") || strings.Contains(err.Error(), "sdp") || strings.Contains(err.Error(), "SDP") {
		return CauseIncompatible, 0, "no common codec"
	}
	return CauseFailed, 0, err.Error()
}

func causeForStatus(code int) EndCause {
	switch code {
	case 486, 600:
		return CauseBusy
	case 404, 484, 604, 410:
		return CauseNotFound
	case 603:
		return CauseDeclined
	case 480, 408, 487:
		return CauseUnavailable
	case 401, 403, 407:
		return CauseAuthFailed
	case 488, 606, 415:
		return CauseIncompatible
	case 503, 502, 504:
		return CauseUnreachable
	}
	return CauseFailed
}

func (c *Call) mediaChanged() {
	c.mu.Lock()
	p := c.port
	c.mu.Unlock()
	if p != nil {
		p.refreshCodec()
	}
	c.ua.emit(CallEvent{Call: c, Kind: EvMediaChanged})
}

// finish records the end once and tells the observer.
func (c *Call) finish(cause EndCause, code int, reason string) {
	c.mu.Lock()
	if c.ended && c.endCause != "" {
		c.mu.Unlock()
		return
	}
	if c.endCause != "" {
		cause = c.endCause // a local action decided it first
	}
	c.ended = true
	c.endCause = cause
	p := c.port
	c.mu.Unlock()
	if p != nil {
		p.close()
	}
	c.ua.removeCall(c)
	if reason == "" {
		reason = string(cause)
	}
	c.ua.emit(CallEvent{Call: c, Kind: EvEnded, Cause: cause, Code: code, Reason: reason})
}

// Hangup ends the call: CANCEL before answer, BYE after, or a decline
// (486) for an unanswered inbound call.
func (c *Call) Hangup(ctx context.Context) error {
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return nil
	}
	answered := c.answered
	if !answered && c.Direction == Inbound {
		c.mu.Unlock()
		return c.Decline(ctx, false)
	}
	if c.endCause == "" {
		if answered {
			c.endCause = CauseLocalHangup
		} else {
			c.endCause = CauseCancelled
		}
	}
	c.mu.Unlock()
	if !answered {
		c.cancelDial() // diago sends CANCEL
		return nil
	}
	var err error
	if c.client != nil {
		err = c.client.Hangup(ctx)
	} else {
		err = c.server.Hangup(ctx)
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("hanging up: %w", err)
	}
	return nil
}

// Answer takes an inbound call.
func (c *Call) Answer(ctx context.Context) error {
	return c.decide(ctx, 200)
}

// Decline refuses an inbound call: 486 Busy Here, or 603 Decline when
// reject is true (the caller's PBX then skips voicemail rules for busy).
func (c *Call) Decline(ctx context.Context, reject bool) error {
	code := 486
	if reject {
		code = 603
	}
	return c.decide(ctx, code)
}

func (c *Call) decide(ctx context.Context, code int) error {
	if c.Direction != Inbound {
		return errors.New("only an incoming call can be answered or declined")
	}
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return errors.New("the call has already ended")
	}
	if c.answered {
		c.mu.Unlock()
		return errors.New("the call is already answered")
	}
	ch := c.decision
	c.mu.Unlock()
	select {
	case ch <- code:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	default:
		return errors.New("the call is already being answered or declined")
	}
}

// Hold puts the remote party on hold (re-INVITE sendonly).
func (c *Call) Hold(ctx context.Context) error { return c.setHold(ctx, true) }

// Resume takes the call off hold.
func (c *Call) Resume(ctx context.Context) error { return c.setHold(ctx, false) }

func (c *Call) setHold(ctx context.Context, on bool) error {
	c.mu.Lock()
	if !c.answered || c.ended {
		c.mu.Unlock()
		return errors.New("only an answered call can be held or resumed")
	}
	if c.held == on {
		c.mu.Unlock()
		return nil
	}
	c.mu.Unlock()
	var err error
	switch {
	case c.client != nil && on:
		err = c.client.Hold(ctx)
	case c.client != nil:
		err = c.client.Unhold(ctx)
	case on:
		err = c.server.Hold(ctx)
	default:
		err = c.server.Unhold(ctx)
	}
	if err != nil {
		return fmt.Errorf("re-INVITE for hold/resume failed: %w", err)
	}
	c.mu.Lock()
	c.held = on
	c.mu.Unlock()
	return nil
}

// serveInvite handles one new inbound INVITE, for the call's whole life:
// diago ends the dialog when this returns.
func (u *UA) serveInvite(d *diago.DialogServerSession) {
	req := d.InviteRequest
	if err := u.checkOffer(req.Body()); err != nil {
		u.log.Info("refusing call", "reason", err)
		_ = d.Respond(488, "Not Acceptable Here", nil, sip.NewHeader("Warning", `399 switchboard "`+sanitizeWarning(err.Error())+`"`))
		return
	}
	c := &Call{
		ID:        newCallID(),
		Direction: Inbound,
		Created:   time.Now(),
		ua:        u,
		server:    d,
		decision:  make(chan int, 1),
	}
	if from := req.From(); from != nil {
		c.RemoteUser = from.Address.User
		c.RemoteName = strings.Trim(from.DisplayName, `"`)
	}
	if h := req.CallID(); h != nil {
		c.sipCallID = h.Value()
	}
	if err := d.Ringing(); err != nil {
		u.log.Warn("sending 180 failed", "error", err)
		return
	}
	u.addCall(c)
	u.emit(CallEvent{Call: c, Kind: EvIncoming})

	var code int
	select {
	case code = <-c.decision:
	case <-d.Context().Done():
		c.finish(CauseMissed, 487, "caller hung up before answer")
		return
	}
	if code != 200 {
		c.mu.Lock()
		c.endCause = CauseDeclined
		c.mu.Unlock()
		reason := "Busy Here"
		if code == 603 {
			reason = "Decline"
		}
		_ = d.Respond(code, reason, nil)
		c.finish(CauseDeclined, code, "declined")
		return
	}
	med, err := d.Answer(diago.AnswerOptions{
		OnMediaUpdate: func(*diago.DialogMedia) { c.mediaChanged() },
	})
	if err != nil {
		u.log.Warn("answering failed", "error", err)
		if d.Context().Err() != nil {
			c.finish(CauseMissed, 487, "caller hung up before answer")
			return
		}
		_ = d.Respond(488, "Not Acceptable Here", nil)
		c.finish(CauseIncompatible, 488, err.Error())
		return
	}
	c.mu.Lock()
	c.med = med
	c.answered = true
	c.port = newMedia(med, u.opts.Logger)
	c.mu.Unlock()
	u.emit(CallEvent{Call: c, Kind: EvAnswered, Code: 200})
	<-d.Context().Done()
	c.finish(CauseRemoteHangup, 0, "")
}

func sanitizeWarning(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == '"' || r == '\\' || r > 0x7e {
			return ' '
		}
		return r
	}, s)
	if len(s) > 120 {
		s = s[:120]
	}
	return s
}

// Media is a call's RTP port: what the audio pipeline reads from and
// writes to. It also tells the negotiated codec and RTCP figures.
type Media struct {
	med  *diago.DialogMedia
	ssrc uint32
	log  interface{ Warn(string, ...any) }

	mu     sync.Mutex
	seq    uint16
	codec  media.Codec
	dtmfPT uint8
	rttMs  float64
	closed bool

	cur      *Port
	pumpOnce sync.Once
	sendOff  atomic.Bool   // early media: receive only
	stopped  chan struct{} // closed when the pump ends
}

func newMedia(med *diago.DialogMedia, log interface{ Warn(string, ...any) }) *Media {
	var b [6]byte
	_, _ = rand.Read(b[:])
	m := &Media{
		med:  med,
		ssrc: binary.BigEndian.Uint32(b[:4]),
		seq:  binary.BigEndian.Uint16(b[4:]),
		log:  log,

		stopped: make(chan struct{}),
	}
	m.refreshCodec()
	if rs := med.RTPSession(); rs != nil {
		rs.OnReadRTCP(func(pkt rtcp.Packet, _ media.RTPReadStats) { m.onRTCP(pkt) })
	}
	return m
}

func (m *Media) refreshCodec() {
	sess := m.med.MediaSession()
	if sess == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.codec = media.CodecAudioFromSession(sess)
	m.dtmfPT = 0
	for _, c := range sess.CommonCodecs() {
		if c.Matches(media.CodecTelephoneEvent8000) {
			m.dtmfPT = c.PayloadType
		}
	}
}

// onRTCP derives the round-trip time from a receiver report's LSR/DLSR.
func (m *Media) onRTCP(pkt rtcp.Packet) {
	var reports []rtcp.ReceptionReport
	switch p := pkt.(type) {
	case *rtcp.ReceiverReport:
		reports = p.Reports
	case *rtcp.SenderReport:
		reports = p.Reports
	}
	for _, r := range reports {
		if r.LastSenderReport == 0 {
			continue
		}
		now := ntpMiddle(time.Now())
		rtt := now - r.LastSenderReport - r.Delay
		if int32(rtt) < 0 {
			continue
		}
		m.mu.Lock()
		m.rttMs = float64(rtt) / 65536 * 1000
		m.mu.Unlock()
	}
}

func ntpMiddle(t time.Time) uint32 {
	const ntpEpochOffset = 2208988800
	secs := uint64(t.Unix()) + ntpEpochOffset
	frac := uint64(t.Nanosecond()) * (1 << 32) / 1e9
	return uint32((secs<<32|frac)>>16) & 0xffffffff
}

// Codec is the negotiated audio codec: lower-case name, payload type and
// RTP clock rate.
func (m *Media) Codec() (name string, payloadType uint8, clockRate uint32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return strings.ToLower(m.codec.Name), m.codec.PayloadType, m.codec.SampleRate
}

// DTMFPayloadType is the negotiated telephone-event payload type, 0 when
// the peer offered none.
func (m *Media) DTMFPayloadType() uint8 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.dtmfPT
}

// RTTMs is the last round-trip time RTCP gave, 0 when none yet.
func (m *Media) RTTMs() float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rttMs
}

// Port returns a view of the call's RTP for one audio pipeline and makes
// it the one that receives. A pipeline stopped for hold closes its port;
// the next one (on resume) takes a new port, so no stale reader ever
// competes for packets.
func (m *Media) Port() *Port {
	p := &Port{m: m, ch: make(chan *rtp.Packet, 64), done: make(chan struct{})}
	m.mu.Lock()
	m.cur = p
	m.mu.Unlock()
	m.pumpOnce.Do(func() { go m.pump() })
	return p
}

// pump is the one reader of the call's RTP socket. It follows the RTP
// session across re-INVITEs and hands packets to the current port.
func (m *Media) pump() {
	defer close(m.stopped)
	buf := make([]byte, 1500)
	for {
		rs := m.med.RTPSession()
		if rs == nil {
			return
		}
		var pkt rtp.Packet
		n, err := rs.ReadRTP(buf, &pkt)
		if err != nil {
			m.mu.Lock()
			closed := m.closed
			m.mu.Unlock()
			// A re-INVITE may swap the RTP session under us: go on with
			// the new one unless the call is over.
			if closed || m.med.RTPSession() == rs {
				return
			}
			continue
		}
		if n == 0 {
			continue // diago parses but drops packets while we are sendonly
		}
		m.mu.Lock()
		p := m.cur
		m.mu.Unlock()
		if p == nil {
			continue
		}
		select {
		case p.ch <- pkt.Clone():
		default: // the pipeline is stuck: drop rather than block the socket
		}
	}
}

// WriteRTP sends one packet; it fills in the version, SSRC and sequence.
func (m *Media) writeRTP(pkt *rtp.Packet) error {
	if m.sendOff.Load() {
		return nil
	}
	rs := m.med.RTPSession()
	if rs == nil {
		return errors.New("call media closed")
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return errors.New("call media closed")
	}
	pkt.Version = 2
	pkt.SSRC = m.ssrc
	pkt.SequenceNumber = m.seq
	m.seq++
	m.mu.Unlock()
	return rs.WriteRTP(pkt)
}

// Port is one audio pipeline's view of a call's RTP; it implements
// audio.RTPPort.
type Port struct {
	m    *Media
	ch   chan *rtp.Packet
	done chan struct{}
	once sync.Once
}

// ErrPortClosed is returned by a closed port or once the call's media ended.
var ErrPortClosed = errors.New("call media closed")

// ReadRTP blocks for the next packet (audio or telephone-event).
func (p *Port) ReadRTP(buf []byte, pkt *rtp.Packet) (int, error) {
	select {
	case got := <-p.ch:
		n := copy(buf, got.Payload)
		*pkt = *got
		pkt.Payload = buf[:n]
		return n, nil
	case <-p.done:
		return 0, ErrPortClosed
	case <-p.m.stopped:
		return 0, ErrPortClosed
	}
}

// WriteRTP sends one packet unless the port is closed.
func (p *Port) WriteRTP(pkt *rtp.Packet) error {
	select {
	case <-p.done:
		return ErrPortClosed
	default:
	}
	return p.m.writeRTP(pkt)
}

// Close detaches the port; a blocked ReadRTP returns ErrPortClosed.
func (p *Port) Close() error {
	p.once.Do(func() {
		close(p.done)
		p.m.mu.Lock()
		if p.m.cur == p {
			p.m.cur = nil
		}
		p.m.mu.Unlock()
	})
	return nil
}

func (m *Media) close() {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
}
