package app_test

import (
	"path/filepath"
	"sync"
	"testing"

	"switchboard/app"
	"switchboard/app/store"
)

// Changes made at the same moment (the widget and the tray) all stay.
func TestUpdateSettingsConcurrent(t *testing.T) {
	st, err := store.Open(t.Context(), store.Options{Path: filepath.Join(t.TempDir(), "s.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p, err := app.NewPhone(app.PhoneOptions{Config: app.DefaultConfig(), Store: st, DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	devices := []string{"mic-a", "speaker-b", "ringer-c"}
	for i := range 3 {
		wg.Go(func() {
			if _, err := p.UpdateSettings(t.Context(), func(s *app.Settings) error {
				switch i {
				case 0:
					s.Mic = devices[0]
				case 1:
					s.Speaker = devices[1]
				case 2:
					s.Ringer = devices[2]
				}
				return nil
			}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Go(func() {
		if _, err := p.UpdateSettings(t.Context(), func(s *app.Settings) error { s.AutoAnswer = true; return nil }); err != nil {
			t.Error(err)
		}
	})
	wg.Wait()
	s := p.Settings()
	if s.Mic != devices[0] || s.Speaker != devices[1] || s.Ringer != devices[2] || !s.AutoAnswer {
		t.Fatalf("a concurrent change was lost: %+v", s)
	}
	var saved app.Settings
	if _, err := st.GetSetting(t.Context(), "agent.settings", &saved); err != nil || saved != s {
		t.Fatalf("saved %+v (%v), in force %+v", saved, err, s)
	}
}
