package audio

import (
	"fmt"
	"math"
)

// Resampler converts mono PCM between two fixed rates with a polyphase
// windowed-sinc (Kaiser) filter. The pass band reaches 85% of the lower
// Nyquist frequency and the stop band, at the lower Nyquist frequency,
// is attenuated by about 70 dB, so downsampling does not alias and
// upsampling does not image. It keeps state between calls, so a stream can
// be fed in chunks of any size; it is not safe for concurrent use.
type Resampler struct {
	inRate, outRate int
	l, m            int         // output = input * l / m
	taps            int         // taps per phase
	bank            [][]float32 // l phases, each reversed for a forward dot product
	buf             []float32   // taps-1 samples of history, then pending input
	pos             int         // next output position in input units * l, relative to buf[taps-1]
}

// resamplerAttenuation and resamplerTransition fix the filter quality:
// 70 dB stop band, transition from 0.85 to 1.0 of the lower Nyquist.
const (
	resamplerAttenuation = 70.0
	resamplerPassEdge    = 0.85
)

// NewResampler returns a resampler from inRate to outRate (Hz). Equal rates
// give a pass-through resampler.
func NewResampler(inRate, outRate int) (*Resampler, error) {
	if inRate <= 0 || outRate <= 0 {
		return nil, fmt.Errorf("audio: resample %d Hz to %d Hz: rates must be positive", inRate, outRate)
	}
	g := gcd(inRate, outRate)
	r := &Resampler{inRate: inRate, outRate: outRate, l: outRate / g, m: inRate / g}
	if r.l == r.m {
		return r, nil
	}
	if r.l > 4096 {
		return nil, fmt.Errorf("audio: resample %d Hz to %d Hz: ratio %d/%d too fine", inRate, outRate, r.l, r.m)
	}
	r.design()
	r.buf = make([]float32, r.taps-1, 4096)
	return r, nil
}

// design builds the polyphase filter bank. The prototype low-pass runs at
// the virtual rate inRate*l; its cut-off sits between the pass edge and
// the Nyquist frequency of the slower of the two rates.
func (r *Resampler) design() {
	maxLM := max(r.l, r.m)
	nyq := 0.5 / float64(maxLM) // lower Nyquist, in cycles per virtual sample
	fc := nyq * (1 + resamplerPassEdge) / 2
	dw := 2 * math.Pi * nyq * (1 - resamplerPassEdge)
	// Kaiser's estimate of the length for the wanted attenuation.
	n := int(math.Ceil((resamplerAttenuation - 7.95) / (2.285 * dw)))
	r.taps = (n + r.l - 1) / r.l
	r.taps = max(r.taps, 4)
	total := r.taps * r.l
	beta := 0.1102 * (resamplerAttenuation - 8.7)
	i0beta := besselI0(beta)
	centre := float64(total-1) / 2
	proto := make([]float64, total)
	for j := range proto {
		t := float64(j) - centre
		x := 2 * fc * t
		sinc := 1.0
		if x != 0 {
			sinc = math.Sin(math.Pi*x) / (math.Pi * x)
		}
		ratio := t / centre
		w := besselI0(beta*math.Sqrt(max(0, 1-ratio*ratio))) / i0beta
		// Gain l makes up for the zeros the virtual upsampling inserts.
		proto[j] = 2 * fc * sinc * w * float64(r.l)
	}
	r.bank = make([][]float32, r.l)
	for p := range r.l {
		ph := make([]float32, r.taps)
		for k := range r.taps {
			ph[r.taps-1-k] = float32(proto[p+k*r.l])
		}
		r.bank[p] = ph
	}
}

// InRate and OutRate report the conversion.
func (r *Resampler) InRate() int  { return r.inRate }
func (r *Resampler) OutRate() int { return r.outRate }

// OutLen is an upper bound on the samples Process yields for n input samples.
func (r *Resampler) OutLen(n int) int {
	if r.l == r.m {
		return n
	}
	return (n+r.taps)*r.l/r.m + 2
}

// Process resamples in and appends the result to out, returning it.
func (r *Resampler) Process(out []int16, in []int16) []int16 {
	if r.l == r.m {
		return append(out, in...)
	}
	for _, s := range in {
		r.buf = append(r.buf, float32(s))
	}
	last := len(r.buf) - 1
	h := r.taps - 1
	for {
		idx := r.pos / r.l // newest input sample this output needs, relative to buf[h]
		if idx+h > last {
			break
		}
		ph := r.bank[r.pos%r.l]
		x := r.buf[idx : idx+r.taps]
		var acc float32
		for k, c := range ph {
			acc += c * x[k]
		}
		out = append(out, clamp16(roundf(acc)))
		r.pos += r.m
	}
	// Drop input no future output needs; keep the history.
	drop := min(r.pos/r.l, len(r.buf)-h)
	if drop > 0 {
		n := copy(r.buf, r.buf[drop:])
		r.buf = r.buf[:n]
		r.pos -= drop * r.l
	}
	return out
}

// Reset clears the filter history.
func (r *Resampler) Reset() {
	if r.l == r.m {
		return
	}
	r.buf = r.buf[:r.taps-1]
	clear(r.buf)
	r.pos = 0
}

func roundf(v float32) float32 {
	if v < 0 {
		return v - 0.5
	}
	return v + 0.5
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// besselI0 is the zeroth-order modified Bessel function of the first kind,
// by its power series (converges fast for the betas used here).
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	for k := 1; k < 50; k++ {
		term *= (x / (2 * float64(k))) * (x / (2 * float64(k)))
		sum += term
		if term < 1e-12*sum {
			break
		}
	}
	return sum
}
