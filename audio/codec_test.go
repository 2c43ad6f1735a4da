package audio

import (
	"math"
	"testing"
	"time"

	"switchboard/audio/audiotest"
)

func TestLookupCodec(t *testing.T) {
	tests := []struct {
		in     string
		name   string
		pt     uint8
		clock  int
		rate   int
		frame  int
		ticks  uint32
		rtpmap string
	}{
		{"pcmu", "pcmu", 0, 8000, 8000, 160, 160, "PCMU/8000"},
		{"PCMA/8000", "pcma", 8, 8000, 8000, 160, 160, "PCMA/8000"},
		{"G722", "g722", 9, 8000, 16000, 320, 160, "G722/8000"},
		{"opus/48000/2", "opus", 111, 48000, 48000, 960, 960, "opus/48000/2"},
	}
	for _, tt := range tests {
		c, ok := LookupCodec(tt.in)
		if !ok {
			t.Fatalf("LookupCodec(%q) not found", tt.in)
		}
		if c.Name != tt.name || c.PayloadType != tt.pt || c.ClockRate != tt.clock || c.SampleRate != tt.rate ||
			c.FrameSamples() != tt.frame || c.FrameTicks() != tt.ticks || c.String() != tt.rtpmap {
			t.Errorf("LookupCodec(%q) = %+v frame %d ticks %d %q", tt.in, c, c.FrameSamples(), c.FrameTicks(), c)
		}
	}
	if _, ok := LookupCodec("g729"); ok {
		t.Error("g729 should be unknown")
	}
	if _, err := NewEncoder(Codec{Name: "g729"}); err == nil {
		t.Error("NewEncoder(g729) should fail")
	}
}

// TestCodecRoundTrip encodes a 1 kHz tone frame by frame and checks the
// decoded audio keeps the frequency with a good signal-to-noise ratio.
func TestCodecRoundTrip(t *testing.T) {
	for _, c := range Codecs() {
		t.Run(c.Name, func(t *testing.T) {
			enc, err := NewEncoder(c)
			if err != nil {
				t.Fatal(err)
			}
			dec, err := NewDecoder(c)
			if err != nil {
				t.Fatal(err)
			}
			pcm := audiotest.Sine(1000, c.SampleRate, time.Second, 0.5)
			fs := c.FrameSamples()
			payload := make([]byte, 1500)
			out := make([]int16, 0, len(pcm))
			frame := make([]int16, fs)
			maxPayload := 0
			for i := 0; i+fs <= len(pcm); i += fs {
				n, err := enc.Encode(pcm[i:i+fs], payload)
				if err != nil {
					t.Fatal(err)
				}
				maxPayload = max(maxPayload, n)
				m, err := dec.Decode(payload[:n], frame)
				if err != nil {
					t.Fatal(err)
				}
				if m != fs {
					t.Fatalf("decoded %d samples, want %d", m, fs)
				}
				out = append(out, frame[:m]...)
			}
			if f := audiotest.DominantFrequency(out, c.SampleRate); math.Abs(f-1000) > 3 {
				t.Errorf("dominant frequency %.1f Hz, want 1000", f)
			}
			if !audiotest.HasTone(out[len(out)/4:], c.SampleRate, 1000, 10) {
				t.Error("decoded audio has no clean 1 kHz tone")
			}
			t.Logf("payload %d bytes per 20 ms", maxPayload)
		})
	}
}

// TestConceal checks concealment continues a tone through a short loss
// and fades to silence over a long one.
func TestConceal(t *testing.T) {
	for _, c := range Codecs() {
		t.Run(c.Name, func(t *testing.T) {
			enc, _ := NewEncoder(c)
			dec, _ := NewDecoder(c)
			fs := c.FrameSamples()
			pcm := audiotest.Sine(440, c.SampleRate, 400*time.Millisecond, 0.5)
			payload := make([]byte, 1500)
			frame := make([]int16, fs)
			for i := 0; i+fs <= len(pcm); i += fs {
				n, _ := enc.Encode(pcm[i:i+fs], payload)
				if _, err := dec.Decode(payload[:n], frame); err != nil {
					t.Fatal(err)
				}
			}
			n, err := dec.Conceal(frame)
			if err != nil || n != fs {
				t.Fatalf("Conceal = %d, %v", n, err)
			}
			first := audiotest.RMS(frame)
			if first < 0.15 {
				t.Errorf("first concealed frame RMS %.3f, want the tone continued (~0.35)", first)
			}
			var last float64
			for range 10 {
				dec.Conceal(frame)
				last = audiotest.RMS(frame)
			}
			// Opus fades on its own schedule; the others reach silence.
			want := 0.01
			if c.Name == "opus" {
				want = first / 2
			}
			if last > want {
				t.Errorf("after 220 ms of loss RMS %.3f, want below %.3f", last, want)
			}
		})
	}
}

func BenchmarkEncode(b *testing.B) {
	for _, c := range Codecs() {
		b.Run(c.Name, func(b *testing.B) {
			enc, _ := NewEncoder(c)
			pcm := audiotest.Sine(1000, c.SampleRate, 20*time.Millisecond, 0.5)
			payload := make([]byte, 1500)
			for b.Loop() {
				if _, err := enc.Encode(pcm, payload); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, c := range Codecs() {
		b.Run(c.Name, func(b *testing.B) {
			enc, _ := NewEncoder(c)
			dec, _ := NewDecoder(c)
			pcm := audiotest.Sine(1000, c.SampleRate, 20*time.Millisecond, 0.5)
			payload := make([]byte, 1500)
			n, _ := enc.Encode(pcm, payload)
			out := make([]int16, c.FrameSamples())
			for b.Loop() {
				if _, err := dec.Decode(payload[:n], out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// FuzzDecode feeds arbitrary payloads, as a hostile or broken peer might
// send, to every decoder: errors are fine, panics are not.
func FuzzDecode(f *testing.F) {
	f.Add(uint8(0), []byte{0xff, 0x7f, 0x00})
	f.Add(uint8(3), []byte{0xfc, 0xff, 0xfe})
	f.Fuzz(func(t *testing.T, which uint8, payload []byte) {
		cs := Codecs()
		c := cs[int(which)%len(cs)]
		dec, err := NewDecoder(c)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]int16, 5760)
		if len(payload) > 1500 {
			payload = payload[:1500]
		}
		dec.Decode(payload, out)
		dec.Conceal(out)
	})
}
