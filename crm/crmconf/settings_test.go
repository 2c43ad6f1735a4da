package crmconf

import (
	"testing"

	"github.com/BurntSushi/toml"
)

func TestTOMLPreset(t *testing.T) {
	var cfg struct {
		CRM Settings `toml:"crm"`
	}
	cfg.CRM = Default()
	md, err := toml.Decode(`
[crm]
default_country = "cn"
match_mode = "last_digits"
match_digits = 7
match_entities = ["lead", "contact"]
screen_pop = "answered"
contact_creation = "auto"
contact_create_on = ["inbound"]
contact_create_as = "lead"
activity_auto_create = []
recording_attach = true
`, &cfg)
	if err != nil {
		t.Fatal(err)
	}
	if u := md.Undecoded(); len(u) > 0 {
		t.Fatalf("undecoded keys %v", u)
	}
	s := cfg.CRM.Canonical()
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if s.DefaultCountry != "CN" || s.MatchDigits != 7 || s.MatchEntities[0] != "lead" || s.ScreenPop != PopAnswered ||
		s.ContactCreateAs != EntityLead || len(s.ActivityAutoCreate) != 0 || !s.RecordingAttach ||
		s.RecordingMaxBase64 != DefaultRecordingMaxBase64 || !s.AutoExpand {
		t.Errorf("decoded %+v", s)
	}
}
