package localhost

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/chromedp/chromedp"
)

func TestNormalizeNumber(t *testing.T) {
	tests := []struct {
		in, want string
		bad      bool
	}{
		{"1002", "1002", false},
		{" +1 (555) 010-2030 ", "+15550102030", false},
		{"+86 138.0013.8000", "+8613800138000", false},
		{"＋８６ １３８ ００１３ ８０００", "+8613800138000", false},
		{"tel:+1-555-010-2030", "+15550102030", false},
		{"sip:alice@pbx.example.com", "alice@pbx.example.com", false},
		{"1-800-FLOWERS", "18003569377", false},
		{"alice", "alice", false},
		{"*97", "*97", false},
		{"#31#1002", "#31#1002", false},
		{"", "", true},
		{"   ", "", true},
		{"+", "", true},
		{"12+34", "", true},
		{"1002;transport=tcp", "", true},
		{"<sip:x@y>", "", true},
		{"a@b@c", "", true},
		{"@host", "", true},
		{"1002\r\nVia: evil", "", true},
		{strings.Repeat("1", 65), "", true},
		// Extensions as CRM records hold them: dialled after the answer.
		{"+1 (425) 555-0100 x123", "+14255550100,123", false},
		{"+1 425 555 0100x123", "+14255550100,123", false},
		{"+1 425 555 0100 ext. 123", "+14255550100,123", false},
		{"+1 425 555 0100 Extension: 45", "+14255550100,45", false},
		{"tel:+1-425-555-0100;ext=123", "+14255550100,123", false},
		{"+14255550100,,123", "+14255550100,123", false},
		{"+14255550100,123", "+14255550100,123", false},
		{"010-6552 9988转123", "01065529988,123", false},
		{"010 6552 9988 分机 8", "01065529988,8", false},
		{"1-800-FLOWERS x12", "18003569377,12", false},
		{"agentx12", "agentx12", false},
		{"x123", "x123", false}, // a SIP user name
		{"+1 425 555 0100 x" + strings.Repeat("1", 11), "", true},
	}
	for _, tt := range tests {
		got, err := NormalizeNumber(tt.in)
		if (err != nil) != tt.bad || got != tt.want {
			t.Errorf("NormalizeNumber(%q) = %q, %v; want %q (bad=%v)", tt.in, got, err, tt.want, tt.bad)
		}
	}
}

// FuzzNormalizeNumber: whatever the agent pastes, the result is either an
// error or a short, single-line string of dialable characters that
// normalises to itself.
func FuzzNormalizeNumber(f *testing.F) {
	for _, s := range []string{"+1 (555) 010-2030", "sip:a@b", "1-800-FLOWERS", "＋８６", "tel:", "a@b@c", "\x00", "٣٤٥", "+1 425 555 0100 x12", "010转1", "1,,,2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := NormalizeNumber(in)
		if err != nil {
			return
		}
		if out == "" || len(out) > 128 || !utf8.ValidString(out) {
			t.Fatalf("%q → %q", in, out)
		}
		number, ext, hasExt := strings.Cut(out, ",")
		if hasExt && (ext == "" || strings.Trim(ext, "0123456789") != "" || strings.ContainsRune(number, '@')) {
			t.Fatalf("%q → %q: a comma must lead the extension's digits", in, out)
		}
		for _, r := range number {
			if r < 0x21 || r > 0x7e || strings.ContainsRune(`<>";,\`+"`"+`'`, r) {
				t.Fatalf("%q → %q has %q", in, out, r)
			}
		}
		again, err := NormalizeNumber(out)
		if err != nil || again != out {
			t.Fatalf("not idempotent: %q → %q → %q (%v)", in, out, again, err)
		}
	})
}

// FuzzMatchBase: only a configured origin ever passes, and what passes is
// exactly that origin (nothing of the input leaks into script URLs).
func FuzzMatchBase(f *testing.F) {
	allowed := []string{"https://org.crm.dynamics.com", "http://127.0.0.1:8080"}
	for _, s := range []string{"https://org.crm.dynamics.com", "https://org.crm.dynamics.com/", "https://ORG.crm.dynamics.com:443",
		"https://org.crm.dynamics.com@evil", "javascript:x", "http://127.0.0.1:8080", "https://org.crm.dynamics.com.evil.com", "//x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := matchBase(raw, allowed)
		if err != nil {
			if got != "" {
				t.Fatalf("error with a result %q", got)
			}
			return
		}
		if got != allowed[0] && got != allowed[1] {
			t.Fatalf("%q matched %q", raw, got)
		}
	})
}

func FuzzNormalizeOrigin(f *testing.F) {
	for _, s := range []string{"https://org.crm.dynamics.com/main.aspx?x=1", "http://localhost:9", "https://[::1]:8443", "ftp://x", "https://a..b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		o, err := normalizeOrigin(raw)
		if err != nil {
			return
		}
		u, err := url.Parse(o)
		if err != nil || u.Path != "" || u.RawQuery != "" || u.User != nil || (u.Scheme != "https" && u.Scheme != "http") {
			t.Fatalf("%q → %q is not an origin", raw, o)
		}
		if again, err := normalizeOrigin(o); err != nil || again != o {
			t.Fatalf("not idempotent: %q → %q → %q", raw, o, again)
		}
		if strings.ContainsAny(o, "\"'<> \\") {
			t.Fatalf("%q → %q has markup characters", raw, o)
		}
	})
}

