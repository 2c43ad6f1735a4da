package audio

import (
	"bytes"
	"testing"
)

func TestDTMFEventRoundTrip(t *testing.T) {
	tests := []struct {
		ev   DTMFEvent
		wire []byte
	}{
		{DTMFEvent{Event: 5, Volume: 10, Duration: 160}, []byte{5, 10, 0, 160}},
		{DTMFEvent{Event: 11, End: true, Volume: 63, Duration: 800}, []byte{11, 0xbf, 3, 32}},
		{DTMFEvent{Event: 15, Volume: 0, Duration: 65535}, []byte{15, 0, 255, 255}},
	}
	for _, tt := range tests {
		b := tt.ev.AppendTo(nil)
		if !bytes.Equal(b, tt.wire) {
			t.Errorf("%+v encodes to % x, want % x", tt.ev, b, tt.wire)
		}
		got, err := ParseDTMFEvent(tt.wire)
		if err != nil || got != tt.ev {
			t.Errorf("ParseDTMFEvent(% x) = %+v, %v", tt.wire, got, err)
		}
	}
	if _, err := ParseDTMFEvent([]byte{1, 2, 3}); err == nil {
		t.Error("short payload accepted")
	}
}

func TestDigits(t *testing.T) {
	for i, d := range "0123456789*#ABCD" {
		ev, ok := DigitEvent(d)
		if !ok || int(ev) != i {
			t.Errorf("DigitEvent(%q) = %d, %v", d, ev, ok)
		}
		back, ok := EventDigit(ev)
		if !ok || back != d {
			t.Errorf("EventDigit(%d) = %q", ev, back)
		}
	}
	if ev, _ := DigitEvent('c'); ev != 14 {
		t.Error("lowercase digit not accepted")
	}
	for _, d := range "xE!" {
		if _, ok := DigitEvent(d); ok {
			t.Errorf("DigitEvent(%q) accepted", d)
		}
	}
	if _, ok := EventDigit(16); ok {
		t.Error("event 16 (not DTMF) mapped to a digit")
	}
}

func TestDTMFPackets(t *testing.T) {
	pkts, err := DTMFPackets('7', 8000, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(pkts) != 4+3 {
		t.Fatalf("%d packets, want 4 updates and 3 ends", len(pkts))
	}
	var prev uint16
	for i, p := range pkts {
		e, _ := ParseDTMFEvent(p)
		if e.Event != 7 || e.Duration < prev {
			t.Errorf("packet %d: %+v", i, e)
		}
		if (i >= 4) != e.End {
			t.Errorf("packet %d: end bit %v", i, e.End)
		}
		prev = e.Duration
	}
	if prev != 800 {
		t.Errorf("final duration %d, want 800", prev)
	}
	if _, err := DTMFPackets('x', 8000, 100); err == nil {
		t.Error("bad digit accepted")
	}
}

// FuzzParseDTMFEvent checks the parser never panics and that whatever it
// accepts re-encodes to the same four bytes (bit 6, reserved, aside).
func FuzzParseDTMFEvent(f *testing.F) {
	f.Add([]byte{1, 0x8a, 0, 160})
	f.Add([]byte{})
	f.Add([]byte{255, 255, 255, 255, 0, 0})
	f.Fuzz(func(t *testing.T, p []byte) {
		e, err := ParseDTMFEvent(p)
		if err != nil {
			return
		}
		b := e.AppendTo(nil)
		want := []byte{p[0], p[1] &^ 0x40, p[2], p[3]}
		if !bytes.Equal(b, want) {
			t.Fatalf("% x re-encodes to % x", p[:4], b)
		}
	})
}
