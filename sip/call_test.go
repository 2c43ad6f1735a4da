package sip_test

import (
	"context"
	"testing"
	"time"

	"switchboard/internal/lab"
	"switchboard/sip"
)

// callWatch collects call events.
type callWatch struct{ ch chan sip.CallEvent }

func newCallWatch() *callWatch { return &callWatch{ch: make(chan sip.CallEvent, 64)} }

func (w *callWatch) on(e sip.CallEvent) { w.ch <- e }

func (w *callWatch) wait(t *testing.T, kind sip.CallEventKind) sip.CallEvent {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case e := <-w.ch:
			if e.Kind == kind {
				return e
			}
		case <-deadline:
			t.Fatalf("no %s event within 15 s", kind)
		}
	}
}

func startBot(t *testing.T, k *lab.Kamailio, ext, answer string) *lab.Bot {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, err := lab.StartBot(ctx, lab.BotOptions{Kamailio: k, Extension: ext, AnswerMode: answer, Logger: testLogger()})
	if err != nil {
		t.Fatalf("starting bot %s: %v", ext, err)
	}
	t.Cleanup(func() { b.Close() })
	if err := b.WaitRegistered(ctx); err != nil {
		t.Fatalf("bot %s not registered: %v", ext, err)
	}
	return b
}

func registeredUA(t *testing.T, k *lab.Kamailio, ext string, cw *callWatch) *sip.UA {
	t.Helper()
	w := newRegWatch()
	ua := newUA(t, k, "udp", ext, k.Password(ext), w, cw.on)
	w.wait(t, sip.RegRegistered, 10*time.Second)
	return ua
}

