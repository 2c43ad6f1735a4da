package audio

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/gordonklaus/portaudio"
)

// DeviceInfo describes a sound device as the settings screen lists it.
type DeviceInfo struct {
	Name          string
	Input         bool // can capture (a microphone)
	Output        bool // can play (a speaker, headset or ringer)
	DefaultRate   int
	DefaultInput  bool
	DefaultOutput bool
	HostAPI       string
}

// DeviceEventKind says what happened to a device.
type DeviceEventKind int

const (
	// DeviceAdded: a device appeared in the list (plugged in).
	DeviceAdded DeviceEventKind = iota + 1
	// DeviceRemoved: a device left the list (unplugged).
	DeviceRemoved
	// DeviceFallback: the chosen device is missing or failed to open, so a
	// stream uses the system default instead. Name is the chosen device.
	DeviceFallback
	// DeviceRestored: a stream moved back to its chosen device.
	DeviceRestored
	// DeviceFailed: no device at all could be opened for a stream; the call
	// continues without it (silence is sent or nothing is played).
	DeviceFailed
)

func (k DeviceEventKind) String() string {
	switch k {
	case DeviceAdded:
		return "added"
	case DeviceRemoved:
		return "removed"
	case DeviceFallback:
		return "fallback"
	case DeviceRestored:
		return "restored"
	case DeviceFailed:
		return "failed"
	}
	return "unknown"
}

// DeviceEvent reports a device change to the app (for the settings screen
// and a notice to the agent).
type DeviceEvent struct {
	Kind     DeviceEventKind
	Name     string // the device concerned (the chosen one for fallback/failed)
	Input    bool   // true for a capture stream or device
	Fallback bool   // the stream now runs on the default device
	Actual   string // the device a stream actually uses, if any
	Err      error  // the cause, for DeviceFallback and DeviceFailed
}

// ErrNoDevice is returned by a stream that currently has no device.
var ErrNoDevice = errors.New("audio: no sound device available: plug in a headset or choose another device in settings")

// SystemOptions configures a System.
type SystemOptions struct {
	Logger *slog.Logger
	// PreferredRate is tried first when opening a device (default 48000);
	// devices that refuse it run at their own default rate.
	PreferredRate int
}

// System owns PortAudio for the process: it initialises the library when
// created and terminates it on Close, lists devices, opens streams by name
// and reports device changes. Create one per process; PortAudio's own
// state is process-wide.
type System struct {
	log  *slog.Logger
	rate int

	mu      sync.Mutex // serialises PortAudio library calls
	closed  bool
	streams map[*Stream]struct{}
	known   map[string]DeviceInfo
	sig     string

	subMu sync.Mutex
	subs  map[chan DeviceEvent]struct{}

	evMu    sync.Mutex
	pending []DeviceEvent
	flushMu sync.Mutex
}

// NewSystem initialises PortAudio. On Linux, HOME (for ~/.asoundrc) must be
// final before this call: ALSA reads its configuration here.
func NewSystem(opts SystemOptions) (*System, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.PreferredRate <= 0 {
		opts.PreferredRate = 48000
	}
	if err := portaudio.Initialize(); err != nil {
		return nil, fmt.Errorf("audio: start PortAudio: %w (check the sound system is installed)", err)
	}
	skipLowStreamIDs()
	s := &System{
		log:     opts.Logger,
		rate:    opts.PreferredRate,
		streams: map[*Stream]struct{}{},
		subs:    map[chan DeviceEvent]struct{}{},
	}
	s.sig = hardwareSignature()
	if devs, err := s.listLocked(); err == nil {
		s.known = byName(devs)
	}
	return s, nil
}

// Close closes every open stream and terminates PortAudio.
func (s *System) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	for st := range s.streams {
		st.mu.Lock()
		st.closePA()
		st.closed = true
		st.mu.Unlock()
	}
	clear(s.streams)
	s.subMu.Lock()
	for ch := range s.subs {
		close(ch)
	}
	clear(s.subs)
	s.subMu.Unlock()
	return portaudio.Terminate()
}

// Subscribe returns a channel of device events and a function to stop.
// Events are dropped, not queued, when the channel's buffer is full.
func (s *System) Subscribe(buffer int) (<-chan DeviceEvent, func()) {
	ch := make(chan DeviceEvent, max(buffer, 1))
	s.subMu.Lock()
	if s.subs == nil {
		close(ch)
		s.subMu.Unlock()
		return ch, func() {}
	}
	s.subs[ch] = struct{}{}
	s.subMu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			s.subMu.Lock()
			defer s.subMu.Unlock()
			if _, ok := s.subs[ch]; ok {
				delete(s.subs, ch)
				close(ch)
			}
		})
	}
}

