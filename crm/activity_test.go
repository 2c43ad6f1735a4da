package crm

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"switchboard/app"
	"switchboard/crm/cifhost"
)

func decode(t *testing.T, b json.RawMessage) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestQualitySummaryAndDuration(t *testing.T) {
	if got := QualitySummary(&app.Quality{LossPct: 0.4, JitterMs: 12.3, MOS: 4.21}); got != "Quality: loss 0.4 %, jitter 12 ms, MOS 4.2" {
		t.Errorf("QualitySummary = %q", got)
	}
	if QualitySummary(nil) != "" {
		t.Error("no quality, no line")
	}
	// In the organisation's language, and recognised again when recalled.
	q := &app.Quality{LossPct: 0.4, JitterMs: 12.3, MOS: 4.21}
	for lcid, want := range map[int]string{
		2052: "通话质量：丢包 0.4 %，抖动 12 ms，MOS 4.2",
		3076: "通話品質：封包遺失 0.4 %，抖動 12 ms，MOS 4.2",
		1031: "Quality: loss 0.4 %, jitter 12 ms, MOS 4.2",
	} {
		got := QualitySummaryIn(lcid, q)
		if got != want {
			t.Errorf("QualitySummaryIn(%d) = %q, want %q", lcid, got, want)
		}
		p := PhoneCall{Description: "Wants a quote", Quality: q, LCID: lcid}
		if d := p.FullDescription(); d != "Wants a quote\n\n"+want || stripQuality(d) != "Wants a quote" {
			t.Errorf("description in %d: %q", lcid, d)
		}
	}
	t0 := time.Date(2025, 5, 8, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		d    time.Duration
		want int
	}{{0, 0}, {time.Second, 1}, {59 * time.Second, 1}, {60 * time.Second, 1}, {61 * time.Second, 2}, {10 * time.Minute, 10}} {
		if got := DurationMinutes(t0, t0.Add(tc.d)); got != tc.want {
			t.Errorf("DurationMinutes(%v) = %d, want %d", tc.d, got, tc.want)
		}
	}
	if DurationMinutes(time.Time{}, t0) != 0 {
		t.Error("an unanswered call lasts 0 minutes")
	}
}

func TestPhonecallBodies(t *testing.T) {
	t0 := time.Date(2025, 5, 8, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))
	agent, contact, opp := StableID("u"), StableID("c"), StableID("o")
	p := PhoneCall{
		ID: StableID("phonecall", "call-1"), Direction: app.Inbound, Number: "+86 138 1234 5678",
		Description: "Asked about the upgrade.", Start: t0, End: t0.Add(90 * time.Second), Answered: true,
		Quality: &app.Quality{LossPct: 0.4, JitterMs: 12, MOS: 4.2}, Agent: agent,
		Party: &Ref{Entity: "contact", ID: contact, Name: "Zhang San"}, Regarding: &Ref{Entity: "opportunity", ID: opp},
	}
	b, err := p.CreateBody()
	if err != nil {
		t.Fatal(err)
	}
	m := decode(t, b)
	want := map[string]any{
		"activityid": p.ID, "subject": "Call from Zhang San (+86 138 1234 5678)", "phonenumber": "+86 138 1234 5678",
		"directioncode": false, "actualstart": "2025-05-08T02:00:00Z", "actualend": "2025-05-08T02:01:30Z",
		"actualdurationminutes": 2.0, "description": "Asked about the upgrade.\n\nQuality: loss 0.4 %, jitter 12 ms, MOS 4.2",
		"regardingobjectid_opportunity@odata.bind": "/opportunities(" + opp + ")",
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %#v, want %#v", k, m[k], v)
		}
	}
	if _, ok := m["statecode"]; ok {
		t.Error("statecode is not valid on create")
	}
	ps := m["phonecall_activity_parties"].([]any)
	if len(ps) != 2 {
		t.Fatalf("parties = %v", ps)
	}
	// Inbound: the caller is From (1), the agent To (2).
	got := map[string]float64{}
	for _, x := range ps {
		pm := x.(map[string]any)
		for k, v := range pm {
			if strings.HasSuffix(k, "@odata.bind") {
				got[k+"="+v.(string)] = pm["participationtypemask"].(float64)
			}
		}
	}
	if got["partyid_contact@odata.bind=/contacts("+contact+")"] != 1 || got["partyid_systemuser@odata.bind=/systemusers("+agent+")"] != 2 {
		t.Errorf("inbound parties = %v", got)
	}
	p.Direction = app.Outbound
	m = decode(t, must(p.CreateBody()))
	for _, x := range m["phonecall_activity_parties"].([]any) {
		pm := x.(map[string]any)
		if _, ok := pm["partyid_systemuser@odata.bind"]; ok != (pm["participationtypemask"].(float64) == 1) {
			t.Errorf("outbound: the agent must be From: %v", pm)
		}
	}
	if m["directioncode"] != true {
		t.Error("outbound is directioncode true")
	}
	// Without an opportunity the call is regarding the record.
	p.Regarding = nil
	m = decode(t, must(p.UpdateBody(false)))
	if m["regardingobjectid_contact@odata.bind"] != "/contacts("+contact+")" || m["phonecall_activity_parties"] != nil || m["activityid"] != nil {
		t.Errorf("update body = %v", m)
	}
	if string(StateBody(app.Inbound, false)) != `{"statecode":1,"statuscode":4}` || string(StateBody(app.Outbound, false)) != `{"statecode":1,"statuscode":2}` {
		t.Error("completion: 4 received for inbound, 2 made for outbound")
	}
	// Limits: a huge description keeps the quality line and fits.
	p.Description = strings.Repeat("长", 3000)
	d := p.FullDescription()
	if utf16Len(d) > maxDescription || !strings.HasSuffix(d, "MOS 4.2") {
		t.Errorf("description of %d units", utf16Len(d))
	}
}

