package store

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkBeginEndCall is the store's cost of one call's history: the
// row written at start and closed at the end, each commit synced to disk.
func BenchmarkBeginEndCall(b *testing.B) {
	ctx := b.Context()
	s := openTest(b)
	i := 0
	for b.Loop() {
		id := fmt.Sprint("bench-", i)
		start := base.Add(time.Duration(i) * time.Second)
		if err := s.BeginCall(ctx, CallRecord{ID: id, Direction: Inbound, Number: "+86 138-1234-5678", Name: "Bench", Start: start}); err != nil {
			b.Fatal(err)
		}
		if err := s.EndCall(ctx, id, CallEnd{At: start.Add(30 * time.Second)}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkTouch is the heartbeat's cost, paid every few seconds per
// active call.
func BenchmarkTouch(b *testing.B) {
	ctx := b.Context()
	s := openTest(b)
	if err := s.BeginCall(ctx, CallRecord{ID: "t", Direction: Inbound, Start: base}); err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		i++
		if err := s.Touch(ctx, "t", base.Add(time.Duration(i)*time.Second)); err != nil {
			b.Fatal(err)
		}
	}
}

// seedHistory writes n calls in one transaction (a year of a busy agent's
// history is about 10,000 calls).
func seedHistory(b *testing.B, s *Store, n int) {
	ctx := b.Context()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	disps := []string{DispAnswered, DispAnswered, DispMissed, "busy", DispFailed}
	names := []string{"李雷", "Han Meimei", "Acme Ltd", "", "Contoso 客服"}
	for i := range n {
		start := base.Add(time.Duration(i) * 17 * time.Minute)
		dir := Inbound
		if i%2 == 1 {
			dir = Outbound
		}
		c := CallRecord{ID: fmt.Sprint("h", i), Direction: dir,
			Number: fmt.Sprintf("+86 1%02d-%04d-%04d", 30+i%60, i%10000, (i*7919)%10000),
			Name:   names[i%len(names)], Start: start, End: start.Add(time.Minute), Disposition: disps[i%len(disps)]}
		if err := insertCall(ctx, tx, c); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkListCalls10k(b *testing.B) {
	s := openTest(b)
	seedHistory(b, s, 10000)
	for _, q := range []struct {
		name string
		q    Query
	}{
		{"first_page", Query{}},
		{"search_digits", Query{Search: "1381234"}},
		{"search_digits_hits", Query{Search: "0012"}},
		{"search_punctuated", Query{Search: "138-12"}},
		{"search_name", Query{Search: "meimei"}},
		{"search_and_filter", Query{Search: "138", Direction: Inbound, Disposition: DispMissed}},
		{"deep_page", Query{Offset: 9000, Limit: 50}},
	} {
		b.Run(q.name, func(b *testing.B) {
			var total int
			for b.Loop() {
				p, err := s.ListCalls(b.Context(), q.q)
				if err != nil {
					b.Fatal(err)
				}
				total = p.Total
			}
			b.ReportMetric(float64(total), "matches")
		})
	}
}

func BenchmarkMissedCount10k(b *testing.B) {
	s := openTest(b)
	seedHistory(b, s, 10000)
	for b.Loop() {
		if _, err := s.MissedCount(b.Context(), base.Add(30*24*time.Hour)); err != nil {
			b.Fatal(err)
		}
	}
}
