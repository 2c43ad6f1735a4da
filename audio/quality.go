package audio

import "math"

// Quality summarises a call's receive quality for the agent and the call
// record.
type Quality struct {
	LossPct  float64 // packets missing at playout, percent
	JitterMs float64 // RFC 3550 interarrival jitter
	RTTMs    float64 // round-trip time (from RTCP, when the SIP room knows it)
	MOS      float64 // estimated listening quality, 1..4.5
}

// codecImpairment holds the E-model equipment impairment factor Ie and the
// packet-loss robustness factor Bpl of ITU-T G.113 Appendix I. G.722 and
// Opus have no narrowband G.113 entries; they are rated like G.711 with
// concealment, which understates them slightly on the wideband scale.
func codecImpairment(name string) (ie, bpl float64) {
	switch name {
	case "pcmu", "pcma":
		return 0, 25.1 // G.711 with Appendix I PLC
	case "g722":
		return 0, 25.1
	case "opus":
		return 0, 30 // built-in PLC, about as robust as modern CELP codecs
	}
	return 0, 4.3 // G.711 without concealment: the conservative default
}

// EstimateMOS computes the MOS of the simplified E-model (ITU-T G.107):
// R = 93.2 - Id - Ie,eff with the default values of all other factors,
// where one-way delay d (ms) costs Id = 0.024d + 0.11(d-177.3) above
// 177.3 ms, and random loss Ppl (%) costs Ie,eff = Ie + (95-Ie) *
// Ppl/(Ppl+Bpl). The mouth-to-ear delay is taken as half the round trip
// plus the jitter buffer and the codec frame.
func EstimateMOS(codec string, lossPct, rttMs, jitterBufferMs float64) float64 {
	d := rttMs/2 + jitterBufferMs + FrameDuration
	id := 0.024 * d
	if d > 177.3 {
		id += 0.11 * (d - 177.3)
	}
	ie, bpl := codecImpairment(codec)
	ppl := max(0, min(100, lossPct))
	ieEff := ie + (95-ie)*ppl/(ppl+bpl)
	return mosFromR(93.2 - id - ieEff)
}

// mosFromR is the G.107 Annex B mapping from the rating R to MOS.
func mosFromR(r float64) float64 {
	switch {
	case r <= 0:
		return 1
	case r >= 100:
		return 4.5
	}
	mos := 1 + 0.035*r + r*(r-60)*(100-r)*7e-6
	// The polynomial dips slightly under 1 for very small R.
	return math.Round(max(1, mos)*100) / 100
}
