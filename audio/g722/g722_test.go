package g722_test

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"switchboard/audio/audiotest"
	"switchboard/audio/g722"
	"switchboard/audio/g722/internal/spandsp"
)

// testSignal mixes tones across both sub-bands, a sweep and noise, with
// loud passages that drive the quantisers to their limits.
func testSignal(n int) []int16 {
	rnd := rand.New(rand.NewPCG(7, 9))
	out := make([]int16, n)
	for i := range out {
		t := float64(i) / 16000
		v := 9000*math.Sin(2*math.Pi*440*t) +
			6000*math.Sin(2*math.Pi*5200*t) +
			5000*math.Sin(2*math.Pi*(200+3000*t)*t) +
			2000*rnd.NormFloat64()
		if (i/4000)%3 == 2 {
			v *= 2.2 // clipping passages
		}
		out[i] = int16(max(-32768, min(32767, v)))
	}
	return out
}

func encodeAll(pcm []int16, chunk int) []byte {
	enc := g722.NewEncoder()
	out := make([]byte, 0, len(pcm)/2)
	buf := make([]byte, chunk/2)
	for i := 0; i+chunk <= len(pcm); i += chunk {
		n := enc.Encode(buf, pcm[i:i+chunk])
		out = append(out, buf[:n]...)
	}
	return out
}

func decodeAll(data []byte, chunk int) []int16 {
	dec := g722.NewDecoder()
	out := make([]int16, 0, 2*len(data))
	buf := make([]int16, 2*chunk)
	for i := 0; i+chunk <= len(data); i += chunk {
		n := dec.Decode(buf, data[i:i+chunk])
		out = append(out, buf[:n]...)
	}
	return out
}

// TestMatchesSpandsp proves bitstream interoperability with spandsp, the
// G.722 implementation behind baresip's g722 module: the same input must
// give the same octets, and the same octets the same PCM.
func TestMatchesSpandsp(t *testing.T) {
	if err := spandsp.Available(); err != nil {
		t.Skipf("cannot compare with spandsp: %v", err)
	}
	pcm := testSignal(16000 * 3)
	ours := encodeAll(pcm, 320)
	theirs := spandsp.Encode(pcm)
	if len(ours) != len(theirs) {
		t.Fatalf("encoded %d octets, spandsp %d", len(ours), len(theirs))
	}
	for i := range ours {
		if ours[i] != theirs[i] {
			t.Fatalf("octet %d: got %#02x, spandsp %#02x", i, ours[i], theirs[i])
		}
	}
	decOurs := decodeAll(theirs, 160)
	decTheirs := spandsp.Decode(theirs)
	if len(decOurs) != len(decTheirs) {
		t.Fatalf("decoded %d samples, spandsp %d", len(decOurs), len(decTheirs))
	}
	wrapped := 0
	for i := range decOurs {
		if decOurs[i] == decTheirs[i] {
			continue
		}
		// spandsp 0.0.6 casts the QMF output to int16 without saturation,
		// so overloads wrap around; this decoder clips instead, as later
		// spandsp releases and the ITU reference do. Only that may differ.
		if (decOurs[i] == 32767 && decTheirs[i] < 0) || (decOurs[i] == -32768 && decTheirs[i] > 0) {
			wrapped++
			continue
		}
		t.Fatalf("sample %d: got %d, spandsp %d", i, decOurs[i], decTheirs[i])
	}
	t.Logf("%d octets and %d samples identical to spandsp; %d overload samples clipped where spandsp wraps", len(ours), len(decOurs)-wrapped, wrapped)
}

func snr(ref, got []int16, delay int) float64 {
	var sig, noise float64
	for i := 1000; i+delay < len(got) && i < len(ref); i++ {
		s := float64(ref[i])
		e := float64(got[i+delay]) - s
		sig += s * s
		noise += e * e
	}
	return 10 * math.Log10(sig/noise)
}

func TestSineRoundTrip(t *testing.T) {
	for _, f := range []float64{300, 1000, 3000, 6000} {
		pcm := audiotest.Sine(f, 16000, time.Second, 0.5)
		got := decodeAll(encodeAll(pcm, 320), 160)
		if dom := audiotest.DominantFrequency(got, 16000); math.Abs(dom-f) > 2 {
			t.Errorf("%v Hz: dominant frequency after coding %.1f Hz", f, dom)
		}
		// The two QMF stages delay the signal by 22 samples.
		if s := snr(pcm, got, 22); s < 25 {
			t.Errorf("%v Hz: SNR %.1f dB, want at least 25 dB", f, s)
		} else {
			t.Logf("%v Hz: SNR %.1f dB", f, s)
		}
	}
}

func TestOctetLayout(t *testing.T) {
	// Silence codes to a steady low-band code with the high band at its
	// smallest magnitude; the two high bits hold the high band.
	enc := g722.NewEncoder()
	out := make([]byte, 80)
	enc.Encode(out, make([]int16, 160))
	last := out[len(out)-1]
	if hi := last >> 6; hi != 1 && hi != 3 {
		t.Errorf("silence high-band code %d, want an inner level (1 or 3)", hi)
	}
}

func BenchmarkEncode20ms(b *testing.B) {
	pcm := audiotest.Sine(1000, 16000, 20*time.Millisecond, 0.5)
	enc := g722.NewEncoder()
	out := make([]byte, 160)
	for b.Loop() {
		enc.Encode(out, pcm)
	}
}

func BenchmarkDecode20ms(b *testing.B) {
	data := encodeAll(audiotest.Sine(1000, 16000, 20*time.Millisecond, 0.5), 320)
	dec := g722.NewDecoder()
	out := make([]int16, 320)
	for b.Loop() {
		dec.Decode(out, data)
	}
}

// FuzzDecode feeds arbitrary octets from the network: any byte is a valid
// code, so decoding must never panic and must yield two samples per octet.
func FuzzDecode(f *testing.F) {
	f.Add([]byte{0x00, 0xff, 0x7f, 0x80})
	f.Add(encodeAll(audiotest.Sine(1000, 16000, 20*time.Millisecond, 0.9), 320))
	f.Fuzz(func(t *testing.T, data []byte) {
		dec := g722.NewDecoder()
		out := make([]int16, 2*len(data))
		if n := dec.Decode(out, data); n != 2*len(data) {
			t.Fatalf("decoded %d samples from %d octets", n, len(data))
		}
	})
}