func (s *System) emit(ev DeviceEvent) {
	s.log.Info("audio device event", "kind", ev.Kind.String(), "device", ev.Name, "input", ev.Input,
		"actual", ev.Actual, "fallback", ev.Fallback, "err", ev.Err)
	s.subMu.Lock()
	defer s.subMu.Unlock()
	for ch := range s.subs {
		select {
		case ch <- ev:
		default:
		}
	}
}

// Devices lists the sound devices PortAudio knows.
func (s *System) Devices() ([]DeviceInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	return s.listLocked()
}

func (s *System) listLocked() ([]DeviceInfo, error) {
	devs, err := portaudio.Devices()
	if err != nil {
		return nil, fmt.Errorf("audio: list devices: %w", err)
	}
	defIn, _ := portaudio.DefaultInputDevice()
	defOut, _ := portaudio.DefaultOutputDevice()
	out := make([]DeviceInfo, 0, len(devs))
	for _, d := range devs {
		di := DeviceInfo{
			Name:          d.Name,
			Input:         d.MaxInputChannels > 0,
			Output:        d.MaxOutputChannels > 0,
			DefaultRate:   int(d.DefaultSampleRate),
			DefaultInput:  defIn != nil && defIn.Index == d.Index,
			DefaultOutput: defOut != nil && defOut.Index == d.Index,
		}
		if d.HostApi != nil {
			di.HostAPI = d.HostApi.Name
		}
		out = append(out, di)
	}
	return out, nil
}

func byName(devs []DeviceInfo) map[string]DeviceInfo {
	m := make(map[string]DeviceInfo, len(devs))
	for _, d := range devs {
		m[d.Name] = d
	}
	return m
}

// OpenInput opens a capture stream on the named device ("" for the
// default), mono 16-bit in 20 ms blocks. A missing or failing device falls
// back to the default and emits DeviceFallback; if nothing can be opened
// the stream still returns, reports DeviceFailed, and its Read returns
// ErrNoDevice while it keeps retrying once a second.
func (s *System) OpenInput(name string) (*Stream, error) { return s.openStream(name, true) }

// OpenOutput opens a playback stream; see OpenInput.
func (s *System) OpenOutput(name string) (*Stream, error) { return s.openStream(name, false) }

func (s *System) openStream(name string, input bool) (*Stream, error) {
	st := &Stream{sys: s, input: input, want: name}
	defer s.flush()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	s.streams[st] = struct{}{}
	st.mu.Lock()
	defer st.mu.Unlock()
	s.attachLocked(st, false)
	return st, nil
}

// attachLocked opens a PortAudio stream for st on its chosen device or,
// failing that, on the default. Both s.mu and st.mu are held.
func (s *System) attachLocked(st *Stream, reopen bool) {
	st.lastTry = time.Now()
	wasFallback, hadDevice := st.fallback, st.pa != nil || reopen
	var firstErr error
	if st.want != "" {
		err := s.openPA(st, st.want)
		if err == nil {
			st.fallback = false
			if wasFallback {
				s.emitAsync(DeviceEvent{Kind: DeviceRestored, Name: st.want, Input: st.input, Actual: st.device})
			}
			return
		}
		firstErr = err
	}
	if err := s.openPA(st, ""); err == nil {
		st.fallback = st.want != ""
		if st.fallback && (!wasFallback || !hadDevice) {
			s.emitAsync(DeviceEvent{Kind: DeviceFallback, Name: st.want, Input: st.input, Fallback: true, Actual: st.device, Err: firstErr})
		}
		return
	} else if firstErr == nil {
		firstErr = err
	}
	if !st.failed {
		st.failed = true
		s.emitAsync(DeviceEvent{Kind: DeviceFailed, Name: st.want, Input: st.input, Err: firstErr})
	}
}

// emitAsync queues an event while the library lock is held; flush delivers
// the queue in order once the lock is released.
func (s *System) emitAsync(ev DeviceEvent) {
	s.evMu.Lock()
	s.pending = append(s.pending, ev)
	s.evMu.Unlock()
}

func (s *System) flush() {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.evMu.Lock()
	evs := s.pending
	s.pending = nil
	s.evMu.Unlock()
	for _, ev := range evs {
		s.emit(ev)
	}
}

