package audio

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"gopkg.in/hraban/opus.v2"

	"switchboard/audio/audiotest"
)

// twoPhones defines devices for two parties: A hears 1000 Hz, B 600 Hz,
// C (a second microphone for A) 800 Hz.
func twoPhones(t *testing.T) *audiotest.ALSA {
	t.Helper()
	tone := func(f float64) []int16 { return audiotest.Sine(f, 16000, 30*time.Second, 0.5) }
	return audiotest.SetupALSA(t, audiotest.ALSAOptions{
		Captures: []audiotest.CaptureDevice{
			{Name: "micA", Samples: tone(1000), Rate: 16000},
			{Name: "micB", Samples: tone(600), Rate: 16000},
			{Name: "micC", Samples: tone(800), Rate: 16000},
		},
		Playbacks: []audiotest.PlaybackDevice{
			{Name: "spkA", Rate: 16000},
			{Name: "spkB", Rate: 16000},
		},
	})
}

type digits struct {
	mu sync.Mutex
	s  []rune
}

func (d *digits) add(r rune) { d.mu.Lock(); d.s = append(d.s, r); d.mu.Unlock() }
func (d *digits) get() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return string(d.s)
}

func startPair(t *testing.T, sys *System, codec Codec, optsA, optsB CallOptions) (*Call, *Call, *audiotest.UDPPort, *audiotest.UDPPort) {
	return startPairOn(t, sys, sys, codec, optsA, optsB)
}

// startPairOn starts A on sysA and B on sysB (nil: no sound devices).
func startPairOn(t *testing.T, sysA, sysB *System, codec Codec, optsA, optsB CallOptions) (*Call, *Call, *audiotest.UDPPort, *audiotest.UDPPort) {
	t.Helper()
	pa, pb, err := audiotest.NewUDPPortPair()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pa.Close(); pb.Close() })
	optsA.System, optsB.System = sysA, sysB
	optsA.Port, optsB.Port = pa, pb
	optsA.Codec, optsB.Codec = codec, codec
	optsA.Logger, optsB.Logger = testLogger(t), testLogger(t)
	a, err := StartCall(context.Background(), optsA)
	if err != nil {
		t.Fatal(err)
	}
	b, err := StartCall(context.Background(), optsB)
	if err != nil {
		a.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b, pa, pb
}

// lastSeconds returns the final sec seconds of what a playback device
// wrote, skipping the very end (the pipeline's last frames).
func played(t *testing.T, alsa *audiotest.ALSA, name string) []int16 {
	t.Helper()
	pcm, err := alsa.Played(name)
	if err != nil {
		t.Fatal(err)
	}
	return pcm
}

