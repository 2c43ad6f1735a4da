package audio

import (
	"fmt"

	"gopkg.in/hraban/opus.v2"
)

// opusBitrate suits wideband speech well; Opus scales from here up to
// fullband when the network allows, but a contact centre call gains little.
const opusBitrate = 32000

type opusEncoder struct{ enc *opus.Encoder }

func newOpusEncoder(c Codec) (Encoder, error) {
	enc, err := opus.NewEncoder(c.SampleRate, 1, opus.AppVoIP)
	if err != nil {
		return nil, fmt.Errorf("audio: create opus encoder: %w", err)
	}
	// In-band FEC lets the far end rebuild a lost packet from the next one.
	if err := enc.SetInBandFEC(true); err != nil {
		return nil, fmt.Errorf("audio: opus FEC: %w", err)
	}
	if err := enc.SetPacketLossPerc(5); err != nil {
		return nil, fmt.Errorf("audio: opus loss hint: %w", err)
	}
	if err := enc.SetBitrate(opusBitrate); err != nil {
		return nil, fmt.Errorf("audio: opus bitrate: %w", err)
	}
	return &opusEncoder{enc: enc}, nil
}

func (e *opusEncoder) Encode(pcm []int16, payload []byte) (int, error) {
	n, err := e.enc.Encode(pcm, payload)
	if err != nil {
		return 0, fmt.Errorf("audio: opus encode: %w", err)
	}
	return n, nil
}

type opusDecoder struct {
	dec   *opus.Decoder
	frame int
}

func newOpusDecoder(c Codec) (Decoder, error) {
	// A mono decoder downmixes a stereo stream, so opus/48000/2 peers that
	// really send stereo still work.
	dec, err := opus.NewDecoder(c.SampleRate, 1)
	if err != nil {
		return nil, fmt.Errorf("audio: create opus decoder: %w", err)
	}
	return &opusDecoder{dec: dec, frame: c.FrameSamples()}, nil
}

func (d *opusDecoder) Decode(payload []byte, pcm []int16) (int, error) {
	n, err := d.dec.Decode(payload, pcm)
	if err != nil {
		return 0, fmt.Errorf("audio: opus decode: %w", err)
	}
	return n, nil
}

// Conceal uses libopus's own packet loss concealment.
func (d *opusDecoder) Conceal(pcm []int16) (int, error) {
	if len(pcm) < d.frame {
		return 0, errShortBuffer
	}
	if err := d.dec.DecodePLC(pcm[:d.frame]); err != nil {
		return 0, fmt.Errorf("audio: opus concealment: %w", err)
	}
	return d.frame, nil
}
