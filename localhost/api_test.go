package localhost

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"switchboard/app"
)

func TestAPIStatus(t *testing.T) {
	f := newFixture(t)
	f.phone.ring("+8613800138000", "王小明")
	var st Status
	r := f.api("GET", "/api/v1/status", nil)
	r.json(t, &st)
	if r.status != 200 || st.Version != "1.2.3-test" || st.Registration.Account != "1001@pbx.example.com" ||
		len(st.Calls) != 1 || st.Calls[0].Name != "王小明" || len(st.Devices) != 3 || st.CRMOrigins[0] != testCRM {
		t.Fatalf("status = %d %+v", r.status, st)
	}
}

func TestAPICalls(t *testing.T) {
	f := newFixture(t)
	// Dial: the number is normalised before it reaches the phone.
	r := f.api("POST", "/api/v1/calls", map[string]string{"number": " +1 (555) 010-2030 "})
	var call app.Call
	r.json(t, &call)
	if r.status != 201 || call.Number != "+15550102030" || call.State != app.CallDialing || r.header.Get("Location") != "/api/v1/calls/"+call.ID {
		t.Fatalf("dial: %d %s %v", r.status, r.body, r.header)
	}
	for _, tt := range []struct {
		number, field string
	}{{"", "number"}, {"12+3", "number"}, {"1002<script>", "number"}, {strings.Repeat("1", 65), "number"}, {"a@b@c", "number"}} {
		r := f.api("POST", "/api/v1/calls", map[string]string{"number": tt.number})
		if r.status != 422 || r.errCode(t) != "invalid_field" || !strings.Contains(string(r.body), `"field":"number"`) {
			t.Errorf("dial %q: %d %s", tt.number, r.status, r.body)
		}
	}
	var list struct{ Calls []app.Call }
	f.api("GET", "/api/v1/calls", nil).json(t, &list)
	if len(list.Calls) != 1 {
		t.Fatalf("calls = %+v", list)
	}

	f.phone.answerRemote(call.ID)
	in := f.phone.ring("1003", "Bob")
	steps := []struct {
		method, path string
		body         any
		status       int
		code         string
	}{
		{"POST", "/api/v1/calls/" + call.ID + "/hold", nil, 204, ""},
		{"POST", "/api/v1/calls/" + call.ID + "/hold", nil, 409, "invalid_state"},
		{"POST", "/api/v1/calls/" + call.ID + "/mute", map[string]any{"on": true}, 204, ""},
		{"POST", "/api/v1/calls/" + call.ID + "/mute", map[string]any{}, 422, "invalid_field"},
		{"POST", "/api/v1/calls/" + call.ID + "/resume", nil, 204, ""},
		{"POST", "/api/v1/calls/" + call.ID + "/dtmf", map[string]any{"digits": "12#*ab"}, 204, ""},
		{"POST", "/api/v1/calls/" + call.ID + "/dtmf", map[string]any{"digits": "12x"}, 422, "invalid_field"},
		{"POST", "/api/v1/calls/" + call.ID + "/dtmf", map[string]any{"digits": ""}, 422, "invalid_field"},
		{"POST", "/api/v1/calls/" + in.ID + "/answer", nil, 204, ""},
		{"POST", "/api/v1/calls/" + in.ID + "/answer", map[string]any{}, 409, "invalid_state"},
		{"POST", "/api/v1/calls/" + in.ID + "/hangup", nil, 204, ""},
		{"POST", "/api/v1/calls/" + call.ID + "/hangup", nil, 204, ""},
		{"POST", "/api/v1/calls/" + call.ID + "/hangup", nil, 404, "call_not_found"},
		{"POST", "/api/v1/calls/nope/decline", nil, 404, "call_not_found"},
		{"POST", "/api/v1/calls/" + url.PathEscape("a b") + "/answer", nil, 404, "call_not_found"},
		{"POST", "/api/v1/calls/c1/transfer", nil, 404, "not_found"},
	}
	for _, s := range steps {
		r := f.api(s.method, s.path, s.body)
		if r.status != s.status || (s.code != "" && r.errCode(t) != s.code) {
			t.Errorf("%s %s %v: %d %s, want %d %s", s.method, s.path, s.body, r.status, r.body, s.status, s.code)
		}
	}
	if fmt.Sprint(f.phone.dtmf) != "[12#*AB]" {
		t.Errorf("dtmf = %v", f.phone.dtmf)
	}
	if len(f.phone.history) != 2 {
		t.Errorf("history = %+v", f.phone.history)
	}
}

