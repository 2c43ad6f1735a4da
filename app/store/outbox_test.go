package store

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func TestOutbox(t *testing.T) {
	ctx := t.Context()
	s := openTest(t)
	now := time.Now()

	id1, created, err := s.Enqueue(ctx, OutboxItem{Key: "activity:c1", Kind: "phonecall.create", Payload: json.RawMessage(`{"subject":"Call"}`)})
	if err != nil || !created || id1 == 0 {
		t.Fatalf("Enqueue = %d, %v, %v", id1, created, err)
	}
	again, created, err := s.Enqueue(ctx, OutboxItem{Key: "activity:c1", Kind: "phonecall.create", Payload: json.RawMessage(`{"subject":"other"}`)})
	if err != nil || created || again != id1 {
		t.Fatalf("Enqueue same key = %d, %v, %v; want %d, false", again, created, err, id1)
	}
	later := now.Add(time.Hour)
	id2, _, err := s.Enqueue(ctx, OutboxItem{Key: "activity:c2", Kind: "phonecall.update", Payload: json.RawMessage(`[]`), NextAt: later})
	if err != nil {
		t.Fatal(err)
	}
	id3, _, err := s.Enqueue(ctx, OutboxItem{Key: "note:c3", Kind: "note", Payload: json.RawMessage(`"text"`)})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []OutboxItem{
		{Kind: "k", Payload: json.RawMessage(`{}`)},
		{Key: "k", Payload: json.RawMessage(`{}`)},
		{Key: "k", Kind: "k", Payload: json.RawMessage(`{`)},
		{Key: "k", Kind: "k"},
	} {
		if _, _, err := s.Enqueue(ctx, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("Enqueue(%+v): err = %v, want ErrInvalid", bad, err)
		}
	}
	if n, err := s.Pending(ctx); err != nil || n != 3 {
		t.Fatalf("Pending = %d, %v; want 3", n, err)
	}

	due, err := s.NextDue(ctx, now.Add(time.Second), 10)
	if err != nil || len(due) != 2 || due[0].ID != id1 || due[1].ID != id3 {
		t.Fatalf("NextDue = %+v, %v; want items %d, %d", due, err, id1, id3)
	}
	if string(due[0].Payload) != `{"subject":"Call"}` || due[0].Kind != "phonecall.create" || due[0].Key != "activity:c1" {
		t.Fatalf("first item = %+v", due[0])
	}
	if one, _ := s.NextDue(ctx, now.Add(time.Second), 1); len(one) != 1 || one[0].ID != id1 {
		t.Fatalf("NextDue limit 1 = %+v", one)
	}

	retry := now.Add(2 * time.Minute)
	if err := s.MarkFailed(ctx, id1, "widget not connected", retry); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkFailed(ctx, id1, "timeout after 10s", retry); err != nil {
		t.Fatal(err)
	}
	it, err := s.GetOutboxItem(ctx, id1)
	if err != nil || it.Attempts != 2 || it.LastError != "timeout after 10s" || it.NextAt.UnixMilli() != retry.UnixMilli() {
		t.Fatalf("after two failures: %+v, %v", it, err)
	}
	if due, _ := s.NextDue(ctx, now.Add(time.Second), 10); len(due) != 1 || due[0].ID != id3 {
		t.Fatalf("NextDue while id1 waits = %+v", due)
	}
	// Due again at retry; the item waiting longest comes first.
	due, _ = s.NextDue(ctx, later, 10)
	if len(due) != 3 || due[0].ID != id3 || due[1].ID != id1 || due[2].ID != id2 {
		t.Fatalf("NextDue at +1h = %+v", due)
	}

	if err := s.MarkDone(ctx, id1, json.RawMessage(`{"activityid":"9b1c"}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkDone(ctx, id3, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkFailed(ctx, id1, "late", retry); !errors.Is(err, ErrDone) {
		t.Fatalf("MarkFailed on a done item: err = %v, want ErrDone", err)
	}
	for name, err := range map[string]error{
		"done":   s.MarkDone(ctx, 999, nil),
		"failed": s.MarkFailed(ctx, 999, "x", now),
	} {
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("Mark%s unknown: err = %v, want ErrNotFound", name, err)
		}
	}
	if err := s.MarkDone(ctx, id2, json.RawMessage(`{`)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("MarkDone bad JSON: err = %v", err)
	}
	it, _ = s.GetOutboxItem(ctx, id1)
	if it.Done.IsZero() || string(it.Result) != `{"activityid":"9b1c"}` {
		t.Fatalf("done item = %+v", it)
	}
	if n, _ := s.Pending(ctx); n != 1 {
		t.Fatalf("Pending = %d, want 1", n)
	}
	// A done key is still known: enqueueing it again does not redo the write.
	if id, created, err := s.Enqueue(ctx, OutboxItem{Key: "activity:c1", Kind: "phonecall.create", Payload: json.RawMessage(`{}`)}); err != nil || created || id != id1 {
		t.Fatalf("Enqueue done key = %d, %v, %v", id, created, err)
	}

	n, err := s.PruneOutbox(ctx, time.Now().Add(time.Minute))
	if err != nil || n != 2 {
		t.Fatalf("PruneOutbox = %d, %v; want 2", n, err)
	}
	if _, err := s.GetOutboxItem(ctx, id1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("pruned item: err = %v", err)
	}
	// Ids are never reused after pruning.
	id4, created, err := s.Enqueue(ctx, OutboxItem{Key: "activity:c1", Kind: "phonecall.create", Payload: json.RawMessage(`{}`)})
	if err != nil || !created || id4 <= id3 {
		t.Fatalf("Enqueue after prune = %d, %v, %v; want a new id above %d", id4, created, err, id3)
	}
}
