package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, "c.toml")
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cfg, err := LoadConfig(filepath.Join(dir, "missing.toml"))
	if err != nil || cfg.PBX.Transport != "udp" || len(cfg.Audio.Codecs) != 4 {
		t.Fatalf("defaults: %+v, %v", cfg, err)
	}
	cfg, err = LoadConfig(write(`
[pbx]
server = "pbx.example.com:5061"
transport = "tls"
[account]
extension = "1001"
[audio]
codecs = ["pcma", "opus"]
[calls]
auto_answer = true
[recording]
mode = "always"
[crm]
url = "https://org.crm.dynamics.com"
`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.PBX.Transport != "tls" || !cfg.Calls.AutoAnswer || cfg.Audio.Codecs[0] != "pcma" || cfg.CRM.URL[0] != "https://org.crm.dynamics.com" {
		t.Fatalf("parsed %+v", cfg)
	}
	for _, bad := range []string{
		"[pbx]\ntransport = \"sctp\"\n",
		"[pbx]\nserver = \"pbx:99999\"\n",
		"[pbx]\nsrever = \"typo\"\n",
		"[audio]\ncodecs = [\"g729\"]\n",
		"[recording]\nmode = \"sometimes\"\n",
		"[crm]\nurl = [\"http://org.crm.dynamics.com\"]\n",
		"[account]\nextension = \"1001@pbx\"\n",
		"[pbx\n",
	} {
		if _, err := LoadConfig(write(bad)); err == nil {
			t.Errorf("config %q accepted", bad)
		} else if !strings.Contains(err.Error(), "c.toml") {
			t.Errorf("error %q does not name the file", err)
		}
	}
}

func TestSaveConfigRoundTrip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "sub", "config.toml")
	cfg := DefaultConfig()
	cfg.PBX.Server = "10.0.0.5"
	cfg.CRM.URL = StringList{"https://a.crm.dynamics.com", "https://b.crm4.dynamics.com"}
	if err := SaveConfig(p, cfg); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(p)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", st.Mode())
	}
	got, err := LoadConfig(p)
	if err != nil || got.PBX.Server != "10.0.0.5" || len(got.CRM.URL) != 2 {
		t.Fatalf("%+v %v", got, err)
	}
}

func TestBusDropsOldestWhenFull(t *testing.T) {
	b := NewBus()
	s := b.Subscribe(2)
	defer s.Close()
	for i := 0; i < 5; i++ {
		b.Publish(Event{Type: EvDTMF, DTMF: string(rune('0' + i))})
	}
	if s.Dropped() != 3 {
		t.Fatalf("dropped %d, want 3", s.Dropped())
	}
	if e := <-s.C; e.DTMF != "3" {
		t.Fatalf("oldest kept %q, want 3", e.DTMF)
	}
}

// The [crm] section presets every Dynamics setting; the keys left out
// keep their defaults, and a bad value names its key.
func TestConfigCRMPresets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(`[crm]
url = "https://org.crm.dynamics.com"
default_country = "cn"
match_mode = "last_digits"
match_digits = 7
contact_creation = "auto"
contact_create_on = ["inbound"]
contact_create_as = "lead"
recording_attach = true
`)
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.CRM
	if c.DefaultCountry != "CN" || c.MatchMode != "last_digits" || c.MatchDigits != 7 || c.ContactCreateAs != "lead" ||
		!c.RecordingAttach || len(c.ContactCreateOn) != 1 || c.ScreenPop != "ringing" || !c.ActivityAutosave || len(c.URL) != 1 {
		t.Fatalf("crm config %+v", c)
	}
	// It survives a save.
	if err := SaveConfig(path, cfg); err != nil {
		t.Fatal(err)
	}
	again, err := LoadConfig(path)
	if err != nil || again.CRM.MatchDigits != 7 || again.CRM.ContactCreateAs != "lead" {
		t.Fatalf("after save: %+v, %v", again.CRM, err)
	}
	for _, bad := range []string{"match_mode = \"fuzzy\"", "match_digits = 2", "screen_pop = \"later\"", "contact_create_as = \"case\""} {
		write("[crm]\n" + bad + "\n")
		if _, err := LoadConfig(path); err == nil || !strings.Contains(err.Error(), "crm."+strings.Fields(bad)[0]) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}
