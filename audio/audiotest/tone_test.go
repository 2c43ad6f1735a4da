package audiotest

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"
)

func TestDominantFrequency(t *testing.T) {
	for _, tt := range []struct {
		f    float64
		rate int
	}{{440, 8000}, {1000, 16000}, {3400, 8000}, {600, 48000}, {7000, 16000}} {
		got := DominantFrequency(Sine(tt.f, tt.rate, 500*time.Millisecond, 0.3), tt.rate)
		if math.Abs(got-tt.f) > 1 {
			t.Errorf("%v Hz at %d: got %.2f", tt.f, tt.rate, got)
		}
	}
	if DominantFrequency(make([]int16, 10), 8000) != 0 {
		t.Error("short input should give 0")
	}
}

func TestHasTone(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 1))
	noise := make([]int16, 16000)
	for i := range noise {
		noise[i] = int16(rnd.NormFloat64() * 5000)
	}
	twoTones := Sine(500, 16000, time.Second, 0.4)
	for i, v := range Sine(1500, 16000, time.Second, 0.4) {
		twoTones[i] += v
	}
	noisyTone := Sine(1000, 16000, time.Second, 0.5)
	for i := range noisyTone {
		noisyTone[i] += noise[i] / 4
	}
	tests := []struct {
		name string
		pcm  []int16
		want bool
	}{
		{"tone", Sine(1000, 16000, time.Second, 0.5), true},
		{"noisy tone", noisyTone, true},
		{"other tone", Sine(1200, 16000, time.Second, 0.5), false},
		{"silence", make([]int16, 16000), false},
		{"noise", noise, false},
		{"two tones", twoTones, false},
	}
	for _, tt := range tests {
		if got := HasTone(tt.pcm, 16000, 1000, 10); got != tt.want {
			t.Errorf("%s: HasTone = %v, want %v (dominant %.1f, ratio %.2f)", tt.name, got, tt.want,
				DominantFrequency(tt.pcm, 16000), ToneRatio(tt.pcm, 16000, 1000, 10))
		}
	}
}

func TestGoertzel(t *testing.T) {
	pcm := Sine(1000, 8000, 100*time.Millisecond, 0.5)
	if g := Goertzel(pcm, 8000, 1000); g < 0.95 || g > 1.05 {
		t.Errorf("Goertzel at the tone = %.3f, want about 1", g)
	}
	if g := Goertzel(pcm, 8000, 1500); g > 0.01 {
		t.Errorf("Goertzel off the tone = %.3f, want about 0", g)
	}
}

func TestWAVRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.wav")
	stereo := []int16{1, -1, 2, -2, 32767, -32768}
	if err := WriteWAV(path, stereo, 16000, 2); err != nil {
		t.Fatal(err)
	}
	w, err := ReadWAV(path)
	if err != nil {
		t.Fatal(err)
	}
	if w.Rate != 16000 || w.Channels != 2 || len(w.Samples) != 6 || w.Channel(1)[2] != -32768 {
		t.Errorf("read back %+v", w)
	}
	if d := w.Duration(); d != 3*time.Second/16000 {
		t.Errorf("duration %v", d)
	}
}

func TestActive(t *testing.T) {
	pcm := append(make([]int16, 8000), Sine(1000, 8000, time.Second, 0.5)...)
	pcm = append(pcm, make([]int16, 4000)...)
	a := Active(pcm, 8000, -40)
	if len(a) < 7900 || len(a) > 8100 {
		t.Errorf("active part %d samples, want about 8000", len(a))
	}
}

// FuzzParseWAV: WAV files come from other programs (baresip); the parser
// must reject garbage without panicking.
func FuzzParseWAV(f *testing.F) {
	f.Add([]byte("RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x40\x1f\x00\x00\x80\x3e\x00\x00\x02\x00\x10\x00data\x00\x00\x00\x00"))
	f.Add([]byte("RIFF"))
	f.Fuzz(func(t *testing.T, b []byte) {
		w, err := ParseWAV(b)
		if err == nil && w.Channels > 0 {
			w.Channel(0)
			w.Duration()
		}
	})
}
