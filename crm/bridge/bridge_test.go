package bridge_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"switchboard/crm"
	"switchboard/crm/cifhost"
	"switchboard/crm/cifhost/cifbrowser"
)

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func lastEvent(l *cifbrowser.Lab, typ string) (cifbrowser.Event, bool) {
	evs := l.Widget.Events()
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Type == typ {
			return evs[i], true
		}
	}
	return cifbrowser.Event{}, false
}

func TestBridgeInChromium(t *testing.T) {
	l, err := cifbrowser.NewLab(cifbrowser.LabOptions{Sample: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	tab, closeTab, err := l.OpenTab("")
	if err != nil {
		t.Fatal(err)
	}
	defer closeTab()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := l.WaitReadyTabs(ctx, 1); err != nil {
		t.Fatal(err)
	}
	dv := l.Host.Dataverse()

	// start(): the library was loaded the documented way, click-to-act
	// turned on, the four handlers registered, the user id unwrapped.
	if got := l.Widget.AgentID(); got != dv.UserID() {
		t.Errorf("agent id = %q, want %q", got, dv.UserID())
	}
	ready, _ := lastEvent(l, "ready")
	var env map[string]any
	_ = json.Unmarshal(ready.Env, &env)
	if env["userId"] != dv.UserID() || env["clientUrl"] != "https://crm.test" {
		t.Errorf("ready env = %v", env)
	}
	// The host reports to its log after answering: wait for it.
	waitFor(t, "setClickToAct in the host log", func() bool { return len(l.Host.Requests("setclicktoact")) > 0 })
	if r := l.Host.Requests("setclicktoact"); len(r) != 1 || string(r[0].Data) != `{"value":true}` {
		t.Errorf("setClickToAct = %+v", r)
	}
	handlers := map[string]bool{}
	waitFor(t, "the handler registrations", func() bool {
		for _, r := range l.Host.Requests("addGenericHandler") {
			var d struct{ EventType string }
			_ = json.Unmarshal(r.Data, &d)
			handlers[d.EventType] = true
		}
		return len(handlers) == 4
	})
	for _, h := range []string{"onclicktoact", "onmodechanged", "onpagenavigate", "onsizechanged"} {
		if !handlers[h] {
			t.Errorf("no %s handler", h)
		}
	}

	// Requests: results come back parsed, searches still keyed "0","1".
	n, _ := crm.Normalize("13812345678", crm.NumberOptions{DefaultCountry: "CN", ExtensionDigits: 6})
	q, _ := crm.PhoneQuery("contact", n)
	resp, err := l.Widget.Do(ctx, crm.Request{Op: crm.OpSearch, Entity: "contact", Query: q})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(resp.Result), `{"0":`) {
		t.Errorf("search result = %.80s", resp.Result)
	}
	recs, err := crm.ParseSearch("contact", resp.Result)
	if err != nil {
		t.Fatal(err)
	}
	// The filter finds candidates ("56 78" too); Go confirms them.
	var confirmed []string
	rule := crm.MatchRule{Numbers: crm.NumberOptions{DefaultCountry: "CN", ExtensionDigits: 6}}
	for _, r := range recs {
		for _, v := range r.Phones {
			if rule.Same(n, v) {
				confirmed = append(confirmed, r.Name)
				break
			}
		}
	}
	if len(recs) < 2 || len(confirmed) != 1 || confirmed[0] != "Zhang San" {
		t.Fatalf("search = %+v, confirmed %v", recs, confirmed)
	}
	id := crm.StableID("bridge-test")
	body, _ := crm.NewRecordBody("lead", id, n)
	resp, err = l.Widget.Do(ctx, crm.Request{Op: crm.OpCreate, Entity: "lead", Data: body})
	if err != nil {
		t.Fatal(err)
	}
	if ref, err := crm.ParseCreated(resp.Result); err != nil || ref.ID != id || ref.Entity != "lead" {
		t.Errorf("create = %+v, %v", ref, err)
	}
	_, err = l.Widget.Do(ctx, crm.Request{Op: crm.OpUpdate, Entity: "lead", ID: id, Data: json.RawMessage(`{"lastName":"x"}`)})
	var ce *crm.CIFError
	if !errors.As(err, &ce) || !strings.Contains(ce.Message, "lastName") || ce.Code == "" {
		t.Errorf("bad update error = %#v", err)
	}
	resp, err = l.Widget.Do(ctx, crm.Request{Op: crm.OpRetrieve, Entity: "lead", ID: id, Query: "?$select=fullname"})
	if rec, perr := crm.ParseRecord(resp.Result); err != nil || perr != nil || rec["fullname"] != "Automatic New Contact +8613812345678" {
		t.Errorf("retrieve = %s, %v", resp.Result, err)
	}
	if _, err := l.Widget.Do(ctx, crm.Request{Op: "nosuch"}); err == nil {
		t.Error("an unknown op succeeded")
	}

	// openForm navigates the host, which tells the widget first.
	zhang := cifhost.SampleID("contact", "zhang")
	data, _ := json.Marshal(map[string]string{"entityName": "contact", "entityId": zhang})
	if _, err := l.Widget.Do(ctx, crm.Request{Op: crm.OpOpenForm, Entity: "contact", ID: zhang, Data: data}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the navigation event", func() bool {
		ev, ok := lastEvent(l, "navigate")
		return ok && strings.Contains(ev.URL, "etn=contact") && strings.Contains(ev.URL, "id="+zhang)
	})
	if _, err := l.Widget.Do(ctx, crm.Request{Op: crm.OpRenderSearch, Entity: "contact", Query: "139 0000 1111"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the search page", func() bool {
		h, _ := chromedp.Run(tab, chromedp.Evaluate[string](`(document.querySelector("main h1") || {}).textContent || ""`))
		return strings.Contains(h, "139 0000 1111")
	})

	// Panel mode both ways.
	if _, err := l.Widget.Do(ctx, crm.Request{Op: crm.OpSetMode, Data: json.RawMessage("0")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "mode 0", func() bool { ev, ok := lastEvent(l, "mode"); return ok && string(ev.Value) == "0" })
	if err := chromedp.Do(tab, chromedp.Click(chromedp.ID("cif-toggle"))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "mode 1", func() bool { ev, ok := lastEvent(l, "mode"); return ok && string(ev.Value) == "1" })

	// Click-to-act from a phone field, in the documented shape, and in
	// the older {field:{value}} shape.
	l.Host.Navigate("contact", zhang)
	waitFor(t, "the record page", func() bool {
		h, _ := chromedp.Run(tab, chromedp.Evaluate[string](`(document.querySelector("main h1") || {}).textContent || ""`))
		return h == "Zhang San"
	})
	if err := chromedp.Do(tab, chromedp.Click(chromedp.CSS(`button[data-clicktoact="mobilephone"]`))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "click to act", func() bool {
		ev, ok := lastEvent(l, "clicktoact")
		return ok && ev.Number == "13812345678" && ev.Field == "mobilephone" && ev.Entity == "contact"
	})
	if _, err := chromedp.Run(tab, chromedp.Evaluate[bool](`cifHost.raise("onclicktoact", {field: {value: "010 6552 9900", name: "telephone1"}, AssociatedEntityLogicalName: "contact"})`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "click to act (old shape)", func() bool {
		ev, ok := lastEvent(l, "clicktoact")
		return ok && ev.Number == "010 6552 9900" && ev.Field == "telephone1"
	})
	if _, err := chromedp.Run(tab, chromedp.Evaluate[bool](`cifHost.raise("onsizechanged", {value: 420})`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "size", func() bool { ev, ok := lastEvent(l, "size"); return ok && string(ev.Value) == "420" })
	// Every handler answered the host with a resolved Promise.
	for _, r := range l.Host.Requests("eventResponse") {
		if r.Outcome != "success" {
			t.Errorf("a handler failed: %+v", r)
		}
	}
}
