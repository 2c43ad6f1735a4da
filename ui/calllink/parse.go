package calllink

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Schemes are the URL schemes Switchboard handles.
var schemes = []string{"tel", "callto", "sip", "sips"}

// Schemes returns the URL schemes Switchboard registers for.
func Schemes() []string { return []string{"tel", "callto", "sip"} }

// maxLinkLen bounds what a web page can hand us through a link.
const maxLinkLen = 512

// ErrNotALink means the argument is not a tel:, callto: or sip: link.
var ErrNotALink = errors.New("not a tel:, callto: or sip: link")

// IsLink reports whether s looks like a link this package handles, so a
// command line can tell `switchboard tel:1002` from a sub-command.
func IsLink(s string) bool {
	i := strings.IndexByte(s, ':')
	if i <= 0 {
		return false
	}
	scheme := strings.ToLower(s[:i])
	for _, sc := range schemes {
		if scheme == sc {
			return true
		}
	}
	return false
}

// Parse returns the dial target of a link: a number for tel: and callto:
// (visual separators kept; the phone cleans them), a sip:/sips: URI
// without headers or parameters for sip:. Anything that could smuggle
// more than a number or an address is refused.
func Parse(link string) (string, error) {
	link = strings.TrimSpace(link)
	if len(link) > maxLinkLen {
		return "", fmt.Errorf("link longer than %d characters", maxLinkLen)
	}
	if !IsLink(link) {
		return "", ErrNotALink
	}
	i := strings.IndexByte(link, ':')
	scheme, rest := strings.ToLower(link[:i]), link[i+1:]
	switch scheme {
	case "tel", "callto":
		// callto://1002 (Skype style) and tel://1002 (seen in the wild).
		rest = strings.TrimPrefix(rest, "//")
		// Parameters (;phone-context=) and anything after ? are not part
		// of what the agent wants to dial, except an extension (RFC 3966
		// ;ext=), which the phone sends as DTMF after the answer.
		ext := ""
		if j := strings.IndexAny(rest, ";?"); j >= 0 {
			params := rest[j:]
			if k := strings.IndexByte(params, '?'); k >= 0 {
				params = params[:k]
			}
			for _, p := range strings.Split(params, ";") {
				if k, v, ok := strings.Cut(p, "="); ok && strings.EqualFold(k, "ext") {
					ext = v
				}
			}
			rest = rest[:j]
		}
		if ext != "" && (len(ext) > 10 || strings.Trim(ext, "0123456789") != "") {
			return "", fmt.Errorf("%s link: extension %q is not digits", scheme, ext)
		}
		rest = strings.TrimSuffix(rest, "/")
		num, err := url.PathUnescape(rest)
		if err != nil {
			return "", fmt.Errorf("%s link: %w", scheme, err)
		}
		num = strings.TrimSpace(num)
		if num == "" {
			return "", fmt.Errorf("%s link has no number", scheme)
		}
		for _, r := range num {
			if !dialRune(r) {
				return "", fmt.Errorf("%s link: %q is not a phone number", scheme, num)
			}
		}
		if !strings.ContainsAny(num, "0123456789") {
			return "", fmt.Errorf("%s link: %q has no digits", scheme, num)
		}
		if ext != "" {
			return num + "," + ext, nil
		}
		return num, nil
	default: // sip, sips
		rest = strings.TrimPrefix(rest, "//")
		if j := strings.IndexAny(rest, ";?"); j >= 0 {
			rest = rest[:j]
		}
		addr, err := url.PathUnescape(rest)
		if err != nil {
			return "", fmt.Errorf("%s link: %w", scheme, err)
		}
		user, host, ok := strings.Cut(addr, "@")
		if !ok {
			// sip:1002 — a bare user on our own PBX.
			user, host = addr, ""
		}
		if user == "" || !validUser(user) {
			return "", fmt.Errorf("%s link: %q has no user to call", scheme, addr)
		}
		if host == "" {
			return user, nil
		}
		if !validHost(host) {
			return "", fmt.Errorf("%s link: %q is not a host", scheme, host)
		}
		return scheme + ":" + user + "@" + host, nil
	}
}

// dialRune is what a printed phone number may contain.
func dialRune(r rune) bool {
	return r >= '0' && r <= '9' || strings.ContainsRune("+*#-. ()/", r) || r == '\u00a0'
}

// validUser accepts RFC 3261 user characters (unreserved and user-unreserved).
func validUser(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.!~*'()&=+$,/", r)) {
			return false
		}
	}
	return true
}

// validHost accepts a host name, IPv4 or bracketed IPv6, with an optional port.
func validHost(s string) bool {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return false
		}
		for _, r := range s[1:end] {
			if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F' || r == ':' || r == '.') {
				return false
			}
		}
		s = s[end+1:]
		if s == "" {
			return true
		}
		return strings.HasPrefix(s, ":") && validPort(s[1:])
	}
	host, port, hasPort := strings.Cut(s, ":")
	if host == "" || len(host) > 253 {
		return false
	}
	for _, r := range host {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
			return false
		}
	}
	return !hasPort || validPort(port)
}

func validPort(p string) bool {
	if p == "" || len(p) > 5 {
		return false
	}
	n := 0
	for _, r := range p {
		if r < '0' || r > '9' {
			return false
		}
		n = n*10 + int(r-'0')
	}
	return n > 0 && n <= 65535
}
