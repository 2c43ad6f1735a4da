package audio

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
)

// CallOptions configures the media of one call.
type CallOptions struct {
	// System provides the sound devices. Nil runs the call without any:
	// RTP still flows (silence is sent) and nothing is played.
	System *System
	// Mic and Speaker name the devices ("" for the system default).
	Mic, Speaker string
	// Port is the call's RTP transport, from the SIP room.
	Port RTPPort
	// Codec is the negotiated codec, with the negotiated payload type.
	Codec Codec
	// DTMFPayloadType is the negotiated telephone-event payload type;
	// 0 disables RFC 4733 in both directions.
	DTMFPayloadType uint8
	// DTMFClockRate is the telephone-event clock (default Codec.ClockRate).
	DTMFClockRate int
	// OnDTMF is called once per digit the far end sends, from the
	// receiving goroutine; it must not block.
	OnDTMF func(digit rune)
	// Record, when set, receives both directions of the call. The call
	// does not close it.
	Record *Recorder
	// Logger receives the call's media logs (default: discarded).
	Logger *slog.Logger
}

// CallStats are a call's media statistics.
type CallStats struct {
	Quality
	Jitter       JitterStats
	PacketsSent  int64
	BytesSent    int64
	DTMFSent     int64
	DTMFReceived int64
	Mic          string // device in use ("" when none)
	Speaker      string
	MicRing      RingStats
	SpeakerRing  RingStats
}

// Call is the running media pipeline of one call:
//
//	mic → resample → drift ring → 20 ms network tick → encode → RTP out
//	RTP in → jitter buffer → 20 ms network tick → decode or conceal →
//	drift ring → resample → speaker
//
// The network tick is the master clock: RTP leaves every 20 ms whatever
// the sound card does, and the drift rings absorb the difference between
// the two clocks.
type Call struct {
	opts   CallOptions
	log    *slog.Logger
	codec  Codec
	enc    Encoder
	dec    Decoder
	jb     *JitterBuffer
	micR   *DriftRing
	spkR   *DriftRing
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	done   chan struct{}

	devMu sync.Mutex
	mic   *Stream
	spk   *Stream

	muted atomic.Bool
	held  atomic.Bool
	rtt   atomic.Uint64 // float64 bits

	dtmfQ chan rune

	toneMu sync.Mutex
	tone   *ToneGenerator

	micLevel LevelMeter
	spkLevel LevelMeter

	statMu    sync.Mutex
	sent      int64
	sentBytes int64
	dtmfSent  int64
	dtmfRecv  int64

	closeOnce sync.Once
	closed    atomic.Bool
	readErr   atomic.Value // error
}

// Ring sizes in 20 ms frames. The mic ring holds a little more than the
// device delivers in one go; the speaker ring keeps two frames queued so a
// late tick does not starve a clocked device.
const (
	micRingFrames     = 6
	micTargetFrames   = 3
	spkRingFrames     = 12
	spkTargetFrames   = 2
	deviceRetryPeriod = FrameDuration * time.Millisecond
	silenceAfter      = 3 * FrameDuration * time.Millisecond / 2
)

