package audio

import (
	"math"
	"strconv"
	"testing"
	"time"

	"switchboard/audio/audiotest"
)

func resampleAll(t testing.TB, in []int16, from, to, chunk int) []int16 {
	r, err := NewResampler(from, to)
	if err != nil {
		t.Fatal(err)
	}
	var out []int16
	for i := 0; i < len(in); i += chunk {
		out = r.Process(out, in[i:min(i+chunk, len(in))])
	}
	return out
}

func TestResamplerTone(t *testing.T) {
	rates := []int{8000, 16000, 44100, 48000}
	for _, from := range rates {
		for _, to := range rates {
			in := audiotest.Sine(1000, from, time.Second, 0.5)
			// Odd chunk sizes exercise the streaming state.
			out := resampleAll(t, in, from, to, 317)
			want := len(in) * to / from
			if d := len(out) - want; d > 2 || d < -200 {
				t.Errorf("%d→%d: %d samples, want about %d", from, to, len(out), want)
			}
			if f := audiotest.DominantFrequency(out, to); math.Abs(f-1000) > 1 {
				t.Errorf("%d→%d: dominant %.2f Hz, want 1000", from, to, f)
			}
			// Level kept: a 0.5 peak sine has RMS 0.354.
			if lvl := audiotest.RMS(out[len(out)/4 : len(out)*3/4]); math.Abs(lvl-0.354) > 0.01 {
				t.Errorf("%d→%d: RMS %.3f, want 0.354", from, to, lvl)
			}
		}
	}
}

// TestResamplerAntiAlias downsamples tones above the new Nyquist frequency:
// without filtering they would fold back as loud spurious tones.
func TestResamplerAntiAlias(t *testing.T) {
	tests := []struct {
		from, to int
		f        float64
	}{
		{48000, 8000, 5000},  // would alias to 3 kHz
		{48000, 8000, 7000},  // would alias to 1 kHz
		{44100, 8000, 6000},  // would alias to 2 kHz
		{48000, 16000, 9000}, // would alias to 7 kHz
	}
	for _, tt := range tests {
		in := audiotest.Sine(tt.f, tt.from, time.Second, 0.9)
		out := resampleAll(t, in, tt.from, tt.to, 960)
		lvl := audiotest.DBFS(audiotest.RMS(out[len(out)/4:]))
		if lvl > -55 {
			t.Errorf("%d→%d, %.0f Hz: residue %.1f dBFS, want below -55", tt.from, tt.to, tt.f, lvl)
		}
	}
	// And a tone inside the pass band survives.
	out := resampleAll(t, audiotest.Sine(3000, 48000, time.Second, 0.5), 48000, 8000, 960)
	if !audiotest.HasTone(out, 8000, 3000, 5) {
		t.Error("3 kHz lost going 48k→8k")
	}
}

func BenchmarkResample(b *testing.B) {
	for _, tt := range []struct{ from, to int }{{48000, 8000}, {8000, 48000}, {48000, 16000}, {16000, 48000}, {44100, 16000}, {48000, 48000}} {
		b.Run(rateName(tt.from)+"-"+rateName(tt.to), func(b *testing.B) {
			r, _ := NewResampler(tt.from, tt.to)
			in := audiotest.Sine(1000, tt.from, 20*time.Millisecond, 0.5)
			out := make([]int16, 0, r.OutLen(len(in)))
			for b.Loop() {
				out = r.Process(out[:0], in)
			}
		})
	}
}

func rateName(r int) string {
	if r%1000 == 0 {
		return strconv.Itoa(r/1000) + "k"
	}
	return strconv.Itoa(r)
}
