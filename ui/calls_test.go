package ui

import (
	"testing"
	"time"

	"switchboard/app"
)

// TestCRMNameArrives: the first ring shows the number; when the CRM
// match names the caller, the popup updates in place and a second
// notification says who it is. (The call snapshots are what the phone
// publishes; the CRM room fills Call.Name.)
func TestCRMNameArrives(t *testing.T) {
	f := newFixture(t, fixtureOptions{noKam: true})
	ring := app.Call{ID: "c1", Direction: app.Inbound, Number: "+15550102030", State: app.CallIncoming, Started: time.Now()}
	f.on(func() {
		f.c.mu.Lock()
		f.c.onCallLocked(ring)
		f.c.mu.Unlock()
	})
	if !f.notes.find("Incoming call", "+15550102030 is calling") {
		t.Fatalf("first notification: %+v", f.notes.all)
	}
	named := ring
	named.Name = "Ada Lovelace"
	f.on(func() {
		f.c.mu.Lock()
		f.c.onCallLocked(named)
		f.c.onCallLocked(named) // repeated snapshots do not notify again
		f.c.mu.Unlock()
	})
	if !f.notes.find("Incoming call", "Ada Lovelace (+15550102030) is calling") {
		t.Fatalf("name notification: %+v", f.notes.all)
	}
	if n := len(f.notes.all); n != 2 {
		t.Errorf("%d notifications, want 2", n)
	}
	var name, number, title string
	var numberShown bool
	f.on(func() {
		p := f.c.popups["c1"]
		name, number, title, numberShown = p.name.Text, p.number.Text, p.w.Title(), p.number.Visible()
	})
	if name != "Ada Lovelace" || number != "+15550102030" || !numberShown || title != "Incoming call — Ada Lovelace (+15550102030)" {
		t.Errorf("popup: %q %q (shown %v) title %q", name, number, numberShown, title)
	}

	// The caller gives up: the popup goes, a missed call stays.
	gone := named
	gone.State, gone.Disposition = app.CallEnded, app.DispMissed
	f.on(func() {
		f.c.mu.Lock()
		f.c.onCallLocked(gone)
		f.c.mu.Unlock()
	})
	if !f.notes.find("Missed call", "Ada Lovelace (+15550102030) called you.") {
		t.Errorf("missed notification: %+v", f.notes.all)
	}
	f.eventually("the popup closed", f.locked(func() bool { return len(f.c.popups) == 0 && f.c.missed == 1 }))
}

// TestLinkWhileSignedOut: a tel: link before sign-in asks to sign in and
// keeps the number for when the phone registers.
func TestLinkWhileSignedOut(t *testing.T) {
	f := newFixture(t, fixtureOptions{noKam: true})
	f.c.HandleArgs([]string{"tel:+1-555-0100", "--ignored"})
	if !f.notes.find("Switchboard", "Sign in to call +1-555-0100.") {
		t.Errorf("notification: %+v", f.notes.all)
	}
	f.eventually("the pending dial and the sign-in window", f.locked(func() bool {
		return f.c.pendingDial == "+1-555-0100" && f.c.signIn != nil
	}))
	// A bad link is ignored, not dialled.
	f.c.HandleArgs([]string{"tel:evil;x", "sip:a b@c"})
	if got := f.locked(func() bool { return f.c.pendingDial == "+1-555-0100" })(); !got {
		t.Error("a bad link replaced the pending number")
	}
}
