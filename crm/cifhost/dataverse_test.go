package cifhost

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func body(t *testing.T, s string) map[string]any {
	t.Helper()
	m, e := DecodeBody([]byte(s))
	if e != nil {
		t.Fatal(e)
	}
	return m
}

func TestDataverseValidates(t *testing.T) {
	d := NewDataverse(DataverseOptions{})
	LoadSample(d)
	zhang := SampleID("contact", "zhang")
	for name, tc := range map[string]struct {
		entity, body, code string
	}{
		"unknown column":     {"contact", `{"lastname":"a","mobilePhone":"1"}`, codeBadProperty},
		"unknown bind":       {"phonecall", `{"subject":"a","regardingobjectid_incident@odata.bind":"/incidents(` + zhang + `)"}`, codeBadProperty},
		"bind wrong set":     {"phonecall", `{"subject":"a","regardingobjectid_contact@odata.bind":"/accounts(` + zhang + `)"}`, codeBadProperty},
		"bind missing":       {"phonecall", `{"subject":"a","regardingobjectid_contact@odata.bind":"/contacts(` + NewGUID() + `)"}`, codeNotFound},
		"too long":           {"contact", `{"lastname":"` + strings.Repeat("x", 51) + `"}`, codeTooLong},
		"wrong type":         {"phonecall", `{"subject":"a","directioncode":"true"}`, codeBadProperty},
		"int type":           {"phonecall", `{"subject":"a","actualdurationminutes":1.5}`, codeBadProperty},
		"date":               {"phonecall", `{"subject":"a","actualstart":"yesterday"}`, codeBadProperty},
		"state on create":    {"phonecall", `{"subject":"a","statecode":1}`, codeBadState},
		"read-only":          {"contact", `{"fullname":"x"}`, codeBadProperty},
		"duplicate key":      {"contact", `{"contactid":"` + zhang + `","lastname":"again"}`, codeDuplicate},
		"bad party mask":     {"phonecall", `{"subject":"a","phonecall_activity_parties":[{"participationtypemask":12,"partyid_contact@odata.bind":"/contacts(` + zhang + `)"}]}`, codeBadProperty},
		"party without who":  {"phonecall", `{"subject":"a","phonecall_activity_parties":[{"participationtypemask":1}]}`, codeBadProperty},
		"party unknown kind": {"phonecall", `{"subject":"a","phonecall_activity_parties":[{"participationtypemask":1,"partyid_incident@odata.bind":"/contacts(` + zhang + `)"}]}`, codeBadProperty},
		"not base64":         {"annotation", `{"subject":"a","documentbody":"%%%"}`, codeBadProperty},
	} {
		_, e := d.Create(tc.entity, body(t, tc.body))
		if e == nil || e.Code != tc.code {
			t.Errorf("%s: %v, want code %s", name, e, tc.code)
		}
	}
	if _, e := d.Create("systemuser", body(t, `{"fullname":"x"}`)); e == nil {
		t.Error("systemusers are read-only")
	}
	small := NewDataverse(DataverseOptions{MaxAttachment: 8})
	if _, e := small.Create("annotation", body(t, `{"documentbody":"QUJDREVGR0hJSg=="}`)); e == nil || e.Code != codeAttachment {
		t.Errorf("oversized attachment: %v", e)
	}
}

func TestDataverseStates(t *testing.T) {
	d := NewDataverse(DataverseOptions{})
	id, e := d.Create("phonecall", body(t, `{"subject":"s","directioncode":false}`))
	if e != nil {
		t.Fatal(e)
	}
	steps := []struct {
		body string
		ok   bool
	}{
		{`{"statecode":1,"statuscode":1}`, false}, // Open status on a completed state
		{`{"statecode":1,"statuscode":4}`, true},
		{`{"description":"late"}`, false}, // closed activities are read-only
		{`{"statecode":0,"statuscode":1}`, true},
		{`{"description":"late"}`, true},
		{`{"statecode":1}`, true}, // default status: Made
		{`{"statecode":2,"statuscode":3}`, true},
	}
	for i, s := range steps {
		if e := d.Update("phonecall", id, body(t, s.body)); (e == nil) != s.ok {
			t.Errorf("step %d %s: %v", i, s.body, e)
		}
	}
	r, _ := d.Record("phonecall", id)
	if r["statecode"] != int64(2) || r["statuscode"] != int64(3) || r["description"] != "late" {
		t.Errorf("record = %v", r)
	}
	if e := d.Update("phonecall", NewGUID(), body(t, `{"subject":"x"}`)); e == nil || e.Code != codeNotFound {
		t.Errorf("update of a missing record: %v", e)
	}
}

