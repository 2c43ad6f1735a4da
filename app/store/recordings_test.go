package store

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func TestRecordings(t *testing.T) {
	ctx := t.Context()
	s := openTest(t)
	seedList(t, s)
	add := []Recording{
		{ID: "r1", CallID: "a", Path: "/rec/r1.wav", Format: "wav", Bytes: 1 << 20, DurationSec: 30.5, Created: base.Add(1 * time.Hour)},
		{ID: "r2", CallID: "b", Path: "/rec/r2.wav", Format: "wav", Bytes: 2048, DurationSec: 12, Created: base.Add(2 * time.Hour)},
		{ID: "r3", CallID: "a", Path: "/rec/r3.opus", Format: "opus", Bytes: 4096, DurationSec: 8, Created: base.Add(3 * time.Hour)},
		{ID: "r4", Path: "/rec/r4.wav", Format: "wav", Created: base.Add(4 * time.Hour)}, // not tied to a call
	}
	for _, r := range add {
		if err := s.AddRecording(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddRecording(ctx, add[0]); !errors.Is(err, ErrExists) {
		t.Fatalf("adding r1 twice: err = %v, want ErrExists", err)
	}
	if err := s.AddRecording(ctx, Recording{ID: "r9", CallID: "nope", Path: "/x"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("recording of an unknown call: err = %v, want ErrNotFound", err)
	}
	if err := s.AddRecording(ctx, Recording{ID: "r9"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("recording without path: err = %v, want ErrInvalid", err)
	}
	if c, _ := s.GetCall(ctx, "a"); c.RecordingID != "r3" {
		t.Fatalf("call a points at %q, want the latest recording r3", c.RecordingID)
	}
	r, err := s.GetRecording(ctx, "r1")
	if err != nil || r.Number != "+86 138-1234-5678" || r.Name != "李雷" || r.Direction != Inbound ||
		r.Bytes != 1<<20 || r.DurationSec != 30.5 || !r.Created.Equal(add[0].Created) || r.Path != "/rec/r1.wav" {
		t.Fatalf("GetRecording r1 = %+v, %v", r, err)
	}

	for _, tc := range []struct {
		name  string
		q     RecordingQuery
		want  []string
		total int
	}{
		{"all newest first", RecordingQuery{}, []string{"r4", "r3", "r2", "r1"}, 4},
		{"by call", RecordingQuery{CallID: "a"}, []string{"r3", "r1"}, 2},
		{"search digits", RecordingQuery{Search: "1381234"}, []string{"r3", "r2", "r1"}, 3},
		{"search name", RecordingQuery{Search: "han"}, []string{"r2"}, 1},
		{"window", RecordingQuery{From: base.Add(2 * time.Hour), To: base.Add(4 * time.Hour)}, []string{"r3", "r2"}, 2},
		{"page", RecordingQuery{Limit: 2, Offset: 1}, []string{"r3", "r2"}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := s.ListRecordings(ctx, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range p.Recordings {
				got = append(got, r.ID)
			}
			if !slices.Equal(got, tc.want) || p.Total != tc.total {
				t.Fatalf("got %v total %d; want %v total %d", got, p.Total, tc.want, tc.total)
			}
		})
	}

	path, err := s.DeleteRecording(ctx, "r3")
	if err != nil || path != "/rec/r3.opus" {
		t.Fatalf("DeleteRecording r3 = %q, %v", path, err)
	}
	if c, _ := s.GetCall(ctx, "a"); c.RecordingID != "r1" {
		t.Fatalf("after deleting r3, call a points at %q, want its remaining r1", c.RecordingID)
	}
	if _, err := s.DeleteRecording(ctx, "r3"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleting r3 again: err = %v, want ErrNotFound", err)
	}
	paths, err := s.DeleteRecordings(ctx, []string{"r1", "nope", "r2", "r4"})
	if err != nil || !slices.Equal(paths, []string{"/rec/r1.wav", "/rec/r2.wav", "/rec/r4.wav"}) {
		t.Fatalf("batch delete = %v, %v", paths, err)
	}
	if c, _ := s.GetCall(ctx, "a"); c.RecordingID != "" {
		t.Fatalf("call a still points at %q", c.RecordingID)
	}
	if p, err := s.ListRecordings(ctx, RecordingQuery{}); err != nil || p.Total != 0 || p.Recordings == nil {
		t.Fatalf("after deleting all: %+v, %v", p, err)
	}
}