func TestAPIPhoneErrors(t *testing.T) {
	f := newFixture(t)
	f.phone.setReg(app.Registration{State: app.RegFailed, Error: "401 Unauthorized"})
	r := f.api("POST", "/api/v1/calls", map[string]string{"number": "1002"})
	if r.status != 503 || r.errCode(t) != "not_registered" {
		t.Errorf("not registered: %d %s", r.status, r.body)
	}
	f.phone.setReg(app.Registration{State: app.RegRegistered})
	f.phone.dialErr = &FieldError{Field: "number", Message: "the PBX does not know this number"}
	if r := f.api("POST", "/api/v1/calls", map[string]string{"number": "1002"}); r.status != 422 || !strings.Contains(string(r.body), "PBX does not know") {
		t.Errorf("field error: %d %s", r.status, r.body)
	}
	f.phone.dialErr = errors.New("the PBX went away; check the network")
	if r := f.api("POST", "/api/v1/calls", map[string]string{"number": "1002"}); r.status != 500 || r.errCode(t) != "phone_error" || !strings.Contains(string(r.body), "check the network") {
		t.Errorf("other error: %d %s", r.status, r.body)
	}
}

func TestAPIHistory(t *testing.T) {
	f := newFixture(t)
	base := time.Date(2026, 3, 2, 9, 0, 0, 0, time.Local)
	for i := range 75 {
		dir, disp := "outbound", "answered"
		if i%3 == 0 {
			dir, disp = "inbound", "missed"
		}
		f.phone.addHistory(HistoryRecord{ID: fmt.Sprintf("h%d", i), Direction: dir, Disposition: disp,
			Number: fmt.Sprintf("100%02d", i), Name: fmt.Sprintf("Caller %d", i), Start: base.Add(time.Duration(i) * time.Hour)})
	}
	var p HistoryPage
	r := f.api("GET", "/api/v1/history", nil)
	r.json(t, &p)
	if r.status != 200 || p.Total != 75 || len(p.Calls) != defaultHistoryLimit || p.Calls[0].ID != "h74" {
		t.Fatalf("default page: %d total=%d len=%d", r.status, p.Total, len(p.Calls))
	}
	r = f.api("GET", "/api/v1/history?limit=10&offset=70", nil)
	r.json(t, &p)
	if p.Total != 75 || len(p.Calls) != 5 || p.Calls[0].ID != "h4" {
		t.Fatalf("last page: %+v", p)
	}
	r = f.api("GET", "/api/v1/history?direction=inbound&disposition=missed&q=Caller+3", nil)
	r.json(t, &p)
	if q := f.phone.lastQ; q.Search != "Caller 3" || q.Direction != "inbound" || q.Disposition != "missed" {
		t.Fatalf("query = %+v", q)
	}
	for _, c := range p.Calls {
		if c.Direction != "inbound" || !strings.Contains(c.Name, "Caller 3") {
			t.Errorf("filter let through %+v", c)
		}
	}
	// A date means whole local days.
	f.api("GET", "/api/v1/history?from=2026-03-03&to=2026-03-03", nil).json(t, &p)
	if q := f.phone.lastQ; !q.From.Equal(time.Date(2026, 3, 3, 0, 0, 0, 0, time.Local)) || !q.To.Equal(time.Date(2026, 3, 4, 0, 0, 0, 0, time.Local)) || p.Total != 24 {
		t.Errorf("date range: %+v total %d", q, p.Total)
	}
	f.api("GET", "/api/v1/history?from="+url.QueryEscape("2026-03-02T10:00:00Z"), nil)
	if q := f.phone.lastQ; !q.From.Equal(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("rfc3339: %+v", q)
	}
	for _, bad := range []struct{ qs, field string }{
		{"direction=sideways", "direction"}, {"disposition=happy", "disposition"}, {"limit=0", "limit"},
		{"limit=501", "limit"}, {"offset=-1", "offset"}, {"limit=x", "limit"}, {"from=yesterday", "from"},
		{"from=2026-03-05&to=2026-03-01", "to"}, {"sort=asc", "sort"}, {"q=a&q=b", "q"},
		{"q=" + strings.Repeat("x", 201), "q"},
	} {
		r := f.api("GET", "/api/v1/history?"+bad.qs, nil)
		if r.status != 422 || !strings.Contains(string(r.body), `"field":"`+bad.field+`"`) {
			t.Errorf("%s: %d %s", bad.qs, r.status, r.body)
		}
	}
}