func TestQuery(t *testing.T) {
	d := NewDataverse(DataverseOptions{})
	LoadSample(d)
	for _, tc := range []struct {
		q    string
		want []string // fullnames, in order
		err  bool
	}{
		{"$select=fullname&$filter=contains(mobilephone,'1111')", []string{"Wang Fang"}, false},
		{"$select=fullname&$filter=contains(telephone2,'1111') or contains(mobilephone,'1111')", []string{"Wang Fang", "Chen Jie"}, false},
		{"$select=fullname&$filter=endswith(mobilephone,'5678') and not contains(fullname,'li')", []string{"Zhang San"}, false},
		{"$select=fullname&$filter=(startswith(fullname,'ZH'))", []string{"Zhang San"}, false},
		{"$select=fullname&$filter=contains(mobilephone,'12_34')", []string{"Marie Dupont"}, false},
		{"$select=fullname&$filter=contains(fullname,'[wc]')", []string{"Wang Fang", "Chen Jie"}, false},
		{"$select=fullname&$filter=contains(fullname,'%25')", []string{"Zhang San", "Li Lei", "Wang Fang", "Chen Jie", "Marie Dupont"}, false},
		{"$select=fullname&$filter=mobilephone eq null", []string{"Chen Jie"}, false},
		{"$select=fullname&$filter=contactid eq " + SampleID("contact", "li"), []string{"Li Lei"}, false},
		{"$select=fullname&$orderby=fullname desc&$top=2", []string{"Zhang San", "Wang Fang"}, false},
		{"$select=fullname&$filter=contains(mobilephone,'+86')", nil, false}, // + is a space
		{"$select=nosuch", nil, true},
		{"$filter=contains(nosuch,'1')", nil, true},
		{"$filter=contains(fullname,1)", nil, true},
		{"$filter=fullname eq 'unterminated", nil, true},
		{"$filter=Microsoft.Dynamics.CRM.Contains(fullname,'x')", nil, true},
		{"$top=5001", nil, true},
		{"$expand=parentcustomerid_account", nil, true},
		{"$filter=" + strings.Repeat("(", 100) + "fullname eq 'x'" + strings.Repeat(")", 100), nil, true},
	} {
		rows, e := d.Query("contact", tc.q)
		if (e != nil) != tc.err {
			t.Errorf("%s: err %v", tc.q, e)
			continue
		}
		var got []string
		for _, r := range rows {
			got = append(got, r["fullname"].(string))
			if _, ok := r["telephone1"]; ok && strings.Contains(tc.q, "$select=fullname") {
				t.Errorf("%s: column outside $select returned", tc.q)
			}
		}
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%s: got %q, want %q", tc.q, got, tc.want)
		}
	}
}

func TestLike(t *testing.T) {
	for _, tc := range []struct {
		s, p string
		want bool
	}{
		{"138-1234-5678", "%5678%", true}, {"abc", "a_c", true}, {"abc", "a[a-c]c", true}, {"abc", "a[^b]c", false},
		{"ABC", "abc", true}, {"a[b", "a[b", true}, {"", "%", true}, {"x", "", false},
		{strings.Repeat("a", 200), strings.Repeat("%a", 60) + "b", false},
	} {
		if got := like(tc.s, tc.p); got != tc.want {
			t.Errorf("like(%q, %q) = %v", tc.s, tc.p, got)
		}
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"contains(telephone1,'5678') or contains(mobilephone,'56 78')", "not (a eq 1) and b ne 'x''y'",
		"activityid eq 0f8fad5b-d9cb-469f-a165-70867728950e", "a eq null", "((((", "'", "contains(a,", "a eq -1.5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseFilter(s)
		if err != nil {
			return
		}
		// Evaluation never panics, and the printed form parses again.
		Match(e, map[string]any{"a": "x", "b": int64(1), "c": true, "d": nil})
		if _, err := ParseFilter(e.String()); err != nil && !strings.Contains(err.Error(), "nests deeper") {
			t.Fatalf("%q printed as %q which does not parse: %v", s, e.String(), err)
		}
	})
}

