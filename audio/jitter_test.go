package audio

import (
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// simPacket is one packet of a simulated stream: sequence i, sent at i*20 ms.
type simPacket struct {
	seq     uint16
	ts      uint32
	arrival time.Duration
}

// simulate sends n packets starting at seq0 through a network with the
// given delay function (nil drops the packet), pops every 20 ms and returns
// the sequence numbers played in order plus the final statistics.
func simulate(t testing.TB, n int, seq0 uint16, delay func(i int) (time.Duration, bool)) ([]uint16, JitterStats) {
	jb := NewJitterBuffer(JitterOptions{ClockRate: 8000})
	var pkts []simPacket
	for i := range n {
		d, ok := delay(i)
		if !ok {
			continue
		}
		p := simPacket{seq: seq0 + uint16(i), ts: 1000 + uint32(i)*160, arrival: time.Duration(i)*20*time.Millisecond + d}
		pkts = append(pkts, p)
		if i%17 == 5 { // some duplicates
			p.arrival += 3 * time.Millisecond
			pkts = append(pkts, p)
		}
	}
	slices.SortStableFunc(pkts, func(a, b simPacket) int { return int(a.arrival - b.arrival) })
	base := time.Unix(1000, 0)
	var played []uint16
	buf := make([]byte, 64)
	k := 0
	end := time.Duration(n+20) * 20 * time.Millisecond
	for now := 10 * time.Millisecond; now < end; now += 20 * time.Millisecond {
		for k < len(pkts) && pkts[k].arrival <= now {
			var payload [2]byte
			binary.BigEndian.PutUint16(payload[:], pkts[k].seq)
			jb.Push(pkts[k].seq, pkts[k].ts, payload[:], base.Add(pkts[k].arrival))
			k++
		}
		m, _, st := jb.Pop(buf)
		if st == JitterPacket {
			if m != 2 {
				t.Fatalf("payload of %d bytes", m)
			}
			played = append(played, binary.BigEndian.Uint16(buf))
		}
	}
	return played, jb.Stats()
}

func TestJitterBuffer(t *testing.T) {
	tests := []struct {
		name     string
		seq0     uint16
		delay    func(i int) (time.Duration, bool)
		maxLoss  float64 // percent
		minLoss  float64
		minJitMs float64
		maxJitMs float64
	}{
		{"steady", 100, func(int) (time.Duration, bool) { return 30 * time.Millisecond, true }, 0, 0, 0, 1},
		{"wraps", 65500, func(int) (time.Duration, bool) { return 5 * time.Millisecond, true }, 0, 0, 0, 1},
		{"ten percent loss", 1, func(i int) (time.Duration, bool) {
			return 10 * time.Millisecond, rand.New(rand.NewPCG(uint64(i), 1)).Float64() >= 0.1
		}, 14, 6, 0, 1},
		{"reordered pairs", 40000, func(i int) (time.Duration, bool) {
			if i%2 == 0 {
				return 25 * time.Millisecond, true
			}
			return 0, true
		}, 3, 0, 5, 40},
		{"random jitter 0-60 ms", 7, func(i int) (time.Duration, bool) {
			return time.Duration(rand.New(rand.NewPCG(uint64(i), 2)).IntN(60)) * time.Millisecond, true
		}, 4, 0, 8, 40},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			played, st := simulate(t, 2000, tt.seq0, tt.delay)
			for i := 1; i < len(played); i++ {
				if int16(played[i]-played[i-1]) <= 0 {
					t.Fatalf("played %d after %d: out of order", played[i], played[i-1])
				}
			}
			if st.LossPct > tt.maxLoss || st.LossPct < tt.minLoss {
				t.Errorf("loss %.2f%%, want %.0f..%.0f%%", st.LossPct, tt.minLoss, tt.maxLoss)
			}
			if st.JitterMs < tt.minJitMs || st.JitterMs > tt.maxJitMs {
				t.Errorf("jitter %.1f ms, want %.0f..%.0f", st.JitterMs, tt.minJitMs, tt.maxJitMs)
			}
			if st.Duplicates == 0 {
				t.Error("duplicates not detected")
			}
			if st.DelayMs < 20 || st.DelayMs > 200 {
				t.Errorf("target delay %.0f ms outside 20..200", st.DelayMs)
			}
			t.Logf("%+v", st)
		})
	}
}

