package audio

import (
	"math"
	"slices"
	"sync"
	"time"
)

// JitterStatus says what Pop produced.
type JitterStatus int

const (
	// JitterPacket: a payload is ready to decode.
	JitterPacket JitterStatus = iota
	// JitterLost: the packet due now is missing (lost, late, or the buffer
	// ran dry); the caller conceals one frame.
	JitterLost
	// JitterWaiting: playout has not started (buffering) or the stream went
	// quiet; the caller plays silence. Nothing was lost.
	JitterWaiting
)

func (s JitterStatus) String() string {
	switch s {
	case JitterPacket:
		return "packet"
	case JitterLost:
		return "lost"
	}
	return "waiting"
}

// JitterOptions configures a JitterBuffer.
type JitterOptions struct {
	// ClockRate is the RTP clock of the stream (8000 for G.711 and G.722).
	ClockRate int
	// MinDelay and MaxDelay bound the adaptive playout delay (defaults
	// 20 ms and 200 ms).
	MinDelay, MaxDelay time.Duration
}

// JitterStats are the receive statistics of one stream.
type JitterStats struct {
	Received   int64   // packets accepted (not duplicates)
	Played     int64   // packets handed to the decoder
	Lost       int64   // packets missing at their playout time
	Late       int64   // packets that arrived after their playout time
	Duplicates int64   // packets received twice
	Discarded  int64   // packets dropped to shrink an excessive delay
	Underruns  int64   // pops with nothing to play while playing
	LossPct    float64 // Lost / (Played + Lost) * 100
	JitterMs   float64 // RFC 3550 interarrival jitter
	DelayMs    float64 // current target playout delay
}

// JitterBuffer reorders incoming RTP audio packets and releases one per
// 20 ms tick. Its target delay follows the RFC 3550 interarrival jitter
// (one frame plus four times the jitter, within MinDelay..MaxDelay). A
// packet missing at its turn is declared lost once the buffer holds the
// target delay behind it; a buffer running dry conceals without skipping,
// which lets the delay grow after a network stall. Sequence numbers are
// extended across the 16-bit wrap. Safe for one pushing and one popping
// goroutine.
type JitterBuffer struct {
	mu   sync.Mutex
	opts JitterOptions

	pkts    []jbEntry // sorted by ext
	free    [][]byte  // recycled payload buffers
	started bool
	next    uint64 // extended seq to play next
	highest uint64
	seen    bool

	epoch       time.Time
	lastTransit float64
	haveTransit bool
	jitter      float64 // in RTP clock units
	lastTS      uint32
	lastSeq     uint64
	pktTicks    float64 // estimated packet duration, RTP units

	lostMark [128]uint64 // extended seqs recently declared lost, to tell late from duplicate

	targetPkts int
	overTicks  int // pops in a row with the buffer well above target
	quietTicks int // pops in a row with nothing buffered

	stats JitterStats
}

type jbEntry struct {
	ext     uint64
	ts      uint32
	payload []byte
	gap     bool // a non-audio packet (telephone-event, comfort noise)
}

// jitterMaxPackets bounds memory: about two seconds of 20 ms packets.
const jitterMaxPackets = 100

// NewJitterBuffer returns an empty buffer.
func NewJitterBuffer(opts JitterOptions) *JitterBuffer {
	if opts.ClockRate <= 0 {
		opts.ClockRate = 8000
	}
	if opts.MinDelay <= 0 {
		opts.MinDelay = 20 * time.Millisecond
	}
	if opts.MaxDelay < opts.MinDelay {
		opts.MaxDelay = 200 * time.Millisecond
	}
	j := &JitterBuffer{opts: opts}
	j.pktTicks = float64(opts.ClockRate / framesPerSecond)
	j.updateTarget()
	return j
}

func (j *JitterBuffer) pktMs() float64 { return j.pktTicks * 1000 / float64(j.opts.ClockRate) }

