package crm_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"switchboard/app"
	"switchboard/app/store"
	"switchboard/crm"
)

// instantBridge answers like CIF (JSON-string results) with no CRM time,
// so the benchmark measures only the engine: normalising, building the
// queries, parsing and confirming the candidates, deciding, and issuing
// the open-form request.
type instantBridge struct {
	results map[string]json.RawMessage
	popped  chan string
}

func (b *instantBridge) Do(ctx context.Context, r crm.Request) (crm.Response, error) {
	switch r.Op {
	case crm.OpSearch:
		return crm.Response{Result: b.results[r.Entity]}, nil
	case crm.OpOpenForm:
		b.popped <- r.ID
		return crm.Response{Result: json.RawMessage(`"{\"savedEntityReference\":[]}"`)}, nil
	}
	return crm.Response{Result: json.RawMessage("null")}, nil
}

func cifString(v any) json.RawMessage {
	inner, _ := json.Marshal(v)
	out, _ := json.Marshal(string(inner))
	return out
}

// BenchmarkScreenPop: an incoming call snapshot to the open-form request
// (CRM time excluded). The contact search returns the match among four
// look-alike candidates, as a trailing-digit filter does.
func BenchmarkScreenPop(b *testing.B) {
	target := crm.StableID("contact", "zhang")
	cands := map[string]any{
		"0": map[string]any{"contactid": crm.StableID("c1"), "fullname": "Look Alike 1", "telephone1": "010 5678 5678"},
		"1": map[string]any{"contactid": crm.StableID("c2"), "fullname": "Look Alike 2", "mobilephone": "139 1111 5678"},
		"2": map[string]any{"contactid": target, "fullname": "Zhang San", "telephone1": "+86 138-1234-5678", "mobilephone": "13812345678"},
		"3": map[string]any{"contactid": crm.StableID("c3"), "fullname": "Look Alike 3", "telephone2": "+44 20 1234 5678"},
		"4": map[string]any{"contactid": crm.StableID("c4"), "fullname": "Look Alike 4", "telephone3": "56 78"},
	}
	br := &instantBridge{popped: make(chan string, 1), results: map[string]json.RawMessage{
		"contact": cifString(cands), "account": cifString(map[string]any{}), "lead": cifString(map[string]any{}),
	}}
	st, err := store.Open(b.Context(), store.Options{Path: filepath.Join(b.TempDir(), "bench.db")})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	s := crm.DefaultSettings()
	s.DefaultCountry = "CN"
	s.ActivityAutoCreate = nil
	eng, err := crm.New(crm.Options{Settings: func() crm.Settings { return s }, Bridge: br, Outbox: st, AgentID: func() string { return "" }})
	if err != nil {
		b.Fatal(err)
	}
	defer eng.Close()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		c := app.Call{ID: fmt.Sprintf("bench-%d", i), Direction: app.Inbound, Number: "(138) 1234 5678", State: app.CallIncoming, Started: time.Now()}
		t0 := time.Now()
		eng.OnCall(c)
		if got := <-br.popped; got != target {
			b.Fatalf("popped %s", got)
		}
		lat = append(lat, time.Since(t0))
		b.StopTimer()
		c.State, c.Ended = app.CallEnded, time.Now()
		eng.OnCall(c)
		b.StartTimer()
	}
	b.StopTimer()
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(lat[len(lat)*95/100].Microseconds()), "p95-µs")
	}
}

// BenchmarkMatch is the matching itself: normalise a caller and confirm
// it against a stored value.
func BenchmarkMatch(b *testing.B) {
	opts := crm.NumberOptions{DefaultCountry: "CN", ExtensionDigits: 6}
	rule := crm.MatchRule{Numbers: opts}
	for b.Loop() {
		n, err := crm.Normalize("(138) 1234 5678", opts)
		if err != nil || !rule.Same(n, "+86 138-1234-5678") {
			b.Fatal("no match")
		}
	}
}
