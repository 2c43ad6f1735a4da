package audio

import "math"

// waveformPLC hides lost frames for codecs without their own concealment
// (G.711, G.722): it repeats the last pitch period of good speech, fades it
// out over 60 ms so a long gap turns into silence rather than a buzz, and
// cross-fades back into the first good frame so recovery does not click.
// The approach follows ITU-T G.711 Appendix I in spirit, much simplified.
type waveformPLC struct {
	rate     int
	frame    int
	hist     []int16 // most recent good samples, oldest first
	histLen  int
	minPitch int
	maxPitch int

	lost   int     // consecutive concealed frames
	period []int16 // the pitch period being repeated
	pos    int     // read position in period
}

func newWaveformPLC(rate int) *waveformPLC {
	return &waveformPLC{
		rate:     rate,
		frame:    rate / framesPerSecond,
		histLen:  rate * 40 / 1000,
		minPitch: rate / 400,       // 2.5 ms, 400 Hz
		maxPitch: rate * 15 / 1000, // 15 ms, 66 Hz
	}
}

// fadeFrames is how many concealed frames it takes to reach silence.
const fadeFrames = 3

// gainAt is the concealment gain k samples into the current lost frame.
// The first lost frame plays at full level (a single loss should be
// inaudible); later frames fade linearly to zero.
func (p *waveformPLC) gainAt(k int) float32 {
	if p.lost == 0 {
		return 1
	}
	span := float32(p.frame * (fadeFrames - 1))
	done := float32((p.lost-1)*p.frame + k)
	g := 1 - done/span
	if g < 0 {
		return 0
	}
	return g
}

func (p *waveformPLC) good(pcm []int16) {
	if p.lost > 0 && p.lost < fadeFrames+1 && len(p.period) > 0 {
		// Cross-fade from the concealment continuation into real speech.
		ol := min(len(pcm), p.rate/250)
		for i := range ol {
			c := float32(p.period[p.pos]) * p.gainAt(0)
			p.pos = (p.pos + 1) % len(p.period)
			w := float32(i) / float32(ol)
			pcm[i] = clamp16(c*(1-w) + float32(pcm[i])*w)
		}
	}
	p.lost = 0
	p.period = p.period[:0]
	p.hist = append(p.hist, pcm...)
	if over := len(p.hist) - p.histLen; over > 0 {
		p.hist = append(p.hist[:0], p.hist[over:]...)
	}
}

func (p *waveformPLC) conceal(pcm []int16) (int, error) {
	n := p.frame
	if len(pcm) < n {
		return 0, errShortBuffer
	}
	if len(p.hist) < p.maxPitch+p.minPitch {
		clear(pcm[:n])
		p.lost++
		return n, nil
	}
	if p.lost == 0 {
		pitch := p.estimatePitch()
		p.period = append(p.period[:0], p.hist[len(p.hist)-pitch:]...)
		p.pos = 0
	}
	for k := range n {
		pcm[k] = clamp16(float32(p.period[p.pos]) * p.gainAt(k))
		p.pos = (p.pos + 1) % len(p.period)
	}
	p.lost++
	return n, nil
}

// estimatePitch finds the lag with the highest normalised autocorrelation
// over the last maxPitch samples. Unvoiced or silent history still yields
// a usable lag; repeating it is harmless because it fades out.
func (p *waveformPLC) estimatePitch() int {
	h := p.hist
	w := p.maxPitch
	end := len(h)
	best, bestScore := p.maxPitch, float64(-1)
	for lag := p.minPitch; lag <= p.maxPitch && end-w-lag >= 0; lag++ {
		var xy, yy float64
		for i := end - w; i < end; i++ {
			x, y := float64(h[i]), float64(h[i-lag])
			xy += x * y
			yy += y * y
		}
		if yy == 0 {
			continue
		}
		score := xy / math.Sqrt(yy)
		if score > bestScore {
			best, bestScore = lag, score
		}
	}
	return best
}

func clamp16(v float32) int16 {
	switch {
	case v > 32767:
		return 32767
	case v < -32768:
		return -32768
	}
	return int16(v)
}