func must(b json.RawMessage, err error) json.RawMessage {
	if err != nil {
		panic(err)
	}
	return b
}

// The payloads are accepted by the double, which checks every field
// name, type and binding the way Dataverse does.
func TestBodiesAcceptedByDataverse(t *testing.T) {
	dv := cifhost.NewDataverse(cifhost.DataverseOptions{})
	n, _ := Normalize("13812345678", cn)
	for _, ent := range []string{"contact", "account", "lead"} {
		id := StableID("record", ent)
		body, err := NewRecordBody(ent, id, n)
		if err != nil {
			t.Fatal(err)
		}
		m, _ := cifhost.DecodeBody(body)
		got, e := dv.Create(ent, m)
		if e != nil || got != id {
			t.Fatalf("create %s: %v, %v", ent, got, e)
		}
		rec, _ := dv.Record(ent, id)
		name := rec["fullname"]
		if ent == "account" {
			name = rec["name"]
		}
		if name != "Automatic New Contact +8613812345678" {
			t.Errorf("%s name = %v", ent, name)
		}
		if ent != "account" && rec["mobilephone"] != "+8613812345678" {
			t.Errorf("%s mobile = %v", ent, rec["mobilephone"])
		}
	}
	opp, _ := dv.Create("opportunity", map[string]any{"name": "PBX upgrade"})
	t0 := time.Now()
	p := PhoneCall{ID: StableID("phonecall", "x"), Direction: app.Outbound, Number: "13812345678", Start: t0, End: t0.Add(time.Minute), Answered: true,
		Agent: dv.UserID(), Party: &Ref{Entity: "lead", ID: StableID("record", "lead")}, Regarding: &Ref{Entity: "opportunity", ID: opp}}
	m, _ := cifhost.DecodeBody(must(p.CreateBody()))
	if _, e := dv.Create("phonecall", m); e != nil {
		t.Fatal(e)
	}
	m, _ = cifhost.DecodeBody(must(p.UpdateBody(true)))
	if e := dv.Update("phonecall", p.ID, m); e != nil {
		t.Fatal(e)
	}
	m, _ = cifhost.DecodeBody(StateBody(p.Direction, false))
	if e := dv.Update("phonecall", p.ID, m); e != nil {
		t.Fatal(e)
	}
	rec, _ := dv.Record("phonecall", p.ID)
	if rec["statecode"] != int64(1) || rec["statuscode"] != int64(2) || rec["_regardingobjectid_value"] != opp {
		t.Errorf("phonecall = %v", rec)
	}
	// A closed activity cannot be edited until reopened.
	m, _ = cifhost.DecodeBody(must(p.UpdateBody(false)))
	if e := dv.Update("phonecall", p.ID, m); e == nil {
		t.Error("the double let a completed phonecall be edited")
	}
	// Notes: under the limit the file is attached, over it the note says so.
	small := []byte("RIFF....WAVEfmt ")
	body, attached, err := NoteBody(StableID("n1"), p.ID, Recording{Name: "call.wav", MIME: "audio/wav"}, small, 0, 1024)
	if err != nil || !attached {
		t.Fatal(err)
	}
	m, _ = cifhost.DecodeBody(body)
	if _, e := dv.Create("annotation", m); e != nil {
		t.Fatal(e)
	}
	note, _ := dv.Record("annotation", StableID("n1"))
	if note["documentbody"] != base64.StdEncoding.EncodeToString(small) || note["_objectid_value"] != p.ID || note["isdocument"] != true {
		t.Errorf("note = %v", note)
	}
	big := make([]byte, 2000)
	body, attached, _ = NoteBody(StableID("n2"), p.ID, Recording{Name: "long.wav"}, big, 0, 1024)
	m, _ = cifhost.DecodeBody(body)
	if attached || m["documentbody"] != nil || !strings.Contains(m["notetext"].(string), "larger than") {
		t.Errorf("oversized note = %v", m)
	}
	if _, e := dv.Create("annotation", m); e != nil {
		t.Fatal(e)
	}
	body, _, _ = NoteBody(StableID("n3"), p.ID, Recording{Name: "gone.wav"}, nil, -1, 1024)
	if m := decode(t, body); !strings.Contains(m["notetext"].(string), "no longer") {
		t.Errorf("missing file note = %v", m)
	}
}

func TestStableID(t *testing.T) {
	a, b := StableID("phonecall", "c1"), StableID("phonecall", "c1")
	if a != b || a == StableID("phonecall", "c2") || a == StableID("phonecallc", "1") {
		t.Error("StableID must be a function of its parts")
	}
	if g, err := NormalizeGUID(a); err != nil || g != a || a[14] != '5' {
		t.Errorf("StableID = %q (%v)", a, err)
	}
}
