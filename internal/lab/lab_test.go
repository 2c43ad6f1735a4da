package lab

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func testCtx(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// TestBotCallThroughKamailio is the lab's end-to-end check: two bots
// register, A calls B through Kamailio, B answers automatically, each hears
// the other's tone, DTMF arrives, and the hang-up reaches both.
func TestBotCallThroughKamailio(t *testing.T) {
	k := StartKamailioT(t, KamailioOptions{})
	a := StartBotT(t, BotOptions{Kamailio: k, Extension: "1001", ToneHz: 800})
	b := StartBotT(t, BotOptions{Kamailio: k, Extension: "1002", ToneHz: 1200})
	ctx := testCtx(t, 30*time.Second)

	cs, err := k.Registered(ctx, "1002")
	if err != nil || len(cs) != 1 {
		t.Fatalf("Registered(1002) = %v, %v; want one contact", cs, err)
	}
	if err := a.Dial(ctx, k.URI("1002")); err != nil {
		t.Fatal(err)
	}
	if _, err := a.WaitEvent(ctx, EventCallEstablished); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitEvent(ctx, EventCallEstablished); err != nil {
		t.Fatal(err)
	}
	if err := a.SendDTMF(ctx, "12#"); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitDTMF(ctx, "12#"); err != nil {
		t.Fatal(err)
	}
	for _, bot := range []*Bot{a, b} {
		if _, err := bot.WaitHeard(ctx, time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitEvent(ctx, EventCallClosed); err != nil {
		t.Fatal(err)
	}
	if _, err := a.WaitEvent(ctx, EventCallClosed); err != nil {
		t.Fatal(err)
	}
	checkHeard(t, b, 1200, 800)
	checkHeard(t, a, 800, 1200)
}

func checkHeard(t *testing.T, bot *Bot, own, want float64) (rate int) {
	t.Helper()
	path := bot.LastDecoded()
	if path == "" {
		t.Fatalf("bot %s: no decoded recording in %v", bot.Extension(), bot.Recordings())
	}
	s, rate, err := ReadWAV(path)
	if err != nil {
		t.Fatal(err)
	}
	tone, loud := toneBlocks(s, rate, want)
	t.Logf("bot %s heard %d samples at %d Hz: dominant %v Hz, %d/%d loud blocks at %v Hz", bot.Extension(), len(s), rate, DominantFrequency(s, rate), tone, loud, want)
	if !HasTone(s, rate, want) {
		t.Errorf("bot %s did not hear %v Hz (dominant %v Hz, %d samples at %d Hz)", bot.Extension(), want, DominantFrequency(s, rate), len(s), rate)
	}
	if HasTone(s, rate, own) {
		t.Errorf("bot %s heard its own %v Hz tone", bot.Extension(), own)
	}
	return rate
}

func TestSippScenariosAgainstBot(t *testing.T) {
	// baresip as the UA under test shows the scenarios are sound; the
	// product's own tests point them at its UA.
	bot := StartBotT(t, BotOptions{Extension: "2001", NoRegister: true})
	tests := []struct {
		name     string
		scenario string
		want     int
	}{
		// baresip 1.0 answers an unparsable body with 500 Call Error.
		{"garbage SDP", ScenarioInviteBadSDP(500), 500},
		{"only G.729", ScenarioInviteOnlyG729(488), 488},
		{"answered", ScenarioInviteAnswered(300 * time.Millisecond), 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t, 30*time.Second)
			res, err := RunSipp(ctx, SippOptions{Scenario: tt.scenario, Target: bot.SIPAddr("udp"), Service: "2001", Timeout: 15 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if !res.Passed() || res.FinalResponse() != tt.want {
				t.Fatalf("want final %d and a pass: %s", tt.want, res.Summary())
			}
			t.Logf("responses %v", res.Responses)
		})
	}
}

func TestBotTransports(t *testing.T) {
	k := StartKamailioT(t, KamailioOptions{})
	for _, tr := range []string{"udp", "tcp", "tls"} {
		t.Run(tr, func(t *testing.T) {
			ctx := testCtx(t, 30*time.Second)
			ext := map[string]string{"udp": "1003", "tcp": "1004", "tls": "1005"}[tr]
			StartBotT(t, BotOptions{Kamailio: k, Extension: ext, Transport: tr})
			cs, err := k.WaitRegistered(ctx, ext, 1)
			if err != nil {
				t.Fatal(err)
			}
			want := tr + ":" + k.Addr(tr)
			if cs[0].Socket != want {
				t.Errorf("registered over %q, want %q", cs[0].Socket, want)
			}
		})
	}
}

// TestCallOverTLSAndTCP checks that the proxy reaches TCP and TLS clients
// over their own connections, in both directions.
func TestCallOverTLSAndTCP(t *testing.T) {
	k := StartKamailioT(t, KamailioOptions{})
	a := StartBotT(t, BotOptions{Kamailio: k, Extension: "1001", Transport: "tls", ToneHz: 700})
	b := StartBotT(t, BotOptions{Kamailio: k, Extension: "1002", Transport: "tcp", ToneHz: 1100})
	ctx := testCtx(t, 30*time.Second)
	if err := a.Dial(ctx, k.URI("1002")); err != nil {
		t.Fatal(err)
	}
	for _, bot := range []*Bot{a, b} {
		if _, err := bot.WaitEvent(ctx, EventCallEstablished); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	for _, bot := range []*Bot{a, b} {
		if _, err := bot.WaitEvent(ctx, EventCallClosed); err != nil {
			t.Fatal(err)
		}
	}
}

func TestWrongPassword(t *testing.T) {
	k := StartKamailioT(t, KamailioOptions{})
	ctx := testCtx(t, 30*time.Second)
	b, err := StartBot(ctx, BotOptions{Kamailio: k, Extension: "1001", Password: "wrong"})
	if err == nil {
		b.Close()
		t.Fatal("registration with a wrong password succeeded")
	}
	var re *RegisterError
	if !errors.As(err, &re) || (re.Status != 401 && re.Status != 403) {
		t.Fatalf("got %v, want a RegisterError with 401 or 403", err)
	}
	if cs, _ := k.Registered(ctx, "1001"); len(cs) != 0 {
		t.Errorf("contacts after failed registration: %v", cs)
	}
}

func TestUnknownExtensionNotFound(t *testing.T) {
	k := StartKamailioT(t, KamailioOptions{})
	a := StartBotT(t, BotOptions{Kamailio: k, Extension: "1001"})
	ctx := testCtx(t, 30*time.Second)
	if err := a.Dial(ctx, k.URI("1009")); err != nil { // a user, not registered
		t.Fatal(err)
	}
	ev, err := a.WaitEvent(ctx, EventCallClosed)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ev.Param, "404") && !strings.HasPrefix(ev.Param, "480") {
		t.Errorf("call to unregistered extension closed with %q, want 404/480", ev.Param)
	}
}

func TestRestartKeepsPortsAndDropsRegistrations(t *testing.T) {
	k := StartKamailioT(t, KamailioOptions{})
	ctx := testCtx(t, 60*time.Second)
	StartBotT(t, BotOptions{Kamailio: k, Extension: "1001"})
	udp, tls := k.Addr("udp"), k.Addr("tls")
	if err := k.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if k.Addr("udp") != udp || k.Addr("tls") != tls {
		t.Fatalf("ports moved: %s %s -> %s %s", udp, tls, k.Addr("udp"), k.Addr("tls"))
	}
	if cs, err := k.Registered(ctx, "1001"); err != nil || len(cs) != 0 {
		t.Fatalf("after restart Registered = %v, %v; want none", cs, err)
	}
	// A new client registers on the same address.
	StartBotT(t, BotOptions{Kamailio: k, Extension: "1002", Transport: "tcp"})
	if _, err := k.WaitRegistered(ctx, "1002", 1); err != nil {
		t.Fatal(err)
	}
}

func TestManualAnswerAndSeveralContacts(t *testing.T) {
	k := StartKamailioT(t, KamailioOptions{})
	a := StartBotT(t, BotOptions{Kamailio: k, Extension: "1001"})
	// Two devices on extension 1002: the INVITE forks to both.
	b1 := StartBotT(t, BotOptions{Kamailio: k, Extension: "1002", AnswerMode: "manual"})
	b2 := StartBotT(t, BotOptions{Kamailio: k, Extension: "1002", AnswerMode: "manual"})
	ctx := testCtx(t, 30*time.Second)
	if cs, err := k.WaitRegistered(ctx, "1002", 2); err != nil {
		t.Fatalf("want two contacts: %v %v", cs, err)
	}
	if err := a.Dial(ctx, k.URI("1002")); err != nil {
		t.Fatal(err)
	}
	for _, b := range []*Bot{b1, b2} {
		if _, err := b.WaitEvent(ctx, EventCallIncoming); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.WaitEvent(ctx, EventCallRinging); err != nil {
		t.Fatal(err)
	}
	if err := b2.Accept(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.WaitEvent(ctx, EventCallEstablished); err != nil {
		t.Fatal(err)
	}
	// The other device is cancelled.
	if _, err := b1.WaitEvent(ctx, EventCallClosed); err != nil {
		t.Fatal(err)
	}
	if err := a.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b2.WaitEvent(ctx, EventCallClosed); err != nil {
		t.Fatal(err)
	}
}

func TestCodecs(t *testing.T) {
	k := StartKamailioT(t, KamailioOptions{})
	for i, tc := range []struct {
		codec string
		rate  int // of the decoded recording: proves the codec was used
	}{{"PCMA", 8000}, {"G722", 16000}, {"opus", 48000}} {
		codec := tc.codec
		t.Run(codec, func(t *testing.T) {
			ea, eb := fmt.Sprint(1001+2*i), fmt.Sprint(1002+2*i)
			a := StartBotT(t, BotOptions{Kamailio: k, Extension: ea, ToneHz: 600, Codecs: []string{codec}})
			b := StartBotT(t, BotOptions{Kamailio: k, Extension: eb, ToneHz: 1400, Codecs: []string{codec}})
			ctx := testCtx(t, 30*time.Second)
			if err := a.Dial(ctx, k.URI(eb)); err != nil {
				t.Fatal(err)
			}
			for _, bot := range []*Bot{a, b} {
				if _, err := bot.WaitEvent(ctx, EventCallEstablished); err != nil {
					t.Fatal(err)
				}
			}
			for _, bot := range []*Bot{a, b} {
				if _, err := bot.WaitHeard(ctx, time.Second); err != nil {
					t.Fatal(err)
				}
			}
			if err := a.Hangup(ctx); err != nil {
				t.Fatal(err)
			}
			for _, bot := range []*Bot{a, b} {
				if _, err := bot.WaitEvent(ctx, EventCallClosed); err != nil {
					t.Fatal(err)
				}
			}
			if r := checkHeard(t, b, 1400, 600); r != tc.rate {
				t.Errorf("decoded at %d Hz, want %d Hz for %s", r, tc.rate, codec)
			}
			checkHeard(t, a, 600, 1400)
		})
	}
}

func TestPresence(t *testing.T) {
	k := StartKamailioT(t, KamailioOptions{})
	ctx := testCtx(t, 60*time.Second)
	subscribe := func(t *testing.T, transport, target, event, accept, re string) {
		t.Helper()
		res, err := RunSipp(ctx, SippOptions{
			Scenario: ScenarioSubscribe(event, accept, re),
			Target:   k.Addr(transport), Transport: transport, Service: target,
			Username: "1003", Password: k.Password("1003"),
			Keys:    map[string]string{"user": "1003", "domain": k.Domain()},
			Timeout: 15 * time.Second,
		})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Passed() {
			t.Fatalf("SUBSCRIBE %s for %s: %s", event, target, res.Summary())
		}
	}

	t.Run("message-summary", func(t *testing.T) {
		if err := k.SetMWI(ctx, "1001", 2, 1); err != nil {
			t.Fatal(err)
		}
		if _, err := k.WaitPresentity(ctx, "1001", "message-summary"); err != nil {
			t.Fatal(err)
		}
		subscribe(t, "udp", "1001", "message-summary", "application/simple-message-summary", "Voice-Message: 2/1")
		// And over TCP.
		subscribe(t, "tcp", "1001", "message-summary", "application/simple-message-summary", "Voice-Message: 2/1")
	})

	t.Run("dialog", func(t *testing.T) {
		a := StartBotT(t, BotOptions{Kamailio: k, Extension: "1001"})
		b := StartBotT(t, BotOptions{Kamailio: k, Extension: "1002"})
		if err := a.Dial(ctx, k.URI("1002")); err != nil {
			t.Fatal(err)
		}
		if _, err := b.WaitEvent(ctx, EventCallEstablished); err != nil {
			t.Fatal(err)
		}
		if _, err := k.WaitPresentity(ctx, "1002", "dialog"); err != nil {
			t.Fatal(err)
		}
		subscribe(t, "udp", "1002", "dialog", "application/dialog-info+xml", "<state>confirmed</state>")
		if err := a.Hangup(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := b.WaitEvent(ctx, EventCallClosed); err != nil {
			t.Fatal(err)
		}
	})
}

// TestNamedDomain runs the PBX under a domain name that does not resolve:
// clients reach it through Addr as their outbound proxy.
func TestNamedDomain(t *testing.T) {
	k := StartKamailioT(t, KamailioOptions{Domain: "lab.switchboard.test", NoPresence: true,
		Users: map[string]string{"200": "secret200", "201": "secret201"}})
	a := StartBotT(t, BotOptions{Kamailio: k, Extension: "200"})
	b := StartBotT(t, BotOptions{Kamailio: k, Extension: "201", Transport: "tls"})
	ctx := testCtx(t, 30*time.Second)
	if a.AOR() != "sip:200@lab.switchboard.test" || k.URI("201") != "sip:201@lab.switchboard.test" {
		t.Fatalf("AOR %s, URI %s", a.AOR(), k.URI("201"))
	}
	if err := a.Dial(ctx, k.URI("201")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitEvent(ctx, EventCallEstablished); err != nil {
		t.Fatal(err)
	}
	if err := b.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.WaitEvent(ctx, EventCallClosed); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Presentities(ctx); err == nil {
		t.Error("Presentities worked without presence")
	}
}

// TestSippServerScenarios points baresip at sipp's server scenarios: a
// plain answered call, and hold/resume with baresip's hold and resume.
func TestSippServerScenarios(t *testing.T) {
	for _, tt := range []struct {
		name     string
		scenario string
		hold     bool
	}{
		{"answer", ScenarioAnswer(), false},
		{"hold and resume", ScenarioAnswerHoldResume(), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t, 40*time.Second)
			s, err := StartSipp(ctx, SippOptions{Scenario: tt.scenario, Service: "3000", Timeout: 30 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			bot := StartBotT(t, BotOptions{Extension: "2002", NoRegister: true})
			if err := bot.Dial(ctx, s.URI("3000")); err != nil {
				t.Fatal(err)
			}
			if _, err := bot.WaitEvent(ctx, EventCallEstablished); err != nil {
				t.Fatal(err)
			}
			if tt.hold {
				if err := bot.Hold(ctx); err != nil {
					t.Fatal(err)
				}
				// The resume must follow the hold's transaction, not race it.
				if _, err := bot.WaitEvent(ctx, EventCallRemoteSDP); err != nil {
					t.Fatal(err)
				}
				if err := bot.Resume(ctx); err != nil {
					t.Fatal(err)
				}
				if _, err := bot.WaitEvent(ctx, EventCallRemoteSDP); err != nil {
					t.Fatal(err)
				}
			}
			if err := bot.Hangup(ctx); err != nil {
				t.Fatal(err)
			}
			res, err := s.Wait(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !res.Passed() {
				t.Fatal(res.Summary())
			}
		})
	}
}
