package store

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Many goroutines run whole calls, settings and outbox writes while
// others list the history; run under -race.
func TestConcurrentWriters(t *testing.T) {
	ctx := t.Context()
	s := openTest(t)
	const workers, perWorker = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*4)
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				id := fmt.Sprintf("w%d-%d", w, i)
				start := base.Add(time.Duration(w*perWorker+i) * time.Second)
				dir := Inbound
				if i%2 == 1 {
					dir = Outbound
				}
				steps := []func() error{
					func() error {
						return s.BeginCall(ctx, CallRecord{ID: id, Direction: dir, Number: fmt.Sprintf("+86 138-%04d-%04d", w, i), Start: start})
					},
					func() error { return s.AnswerCall(ctx, id, start.Add(time.Second), "PCMU") },
					func() error { return s.Touch(ctx, id, start.Add(2*time.Second)) },
					func() error {
						return s.UpdateCall(ctx, id, func(c *CallRecord) { c.Name = "Worker " + id })
					},
					func() error { return s.EndCall(ctx, id, CallEnd{At: start.Add(4 * time.Second)}) },
					func() error { return s.PutSetting(ctx, fmt.Sprintf("k%d", w), i) },
					func() error {
						_, _, err := s.Enqueue(ctx, OutboxItem{Key: "activity:" + id, Kind: "x", Payload: json.RawMessage(`{}`)})
						return err
					},
				}
				for _, step := range steps {
					if err := step(); err != nil {
						errs <- fmt.Errorf("%s: %w", id, err)
						return
					}
				}
			}
		})
	}
	for range 2 {
		wg.Go(func() {
			for range 40 {
				if _, err := s.ListCalls(ctx, Query{Search: "138", Limit: 20}); err != nil {
					errs <- err
					return
				}
				if _, err := s.NextDue(ctx, time.Now(), 50); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	p, err := s.ListCalls(ctx, Query{Disposition: DispAnswered, Search: "Worker"})
	if err != nil || p.Total != workers*perWorker {
		t.Fatalf("answered calls = %d, %v; want %d", p.Total, err, workers*perWorker)
	}
	if n, err := s.Pending(ctx); err != nil || n != workers*perWorker {
		t.Fatalf("pending = %d, %v; want %d", n, err, workers*perWorker)
	}
	all, err := s.AllSettings(ctx)
	if err != nil || len(all) != workers || string(all["k0"]) != fmt.Sprint(perWorker-1) {
		t.Fatalf("settings = %s, %v", all, err)
	}
}

// Two stores on one file (as if a second process slipped past the
// single-instance guard) must take turns through SQLite's lock and
// busy_timeout, not fail with "database is locked".
func TestTwoStoresOneFile(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "shared.db")
	a := openAt(t, path)
	b := openAt(t, path)
	const n = 100
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for name, s := range map[string]*Store{"a": a, "b": b} {
		wg.Go(func() {
			for i := range n {
				key := fmt.Sprintf("%s-%d", name, i)
				id, _, err := s.Enqueue(ctx, OutboxItem{Key: key, Kind: "x", Payload: json.RawMessage(`{}`)})
				if err == nil {
					err = s.MarkFailed(ctx, id, "retry", time.Now())
				}
				if err != nil {
					errs <- fmt.Errorf("store %s item %d: %w", name, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, s := range []*Store{a, b} {
		if c, err := s.Pending(ctx); err != nil || c != 2*n {
			t.Errorf("pending = %d, %v; want %d", c, err, 2*n)
		}
	}
}