// openPA opens and starts a PortAudio stream on the named device. s.mu and
// st.mu are held.
func (s *System) openPA(st *Stream, name string) error {
	dev, err := s.findDevice(name, st.input)
	if err != nil {
		return err
	}
	var lastErr error
	for _, rate := range s.candidateRates(dev) {
		frames := rate / framesPerSecond
		p := portaudio.StreamParameters{SampleRate: float64(rate), FramesPerBuffer: frames}
		dp := portaudio.StreamDeviceParameters{Device: dev, Channels: 1}
		if st.input {
			dp.Latency = dev.DefaultHighInputLatency
			p.Input = dp
		} else {
			dp.Latency = dev.DefaultHighOutputLatency
			p.Output = dp
		}
		st.buf = make([]int16, frames)
		pa, err := portaudio.OpenStream(p, &st.buf)
		if err != nil {
			lastErr = err
			continue
		}
		if err := pa.Start(); err != nil {
			pa.Close()
			lastErr = err
			continue
		}
		st.pa, st.rate, st.device, st.failed = pa, rate, dev.Name, false
		s.log.Debug("audio stream opened", "device", dev.Name, "input", st.input, "rate", rate)
		return nil
	}
	return fmt.Errorf("audio: open %q: %w", dev.Name, lastErr)
}

func (s *System) candidateRates(dev *portaudio.DeviceInfo) []int {
	rates := []int{s.rate}
	if r := int(dev.DefaultSampleRate); r > 0 && r != s.rate {
		rates = append(rates, r)
	}
	for _, r := range []int{48000, 44100, 16000, 8000} {
		if !slices.Contains(rates, r) {
			rates = append(rates, r)
		}
	}
	return rates
}

func (s *System) findDevice(name string, input bool) (*portaudio.DeviceInfo, error) {
	if name == "" {
		var d *portaudio.DeviceInfo
		var err error
		if input {
			d, err = portaudio.DefaultInputDevice()
		} else {
			d, err = portaudio.DefaultOutputDevice()
		}
		if err != nil {
			return nil, fmt.Errorf("audio: default device: %w", err)
		}
		return d, nil
	}
	devs, err := portaudio.Devices()
	if err != nil {
		return nil, err
	}
	for _, d := range devs {
		if d.Name == name && (input && d.MaxInputChannels > 0 || !input && d.MaxOutputChannels > 0) {
			return d, nil
		}
	}
	return nil, fmt.Errorf("audio: device %q not found", name)
}

// Rescan re-reads the device list. PortAudio only enumerates devices when
// it initialises, so this terminates and re-initialises the library: every
// open stream is briefly closed (about one period of audio) and reopened,
// on its chosen device if that is back. Added and removed devices are
// reported as events.
func (s *System) Rescan() error {
	defer s.flush()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	open := make([]*Stream, 0, len(s.streams))
	for st := range s.streams {
		st.mu.Lock()
		st.closePA()
		open = append(open, st)
	}
	defer func() {
		for _, st := range open {
			st.mu.Unlock()
		}
	}()
	if err := portaudio.Terminate(); err != nil {
		return fmt.Errorf("audio: restart PortAudio: %w", err)
	}
	if err := portaudio.Initialize(); err != nil {
		s.closed = true
		return fmt.Errorf("audio: restart PortAudio: %w", err)
	}
	s.sig = hardwareSignature()
	devs, err := s.listLocked()
	if err != nil {
		return err
	}
	now := byName(devs)
	for name, d := range now {
		if _, ok := s.known[name]; !ok {
			s.emitAsync(DeviceEvent{Kind: DeviceAdded, Name: name, Input: d.Input})
		}
	}
	for name, d := range s.known {
		if _, ok := now[name]; !ok {
			s.emitAsync(DeviceEvent{Kind: DeviceRemoved, Name: name, Input: d.Input})
		}
	}
	s.known = now
	for _, st := range open {
		if !st.closed {
			s.attachLocked(st, true)
		}
	}
	return nil
}

// Watch polls for device changes every interval until ctx ends, rescanning
// when the hardware changed. On Linux the check is cheap (the ALSA card
// list and the user's ALSA configuration files), so streams are only
// disturbed when something was really plugged or unplugged, and a stream
// running on the default device moves back to the chosen one when it
// returns. Where no such check exists, Watch rescans only while no stream
// is open (between calls).
func (s *System) Watch(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		interval = 2 * time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		sig := hardwareSignature()
		s.mu.Lock()
		changed := sig != s.sig
		idle := len(s.streams) == 0
		closed := s.closed
		s.mu.Unlock()
		if closed {
			return ErrClosed
		}
		if changed || (sig == "" && idle) {
			if err := s.Rescan(); err != nil {
				s.log.Warn("audio device rescan failed", "err", err)
			}
		}
	}
}

