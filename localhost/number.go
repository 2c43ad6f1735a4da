package localhost

import (
	"errors"
	"strings"
	"unicode"
)

const maxNumberLen = 64

// maxExtension bounds the digits dialled after the answer.
const maxExtension = 10

// NormalizeNumber turns what an agent typed or pasted into something to
// dial: "+1 (555) 010-2030" → "+15550102030", full-width digits from a
// Chinese input method → ASCII, "tel:" prefixes dropped, vanity letters in
// a phone number mapped to keypad digits ("1-800-FLOWERS"). A SIP address
// (user@host) or a plain user name is kept as it is. The widget applies
// the same rules as the agent types; this copy is the one that counts.
//
// An extension written after a phone number, as CRM records hold them
// ("+1 425 555 0100 x123", "ext. 123", ";ext=123", ",,123", "转123",
// "分机123"), is kept apart after a comma: "+14255550100,123" dials the
// number and sends 123 as DTMF once the callee answers. (Read as letters
// it would have dialled a different number.)
func NormalizeNumber(in string) (string, error) {
	s := strings.TrimSpace(foldWidth(in))
	if base, ext := splitExtension(s); ext != "" {
		if len(ext) > maxExtension {
			return "", errors.New("the extension after the number is too long")
		}
		out, err := NormalizeNumber(base)
		if err != nil {
			return "", err
		}
		if strings.ContainsAny(out, "@,") || len(out)+1+len(ext) > maxNumberLen {
			return "", errors.New("the number is too long")
		}
		return out + "," + ext, nil
	}
	if low := strings.ToLower(s); strings.HasPrefix(low, "tel:") {
		s = strings.TrimSpace(s[4:])
	} else if strings.HasPrefix(low, "sip:") || strings.HasPrefix(low, "sips:") {
		s = s[strings.IndexByte(s, ':')+1:]
	}
	if s == "" {
		return "", errors.New("enter a number to call")
	}
	if strings.ContainsRune(s, '@') {
		return sipAddress(s)
	}
	var b strings.Builder
	digits, letters := 0, 0
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+':
			if b.Len() != 0 {
				return "", errors.New("a + may only start the number")
			}
		case r == '*' || r == '#':
		case r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z':
			letters++
		case r == '_' && i > 0:
		case r == ' ', r == '-', r == '.', r == '(', r == ')', r == '/', r == '\u00a0', r == '\t':
			continue // formatting
		default:
			return "", errors.New("the number has characters that can't be dialled")
		}
		b.WriteRune(r)
	}
	out := b.String()
	// Letters with enough digits are a vanity number; letters alone (or
	// mostly) are a SIP user name.
	if letters > 0 && digits >= 3 && (out[0] == '+' || out[0] >= '0' && out[0] <= '9') {
		out = strings.Map(keypadDigit, out)
	}
	if out == "" || out == "+" {
		return "", errors.New("enter a number to call")
	}
	if len(out) > maxNumberLen {
		return "", errors.New("the number is too long")
	}
	return out, nil
}

// extMarkers introduce an extension after a phone number, longest first.
var extMarkers = []string{";ext=", ";ext", "extension", "ext", "x", "分机", "转", ","}

// splitExtension takes a trailing extension off a phone number: the
// number and the extension's digits, or s and "" when it has none. The
// number must hold at least three digits, so a SIP user name such as
// "agentx12" is left alone.
func splitExtension(s string) (base, ext string) {
	t := strings.TrimRight(s, " \t")
	i := len(t)
	for i > 0 && t[i-1] >= '0' && t[i-1] <= '9' {
		i--
	}
	digits := t[i:]
	if digits == "" || strings.ContainsRune(t, '@') {
		return s, ""
	}
	head := strings.TrimRight(t[:i], " \t:.")
	for _, m := range extMarkers {
		if len(head) < len(m) || !strings.EqualFold(head[len(head)-len(m):], m) {
			continue
		}
		rest := head[:len(head)-len(m)]
		b := strings.TrimRight(rest, " \t,")
		if b == "" || digitCount(b) < 3 {
			return s, ""
		}
		// A bare "x" must follow a digit, a parenthesis or a space: in
		// "1-800-FLOWERX12" it is part of the word.
		if m == "x" && rest == b && !strings.ContainsAny(b[len(b)-1:], "0123456789)") {
			return s, ""
		}
		return b, digits
	}
	return s, ""
}

func digitCount(s string) int {
	n := 0
	for _, r := range s {
		if r >= '0' && r <= '9' {
			n++
		}
	}
	return n
}

func sipAddress(s string) (string, error) {
	if len(s) > 128 {
		return "", errors.New("the address is too long")
	}
	user, host, _ := strings.Cut(s, "@")
	if user == "" || host == "" || strings.ContainsRune(host, '@') {
		return "", errors.New("give a SIP address as user@host")
	}
	for _, r := range s {
		if !(r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) || strings.ContainsRune("+-_.~*#@:[]", r)) {
			return "", errors.New("the SIP address has characters that can't be dialled")
		}
	}
	return s, nil
}

// foldWidth maps full-width ASCII variants (U+FF01–U+FF5E) and the
// ideographic space to ASCII.
func foldWidth(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 0xFF01 && r <= 0xFF5E:
			return r - 0xFF01 + '!'
		case r == 0x3000:
			return ' '
		}
		return r
	}, s)
}

func keypadDigit(r rune) rune {
	switch unicode.ToUpper(r) {
	case 'A', 'B', 'C':
		return '2'
	case 'D', 'E', 'F':
		return '3'
	case 'G', 'H', 'I':
		return '4'
	case 'J', 'K', 'L':
		return '5'
	case 'M', 'N', 'O':
		return '6'
	case 'P', 'Q', 'R', 'S':
		return '7'
	case 'T', 'U', 'V':
		return '8'
	case 'W', 'X', 'Y', 'Z':
		return '9'
	}
	return r
}

// validDTMF accepts the RFC 4733 event characters.
func validDTMF(d string) bool {
	if d == "" || len(d) > 32 {
		return false
	}
	for _, r := range d {
		if !(r >= '0' && r <= '9' || r == '*' || r == '#' || r >= 'A' && r <= 'D' || r >= 'a' && r <= 'd') {
			return false
		}
	}
	return true
}

// validID accepts the call ids the phone hands out; anything else is
// refused before it reaches the phone.
func validID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.:@", r)) {
			return false
		}
	}
	return true
}
