package localhost

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Each test here tries an attack from G1 and checks it is refused.

// DNS rebinding: a page on evil.example re-points its name at 127.0.0.1;
// the browser then connects to us but still sends its own Host.
func TestAttackDNSRebinding(t *testing.T) {
	f := newFixture(t)
	// The attacker can't get a certificate for its name from our CA, but
	// assume the worst and skip verification: the Host check must hold alone.
	f.client = f.httpClient(&tls.Config{InsecureSkipVerify: true, ServerName: "evil.example"})
	hosts := []string{
		"evil.example", fmt.Sprintf("evil.example:%d", f.port), "localhost", "127.0.0.1",
		fmt.Sprintf("localhost:%d", f.port+1), fmt.Sprintf("127.0.0.2:%d", f.port),
		fmt.Sprintf("[::1]:%d", f.port), fmt.Sprintf("localhost.:%d", f.port),
		fmt.Sprintf("127.0.0.1.nip.io:%d", f.port), fmt.Sprintf("0.0.0.0:%d", f.port),
	}
	paths := []string{"/", "/dyncrm?base=" + url.QueryEscape(testCRM), "/api/v1/status", "/healthz", "/api/v1/openapi.yaml", "/nope"}
	for _, h := range hosts {
		for _, p := range paths {
			r := f.do("GET", p, nil, map[string]string{"Host": h, "Authorization": "Bearer " + f.s.token})
			if r.status != http.StatusMisdirectedRequest || r.errCode(t) != "bad_host" {
				t.Errorf("Host %q %s: got %d %.80s, want 421 bad_host", h, p, r.status, r.body)
			}
			if strings.Contains(string(r.body), f.s.token) {
				t.Errorf("Host %q %s: token leaked", h, p)
			}
		}
	}
	// Our own names work, in any case.
	for _, h := range []string{fmt.Sprintf("localhost:%d", f.port), fmt.Sprintf("127.0.0.1:%d", f.port), fmt.Sprintf("LocalHost:%d", f.port)} {
		if r := f.do("GET", "/healthz", nil, map[string]string{"Host": h}); r.status != 200 {
			t.Errorf("Host %q refused: %d", h, r.status)
		}
	}
}

// Framing: only our own pages and the configured Dynamics origins may
// frame the widget (the browser test checks Chromium enforces it).
func TestAttackFramingCSP(t *testing.T) {
	f := newFixture(t, func(o *Options) {
		o.CRMOrigins = []string{testCRM, "https://other.crm4.dynamics.com/"}
	})
	want := "frame-ancestors 'self' https://org.crm.dynamics.com https://other.crm4.dynamics.com"
	pages := []string{"/", "/dyncrm?base=" + url.QueryEscape(testCRM), "/dyncrm?base=https://evil.example", "/dyncrm", "/dyncrm/login"}
	for _, p := range pages {
		r := f.do("GET", p, nil, nil)
		csp := r.header.Get("Content-Security-Policy")
		if !strings.Contains(csp, want+";") {
			t.Errorf("%s: CSP %q lacks %q", p, csp, want)
		}
		if strings.Contains(csp, "*") || strings.Count(csp, "frame-ancestors") != 1 {
			t.Errorf("%s: CSP too open: %q", p, csp)
		}
		if r.header.Get("X-Frame-Options") != "" {
			t.Errorf("%s: X-Frame-Options would block Dynamics", p)
		}
	}
	// The API can't be framed at all.
	r := f.api("GET", "/api/v1/status", nil)
	if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("API CSP %q", csp)
	}
}

