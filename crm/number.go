package crm

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
)

// Errors Normalize returns (wrapped), so callers can tell a withheld
// number from junk.
var (
	// ErrNoNumber: the caller withheld the number, or there is none.
	ErrNoNumber = errors.New("no phone number")
	// ErrInvalidNumber: the text is not a phone number.
	ErrInvalidNumber = errors.New("not a phone number")
)

// NumberKind says how far a number could be normalised.
type NumberKind string

const (
	// KindE164: fully qualified; E164 is set.
	KindE164 NumberKind = "e164"
	// KindInternal: a short internal extension, kept as dialled.
	KindInternal NumberKind = "internal"
	// KindLocal: a national number with no default country to place it;
	// only its digits are known.
	KindLocal NumberKind = "local"
)

// Number is a phone number in the forms matching needs.
type Number struct {
	Raw  string     `json:"raw"`
	Kind NumberKind `json:"kind"`
	// E164 is "+8613812345678" for KindE164, empty otherwise.
	E164 string `json:"e164,omitempty"`
	// Digits is E164 without the plus, or the digits as given.
	Digits string `json:"digits"`
	Ext    string `json:"ext,omitempty"`
	// Region is the ISO 3166 code of the number's country, if known.
	Region string `json:"region,omitempty"`
	// Mobile: the numbering plan says it is a mobile number (the column a
	// new contact stores it in).
	Mobile bool `json:"mobile,omitempty"`
}

// External reports whether the number reaches outside the PBX.
func (n Number) External() bool { return n.Kind != KindInternal }

// NumberOptions say how national and short numbers are read.
type NumberOptions struct {
	// DefaultCountry is the ISO 3166 code numbers without a country
	// code belong to; empty leaves them KindLocal.
	DefaultCountry string
	// ExtensionDigits: digit-only numbers this short are internal.
	ExtensionDigits int
}

// maxNumberLen bounds the input; Dataverse phone columns hold 50
// characters, SIP users rarely more, and phonenumbers itself stops at 250.
const maxNumberLen = 100

// withheld are what PBXs and carriers put in place of a hidden number.
var withheld = []string{"anonymous", "unknown", "restricted", "private", "unavailable", "withheld", "anonymous caller"}

// Normalize reads a phone number as a PBX delivers it or a person typed
// it: "+86 138-1234-5678", "0086 13812345678", "(138) 1234 5678",
// "tel:+44-20-7946-0958;ext=12", "sip:1001@pbx", "８００１".
func Normalize(raw string, o NumberOptions) (Number, error) {
	n := Number{Raw: raw}
	s := strings.TrimSpace(raw)
	if len(s) > maxNumberLen {
		return n, fmt.Errorf("number %.20q…: %w: longer than %d characters", s, ErrInvalidNumber, maxNumberLen)
	}
	if !utf8.ValidString(s) {
		return n, fmt.Errorf("number %q: %w: not valid text", s, ErrInvalidNumber)
	}
	s = stripURI(s)
	if s == "" {
		return n, fmt.Errorf("number %q: %w", raw, ErrNoNumber)
	}
	lower := strings.ToLower(s)
	for _, w := range withheld {
		if lower == w {
			return n, fmt.Errorf("number %q: %w: the caller withheld it", raw, ErrNoNumber)
		}
	}
	if !hasDigit(s) {
		return n, fmt.Errorf("number %q: %w: it has no digits", raw, ErrInvalidNumber)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return n, fmt.Errorf("number %q: %w: it contains control characters", raw, ErrInvalidNumber)
		}
	}

	main, ext := phonenumbers.MaybeSeparateExtensionFromPhone(s)
	main = strings.TrimSpace(main)
	if ext == "" {
		main = s
	}
	// Internal extensions: digits (and harmless separators) only, short,
	// and not dialled internationally.
	if isPlainDigits(main) {
		d := phonenumbers.NormalizeDigitsOnly(main)
		if !asciiDigits(d) {
			return n, fmt.Errorf("number %q: %w: digits of an unsupported script", raw, ErrInvalidNumber)
		}
		if o.ExtensionDigits > 0 && len(d) <= o.ExtensionDigits && !strings.HasPrefix(d, "00") {
			n.Kind, n.Digits, n.Ext = KindInternal, d, ext
			return n, nil
		}
	}
	// A leading 00 is the international prefix in most of the world; the
	// library only knows it for regions whose IDD it is, so say it plainly.
	if t := strings.TrimLeft(s, " \t-.(/"); strings.HasPrefix(t, "00") && !strings.HasPrefix(t, "000") {
		s = "+" + t[2:]
	} else if strings.HasPrefix(t, "０") { // full-width 00
		if d := phonenumbers.NormalizeDigitsOnly(t); strings.HasPrefix(d, "00") && !strings.HasPrefix(d, "000") {
			s = "+" + strings.TrimPrefix(d, "00")
		}
	}
	region := strings.ToUpper(o.DefaultCountry)
	if region == "" {
		region = "ZZ"
	}
	pn, err := phonenumbers.Parse(s, region)
	if err != nil {
		if region == "ZZ" && errors.Is(err, phonenumbers.ErrInvalidCountryCode) {
			d := phonenumbers.NormalizeDigitsOnly(main)
			if len(d) < 5 || len(d) > 15 || !isPlainDigits(main) || !asciiDigits(d) {
				return n, fmt.Errorf("number %q: %w", raw, ErrInvalidNumber)
			}
			n.Kind, n.Digits, n.Ext = KindLocal, d, ext
			return n, nil
		}
		return n, fmt.Errorf("number %q: %w: %s", raw, ErrInvalidNumber, phonenumbersReason(err))
	}
	switch phonenumbers.IsPossibleNumberWithReason(pn) {
	case phonenumbers.IS_POSSIBLE, phonenumbers.IS_POSSIBLE_LOCAL_ONLY:
	case phonenumbers.TOO_SHORT:
		return n, fmt.Errorf("number %q: %w: too few digits", raw, ErrInvalidNumber)
	case phonenumbers.TOO_LONG:
		return n, fmt.Errorf("number %q: %w: too many digits", raw, ErrInvalidNumber)
	default:
		return n, fmt.Errorf("number %q: %w: wrong length for its country", raw, ErrInvalidNumber)
	}
	n.Kind = KindE164
	n.E164 = phonenumbers.Format(pn, phonenumbers.E164)
	// The E.164 form must read back as itself; junk such as a run of
	// zeros after a country code passes the length check but not this.
	if again, err := phonenumbers.Parse(n.E164, "ZZ"); err != nil || phonenumbers.Format(again, phonenumbers.E164) != n.E164 || len(n.E164) > 16 {
		return Number{Raw: raw}, fmt.Errorf("number %q: %w: not a valid number", raw, ErrInvalidNumber)
	}
	n.Digits = strings.TrimPrefix(n.E164, "+")
	n.Ext = pn.GetExtension()
	n.Region = phonenumbers.GetRegionCodeForNumber(pn)
	// Only a sure mobile counts: where the plan cannot tell (the US),
	// the number is filed as a business phone.
	n.Mobile = phonenumbers.GetNumberType(pn) == phonenumbers.MOBILE
	return n, nil
}

