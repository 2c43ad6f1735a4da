package crm

import (
	"errors"
	"strings"
	"testing"
)

var cn = NumberOptions{DefaultCountry: "CN", ExtensionDigits: 6}

func TestNormalize(t *testing.T) {
	for _, tc := range []struct {
		in     string
		opts   NumberOptions
		kind   NumberKind
		e164   string
		digits string
		ext    string
		mobile bool
	}{
		{"+86 138-1234-5678", cn, KindE164, "+8613812345678", "8613812345678", "", true},
		{"13812345678", cn, KindE164, "+8613812345678", "8613812345678", "", true},
		{"(138) 1234 5678", cn, KindE164, "+8613812345678", "8613812345678", "", true},
		{"0086 138 1234 5678", cn, KindE164, "+8613812345678", "8613812345678", "", true},
		{"008613812345678", cn, KindE164, "+8613812345678", "8613812345678", "", true},
		{"＋８６ １３８ １２３４ ５６７８", cn, KindE164, "+8613812345678", "8613812345678", "", true},
		{"010-6552 9988", cn, KindE164, "+861065529988", "861065529988", "", false},
		{"sip:+8613812345678@pbx.example.com;user=phone", cn, KindE164, "+8613812345678", "8613812345678", "", true},
		{"tel:+44-20-7946-0958;ext=12", cn, KindE164, "+442079460958", "442079460958", "12", false},
		{"+1 (415) 555-0132 ext. 7", cn, KindE164, "+14155550132", "14155550132", "7", false},
		{"(415) 555-0132", NumberOptions{DefaultCountry: "US", ExtensionDigits: 6}, KindE164, "+14155550132", "14155550132", "", false},
		{"020 7946 0958", NumberOptions{DefaultCountry: "GB", ExtensionDigits: 4}, KindE164, "+442079460958", "442079460958", "", false},
		{"06 12 34 56 78", NumberOptions{DefaultCountry: "FR", ExtensionDigits: 4}, KindE164, "+33612345678", "33612345678", "", true},
		{"00 33 6 12 34 56 78", NumberOptions{DefaultCountry: "US", ExtensionDigits: 4}, KindE164, "+33612345678", "33612345678", "", true},
		{"1001", cn, KindInternal, "", "1001", "", false},
		{"sip:1001@pbx", cn, KindInternal, "", "1001", "", false},
		{"800123", cn, KindInternal, "", "800123", "", false},
		{"13812345678", NumberOptions{ExtensionDigits: 6}, KindLocal, "", "13812345678", "", false},
		{"+8613812345678", NumberOptions{ExtensionDigits: 6}, KindE164, "+8613812345678", "8613812345678", "", true},
	} {
		n, err := Normalize(tc.in, tc.opts)
		if err != nil {
			t.Errorf("Normalize(%q): %v", tc.in, err)
			continue
		}
		if n.Kind != tc.kind || n.E164 != tc.e164 || n.Digits != tc.digits || n.Ext != tc.ext || n.Mobile != tc.mobile {
			t.Errorf("Normalize(%q) = %+v; want kind %s e164 %q digits %q ext %q mobile %v", tc.in, n, tc.kind, tc.e164, tc.digits, tc.ext, tc.mobile)
		}
	}
}

func TestNormalizeRejects(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want error
	}{
		{"", ErrNoNumber},
		{"   ", ErrNoNumber},
		{"anonymous", ErrNoNumber},
		{"Restricted", ErrNoNumber},
		{"sip:@pbx", ErrNoNumber},
		{"hello", ErrInvalidNumber},
		{"++--()", ErrInvalidNumber},
		{"+999 1234 5678", ErrInvalidNumber},
		{"+86 1", ErrInvalidNumber},
		{"138123456789012345678", ErrInvalidNumber},
		{strings.Repeat("1", 200), ErrInvalidNumber},
		{"1381234\x005678", ErrInvalidNumber},
		{"\xff\xfe", ErrInvalidNumber},
	} {
		_, err := Normalize(tc.in, cn)
		if !errors.Is(err, tc.want) {
			t.Errorf("Normalize(%q) err = %v; want %v", tc.in, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "\x00") {
			t.Errorf("error text carries a NUL: %q", err)
		}
	}
}

func TestMatchRule(t *testing.T) {
	call, err := Normalize("+86 138 1234 5678", cn)
	if err != nil {
		t.Fatal(err)
	}
	exact := MatchRule{Numbers: cn}
	last8 := MatchRule{LastDigits: 8, Numbers: cn}
	for _, tc := range []struct {
		stored       string
		exact, last8 bool
	}{
		{"+86 138-1234-5678", true, true},
		{"13812345678", true, true},
		{"(138) 1234 5678", true, true},
		{"138 1234 5678 ext 12", true, true},
		{"0086-138-1234-5678", true, true},
		{"+1 212 1234 5678", false, true}, // same last 8 digits, another country
		{"13812345679", false, false},
		{"12345678", false, true},
		{"5678", false, false},
		{"", false, false},
		{"call me maybe", false, false},
	} {
		if got := exact.Same(call, tc.stored); got != tc.exact {
			t.Errorf("exact.Same(%q) = %v, want %v", tc.stored, got, tc.exact)
		}
		if got := last8.Same(call, tc.stored); got != tc.last8 {
			t.Errorf("last8.Same(%q) = %v, want %v", tc.stored, got, tc.last8)
		}
	}
	// Without a default country, national numbers still match on digits.
	local, _ := Normalize("13812345678", NumberOptions{ExtensionDigits: 6})
	if !(MatchRule{LastDigits: 8}).Same(local, "+86 138-1234-5678") {
		t.Error("last-8 should match a local number against its international form")
	}
	if !(MatchRule{}).Same(local, "138 1234 5678") {
		t.Error("exact should match equal digits when no country is known")
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"+86 138-1234-5678", "13812345678", "(138) 1234 5678", "sip:1001@pbx", "tel:+44;ext=1",
		"0086", "anonymous", "+1 800 FLOWERS", "１３８", "x", "00", "+", "%2B86138"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Normalize(s, cn)
		if err != nil {
			if !errors.Is(err, ErrNoNumber) && !errors.Is(err, ErrInvalidNumber) {
				t.Fatalf("Normalize(%q): unclassified error %v", s, err)
			}
			return
		}
		if n.Digits == "" {
			t.Fatalf("Normalize(%q) = %+v: no digits", s, n)
		}
		for _, c := range n.Digits {
			if c < '0' || c > '9' {
				t.Fatalf("Normalize(%q): Digits %q has a non-digit", s, n.Digits)
			}
		}
		switch n.Kind {
		case KindE164:
			if n.E164 != "+"+n.Digits || len(n.Digits) > 15 {
				t.Fatalf("Normalize(%q) = %+v: bad E.164", s, n)
			}
			// Normalising the normal form gives it back.
			again, err := Normalize(n.E164, cn)
			if err != nil || again.E164 != n.E164 {
				t.Fatalf("Normalize(%q) not idempotent: %+v, %v", n.E164, again, err)
			}
		case KindInternal:
			if len(n.Digits) > cn.ExtensionDigits {
				t.Fatalf("internal number too long: %+v", n)
			}
		}
		if q, err := PhoneQuery("contact", n); err == nil {
			checkPhoneQuery(t, q, n)
		}
	})
}
