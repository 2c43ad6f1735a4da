package store

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// asciiLower folds ASCII letters only, as SQLite's LIKE does.
func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}

// wantMatch is the reference meaning of Query.Search, in plain Go.
func wantMatch(c CallRecord, search string) bool {
	if search == "" {
		return true
	}
	q := asciiLower(search)
	if strings.Contains(asciiLower(c.Number), q) || strings.Contains(asciiLower(c.Name), q) {
		return true
	}
	d, ok := phoneDigits(search)
	return ok && strings.Contains(digitsOf(c.Number), d)
}

// FuzzListCallsSearch feeds arbitrary search text to ListCalls: it must
// never fail except for length, never change the data, and return
// exactly the calls the plain-Go reference matches (which proves %, _ and
// \ are escaped and that the text never reaches the SQL).
func FuzzListCallsSearch(f *testing.F) {
	for _, seed := range []string{
		"", "1381234", "+86 138", "李", "100%", "%", "_", "__", `\`, `\%`, "Rea_", "%_%",
		"' OR 1=1 --", `"; DROP TABLE calls; --`, "') UNION SELECT * FROM settings --",
		"１３８", "\x00", "a\x00b", "\xff\xfe", "sip:alice@", "O'Brien", "[a-z]*", "?", "?1",
	} {
		f.Add(seed)
	}
	s := openTest(f)
	seedList(f, s)
	ctx := f.Context()
	f.Fuzz(func(t *testing.T, search string) {
		p, err := s.ListCalls(ctx, Query{Search: search, Limit: 500})
		norm, nerr := normalizeSearch(search)
		if nerr != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("search of %d bytes: err = %v, want ErrInvalid", len(norm), err)
			}
			return
		}
		if err != nil {
			t.Fatalf("ListCalls(%q): %v", search, err)
		}
		if !utf8.ValidString(norm) {
			t.Fatalf("normalized search %q is not valid UTF-8", norm)
		}
		var want []string
		for i := len(listFixture) - 1; i >= 0; i-- {
			if wantMatch(listFixture[i], norm) {
				want = append(want, listFixture[i].ID)
			}
		}
		if got := ids(p); !slices.Equal(got, want) || p.Total != len(want) {
			t.Fatalf("search %q (normalized %q): got %v total %d, want %v", search, norm, got, p.Total, want)
		}
		all, err := s.ListCalls(ctx, Query{})
		if err != nil || all.Total != len(listFixture) {
			t.Fatalf("after search %q the history holds %d calls (%v)", search, all.Total, err)
		}
	})
}