func TestWebAPI(t *testing.T) {
	cert, err := NewTestCert("crm.test", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Options{TLS: cert.TLS, Hostname: "crm.test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	LoadSample(h.Dataverse())
	cl := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: cert.TLS.Clone(),
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, h.Addr())
		},
	}}
	cl.Transport.(*http.Transport).TLSClientConfig.RootCAs = cert.Pool
	cl.Transport.(*http.Transport).TLSClientConfig.Certificates = nil
	do := func(method, path, b string) (*http.Response, []byte) {
		req, _ := http.NewRequest(method, "https://crm.test"+path, strings.NewReader(b))
		if b != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp, out
	}
	resp, b := do("GET", "/api/data/v9.2/contacts?$select=fullname&$filter=contains(mobilephone,'5678')", "")
	if resp.StatusCode != 200 || !bytes.Contains(b, []byte(`"fullname":"Zhang San"`)) || !bytes.Contains(b, []byte(`"value":[`)) {
		t.Fatalf("query: %d %s", resp.StatusCode, b)
	}
	resp, b = do("POST", "/api/data/v9.2/phonecalls", `{"subject":"Hello","regardingobjectid_contact_phonecall@odata.bind":"/contacts(`+SampleID("contact", "zhang")+`)"}`)
	loc := resp.Header.Get("OData-EntityId")
	if resp.StatusCode != 204 || !strings.HasPrefix(loc, "https://crm.test/api/data/v9.2/phonecalls(") {
		t.Fatalf("create: %d %s %s", resp.StatusCode, loc, b)
	}
	id := loc[strings.IndexByte(loc, '(')+1 : len(loc)-1]
	resp, b = do("GET", "/api/data/v9.2/phonecalls("+id+")?$select=subject,_regardingobjectid_value", "")
	var rec map[string]any
	_ = json.Unmarshal(b, &rec)
	if resp.StatusCode != 200 || rec["subject"] != "Hello" || rec["_regardingobjectid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] != "contact" {
		t.Fatalf("retrieve: %d %s", resp.StatusCode, b)
	}
	resp, b = do("PATCH", "/api/data/v9.2/phonecalls("+id+")", `{"subjet":"typo"}`)
	if resp.StatusCode != 400 || !bytes.Contains(b, []byte(`"code":"0x80060888"`)) {
		t.Fatalf("bad patch: %d %s", resp.StatusCode, b)
	}
	// A lost answer: the write happens, the client sees a failure.
	h.Dataverse().Inject(Fault{Op: "update", Entity: "phonecall", AfterApply: true})
	resp, _ = do("PATCH", "/api/data/v9.2/phonecalls("+id+")", `{"subject":"Applied"}`)
	if r, _ := h.Dataverse().Record("phonecall", id); resp.StatusCode != 503 || r["subject"] != "Applied" {
		t.Errorf("after-apply fault: %d %v", resp.StatusCode, r["subject"])
	}
	// Inspection endpoints.
	resp, _ = do("POST", "/_cif/faults", `{"op":"query","status":500,"message":"boom"}`)
	if resp.StatusCode != 204 {
		t.Fatal(resp.StatusCode)
	}
	if resp, b = do("GET", "/api/data/v9.2/accounts", ""); resp.StatusCode != 500 || !bytes.Contains(b, []byte("boom")) {
		t.Errorf("injected failure: %d %s", resp.StatusCode, b)
	}
	if _, b = do("GET", "/_cif/records?entity=phonecall", ""); !bytes.Contains(b, []byte(`"Applied"`)) {
		t.Errorf("records: %s", b)
	}
	if resp, _ = do("GET", "/webresources/Widget/msdyn_ciLibrary.js", ""); resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") {
		t.Errorf("library: %d", resp.StatusCode)
	}
}
