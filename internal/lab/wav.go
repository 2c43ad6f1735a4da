package lab

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"time"
)

// WriteToneWAV writes a mono 16-bit PCM WAV file holding a sine at freq Hz,
// sampled at rate Hz, lasting d, at amplitude amp (0..1 of full scale).
func WriteToneWAV(path string, freq float64, rate int, d time.Duration, amp float64) error {
	if rate <= 0 || freq <= 0 || freq >= float64(rate)/2 {
		return fmt.Errorf("lab: tone %v Hz cannot be sampled at %d Hz", freq, rate)
	}
	n := int(d.Seconds() * float64(rate))
	samples := make([]int16, n)
	for i := range samples {
		samples[i] = int16(amp * 32767 * math.Sin(2*math.Pi*freq*float64(i)/float64(rate)))
	}
	return WriteWAV(path, samples, rate)
}

// WriteWAV writes mono 16-bit little-endian PCM samples as a WAV file.
func WriteWAV(path string, samples []int16, rate int) error {
	buf := make([]byte, 44+2*len(samples))
	copy(buf[0:], "RIFF")
	binary.LittleEndian.PutUint32(buf[4:], uint32(36+2*len(samples)))
	copy(buf[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(buf[16:], 16)
	binary.LittleEndian.PutUint16(buf[20:], 1) // PCM
	binary.LittleEndian.PutUint16(buf[22:], 1) // mono
	binary.LittleEndian.PutUint32(buf[24:], uint32(rate))
	binary.LittleEndian.PutUint32(buf[28:], uint32(rate*2))
	binary.LittleEndian.PutUint16(buf[32:], 2)
	binary.LittleEndian.PutUint16(buf[34:], 16)
	copy(buf[36:], "data")
	binary.LittleEndian.PutUint32(buf[40:], uint32(2*len(samples)))
	for i, s := range samples {
		binary.LittleEndian.PutUint16(buf[44+2*i:], uint16(s))
	}
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		return fmt.Errorf("lab: write WAV: %w", err)
	}
	return nil
}

// ReadWAV reads a 16-bit PCM WAV file and returns the samples of its first
// channel and the sample rate. It accepts files whose sizes were never
// finalised (baresip's sndfile only fixes the header when a call ends), by
// reading the data chunk to the end of the file.
func ReadWAV(path string) ([]int16, int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, fmt.Errorf("lab: read WAV: %w", err)
	}
	s, rate, err := ParseWAV(b)
	if err != nil {
		return nil, 0, fmt.Errorf("lab: %s: %w", path, err)
	}
	return s, rate, nil
}

// ParseWAV decodes a 16-bit PCM WAV image (see ReadWAV).
func ParseWAV(b []byte) ([]int16, int, error) {
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, 0, errors.New("not a RIFF/WAVE file")
	}
	var (
		rate, channels, bits int
		haveFmt              bool
	)
	p := 12
	for p+8 <= len(b) {
		id := string(b[p : p+4])
		size := int(binary.LittleEndian.Uint32(b[p+4 : p+8]))
		body := p + 8
		switch id {
		case "fmt ":
			if size < 16 || body+16 > len(b) {
				return nil, 0, errors.New("short fmt chunk")
			}
			format := binary.LittleEndian.Uint16(b[body:])
			channels = int(binary.LittleEndian.Uint16(b[body+2:]))
			rate = int(binary.LittleEndian.Uint32(b[body+4:]))
			bits = int(binary.LittleEndian.Uint16(b[body+14:]))
			if format != 1 && format != 0xFFFE {
				return nil, 0, fmt.Errorf("WAV format %d is not PCM", format)
			}
			if bits != 16 || channels < 1 || rate <= 0 {
				return nil, 0, fmt.Errorf("want 16-bit PCM, got %d bits, %d channels, %d Hz", bits, channels, rate)
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return nil, 0, errors.New("data chunk before fmt chunk")
			}
			end := body + size
			if size == 0 || size < 0 || end > len(b) {
				end = len(b) // header not finalised yet
			}
			frame := 2 * channels
			n := (end - body) / frame
			out := make([]int16, n)
			for i := range out {
				out[i] = int16(binary.LittleEndian.Uint16(b[body+i*frame:]))
			}
			return out, rate, nil
		}
		if size < 0 || body+size < body {
			break
		}
		p = body + size + size%2
	}
	if !haveFmt {
		return nil, 0, errors.New("no fmt chunk")
	}
	return nil, rate, io.ErrUnexpectedEOF
}

// ToneRatio returns how much of the energy of samples lies at freq Hz, from
// 0 (none) to about 1 (a pure sine at freq), using the Goertzel filter.
func ToneRatio(samples []int16, rate int, freq float64) float64 {
	n := len(samples)
	if n == 0 {
		return 0
	}
	coeff := 2 * math.Cos(2*math.Pi*freq/float64(rate))
	var s1, s2, energy float64
	for _, v := range samples {
		x := float64(v)
		s0 := x + coeff*s1 - s2
		s2, s1 = s1, s0
		energy += x * x
	}
	if energy == 0 {
		return 0
	}
	power := s1*s1 + s2*s2 - coeff*s1*s2
	return power / (energy * float64(n) / 2)
}

// toneBlock is the analysis block of HasTone: 50 ms resolves tones 20 Hz
// apart and is short enough to skip the silence at the start of a call.
const toneBlock = 50 * time.Millisecond

// HasTone reports whether a sine at freq Hz dominates the audible part of
// samples: at least 60% of the non-silent 50 ms blocks (and at least five
// of them, a quarter second) carry at least half their energy at freq.
// Silent blocks are ignored because calls begin and end with silence.
func HasTone(samples []int16, rate int, freq float64) bool {
	tone, loud := toneBlocks(samples, rate, freq)
	return tone >= 5 && tone*10 >= loud*6
}

func toneBlocks(samples []int16, rate int, freq float64) (tone, loud int) {
	bs := int(toneBlock.Seconds() * float64(rate))
	if bs <= 0 {
		return 0, 0
	}
	for i := 0; i+bs <= len(samples); i += bs {
		blk := samples[i : i+bs]
		if rms(blk) < 100 { // about -50 dBFS
			continue
		}
		loud++
		if ToneRatio(blk, rate, freq) >= 0.5 {
			tone++
		}
	}
	return tone, loud
}

func rms(s []int16) float64 {
	if len(s) == 0 {
		return 0
	}
	var e float64
	for _, v := range s {
		e += float64(v) * float64(v)
	}
	return math.Sqrt(e / float64(len(s)))
}

// DominantFrequency returns the frequency, to 10 Hz, between 100 Hz and
// min(4000 Hz, rate/2) that carries the most energy in samples (at most
// the first second of audible audio is analysed), or 0 for silence.
func DominantFrequency(samples []int16, rate int) float64 {
	// Skip leading silence so a late start does not hide the tone.
	bs := rate / 100
	start := 0
	for start+bs <= len(samples) && rms(samples[start:start+bs]) < 100 {
		start += bs
	}
	seg := samples[start:]
	if len(seg) > rate {
		seg = seg[:rate]
	}
	if rms(seg) < 100 {
		return 0
	}
	top := math.Min(4000, float64(rate)/2-10)
	best, bestRatio := 0.0, 0.0
	for f := 100.0; f <= top; f += 10 {
		if r := ToneRatio(seg, rate, f); r > bestRatio {
			best, bestRatio = f, r
		}
	}
	return best
}
