package localhost

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"switchboard/app"
)

func TestClient(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c, err := NewClient(ClientOptions{TokenFile: f.tokenFile, DataDir: f.dataDir})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	st, err := c.Status(ctx)
	if err != nil || st.Registration.State != app.RegRegistered {
		t.Fatalf("status: %+v %v", st, err)
	}
	call, err := c.Dial(ctx, "+1 555 010 2030")
	if err != nil || call.Number != "+15550102030" {
		t.Fatalf("dial: %+v %v", call, err)
	}
	f.phone.answerRemote(call.ID)
	if _, err := c.Answer(ctx, ""); err == nil || !strings.Contains(err.Error(), "no call is ringing") {
		t.Errorf("answer with nothing ringing: %v", err)
	}
	in := f.phone.ring("1004", "Jamie")
	id, err := c.Answer(ctx, "")
	if err != nil || id != in.ID {
		t.Fatalf("answer: %s %v", id, err)
	}
	// With two calls up, hangup without an id ends the active one (the
	// newest active), then the other.
	f.phone.Hold(ctx, call.ID)
	if id, err := c.Hangup(ctx, ""); err != nil || id != in.ID {
		t.Fatalf("hangup 1: %s %v", id, err)
	}
	if id, err := c.Hangup(ctx, ""); err != nil || id != call.ID {
		t.Fatalf("hangup 2: %s %v", id, err)
	}
	if _, err := c.Hangup(ctx, ""); err == nil {
		t.Error("hangup with no call succeeded")
	}
	p, err := c.History(ctx, HistoryQuery{Search: "1004", Direction: "inbound", From: time.Now().Add(-time.Hour), Limit: 5})
	if err != nil || p.Total != 1 || p.Calls[0].Number != "1004" {
		t.Fatalf("history: %+v %v", p, err)
	}
	// API errors come back typed, with the field.
	_, err = c.Dial(ctx, "12+3")
	var re *ResponseError
	if !errors.As(err, &re) || re.Status != 422 || re.Field != "number" {
		t.Fatalf("bad dial: %v", err)
	}
}

func TestClientErrors(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := NewClient(ClientOptions{TokenFile: filepath.Join(t.TempDir(), "none.json"), DataDir: f.dataDir}); !errors.Is(err, ErrNotRunning) {
		t.Errorf("missing file: %v", err)
	}
	loose := filepath.Join(t.TempDir(), "loose.json")
	b, _ := os.ReadFile(f.tokenFile)
	os.WriteFile(loose, b, 0o644)
	if _, err := NewClient(ClientOptions{TokenFile: loose, DataDir: f.dataDir}); err == nil || !strings.Contains(err.Error(), "0600") {
		t.Errorf("loose file: %v", err)
	}
	elsewhere := filepath.Join(t.TempDir(), "elsewhere.json")
	os.WriteFile(elsewhere, []byte(`{"url":"https://attacker.example:443","token":"x"}`), 0o600)
	if _, err := NewClient(ClientOptions{TokenFile: elsewhere, DataDir: f.dataDir}); err == nil {
		t.Error("a token file pointing off the machine was accepted")
	}
	c, err := NewClient(ClientOptions{TokenFile: f.tokenFile, DataDir: f.dataDir})
	if err != nil {
		t.Fatal(err)
	}
	f.s.Close()
	if _, err := c.Status(ctx); err == nil || !strings.Contains(err.Error(), "is it running") {
		t.Errorf("stopped server: %v", err)
	}
	// A client that only trusts another CA refuses this server.
	other := newFixture(t)
	c2, _ := NewClient(ClientOptions{TokenFile: other.tokenFile, DataDir: f.dataDir})
	if _, err := c2.Status(ctx); err == nil {
		t.Error("connected to a server signed by another CA")
	}
}