// The base parameter must be a configured Dynamics origin before any
// script is loaded from it.
func TestAttackBaseParameter(t *testing.T) {
	f := newFixture(t)
	bad := []string{
		"",
		"https://evil.example",
		"https://org.crm.dynamics.com.evil.example",
		"https://evil.example/org.crm.dynamics.com",
		"https://org.crm.dynamics.com@evil.example",
		"https://user:pw@org.crm.dynamics.com",
		"http://org.crm.dynamics.com",
		"https://org.crm.dynamics.com:8443",
		"https://org.crm.dynamics.com/webresources/evil.js",
		"https://org.crm.dynamics.com?x=1",
		"https://org.crm.dynamics.com#x",
		"//org.crm.dynamics.com",
		"org.crm.dynamics.com",
		"javascript:alert(1)",
		"data:text/javascript,alert(1)",
		`https://org.crm.dynamics.com"><script src=https://evil.example/x.js></script>`,
		"https://org.crm.dynamics.com\\@evil.example",
		"https://xn--org-9o0a.crm.dynamics.com",
		strings.Repeat("a", 5000),
	}
	for _, b := range bad {
		r := f.do("GET", "/dyncrm?base="+url.QueryEscape(b), nil, nil)
		body := string(r.body)
		if r.status != http.StatusBadRequest {
			t.Errorf("base %q: status %d", b, r.status)
		}
		if strings.Contains(strings.ToLower(body), "<script") || strings.Contains(body, "msdyn_ciLibrary") || strings.Contains(body, f.s.token) {
			t.Errorf("base %q: page loads script or carries the token:\n%s", b, body)
		}
		if csp := r.header.Get("Content-Security-Policy"); strings.Contains(csp, "script-src") || !strings.HasPrefix(csp, "default-src 'none'") {
			t.Errorf("base %q: CSP allows scripts: %q", b, csp)
		}
		if !strings.Contains(body, "Switchboard can") {
			t.Errorf("base %q: no clear message:\n%s", b, body)
		}
	}
	// Two base parameters are ambiguous: refuse even if one is right.
	r := f.do("GET", "/dyncrm?base="+url.QueryEscape(testCRM)+"&base=https://evil.example", nil, nil)
	if r.status != http.StatusBadRequest || strings.Contains(string(r.body), "msdyn_ciLibrary") {
		t.Errorf("two bases: %d", r.status)
	}
	good := []string{testCRM, testCRM + "/", "https://ORG.crm.dynamics.com", "https://org.crm.dynamics.com:443"}
	for _, b := range good {
		r := f.do("GET", "/dyncrm?base="+url.QueryEscape(b), nil, nil)
		body := string(r.body)
		if r.status != 200 || !strings.Contains(body, `data-cif-library="https://org.crm.dynamics.com/webresources/Widget/msdyn_ciLibrary.js"`) {
			t.Errorf("base %q: %d\n%s", b, r.status, body)
		}
		if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self' https://org.crm.dynamics.com;") {
			t.Errorf("base %q: CSP %q", b, csp)
		}
	}
	// In Chinese too.
	r = f.do("GET", "/dyncrm?base=https://evil.example", nil, map[string]string{"Accept-Language": "zh-CN,zh;q=0.9"})
	if !strings.Contains(string(r.body), "无法在此处打开") {
		t.Errorf("no Chinese message:\n%s", r.body)
	}
}

// apiRoutes is every token-protected endpoint with a valid request.
var apiRoutes = []struct {
	method, path string
	body         any
}{
	{"GET", "/api/v1/status", nil},
	{"GET", "/api/v1/calls", nil},
	{"POST", "/api/v1/calls", map[string]any{"number": "1002"}},
	{"POST", "/api/v1/calls/c1/answer", nil},
	{"POST", "/api/v1/calls/c1/decline", nil},
	{"POST", "/api/v1/calls/c1/hangup", nil},
	{"POST", "/api/v1/calls/c1/hold", nil},
	{"POST", "/api/v1/calls/c1/resume", nil},
	{"POST", "/api/v1/calls/c1/mute", map[string]any{"on": true}},
	{"POST", "/api/v1/calls/c1/dtmf", map[string]any{"digits": "1"}},
	{"GET", "/api/v1/history", nil},
	{"GET", "/api/v1/settings", nil},
	{"PATCH", "/api/v1/settings", map[string]any{"autoAnswer": true}},
	{"GET", "/api/v1/audio/devices", nil},
	{"PUT", "/api/v1/audio/selection", map[string]any{"mic": ""}},
	{"POST", "/api/v1/audio/test-tone", map[string]any{"role": "speaker"}},
	{"GET", "/api/v1/events", nil},
}

