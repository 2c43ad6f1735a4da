package store

import (
	"encoding/json"
	"testing"
)

func TestSettings(t *testing.T) {
	ctx := t.Context()
	s := openTest(t)
	type pop struct {
		Mode    string `json:"mode"`
		Timeout int    `json:"timeout"`
	}
	var p pop
	if found, err := s.GetSetting(ctx, "crm.pop", &p); err != nil || found {
		t.Fatalf("unset key: found %v, %v", found, err)
	}
	for _, kv := range []struct {
		key string
		v   any
	}{
		{"crm.pop", pop{"ringing", 10}},
		{"crm.pop", pop{"answered", 0}}, // overwrite
		{"audio.ringer", "USB 耳机"},
		{"ui.expand", true},
		{"raw", json.RawMessage(`{"a":[1,2]}`)},
	} {
		if err := s.PutSetting(ctx, kv.key, kv.v); err != nil {
			t.Fatal(err)
		}
	}
	if found, err := s.GetSetting(ctx, "crm.pop", &p); err != nil || !found || p != (pop{"answered", 0}) {
		t.Fatalf("crm.pop = %+v, %v, %v", p, found, err)
	}
	var ringer string
	if found, err := s.GetSetting(ctx, "audio.ringer", &ringer); err != nil || !found || ringer != "USB 耳机" {
		t.Fatalf("audio.ringer = %q, %v, %v", ringer, found, err)
	}
	var wrong int
	if found, err := s.GetSetting(ctx, "audio.ringer", &wrong); err == nil || !found {
		t.Fatalf("decoding a string into an int: found %v, err %v; want found and an error", found, err)
	}
	all, err := s.AllSettings(ctx)
	if err != nil || len(all) != 4 || string(all["ui.expand"]) != "true" || string(all["raw"]) != `{"a":[1,2]}` {
		t.Fatalf("AllSettings = %s, %v", all, err)
	}
	for _, bad := range []struct {
		key string
		v   any
	}{
		{"", 1},
		{"x", func() {}},
		{"x", json.RawMessage(`{not json`)},
	} {
		if err := s.PutSetting(ctx, bad.key, bad.v); err == nil {
			t.Errorf("PutSetting(%q, %T) succeeded", bad.key, bad.v)
		}
	}
	if err := s.DeleteSetting(ctx, "crm.pop"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSetting(ctx, "never.set"); err != nil {
		t.Fatal(err)
	}
	if found, err := s.GetSetting(ctx, "crm.pop", &p); err != nil || found {
		t.Fatalf("after delete: found %v, %v", found, err)
	}
}
