package ui

import (
	"strings"
	"testing"

	"switchboard/app"
	"switchboard/ui/backend"
)

func TestTrayStateOf(t *testing.T) {
	reg := func(s app.RegState, reason string) app.Registration {
		return app.Registration{State: s, Account: "1001@pbx", Server: "pbx:5060", Error: reason}
	}
	ok := reg(app.RegRegistered, "")
	incoming := app.Call{ID: "a", Direction: app.Inbound, Number: "1002", Name: "Ada Lovelace", State: app.CallIncoming}
	active := app.Call{ID: "b", Direction: app.Outbound, Number: "1003", State: app.CallActive}
	held := app.Call{ID: "c", Direction: app.Outbound, Number: "1004", State: app.CallHeld}
	tests := []struct {
		name   string
		in     PhoneState
		icon   Icon
		badge  bool
		status string
	}{
		{"signed out", PhoneState{Registration: ok, Missed: 3}, IconSignedOut, false, "Not signed in"},
		{"connecting", PhoneState{SignedIn: true, Registration: reg(app.RegRegistering, "")}, IconConnecting, false, "Connecting to pbx:5060…"},
		{"unregistered counts as connecting", PhoneState{SignedIn: true, Registration: reg(app.RegUnregistered, "")}, IconConnecting, false, "Connecting"},
		{"wrong password", PhoneState{SignedIn: true, Registration: reg(app.RegFailed, "wrong extension or password")}, IconError, false, "Wrong extension or password"},
		{"unreachable", PhoneState{SignedIn: true, Registration: reg(app.RegFailed, "PBX unreachable")}, IconError, false, "does not answer"},
		{"available", PhoneState{SignedIn: true, Registration: ok, Presence: backend.Available}, IconAvailable, false, "1001@pbx · Available"},
		{"empty presence is available", PhoneState{SignedIn: true, Registration: ok}, IconAvailable, false, "Available"},
		{"away", PhoneState{SignedIn: true, Registration: ok, Presence: backend.Away}, IconAway, false, "Away"},
		{"dnd", PhoneState{SignedIn: true, Registration: ok, Presence: backend.DND}, IconDND, false, "Do not disturb"},
		{"dnd while failing shows the failure", PhoneState{SignedIn: true, Registration: reg(app.RegFailed, "PBX unreachable"), Presence: backend.DND}, IconError, false, "Not connected"},
		{"missed calls badge", PhoneState{SignedIn: true, Registration: ok, Missed: 2}, IconAvailable, true, "Available"},
		{"missed badge on dnd", PhoneState{SignedIn: true, Registration: ok, Presence: backend.DND, Missed: 1}, IconDND, true, "Do not disturb"},
		{"ringing", PhoneState{SignedIn: true, Registration: ok, Calls: []app.Call{incoming}}, IconRinging, false, "Incoming call from Ada Lovelace (1002)"},
		{"ringing beats away", PhoneState{SignedIn: true, Registration: ok, Presence: backend.Away, Calls: []app.Call{incoming}}, IconRinging, false, "Incoming"},
		{"in call", PhoneState{SignedIn: true, Registration: ok, Calls: []app.Call{active}}, IconInCall, false, "In a call with 1003"},
		{"held call is in call", PhoneState{SignedIn: true, Registration: ok, Calls: []app.Call{held}}, IconInCall, false, "1004"},
		{"waiting call keeps in call", PhoneState{SignedIn: true, Registration: ok, Calls: []app.Call{active, incoming}}, IconInCall, false, "1003"},
		{"call survives a registration blip", PhoneState{SignedIn: true, Registration: reg(app.RegRegistering, ""), Calls: []app.Call{active}, Missed: 1}, IconInCall, true, "1003"},
		{"ended calls are ignored", PhoneState{SignedIn: true, Registration: ok, Calls: []app.Call{{ID: "d", State: app.CallEnded}}}, IconAvailable, false, "Available"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := TrayStateOf(tt.in, Text{En})
			if got.Icon != tt.icon || got.Badge != tt.badge || !strings.Contains(got.Status, tt.status) {
				t.Fatalf("TrayStateOf = %v badge=%v %q; want %v badge=%v containing %q", got.Icon, got.Badge, got.Status, tt.icon, tt.badge, tt.status)
			}
		})
	}
	zh := TrayStateOf(PhoneState{SignedIn: true, Registration: ok, Presence: backend.DND}, Text{ZhCN})
	if zh.Status != "1001@pbx · 免打扰" {
		t.Fatalf("zh-CN status = %q", zh.Status)
	}
}

func TestCallerLabel(t *testing.T) {
	tx := Text{En}
	for _, tt := range []struct {
		c    app.Call
		want string
	}{
		{app.Call{Number: "1002", Name: "Ada"}, "Ada (1002)"},
		{app.Call{Number: "1002"}, "1002"},
		{app.Call{Name: "Ada"}, "Ada"},
		{app.Call{Number: "1002", Name: "1002"}, "1002"},
		{app.Call{}, "Unknown caller"},
	} {
		if got := CallerLabel(tt.c, tx); got != tt.want {
			t.Errorf("CallerLabel(%+v) = %q, want %q", tt.c, got, tt.want)
		}
	}
	if got := CallerLabel(app.Call{Number: "1002", Name: "王小明"}, Text{ZhCN}); got != "王小明（1002）" {
		t.Errorf("zh label = %q", got)
	}
}

// TestMessagesComplete: every string exists in both languages and their
// format verbs agree, so a translation can't crash or drop an argument.
func TestMessagesComplete(t *testing.T) {
	verbs := func(s string) string {
		var v []string
		for i := 0; i < len(s)-1; i++ {
			if s[i] == '%' {
				v = append(v, s[i:i+2])
				i++
			}
		}
		return strings.Join(v, ",")
	}
	for k, m := range messages {
		if m.en == "" || m.zh == "" {
			t.Errorf("%s: missing a language (%q / %q)", k, m.en, m.zh)
		}
		if verbs(m.en) != verbs(m.zh) {
			t.Errorf("%s: format verbs differ: %q vs %q", k, m.en, m.zh)
		}
	}
	if got := (Text{ZhCN}).T("no.such.key"); got != "no.such.key" {
		t.Errorf("unknown key = %q", got)
	}
}

func TestParseLang(t *testing.T) {
	for in, want := range map[string]Lang{"zh-CN": ZhCN, "zh_CN.UTF-8": ZhCN, "zh-Hans": ZhCN, "en-GB": En, "": En, "fr": En} {
		if got := ParseLang(in); got != want {
			t.Errorf("ParseLang(%q) = %s", in, got)
		}
	}
}
