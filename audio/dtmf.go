package audio

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// DTMFEvent is the payload of an RFC 4733 telephone-event packet.
type DTMFEvent struct {
	Event    uint8  // 0-9, 10 '*', 11 '#', 12-15 'A'-'D'
	End      bool   // the E bit: the last packets of the event
	Volume   uint8  // power level, 0..63 meaning 0..-63 dBm0
	Duration uint16 // in RTP clock units since the event began
}

// dtmfPayloadLen is the size of one event payload.
const dtmfPayloadLen = 4

// ErrBadDTMF reports a telephone-event payload that cannot be parsed.
var ErrBadDTMF = errors.New("audio: malformed telephone-event payload")

// ParseDTMFEvent decodes a telephone-event payload. Only the first event is
// read; RFC 4733 allows redundant blocks in longer payloads, which carry
// nothing new for DTMF.
func ParseDTMFEvent(p []byte) (DTMFEvent, error) {
	if len(p) < dtmfPayloadLen {
		return DTMFEvent{}, fmt.Errorf("%w: %d bytes, want %d", ErrBadDTMF, len(p), dtmfPayloadLen)
	}
	e := DTMFEvent{
		Event:    p[0],
		End:      p[1]&0x80 != 0,
		Volume:   p[1] & 0x3f,
		Duration: binary.BigEndian.Uint16(p[2:]),
	}
	return e, nil
}

// AppendTo appends the 4-byte payload of e to b.
func (e DTMFEvent) AppendTo(b []byte) []byte {
	flags := e.Volume & 0x3f
	if e.End {
		flags |= 0x80
	}
	return append(b, e.Event, flags, byte(e.Duration>>8), byte(e.Duration))
}

// DigitEvent maps a DTMF digit (0-9, *, #, A-D, case-insensitive) to its
// RFC 4733 event code.
func DigitEvent(d rune) (uint8, bool) {
	switch {
	case d >= '0' && d <= '9':
		return uint8(d - '0'), true
	case d == '*':
		return 10, true
	case d == '#':
		return 11, true
	case d >= 'A' && d <= 'D':
		return uint8(12 + d - 'A'), true
	case d >= 'a' && d <= 'd':
		return uint8(12 + d - 'a'), true
	}
	return 0, false
}

// EventDigit maps an RFC 4733 event code back to its DTMF digit.
func EventDigit(e uint8) (rune, bool) {
	switch {
	case e <= 9:
		return rune('0' + e), true
	case e == 10:
		return '*', true
	case e == 11:
		return '#', true
	case e <= 15:
		return rune('A' + e - 12), true
	}
	return 0, false
}

// DTMFPackets builds the packets that send one digit: a first packet with
// the marker bit, updates every 20 ms while the tone lasts, and the end
// packet three times, all carrying the event's start timestamp (the caller
// adds it). clockRate is the telephone-event clock; duration is the tone
// length. Each element is one payload.
func DTMFPackets(digit rune, clockRate int, durationMs int) ([][]byte, error) {
	ev, ok := DigitEvent(digit)
	if !ok {
		return nil, fmt.Errorf("audio: %q is not a DTMF digit: use 0-9, *, #, A-D", digit)
	}
	if durationMs <= 0 {
		durationMs = 100
	}
	step := clockRate / framesPerSecond
	total := min(clockRate*durationMs/1000, 0xffff)
	var out [][]byte
	for d := step; d < total; d += step {
		out = append(out, DTMFEvent{Event: ev, Volume: 10, Duration: uint16(d)}.AppendTo(nil))
	}
	for range 3 {
		out = append(out, DTMFEvent{Event: ev, Volume: 10, Duration: uint16(total), End: true}.AppendTo(nil))
	}
	return out, nil
}
