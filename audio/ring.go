package audio

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrClosed is returned by rings and calls that have been closed.
var ErrClosed = errors.New("audio: closed")

// DriftRing carries mono PCM between two clocks that nominally agree but
// drift apart: a sound card and the network's 20 ms RTP cadence. The
// consumer's Read stretches or squeezes what it takes by up to
// MaxCorrection (linear interpolation on a fractional read position) to
// hold the fill level near Target: above the target it consumes slightly
// more samples than it yields (dropping), below it slightly fewer
// (inserting). The correction follows a smoothed level, so it changes
// gradually and stays inaudible.
//
// The producer's Write blocks while the ring is full. That back-pressure
// matters for sources that are not clocked (an ALSA file device reads
// instantly): they are paced by the consumer instead of spinning.
type DriftRing struct {
	mu       sync.Mutex
	notFull  *sync.Cond
	notEmpty chan struct{} // signalled (non-blocking) on every write
	buf      []int16
	head     int // index of the oldest sample
	n        int // samples stored
	closed   bool

	target  int
	maxCorr float64
	level   float64 // smoothed fill level (samples)
	integ   float64 // integral term of the drift controller
	frac    float64 // fractional read position, 0 <= frac < 1

	stats RingStats
}

// DriftRingOptions sizes a DriftRing, all in samples.
type DriftRingOptions struct {
	// Capacity is the most the ring holds before Write blocks.
	Capacity int
	// Target is the fill level the drift correction steers to.
	Target int
	// MaxCorrection is the largest rate change, as a fraction (default
	// 0.002, i.e. 2000 ppm, ten times the drift of typical sound cards).
	MaxCorrection float64
}

// RingStats counts what a ring did to keep the clocks together.
type RingStats struct {
	Written, Read int64 // samples in and out
	Dropped       int64 // samples discarded by TryWrite on overflow
	Underruns     int64 // reads that found too little and padded silence
	Correction    float64
	Level         int
}

// NewDriftRing returns an empty ring.
func NewDriftRing(opts DriftRingOptions) *DriftRing {
	if opts.Capacity <= 0 {
		opts.Capacity = 4096
	}
	if opts.Target <= 0 || opts.Target >= opts.Capacity {
		opts.Target = opts.Capacity / 2
	}
	if opts.MaxCorrection <= 0 {
		opts.MaxCorrection = 0.002
	}
	r := &DriftRing{
		buf:      make([]int16, opts.Capacity),
		notEmpty: make(chan struct{}, 1),
		target:   opts.Target,
		maxCorr:  opts.MaxCorrection,
		level:    float64(opts.Target),
	}
	r.notFull = sync.NewCond(&r.mu)
	return r
}

func (r *DriftRing) put(p []int16) {
	c := len(r.buf)
	tail := (r.head + r.n) % c
	k := copy(r.buf[tail:], p)
	copy(r.buf, p[k:])
	r.n += len(p)
	r.stats.Written += int64(len(p))
	select {
	case r.notEmpty <- struct{}{}:
	default:
	}
}

// Write appends p, blocking while the ring is full. It returns ErrClosed
// once the ring is closed, or the context's error.
func (r *DriftRing) Write(ctx context.Context, p []int16) error {
	stop := context.AfterFunc(ctx, func() {
		r.mu.Lock()
		r.notFull.Broadcast()
		r.mu.Unlock()
	})
	defer stop()
	r.mu.Lock()
	defer r.mu.Unlock()
	for len(p) > 0 {
		for !r.closed && r.n == len(r.buf) && ctx.Err() == nil {
			r.notFull.Wait()
		}
		if r.closed {
			return ErrClosed
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		k := min(len(p), len(r.buf)-r.n)
		r.put(p[:k])
		p = p[k:]
	}
	return nil
}

// TryWrite appends p without blocking. If p does not fit, the oldest
// samples are discarded to make room (a consumer that stalled should hear
// the newest audio, not a growing delay).
func (r *DriftRing) TryWrite(p []int16) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	if len(p) > len(r.buf) {
		r.stats.Dropped += int64(len(p) - len(r.buf))
		p = p[len(p)-len(r.buf):]
	}
	if over := r.n + len(p) - len(r.buf); over > 0 {
		r.head = (r.head + over) % len(r.buf)
		r.n -= over
		r.stats.Dropped += int64(over)
	}
	r.put(p)
}