func phonenumbersReason(err error) string {
	switch {
	case errors.Is(err, phonenumbers.ErrInvalidCountryCode):
		return "unknown country code"
	case errors.Is(err, phonenumbers.ErrTooShortNSN), errors.Is(err, phonenumbers.ErrTooShortAfterIDD):
		return "too few digits"
	case errors.Is(err, phonenumbers.ErrNumTooLong):
		return "too many digits"
	default:
		return "give digits, optionally starting with + and the country code"
	}
}

// stripURI reduces "sip:+861381234@pbx;user=phone" and "tel:+44…;ext=1"
// to the number (keeping ";ext=" for the extension parser).
func stripURI(s string) string {
	l := strings.ToLower(s)
	scheme := false
	for _, p := range []string{"sips:", "sip:", "tel:"} {
		if strings.HasPrefix(l, p) {
			s, scheme = s[len(p):], true
			break
		}
	}
	if scheme {
		if i := strings.IndexByte(s, '@'); i >= 0 {
			s = s[:i]
		}
		ext := ""
		for part := range strings.SplitSeq(s, ";") {
			if v, ok := strings.CutPrefix(strings.ToLower(part), "ext="); ok {
				ext = v
			}
		}
		s, _, _ = strings.Cut(s, ";")
		if strings.ContainsRune(s, '%') {
			if u, err := url.PathUnescape(s); err == nil {
				s = u
			}
		}
		if ext != "" {
			s += " ext. " + ext
		}
	}
	return strings.TrimSpace(s)
}

// asciiDigits: d is non-empty and only 0-9 (the library leaves digits of
// scripts it does not know as they are).
func asciiDigits(d string) bool {
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return false
		}
	}
	return d != ""
}

func hasDigit(s string) bool {
	for _, r := range s {
		if unicode.IsDigit(r) {
			return true
		}
	}
	return false
}

// isPlainDigits: decimal digits and the separators people type, nothing
// else (no +, no letters).
func isPlainDigits(s string) bool {
	for _, r := range s {
		switch {
		case unicode.IsDigit(r):
		case r == ' ', r == '-', r == '.', r == '(', r == ')', r == '/', r == '\u00a0', r == '\u3000':
		default:
			return false
		}
	}
	return true
}

// MatchRule decides whether a stored phone value is the caller's number.
type MatchRule struct {
	// LastDigits is N for last-N matching; 0 means exact.
	LastDigits int
	Numbers    NumberOptions
}

// Same reports whether stored (a phone column as someone typed it) is the
// number n. Exact: the normalised numbers are equal (extensions ignored:
// a caller dials in from the main line). Last N: the last N digits are
// equal, or all digits when either side is shorter than N.
func (r MatchRule) Same(n Number, stored string) bool {
	if strings.TrimSpace(stored) == "" || n.Digits == "" {
		return false
	}
	sn, err := Normalize(stored, r.Numbers)
	var sd string
	if err == nil {
		sd = sn.Digits
	} else {
		// Stored values are free text; compare what digits there are.
		main, _ := phonenumbers.MaybeSeparateExtensionFromPhone(stored)
		if main == "" {
			main = stored
		}
		sd = phonenumbers.NormalizeDigitsOnly(main)
	}
	if sd == "" {
		return false
	}
	if r.LastDigits <= 0 {
		if err == nil && n.E164 != "" && sn.E164 != "" {
			return n.E164 == sn.E164
		}
		return n.Digits == sd
	}
	if len(n.Digits) < r.LastDigits || len(sd) < r.LastDigits {
		return n.Digits == sd
	}
	return n.Digits[len(n.Digits)-r.LastDigits:] == sd[len(sd)-r.LastDigits:]
}
