package audio

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"gopkg.in/hraban/opus.v2"

	"switchboard/audio/audiotest"
)

// oggPages splits an Ogg stream into pages, checking each CRC.
func oggPages(t *testing.T, b []byte) (flags []byte, granules []int64) {
	t.Helper()
	for len(b) > 0 {
		if len(b) < 27 || string(b[:4]) != "OggS" {
			t.Fatalf("bad page header at %d bytes from the end", len(b))
		}
		nseg := int(b[26])
		size := 27 + nseg
		for _, s := range b[27 : 27+nseg] {
			size += int(s)
		}
		page := append([]byte(nil), b[:size]...)
		want := binary.LittleEndian.Uint32(page[22:])
		clear(page[22:26])
		if got := oggCRC(page); got != want {
			t.Fatalf("page %d CRC %#x, header says %#x", len(flags), got, want)
		}
		flags = append(flags, b[5])
		granules = append(granules, int64(binary.LittleEndian.Uint64(b[6:])))
		b = b[size:]
	}
	return flags, granules
}

func TestRecorderMono(t *testing.T) {
	var buf bytes.Buffer
	r, err := NewRecorder(&buf, RecorderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// 2.5 s: local at 8 kHz (G.711), remote at 8 kHz, fed in uneven chunks.
	local := audiotest.Sine(440, 8000, 2500*time.Millisecond, 0.4)
	remote := audiotest.Sine(440, 8000, 2500*time.Millisecond, 0.1)
	for i := 0; i < len(local); i += 160 {
		r.WritePCM(local[i:i+160], nil, 8000)
		r.WritePCM(nil, remote[i:i+80], 8000)
		r.WritePCM(nil, remote[i+80:i+160], 8000)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if d := r.Duration(); d < 2480*time.Millisecond || d > 2520*time.Millisecond {
		t.Errorf("Duration %v, want 2.5 s", d)
	}
	flags, granules := oggPages(t, buf.Bytes())
	if flags[0] != 0x02 || flags[len(flags)-1]&0x04 == 0 {
		t.Errorf("page flags %v: want BOS first and EOS last", flags)
	}
	if !bytes.HasPrefix(buf.Bytes()[28:], []byte("OpusHead")) {
		t.Error("first packet is not OpusHead")
	}
	if g := granules[len(granules)-1]; g != recordPreSkip+2500*48 {
		t.Errorf("final granule %d, want %d", g, recordPreSkip+2500*48)
	}

	s, err := opus.NewStream(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("libopusfile rejects the recording: %v", err)
	}
	defer s.Close()
	var pcm []int16
	frame := make([]int16, 5760)
	for {
		n, err := s.Read(frame)
		if err != nil || n == 0 {
			break
		}
		pcm = append(pcm, frame[:n]...)
	}
	if got := time.Duration(len(pcm)) * time.Second / 48000; got != 2500*time.Millisecond {
		t.Errorf("decoded %v of audio, want 2.5 s", got)
	}
	if !audiotest.HasTone(pcm[4800:], 48000, 440, 5) {
		t.Errorf("recording dominant %.1f Hz, want 440", audiotest.DominantFrequency(pcm, 48000))
	}
}

func BenchmarkRecorder20ms(b *testing.B) {
	r, _ := NewRecorder(discard{}, RecorderOptions{Stereo: true})
	local := audiotest.Sine(440, 16000, 20*time.Millisecond, 0.4)
	for b.Loop() {
		r.WritePCM(local, local, 16000)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
