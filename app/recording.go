package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"switchboard/app/store"
	"switchboard/audio"
)

// recording is one call's recording in progress: an Ogg Opus file, both
// parties in stereo (left the agent, right the caller).
type recording struct {
	id   string
	path string
	f    *os.File
	r    *audio.Recorder
}

// startRecording opens the call's recording file in the data directory.
func (p *Phone) startRecording(c Call) (*recording, error) {
	if p.opts.DataDir == "" {
		return nil, fmt.Errorf("no data directory for recordings")
	}
	dir := filepath.Join(p.opts.DataDir, "recordings", c.Started.Format("2006-01"))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the recordings directory: %w", err)
	}
	name := fmt.Sprintf("%s_%s_%s.opus", c.Started.Format("20060102-150405"), c.Direction, c.ID)
	path := filepath.Join(dir, name)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("creating the recording file: %w", err)
	}
	r, err := audio.NewRecorder(f, audio.RecorderOptions{Stereo: true, Logger: p.opts.Logger})
	if err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	return &recording{id: "rec-" + c.ID, path: path, f: f, r: r}, nil
}

// finishRecording closes the file and indexes it under the call.
func (p *Phone) finishRecording(ctx context.Context, callID string, rec *recording) {
	dur := rec.r.Duration()
	err := rec.r.Close()
	if cerr := rec.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		p.log.Error("recording could not be finished", "path", rec.path, "error", err)
	}
	var size int64
	if st, err := os.Stat(rec.path); err == nil {
		size = st.Size()
	}
	err = p.st.AddRecording(ctx, store.Recording{
		ID: rec.id, CallID: callID, Path: rec.path, Format: "opus", Bytes: size,
		DurationSec: dur.Seconds(), Created: time.Now(),
	})
	if err != nil {
		p.log.Error("recording could not be indexed", "path", rec.path, "error", err)
	}
}