func TestAttackMissingToken(t *testing.T) {
	f := newFixture(t)
	tok := f.s.token
	attempts := []struct {
		name string
		hdr  map[string]string
		qs   string
	}{
		{"none", nil, ""},
		{"wrong", map[string]string{"Authorization": "Bearer " + strings.Repeat("0", len(tok))}, ""},
		{"prefix", map[string]string{"Authorization": "Bearer " + tok[:len(tok)-1]}, ""},
		{"longer", map[string]string{"Authorization": "Bearer " + tok + "0"}, ""},
		{"empty bearer", map[string]string{"Authorization": "Bearer "}, ""},
		{"basic", map[string]string{"Authorization": "Basic " + tok}, ""},
		{"query", nil, "?token=" + tok},
		{"access_token query", nil, "?access_token=" + tok},
		{"cookie", map[string]string{"Cookie": "token=" + tok + "; sb-token=" + tok}, ""},
		{"other header", map[string]string{"X-Switchboard-Token": tok}, ""},
	}
	for _, rt := range apiRoutes {
		for _, a := range attempts {
			r := f.do(rt.method, rt.path+a.qs, rt.body, a.hdr)
			if r.status != http.StatusUnauthorized || r.errCode(t) != "unauthorized" {
				t.Errorf("%s %s with %s: %d %s", rt.method, rt.path, a.name, r.status, r.body)
			}
		}
	}
	if len(f.phone.history) != 0 || len(f.phone.calls) != 0 || len(f.phone.tones) != 0 {
		t.Errorf("an unauthenticated call reached the phone")
	}
	// The WebSocket without (or with a wrong) token is refused at the handshake.
	for _, proto := range []string{wsProtocol, wsProtocol + ", bearer.nope", wsProtocol + ", bearer." + tok[1:]} {
		_, res, err := f.ws(http.Header{"Sec-Websocket-Protocol": {proto}})
		if err == nil || res == nil || res.StatusCode != http.StatusUnauthorized {
			t.Errorf("websocket with %q: %v %v", proto, err, res)
		}
	}
	// And with the token every route gets past the check.
	for _, rt := range apiRoutes {
		if rt.path == "/api/v1/events" {
			continue
		}
		if r := f.api(rt.method, rt.path, rt.body); r.status == http.StatusUnauthorized {
			t.Errorf("%s %s with the token: 401", rt.method, rt.path)
		}
	}
}

func TestAttackWebSocketOrigin(t *testing.T) {
	f := newFixture(t)
	for _, o := range []string{"https://evil.example", testCRM, "null", "", fmt.Sprintf("http://localhost:%d", f.port),
		fmt.Sprintf("https://localhost:%d", f.port+1), fmt.Sprintf("https://localhost.evil.example:%d", f.port)} {
		h := http.Header{}
		h["Origin"] = []string{o}
		if o == "" {
			h["Origin"] = nil
		}
		_, res, err := f.ws(h)
		if err == nil || res == nil || res.StatusCode != http.StatusForbidden {
			t.Errorf("Origin %q: %v %v", o, err, res)
		}
	}
	for _, o := range []string{f.base, fmt.Sprintf("https://127.0.0.1:%d", f.port)} {
		c, _, err := f.ws(http.Header{"Origin": {o}})
		if err != nil {
			t.Errorf("Origin %q refused: %v", o, err)
			continue
		}
		if c.Subprotocol() != wsProtocol {
			t.Errorf("subprotocol %q (the token must never be echoed)", c.Subprotocol())
		}
		c.Close()
	}
}

func TestAttackJSONBodies(t *testing.T) {
	f := newFixture(t)
	tok := map[string]string{"Authorization": "Bearer " + f.s.token}
	ct := func(c string) map[string]string {
		return map[string]string{"Authorization": tok["Authorization"], "Content-Type": c}
	}
	huge := `{"number":"` + strings.Repeat("1", 70<<10) + `"}`
	tests := []struct {
		name   string
		path   string
		body   string
		hdr    map[string]string
		status int
		code   string
	}{
		{"unknown field", "/api/v1/calls", `{"number":"1002","exec":"rm -rf"}`, tok, 400, "bad_json"},
		{"case-folded field", "/api/v1/calls", `{"NUMBER":"1002"}`, tok, 400, "bad_json"},
		{"two values", "/api/v1/calls", `{"number":"1002"}{"number":"1003"}`, tok, 400, "bad_json"},
		{"trailing garbage", "/api/v1/calls", `{"number":"1002"} x`, tok, 400, "bad_json"},
		{"array", "/api/v1/calls", `[{"number":"1002"}]`, tok, 400, "bad_json"},
		{"wrong type", "/api/v1/calls", `{"number":1002}`, tok, 400, "bad_json"},
		{"empty", "/api/v1/calls", ``, tok, 400, "bad_json"},
		{"broken", "/api/v1/calls", `{"number":`, tok, 400, "bad_json"},
		{"too large", "/api/v1/calls", huge, tok, 413, "body_too_large"},
		{"form post", "/api/v1/calls", `number=1002`, ct("application/x-www-form-urlencoded"), 415, "unsupported_media_type"},
		{"text/plain (CORS-simple)", "/api/v1/calls", `{"number":"1002"}`, ct("text/plain"), 415, "unsupported_media_type"},
		{"no content type", "/api/v1/calls", `{"number":"1002"}`, ct(""), 415, "unsupported_media_type"},
		{"settings unknown field", "/api/v1/settings", `{"autoAnswer":true,"admin":true}`, tok, 400, "bad_json"},
		{"action with body", "/api/v1/calls/c1/hangup", `{"force":true}`, tok, 400, "bad_json"},
	}
	for _, tt := range tests {
		method := "POST"
		if strings.HasPrefix(tt.path, "/api/v1/settings") {
			method = "PATCH"
		}
		hdr := map[string]string{"Content-Type": "application/json"}
		for k, v := range tt.hdr {
			hdr[k] = v
		}
		r := f.do(method, tt.path, tt.body, hdr)
		if r.status != tt.status || r.errCode(t) != tt.code {
			t.Errorf("%s: %d %s, want %d %s", tt.name, r.status, r.body, tt.status, tt.code)
		}
	}
	if len(f.phone.calls) != 0 {
		t.Error("a refused body reached the phone")
	}
}