func TestJitterBufferPauseAndResume(t *testing.T) {
	jb := NewJitterBuffer(JitterOptions{ClockRate: 8000})
	now := time.Unix(0, 0)
	buf := make([]byte, 8)
	push := func(seq uint16) {
		jb.Push(seq, uint32(seq)*160, []byte{1}, now)
	}
	for i := range uint16(10) {
		push(i)
		now = now.Add(20 * time.Millisecond)
		jb.Pop(buf)
	}
	// Two seconds of nothing: playout must stop concealing and wait.
	var st JitterStatus
	for range 100 {
		_, _, st = jb.Pop(buf)
	}
	if st != JitterWaiting {
		t.Fatalf("after a long pause Pop = %v, want waiting", st)
	}
	// The stream resumes far ahead (a restarted sender): no mass loss.
	for i := uint16(30000); i < 30010; i++ {
		push(i)
		jb.Pop(buf)
	}
	if s := jb.Stats(); s.Lost > 0 {
		t.Errorf("lost %d packets across a pause", s.Lost)
	}
}

func BenchmarkJitterBuffer(b *testing.B) {
	jb := NewJitterBuffer(JitterOptions{ClockRate: 8000})
	payload := make([]byte, 160)
	buf := make([]byte, 1500)
	now := time.Now()
	seq := uint16(0)
	for b.Loop() {
		now = now.Add(20 * time.Millisecond)
		jb.Push(seq, uint32(seq)*160, payload, now)
		jb.Pop(buf)
		seq++
	}
}

// FuzzJitterBuffer pushes packets in arbitrary order, with duplicates and
// gaps, interleaved with pops. Played packets must come out in strictly
// increasing sequence order and the counters must stay consistent.
func FuzzJitterBuffer(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 255, 4, 5, 6})
	f.Add([]byte{200, 10, 9, 255, 255, 8, 7, 128, 0})
	f.Fuzz(func(t *testing.T, ops []byte) {
		jb := NewJitterBuffer(JitterOptions{ClockRate: 8000})
		now := time.Unix(0, 0)
		base := uint16(65500)
		buf := make([]byte, 8)
		var last uint16
		havePlayed := false
		for _, op := range ops {
			now = now.Add(time.Duration(op%40) * time.Millisecond)
			if op >= 250 {
				n, _, st := jb.Pop(buf)
				if st != JitterPacket {
					continue
				}
				if n != 2 {
					t.Fatalf("payload %d bytes", n)
				}
				seq := binary.BigEndian.Uint16(buf)
				if havePlayed && int16(seq-last) <= 0 {
					t.Fatalf("played %d after %d", seq, last)
				}
				last, havePlayed = seq, true
				continue
			}
			seq := base + uint16(op)
			var p [2]byte
			binary.BigEndian.PutUint16(p[:], seq)
			jb.Push(seq, uint32(seq)*160, p[:], now)
		}
		st := jb.Stats()
		if st.Played > st.Received || st.LossPct < 0 || st.LossPct > 100 {
			t.Fatalf("inconsistent stats %+v", st)
		}
	})
}

// TestJitterBufferGaps interleaves telephone-event packets (which use
// sequence numbers but carry no audio) with audio: no loss may be counted
// and the audio must play in order.
func TestJitterBufferGaps(t *testing.T) {
	jb := NewJitterBuffer(JitterOptions{ClockRate: 8000})
	now := time.Unix(0, 0)
	buf := make([]byte, 8)
	var played []byte
	seq := uint16(65530)
	for i := range 40 {
		if i >= 10 && i < 17 {
			jb.PushGap(seq, now) // a digit instead of audio
		} else {
			jb.Push(seq, uint32(i)*160, []byte{byte(i)}, now)
		}
		seq++
		now = now.Add(20 * time.Millisecond)
		if n, _, st := jb.Pop(buf); st == JitterPacket && n == 1 {
			played = append(played, buf[0])
		}
	}
	for range 5 {
		if n, _, st := jb.Pop(buf); st == JitterPacket && n == 1 {
			played = append(played, buf[0])
		}
	}
	st := jb.Stats()
	if st.Lost != 0 || st.Played != 33 {
		t.Errorf("stats %+v, want 33 played and none lost", st)
	}
	for i := 1; i < len(played); i++ {
		if played[i] <= played[i-1] {
			t.Fatalf("played out of order: %v", played)
		}
	}
}

func TestDTMFDedup(t *testing.T) {
	var d dtmfDedup
	steps := []struct {
		ts   uint32
		ev   uint8
		want bool
	}{
		{1000, 5, true}, {1000, 5, false}, {1000, 5, false}, // updates and end retransmits
		{1800, 5, true},  // the same digit pressed again: new timestamp
		{1800, 11, true}, // a different event at the same timestamp
		{1000, 5, false}, // a straggler of the first press
	}
	for i, s := range steps {
		if got := d.first(s.ts, s.ev); got != s.want {
			t.Errorf("step %d (%d, %d): first = %v", i, s.ts, s.ev, got)
		}
	}
}