func (j *JitterBuffer) updateTarget() {
	jitterMs := j.jitter * 1000 / float64(j.opts.ClockRate)
	d := j.pktMs() + 4*jitterMs
	d = max(d, float64(j.opts.MinDelay.Milliseconds()))
	d = min(d, float64(j.opts.MaxDelay.Milliseconds()))
	j.targetPkts = max(1, int(math.Ceil(d/j.pktMs()-0.01)))
	j.stats.DelayMs = float64(j.targetPkts) * j.pktMs()
	j.stats.JitterMs = jitterMs
}

// Push stores a packet that arrived at the given time. The payload is
// copied.
func (j *JitterBuffer) Push(seq uint16, ts uint32, payload []byte, arrival time.Time) {
	j.push(seq, ts, payload, arrival, false)
}

// PushGap records a packet of the same RTP stream that carries no audio
// (telephone-event, comfort noise). It takes a sequence number, so without
// it the audio would look lost; playout passes over it without a sound.
func (j *JitterBuffer) PushGap(seq uint16, arrival time.Time) {
	j.push(seq, 0, nil, arrival, true)
}

func (j *JitterBuffer) push(seq uint16, ts uint32, payload []byte, arrival time.Time, gap bool) {
	j.mu.Lock()
	defer j.mu.Unlock()

	var ext uint64
	if !j.seen {
		// Start the extended space high enough that early reordering
		// cannot go below zero.
		ext = 1<<32 + uint64(seq)
		j.highest = ext
		j.seen = true
		j.epoch = arrival
	} else {
		ext = uint64(int64(j.highest) + int64(int16(seq-uint16(j.highest))))
	}

	if !gap {
		// RFC 3550 A.8 interarrival jitter, in RTP clock units.
		arr := arrival.Sub(j.epoch).Seconds() * float64(j.opts.ClockRate)
		transit := arr - float64(ts)
		if j.haveTransit {
			d := math.Abs(transit - j.lastTransit)
			// A jump of a second or more is a timestamp reset or a pause,
			// not jitter.
			if d < float64(j.opts.ClockRate) {
				j.jitter += (d - j.jitter) / 16
			}
		}
		j.lastTransit, j.haveTransit = transit, true

		// Packet duration from consecutive packets.
		if ext == j.lastSeq+1 {
			if dt := ts - j.lastTS; dt > 0 && dt <= uint32(j.opts.ClockRate/10) {
				j.pktTicks += (float64(dt) - j.pktTicks) / 8
			}
		}
		j.lastSeq, j.lastTS = ext, ts
	}

	if ext > j.highest {
		j.highest = ext
	}
	if j.started && ext < j.next {
		if gap {
			return
		}
		// Behind the playout point: a packet we gave up on (late), or a
		// copy of one already played (duplicate).
		if m := &j.lostMark[ext%uint64(len(j.lostMark))]; *m == ext {
			*m = 0
			j.stats.Late++
			j.stats.Received++
		} else {
			j.stats.Duplicates++
		}
		return
	}
	i, found := slices.BinarySearchFunc(j.pkts, ext, func(e jbEntry, x uint64) int {
		switch {
		case e.ext < x:
			return -1
		case e.ext > x:
			return 1
		}
		return 0
	})
	if found {
		if !gap {
			j.stats.Duplicates++
		}
		return
	}
	if gap {
		j.pkts = slices.Insert(j.pkts, i, jbEntry{ext: ext, gap: true})
		return
	}
	j.stats.Received++
	var b []byte
	if n := len(j.free); n > 0 {
		b, j.free = j.free[n-1][:0], j.free[:n-1]
	}
	b = append(b, payload...)
	j.pkts = slices.Insert(j.pkts, i, jbEntry{ext: ext, ts: ts, payload: b})
	if len(j.pkts) > jitterMaxPackets {
		j.drop(0)
		j.stats.Discarded++
		if j.started && j.pkts[0].ext > j.next {
			j.next = j.pkts[0].ext
		}
	}
	j.updateTarget()
}

