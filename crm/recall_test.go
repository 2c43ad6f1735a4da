package crm_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"switchboard/app"
	"switchboard/crm"
	"switchboard/crm/cifhost"
)

// E1: after a restart the engine has forgotten every call; the agent
// acts on them from the call log. Editing an activity keeps what Dynamics
// has; an unknown number is added as a contact.
func TestRecallFromCallLog(t *testing.T) {
	o := lastingRig(t)
	r := newRig(t, noPage, o)
	c := r.newCall(app.Inbound, "13812345678")
	c.wait("the search", func(ci crm.CallInfo) bool { return ci.Matched })
	c.answer()
	opps, err := r.eng.SearchOpportunities(t.Context(), "infra")
	if err != nil || len(opps) != 1 {
		t.Fatalf("opportunities: %v, %v", opps, err)
	}
	subj, notes := "Upgrade question", "Promised a callback."
	if err := r.eng.SaveActivity(t.Context(), c.c.ID, crm.ActivityEdit{Subject: &subj, Description: &notes, Regarding: &opps[0]}); err != nil {
		t.Fatal(err)
	}
	c.end()
	r.settle()
	r.close()

	r2 := newRig(t, noPage, o) // the app started again on the same data
	if _, ok := r2.eng.Info(c.c.ID); ok {
		t.Fatal("a new engine knows the old call")
	}
	ci, err := r2.eng.Recall(t.Context(), c.c)
	if err != nil {
		t.Fatal(err)
	}
	a := ci.Activity
	if !ci.Matched || len(ci.Matches) != 1 || ci.Matches[0].Name != "Zhang San" || a == nil ||
		a.Subject != subj || a.Description != notes || !a.Completed || a.Regarding == nil || a.Regarding.ID != opps[0].ID {
		t.Fatalf("recalled: %+v activity %+v", ci, a)
	}
	if n := len(opened(r2)); n != 0 {
		t.Errorf("recalling popped %d records", n)
	}
	// The agent opens the page from the log, adds to the notes, closes.
	if err := r2.eng.ActivityPage(c.c.ID, true); err != nil {
		t.Fatal(err)
	}
	more := notes + " Called back: done."
	if err := r2.eng.SaveActivity(t.Context(), c.c.ID, crm.ActivityEdit{Description: &more}); err != nil {
		t.Fatal(err)
	}
	if err := r2.eng.ActivityPage(c.c.ID, false); err != nil {
		t.Fatal(err)
	}
	r2.settle()
	pc := c.phonecall()
	if pc["subject"] != subj || pc["description"] != more+"\n\nQuality: loss 0.4 %, jitter 12 ms, MOS 4.2" ||
		pc["_regardingobjectid_value"] != opps[0].ID || pc["statecode"] != int64(1) {
		t.Fatalf("after the edit from the log: %v", pc)
	}
	if n := len(o.dv.Records("phonecall")); n != 1 {
		t.Errorf("%d phonecalls, want 1", n)
	}

	// A missed call from an unknown number: added as a contact from the
	// log, and its form opens.
	start := time.Now().Add(-time.Hour)
	missed := app.Call{ID: "from-the-log", Direction: app.Inbound, Number: "155 0000 1234", State: app.CallEnded,
		Started: start, Ended: start.Add(20 * time.Second), Disposition: app.DispMissed}
	ci, err = r2.eng.Recall(t.Context(), missed)
	if err != nil || !ci.Matched || len(ci.Matches) != 0 || !ci.OfferAdd || ci.Activity == nil || ci.Activity.Queued {
		t.Fatalf("unknown number recalled: %+v, %v", ci, err)
	}
	ref, err := r2.eng.AddRecord(t.Context(), missed.ID, "contact")
	if err != nil {
		t.Fatal(err)
	}
	r2.settle()
	rec, ok := o.dv.Record("contact", ref.ID)
	if !ok || !strings.Contains(ref.Name, "15500001234") || rec["mobilephone"] == nil && rec["telephone1"] == nil {
		t.Fatalf("added contact: %v %v", ref, rec)
	}
	waitFor(t, "the new contact's form", func() bool { return slices.Contains(opened(r2), "contact:"+ref.ID) })
}

// lastingRig is a store and a Dataverse that outlive one rig, for tests
// that start the engine again on the same data.
func lastingRig(t *testing.T) rigOpt {
	dv := cifhost.NewDataverse(cifhost.DataverseOptions{})
	cifhost.LoadSample(dv)
	return rigOpt{storeDir: t.TempDir(), dv: dv}
}

func noPage(s *crm.Settings) { s.ActivityPage = false }

func TestRecallUnknownID(t *testing.T) {
	r := newRig(t, nil, rigOpt{})
	if _, err := r.eng.Recall(t.Context(), app.Call{}); err == nil {
		t.Fatal("recalled a call without an id")
	}
}

// The default subject is written in the organisation's language.
func TestSubjectInOrgLanguage(t *testing.T) {
	r := newRig(t, noPage, rigOpt{lcid: 2052})
	c := r.newCall(app.Inbound, "13812345678")
	c.wait("the search", func(ci crm.CallInfo) bool { return ci.Matched })
	c.answer().end()
	r.settle()
	if got := c.phonecall()["subject"]; got != "来电：Zhang San（13812345678）" {
		t.Errorf("subject in a zh-CN org: %q", got)
	}
	for _, tc := range []struct {
		lcid int
		dir  app.Direction
		want string
	}{
		{0, app.Outbound, "Call to Li Lei (186 0000 3333)"},
		{1033, app.Inbound, "Call from Li Lei (186 0000 3333)"},
		{2052, app.Outbound, "去电：Li Lei（186 0000 3333）"},
		{1028, app.Inbound, "來電：Li Lei（186 0000 3333）"},
	} {
		if got := crm.SubjectIn(tc.lcid, tc.dir, "Li Lei", "186 0000 3333"); got != tc.want {
			t.Errorf("SubjectIn(%d, %s) = %q, want %q", tc.lcid, tc.dir, got, tc.want)
		}
	}
}

// A past call recalled while no Dynamics tab is connected cannot have
// its activity edited over blanks: Save says why, and works once a tab is
// back, keeping what Dynamics has.
func TestRecallOfflineThenSave(t *testing.T) {
	o := lastingRig(t)
	r := newRig(t, noPage, o)
	c := r.newCall(app.Outbound, "13812345678")
	c.answer()
	subj := "Quote follow-up"
	if err := r.eng.SaveActivity(t.Context(), c.c.ID, crm.ActivityEdit{Subject: &subj}); err != nil {
		t.Fatal(err)
	}
	c.end()
	r.settle()
	r.close()

	r2 := newRig(t, noPage, o) // the app started again on the same data
	r2.br.SetConnected(false)
	ci, err := r2.eng.Recall(t.Context(), c.c)
	if err != nil || ci.Matched || ci.SearchError == "" {
		t.Fatalf("offline recall: %+v, %v", ci, err)
	}
	notes := "Sent the quote."
	if err := r2.eng.SaveActivity(t.Context(), c.c.ID, crm.ActivityEdit{Description: &notes}); err == nil {
		t.Fatal("saved a past call's activity without reading it")
	}
	r2.br.SetConnected(true)
	if err := r2.eng.SaveActivity(t.Context(), c.c.ID, crm.ActivityEdit{Description: &notes}); err != nil {
		t.Fatal(err)
	}
	r2.settle()
	pc := c.phonecall()
	if pc["subject"] != subj || !strings.HasPrefix(pc["description"].(string), notes) || pc["statecode"] != int64(1) {
		t.Fatalf("after saving online: %v", pc)
	}
}
