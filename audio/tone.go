package audio

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
)

// Tone is a call-progress tone or ring: the sum of sine Freqs, switched on
// and off by Cadence (on, off, on, off, ...; empty means steady), at Level
// dBFS per component.
type Tone struct {
	Name    string
	Freqs   []float64
	Level   float64
	Cadence []time.Duration
	// Once plays the cadence a single time instead of repeating it.
	Once bool
	// Warble, when non-zero, alternates between Freqs[0] and Freqs[1] at
	// this rate (Hz) instead of summing them: the trill of a phone ringer.
	Warble float64
}

// RingbackTone is the ETSI/European ringing tone a caller hears: 425 Hz,
// 1 s on, 4 s off.
func RingbackTone() Tone {
	return Tone{Name: "ringback", Freqs: []float64{425}, Level: -13, Cadence: []time.Duration{time.Second, 4 * time.Second}}
}

// RingbackToneUS is the North American ringback: 440 + 480 Hz, 2 s on,
// 4 s off.
func RingbackToneUS() Tone {
	return Tone{Name: "ringback-us", Freqs: []float64{440, 480}, Level: -19, Cadence: []time.Duration{2 * time.Second, 4 * time.Second}}
}

// CallWaitingTone is the discreet beep in the earpiece when a second call
// arrives: 440 Hz, two 300 ms beeps, repeated every 10 s.
func CallWaitingTone() Tone {
	return Tone{Name: "call-waiting", Freqs: []float64{440}, Level: -16,
		Cadence: []time.Duration{300 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond, 9200 * time.Millisecond}}
}

// BusyTone is 425 Hz, 500 ms on, 500 ms off.
func BusyTone() Tone {
	return Tone{Name: "busy", Freqs: []float64{425}, Level: -13, Cadence: []time.Duration{500 * time.Millisecond, 500 * time.Millisecond}}
}

// RingerTone is the incoming-call ring on the ringer device: a 20 Hz trill
// between 1000 and 1250 Hz, in the 0.4 s on, 0.2 s off, 0.4 s on, 2 s off
// cadence of a UK phone.
func RingerTone() Tone {
	return Tone{Name: "ringer", Freqs: []float64{1000, 1250}, Level: -8, Warble: 20,
		Cadence: []time.Duration{400 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 2 * time.Second}}
}

// TestTone is the settings screen's speaker test: 1 kHz, 1 s on, 1 s off.
func TestTone() Tone {
	return Tone{Name: "test", Freqs: []float64{1000}, Level: -12, Cadence: []time.Duration{time.Second, time.Second}}
}

// ToneGenerator renders a Tone at a sample rate, frame by frame.
type ToneGenerator struct {
	tone  Tone
	rate  int
	n     int64 // samples rendered
	cycle int64 // cadence length in samples (0 = steady)
	amp   float64
	ramp  int // samples of fade at each edge, against clicks
}

// NewToneGenerator prepares t for rendering at rate Hz.
func NewToneGenerator(t Tone, rate int) *ToneGenerator {
	g := &ToneGenerator{tone: t, rate: rate, amp: 32767 * math.Pow(10, t.Level/20), ramp: rate / 200}
	for _, d := range t.Cadence {
		g.cycle += int64(d.Seconds() * float64(rate))
	}
	return g
}

// envelope is 0..1: on/off by cadence with short ramps at the edges.
func (g *ToneGenerator) envelope(i int64) float64 {
	if g.cycle == 0 {
		return 1
	}
	pos := i % g.cycle
	var start int64
	for k, d := range g.tone.Cadence {
		l := int64(d.Seconds() * float64(g.rate))
		if pos < start+l {
			if k%2 == 1 {
				return 0
			}
			in, out := pos-start, start+l-pos
			e := 1.0
			if r := int64(g.ramp); r > 0 {
				e = math.Min(1, math.Min(float64(in)/float64(r), float64(out)/float64(r)))
			}
			return e
		}
		start += l
	}
	return 0
}

// Done reports whether a Once tone has finished.
func (g *ToneGenerator) Done() bool { return g.tone.Once && g.cycle > 0 && g.n >= g.cycle }