func TestAPISettingsAndAudio(t *testing.T) {
	f := newFixture(t)
	w := f.widget()
	w.next("state")
	var st Settings
	r := f.api("PATCH", "/api/v1/settings", map[string]any{"autoAnswer": true, "language": "zh-CN"})
	r.json(t, &st)
	if r.status != 200 || !st.AutoAnswer || st.Language != "zh-CN" {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}
	// Every widget hears about it.
	if m := w.next("settings"); m["settings"].(map[string]any)["language"] != "zh-CN" {
		t.Errorf("settings event = %v", m)
	}
	f.api("GET", "/api/v1/settings", nil).json(t, &st)
	if !st.AutoAnswer {
		t.Errorf("get after patch: %+v", st)
	}
	for _, bad := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"language": "fr"}, "language"},
		{map[string]any{"mic": "Built-in Speakers"}, "mic"},
		{map[string]any{"speaker": "Built-in Microphone"}, "speaker"},
		{map[string]any{"ringer": "Nope"}, "ringer"},
	} {
		r := f.api("PATCH", "/api/v1/settings", bad.body)
		if r.status != 422 || !strings.Contains(string(r.body), `"field":"`+bad.field+`"`) {
			t.Errorf("%v: %d %s", bad.body, r.status, r.body)
		}
	}
	// Devices and selection.
	var devs devicesResponse
	f.api("GET", "/api/v1/audio/devices", nil).json(t, &devs)
	if len(devs.Devices) != 3 || devs.Selected.Mic != "" {
		t.Fatalf("devices = %+v", devs)
	}
	r = f.api("PUT", "/api/v1/audio/selection", map[string]any{"mic": "Jabra Evolve2 65", "speaker": "Jabra Evolve2 65", "ringer": "Built-in Speakers"})
	if r.status != 200 || !strings.Contains(string(r.body), `"ringer":"Built-in Speakers"`) {
		t.Fatalf("select: %d %s", r.status, r.body)
	}
	f.api("GET", "/api/v1/audio/devices", nil).json(t, &devs)
	if devs.Selected.Mic != "Jabra Evolve2 65" || devs.Selected.Ringer != "Built-in Speakers" {
		t.Errorf("after select: %+v", devs.Selected)
	}
	if r := f.api("PUT", "/api/v1/audio/selection", map[string]any{}); r.status != 422 {
		t.Errorf("empty selection: %d", r.status)
	}
	// Back to the system default.
	if r := f.api("PUT", "/api/v1/audio/selection", map[string]any{"mic": ""}); r.status != 200 {
		t.Errorf("default: %d %s", r.status, r.body)
	}
	for _, role := range []string{"speaker", "ringer"} {
		if r := f.api("POST", "/api/v1/audio/test-tone", map[string]any{"role": role}); r.status != 204 {
			t.Errorf("tone %s: %d", role, r.status)
		}
	}
	if r := f.api("POST", "/api/v1/audio/test-tone", map[string]any{"role": "mic"}); r.status != 422 {
		t.Errorf("tone mic: %d", r.status)
	}
	if fmt.Sprint(f.phone.tones) != "[speaker ringer]" {
		t.Errorf("tones = %v", f.phone.tones)
	}
}

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	f := newFixture(t)
	r := f.do("GET", "/api/v1/openapi.yaml", nil, nil)
	if r.status != 200 || !strings.HasPrefix(string(r.body), "openapi: 3") {
		t.Fatalf("openapi: %d", r.status)
	}
	doc := string(r.body)
	for _, rt := range apiRoutes {
		if !strings.Contains(doc, "\n  "+strings.Replace(rt.path, "c1", "{id}", 1)+":\n") {
			t.Errorf("%s is not documented", rt.path)
		}
		method := "\n    " + strings.ToLower(rt.method) + ":"
		i := strings.Index(doc, "\n  "+strings.Replace(rt.path, "c1", "{id}", 1)+":\n")
		if i < 0 {
			continue
		}
		section := doc[i+1:]
		if j := strings.Index(section[3:], "\n  /"); j > 0 {
			section = section[:j+3]
		}
		if !strings.Contains(section, method) {
			t.Errorf("%s %s is not documented", rt.method, rt.path)
		}
	}
}
