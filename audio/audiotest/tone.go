// Package audiotest holds what tests of Switchboard's audio path need to
// prove that sound really travelled: tone generation, frequency detection
// (Goertzel and FFT), raw and WAV file I/O, ALSA file devices that let
// PortAudio run without a sound card, and a loopback RTP transport over
// real UDP sockets on 127.0.0.1.
//
// It is used by the audio room's own tests and by the SIP lab tests. It
// does not import the audio package, so any package may use it.
package audiotest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/cmplx"
	"os"
	"time"
)

// Sine returns a sine tone of freq Hz at rate samples/s lasting dur, with
// peak amplitude amp (0..1 of full scale).
func Sine(freq float64, rate int, dur time.Duration, amp float64) []int16 {
	n := int(dur.Seconds() * float64(rate))
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(math.Round(amp * 32767 * math.Sin(2*math.Pi*freq*float64(i)/float64(rate))))
	}
	return out
}

// WriteRaw writes pcm as raw signed 16-bit little-endian samples, the
// format the ALSA file devices of SetupALSA read and write.
func WriteRaw(path string, pcm []int16) error {
	b := make([]byte, 2*len(pcm))
	for i, s := range pcm {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(s))
	}
	return os.WriteFile(path, b, 0o644)
}

// ReadRaw reads raw signed 16-bit little-endian samples.
func ReadRaw(path string) ([]int16, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return BytesToPCM(b), nil
}

// BytesToPCM converts little-endian 16-bit sample bytes to samples; an odd
// trailing byte is ignored.
func BytesToPCM(b []byte) []int16 {
	out := make([]int16, len(b)/2)
	for i := range out {
		out[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
	}
	return out
}

// WAV is a decoded 16-bit PCM WAV file; Samples are interleaved.
type WAV struct {
	Rate     int
	Channels int
	Samples  []int16
}

// Channel returns one channel (0-based) of the interleaved samples.
func (w WAV) Channel(ch int) []int16 {
	if w.Channels <= 1 {
		return w.Samples
	}
	out := make([]int16, len(w.Samples)/w.Channels)
	for i := range out {
		out[i] = w.Samples[i*w.Channels+ch]
	}
	return out
}

// Duration is the play time of the file.
func (w WAV) Duration() time.Duration {
	if w.Rate == 0 || w.Channels == 0 {
		return 0
	}
	return time.Duration(len(w.Samples)/w.Channels) * time.Second / time.Duration(w.Rate)
}

// WriteWAV writes 16-bit PCM samples (interleaved when channels > 1) as a
// canonical WAV file.
func WriteWAV(path string, pcm []int16, rate, channels int) error {
	data := 2 * len(pcm)
	h := make([]byte, 44, 44+data)
	copy(h[0:], "RIFF")
	binary.LittleEndian.PutUint32(h[4:], uint32(36+data))
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)
	binary.LittleEndian.PutUint16(h[20:], 1)
	binary.LittleEndian.PutUint16(h[22:], uint16(channels))
	binary.LittleEndian.PutUint32(h[24:], uint32(rate))
	binary.LittleEndian.PutUint32(h[28:], uint32(rate*channels*2))
	binary.LittleEndian.PutUint16(h[32:], uint16(channels*2))
	binary.LittleEndian.PutUint16(h[34:], 16)
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], uint32(data))
	for _, s := range pcm {
		h = binary.LittleEndian.AppendUint16(h, uint16(s))
	}
	return os.WriteFile(path, h, 0o644)
}

// ReadWAV reads a 16-bit PCM WAV file, such as baresip's sndfile module
// writes. A data chunk whose size field is 0 or too large (a file still
// being written) is read to the end of the file.
func ReadWAV(path string) (WAV, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return WAV{}, err
	}
	return ParseWAV(b)
}

// ParseWAV decodes a 16-bit PCM WAV image.
func ParseWAV(b []byte) (WAV, error) {
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return WAV{}, errors.New("audiotest: not a RIFF/WAVE file")
	}
	var w WAV
	var bits int
	p := 12
	for p+8 <= len(b) {
		id := string(b[p : p+4])
		size := int(binary.LittleEndian.Uint32(b[p+4:]))
		body := b[p+8:]
		switch id {
		case "fmt ":
			if size < 16 || len(body) < 16 {
				return WAV{}, errors.New("audiotest: short fmt chunk")
			}
			format := binary.LittleEndian.Uint16(body[0:])
			w.Channels = int(binary.LittleEndian.Uint16(body[2:]))
			w.Rate = int(binary.LittleEndian.Uint32(body[4:]))
			bits = int(binary.LittleEndian.Uint16(body[14:]))
			if format != 1 && format != 0xfffe {
				return WAV{}, fmt.Errorf("audiotest: WAV format %d is not PCM", format)
			}
		case "data":
			if bits != 16 {
				return WAV{}, fmt.Errorf("audiotest: %d-bit WAV, want 16-bit", bits)
			}
			if size == 0 || size > len(body) {
				size = len(body)
			}
			w.Samples = BytesToPCM(body[:size])
			return w, nil
		}
		p += 8 + size + size&1
	}
	return WAV{}, io.ErrUnexpectedEOF
}