// hardwareSignature summarises what would change when a sound device is
// plugged in or out, or the user edits the ALSA configuration. Empty means
// unknown (not Linux).
func hardwareSignature() string {
	if runtime.GOOS != "linux" {
		return ""
	}
	// Without /proc/asound (no sound driver at all) the card list reads as
	// empty, and only configuration changes count.
	cards, _ := os.ReadFile("/proc/asound/cards")
	sig := "linux|" + string(cards)
	for _, f := range []string{filepath.Join(os.Getenv("HOME"), ".asoundrc"), "/etc/asound.conf"} {
		if st, err := os.Stat(f); err == nil {
			sig += fmt.Sprintf("|%s %d %d", f, st.Size(), st.ModTime().UnixNano())
		}
	}
	return sig
}

// Stream is an open capture or playback stream: mono, 16-bit, 20 ms
// blocks, at Rate(). The rate can change when the stream moves to another
// device, so read it with every block.
type Stream struct {
	sys   *System
	input bool
	want  string

	mu       sync.Mutex
	pa       *portaudio.Stream
	buf      []int16
	rate     int
	device   string
	fallback bool
	failed   bool
	closed   bool
	lastTry  time.Time
	warnings int64
}

// retryInterval paces attempts to reopen a stream that has no device.
const retryInterval = time.Second

func (st *Stream) closePA() {
	if st.pa != nil {
		st.pa.Stop()
		st.pa.Close()
		st.pa = nil
	}
}

// Rate is the device sample rate of the stream, 0 while it has no device
// (asking also retries opening one, at most once a second).
func (st *Stream) Rate() int {
	st.ensure()
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.pa == nil {
		return 0
	}
	return st.rate
}

// Device is the name of the device in use ("" while none).
func (st *Stream) Device() string {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.pa == nil {
		return ""
	}
	return st.device
}

// Fallback reports whether the stream runs on the default device because
// the chosen one is unavailable.
func (st *Stream) Fallback() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.fallback
}

// Warnings counts overflow and underflow reports from the device.
func (st *Stream) Warnings() int64 {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.warnings
}

// ensure reattaches a stream that lost its device, at most once per
// retryInterval. It is called without st.mu held.
func (st *Stream) ensure() {
	st.mu.Lock()
	need := st.pa == nil && !st.closed && time.Since(st.lastTry) >= retryInterval
	st.mu.Unlock()
	if !need {
		return
	}
	s := st.sys
	defer s.flush()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.pa == nil && !st.closed {
		s.attachLocked(st, true)
	}
}

// Read captures one 20 ms block. The returned slice is valid until the
// next Read; rate is its sample rate. Without a device it returns
// ErrNoDevice at once (the caller should wait a block period).
func (st *Stream) Read() (pcm []int16, rate int, err error) {
	if !st.input {
		return nil, 0, errors.New("audio: Read on a playback stream")
	}
	st.ensure()
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return nil, 0, ErrClosed
	}
	if st.pa == nil {
		return nil, 0, ErrNoDevice
	}
	if err := st.pa.Read(); err != nil {
		if errors.Is(err, portaudio.InputOverflowed) {
			st.warnings++
			return st.buf, st.rate, nil
		}
		st.deviceFailed(err)
		return nil, 0, ErrNoDevice
	}
	return st.buf, st.rate, nil
}

// Write plays pcm, which must be at Rate(); it blocks while the device
// buffer is full. Without a device it returns ErrNoDevice at once.
func (st *Stream) Write(pcm []int16) error {
	if st.input {
		return errors.New("audio: Write on a capture stream")
	}
	st.ensure()
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return ErrClosed
	}
	if st.pa == nil {
		return ErrNoDevice
	}
	st.buf = pcm
	err := st.pa.Write()
	st.buf = nil
	if err != nil {
		if errors.Is(err, portaudio.OutputUnderflowed) {
			st.warnings++
			return nil
		}
		st.deviceFailed(err)
		return ErrNoDevice
	}
	return nil
}

// deviceFailed drops a stream whose device stopped working (unplugged);
// the next Read or Write retries, falling back to the default.
func (st *Stream) deviceFailed(err error) {
	st.sys.log.Warn("audio device failed", "device", st.device, "input", st.input, "err", err)
	st.closePA()
	st.lastTry = time.Time{} // retry at once; attach reports the outcome
}

// Close stops and closes the stream.
func (st *Stream) Close() error {
	s := st.sys
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.streams, st)
	st.mu.Lock()
	defer st.mu.Unlock()
	st.closed = true
	st.closePA()
	return nil
}
