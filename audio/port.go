package audio

import "github.com/pion/rtp"

// RTPPort is what a call's media transport (package sip) hands the audio
// pipeline. The pipeline paces itself by the network clock and owns the
// RTP timestamps; the port only moves packets.
type RTPPort interface {
	// ReadRTP blocks until a packet (audio or telephone-event) arrives and
	// decodes it into pkt (payload aliases buf). It returns an error once
	// the call's media is closed.
	ReadRTP(buf []byte, pkt *rtp.Packet) (int, error)
	// WriteRTP sends one packet. The caller sets PayloadType, Timestamp,
	// Marker and Payload; the port fills Version, SSRC and SequenceNumber.
	WriteRTP(pkt *rtp.Packet) error
}
