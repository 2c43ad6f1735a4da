package localhost

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// normalizeOrigin turns a configured CRM URL ("https://org.crm.dynamics.com/",
// "https://org.crm4.dynamics.com/main.aspx?appid=…") into its origin
// (scheme://host[:port], lower case, default port dropped). Only https is
// accepted, except http on loopback hosts, which test doubles use.
func normalizeOrigin(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return "", fmt.Errorf("%q is not a URL: %w", raw, err)
	}
	return originOf(u, raw)
}

func originOf(u *url.URL, raw string) (string, error) {
	scheme := strings.ToLower(u.Scheme)
	if u.User != nil {
		return "", fmt.Errorf("%q: a CRM URL must not carry a user name or password", raw)
	}
	host := strings.ToLower(u.Hostname())
	if host == "" || u.Opaque != "" {
		return "", fmt.Errorf("%q: give the CRM address like https://org.crm.dynamics.com", raw)
	}
	if !validHostname(host) {
		return "", fmt.Errorf("%q: %q is not a host name", raw, host)
	}
	loopback := host == "localhost" || net.ParseIP(host).IsLoopback()
	switch {
	case scheme == "https":
	case scheme == "http" && loopback:
	default:
		return "", fmt.Errorf("%q: the CRM address must start with https://", raw)
	}
	port := u.Port()
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		port = ""
	}
	if port != "" {
		for _, c := range port {
			if c < '0' || c > '9' {
				return "", fmt.Errorf("%q: bad port", raw)
			}
		}
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		return scheme + "://" + host + ":" + port, nil
	}
	return scheme + "://" + host, nil
}

func validHostname(h string) bool {
	if net.ParseIP(h) != nil {
		return true
	}
	if len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// baseError says why a base parameter was refused, in words the agent
// sees on the page.
type baseError struct {
	reason string // missing, too_long, not_origin, not_configured, none_configured, several
	origin string
}

func (e *baseError) Error() string { return e.message("en") }

func (e *baseError) message(lang string) string {
	zh := lang == "zh-CN"
	switch e.reason {
	case "missing":
		if zh {
			return "地址中缺少 base 参数（应以 ?base=https://您的组织.crm.dynamics.com 结尾）。"
		}
		return "The address has no base parameter (it should end with ?base=https://your-org.crm.dynamics.com)."
	case "not_origin", "too_long":
		if zh {
			return "base 参数必须只是 CRM 地址，例如 https://your-org.crm.dynamics.com。"
		}
		return "The base parameter must be just the CRM address, like https://your-org.crm.dynamics.com."
	case "several":
		if zh {
			return "地址中包含多个 base 参数。"
		}
		return "The address names more than one base."
	case "none_configured":
		if zh {
			return "Switchboard 中尚未配置 Dynamics 365 地址（配置文件中的 [crm] url）。"
		}
		return "No Dynamics 365 address is configured in Switchboard ([crm] url in the config file)."
	default:
		if zh {
			return e.origin + " 不是 Switchboard 中配置的 Dynamics 365 地址。"
		}
		return e.origin + " is not the Dynamics 365 address configured in Switchboard."
	}
}

// matchBase checks the channel URL's base parameter against the configured
// CRM origins and returns the matching origin. It is strict: the value
// must be an origin, optionally with a trailing "/", and equal one of the
// configured origins after normalisation. No script is ever loaded from a
// base that fails this check.
func matchBase(raw string, allowed []string) (string, error) {
	if raw == "" {
		return "", &baseError{reason: "missing"}
	}
	if len(raw) > 2048 {
		return "", &baseError{reason: "too_long"}
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return "", &baseError{reason: "not_origin"}
	}
	origin, err := originOf(u, raw)
	if err != nil {
		return "", &baseError{reason: "not_origin"}
	}
	for _, a := range allowed {
		if a == origin {
			return origin, nil
		}
	}
	if len(allowed) == 0 {
		return "", &baseError{reason: "none_configured"}
	}
	return "", &baseError{reason: "not_configured", origin: origin}
}

// newToken returns a fresh 256-bit API token.
func newToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return hex.EncodeToString(b)
}

// tokenEqual compares in constant time so the token can't be guessed byte
// by byte from response timing.
func tokenEqual(got, want string) bool {
	return len(want) > 0 && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// bearer extracts the token from "Authorization: Bearer <token>". Query
// parameters and cookies are deliberately not looked at: URLs end up in
// logs and histories, and cookies would be sent by any page that frames us.
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	const p = "Bearer "
	if len(h) > len(p) && strings.EqualFold(h[:len(p)], p) {
		return strings.TrimSpace(h[len(p):])
	}
	return ""
}

// wsProtocol is the WebSocket subprotocol; the token travels as a second
// offered subprotocol "bearer.<token>" because browsers can't set headers
// on a WebSocket and the URL must not carry it. The server only ever
// echoes wsProtocol back.
const (
	wsProtocol    = "switchboard.v1"
	wsTokenPrefix = "bearer."
)

func wsToken(r *http.Request) string {
	for _, h := range r.Header.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(h, ",") {
			p = strings.TrimSpace(p)
			if strings.HasPrefix(p, wsTokenPrefix) {
				return p[len(wsTokenPrefix):]
			}
		}
	}
	return ""
}

// hostAllowed implements the DNS-rebinding defence: a page on evil.example
// that re-points its name at 127.0.0.1 still sends "Host: evil.example".
func (s *Server) hostAllowed(host string) bool {
	h := strings.ToLower(host)
	p := fmt.Sprintf(":%d", s.port)
	return h == "localhost"+p || h == "127.0.0.1"+p
}

// ownOrigins are the origins our own pages run under.
func (s *Server) ownOrigin(o string) bool {
	o = strings.ToLower(o)
	p := fmt.Sprintf(":%d", s.port)
	return o == "https://localhost"+p || o == "https://127.0.0.1"+p
}

func (s *Server) crmOrigin(o string) bool {
	for _, a := range s.origins {
		if a == strings.ToLower(o) {
			return true
		}
	}
	return false
}

// frameAncestors is the CSP directive value: only our own pages and the
// configured Dynamics origins may frame the widget.
func (s *Server) frameAncestors() string {
	return strings.Join(append([]string{"'self'"}, s.origins...), " ")
}