// TestCallBothWays runs two calls against each other over real UDP with
// PortAudio on ALSA file devices, for every codec: each side must hear
// the other's tone, DTMF must arrive once per digit, and the recording
// must hold both parties.
func TestCallBothWays(t *testing.T) {
	for _, codec := range Codecs() {
		t.Run(codec.Name, func(t *testing.T) {
			alsa := twoPhones(t)
			sys := newTestSystem(t)
			var got digits
			var rec bytes.Buffer
			recorder, err := NewRecorder(&rec, RecorderOptions{Stereo: true})
			if err != nil {
				t.Fatal(err)
			}
			a, b, _, _ := startPair(t, sys, codec,
				CallOptions{Mic: "micA", Speaker: "spkA", DTMFPayloadType: 101},
				CallOptions{Mic: "micB", Speaker: "spkB", DTMFPayloadType: 101, OnDTMF: got.add, Record: recorder})
			time.Sleep(1500 * time.Millisecond)
			for _, d := range "5#A" {
				if err := a.SendDTMF(d); err != nil {
					t.Fatal(err)
				}
			}
			time.Sleep(1500 * time.Millisecond)
			sa, sb := a.Stats(), b.Stats()
			a.Close()
			b.Close()
			if err := recorder.Close(); err != nil {
				t.Fatal(err)
			}

			if got.get() != "5#A" {
				t.Errorf("B received DTMF %q, want \"5#A\"", got.get())
			}
			if sa.DTMFSent != 3 || sb.DTMFReceived != 3 {
				t.Errorf("DTMF sent %d, received %d; want 3 and 3", sa.DTMFSent, sb.DTMFReceived)
			}
			if sa.Mic != "micA" || sa.Speaker != "spkA" {
				t.Errorf("A uses %q/%q", sa.Mic, sa.Speaker)
			}
			// 3 s at 50 packets/s, less start-up and the DTMF packets; the
			// bounds are loose because a loaded machine delays ticks.
			if sa.PacketsSent < 100 || sb.Jitter.Played < 80 {
				t.Errorf("A sent %d packets, B played %d", sa.PacketsSent, sb.Jitter.Played)
			}
			if sb.LossPct > 1 || sb.MOS < 4 {
				t.Errorf("B quality %+v", sb.Quality)
			}
			t.Logf("A: %+v", sa.Quality)
			t.Logf("B: %+v jitter %+v mic ring %+v spk ring %+v", sb.Quality, sb.Jitter, sb.MicRing, sb.SpeakerRing)

			heardB := audiotest.Active(played(t, alsa, "spkB"), 16000, -30)
			heardA := audiotest.Active(played(t, alsa, "spkA"), 16000, -30)
			if len(heardB) < 16000 || !audiotest.HasTone(heardB, 16000, 1000, 10) {
				t.Errorf("B heard %d samples, dominant %.1f Hz; want A's 1000 Hz", len(heardB), audiotest.DominantFrequency(heardB, 16000))
			}
			if len(heardA) < 16000 || !audiotest.HasTone(heardA, 16000, 600, 10) {
				t.Errorf("A heard %d samples, dominant %.1f Hz; want B's 600 Hz", len(heardA), audiotest.DominantFrequency(heardA, 16000))
			}

			// The recording is valid Ogg Opus, about 3 s long, with B's
			// own voice on the left and A's on the right.
			left, right, dur := decodeOggOpus(t, rec.Bytes())
			if dur < 2500*time.Millisecond || dur > 3500*time.Millisecond {
				t.Errorf("recording lasts %v, want about 3 s", dur)
			}
			if l := audiotest.Active(left, 48000, -30); !audiotest.HasTone(l, 48000, 600, 10) {
				t.Errorf("recording left channel dominant %.1f Hz, want 600", audiotest.DominantFrequency(l, 48000))
			}
			if r := audiotest.Active(right, 48000, -30); !audiotest.HasTone(r, 48000, 1000, 10) {
				t.Errorf("recording right channel dominant %.1f Hz, want 1000", audiotest.DominantFrequency(r, 48000))
			}
		})
	}
}

// decodeOggOpus decodes a recording with libopusfile (which checks page
// CRCs, headers and granule positions) and returns both channels at 48 kHz.
func decodeOggOpus(t *testing.T, data []byte) (left, right []int16, dur time.Duration) {
	t.Helper()
	s, err := opus.NewStream(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("recording is not valid Ogg Opus: %v", err)
	}
	defer s.Close()
	buf := make([]int16, 5760*2)
	for {
		n, err := s.Read(buf)
		if err != nil || n == 0 {
			break
		}
		// opusfile returns interleaved stereo for a stereo stream.
		for i := range n {
			left = append(left, buf[2*i])
			right = append(right, buf[2*i+1])
		}
	}
	return left, right, time.Duration(len(left)) * time.Second / 48000
}

// level samples a meter for 200 ms and returns the median and the maximum
// RMS, so one odd frame does not decide a test.
func level(get func() Level) (median, maxRMS float64) {
	var v []float64
	for range 10 {
		time.Sleep(20 * time.Millisecond)
		v = append(v, get().RMS)
	}
	slices.Sort(v)
	return v[len(v)/2], v[len(v)-1]
}

