package sip_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"switchboard/internal/lab"
	"switchboard/sip"
)

// uaAddr is where Kamailio reaches our UA (its registered contact).
func uaAddr(t *testing.T, k *lab.Kamailio, ext string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cs, err := k.WaitRegistered(ctx, ext, 1)
	if err != nil {
		t.Fatal(err)
	}
	a := strings.TrimPrefix(cs[0].Address, "sip:"+ext+"@")
	if i := strings.IndexByte(a, ';'); i >= 0 {
		a = a[:i]
	}
	return a
}

// Bad offers sent straight at our UA get 488 before anything rings.
func TestMalformedOffersGet488(t *testing.T) {
	k := startKamailio(t)
	cw := newCallWatch()
	registeredUA(t, k, "1001", cw)
	target := uaAddr(t, k, "1001")
	for name, scenario := range map[string]string{
		"garbage SDP":   lab.ScenarioInviteBadSDP(488),
		"only G.729":    lab.ScenarioInviteOnlyG729(488),
		"codec-less":    lab.ScenarioInvite("invite-no-codecs", lab.SDPNoCodecs, 488, 0),
		"no SDP at all": lab.ScenarioInvite("invite-no-sdp", "", 488, 0),
	} {
		t.Run(name, func(t *testing.T) {
			res, err := lab.RunSipp(ctx15(t), lab.SippOptions{Scenario: scenario, Target: target, Service: "1001", Timeout: 15 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if !res.Passed() || res.FinalResponse() != 488 {
				t.Fatalf("final response %d, want 488\n%s", res.FinalResponse(), res.Summary())
			}
		})
	}
	select {
	case e := <-cw.ch:
		t.Fatalf("a bad offer reached the agent: %s", e.Kind)
	default:
	}
}

// A scripted caller: we answer, it holds us (sipp checks our answers) and
// hangs up.
func TestScriptedCallerHoldAndBye(t *testing.T) {
	k := startKamailio(t)
	cw := newCallWatch()
	registeredUA(t, k, "1001", cw)
	target := uaAddr(t, k, "1001")
	done := make(chan *lab.SippResult, 1)
	go func() {
		res, err := lab.RunSipp(context.Background(), lab.SippOptions{
			Scenario: lab.ScenarioInviteAnswered(time.Second), Target: target, Service: "1001", Timeout: 20 * time.Second,
		})
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	in := cw.wait(t, sip.EvIncoming)
	if err := in.Call.Answer(ctx15(t)); err != nil {
		t.Fatal(err)
	}
	cw.wait(t, sip.EvAnswered)
	if e := cw.wait(t, sip.EvEnded); e.Cause != sip.CauseRemoteHangup {
		t.Fatalf("cause %s", e.Cause)
	}
	res := <-done
	if res == nil || !res.Passed() {
		t.Fatalf("sipp: %v", res)
	}
}

// We call a scripted callee, hold and resume; sipp checks our re-INVITEs
// say sendonly/inactive and then sendrecv.
func TestScriptedCalleeHoldResume(t *testing.T) {
	// A named domain, so Kamailio relays a request for 127.0.0.1:port to
	// sipp instead of taking it for one of its own users.
	kctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	k, err := lab.StartKamailio(kctx, lab.KamailioOptions{Domain: "lab.switchboard.test"})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	cw := newCallWatch()
	ua := registeredUA(t, k, "1001", cw)
	ctx := ctx15(t)
	s, err := lab.StartSipp(ctx, lab.SippOptions{Scenario: lab.ScenarioAnswerHoldResume(), Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := ua.Dial(ctx, s.URI("callee"))
	if err != nil {
		t.Fatal(err)
	}
	cw.wait(t, sip.EvAnswered)
	if err := c.Hold(ctx); err != nil {
		s.Close()
		res, _ := s.Wait(context.Background())
		if res != nil {
			t.Log(res.Summary())
		}
		t.Fatal(err)
	}
	if err := c.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := s.Wait(ctx)
	if err != nil || !res.Passed() {
		t.Fatalf("sipp: %v %v", err, res)
	}
}
