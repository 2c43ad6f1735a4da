package audio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"gopkg.in/hraban/opus.v2"
)

// Recording format: Ogg Opus (RFC 7845) at 16 kHz, wideband speech at a
// fraction of WAV's size, playable in every browser and in Dynamics.
const (
	recordRate    = 16000
	recordFrame   = recordRate / framesPerSecond
	recordBitrate = 24000 // per channel
	// recordPreSkip is the encoder look-ahead at 16 kHz (104 samples),
	// expressed at 48 kHz as Ogg Opus requires.
	recordPreSkip = 312
)

// RecorderOptions configures a Recorder.
type RecorderOptions struct {
	// Stereo keeps the parties apart: left is the agent as sent, right
	// the caller as heard. Otherwise both are mixed into mono.
	Stereo bool
	// Vendor goes into the OpusTags header (default "Switchboard").
	Vendor string
	Logger *slog.Logger
}

// Recorder writes a call to an Ogg Opus stream. A Call feeds it through
// CallOptions.Record; WritePCM feeds it directly. It does not close the
// underlying writer.
type Recorder struct {
	mu       sync.Mutex
	opts     RecorderOptions
	log      *slog.Logger
	ogg      *oggWriter
	enc      *opus.Encoder
	channels int

	local, remote     []int16 // pending 16 kHz samples per party
	rsLocal, rsRemote *Resampler
	frame             []int16
	packet            []byte
	granule           int64 // 48 kHz samples decoded so far (pre-skip included)
	samples           int64 // 16 kHz frames encoded
	err               error
	closed            bool
}

// NewRecorder writes the Ogg Opus headers to w and returns a recorder.
func NewRecorder(w io.Writer, opts RecorderOptions) (*Recorder, error) {
	if opts.Vendor == "" {
		opts.Vendor = "Switchboard"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	ch := 1
	if opts.Stereo {
		ch = 2
	}
	enc, err := opus.NewEncoder(recordRate, ch, opus.AppVoIP)
	if err != nil {
		return nil, fmt.Errorf("audio: create recording encoder: %w", err)
	}
	if err := enc.SetBitrate(recordBitrate * ch); err != nil {
		return nil, fmt.Errorf("audio: recording bitrate: %w", err)
	}
	r := &Recorder{
		opts:     opts,
		log:      opts.Logger,
		ogg:      newOggWriter(w, rand.Uint32()),
		enc:      enc,
		channels: ch,
		frame:    make([]int16, recordFrame*ch),
		packet:   make([]byte, 1500),
	}
	if err := r.writeHeaders(); err != nil {
		return nil, fmt.Errorf("audio: write recording header: %w", err)
	}
	return r, nil
}

func (r *Recorder) writeHeaders() error {
	head := make([]byte, 19)
	copy(head, "OpusHead")
	head[8] = 1 // version
	head[9] = byte(r.channels)
	binary.LittleEndian.PutUint16(head[10:], recordPreSkip)
	binary.LittleEndian.PutUint32(head[12:], recordRate)
	// Output gain 0, channel mapping family 0 (mono or stereo).
	if err := r.ogg.writePacket(head, 0, true); err != nil {
		return err
	}
	tags := []byte("OpusTags")
	tags = binary.LittleEndian.AppendUint32(tags, uint32(len(r.opts.Vendor)))
	tags = append(tags, r.opts.Vendor...)
	tags = binary.LittleEndian.AppendUint32(tags, 0) // no user comments
	return r.ogg.writePacket(tags, 0, true)
}

// WritePCM adds audio of both parties at rate Hz. The two slices may have
// different lengths; the recorder keeps them aligned.
func (r *Recorder) WritePCM(local, remote []int16, rate int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	r.appendLocked(&r.local, &r.rsLocal, local, rate)
	r.appendLocked(&r.remote, &r.rsRemote, remote, rate)
	r.encodeLocked(false)
	return r.err
}

func (r *Recorder) addLocal(pcm []int16, rate int)  { r.WritePCM(pcm, nil, rate) }
func (r *Recorder) addRemote(pcm []int16, rate int) { r.WritePCM(nil, pcm, rate) }

func (r *Recorder) appendLocked(dst *[]int16, rs **Resampler, pcm []int16, rate int) {
	if len(pcm) == 0 {
		return
	}
	if *rs == nil || (*rs).InRate() != rate {
		var err error
		if *rs, err = NewResampler(rate, recordRate); err != nil {
			r.err = err
			return
		}
	}
	*dst = (*rs).Process(*dst, pcm)
}

// encodeLocked encodes every complete 20 ms frame both parties have
// supplied. If one side runs more than a second ahead (the other stalled),
// the missing side is taken as silence so memory stays bounded; at the end
// (final) the shorter side is padded too.
func (r *Recorder) encodeLocked(final bool) {
	for r.err == nil {
		nl, nr := len(r.local), len(r.remote)
		avail := min(nl, nr)
		if lag := max(nl, nr) - avail; lag > recordRate || final {
			avail = max(nl, nr)
		}
		if avail < recordFrame {
			if !final || avail == 0 {
				return
			}
		}
		l := takeFrame(&r.local)
		rm := takeFrame(&r.remote)
		if r.channels == 2 {
			for i := range recordFrame {
				r.frame[2*i] = l[i]
				r.frame[2*i+1] = rm[i]
			}
		} else {
			for i := range recordFrame {
				r.frame[i] = clamp16(float32(l[i]) + float32(rm[i]))
			}
		}
		n, err := r.enc.Encode(r.frame, r.packet)
		if err != nil {
			r.err = fmt.Errorf("audio: encode recording: %w", err)
			return
		}
		r.granule += 48000 / framesPerSecond
		r.samples += recordFrame
		if err := r.ogg.writePacket(r.packet[:n], r.granule, false); err != nil {
			r.err = fmt.Errorf("audio: write recording: %w", err)
			r.log.Error("recording write failed", "err", err)
			return
		}
	}
}

// flushLookahead encodes one frame of silence so the encoder's look-ahead
// releases the end of the audio, and marks the final granule position as
// pre-skip plus the audio actually recorded: players trim the padding.
func (r *Recorder) flushLookahead() {
	if r.err != nil || r.samples == 0 {
		return
	}
	clear(r.frame)
	n, err := r.enc.Encode(r.frame, r.packet)
	if err != nil {
		r.err = fmt.Errorf("audio: encode recording: %w", err)
		return
	}
	end := recordPreSkip + r.samples*(48000/recordRate)
	if err := r.ogg.writePacket(r.packet[:n], end, false); err != nil {
		r.err = fmt.Errorf("audio: write recording: %w", err)
	}
}

// takeFrame removes one frame from the front of *buf, zero-padded when short.
func takeFrame(buf *[]int16) []int16 {
	var f [recordFrame]int16
	n := copy(f[:], *buf)
	*buf = (*buf)[:copy(*buf, (*buf)[n:])]
	return f[:]
}

// Duration is the length of audio recorded so far.
func (r *Recorder) Duration() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return time.Duration(r.samples) * time.Second / recordRate
}

// Close encodes what is pending and ends the Ogg stream. It does not close
// the underlying writer.
func (r *Recorder) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	r.encodeLocked(true)
	r.flushLookahead()
	if err := r.ogg.close(); err != nil && r.err == nil {
		r.err = err
	}
	if r.err != nil {
		return errors.Join(errors.New("audio: recording incomplete"), r.err)
	}
	return nil
}