func TestCallMuteAndHold(t *testing.T) {
	twoPhones(t)
	sys := newTestSystem(t)
	pcmu, _ := LookupCodec("pcmu")
	a, b, _, _ := startPair(t, sys, pcmu,
		CallOptions{Mic: "micA", Speaker: "spkA"},
		CallOptions{Mic: "micB", Speaker: "spkB"})
	time.Sleep(time.Second)
	if med, _ := level(b.SpeakerLevel); med < -20 {
		t.Fatalf("B hears %.1f dBFS before mute, want A's tone", med)
	}

	a.SetMute(true)
	sent := a.Stats().PacketsSent
	time.Sleep(400 * time.Millisecond)
	if _, mx := level(b.SpeakerLevel); mx > -60 {
		t.Errorf("B hears %.1f dBFS while A is muted", mx)
	}
	if a.Stats().PacketsSent-sent < 20 {
		t.Error("A stopped sending RTP while muted")
	}
	if med, _ := level(a.MicLevel); med < -20 {
		t.Errorf("A's mic meter %.1f dBFS while muted; the meter should still show the mic", med)
	}
	a.SetMute(false)

	a.SetHold(true)
	time.Sleep(300 * time.Millisecond)
	sent = a.Stats().PacketsSent
	time.Sleep(500 * time.Millisecond)
	if d := a.Stats().PacketsSent - sent; d != 0 {
		t.Errorf("A sent %d packets on hold", d)
	}
	if _, mx := level(a.SpeakerLevel); mx > -60 {
		t.Errorf("A plays %.1f dBFS on hold", mx)
	}
	a.SetHold(false)
	time.Sleep(400 * time.Millisecond)
	if med, _ := level(b.SpeakerLevel); med < -20 {
		t.Errorf("B hears %.1f dBFS after unhold", med)
	}
}

// TestCallSwitchDevices moves A to another microphone mid-call.
func TestCallSwitchDevices(t *testing.T) {
	alsa := twoPhones(t)
	sys := newTestSystem(t)
	g722c, _ := LookupCodec("g722")
	a, b, _, _ := startPair(t, sys, g722c,
		CallOptions{Mic: "micA", Speaker: "spkA"},
		CallOptions{Mic: "micB", Speaker: "spkB"})
	time.Sleep(time.Second)
	if err := a.SetDevices("micC", "spkA"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	if s := a.Stats(); s.Mic != "micC" {
		t.Errorf("A's mic is %q after switch", s.Mic)
	}
	a.Close()
	b.Close()
	heard := played(t, alsa, "spkB")
	if len(heard) < 32000 {
		t.Fatalf("B heard only %d samples", len(heard))
	}
	end := heard[len(heard)-16000 : len(heard)-3200] // the last second, less the tail
	if !audiotest.HasTone(end, 16000, 800, 10) {
		t.Errorf("after the switch B hears %.1f Hz, want micC's 800", audiotest.DominantFrequency(end, 16000))
	}
}

// TestCallWithoutDevices keeps RTP flowing with silence when no device can
// be opened at all, or when there is no sound system.
func TestCallWithoutDevices(t *testing.T) {
	audiotest.SetupALSA(t, audiotest.ALSAOptions{})
	sys := newTestSystem(t)
	events, stop := sys.Subscribe(16)
	defer stop()
	pcma, _ := LookupCodec("pcma")
	a, b, _, _ := startPairOn(t, sys, nil, pcma,
		CallOptions{Mic: "headset", Speaker: "headset"},
		CallOptions{})
	waitEvent(t, events, DeviceFailed, "headset")
	time.Sleep(time.Second)
	if s := a.Stats(); s.PacketsSent < 40 {
		t.Errorf("A sent %d packets in 1 s without devices", s.PacketsSent)
	}
	if s := b.Stats(); s.Jitter.Played < 30 {
		t.Errorf("B played %d packets", s.Jitter.Played)
	}
}

// TestCallLossConcealed drops 10% of A's packets: B's statistics show it,
// and B still hears a clean tone thanks to concealment.
func TestCallLossConcealed(t *testing.T) {
	alsa := twoPhones(t)
	sys := newTestSystem(t)
	pcmu, _ := LookupCodec("pcmu")
	a, b, pa, _ := startPair(t, sys, pcmu,
		CallOptions{Mic: "micA", Speaker: "spkA"},
		CallOptions{Mic: "micB", Speaker: "spkB"})
	pa.SetLoss(0.1)
	time.Sleep(3 * time.Second)
	q := b.Quality()
	a.Close()
	b.Close()
	if q.LossPct < 4 || q.LossPct > 18 {
		t.Errorf("B measured %.1f%% loss, want about 10%%", q.LossPct)
	}
	if q.MOS > 4.1 || q.MOS < 2.5 {
		t.Errorf("MOS %.2f at 10%% loss", q.MOS)
	}
	heard := audiotest.Active(played(t, alsa, "spkB"), 16000, -30)
	if !audiotest.HasTone(heard, 16000, 1000, 10) {
		t.Errorf("B hears %.1f Hz under loss", audiotest.DominantFrequency(heard, 16000))
	}
	t.Logf("quality under 10%% loss: %+v", q)
}
