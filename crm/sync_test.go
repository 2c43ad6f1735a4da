package crm

import (
	"slices"
	"testing"

	"switchboard/app/store"
)

func TestSendOrder(t *testing.T) {
	item := func(id int64, kind string) queued {
		return queued{it: store.OutboxItem{ID: id, Kind: kind}}
	}
	ids := func(q []queued) []int64 {
		var out []int64
		for _, x := range q {
			out = append(out, x.it.ID)
		}
		return out
	}
	cases := []struct {
		name            string
		q               []queued
		run, superseded []int64
	}{
		{
			// The recording was queued between the activity's first
			// write and the call's end: the note still follows the
			// activity it hangs on.
			name:       "note queued before the call's end write",
			q:          []queued{item(1, kindPhonecall), item(2, kindNote), item(3, kindPhonecall)},
			run:        []int64{3, 2},
			superseded: []int64{1},
		},
		{
			name:       "record first, then the newest activity write, then notes",
			q:          []queued{item(1, kindRecord), item(2, kindNote), item(3, kindPhonecall), item(4, kindComplete), item(5, kindPhonecall)},
			run:        []int64{1, 5, 4, 2},
			superseded: []int64{3},
		},
		{
			name: "a note alone",
			q:    []queued{item(7, kindNote)},
			run:  []int64{7},
		},
		{
			name: "one activity write",
			q:    []queued{item(1, kindRecord), item(2, kindPhonecall)},
			run:  []int64{1, 2},
		},
	}
	for _, c := range cases {
		run, sup := sendOrder(c.q)
		if !slices.Equal(ids(run), c.run) || !slices.Equal(ids(sup), c.superseded) {
			t.Errorf("%s: run %v superseded %v, want %v and %v", c.name, ids(run), ids(sup), c.run, c.superseded)
		}
	}
}

func TestStripQuality(t *testing.T) {
	line := "Quality: loss 0.4 %, jitter 12 ms, MOS 4.2"
	for _, c := range []struct{ desc, want string }{
		{"Notes\n\n" + line, "Notes"},
		{line, ""},
		{"Notes\n\nQuality: loss 1.0 %, jitter 3 ms, MOS 4.0", "Notes"}, // measured differently then
		{"Notes\n\n通话质量：丢包 0.4 %，抖动 12 ms，MOS 4.2", "Notes"},            // the org's language then
		{"通話品質：封包遺失 0.4 %，抖動 12 ms，MOS 4.2", ""},
		{"Quality: loss is what we discussed\nmore", "Quality: loss is what we discussed\nmore"},
		{"Quality: loss is what we discussed", "Quality: loss is what we discussed"},
		{"Notes\n\n通话质量很好", "Notes\n\n通话质量很好"},
		{"Notes only", "Notes only"},
		{"", ""},
	} {
		if got := stripQuality(c.desc); got != c.want {
			t.Errorf("stripQuality(%q) = %q, want %q", c.desc, got, c.want)
		}
	}
}
