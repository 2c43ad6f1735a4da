package sip

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/emiago/diago/media"
	"github.com/pion/sdp/v3"
)

// Codec names Switchboard negotiates, mapped to diago's SDP descriptors.
var codecTable = map[string]media.Codec{
	"pcmu": media.CodecAudioUlaw,
	"pcma": media.CodecAudioAlaw,
	"g722": media.CodecAudioG722,
	"opus": media.CodecAudioOpus,
}

// mediaCodecs turns the configured preference order into the SDP codec
// list, always followed by telephone-event for RFC 4733 DTMF.
func mediaCodecs(names []string) ([]media.Codec, error) {
	if len(names) == 0 {
		names = []string{"opus", "g722", "pcmu", "pcma"}
	}
	var out []media.Codec
	seen := map[string]bool{}
	for _, n := range names {
		n = strings.ToLower(strings.TrimSpace(n))
		c, ok := codecTable[n]
		if !ok {
			return nil, fmt.Errorf("unknown codec %q: use opus, g722, pcmu or pcma", n)
		}
		if !seen[n] {
			out = append(out, c)
			seen[n] = true
		}
	}
	return append(out, media.CodecTelephoneEvent8000), nil
}

// ErrBadOffer is returned for an SDP offer we cannot answer.
var ErrBadOffer = errors.New("unacceptable SDP offer")

// checkOffer decides before ringing whether an incoming offer can be
// answered at all, so a caller with broken or alien SDP gets a clear 488
// instead of a phone that rings and then fails.
func (u *UA) checkOffer(body []byte) error {
	return CheckOffer(body, u.codecs, u.opts.SRTP == "required")
}

// CheckOffer validates an SDP offer against the codecs we support.
func CheckOffer(body []byte, codecs []media.Codec, requireSRTP bool) error {
	if len(strings.TrimSpace(string(body))) == 0 {
		return fmt.Errorf("%w: INVITE without SDP (late offer) is not supported", ErrBadOffer)
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(string(body)); err != nil {
		return fmt.Errorf("%w: malformed SDP: %v", ErrBadOffer, err)
	}
	var audio *sdp.MediaDescription
	for _, m := range sd.MediaDescriptions {
		if m.MediaName.Media == "audio" && m.MediaName.Port.Value != 0 {
			audio = m
			break
		}
	}
	if audio == nil {
		return fmt.Errorf("%w: no audio stream offered", ErrBadOffer)
	}
	if sd.ConnectionInformation == nil && audio.ConnectionInformation == nil {
		return fmt.Errorf("%w: no connection address", ErrBadOffer)
	}
	if len(audio.MediaName.Formats) == 0 {
		return fmt.Errorf("%w: audio stream lists no codec", ErrBadOffer)
	}
	secure := false
	for _, p := range audio.MediaName.Protos {
		if p == "SAVP" || p == "SAVPF" {
			secure = true
		}
	}
	if requireSRTP && !secure {
		return fmt.Errorf("%w: SRTP is required but the offer is plain RTP", ErrBadOffer)
	}
	rtpmap := map[string]string{}
	for _, a := range audio.Attributes {
		if a.Key != "rtpmap" {
			continue
		}
		pt, enc, ok := strings.Cut(a.Value, " ")
		if ok {
			rtpmap[pt] = strings.ToLower(enc)
		}
	}
	for _, f := range audio.MediaName.Formats {
		pt, err := strconv.Atoi(f)
		if err != nil || pt < 0 || pt > 127 {
			continue
		}
		name := ""
		if enc, ok := rtpmap[f]; ok {
			name, _, _ = strings.Cut(enc, "/")
		} else {
			switch pt {
			case 0:
				name = "pcmu"
			case 8:
				name = "pcma"
			case 9:
				name = "g722"
			}
		}
		for _, c := range codecs {
			if c.IsAuxiliary() || c.Name == media.CodecTelephoneEvent8000.Name {
				continue
			}
			if strings.EqualFold(c.Name, name) {
				return nil
			}
		}
	}
	return fmt.Errorf("%w: none of the offered codecs (%s) is supported", ErrBadOffer, strings.Join(audio.MediaName.Formats, " "))
}

// remoteHoldFromSDP reports whether an offer puts us on hold: the audio
// stream is sendonly or inactive, or the old-style c=0.0.0.0.
func remoteHoldFromSDP(body []byte) bool {
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(string(body)); err != nil {
		return false
	}
	dir := ""
	for _, a := range sd.Attributes {
		if isDirection(a.Key) {
			dir = a.Key
		}
	}
	for _, m := range sd.MediaDescriptions {
		if m.MediaName.Media != "audio" {
			continue
		}
		for _, a := range m.Attributes {
			if isDirection(a.Key) {
				dir = a.Key
			}
		}
		if ci := m.ConnectionInformation; ci != nil && ci.Address != nil && ci.Address.Address == "0.0.0.0" {
			return true
		}
	}
	if ci := sd.ConnectionInformation; ci != nil && ci.Address != nil && ci.Address.Address == "0.0.0.0" {
		return true
	}
	return dir == "sendonly" || dir == "inactive"
}

func isDirection(k string) bool {
	return k == "sendonly" || k == "recvonly" || k == "inactive" || k == "sendrecv"
}