func (j *JitterBuffer) drop(i int) {
	if j.pkts[i].payload != nil {
		j.free = append(j.free, j.pkts[i].payload)
	}
	j.pkts = slices.Delete(j.pkts, i, i+1)
}

// Pop is called once per 20 ms of playout (more often when packets are
// shorter than 20 ms). On JitterPacket the payload is copied into dst and
// its length returned along with its RTP timestamp.
func (j *JitterBuffer) Pop(dst []byte) (int, uint32, JitterStatus) {
	j.mu.Lock()
	defer j.mu.Unlock()

	if !j.started {
		if len(j.pkts) == 0 || len(j.pkts) < j.targetPkts && j.highest-j.pkts[0].ext+1 < uint64(j.targetPkts) {
			return 0, 0, JitterWaiting
		}
		j.started = true
		j.next = j.pkts[0].ext
		j.quietTicks = 0
	}

	// Non-audio packets cost no playout time: pass over them.
	for len(j.pkts) > 0 && j.pkts[0].gap && j.pkts[0].ext <= j.next {
		if j.pkts[0].ext == j.next {
			j.next++
		}
		j.drop(0)
	}

	if len(j.pkts) == 0 {
		j.quietTicks++
		// After a second of nothing the stream has paused (hold, DTX, a
		// dead link): stop concealing and buffer afresh when it resumes.
		if j.quietTicks > framesPerSecond {
			j.started = false
			return 0, 0, JitterWaiting
		}
		j.stats.Underruns++
		return 0, 0, JitterLost
	}
	j.quietTicks = 0

	head := j.pkts[0]
	// A jump far beyond the buffer's reach is a restarted stream, not
	// loss: resynchronise.
	if head.ext > j.next+jitterMaxPackets {
		j.next = head.ext
	}
	if head.ext == j.next {
		// Shrink a delay that stays well above target (the jitter fell):
		// skip one packet after half a second of excess.
		if len(j.pkts) > j.targetPkts+2 {
			j.overTicks++
		} else {
			j.overTicks = 0
		}
		if j.overTicks > framesPerSecond/2 {
			j.overTicks = 0
			j.drop(0)
			j.stats.Discarded++
			j.next++
			if len(j.pkts) == 0 || j.pkts[0].ext != j.next {
				return 0, 0, JitterLost
			}
			head = j.pkts[0]
		}
		n := copy(dst, head.payload)
		j.drop(0)
		j.next++
		j.stats.Played++
		j.updateLoss()
		return n, head.ts, JitterPacket
	}
	// The packet due now is missing. Give up on it once the buffer holds
	// the target delay beyond it; until then conceal and wait (the delay
	// grows by one frame).
	if j.highest-j.next >= uint64(j.targetPkts) {
		j.lostMark[j.next%uint64(len(j.lostMark))] = j.next
		j.next++
		j.stats.Lost++
		j.updateLoss()
		return 0, 0, JitterLost
	}
	j.stats.Underruns++
	return 0, 0, JitterLost
}

func (j *JitterBuffer) updateLoss() {
	if t := j.stats.Played + j.stats.Lost; t > 0 {
		j.stats.LossPct = float64(j.stats.Lost) * 100 / float64(t)
	}
}

// Reset forgets the stream (a new SSRC, or after hold) but keeps the
// statistics.
func (j *JitterBuffer) Reset() {
	j.mu.Lock()
	defer j.mu.Unlock()
	for len(j.pkts) > 0 {
		j.drop(len(j.pkts) - 1)
	}
	j.started, j.seen, j.haveTransit = false, false, false
	j.overTicks, j.quietTicks = 0, 0
}

// Len is the number of packets buffered.
func (j *JitterBuffer) Len() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.pkts)
}

// Stats returns the statistics so far.
func (j *JitterBuffer) Stats() JitterStats {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.stats
}