func (r *DriftRing) at(i int) float32 { return float32(r.buf[(r.head+i)%len(r.buf)]) }

// correction updates the smoothed level and returns the rate change to
// apply for this read: positive consumes faster. It is a PI controller:
// the integral term converges on the clocks' actual drift and holds it,
// the proportional term pulls the level back after a disturbance.
func (r *DriftRing) correction() float64 {
	// The level is sampled once per read (every 20 ms); a time constant of
	// about 25 reads (half a second) smooths out bursty device periods.
	r.level += (float64(r.n) - r.level) / 25
	dev := (r.level - float64(r.target)) / float64(r.target)
	// Inside a dead band of 5% of the target nothing accumulates, so a
	// steady level near the target keeps a steady rate.
	const dead = 0.05
	if dev > dead || dev < -dead {
		// Integral gain: a 20% deviation builds 1000 ppm in about 5 s.
		r.integ += dev * 2e-5
		r.integ = max(-r.maxCorr, min(r.maxCorr, r.integ))
	}
	c := r.integ + dev*r.maxCorr
	c = max(-r.maxCorr, min(r.maxCorr, c))
	r.stats.Correction = c
	return c
}

// Read fills dst with drift-corrected samples without blocking. It returns
// how many samples came from the ring; the rest of dst is zero-padded (an
// underrun). A closed ring returns ErrClosed.
func (r *DriftRing) Read(dst []int16) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.readLocked(dst)
}

func (r *DriftRing) readLocked(dst []int16) (int, error) {
	if r.closed && r.n == 0 {
		return 0, ErrClosed
	}
	step := 1 + r.correction()
	pos := r.frac
	i := 0
	for ; i < len(dst); i++ {
		k := int(pos)
		if k+1 >= r.n {
			// Interpolation needs the next sample; take the last one as it is.
			if k < r.n {
				dst[i] = r.buf[(r.head+k)%len(r.buf)]
				pos += step
				i++
			}
			break
		}
		f := float32(pos - float64(k))
		a, b := r.at(k), r.at(k+1)
		dst[i] = clamp16(roundf(a + (b-a)*f))
		pos += step
	}
	consumed := min(int(pos), r.n)
	r.frac = pos - float64(int(pos))
	if consumed < int(pos) {
		r.frac = 0
	}
	r.head = (r.head + consumed) % len(r.buf)
	r.n -= consumed
	r.stats.Read += int64(i)
	if i < len(dst) {
		clear(dst[i:])
		r.stats.Underruns++
		r.frac = 0
	}
	if consumed > 0 {
		r.notFull.Broadcast()
	}
	return i, nil
}

// ReadWait is Read for a consumer that may wait: it blocks until the ring
// holds enough for dst, the timeout passes, or ctx ends, then reads. A
// playback device uses it to write silence at most once per frame period
// when the network goes quiet, instead of spinning on an unclocked device.
func (r *DriftRing) ReadWait(ctx context.Context, dst []int16, timeout time.Duration) (int, error) {
	var timer *time.Timer
	for {
		r.mu.Lock()
		// Enough for a full read at the current rate: the last output
		// sample sits at frac + (len-1)*step.
		need := int(r.frac+float64(len(dst)-1)*(1+r.stats.Correction)) + 1
		if r.n >= need+1 || r.closed {
			n, err := r.readLocked(dst)
			r.mu.Unlock()
			return n, err
		}
		r.mu.Unlock()
		if timer == nil {
			timer = time.NewTimer(timeout)
			defer timer.Stop()
		}
		select {
		case <-r.notEmpty:
		case <-timer.C:
			return r.Read(dst)
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// Len is the number of samples stored.
func (r *DriftRing) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

// Reset discards the stored samples (after a device switch or hold).
func (r *DriftRing) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.head, r.n, r.frac = 0, 0, 0
	r.level = float64(r.target)
	r.notFull.Broadcast()
}

// Stats returns counters and the current correction.
func (r *DriftRing) Stats() RingStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stats
	s.Level = r.n
	return s
}

// Close wakes blocked writers and readers; later writes fail and reads
// drain what is left, then fail.
func (r *DriftRing) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	r.notFull.Broadcast()
	select {
	case r.notEmpty <- struct{}{}:
	default:
	}
}
