package audio

import (
	"context"
	"testing"
	"time"

	"switchboard/audio/audiotest"
)

func TestToneGeneratorCadence(t *testing.T) {
	g := NewToneGenerator(RingbackTone(), 8000)
	pcm := make([]int16, 8000*5)
	g.Fill(pcm)
	on, off := pcm[800:7200], pcm[8800:39000] // inside the 1 s on, 4 s off
	if !audiotest.HasTone(on, 8000, 425, 3) {
		t.Errorf("ringback on-phase dominant %.1f Hz", audiotest.DominantFrequency(on, 8000))
	}
	if lvl := audiotest.RMS(off); lvl != 0 {
		t.Errorf("ringback off-phase level %f", lvl)
	}
	// -13 dBFS peak: RMS about -16 dBFS.
	if db := audiotest.DBFS(audiotest.RMS(on)); db < -17 || db > -15 {
		t.Errorf("ringback level %.1f dBFS", db)
	}

	once := CallWaitingTone()
	once.Once = true
	g = NewToneGenerator(once, 8000)
	pcm = make([]int16, 8000*11)
	g.Fill(pcm)
	if !g.Done() || audiotest.RMS(pcm[8000*10:]) != 0 {
		t.Error("a Once tone should stop after one cadence")
	}
}

// TestPlayRinger rings the ringer device (not the speaker) and checks the
// warble's two frequencies reach it, paced by the wall clock.
func TestPlayRinger(t *testing.T) {
	alsa := audiotest.DefaultALSA(t)
	sys := newTestSystem(t)
	ctx, cancel := context.WithTimeout(context.Background(), 1200*time.Millisecond)
	defer cancel()
	if err := sys.PlayRinger(ctx, audiotest.RingerName, RingerTone()); err != nil {
		t.Fatal(err)
	}
	rang, err := alsa.Played(audiotest.RingerName)
	if err != nil {
		t.Fatal(err)
	}
	rate := alsa.Rate(audiotest.RingerName)
	// Paced: about 1.2 s (plus the few blocks allowed ahead), not a flood.
	if d := time.Duration(len(rang)) * time.Second / time.Duration(rate); d < time.Second || d > 1500*time.Millisecond {
		t.Errorf("ringer wrote %v of audio in 1.2 s", d)
	}
	burst := rang[rate/20 : rate*35/100] // inside the first 0.4 s burst
	r1, r2 := audiotest.ToneRatio(burst, rate, 1000, 20), audiotest.ToneRatio(burst, rate, 1250, 20)
	if r1 < 0.3 || r2 < 0.3 {
		t.Errorf("warble energy at 1000 Hz %.2f, 1250 Hz %.2f; want both", r1, r2)
	}
	if spk, _ := alsa.Played(audiotest.SpeakerName); len(spk) > 0 {
		t.Error("the ringer played on the speaker")
	}
}

func TestCallWaitingBeepInEarpiece(t *testing.T) {
	twoPhones(t)
	sys := newTestSystem(t)
	pcmu, _ := LookupCodec("pcmu")
	a, _, _, _ := startPair(t, sys, pcmu,
		CallOptions{Mic: "micA", Speaker: "spkA"},
		CallOptions{Mic: "micB", Speaker: "spkB"})
	a.SetHold(true) // silence from the network, so only the beep plays
	time.Sleep(200 * time.Millisecond)
	a.PlayTone(CallWaitingTone())
	time.Sleep(150 * time.Millisecond)
	if lvl := a.SpeakerLevel(); lvl.RMS < -25 {
		t.Errorf("earpiece level %+v during the beep", lvl)
	}
	a.StopTone()
	time.Sleep(100 * time.Millisecond)
	if _, mx := level(a.SpeakerLevel); mx > -60 {
		t.Errorf("earpiece %.1f dBFS after StopTone", mx)
	}
}

func BenchmarkToneGenerator20ms(b *testing.B) {
	g := NewToneGenerator(RingerTone(), 48000)
	buf := make([]int16, 960)
	for b.Loop() {
		g.Fill(buf)
	}
}