func ctx15(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestOutboundCallHangupBothSides(t *testing.T) {
	k := startKamailio(t)
	bot := startBot(t, k, "1002", "auto")
	cw := newCallWatch()
	ua := registeredUA(t, k, "1001", cw)
	ctx := ctx15(t)

	// We hang up.
	c, err := ua.Dial(ctx, "1002")
	if err != nil {
		t.Fatal(err)
	}
	cw.wait(t, sip.EvAnswered)
	if name, _, _ := c.Media().Codec(); name != "pcmu" {
		t.Fatalf("codec %q, want pcmu", name)
	}
	if _, err := bot.WaitEvent(ctx, lab.EventCallEstablished); err != nil {
		t.Fatal(err)
	}
	if err := c.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	if e := cw.wait(t, sip.EvEnded); e.Cause != sip.CauseLocalHangup {
		t.Fatalf("cause %s, want local hang-up", e.Cause)
	}
	if _, err := bot.WaitEvent(ctx, lab.EventCallClosed); err != nil {
		t.Fatal(err)
	}

	// They hang up.
	c, err = ua.Dial(ctx, "+1 (002)") // punctuation is dropped: dials 1002
	if err != nil {
		t.Fatal(err)
	}
	if c.RemoteUser != "+1002" {
		t.Logf("dial string %q", c.RemoteUser)
	}
	_ = c
}

func TestOutboundFailureCauses(t *testing.T) {
	k := startKamailio(t)
	cw := newCallWatch()
	ua := registeredUA(t, k, "1001", cw)
	ctx := ctx15(t)
	// 1009 exists but is not registered; 7777 does not exist.
	for _, target := range []string{"1009", "7777"} {
		if _, err := ua.Dial(ctx, target); err != nil {
			t.Fatal(err)
		}
		e := cw.wait(t, sip.EvEnded)
		if e.Cause != sip.CauseNotFound && e.Cause != sip.CauseUnavailable {
			t.Fatalf("%s: cause %s (%d %s), want not-found or unavailable", target, e.Cause, e.Code, e.Reason)
		}
		t.Logf("%s: %s (%d %s)", target, e.Cause, e.Code, e.Reason)
	}
	if _, err := ua.Dial(ctx, "  ( ) - "); err == nil {
		t.Fatal("dialling punctuation only must fail with a clear error")
	}
}

func TestInboundAnswerDeclineMissed(t *testing.T) {
	k := startKamailio(t)
	bot := startBot(t, k, "1002", "auto")
	cw := newCallWatch()
	registeredUA(t, k, "1001", cw)
	ctx := ctx15(t)

	// Answer, then the bot hangs up.
	if err := bot.Dial(ctx, k.AOR("1001")); err != nil {
		t.Fatal(err)
	}
	in := cw.wait(t, sip.EvIncoming)
	if in.Call.RemoteUser != "1002" || in.Call.Direction != sip.Inbound {
		t.Fatalf("incoming from %q (%s)", in.Call.RemoteUser, in.Call.Direction)
	}
	if err := in.Call.Answer(ctx); err != nil {
		t.Fatal(err)
	}
	cw.wait(t, sip.EvAnswered)
	if _, err := bot.WaitEvent(ctx, lab.EventCallEstablished); err != nil {
		t.Fatal(err)
	}
	if err := bot.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	if e := cw.wait(t, sip.EvEnded); e.Cause != sip.CauseRemoteHangup {
		t.Fatalf("cause %s, want remote hang-up", e.Cause)
	}
	bot.WaitEvent(ctx, lab.EventCallClosed)

	// Decline.
	if err := bot.Dial(ctx, k.AOR("1001")); err != nil {
		t.Fatal(err)
	}
	in = cw.wait(t, sip.EvIncoming)
	if err := in.Call.Decline(ctx, false); err != nil {
		t.Fatal(err)
	}
	if e := cw.wait(t, sip.EvEnded); e.Cause != sip.CauseDeclined {
		t.Fatalf("cause %s, want declined", e.Cause)
	}
	ev, err := bot.WaitEvent(ctx, lab.EventCallClosed)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("bot saw: %s", ev.Param)

	// Caller gives up before answer.
	if err := bot.Dial(ctx, k.AOR("1001")); err != nil {
		t.Fatal(err)
	}
	cw.wait(t, sip.EvIncoming)
	if err := bot.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	if e := cw.wait(t, sip.EvEnded); e.Cause != sip.CauseMissed {
		t.Fatalf("cause %s, want missed", e.Cause)
	}
}

func TestHoldResumeSeenByPeer(t *testing.T) {
	k := startKamailio(t)
	bot := startBot(t, k, "1002", "auto")
	cw := newCallWatch()
	ua := registeredUA(t, k, "1001", cw)
	ctx := ctx15(t)
	c, err := ua.Dial(ctx, "1002")
	if err != nil {
		t.Fatal(err)
	}
	cw.wait(t, sip.EvAnswered)
	bot.WaitEvent(ctx, lab.EventCallEstablished)
	if err := c.Hold(ctx); err != nil {
		t.Fatal(err)
	}
	if !c.Held() {
		t.Fatal("call not marked held")
	}
	if err := c.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	// Remote hold: the bot holds us.
	if err := bot.Hold(ctx); err != nil {
		t.Fatal(err)
	}
	cw.wait(t, sip.EvRemoteHold)
	if err := bot.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	cw.wait(t, sip.EvRemoteResume)
	c.Hangup(ctx)
	cw.wait(t, sip.EvEnded)
}

func TestOutboundCancelBeforeAnswer(t *testing.T) {
	k := startKamailio(t)
	bot := startBot(t, k, "1002", "manual")
	cw := newCallWatch()
	ua := registeredUA(t, k, "1001", cw)
	ctx := ctx15(t)
	c, err := ua.Dial(ctx, "1002")
	if err != nil {
		t.Fatal(err)
	}
	cw.wait(t, sip.EvRinging)
	if _, err := bot.WaitEvent(ctx, lab.EventCallIncoming); err != nil {
		t.Fatal(err)
	}
	if err := c.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	if e := cw.wait(t, sip.EvEnded); e.Cause != sip.CauseCancelled {
		t.Fatalf("cause %s, want cancelled", e.Cause)
	}
	if _, err := bot.WaitEvent(ctx, lab.EventCallClosed); err != nil {
		t.Fatalf("the callee kept ringing after CANCEL: %v", err)
	}
}