// RMS is the root mean square of samples, relative to full scale (0..1).
func RMS(samples []int16) float64 {
	if len(samples) == 0 {
		return 0
	}
	var e float64
	for _, s := range samples {
		e += float64(s) * float64(s)
	}
	return math.Sqrt(e/float64(len(samples))) / 32768
}

// DBFS converts a 0..1 level to dB relative to full scale (-120 for silence).
func DBFS(level float64) float64 {
	if level <= 1e-6 {
		return -120
	}
	return 20 * math.Log10(level)
}

// Goertzel returns the power of samples at freq Hz relative to the total
// signal power, between 0 (absent) and about 1 (a pure tone at freq).
func Goertzel(samples []int16, rate int, freq float64) float64 {
	n := len(samples)
	if n == 0 {
		return 0
	}
	w := 2 * math.Pi * freq / float64(rate)
	coeff := 2 * math.Cos(w)
	var s1, s2, total float64
	for _, v := range samples {
		x := float64(v)
		total += x * x
		s0 := x + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	if total == 0 {
		return 0
	}
	power := s1*s1 + s2*s2 - coeff*s1*s2
	// A pure tone of amplitude A over n samples gives power (A n / 2)^2 and
	// total energy A^2 n / 2; normalise so that case yields 1.
	return power / (total * float64(n) / 2)
}

// spectrum returns the squared magnitudes of a Hann-windowed FFT over up to
// the central 2^16 samples, and the width of one bin in Hz.
func spectrum(samples []int16, rate int) ([]float64, float64) {
	n := 1
	for n*2 <= len(samples) && n < 1<<16 {
		n *= 2
	}
	if n < 64 {
		return nil, 0
	}
	start := (len(samples) - n) / 2
	x := make([]complex128, n)
	for i := range n {
		hann := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n-1))
		x[i] = complex(float64(samples[start+i])*hann, 0)
	}
	fft(x)
	p := make([]float64, n/2)
	for i := 1; i < n/2; i++ {
		a := cmplx.Abs(x[i])
		p[i] = a * a
	}
	return p, float64(rate) / float64(n)
}

// DominantFrequency estimates the strongest frequency in samples (Hz),
// using a Hann-windowed FFT with parabolic interpolation between bins. It
// returns 0 for silence or fewer than 64 samples.
func DominantFrequency(samples []int16, rate int) float64 {
	p, bin := spectrum(samples, rate)
	if p == nil {
		return 0
	}
	best := 1
	for i := 1; i < len(p); i++ {
		if p[i] > p[best] {
			best = i
		}
	}
	if p[best] == 0 {
		return 0
	}
	delta := 0.0
	if best > 1 && best < len(p)-1 {
		a, b, c := math.Log(p[best-1]+1e-12), math.Log(p[best]+1e-12), math.Log(p[best+1]+1e-12)
		if d := a - 2*b + c; d != 0 {
			delta = 0.5 * (a - c) / d
		}
	}
	return (float64(best) + delta) * bin
}

// ToneRatio is the share (0..1) of the signal's energy that lies within
// tolerance Hz of freq (at least three FFT bins either side).
func ToneRatio(samples []int16, rate int, freq, tolerance float64) float64 {
	p, bin := spectrum(samples, rate)
	if p == nil {
		return 0
	}
	tol := max(tolerance, 3*bin)
	var in, total float64
	for i, v := range p {
		total += v
		if math.Abs(float64(i)*bin-freq) <= tol {
			in += v
		}
	}
	if total == 0 {
		return 0
	}
	return in / total
}

// HasTone reports whether samples carry a tone at freq Hz: the dominant
// frequency is within tolerance Hz of freq and over half of the signal's
// energy lies there. Silence and noise do not pass.
func HasTone(samples []int16, rate int, freq, tolerance float64) bool {
	if RMS(samples) < 1e-3 {
		return false
	}
	f := DominantFrequency(samples, rate)
	if math.Abs(f-freq) > tolerance {
		return false
	}
	return ToneRatio(samples, rate, freq, tolerance) > 0.5
}

// Active returns the part of samples between the first and the last 10 ms
// window whose level exceeds thresholdDBFS, so tests can skip the silence
// before a call connects.
func Active(samples []int16, rate int, thresholdDBFS float64) []int16 {
	w := max(rate/100, 1)
	first, last := -1, -1
	for i := 0; i+w <= len(samples); i += w {
		if DBFS(RMS(samples[i:i+w])) > thresholdDBFS {
			if first < 0 {
				first = i
			}
			last = i + w
		}
	}
	if first < 0 {
		return nil
	}
	return samples[first:last]
}

// fft is an in-place iterative radix-2 Cooley-Tukey transform; len(x) must
// be a power of two.
func fft(x []complex128) {
	n := len(x)
	for i, j := 1, 0; i < n; i++ {
		bit := n >> 1
		for ; j&bit != 0; bit >>= 1 {
			j ^= bit
		}
		j ^= bit
		if i < j {
			x[i], x[j] = x[j], x[i]
		}
	}
	for size := 2; size <= n; size <<= 1 {
		step := cmplx.Exp(complex(0, -2*math.Pi/float64(size)))
		for start := 0; start < n; start += size {
			w := complex(1, 0)
			for k := range size / 2 {
				a, b := x[start+k], x[start+k+size/2]*w
				x[start+k], x[start+k+size/2] = a+b, a-b
				w *= step
			}
		}
	}
}
