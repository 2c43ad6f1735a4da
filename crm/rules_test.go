package crm

import (
	"errors"
	"testing"

	"switchboard/app"
	"switchboard/crm/crmconf"
)

func TestRules(t *testing.T) {
	def := DefaultSettings()
	in := Facts{Direction: app.Inbound, External: true, Live: true, Matched: true, Matches: 1}
	with := func(f Facts, mod func(*Facts)) Facts { mod(&f); return f }
	set := func(mod func(*Settings)) Settings { s := def.Clone(); mod(&s); return s }

	for _, tc := range []struct {
		name string
		s    Settings
		f    Facts
		want bool
	}{
		{"ringing pops at once", def, in, true},
		{"ringing pops even once answered", def, with(in, func(f *Facts) { f.Answered = true }), true},
		{"once only", def, with(in, func(f *Facts) { f.Popped = true }), false},
		{"not before the search", def, with(in, func(f *Facts) { f.Matched = false }), false},
		{"not internal", def, with(in, func(f *Facts) { f.External = false }), false},
		{"not history", def, with(in, func(f *Facts) { f.Live = false }), false},
		{"outbound off by default", def, with(in, func(f *Facts) { f.Direction = app.Outbound }), false},
		{"outbound when asked", set(func(s *Settings) { s.ScreenPopOutbound = true }), with(in, func(f *Facts) { f.Direction = app.Outbound }), true},
		{"answered waits", set(func(s *Settings) { s.ScreenPop = crmconf.PopAnswered }), in, false},
		{"answered pops", set(func(s *Settings) { s.ScreenPop = crmconf.PopAnswered }), with(in, func(f *Facts) { f.Answered = true }), true},
		{"ended waits", set(func(s *Settings) { s.ScreenPop = crmconf.PopEnded }), with(in, func(f *Facts) { f.Answered = true }), false},
		{"ended pops", set(func(s *Settings) { s.ScreenPop = crmconf.PopEnded }), with(in, func(f *Facts) { f.Answered, f.Ended = true, true }), true},
		{"missed call not popped at end", set(func(s *Settings) { s.ScreenPop = crmconf.PopEnded }), with(in, func(f *Facts) { f.Ended = true }), false},
		{"manual never", set(func(s *Settings) { s.ScreenPop = crmconf.PopManual }), in, false},
	} {
		if got := ShouldPop(tc.s, tc.f); got != tc.want {
			t.Errorf("ShouldPop %s = %v", tc.name, got)
		}
	}

	auto := set(func(s *Settings) { s.ContactCreation = crmconf.CreateAuto })
	unknown := with(in, func(f *Facts) { f.Matches = 0 })
	for _, tc := range []struct {
		name string
		s    Settings
		f    Facts
		want bool
	}{
		{"inbound waits for the answer", auto, unknown, false},
		{"inbound on answer", auto, with(unknown, func(f *Facts) { f.Answered = true }), true},
		{"outbound on dial", auto, with(unknown, func(f *Facts) { f.Direction = app.Outbound }), true},
		{"known number", auto, with(in, func(f *Facts) { f.Answered = true }), false},
		{"once", auto, with(unknown, func(f *Facts) { f.Answered, f.Created = true, true }), false},
		{"manual mode", def, with(unknown, func(f *Facts) { f.Answered = true }), false},
		{"direction not chosen", set(func(s *Settings) { s.ContactCreation, s.ContactCreateOn = crmconf.CreateAuto, []string{"outbound"} }),
			with(unknown, func(f *Facts) { f.Answered = true }), false},
		{"search failed", auto, with(unknown, func(f *Facts) { f.Answered, f.Matched = true, false }), false},
	} {
		if got := ShouldCreate(tc.s, tc.f); got != tc.want {
			t.Errorf("ShouldCreate %s = %v", tc.name, got)
		}
	}
	if !OfferAdd(def, unknown) || OfferAdd(set(func(s *Settings) { s.ContactCreation = crmconf.CreateOff }), unknown) || OfferAdd(def, in) {
		t.Error("OfferAdd")
	}
	ans := with(in, func(f *Facts) { f.Answered = true })
	if !ShouldStartActivity(def, ans) || ShouldStartActivity(def, in) || ShouldStartActivity(set(func(s *Settings) { s.ActivityAutoCreate = nil }), ans) ||
		ShouldStartActivity(def, with(ans, func(f *Facts) { f.ActivityStarted = true })) {
		t.Error("ShouldStartActivity")
	}
	if !ShouldShowActivityPage(def, ans) || ShouldShowActivityPage(def, with(ans, func(f *Facts) { f.External = false })) ||
		ShouldShowActivityPage(set(func(s *Settings) { s.ActivityPage = false }), ans) {
		t.Error("ShouldShowActivityPage")
	}
	if !ShouldExpand(def, with(in, func(f *Facts) { f.Matched = false })) || ShouldExpand(def, ans) ||
		ShouldExpand(set(func(s *Settings) { s.AutoExpand = false }), in) || ShouldExpand(def, with(in, func(f *Facts) { f.Direction = app.Outbound })) {
		t.Error("ShouldExpand")
	}
}