// StartCall starts the pipeline. It returns once the goroutines run; device
// problems never fail the call (they are logged and reported as device
// events), only a bad codec or a missing port do.
func StartCall(ctx context.Context, opts CallOptions) (*Call, error) {
	if opts.Port == nil {
		return nil, errors.New("audio: StartCall needs the call's RTP port")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.DTMFClockRate <= 0 {
		opts.DTMFClockRate = opts.Codec.ClockRate
	}
	enc, err := NewEncoder(opts.Codec)
	if err != nil {
		return nil, err
	}
	dec, err := NewDecoder(opts.Codec)
	if err != nil {
		return nil, err
	}
	fs := opts.Codec.FrameSamples()
	c := &Call{
		opts:  opts,
		log:   opts.Logger.With("codec", opts.Codec.Name),
		codec: opts.Codec,
		enc:   enc,
		dec:   dec,
		jb:    NewJitterBuffer(JitterOptions{ClockRate: opts.Codec.ClockRate}),
		micR:  NewDriftRing(DriftRingOptions{Capacity: micRingFrames * fs, Target: micTargetFrames * fs}),
		spkR:  NewDriftRing(DriftRingOptions{Capacity: spkRingFrames * fs, Target: spkTargetFrames * fs}),
		done:  make(chan struct{}),
		dtmfQ: make(chan rune, 32),
	}
	c.ctx, c.cancel = context.WithCancel(ctx)
	if opts.System != nil {
		c.mic, c.spk = c.openDevices(opts.Mic, opts.Speaker)
	}
	c.wg.Add(3)
	go c.micLoop()
	go c.speakerLoop()
	go c.networkLoop()
	go c.receiveLoop()
	context.AfterFunc(c.ctx, func() { c.Close() })
	return c, nil
}

func (c *Call) openDevices(mic, spk string) (*Stream, *Stream) {
	in, err := c.opts.System.OpenInput(mic)
	if err != nil {
		c.log.Warn("microphone unavailable, sending silence", "device", mic, "err", err)
	}
	out, err := c.opts.System.OpenOutput(spk)
	if err != nil {
		c.log.Warn("speaker unavailable", "device", spk, "err", err)
	}
	return in, out
}

// SetDevices moves the call to other devices mid-call ("" for default).
func (c *Call) SetDevices(mic, speaker string) error {
	if c.opts.System == nil {
		return errors.New("audio: this call runs without sound devices")
	}
	if c.closed.Load() {
		return ErrClosed
	}
	in, out := c.openDevices(mic, speaker)
	c.devMu.Lock()
	oldIn, oldOut := c.mic, c.spk
	c.mic, c.spk = in, out
	c.devMu.Unlock()
	// Close the old streams after the swap: a loop blocked on them finishes
	// its block and picks up the new ones.
	if oldIn != nil {
		oldIn.Close()
	}
	if oldOut != nil {
		oldOut.Close()
	}
	c.micR.Reset()
	c.log.Info("call devices changed", "mic", mic, "speaker", speaker)
	return nil
}

func (c *Call) devices() (*Stream, *Stream) {
	c.devMu.Lock()
	defer c.devMu.Unlock()
	return c.mic, c.spk
}

// sleep waits d or until the call ends; it reports whether to go on.
func (c *Call) sleep(d time.Duration) bool {
	select {
	case <-c.ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// micLoop reads the microphone, converts it to the codec rate and feeds the
// mic ring. The ring's back-pressure paces devices that are not clocked.
func (c *Call) micLoop() {
	defer c.wg.Done()
	var rs *Resampler
	var out []int16
	for c.ctx.Err() == nil {
		mic, _ := c.devices()
		if mic == nil {
			if !c.sleep(deviceRetryPeriod) {
				return
			}
			continue
		}
		pcm, rate, err := mic.Read()
		if err != nil {
			// No device (or it was just swapped): the network side sends
			// silence from the empty ring meanwhile.
			if !c.sleep(deviceRetryPeriod) {
				return
			}
			continue
		}
		if rs == nil || rs.InRate() != rate {
			if rs, err = NewResampler(rate, c.codec.SampleRate); err != nil {
				c.log.Error("microphone rate unsupported", "rate", rate, "err", err)
				return
			}
		}
		out = rs.Process(out[:0], pcm)
		c.micLevel.Update(out)
		if err := c.micR.Write(c.ctx, out); err != nil {
			return
		}
	}
}

// speakerLoop drains the speaker ring into the speaker. When the network
// is quiet it writes one block of silence per block period: a clocked
// device must not underrun, and an unclocked one must not be flooded.
func (c *Call) speakerLoop() {
	defer c.wg.Done()
	frame := make([]int16, c.codec.FrameSamples())
	var rs *Resampler
	var out []int16
	for c.ctx.Err() == nil {
		_, spk := c.devices()
		if spk == nil {
			if !c.sleep(deviceRetryPeriod) {
				return
			}
			continue
		}
		// Wait a frame and a half: long enough that a network tick a few
		// milliseconds late still lands, short enough that a clocked device
		// is fed before its buffer runs dry.
		if _, err := c.spkR.ReadWait(c.ctx, frame, silenceAfter); err != nil {
			return
		}
		c.toneMu.Lock()
		if c.tone != nil {
			c.tone.Mix(frame)
			if c.tone.Done() {
				c.tone = nil
			}
		}
		c.toneMu.Unlock()
		c.spkLevel.Update(frame)
		rate := spk.Rate()
		if rate == 0 {
			if !c.sleep(deviceRetryPeriod) {
				return
			}
			continue
		}
		if rs == nil || rs.OutRate() != rate {
			var err error
			if rs, err = NewResampler(c.codec.SampleRate, rate); err != nil {
				c.log.Error("speaker rate unsupported", "rate", rate, "err", err)
				return
			}
		}
		out = rs.Process(out[:0], frame)
		if err := spk.Write(out); err != nil {
			if !c.sleep(deviceRetryPeriod) {
				return
			}
		}
	}
}

// receiveLoop reads RTP until the port closes: audio into the jitter
// buffer, telephone-events to OnDTMF.
func (c *Call) receiveLoop() {
	defer close(c.done)
	buf := make([]byte, 1500)
	var pkt rtp.Packet
	var ssrc uint32
	haveSSRC := false
	var events dtmfDedup
	for {
		if _, err := c.opts.Port.ReadRTP(buf, &pkt); err != nil {
			if !c.closed.Load() {
				c.log.Info("call media ended", "err", err)
			}
			c.readErr.Store(err)
			return
		}
		now := time.Now()
		if haveSSRC && pkt.SSRC != ssrc {
			// A new source (re-INVITE, transfer, PBX re-anchoring media):
			// start its playout afresh.
			c.jb.Reset()
		}
		ssrc, haveSSRC = pkt.SSRC, true
		switch {
		case c.opts.DTMFPayloadType != 0 && pkt.PayloadType == c.opts.DTMFPayloadType:
			c.jb.PushGap(pkt.SequenceNumber, now)
			ev, err := ParseDTMFEvent(pkt.Payload)
			if err != nil {
				continue
			}
			digit, ok := EventDigit(ev.Event)
			if !ok || !events.first(pkt.Timestamp, ev.Event) {
				continue
			}
			c.statMu.Lock()
			c.dtmfRecv++
			c.statMu.Unlock()
			c.log.Debug("DTMF received", "digit", string(digit))
			if c.opts.OnDTMF != nil && !c.closed.Load() {
				c.opts.OnDTMF(digit)
			}
		case pkt.PayloadType == c.codec.PayloadType:
			c.jb.Push(pkt.SequenceNumber, pkt.Timestamp, pkt.Payload, now)
		default:
			// Comfort noise or an unexpected codec: it still uses a
			// sequence number, so tell the jitter buffer.
			c.jb.PushGap(pkt.SequenceNumber, now)
		}
	}
}

// dtmfDedup remembers the last few events (by RTP timestamp and code) so
// each digit is reported once, whether its first packets were lost or its
// end packet repeated.
type dtmfDedup struct {
	keys [8]uint64
	n    int
}

func (d *dtmfDedup) first(ts uint32, ev uint8) bool {
	key := uint64(ts)<<8 | uint64(ev) | 1<<40
	for _, k := range d.keys {
		if k == key {
			return false
		}
	}
	d.keys[d.n%len(d.keys)] = key
	d.n++
	return true
}

// networkLoop is the 20 ms master clock: it sends one packet and plays out
// one frame per tick.
func (c *Call) networkLoop() {
	defer c.wg.Done()
	fs := c.codec.FrameSamples()
	local := make([]int16, fs)
	remote := make([]int16, fs*6) // room for a 120 ms Opus packet
	payload := make([]byte, 1500)
	jbuf := make([]byte, 1500)
	ts := randUint32()
	marker := true
	wasHeld := false
	var dtmfPkts [][]byte
	var dtmfTS uint32
	dtmfFirst := false
	dtmfPause := 0
	credit := 0

	t := time.NewTicker(FrameDuration * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		}
		held := c.held.Load()

		// Send side: always drain the mic ring so the device keeps running.
		c.micR.Read(local)
		if c.muted.Load() {
			clear(local)
		}
		if held {
			wasHeld = true
			clear(local) // nothing is sent, so nothing is recorded as sent
		} else {
			if wasHeld {
				marker, wasHeld = true, false
			}
			if dtmfPkts == nil && dtmfPause == 0 {
				select {
				case d := <-c.dtmfQ:
					dtmfPkts, _ = DTMFPackets(d, c.opts.DTMFClockRate, 100)
					dtmfTS, dtmfFirst = ts, true
				default:
				}
			}
			if dtmfPkts != nil {
				c.send(&rtp.Packet{Header: rtp.Header{PayloadType: c.opts.DTMFPayloadType, Timestamp: dtmfTS, Marker: dtmfFirst}, Payload: dtmfPkts[0]})
				dtmfPkts, dtmfFirst = dtmfPkts[1:], false
				if len(dtmfPkts) == 0 {
					dtmfPkts = nil
					dtmfPause = 2 // at least 40 ms between digits
					c.statMu.Lock()
					c.dtmfSent++
					c.statMu.Unlock()
				}
				clear(local)
			} else {
				dtmfPause = max(0, dtmfPause-1)
				n, err := c.enc.Encode(local, payload)
				if err != nil {
					c.log.Error("encode failed", "err", err)
				} else {
					c.send(&rtp.Packet{Header: rtp.Header{PayloadType: c.codec.PayloadType, Timestamp: ts, Marker: marker}, Payload: payload[:n]})
					marker = false
				}
			}
		}
		ts += c.codec.FrameTicks()

		// Receive side: play out one frame's worth (packets of other sizes
		// are handled by the credit).
		credit += fs
		for credit > 0 {
			var n int
			var err error
			m, _, st := c.jb.Pop(jbuf)
			switch st {
			case JitterPacket:
				n, err = c.dec.Decode(jbuf[:m], remote)
				if err != nil || n == 0 {
					n, err = c.dec.Conceal(remote)
				}
			case JitterLost:
				n, err = c.dec.Conceal(remote)
			default:
				n = fs
				clear(remote[:n])
			}
			if err != nil || n <= 0 {
				n = fs
				clear(remote[:n])
			}
			credit -= n
			if !held {
				c.spkR.TryWrite(remote[:n])
			}
			if r := c.opts.Record; r != nil {
				r.addRemote(remote[:n], c.codec.SampleRate)
			}
		}
		if r := c.opts.Record; r != nil {
			r.addLocal(local, c.codec.SampleRate)
		}
		if held {
			c.jb.Reset()
		}
	}
}

func randUint32() uint32 { return rand.Uint32() }

func (c *Call) send(p *rtp.Packet) {
	if err := c.opts.Port.WriteRTP(p); err != nil {
		if !c.closed.Load() {
			c.log.Debug("RTP send failed", "err", err)
		}
		return
	}
	c.statMu.Lock()
	c.sent++
	c.sentBytes += int64(len(p.Payload))
	c.statMu.Unlock()
}

// SetMute sends silence instead of the microphone (RTP keeps flowing, so
// the far end and any NAT see a live stream).
func (c *Call) SetMute(on bool) { c.muted.Store(on) }

// Muted reports the mute state.
func (c *Call) Muted() bool { return c.muted.Load() }

// SetHold stops sending and playing audio; incoming packets are read and
// discarded. Sending resumes with the marker bit set.
func (c *Call) SetHold(on bool) { c.held.Store(on) }

// SendDTMF queues one digit (0-9, *, #, A-D) as RFC 4733 events: updates
// every 20 ms for 100 ms, then the end packet three times, all with the
// event's start timestamp; audio pauses meanwhile.
func (c *Call) SendDTMF(digit rune) error {
	if c.opts.DTMFPayloadType == 0 {
		return errors.New("audio: the far end did not accept telephone-events; DTMF cannot be sent in band")
	}
	if _, ok := DigitEvent(digit); !ok {
		return fmt.Errorf("audio: %q is not a DTMF digit: use 0-9, *, #, A-D", digit)
	}
	if c.closed.Load() {
		return ErrClosed
	}
	select {
	case c.dtmfQ <- digit:
		return nil
	default:
		return errors.New("audio: too many DTMF digits queued; wait and retry")
	}
}

// PlayTone mixes t into the earpiece (a call-waiting beep, say) until it
// finishes or StopTone is called; it replaces any tone already playing.
func (c *Call) PlayTone(t Tone) {
	c.toneMu.Lock()
	c.tone = NewToneGenerator(t, c.codec.SampleRate)
	c.toneMu.Unlock()
}

// StopTone silences the tone started by PlayTone.
func (c *Call) StopTone() {
	c.toneMu.Lock()
	c.tone = nil
	c.toneMu.Unlock()
}

// SetRTT records the round-trip time the SIP room measured (RTCP), for the
// MOS estimate.
func (c *Call) SetRTT(d time.Duration) {
	c.rtt.Store(uint64(d.Microseconds()))
}

// MicLevel is the microphone level as captured (before mute).
func (c *Call) MicLevel() Level { return c.micLevel.Level() }

// SpeakerLevel is the level of what the earpiece plays.
func (c *Call) SpeakerLevel() Level { return c.spkLevel.Level() }

// Quality is the current receive quality with a MOS estimate.
func (c *Call) Quality() Quality {
	js := c.jb.Stats()
	rtt := float64(c.rtt.Load()) / 1000
	return Quality{
		LossPct:  js.LossPct,
		JitterMs: js.JitterMs,
		RTTMs:    rtt,
		MOS:      EstimateMOS(c.codec.Name, js.LossPct, rtt, js.DelayMs),
	}
}

// Stats returns quality and counters.
func (c *Call) Stats() CallStats {
	s := CallStats{Quality: c.Quality(), Jitter: c.jb.Stats(), MicRing: c.micR.Stats(), SpeakerRing: c.spkR.Stats()}
	c.statMu.Lock()
	s.PacketsSent, s.BytesSent, s.DTMFSent, s.DTMFReceived = c.sent, c.sentBytes, c.dtmfSent, c.dtmfRecv
	c.statMu.Unlock()
	if mic, spk := c.devices(); mic != nil || spk != nil {
		if mic != nil {
			s.Mic = mic.Device()
		}
		if spk != nil {
			s.Speaker = spk.Device()
		}
	}
	return s
}

// Done is closed when the port stops delivering packets (the media closed).
func (c *Call) Done() <-chan struct{} { return c.done }

// Err is the error that ended the receive side, if it has ended.
func (c *Call) Err() error {
	if err, ok := c.readErr.Load().(error); ok {
		return err
	}
	return nil
}

// Close stops the pipeline and closes its devices. It does not close the
// port (the SIP room owns it); the receiving goroutine ends when the port
// is closed.
func (c *Call) Close() error {
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		c.cancel()
		c.micR.Close()
		c.spkR.Close()
		c.wg.Wait()
		c.devMu.Lock()
		if c.mic != nil {
			c.mic.Close()
		}
		if c.spk != nil {
			c.spk.Close()
		}
		c.devMu.Unlock()
	})
	return nil
}
