package audiotest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// CaptureDevice is an ALSA capture PCM that "hears" Samples: a file plugin
// reads them from a raw file, and a plug converts from Rate to whatever
// rate and format the stream is opened with.
type CaptureDevice struct {
	Name    string
	Samples []int16
	Rate    int
}

// PlaybackDevice is an ALSA playback PCM that writes what it is given to a
// raw S16_LE mono file at Rate (a plug converts from the stream's rate).
type PlaybackDevice struct {
	Name string
	Rate int
}

// ALSAOptions lists the PCMs SetupALSA defines.
type ALSAOptions struct {
	Captures  []CaptureDevice
	Playbacks []PlaybackDevice
	// DefaultCapture and DefaultPlayback name the PCMs behind ALSA's
	// "default"; empty means the first of each list.
	DefaultCapture, DefaultPlayback string
}

// ALSA is a private ALSA configuration in a temporary HOME. The devices are
// not clocked: reads return at once and writes never block, so tests run
// as fast as the code under test.
type ALSA struct {
	Home  string
	opts  ALSAOptions
	files map[string]string
	rates map[string]int
}

// Default device names of DefaultALSA.
const (
	MicName     = "mic"
	SpeakerName = "speaker"
	RingerName  = "ringer"
	// MicToneHz is the tone DefaultALSA's microphone hears.
	MicToneHz = 1000
	// DeviceFileRate is the sample rate of DefaultALSA's raw files.
	DeviceFileRate = 16000
)

// DefaultALSA sets up a microphone "mic" hearing a 1 kHz tone for 60 s, a
// playback device "speaker" and a second one "ringer", all at 16 kHz, with
// "mic" and "speaker" as ALSA's default.
func DefaultALSA(t testing.TB) *ALSA {
	t.Helper()
	return SetupALSA(t, ALSAOptions{
		Captures: []CaptureDevice{{
			Name:    MicName,
			Samples: Sine(MicToneHz, DeviceFileRate, 60*time.Second, 0.5),
			Rate:    DeviceFileRate,
		}},
		Playbacks: []PlaybackDevice{
			{Name: SpeakerName, Rate: DeviceFileRate},
			{Name: RingerName, Rate: DeviceFileRate},
		},
	})
}

// SetupALSA writes the devices of opts into ~/.asoundrc of a fresh
// temporary HOME and points HOME at it for the rest of the test (so the
// test must not be parallel). Call it before the code under test
// initialises PortAudio: ALSA reads its configuration when PortAudio
// enumerates devices. The directory is removed when the test ends.
func SetupALSA(t testing.TB, opts ALSAOptions) *ALSA {
	t.Helper()
	a := &ALSA{Home: t.TempDir(), files: map[string]string{}, rates: map[string]int{}}
	t.Setenv("HOME", a.Home)
	// PortAudio also probes JACK; stop it from trying to start a server.
	t.Setenv("JACK_NO_START_SERVER", "1")
	if err := a.Rewrite(opts); err != nil {
		t.Fatalf("audiotest: write .asoundrc: %v", err)
	}
	return a
}

// Rewrite replaces the device set, as if devices were plugged or
// unplugged. PortAudio notices only when it is re-initialised.
func (a *ALSA) Rewrite(opts ALSAOptions) error {
	a.opts = opts
	var b strings.Builder
	for _, c := range opts.Captures {
		raw := filepath.Join(a.Home, c.Name+".in.raw")
		if err := WriteRaw(raw, c.Samples); err != nil {
			return err
		}
		a.files[c.Name] = raw
		a.rates[c.Name] = c.Rate
		fmt.Fprintf(&b, "pcm.%s_file { type file; slave.pcm \"null\"; file \"/dev/null\"; infile %q; format \"raw\" }\n", c.Name, raw)
		fmt.Fprintf(&b, "pcm.%s { type plug; slave { pcm \"%s_file\"; rate %d; format S16_LE; channels 1 } hint { show on description \"test capture %s\" } }\n", c.Name, c.Name, c.Rate, c.Name)
	}
	for _, p := range opts.Playbacks {
		raw := filepath.Join(a.Home, p.Name+".out.raw")
		a.files[p.Name] = raw
		a.rates[p.Name] = p.Rate
		fmt.Fprintf(&b, "pcm.%s_file { type file; slave.pcm \"null\"; file %q; format \"raw\" }\n", p.Name, raw)
		fmt.Fprintf(&b, "pcm.%s { type plug; slave { pcm \"%s_file\"; rate %d; format S16_LE; channels 1 } hint { show on description \"test playback %s\" } }\n", p.Name, p.Name, p.Rate, p.Name)
	}
	capture, playback := opts.DefaultCapture, opts.DefaultPlayback
	if capture == "" && len(opts.Captures) > 0 {
		capture = opts.Captures[0].Name
	}
	if playback == "" && len(opts.Playbacks) > 0 {
		playback = opts.Playbacks[0].Name
	}
	if capture != "" || playback != "" {
		b.WriteString("pcm.!default { type asym")
		if playback != "" {
			fmt.Fprintf(&b, "; playback.pcm %q", playback)
		}
		if capture != "" {
			fmt.Fprintf(&b, "; capture.pcm %q", capture)
		}
		b.WriteString(" }\n")
	}
	rc := filepath.Join(a.Home, ".asoundrc")
	// ALSA reloads its configuration when the file's mtime changes, with
	// one-second resolution on some filesystems: make sure it moves.
	old, statErr := os.Stat(rc)
	if err := os.WriteFile(rc, []byte(b.String()), 0o644); err != nil {
		return err
	}
	if statErr == nil {
		if st, err := os.Stat(rc); err == nil && !st.ModTime().After(old.ModTime()) {
			t := old.ModTime().Add(time.Second)
			if err := os.Chtimes(rc, t, t); err != nil {
				return err
			}
		}
	}
	return nil
}

// File is the raw file behind a device: what a capture device reads or
// what a playback device wrote.
func (a *ALSA) File(name string) string { return a.files[name] }

// Rate is the sample rate of a device's raw file.
func (a *ALSA) Rate(name string) int { return a.rates[name] }

// Played returns what has been written to playback device name so far (nil
// if the device has not been opened yet).
func (a *ALSA) Played(name string) ([]int16, error) {
	pcm, err := ReadRaw(a.files[name])
	if os.IsNotExist(err) {
		return nil, nil
	}
	return pcm, err
}