func TestPlanPop(t *testing.T) {
	a := Record{Ref: Ref{Entity: "account", ID: g1}, Phones: map[string]string{"telephone1": "010-6552 9988"}}
	c := Record{Ref: Ref{Entity: "contact", ID: g2}, Phones: map[string]string{"mobilephone": "138 1234 5678"}}
	if p := PlanPop(nil, nil); p.Kind != PopOfferAdd {
		t.Errorf("none: %+v", p)
	}
	if p := PlanPop([]Record{c}, nil); p.Kind != PopOpen || p.Target != c.Ref {
		t.Errorf("one: %+v", p)
	}
	if p := PlanPop([]Record{c, a}, nil); p.Kind != PopSearch || p.Entity != "contact" || p.Search != "138 1234 5678" {
		t.Errorf("several: %+v", p)
	}
	if p := PlanPop([]Record{c, a}, &a.Ref); p.Kind != PopOpen || p.Target != a.Ref {
		t.Errorf("chosen: %+v", p)
	}
}

func TestSettingsValidate(t *testing.T) {
	if err := DefaultSettings().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	bad := DefaultSettings()
	bad.DefaultCountry = "XX"
	bad.MatchMode = "fuzzy"
	bad.MatchDigits = 2
	bad.MatchEntities = []string{"contact", "contact", "case"}
	bad.ScreenPop = "always"
	bad.ContactCreation = "yes"
	bad.ContactCreateAs = "incident"
	bad.ActivityAutoCreate = []string{"in"}
	bad.RecordingMaxBase64 = 5
	bad.ExtensionDigits = 0
	err := bad.Validate()
	keys := map[string]bool{}
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var fe *crmconf.FieldError
		if !errors.As(e, &fe) {
			t.Fatalf("%v is not a FieldError", e)
		}
		keys[fe.Key] = true
	}
	for _, k := range []string{"default_country", "match_mode", "match_digits", "match_entities", "screen_pop", "contact_creation",
		"contact_create_as", "activity_auto_create", "recording_max_base64", "extension_digits"} {
		if !keys[k] {
			t.Errorf("no error for %s in %v", k, err)
		}
	}

	preset := DefaultSettings()
	preset.DefaultCountry = "CN"
	preset.ContactCreation = crmconf.CreateAuto
	got, err := preset.WithOverrides([]byte(`{"matchMode":"last_digits","matchDigits":7,"contactCreateOn":["inbound"],"defaultCountry":"gb"}`))
	if err != nil {
		t.Fatal(err)
	}
	if got.MatchMode != crmconf.MatchLastDigits || got.MatchDigits != 7 || got.ContactCreation != crmconf.CreateAuto ||
		len(got.ContactCreateOn) != 1 || got.DefaultCountry != "GB" || len(preset.ContactCreateOn) != 2 {
		t.Errorf("WithOverrides = %+v (preset %+v)", got, preset)
	}
	if _, err := preset.WithOverrides([]byte(`{"matchMod":"exact"}`)); err == nil {
		t.Error("a misspelt key was accepted")
	}
	if _, err := preset.WithOverrides([]byte(`{"matchDigits":1}`)); err == nil {
		t.Error("an invalid override was accepted")
	}
}