// FuzzDecodeStrict: API bodies never panic the decoder, and what is
// accepted has exactly the known fields.
func FuzzDecodeStrict(f *testing.F) {
	for _, s := range []string{`{"number":"1"}`, `{"NUMBER":"1"}`, `{"number":"1"}{}`, `{"number":1}`, `[]`, `null`, `{"number":"1","x":2}`, `{"autoAnswer":true,"language":"en"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var d DialRequest
		if err := decodeJSON(bytes.NewReader(body), &d); err == nil {
			if k := inexactField(body, &d); k != "" {
				t.Fatalf("accepted unknown field %q in %q", k, body)
			}
		}
		var p SettingsPatch
		_ = decodeJSON(bytes.NewReader(body), &p)
		var m clientMessage
		_ = decodeJSON(bytes.NewReader(body), &m)
	})
}

// FuzzHistoryQuery: any query string either fails naming a field or
// yields bounded values.
func FuzzHistoryQuery(f *testing.F) {
	for _, s := range []string{"q=ada&limit=10", "direction=inbound&disposition=missed", "from=2026-01-01&to=2026-01-02", "limit=0", "offset=99999999999", "x=1", "q=%00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, fe := parseHistoryQuery(v)
		if fe != nil {
			if fe.Field == "" || fe.Message == "" {
				t.Fatalf("%q: empty field error", raw)
			}
			return
		}
		if q.Limit < 1 || q.Limit > maxHistoryLimit || q.Offset < 0 || len(q.Search) > 200 {
			t.Fatalf("%q → %+v", raw, q)
		}
	})
}

func FuzzTokenHeaders(f *testing.F) {
	f.Add("Bearer abc", "switchboard.v1, bearer.abc")
	f.Add("bearer   x  ", "bearer.")
	f.Fuzz(func(t *testing.T, auth, proto string) {
		r := &http.Request{Header: http.Header{"Authorization": {auth}, "Sec-Websocket-Protocol": {proto}}}
		b, w := bearer(r), wsToken(r)
		if b != "" && !strings.Contains(auth, b) {
			t.Fatalf("bearer %q from %q", b, auth)
		}
		if w != "" && !strings.Contains(proto, w) {
			t.Fatalf("ws token %q from %q", w, proto)
		}
		if tokenEqual(b, "") || tokenEqual(w, "") {
			t.Fatal("an empty expected token matched")
		}
	})
}

func TestLangFromAccept(t *testing.T) {
	for in, want := range map[string]string{
		"": "en", "zh-CN,zh;q=0.9,en;q=0.8": "zh-CN", "zh-TW": "zh-CN", "en-GB,en": "en", "fr-FR,zh;q=0.5": "zh-CN", "de": "en",
	} {
		if got := langFromAccept(in); got != want {
			t.Errorf("%q → %q, want %q", in, got, want)
		}
	}
}

// TestNumberRulesSameInWidget: the widget's copy of the number rules
// (assets/static/js/number.js) gives what NormalizeNumber gives, so what
// the agent sees in the dial field is what is dialled.
func TestNumberRulesSameInWidget(t *testing.T) {
	inputs := []string{
		"1002", " +1 (555) 010-2030 ", "＋８６ １３８ ００１３ ８０００", "tel:+1-555-010-2030", "sip:alice@pbx.example.com",
		"1-800-FLOWERS", "alice", "*97", "#31#1002", "+1 (425) 555-0100 x123", "+1 425 555 0100x123",
		"+1 425 555 0100 ext. 123", "+1 425 555 0100 Extension: 45", "tel:+1-425-555-0100;ext=123", "+14255550100,,123",
		"010-6552 9988转123", "010 6552 9988 分机 8", "1-800-FLOWERS x12", "agentx12", "x123", "1-800-FLOWERX12",
		"+1 425 555 0100 x" + strings.Repeat("1", 11), "12+34", "",
	}
	f := browserFixture(t)
	ctx := tab(t)
	do(t, ctx, chromedp.Navigate(f.base+"/"), chromedp.WaitVisible(chromedp.CSS(".dialpad")))
	in, _ := json.Marshal(inputs)
	do(t, ctx, chromedp.Evaluate[chromedp.Void](`(() => {
		const main = document.querySelector('script[type="module"]').src;
		import(new URL('number.js', main)).then((m) => { window.__numbers = `+string(in)+`.map((s) => m.normalize(s)); });
	})()`))
	waitJS(t, ctx, `!!window.__numbers`)
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify(window.__numbers)`))
	if err != nil {
		t.Fatal(err)
	}
	var got []struct {
		Value string `json:"value"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal([]byte(raw), &got); err != nil || len(got) != len(inputs) {
		t.Fatalf("widget results %s: %v", raw, err)
	}
	for i, s := range inputs {
		want, err := NormalizeNumber(s)
		if (err != nil) != (got[i].Error != "") || got[i].Value != want {
			t.Errorf("%q: widget %+v, server %q %v", s, got[i], want, err)
		}
	}
}
