package audio

import (
	"context"
	"math"
	"testing"
	"time"

	"switchboard/audio/audiotest"
)

// TestDriftRingTracksProducer simulates a producer whose clock runs 1000
// ppm fast or slow against a consumer taking one 160-sample frame per
// tick: the ring must settle near its target instead of over- or
// under-flowing, and the tone must survive the correction.
func TestDriftRingTracksProducer(t *testing.T) {
	for _, ppm := range []float64{+1000, -1000, 0} {
		r := NewDriftRing(DriftRingOptions{Capacity: 1600, Target: 480})
		src := audiotest.Sine(440, 8000, 200*time.Second, 0.5)
		frame := make([]int16, 160)
		var out []int16
		var levels []int
		produced, owed := 0, 480.0 // prefill the target
		for tick := range 5000 {   // 100 s of 20 ms ticks
			owed += 160 * (1 + ppm/1e6)
			k := int(owed) - produced
			r.TryWrite(src[produced : produced+k])
			produced += k
			if tick >= 4900 {
				levels = append(levels, r.Len())
			}
			n, err := r.Read(frame)
			if err != nil {
				t.Fatal(err)
			}
			if n < len(frame) && tick > 0 {
				t.Fatalf("%+.0f ppm: underrun at tick %d", ppm, tick)
			}
			if tick >= 4900 {
				out = append(out, frame...)
			}
		}
		st := r.Stats()
		if st.Dropped > 0 {
			t.Errorf("%+.0f ppm: overflowed, dropped %d samples", ppm, st.Dropped)
		}
		mean := 0.0
		for _, l := range levels {
			mean += float64(l) / float64(len(levels))
		}
		if math.Abs(mean-480) > 60 {
			t.Errorf("%+.0f ppm: mean level %.0f, want near 480", ppm, mean)
		}
		if !audiotest.HasTone(out, 8000, 440, 3) {
			t.Errorf("%+.0f ppm: tone damaged (dominant %.1f Hz)", ppm, audiotest.DominantFrequency(out, 8000))
		}
		t.Logf("%+.0f ppm: mean level %.0f correction %+.0f ppm", ppm, mean, st.Correction*1e6)
	}
}

// TestDriftRingBackPressure checks an unclocked producer blocks when the
// ring is full instead of spinning, and resumes as the consumer reads.
func TestDriftRingBackPressure(t *testing.T) {
	r := NewDriftRing(DriftRingOptions{Capacity: 320, Target: 160})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- r.Write(ctx, make([]int16, 800)) }()
	// The writer must fill the ring and wait.
	for r.Len() < 320 {
		time.Sleep(time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("Write returned %v with the ring full", err)
	case <-time.After(20 * time.Millisecond):
	}
	frame := make([]int16, 160)
	read := 0
	for read < 800 {
		n, _ := r.Read(frame)
		read += n
		time.Sleep(time.Millisecond)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// Close unblocks a waiting writer.
	go func() { done <- r.Write(ctx, make([]int16, 1000)) }()
	time.Sleep(10 * time.Millisecond)
	r.Close()
	if err := <-done; err != ErrClosed {
		t.Fatalf("Write after Close = %v, want ErrClosed", err)
	}
}

func TestDriftRingReadWait(t *testing.T) {
	r := NewDriftRing(DriftRingOptions{Capacity: 1000, Target: 320})
	frame := make([]int16, 160)
	start := time.Now()
	n, err := r.ReadWait(context.Background(), frame, 30*time.Millisecond)
	if err != nil || n != 0 {
		t.Fatalf("ReadWait on empty = %d, %v", n, err)
	}
	if time.Since(start) < 25*time.Millisecond {
		t.Error("ReadWait on empty ring returned before its timeout")
	}
	go func() {
		time.Sleep(5 * time.Millisecond)
		r.TryWrite(make([]int16, 200))
	}()
	n, err = r.ReadWait(context.Background(), frame, time.Second)
	if err != nil || n != 160 {
		t.Fatalf("ReadWait = %d, %v, want 160", n, err)
	}
}

func TestDriftRingOverflowKeepsNewest(t *testing.T) {
	r := NewDriftRing(DriftRingOptions{Capacity: 4, Target: 2})
	r.TryWrite([]int16{1, 2, 3})
	r.TryWrite([]int16{4, 5, 6})
	dst := make([]int16, 4)
	n, _ := r.Read(dst)
	if n != 4 || dst[0] != 3 || dst[3] != 6 {
		t.Fatalf("read %d %v, want [3 4 5 6]", n, dst)
	}
	if st := r.Stats(); st.Dropped != 2 {
		t.Errorf("dropped %d, want 2", st.Dropped)
	}
}