// Fill writes the next len(dst) samples into dst.
func (g *ToneGenerator) Fill(dst []int16) { g.render(dst, false) }

// Mix adds the next len(dst) samples onto dst.
func (g *ToneGenerator) Mix(dst []int16) { g.render(dst, true) }

func (g *ToneGenerator) render(dst []int16, mix bool) {
	for k := range dst {
		i := g.n
		g.n++
		var v float64
		if e := g.envelope(i); e > 0 && !g.Done() {
			t := float64(i) / float64(g.rate)
			switch {
			case g.tone.Warble > 0 && len(g.tone.Freqs) >= 2:
				f := g.tone.Freqs[0]
				if int(t*g.tone.Warble*2)%2 == 1 {
					f = g.tone.Freqs[1]
				}
				v = math.Sin(2 * math.Pi * f * t)
			default:
				for _, f := range g.tone.Freqs {
					v += math.Sin(2 * math.Pi * f * t)
				}
			}
			v *= g.amp * e
		}
		if mix {
			v += float64(dst[k])
		}
		dst[k] = clamp16(float32(v))
	}
}

// PlayTone plays t on the named output device ("" for the default) until
// ctx ends or a Once tone finishes. It paces itself by the wall clock as
// well as by the device, so a device that accepts samples faster than real
// time is not flooded.
func (s *System) PlayTone(ctx context.Context, device string, t Tone) error {
	st, err := s.OpenOutput(device)
	if err != nil {
		return err
	}
	defer st.Close()
	var gen *ToneGenerator
	buf := make([]int16, 0, 48000/framesPerSecond)
	return paced(ctx, func(rate int) bool {
		if gen == nil || gen.rate != rate {
			gen = NewToneGenerator(t, rate)
		}
		if gen.Done() {
			return false
		}
		buf = buf[:rate/framesPerSecond]
		gen.Fill(buf)
		if err := st.Write(buf); err != nil && !errors.Is(err, ErrNoDevice) {
			return false
		}
		return true
	}, st.Rate)
}

// PlayRinger rings the named device (the ringer output chosen in settings,
// often the laptop speaker rather than the headset) with t until ctx ends.
func (s *System) PlayRinger(ctx context.Context, device string, t Tone) error {
	err := s.PlayTone(ctx, device, t)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	return err
}

// PlaySamples plays mono PCM at rate on the named device (a ringtone from
// a file, say), looping when loop is set, until ctx ends or it finishes.
func (s *System) PlaySamples(ctx context.Context, device string, pcm []int16, rate int, loop bool) error {
	if len(pcm) == 0 {
		return nil
	}
	st, err := s.OpenOutput(device)
	if err != nil {
		return err
	}
	defer st.Close()
	var rs *Resampler
	pos := 0
	var out []int16
	return paced(ctx, func(devRate int) bool {
		if rs == nil || rs.OutRate() != devRate {
			if rs, err = NewResampler(rate, devRate); err != nil {
				return false
			}
		}
		if pos >= len(pcm) {
			if !loop {
				return false
			}
			pos = 0
		}
		end := min(pos+rate/framesPerSecond, len(pcm))
		out = rs.Process(out[:0], pcm[pos:end])
		pos = end
		if err := st.Write(out); err != nil && !errors.Is(err, ErrNoDevice) {
			return false
		}
		return true
	}, st.Rate)
}

// paced calls step once per 20 ms block, never running more than a few
// blocks ahead of the wall clock; step returns false to finish. rate
// reports the device rate (0 while there is no device: the block is
// skipped but time still passes).
func paced(ctx context.Context, step func(rate int) bool, rate func() int) error {
	const lead = 3 // blocks allowed ahead of real time
	start := time.Now()
	for blocks := 0; ; blocks++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		due := start.Add(time.Duration(blocks-lead) * FrameDuration * time.Millisecond)
		if wait := time.Until(due); wait > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wait):
			}
		}
		r := rate()
		if r == 0 {
			continue
		}
		if !step(r) {
			return nil
		}
	}
}

// String names the tone for logs.
func (t Tone) String() string { return fmt.Sprintf("%s %v Hz", t.Name, t.Freqs) }
