package store

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestCallLifecycle(t *testing.T) {
	ctx := t.Context()
	s := openTest(t)
	in := CallRecord{ID: "c1", Direction: Inbound, Number: "+86 138-1234-5678", Name: "李雷", Start: base}
	if err := s.BeginCall(ctx, in); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetCall(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Number != in.Number || got.Name != in.Name || !got.Start.Equal(base) || !got.Answer.IsZero() || !got.End.IsZero() || got.Disposition != "" {
		t.Fatalf("after BeginCall: %+v", got)
	}
	if err := s.AnswerCall(ctx, "c1", base.Add(3*time.Second), "PCMU"); err != nil {
		t.Fatal(err)
	}
	// A re-INVITE may change the codec but is not a new answer.
	if err := s.AnswerCall(ctx, "c1", base.Add(9*time.Second), "opus"); err != nil {
		t.Fatal(err)
	}
	if err := s.Touch(ctx, "c1", base.Add(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	q := Quality{LossPct: 1.5, JitterMs: 12.25, RTTMs: 80, MOS: 4.1}
	if err := s.EndCall(ctx, "c1", CallEnd{At: base.Add(63500 * time.Millisecond), Reason: "remote hung up", Quality: q}); err != nil {
		t.Fatal(err)
	}
	got, err = s.GetCall(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	want := CallRecord{ID: "c1", Direction: Inbound, Number: in.Number, Name: in.Name,
		Start: base, Answer: base.Add(3 * time.Second), End: base.Add(63500 * time.Millisecond),
		DurationSec: 60.5, Disposition: DispAnswered, Reason: "remote hung up", Codec: "opus", Quality: q}
	if !sameCall(got, want) {
		t.Fatalf("after EndCall:\n got %+v\nwant %+v", got, want)
	}

	for name, err := range map[string]error{
		"answer ended": s.AnswerCall(ctx, "c1", base, ""),
		"touch ended":  s.Touch(ctx, "c1", base),
		"end ended":    s.EndCall(ctx, "c1", CallEnd{At: base}),
	} {
		if !errors.Is(err, ErrEnded) {
			t.Errorf("%s: err = %v, want ErrEnded", name, err)
		}
	}
	for name, err := range map[string]error{
		"answer unknown": s.AnswerCall(ctx, "nope", base, ""),
		"touch unknown":  s.Touch(ctx, "nope", base),
		"end unknown":    s.EndCall(ctx, "nope", CallEnd{At: base}),
		"update unknown": s.UpdateCall(ctx, "nope", func(*CallRecord) {}),
	} {
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: err = %v, want ErrNotFound", name, err)
		}
	}
	if _, err := s.GetCall(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetCall unknown: err = %v", err)
	}
	if err := s.BeginCall(ctx, in); !errors.Is(err, ErrExists) {
		t.Errorf("BeginCall twice: err = %v, want ErrExists", err)
	}
}

// sameCall compares records with time.Equal (the store returns local time).
func sameCall(a, b CallRecord) bool {
	eq := func(x, y time.Time) bool { return x.Equal(y) }
	a2, b2 := a, b
	a2.Start, a2.Answer, a2.End = time.Time{}, time.Time{}, time.Time{}
	b2.Start, b2.Answer, b2.End = time.Time{}, time.Time{}, time.Time{}
	return a2 == b2 && eq(a.Start, b.Start) && eq(a.Answer, b.Answer) && eq(a.End, b.End)
}

func TestBeginCallValidation(t *testing.T) {
	s := openTest(t)
	for _, tc := range []struct {
		name string
		c    CallRecord
	}{
		{"no id", CallRecord{Direction: Inbound, Start: base}},
		{"bad direction", CallRecord{ID: "x", Direction: "sideways", Start: base}},
		{"no start", CallRecord{ID: "x", Direction: Outbound}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.BeginCall(t.Context(), tc.c); !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}
	if err := s.BeginCall(t.Context(), CallRecord{ID: "r", Direction: Inbound, Start: base, RecordingID: "missing"}); err == nil {
		t.Fatal("BeginCall with an unknown recording id succeeded; the foreign key should refuse it")
	}
}

func TestEndCallDisposition(t *testing.T) {
	ctx := t.Context()
	s := openTest(t)
	for i, tc := range []struct {
		dir         string
		answered    bool
		given       string
		end         time.Duration
		wantDisp    string
		wantTalkSec float64
	}{
		{Inbound, false, "", 20 * time.Second, DispMissed, 0},
		{Outbound, false, "", 20 * time.Second, DispFailed, 0},
		{Inbound, true, "", 20 * time.Second, DispAnswered, 15},
		{Outbound, true, "", 20 * time.Second, DispAnswered, 15},
		{Inbound, false, "declined", 2 * time.Second, "declined", 0},
		{Outbound, false, "busy", 2 * time.Second, "busy", 0},
		// The clock stepped back: no negative talk time.
		{Outbound, true, "", -time.Hour, DispAnswered, 0},
	} {
		t.Run(fmt.Sprintf("%d_%s_%v_%s", i, tc.dir, tc.answered, tc.given), func(t *testing.T) {
			id := fmt.Sprint("call-", i)
			if err := s.BeginCall(ctx, CallRecord{ID: id, Direction: tc.dir, Number: "100", Start: base}); err != nil {
				t.Fatal(err)
			}
			if tc.answered {
				if err := s.AnswerCall(ctx, id, base.Add(5*time.Second), "PCMA"); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.EndCall(ctx, id, CallEnd{At: base.Add(tc.end), Disposition: tc.given}); err != nil {
				t.Fatal(err)
			}
			c, err := s.GetCall(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if c.Disposition != tc.wantDisp || c.DurationSec != tc.wantTalkSec {
				t.Fatalf("disposition %q talk %v; want %q %v", c.Disposition, c.DurationSec, tc.wantDisp, tc.wantTalkSec)
			}
			if c.End.Before(c.Start) || (tc.answered && c.End.Before(c.Answer)) {
				t.Fatalf("end %v before start %v / answer %v", c.End, c.Start, c.Answer)
			}
		})
	}
}

func TestUpdateCall(t *testing.T) {
	ctx := t.Context()
	s := openTest(t)
	if err := s.BeginCall(ctx, CallRecord{ID: "u", Direction: Inbound, Number: "13812345678", Start: base}); err != nil {
		t.Fatal(err)
	}
	err := s.UpdateCall(ctx, "u", func(c *CallRecord) {
		c.Name = "Han Meimei"
		c.Number = "+86 138 1234 5678"
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.GetCall(ctx, "u")
	if err != nil || c.Name != "Han Meimei" || c.Number != "+86 138 1234 5678" || !c.End.IsZero() {
		t.Fatalf("after update: %+v, %v", c, err)
	}
	// The search column follows the new number.
	p, err := s.ListCalls(ctx, Query{Search: "86138"})
	if err != nil || p.Total != 1 {
		t.Fatalf("search after update: %+v, %v", p, err)
	}
	if err := s.UpdateCall(ctx, "u", func(c *CallRecord) { c.ID = "other" }); !errors.Is(err, ErrInvalid) {
		t.Fatalf("changing the id: err = %v, want ErrInvalid", err)
	}
	if err := s.UpdateCall(ctx, "u", func(c *CallRecord) { c.Direction = "" }); !errors.Is(err, ErrInvalid) {
		t.Fatalf("clearing the direction: err = %v, want ErrInvalid", err)
	}
}

// fixture calls for the list tests: start minute i, so newest is last.
var listFixture = []CallRecord{
	{ID: "a", Direction: Inbound, Number: "+86 138-1234-5678", Name: "李雷", Disposition: DispAnswered},
	{ID: "b", Direction: Outbound, Number: "13812345678", Name: "Han Meimei", Disposition: DispAnswered},
	{ID: "c", Direction: Inbound, Number: "(020) 8888 0000", Name: "Acme Ltd", Disposition: DispMissed},
	{ID: "d", Direction: Inbound, Number: "1001", Name: "100% Real_Name", Disposition: DispMissed},
	{ID: "e", Direction: Outbound, Number: "sip:alice@example.com", Name: `O'Brien "Bob"`, Disposition: "busy"},
	{ID: "f", Direction: Inbound, Number: "１３８００００", Name: "Full width", Disposition: DispMissed},
	{ID: "g", Direction: Outbound, Number: "10011", Name: `back\slash`, Disposition: DispFailed},
}

func seedList(t testing.TB, s *Store) {
	t.Helper()
	for i, c := range listFixture {
		c.Start = base.Add(time.Duration(i) * time.Minute)
		c.End = c.Start.Add(30 * time.Second)
		if err := s.BeginCall(t.Context(), c); err != nil {
			t.Fatal(err)
		}
	}
}

func ids(p Page) []string {
	var out []string
	for _, c := range p.Calls {
		out = append(out, c.ID)
	}
	return out
}

func TestListCalls(t *testing.T) {
	ctx := t.Context()
	s := openTest(t)
	seedList(t, s)
	for _, tc := range []struct {
		name      string
		q         Query
		want      []string
		wantTotal int // 0: len(want)
	}{
		{"all newest first", Query{}, []string{"g", "f", "e", "d", "c", "b", "a"}, 0},
		{"digits match punctuated number", Query{Search: "1381234"}, []string{"b", "a"}, 0},
		{"punctuated search matches plain number", Query{Search: "138-1234"}, []string{"b", "a"}, 0},
		{"with country code", Query{Search: "+86 138"}, []string{"a"}, 0},
		{"area code in parentheses", Query{Search: "0208888"}, []string{"c"}, 0},
		{"full-width stored digits", Query{Search: "1380000"}, []string{"f"}, 0},
		{"full-width typed digits", Query{Search: "１３８１２"}, []string{"b", "a"}, 0},
		{"name substring ignores ASCII case", Query{Search: "meimei"}, []string{"b"}, 0},
		{"chinese name", Query{Search: "李"}, []string{"a"}, 0},
		{"percent is literal", Query{Search: "100%"}, []string{"d"}, 0},
		{"underscore is literal", Query{Search: "l_n"}, []string{"d"}, 0},
		{"underscore does not match any char", Query{Search: "Rea_"}, nil, 0},
		{"lone percent", Query{Search: "%"}, []string{"d"}, 0},
		{"backslash is literal", Query{Search: `k\s`}, []string{"g"}, 0},
		{"quotes", Query{Search: `O'Brien "B`}, []string{"e"}, 0},
		{"sql text is just text", Query{Search: "' OR 1=1 --"}, nil, 0},
		{"sip uri", Query{Search: "alice@"}, []string{"e"}, 0},
		{"surrounding space trimmed", Query{Search: "  acme  "}, []string{"c"}, 0},
		{"number substring", Query{Search: "1001"}, []string{"g", "d"}, 0},
		{"direction", Query{Direction: Outbound}, []string{"g", "e", "b"}, 0},
		{"disposition", Query{Disposition: DispMissed}, []string{"f", "d", "c"}, 0},
		{"direction and disposition", Query{Direction: Inbound, Disposition: DispAnswered}, []string{"a"}, 0},
		{"from inclusive", Query{From: base.Add(5 * time.Minute)}, []string{"g", "f"}, 0},
		{"to exclusive", Query{To: base.Add(2 * time.Minute)}, []string{"b", "a"}, 0},
		{"window", Query{From: base.Add(2 * time.Minute), To: base.Add(4 * time.Minute)}, []string{"d", "c"}, 0},
		{"page 1", Query{Limit: 3}, []string{"g", "f", "e"}, 7},
		{"page 2", Query{Limit: 3, Offset: 3}, []string{"d", "c", "b"}, 7},
		{"page 3", Query{Limit: 3, Offset: 6}, []string{"a"}, 7},
		{"past the end", Query{Limit: 3, Offset: 30}, nil, 7},
		{"negative offset", Query{Limit: 2, Offset: -5}, []string{"g", "f"}, 7},
		{"filtered page", Query{Disposition: DispMissed, Limit: 2, Offset: 1}, []string{"d", "c"}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := s.ListCalls(ctx, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			wantTotal := tc.wantTotal
			if wantTotal == 0 {
				wantTotal = len(tc.want)
			}
			if got := ids(p); !slices.Equal(got, tc.want) || p.Total != wantTotal {
				t.Fatalf("got %v total %d; want %v total %d", got, p.Total, tc.want, wantTotal)
			}
			if p.Calls == nil {
				t.Fatal("Calls is nil; want an empty slice so JSON says []")
			}
		})
	}
}

func TestListCallsLimits(t *testing.T) {
	ctx := t.Context()
	s := openTest(t)
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 600 {
		if err := insertCall(ctx, tx, CallRecord{ID: fmt.Sprint(i), Direction: Inbound, Start: base.Add(time.Duration(i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ limit, want int }{{0, 50}, {-1, 50}, {10, 10}, {500, 500}, {501, 500}, {100000, 500}} {
		p, err := s.ListCalls(ctx, Query{Limit: tc.limit})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Calls) != tc.want || p.Total != 600 {
			t.Errorf("Limit %d: %d rows, total %d; want %d, 600", tc.limit, len(p.Calls), p.Total, tc.want)
		}
	}
	long := strings.Repeat("7", maxSearchBytes+1)
	for _, q := range []Query{{Direction: "up"}, {Search: long}} {
		if _, err := s.ListCalls(ctx, q); !errors.Is(err, ErrInvalid) {
			t.Errorf("ListCalls(%+v): err = %v, want ErrInvalid", q, err)
		}
	}
}

func TestMissedCount(t *testing.T) {
	ctx := t.Context()
	s := openTest(t)
	seedList(t, s) // missed: c (min 2), d (min 3), f (min 5)
	for _, tc := range []struct {
		since time.Time
		want  int
	}{
		{time.Time{}, 3},
		{base, 3},
		{base.Add(3 * time.Minute), 2},
		{base.Add(5*time.Minute + time.Millisecond), 0},
	} {
		n, err := s.MissedCount(ctx, tc.since)
		if err != nil || n != tc.want {
			t.Errorf("MissedCount(%v) = %d, %v; want %d", tc.since, n, err, tc.want)
		}
	}
}

func TestSearchHelpers(t *testing.T) {
	for _, tc := range []struct{ in, digits string }{
		{"+86 138-1234-5678", "8613812345678"},
		{"(020) 8888 0000", "02088880000"},
		{"１３８", "138"},
		{"sip:100@pbx", "100"},
	} {
		if got := digitsOf(tc.in); got != tc.digits {
			t.Errorf("digitsOf(%q) = %q, want %q", tc.in, got, tc.digits)
		}
	}
	for _, tc := range []struct {
		in     string
		digits string
		ok     bool
	}{
		{"1381234", "1381234", true},
		{"+86 (138) 1234", "861381234", true},
		{"＋８６", "86", true},
		{"-", "", false},
		{"alice1", "", false},
		{"", "", false},
	} {
		d, ok := phoneDigits(tc.in)
		if d != tc.digits || ok != tc.ok {
			t.Errorf("phoneDigits(%q) = %q, %v; want %q, %v", tc.in, d, ok, tc.digits, tc.ok)
		}
	}
	if got := likeEscape(`50%_a\b`); got != `50\%\_a\\b` {
		t.Errorf("likeEscape = %q", got)
	}
	if got, err := normalizeSearch(" a\x00b\xff\tc "); err != nil || got != "abc" {
		t.Errorf("normalizeSearch = %q, %v", got, err)
	}
}

func TestSetCallName(t *testing.T) {
	ctx := t.Context()
	s := openTest(t)
	if err := s.BeginCall(ctx, CallRecord{ID: "n1", Direction: Inbound, Number: "13812345678", Start: base}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetCallName(ctx, "n1", "Zhang San"); err != nil {
		t.Fatal(err)
	}
	// Named after the call ended too, and found by the name.
	if err := s.EndCall(ctx, "n1", CallEnd{At: base.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("名", 300)
	if err := s.SetCallName(ctx, "n1", long); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetCall(ctx, "n1")
	if err != nil || got.Name != strings.Repeat("名", maxNameRunes) {
		t.Fatalf("name %q (%d runes), %v", got.Name, len([]rune(got.Name)), err)
	}
	if err := s.SetCallName(ctx, "n1", "Zhang San"); err != nil {
		t.Fatal(err)
	}
	if p, err := s.ListCalls(ctx, Query{Search: "zhang"}); err != nil || p.Total != 1 {
		t.Fatalf("search by the CRM name: %+v, %v", p, err)
	}
	if err := s.SetCallName(ctx, "nope", "X"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown call: %v", err)
	}
}
