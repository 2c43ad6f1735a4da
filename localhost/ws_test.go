package localhost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"switchboard/app"
)

func TestEventsStateFirstAndEveryEventToEveryWidget(t *testing.T) {
	f := newFixture(t)
	in := f.phone.ring("1002", "Alice")
	ws := []*widget{f.widget(), f.widget(), f.widget()}
	for _, w := range ws {
		m := w.next()
		if m["type"] != "state" {
			t.Fatalf("first message %v", m["type"])
		}
		calls := m["state"].(map[string]any)["calls"].([]any)
		if len(calls) != 1 || calls[0].(map[string]any)["id"] != in.ID {
			t.Fatalf("state calls = %v", calls)
		}
	}
	if n := len(f.s.Widgets()); n != 3 {
		t.Fatalf("widgets = %d", n)
	}
	// A burst of changes arrives at every widget, complete and in order.
	f.phone.Answer(context.Background(), in.ID)
	f.phone.Hold(context.Background(), in.ID)
	f.phone.Resume(context.Background(), in.ID)
	f.phone.setReg(app.Registration{State: app.RegRegistering})
	f.phone.Hangup(context.Background(), in.ID)
	want := []string{"call:active", "call:held", "call:active", "registration:registering", "call:ended"}
	for i, w := range ws {
		for _, exp := range want {
			m := w.next("call", "registration")
			got := fmt.Sprint(m["type"], ":")
			if c, ok := m["call"].(map[string]any); ok {
				got += fmt.Sprint(c["state"])
			} else {
				got += fmt.Sprint(m["registration"].(map[string]any)["state"])
			}
			if got != exp {
				t.Fatalf("widget %d: got %s, want %s", i, got, exp)
			}
		}
	}
}

// A widget reloaded mid-call gets the call back in its first message.
func TestEventsReconnectGetsFullState(t *testing.T) {
	f := newFixture(t)
	c, _ := f.phone.Dial(context.Background(), "1002")
	f.phone.answerRemote(c.ID)
	w := f.widget()
	w.next("state")
	w.conn.Close()
	f.phone.Mute(context.Background(), c.ID, true) // happens while disconnected
	w2 := f.widget()
	m := w2.next()
	if m["type"] != "state" {
		t.Fatalf("first message %v", m)
	}
	calls := m["state"].(map[string]any)["calls"].([]any)
	call := calls[0].(map[string]any)
	if call["id"] != c.ID || call["state"] != "active" || call["muted"] != true {
		t.Fatalf("state after reconnect: %v", call)
	}
}

// A widget that falls behind gets a fresh state and ends up right.
func TestEventsResyncAfterDrops(t *testing.T) {
	f := newFixture(t)
	c, _ := f.phone.Dial(context.Background(), "1002")
	f.phone.answerRemote(c.ID)
	w := f.widget()
	w.next("state")
	for i := range 2000 {
		f.phone.Mute(context.Background(), c.ID, i%2 == 0)
	}
	f.phone.Mute(context.Background(), c.ID, true)
	f.phone.Hold(context.Background(), c.ID)
	// Apply what arrives the way the widget does; the end must match the phone.
	var muted, state any
	deadline := time.After(10 * time.Second)
	resyncs := 0
	for state != "held" || muted != true {
		select {
		case m := <-w.msgs:
			switch m["type"] {
			case "state":
				resyncs++
				for _, x := range m["state"].(map[string]any)["calls"].([]any) {
					call := x.(map[string]any)
					muted, state = call["muted"], call["state"]
				}
			case "call":
				call := m["call"].(map[string]any)
				muted, state = call["muted"], call["state"]
			}
		case <-deadline:
			t.Fatalf("widget never converged: muted=%v state=%v", muted, state)
		}
	}
	t.Logf("resyncs after the burst: %d", resyncs)
}

