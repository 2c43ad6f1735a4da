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
