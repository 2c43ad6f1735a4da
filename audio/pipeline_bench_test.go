package audio

import (
	"testing"
	"time"

	"switchboard/audio/audiotest"
)

// BenchmarkPipelineFrame measures the work of one 20 ms tick in both
// directions, without devices or sockets: 48 kHz mic block → resample →
// mic ring → encode, and jitter buffer → decode → speaker ring → resample
// to 48 kHz. The budget is 20 ms per tick; a few percent of one core is
// the goal.
func BenchmarkPipelineFrame(b *testing.B) {
	for _, c := range Codecs() {
		b.Run(c.Name, func(b *testing.B) {
			enc, _ := NewEncoder(c)
			dec, _ := NewDecoder(c)
			fs := c.FrameSamples()
			micRS, _ := NewResampler(48000, c.SampleRate)
			spkRS, _ := NewResampler(c.SampleRate, 48000)
			micR := NewDriftRing(DriftRingOptions{Capacity: 6 * fs, Target: 3 * fs})
			spkR := NewDriftRing(DriftRingOptions{Capacity: 12 * fs, Target: 2 * fs})
			jb := NewJitterBuffer(JitterOptions{ClockRate: c.ClockRate})
			block := audiotest.Sine(1000, 48000, 20*time.Millisecond, 0.5)
			local := make([]int16, fs)
			remote := make([]int16, fs)
			payload := make([]byte, 1500)
			jbuf := make([]byte, 1500)
			var rsOut, devOut []int16
			now := time.Now()
			seq := uint16(0)
			for i := range 3 {
				micR.TryWrite(micRS.Process(nil, block))
				_ = i
			}
			for b.Loop() {
				// Send.
				rsOut = micRS.Process(rsOut[:0], block)
				micR.TryWrite(rsOut)
				micR.Read(local)
				n, _ := enc.Encode(local, payload)
				// Receive (loop the payload back).
				now = now.Add(20 * time.Millisecond)
				jb.Push(seq, uint32(seq)*c.FrameTicks(), payload[:n], now)
				seq++
				if m, _, st := jb.Pop(jbuf); st == JitterPacket {
					dec.Decode(jbuf[:m], remote)
				} else {
					dec.Conceal(remote)
				}
				spkR.TryWrite(remote)
				spkR.Read(local)
				devOut = spkRS.Process(devOut[:0], local)
			}
		})
	}
}
