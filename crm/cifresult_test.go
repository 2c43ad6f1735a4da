package crm

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

const (
	g1 = "0f8fad5b-d9cb-469f-a165-70867728950e"
	g2 = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
)

func jstr(s string) json.RawMessage { b, _ := json.Marshal(s); return b }

func TestParseSearch(t *testing.T) {
	keyed := `{"1":{"contactid":"` + g2 + `","fullname":"Li Lei","mobilephone":"13812345678"},"0":{"@odata.etag":"W/\"1\"","contactid":"{` + strings.ToUpper(g1) + `}","fullname":"Zhang San","telephone1":"+86 138-1234-5678","telephone2":null}}`
	for name, raw := range map[string]json.RawMessage{
		"CIF JSON string":  jstr(keyed),
		"parsed object":    json.RawMessage(keyed),
		"double string":    jstr(string(jstr(keyed))),
		"array":            json.RawMessage(`[{"contactid":"` + g1 + `","fullname":"Zhang San","telephone1":"+86 138-1234-5678"},{"contactid":"` + g2 + `","fullname":"Li Lei","mobilephone":"13812345678"}]`),
		"OData value":      json.RawMessage(`{"value":[{"contactid":"` + g1 + `","fullname":"Zhang San","telephone1":"+86 138-1234-5678"},{"contactid":"` + g2 + `","fullname":"Li Lei","mobilephone":"13812345678"}]}`),
		"Xrm entities str": jstr(`{"entities":[{"contactid":"` + g1 + `","fullname":"Zhang San","telephone1":"+86 138-1234-5678"},{"contactid":"` + g2 + `","fullname":"Li Lei","mobilephone":"13812345678"}]}`),
	} {
		recs, err := ParseSearch("contact", raw)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(recs) != 2 || recs[0].ID != g1 || recs[0].Name != "Zhang San" || recs[0].Phones["telephone1"] != "+86 138-1234-5678" ||
			recs[1].ID != g2 || recs[1].Phones["mobilephone"] != "13812345678" || recs[0].Entity != "contact" {
			t.Errorf("%s: got %+v", name, recs)
		}
		if _, ok := recs[0].Phones["telephone2"]; ok {
			t.Errorf("%s: a null column became a phone", name)
		}
	}
	for name, raw := range map[string]json.RawMessage{
		"empty string": jstr(""), "null": json.RawMessage("null"), "empty object": jstr("{}"),
	} {
		if recs, err := ParseSearch("contact", raw); err != nil || len(recs) != 0 {
			t.Errorf("%s: %v, %v", name, recs, err)
		}
	}
	for name, raw := range map[string]json.RawMessage{
		"not JSON":     json.RawMessage(`{"0":`),
		"named keys":   jstr(`{"a":{"contactid":"` + g1 + `"}}`),
		"negative key": jstr(`{"-1":{"contactid":"` + g1 + `"}}`),
		"padded key":   jstr(`{"01":{"contactid":"` + g1 + `"}}`),
		"bad id":       jstr(`{"0":{"contactid":"nope"}}`),
		"item string":  jstr(`{"0":"x"}`),
		"number":       json.RawMessage(`42`),
	} {
		if _, err := ParseSearch("contact", raw); !errors.Is(err, ErrBadResult) {
			t.Errorf("%s: err = %v, want ErrBadResult", name, err)
		}
	}
}

// An array-only reader is what the host double exists to catch: CIF's
// search result, parsed, is an object.
func TestSearchResultIsNotAnArray(t *testing.T) {
	var arr []map[string]any
	keyed := `{"0":{"contactid":"` + g1 + `"}}`
	if err := json.Unmarshal([]byte(keyed), &arr); err == nil {
		t.Fatal("the CIF search shape must not decode as an array")
	}
}

func TestParseCreatedAndRecord(t *testing.T) {
	ref, err := ParseCreated(jstr(`{"entityType":"phonecall","id":"{` + strings.ToUpper(g1) + `}"}`))
	if err != nil || ref.Entity != "phonecall" || ref.ID != g1 {
		t.Errorf("ParseCreated = %+v, %v", ref, err)
	}
	if _, err := ParseCreated(jstr(`{"entityType":"phonecall"}`)); err == nil {
		t.Error("a create result without id was accepted")
	}
	if _, err := ParseCreated(json.RawMessage(`"ok"`)); err == nil {
		t.Error("a plain string was accepted")
	}
	rec, err := ParseRecord(jstr(`{"activityid":"` + g1 + `","statecode":1}`))
	if err != nil || rec["statecode"] != json.Number("1") {
		t.Errorf("ParseRecord = %v, %v", rec, err)
	}
	saved, err := ParseOpenForm(jstr(`{"savedEntityReference":[{"entityType":"incident","id":"` + g2 + `","name":"Case"}]}`))
	if err != nil || len(saved) != 1 || saved[0].ID != g2 {
		t.Errorf("ParseOpenForm = %v, %v", saved, err)
	}
	if saved, err := ParseOpenForm(json.RawMessage("null")); err != nil || saved != nil {
		t.Errorf("ParseOpenForm(null) = %v, %v", saved, err)
	}
}

