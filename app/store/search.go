package store

import (
	"fmt"
	"strings"
	"unicode"
)

// maxSearchBytes bounds a search string. SQLite refuses LIKE patterns past
// a (much larger) limit; a search box never needs more than this.
const maxSearchBytes = 256

// normalizeSearch makes what the agent typed safe to match: invalid UTF-8
// and control characters (NUL included, which would cut a LIKE pattern
// short) are dropped and surrounding space trimmed.
func normalizeSearch(s string) (string, error) {
	s = strings.ToValidUTF8(s, "")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) > maxSearchBytes {
		return "", fmt.Errorf("%w: search is %d bytes long, at most %d are allowed; shorten it", ErrInvalid, len(s), maxSearchBytes)
	}
	return s, nil
}

// likeEscape escapes LIKE's wildcards so the user's text matches itself;
// the pattern is used with ESCAPE '\'.
func likeEscape(s string) string {
	if !strings.ContainsAny(s, `\%_`) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 4)
	for _, r := range s {
		if r == '\\' || r == '%' || r == '_' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// digitOf maps ASCII and full-width digits (as typed by a Chinese input
// method) to their ASCII value.
func digitOf(r rune) (byte, bool) {
	switch {
	case r >= '0' && r <= '9':
		return byte(r), true
	case r >= '０' && r <= '９':
		return byte('0' + r - '０'), true
	}
	return 0, false
}

// digitsOf returns the digits of a phone number without its punctuation,
// so "+86 138-1234-5678" is stored as "8613812345678".
func digitsOf(s string) string {
	var b strings.Builder
	for _, r := range s {
		if d, ok := digitOf(r); ok {
			b.WriteByte(d)
		}
	}
	return b.String()
}

// phonePunct is what people put between the digits of a phone number.
const phonePunct = " +-().\u00a0/\u3000＋－（）"

// phoneDigits reports whether s looks like (part of) a phone number, i.e.
// digits and phone punctuation only, and returns its digits. Such a search
// also matches stored numbers written with other punctuation.
func phoneDigits(s string) (string, bool) {
	var b strings.Builder
	for _, r := range s {
		if d, ok := digitOf(r); ok {
			b.WriteByte(d)
			continue
		}
		if !strings.ContainsRune(phonePunct, r) {
			return "", false
		}
	}
	return b.String(), b.Len() > 0
}