func TestErrorsAreJSON(t *testing.T) {
	f := newFixture(t)
	for _, tt := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/nope", 404},
		{"GET", "/api/v1/nope", 404},
		{"DELETE", "/api/v1/status", 405},
		{"POST", "/healthz", 405},
		{"GET", "/static/deadbeef/app.css", 404},
		{"GET", "/api/v1/status", 401},
	} {
		r := f.do(tt.method, tt.path, nil, nil)
		if r.status != tt.status || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
			t.Errorf("%s %s: %d %s", tt.method, tt.path, r.status, r.header.Get("Content-Type"))
		}
		r.errCode(t)
	}
}

// No CORS: a page elsewhere can neither preflight nor read the API.
func TestAttackCORS(t *testing.T) {
	f := newFixture(t)
	for _, o := range []string{"https://evil.example", testCRM, "null"} {
		pre := f.do("OPTIONS", "/api/v1/calls", nil, map[string]string{
			"Origin": o, "Access-Control-Request-Method": "POST",
			"Access-Control-Request-Headers":         "authorization,content-type",
			"Access-Control-Request-Private-Network": "true",
		})
		get := f.do("GET", "/api/v1/status", nil, map[string]string{"Origin": o, "Authorization": "Bearer " + f.s.token})
		for _, r := range []resp{pre, get} {
			for k := range r.header {
				if strings.HasPrefix(strings.ToLower(k), "access-control-") {
					t.Errorf("Origin %q: CORS header %s: %v", o, k, r.header[k])
				}
			}
		}
		if pre.status < 400 {
			t.Errorf("Origin %q: preflight answered %d", o, pre.status)
		}
	}
	// The widget page answers a Private Network Access preflight from a
	// configured Dynamics origin only, and grants nothing else.
	pna := f.do("OPTIONS", "/dyncrm", nil, map[string]string{"Origin": testCRM, "Access-Control-Request-Method": "GET", "Access-Control-Request-Private-Network": "true"})
	if pna.status != 204 || pna.header.Get("Access-Control-Allow-Private-Network") != "true" || pna.header.Get("Access-Control-Allow-Origin") != testCRM {
		t.Errorf("PNA preflight from CRM: %d %v", pna.status, pna.header)
	}
	if pna.header.Get("Access-Control-Allow-Headers") != "" || pna.header.Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf("PNA preflight grants too much: %v", pna.header)
	}
	evil := f.do("OPTIONS", "/dyncrm", nil, map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "GET", "Access-Control-Request-Private-Network": "true"})
	if evil.status != 405 || evil.header.Get("Access-Control-Allow-Private-Network") != "" || evil.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("PNA preflight from evil: %d %v", evil.status, evil.header)
	}
	page := f.do("GET", "/dyncrm?base="+url.QueryEscape(testCRM), nil, map[string]string{"Origin": testCRM})
	if page.header.Get("Access-Control-Allow-Origin") != "" {
		t.Error("the page itself must not carry CORS headers")
	}
}