func TestParseEnvironment(t *testing.T) {
	env, err := ParseEnvironment(jstr(`{"appid":"` + g2 + `","pagetype":"entityrecord","etn":"contact","id":"{` + g2 + `}",` +
		`"clientUrl":"https://org.crm.dynamics.com","orgLcid":2052,"orgUniqueName":"org1","userId":"{` + strings.ToUpper(g1) + `}","userLcid":"1033","username":"Agent One"}`))
	if err != nil {
		t.Fatal(err)
	}
	if env.UserID != g1 || env.Etn != "contact" || env.ID != g2 || env.OrgLCID != 2052 || env.UserLCID != 1033 || env.ClientURL != "https://org.crm.dynamics.com" {
		t.Errorf("ParseEnvironment = %+v", env)
	}
	if _, err := ParseEnvironment(jstr(`{"userId":"x"}`)); err == nil {
		t.Error("a bad userId was accepted")
	}
}

func TestParseClickToAct(t *testing.T) {
	for name, raw := range map[string]json.RawMessage{
		"documented": jstr(`{"value":"138-1234-5678","name":"mobilephone","format":"phone","entityLogicalName":"contact"}`),
		"field":      json.RawMessage(`{"field":{"value":"138-1234-5678","name":"mobilephone","type":"phone"},"AssociatedEntityLogicalName":"contact"}`),
		"value wins": json.RawMessage(`{"value":"138-1234-5678","field":{"value":"999"},"entityLogicalName":"contact","name":"mobilephone"}`),
	} {
		c, err := ParseClickToAct(raw)
		if err != nil || c.Number != "138-1234-5678" || c.Entity != "contact" || c.Field != "mobilephone" {
			t.Errorf("%s: %+v, %v", name, c, err)
		}
	}
	if c, err := ParseClickToAct(jstr(`{"value":"1","entityId":"{` + g1 + `}"}`)); err != nil || c.EntityID != g1 {
		t.Errorf("entityId: %+v, %v", c, err)
	}
	if _, err := ParseClickToAct(jstr(`{"name":"mobilephone"}`)); err == nil {
		t.Error("a click without a number was accepted")
	}
}

func TestParseError(t *testing.T) {
	for name, tc := range map[string]struct {
		raw       json.RawMessage
		msg, code string
	}{
		"CIF JSON string": {jstr(`{"message":"contact With Id = x Does Not Exist","errorCode":2147746327}`), "contact With Id = x Does Not Exist", "2147746327"},
		"Map as object":   {json.RawMessage(`{"message":"No handlers found to process the request."}`), "No handlers found to process the request.", ""},
		"nested":          {jstr(`{"message":"{\"message\":\"inner\",\"code\":\"0x1\"}"}`), "inner", "0x1"},
		"OData error":     {json.RawMessage(`{"error":{"code":"0x80040237","message":"A record with matching key values already exists."}}`), "A record with matching key values already exists.", "0x80040237"},
		"plain string":    {jstr("Timeout occurred as no response was received from listener window"), "Timeout occurred as no response was received from listener window", ""},
		"Error object":    {json.RawMessage(`{"name":"TypeError","message":"x is undefined"}`), "x is undefined", ""},
		"not JSON":        {json.RawMessage(`oops`), "oops", ""},
		"empty":           {nil, "unknown error", ""},
		"empty object":    {json.RawMessage(`{}`), "unknown error: {}", ""},
	} {
		e := ParseError(tc.raw)
		if e.Message != tc.msg || e.Code != tc.code {
			t.Errorf("%s: %+v", name, e)
		}
	}
	long := ParseError(jstr(strings.Repeat("é", 1000)))
	if len(long.Message) > maxErrorText+4 || !strings.HasSuffix(long.Message, "…") {
		t.Errorf("long message not clipped: %d bytes", len(long.Message))
	}
}

func FuzzParseResults(f *testing.F) {
	for _, s := range []string{
		`"{\"0\":{\"contactid\":\"` + g1 + `\",\"fullname\":\"A\",\"telephone1\":\"1\"}}"`,
		`{"0":{"contactid":"` + g1 + `"}}`, `[{"contactid":"` + g1 + `"}]`, `{"value":[]}`,
		`"{\"entityType\":\"phonecall\",\"id\":\"{` + g1 + `}\"}"`, `"{\"message\":\"x\"}"`,
		`{"userId":"{` + g1 + `}"}`, `null`, `""`, `"\"\""`, `{"error":{"message":"m"}}`, `{"field":{"value":"1"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		raw := json.RawMessage(b)
		if recs, err := ParseSearch("contact", raw); err == nil {
			for _, r := range recs {
				if _, err := NormalizeGUID(r.ID); err != nil || r.Entity != "contact" {
					t.Fatalf("ParseSearch accepted a bad record %+v", r)
				}
			}
		} else if !errors.Is(err, ErrBadResult) {
			t.Fatalf("ParseSearch: unclassified error %v", err)
		}
		if _, err := ParseRows(raw); err != nil && !errors.Is(err, ErrBadResult) {
			t.Fatalf("ParseRows: unclassified error %v", err)
		}
		if ref, err := ParseCreated(raw); err == nil {
			if _, err := NormalizeGUID(ref.ID); err != nil {
				t.Fatalf("ParseCreated accepted id %q", ref.ID)
			}
		}
		_, _ = ParseRecord(raw)
		_, _ = ParseOpenForm(raw)
		if env, err := ParseEnvironment(raw); err == nil && strings.ContainsAny(env.UserID, "{}") {
			t.Fatalf("userId kept its braces: %q", env.UserID)
		}
		_, _ = ParseClickToAct(raw)
		e := ParseError(raw)
		if e.Message == "" || len(e.Message) > maxErrorText+4 || len(e.Raw) > maxErrorText+4 {
			t.Fatalf("ParseError(%q) = %+v", b, e)
		}
	})
}
