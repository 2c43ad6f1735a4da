package audio

import (
	"errors"
	"fmt"
	"strings"

	"github.com/zaf/g711"

	"switchboard/audio/g722"
)

// FrameDuration is the packetisation interval of every stream this room
// sends: 20 ms, the ptime every PBX and phone understands.
const FrameDuration = 20 // milliseconds

// framesPerSecond is 1000 / FrameDuration, kept as a constant so sample
// counts stay integer arithmetic.
const framesPerSecond = 1000 / FrameDuration

// Codec describes an audio codec as the SDP offer/answer names it and as the
// pipeline needs it.
type Codec struct {
	// Name is the lowercase key: "pcmu", "pcma", "g722" or "opus".
	Name string
	// PayloadType is the static RTP payload type, or the default dynamic
	// one for Opus; the SIP room overrides it with the negotiated value.
	PayloadType uint8
	// ClockRate is the RTP timestamp clock (8000 for G.722, RFC 3551).
	ClockRate int
	// SampleRate is the PCM rate the encoder consumes and the decoder yields.
	SampleRate int
	// Channels is the channel count in the SDP rtpmap (2 for opus/48000/2);
	// the PCM this room moves is always mono.
	Channels int
}

// FrameSamples is the number of mono PCM samples in one 20 ms frame.
func (c Codec) FrameSamples() int { return c.SampleRate / framesPerSecond }

// FrameTicks is the RTP timestamp increment of one 20 ms frame.
func (c Codec) FrameTicks() uint32 { return uint32(c.ClockRate / framesPerSecond) }

// String returns the SDP rtpmap encoding, e.g. "PCMU/8000".
func (c Codec) String() string {
	s := fmt.Sprintf("%s/%d", strings.ToUpper(c.Name), c.ClockRate)
	if c.Name == "opus" {
		s = fmt.Sprintf("opus/%d", c.ClockRate)
	}
	if c.Channels > 1 {
		s += fmt.Sprintf("/%d", c.Channels)
	}
	return s
}

// Codecs returns the audio codecs this room implements, in the preference
// order the app offers them when the user has not chosen one.
func Codecs() []Codec {
	return []Codec{
		{Name: "opus", PayloadType: 111, ClockRate: 48000, SampleRate: 48000, Channels: 2},
		{Name: "g722", PayloadType: 9, ClockRate: 8000, SampleRate: 16000, Channels: 1},
		{Name: "pcmu", PayloadType: 0, ClockRate: 8000, SampleRate: 8000, Channels: 1},
		{Name: "pcma", PayloadType: 8, ClockRate: 8000, SampleRate: 8000, Channels: 1},
	}
}

// LookupCodec finds a codec by name, case-insensitively. It also accepts
// the rtpmap spelling ("PCMU/8000", "opus/48000/2").
func LookupCodec(name string) (Codec, bool) {
	name = strings.ToLower(strings.TrimSpace(name))
	if i := strings.IndexByte(name, '/'); i >= 0 {
		name = name[:i]
	}
	for _, c := range Codecs() {
		if c.Name == name {
			return c, true
		}
	}
	return Codec{}, false
}

// ErrUnknownCodec is returned for a codec this room does not implement.
var ErrUnknownCodec = errors.New("audio: unknown codec")

// Encoder turns one 20 ms frame of mono PCM at Codec.SampleRate into an RTP
// payload.
type Encoder interface {
	// Encode encodes pcm (Codec.FrameSamples() samples) into payload and
	// returns the payload length. payload should hold at least 1500 bytes.
	Encode(pcm []int16, payload []byte) (int, error)
}

// Decoder turns RTP payloads back into mono PCM at Codec.SampleRate and
// hides lost packets.
type Decoder interface {
	// Decode decodes one payload into pcm and returns the sample count.
	Decode(payload []byte, pcm []int16) (int, error)
	// Conceal synthesises one 20 ms frame for a lost packet into pcm
	// and returns the sample count.
	Conceal(pcm []int16) (int, error)
}

// NewEncoder returns an encoder for c.
func NewEncoder(c Codec) (Encoder, error) {
	switch c.Name {
	case "pcmu":
		return g711Encoder{ulaw: true}, nil
	case "pcma":
		return g711Encoder{}, nil
	case "g722":
		return &g722Encoder{enc: g722.NewEncoder()}, nil
	case "opus":
		return newOpusEncoder(c)
	}
	return nil, fmt.Errorf("%w %q: choose pcmu, pcma, g722 or opus", ErrUnknownCodec, c.Name)
}

// NewDecoder returns a decoder for c.
func NewDecoder(c Codec) (Decoder, error) {
	switch c.Name {
	case "pcmu":
		return &g711Decoder{ulaw: true, plc: newWaveformPLC(c.SampleRate)}, nil
	case "pcma":
		return &g711Decoder{plc: newWaveformPLC(c.SampleRate)}, nil
	case "g722":
		return &g722Decoder{dec: g722.NewDecoder(), plc: newWaveformPLC(c.SampleRate)}, nil
	case "opus":
		return newOpusDecoder(c)
	}
	return nil, fmt.Errorf("%w %q: choose pcmu, pcma, g722 or opus", ErrUnknownCodec, c.Name)
}

var errShortBuffer = errors.New("audio: buffer too short")

type g711Encoder struct{ ulaw bool }

func (e g711Encoder) Encode(pcm []int16, payload []byte) (int, error) {
	if len(payload) < len(pcm) {
		return 0, errShortBuffer
	}
	if e.ulaw {
		for i, s := range pcm {
			payload[i] = g711.EncodeUlawFrame(s)
		}
	} else {
		for i, s := range pcm {
			payload[i] = g711.EncodeAlawFrame(s)
		}
	}
	return len(pcm), nil
}

type g711Decoder struct {
	ulaw bool
	plc  *waveformPLC
}

func (d *g711Decoder) Decode(payload []byte, pcm []int16) (int, error) {
	if len(pcm) < len(payload) {
		return 0, errShortBuffer
	}
	if d.ulaw {
		for i, b := range payload {
			pcm[i] = g711.DecodeUlawFrame(b)
		}
	} else {
		for i, b := range payload {
			pcm[i] = g711.DecodeAlawFrame(b)
		}
	}
	d.plc.good(pcm[:len(payload)])
	return len(payload), nil
}

func (d *g711Decoder) Conceal(pcm []int16) (int, error) { return d.plc.conceal(pcm) }

type g722Encoder struct{ enc *g722.Encoder }

func (e *g722Encoder) Encode(pcm []int16, payload []byte) (int, error) {
	if len(payload) < (len(pcm)+1)/2 {
		return 0, errShortBuffer
	}
	return e.enc.Encode(payload, pcm), nil
}

type g722Decoder struct {
	dec *g722.Decoder
	plc *waveformPLC
}

func (d *g722Decoder) Decode(payload []byte, pcm []int16) (int, error) {
	if len(pcm) < 2*len(payload) {
		return 0, errShortBuffer
	}
	n := d.dec.Decode(pcm, payload)
	d.plc.good(pcm[:n])
	return n, nil
}

func (d *g722Decoder) Conceal(pcm []int16) (int, error) { return d.plc.conceal(pcm) }
