package audio

import (
	"context"
	"errors"
	"math"
	"sync"
)

// Level is a meter reading in dBFS (0 is full scale, -100 silence).
type Level struct {
	RMS  float64
	Peak float64
}

// SilenceDBFS is the floor of every meter reading.
const SilenceDBFS = -100

// LevelMeter measures a PCM stream for a live meter: the RMS of the last
// frame, and a peak that holds and then falls at 20 dB per second, like a
// hardware PPM, so short peaks stay visible to the eye. Safe for one
// writer and any number of readers.
type LevelMeter struct {
	mu   sync.Mutex
	rms  float64 // linear, 0..1
	peak float64 // linear, 0..1
}

// peakDecay is the per-update factor of a 20 dB/s fall at 50 updates/s.
var peakDecay = math.Pow(10, -20.0/20/framesPerSecond)

// Update feeds one frame.
func (m *LevelMeter) Update(pcm []int16) {
	var sum float64
	var pk int32
	for _, s := range pcm {
		v := int32(s)
		sum += float64(v) * float64(v)
		if v < 0 {
			v = -v
		}
		pk = max(pk, v)
	}
	rms := 0.0
	if len(pcm) > 0 {
		rms = math.Sqrt(sum/float64(len(pcm))) / 32768
	}
	m.mu.Lock()
	m.rms = rms
	m.peak = max(m.peak*peakDecay, float64(pk)/32768)
	m.mu.Unlock()
}

// Level returns the current reading.
func (m *LevelMeter) Level() Level {
	m.mu.Lock()
	defer m.mu.Unlock()
	return Level{RMS: toDBFS(m.rms), Peak: toDBFS(m.peak)}
}

func toDBFS(v float64) float64 {
	if v <= 1e-5 {
		return SilenceDBFS
	}
	return math.Max(SilenceDBFS, 20*math.Log10(v))
}

// MonitorInput reads the named microphone ("" for the default) into m
// until ctx ends, for the settings screen's live meter outside a call.
func (s *System) MonitorInput(ctx context.Context, device string, m *LevelMeter) error {
	st, err := s.OpenInput(device)
	if err != nil {
		return err
	}
	defer st.Close()
	err = paced(ctx, func(int) bool {
		pcm, _, err := st.Read()
		if err == nil {
			m.Update(pcm)
		} else if !errors.Is(err, ErrNoDevice) {
			return false
		}
		return true
	}, st.Rate)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	return err
}
