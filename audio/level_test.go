package audio

import (
	"context"
	"math"
	"testing"
	"time"

	"switchboard/audio/audiotest"
)

func TestLevelMeter(t *testing.T) {
	var m LevelMeter
	if l := m.Level(); l.RMS != SilenceDBFS || l.Peak != SilenceDBFS {
		t.Errorf("fresh meter %+v, want silence", l)
	}
	m.Update(audiotest.Sine(1000, 8000, 20*time.Millisecond, 0.5))
	l := m.Level()
	// A sine of peak 0.5: peak -6 dBFS, RMS -9 dBFS.
	if math.Abs(l.Peak+6.02) > 0.2 || math.Abs(l.RMS+9.03) > 0.2 {
		t.Errorf("sine level %+v, want peak -6, RMS -9", l)
	}
	// After a second of silence the peak has fallen by 20 dB.
	for range 50 {
		m.Update(make([]int16, 160))
	}
	l = m.Level()
	if l.RMS != SilenceDBFS || math.Abs(l.Peak+26) > 0.5 {
		t.Errorf("after 1 s silence %+v, want RMS floor and peak -26", l)
	}
}

func TestMonitorInput(t *testing.T) {
	audiotest.DefaultALSA(t)
	sys := newTestSystem(t)
	var m LevelMeter
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := sys.MonitorInput(ctx, audiotest.MicName, &m); err != nil {
		t.Fatal(err)
	}
	// The default mic hears a sine of peak 0.5: RMS -9 dBFS.
	if l := m.Level(); math.Abs(l.RMS+9) > 1 {
		t.Errorf("mic meter %+v, want RMS about -9 dBFS", l)
	}
}