func TestEventsClientMessages(t *testing.T) {
	f := newFixture(t)
	w := f.widget()
	w.next("state")
	w.send(map[string]any{"type": "ping"})
	w.next("pong")
	w.send(map[string]any{"type": "bogus", "id": "x1"})
	if m := w.next("error"); m["id"] != "x1" || m["error"].(map[string]any)["code"] != "unknown_type" {
		t.Errorf("unknown type: %v", m)
	}
	w.send(map[string]any{"type": "ping", "extra": 1})
	if m := w.next("error"); m["error"].(map[string]any)["code"] != "bad_message" {
		t.Errorf("unknown field: %v", m)
	}
	w.conn.WriteMessage(websocket.BinaryMessage, []byte{1, 2, 3})
	w.next("error")
	// Live mic level while metering, none after.
	w.send(map[string]any{"type": "meter", "on": true})
	for range 3 {
		m := w.next("level")
		if m["role"] != "mic" || m["rms"].(float64) <= 0 {
			t.Fatalf("level = %v", m)
		}
	}
	w.send(map[string]any{"type": "meter", "on": true}) // idempotent
	w.send(map[string]any{"type": "meter", "on": false})
	w.send(map[string]any{"type": "ping"})
	w.next("pong")
	time.Sleep(200 * time.Millisecond)
	for len(w.msgs) > 0 {
		<-w.msgs
	}
	time.Sleep(200 * time.Millisecond)
	if len(w.msgs) != 0 {
		t.Errorf("levels still arriving after meter off")
	}
	f.phone.mu.Lock()
	meters := f.phone.meters
	f.phone.mu.Unlock()
	if meters != 1 {
		t.Errorf("meters started = %d", meters)
	}
	// Hello with a CRM origin that isn't configured doesn't make a CIF widget.
	w.send(map[string]any{"type": "hello", "mode": "cif", "crm": "https://evil.example", "lang": "en"})
	w.send(map[string]any{"type": "ping"})
	w.next("pong")
	if ws := f.s.Widgets(); ws[0].Mode != "tab" {
		t.Errorf("widget = %+v", ws[0])
	}
}

// The CRM bridge's request/response over the same socket.
func TestWidgetRequests(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.s.Request(ctx, "cif.call", nil); !errors.Is(err, ErrNoWidget) {
		t.Fatalf("no widget: %v", err)
	}
	if _, err := f.s.Request(ctx, "call", nil); err == nil {
		t.Fatal("reserved type accepted")
	}
	tab := f.widget()
	tab.next("state")
	tab.send(map[string]any{"type": "hello", "mode": "tab"})
	older, newer := f.widget(), f.widget()
	for _, w := range []*widget{older, newer} {
		w.next("state")
		w.send(map[string]any{"type": "hello", "mode": "cif", "crm": testCRM, "lang": "zh-CN"})
		w.send(map[string]any{"type": "ping"})
		w.next("pong")
		// Not asked until its CIF library is up.
		if w == older {
			if _, err := f.s.Request(ctx, "cif.call", nil); !errors.Is(err, ErrNoWidget) {
				t.Fatalf("a widget without CIF was asked: %v", err)
			}
		}
		w.send(map[string]any{"type": "cif.ready", "env": map[string]any{"userId": "00000000-0000-0000-0000-000000000001"}})
		w.send(map[string]any{"type": "ping"})
		w.next("pong")
		time.Sleep(5 * time.Millisecond)
	}
	// A tab widget can't claim to run CIF calls.
	tab.send(map[string]any{"type": "cif.ready", "env": map[string]any{}})
	if m := tab.next("error"); m["error"].(map[string]any)["code"] != "not_cif" {
		t.Fatalf("tab claiming CIF: %v", m)
	}
	// Answer as the widget does.
	serve := func(w *widget, ok bool) {
		go func() {
			m := w.next("cif.call")
			resp := map[string]any{"type": "response", "id": m["id"], "ok": ok}
			if ok {
				resp["data"] = map[string]any{"echo": m["data"]}
			} else {
				resp["error"] = map[string]any{"code": "cif_error", "message": "record not found"}
			}
			w.send(resp)
		}()
	}
	serve(newer, true)
	data, err := f.s.Request(ctx, "cif.call", map[string]any{"method": "getEnvironment", "args": []any{}})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]map[string]any
	json.Unmarshal(data, &got)
	if got["echo"]["method"] != "getEnvironment" {
		t.Fatalf("response = %s", data)
	}
	// The most recently active CIF widget is the one asked.
	older.send(map[string]any{"type": "active"})
	older.send(map[string]any{"type": "ping"})
	older.next("pong")
	serve(older, false)
	_, err = f.s.Request(ctx, "cif.call", map[string]any{"method": "retrieveRecord"})
	var we *WidgetError
	if !errors.As(err, &we) || we.Code != "cif_error" || we.Message != "record not found" {
		t.Fatalf("error response: %v", err)
	}
	// A widget that closes while asked: ErrWidgetGone, at once.
	go func() {
		older.next("cif.call")
		older.conn.Close()
	}()
	if _, err := f.s.Request(ctx, "cif.call", nil); !errors.Is(err, ErrWidgetGone) {
		t.Fatalf("closed widget: %v", err)
	}
	// A widget that never answers: the caller's deadline wins.
	tctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := f.s.Request(tctx, "cif.call", nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("silent widget: %v", err)
	}
	// Responses for unknown ids are ignored.
	newer.send(map[string]any{"type": "response", "id": "r999", "ok": true})
	newer.send(map[string]any{"type": "ping"})
	newer.next("pong")
}
