package audio

import (
	"context"
	"testing"
	"time"

	"switchboard/audio/audiotest"
)

func newTestSystem(t *testing.T) *System {
	t.Helper()
	s, err := NewSystem(SystemOptions{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func waitEvent(t *testing.T, ch <-chan DeviceEvent, kind DeviceEventKind, name string) DeviceEvent {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-ch:
			if ev.Kind == kind && ev.Name == name {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %v event for %q", kind, name)
		}
	}
}

func TestDevicesList(t *testing.T) {
	audiotest.DefaultALSA(t)
	s := newTestSystem(t)
	devs, err := s.Devices()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]DeviceInfo{}
	for _, d := range devs {
		found[d.Name] = d
	}
	for _, name := range []string{audiotest.MicName, audiotest.SpeakerName, audiotest.RingerName} {
		if _, ok := found[name]; !ok {
			t.Errorf("device %q not listed; have %v", name, devs)
		}
	}
	if !found[audiotest.MicName].Input {
		t.Error("mic is not an input")
	}
}

func readSeconds(t *testing.T, st *Stream, sec float64) ([]int16, int) {
	t.Helper()
	var got []int16
	rate := 0
	for len(got) < int(sec*48000) {
		pcm, r, err := st.Read()
		if err != nil {
			t.Fatal(err)
		}
		rate = r
		got = append(got, pcm...)
		if rate > 0 && len(got) >= int(sec*float64(rate)) {
			break
		}
	}
	return got, rate
}

func TestInputStreamHearsTone(t *testing.T) {
	audiotest.DefaultALSA(t)
	s := newTestSystem(t)
	st, err := s.OpenInput(audiotest.MicName)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if st.Device() != audiotest.MicName || st.Fallback() {
		t.Fatalf("opened %q (fallback %v)", st.Device(), st.Fallback())
	}
	got, rate := readSeconds(t, st, 1)
	if rate != 48000 {
		t.Errorf("rate %d, want the preferred 48000", rate)
	}
	if !audiotest.HasTone(got[rate/10:], rate, audiotest.MicToneHz, 5) {
		t.Errorf("mic did not deliver the 1 kHz tone (dominant %.1f Hz)", audiotest.DominantFrequency(got, rate))
	}
}

func TestOutputStreamPlays(t *testing.T) {
	alsa := audiotest.DefaultALSA(t)
	s := newTestSystem(t)
	st, err := s.OpenOutput(audiotest.SpeakerName)
	if err != nil {
		t.Fatal(err)
	}
	tone := audiotest.Sine(700, 48000, time.Second, 0.5)
	for i := 0; i+960 <= len(tone); i += 960 {
		if err := st.Write(tone[i : i+960]); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	played, err := alsa.Played(audiotest.SpeakerName)
	if err != nil {
		t.Fatal(err)
	}
	if !audiotest.HasTone(played, alsa.Rate(audiotest.SpeakerName), 700, 5) {
		t.Errorf("speaker file has no 700 Hz tone (%d samples, dominant %.1f)", len(played), audiotest.DominantFrequency(played, 16000))
	}
}

// TestMissingDeviceFallsBackAndReturns opens a headset that is not plugged
// in: the stream runs on the default device and says so; when the headset
// appears, Watch moves the stream back to it.
func TestMissingDeviceFallsBackAndReturns(t *testing.T) {
	alsa := audiotest.DefaultALSA(t)
	s := newTestSystem(t)
	events, stop := s.Subscribe(16)
	defer stop()

	st, err := s.OpenInput("headset")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ev := waitEvent(t, events, DeviceFallback, "headset")
	if !ev.Fallback || ev.Actual == "" || !st.Fallback() {
		t.Errorf("fallback event %+v, stream fallback %v", ev, st.Fallback())
	}
	got, rate := readSeconds(t, st, 0.5)
	if !audiotest.HasTone(got[rate/10:], rate, audiotest.MicToneHz, 5) {
		t.Error("fallback device does not deliver the default mic's tone")
	}

	// Plug the headset in: it hears 600 Hz.
	err = alsa.Rewrite(audiotest.ALSAOptions{
		Captures: []audiotest.CaptureDevice{
			{Name: audiotest.MicName, Samples: audiotest.Sine(audiotest.MicToneHz, 16000, 10*time.Second, 0.5), Rate: 16000},
			{Name: "headset", Samples: audiotest.Sine(600, 16000, 10*time.Second, 0.5), Rate: 16000},
		},
		Playbacks: []audiotest.PlaybackDevice{{Name: audiotest.SpeakerName, Rate: 16000}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Watch(ctx, 50*time.Millisecond)
	waitEvent(t, events, DeviceAdded, "headset")
	waitEvent(t, events, DeviceRestored, "headset")
	if st.Fallback() || st.Device() != "headset" {
		t.Errorf("stream on %q (fallback %v), want headset", st.Device(), st.Fallback())
	}
	got, rate = readSeconds(t, st, 0.5)
	if !audiotest.HasTone(got[rate/10:], rate, 600, 5) {
		t.Errorf("headset tone not heard after return (dominant %.1f)", audiotest.DominantFrequency(got, rate))
	}

	// Unplug it again: back to the default, reported as removed.
	err = alsa.Rewrite(audiotest.ALSAOptions{
		Captures:  []audiotest.CaptureDevice{{Name: audiotest.MicName, Samples: audiotest.Sine(audiotest.MicToneHz, 16000, 10*time.Second, 0.5), Rate: 16000}},
		Playbacks: []audiotest.PlaybackDevice{{Name: audiotest.SpeakerName, Rate: 16000}},
	})
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, events, DeviceRemoved, "headset")
	waitEvent(t, events, DeviceFallback, "headset")
	if !st.Fallback() {
		t.Error("stream not on fallback after unplug")
	}
}

func TestNoDeviceAtAll(t *testing.T) {
	audiotest.SetupALSA(t, audiotest.ALSAOptions{})
	s := newTestSystem(t)
	events, stop := s.Subscribe(16)
	defer stop()
	st, err := s.OpenInput("headset")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	waitEvent(t, events, DeviceFailed, "headset")
	if _, _, err := st.Read(); err != ErrNoDevice {
		t.Errorf("Read without device = %v, want ErrNoDevice", err)
	}
}