// Nothing secret in URLs or logs; keys and the token file are private.
func TestNoSecretsInURLsOrLogs(t *testing.T) {
	f := newFixture(t)
	tok := f.s.token
	f.phone.addHistory(HistoryRecord{ID: "h1", Direction: "inbound", Number: "1002", Disposition: "answered"})
	// A busy session: pages, API calls good and bad, the WebSocket.
	page := f.do("GET", "/dyncrm?base="+url.QueryEscape(testCRM), nil, nil)
	f.do("GET", "/dyncrm?base=https://evil.example", nil, nil)
	for _, rt := range apiRoutes {
		if rt.path != "/api/v1/events" {
			f.api(rt.method, rt.path, rt.body)
			f.do(rt.method, rt.path, rt.body, map[string]string{"Authorization": "Bearer wrong-" + tok[:8]})
		}
	}
	f.do("GET", "/", nil, map[string]string{"Host": "evil.example"})
	w := f.widget()
	w.next("state")
	w.send(map[string]any{"type": "nonsense", "token": tok})
	w.next("error")
	f.ws(http.Header{"Origin": {"https://evil.example"}})
	f.s.Close()

	logs := f.logs.String()
	if strings.Contains(logs, tok) || strings.Contains(logs, tok[:16]) {
		t.Errorf("the token is in the logs:\n%s", logs)
	}
	if strings.Contains(logs, "base=") {
		t.Errorf("query strings are logged:\n%s", logs)
	}
	if !strings.Contains(logs, "refused") {
		t.Errorf("refusals are not logged:\n%s", logs)
	}
	// The page carries the token only in its meta tag, never in a URL.
	re := regexp.MustCompile(`(?:src|href|data-[a-z-]+)="([^"]*)"`)
	for _, m := range re.FindAllStringSubmatch(string(page.body), -1) {
		if strings.Contains(m[1], tok) {
			t.Errorf("token in URL attribute %q", m[0])
		}
	}
	if !strings.Contains(string(page.body), `<meta name="sb-token" content="`+tok+`">`) {
		t.Error("the page does not carry the token for the widget")
	}
	if page.header.Get("Cache-Control") != "no-store" {
		t.Error("the page with the token may be cached")
	}
	// Private files are private.
	for _, p := range []string{filepath.Join(f.dataDir, "certs", caKeyName), filepath.Join(f.dataDir, "certs", leafKeyName)} {
		st, err := os.Stat(p)
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v", p, st.Mode(), err)
		}
	}
	if st, _ := os.Stat(filepath.Join(f.dataDir, "certs")); st.Mode().Perm() != 0o700 {
		t.Errorf("certs dir mode %v", st.Mode().Perm())
	}
}

func TestSecurityHeaders(t *testing.T) {
	f := newFixture(t)
	r := f.do("GET", "/", nil, nil)
	var static string
	if m := regexp.MustCompile(`href="(/static/[0-9a-f]+/app\.css)"`).FindStringSubmatch(string(r.body)); m != nil {
		static = m[1]
	} else {
		t.Fatalf("no stylesheet in page:\n%s", r.body)
	}
	for _, tt := range []struct {
		path   string
		api    bool
		cache  string
		status int
	}{
		{"/", false, "no-store", 200},
		{"/dyncrm?base=" + url.QueryEscape(testCRM), false, "no-store", 200},
		{"/dyncrm/login", false, "no-store", 501},
		{"/api/v1/status", true, "no-store", 200},
		{"/api/v1/history", true, "no-store", 200},
		{static, false, "public, max-age=31536000, immutable", 200},
		{"/healthz", false, "no-store", 200},
	} {
		var r resp
		if tt.api {
			r = f.api("GET", tt.path, nil)
		} else {
			r = f.do("GET", tt.path, nil, nil)
		}
		if r.status != tt.status {
			t.Errorf("%s: %d", tt.path, r.status)
		}
		if r.header.Get("X-Content-Type-Options") != "nosniff" || r.header.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s: missing nosniff/referrer policy: %v", tt.path, r.header)
		}
		if r.header.Get("Cache-Control") != tt.cache {
			t.Errorf("%s: Cache-Control %q, want %q", tt.path, r.header.Get("Cache-Control"), tt.cache)
		}
	}
	// Static files: only under the current hash, no listings.
	for _, p := range []string{strings.TrimSuffix(static, "app.css"), strings.TrimSuffix(static, "app.css") + "js/", "/static/", strings.Replace(static, "app.css", "../templates/index.html", 1)} {
		r := f.do("GET", p, nil, nil)
		if r.status == http.StatusMovedPermanently { // the router cleans "..": follow it
			r = f.do("GET", r.header.Get("Location"), nil, nil)
		}
		if r.status != 404 {
			t.Errorf("%s: %d", p, r.status)
		}
	}
	// The SSO path says clearly it's not set up.
	if r := f.do("GET", "/dyncrm/login", nil, nil); !strings.Contains(string(r.body), "Single sign-on is not configured") {
		t.Errorf("login page:\n%s", r.body)
	}
}
