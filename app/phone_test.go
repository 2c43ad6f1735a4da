package app_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"switchboard/app"
	"switchboard/app/store"
	"switchboard/audio"
	"switchboard/audio/audiotest"
	"switchboard/internal/lab"
)

// rig is one phone wired to real peers: Kamailio, baresip bots, PortAudio
// over ALSA file devices and the SQLite store.
type rig struct {
	t     *testing.T
	k     *lab.Kamailio
	alsa  *audiotest.ALSA
	phone *app.Phone
	st    *store.Store
	sub   *app.Subscription
	data  string
}

func logger() *slog.Logger {
	if os.Getenv("SWITCHBOARD_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
}

type rigOptions struct {
	domain     string // SIP domain of the lab PBX; a name lets it relay to sipp
	codecs     []string
	autoAnswer bool
	record     bool
	srtp       string
	transport  string
}

func newRig(t *testing.T, o rigOptions) *rig {
	t.Helper()
	alsa := audiotest.DefaultALSA(t) // before PortAudio starts
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	k, err := lab.StartKamailio(ctx, lab.KamailioOptions{Logger: logger(), Domain: o.domain})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	data := t.TempDir()
	st, err := store.Open(ctx, store.Options{Path: filepath.Join(data, "switchboard.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sys, err := audio.NewSystem(audio.SystemOptions{Logger: logger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sys.Close() })

	cfg := app.DefaultConfig()
	cfg.PBX.Transport = "udp"
	if o.transport != "" {
		cfg.PBX.Transport = o.transport
	}
	cfg.PBX.Server = k.Addr(cfg.PBX.Transport)
	cfg.PBX.Domain = k.Domain()
	cfg.PBX.CAFile = k.CAFile()
	if o.srtp != "" {
		cfg.PBX.SRTP = o.srtp
	}
	cfg.Account.Extension = "1001"
	cfg.Audio.Mic = audiotest.MicName
	cfg.Audio.Speaker = audiotest.SpeakerName
	cfg.Audio.Ringer = audiotest.RingerName
	if o.codecs != nil {
		cfg.Audio.Codecs = o.codecs
	}
	cfg.Calls.AutoAnswer = o.autoAnswer
	if o.record {
		cfg.Recording.Mode = "always"
	}
	phone, err := app.NewPhone(app.PhoneOptions{
		Config: cfg, Password: k.Password("1001"), Store: st, Audio: sys, Logger: logger(),
		DataDir: data, Keepalive: time.Second, RetryMin: 200 * time.Millisecond, RetryMax: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, k: k, alsa: alsa, phone: phone, st: st, data: data}
	r.sub = phone.Subscribe(256)
	if err := phone.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		phone.Close(ctx)
	})
	r.waitReg(app.RegRegistered)
	return r
}

func (r *rig) waitReg(want app.RegState) {
	r.t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		if r.phone.Registration().State == want {
			return
		}
		select {
		case <-r.sub.C:
		case <-deadline:
			r.t.Fatalf("registration not %s: %+v", want, r.phone.Registration())
		}
	}
}

// waitCall waits for a call event matching pred and returns the call.
func (r *rig) waitCall(what string, pred func(app.Call) bool) app.Call {
	r.t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case e := <-r.sub.C:
			if e.Type == app.EvCall && pred(*e.Call) {
				return *e.Call
			}
		case <-deadline:
			r.t.Fatalf("timed out waiting for %s; calls now: %+v", what, r.phone.Calls())
		}
	}
}

func state(s app.CallState) func(app.Call) bool {
	return func(c app.Call) bool { return c.State == s }
}

func (r *rig) bot(ext string, tone float64, codecs []string, answer string) *lab.Bot {
	return r.botWith(lab.BotOptions{Extension: ext, ToneHz: tone, Codecs: codecs, AnswerMode: answer})
}

func (r *rig) botWith(o lab.BotOptions) *lab.Bot {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	o.Kamailio, o.Logger = r.k, logger()
	b, err := lab.StartBot(ctx, o)
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { b.Close() })
	return b
}

// heard reads what our speaker played since the last call's pipeline
// opened it: the ALSA file plugin truncates its file on every open.
func (r *rig) heard() []int16 {
	r.t.Helper()
	b, err := os.ReadFile(r.alsa.File(audiotest.SpeakerName))
	if err != nil {
		r.t.Fatal(err)
	}
	return audiotest.BytesToPCM(b)
}

func (r *rig) fileSize(name string) int64 {
	st, err := os.Stat(r.alsa.File(name))
	if err != nil {
		return 0
	}
	return st.Size()
}

// played waits until device name has played at least d since it was last
// opened (instead of sleeping: on a loaded machine media starts late).
func (r *rig) played(name string, d time.Duration) {
	r.t.Helper()
	want := int64(d.Seconds() * audiotest.DeviceFileRate * 2)
	deadline := time.Now().Add(20 * time.Second)
	for r.fileSize(name) < want {
		if time.Now().After(deadline) {
			r.t.Fatalf("%s played %d bytes, want %d", name, r.fileSize(name), want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// exchange waits until we and the bot have each heard d of the call.
func (r *rig) exchange(ctx context.Context, b *lab.Bot, d time.Duration) {
	r.t.Helper()
	r.played(audiotest.SpeakerName, d)
	if _, err := b.WaitHeard(ctx, d); err != nil {
		r.t.Fatal(err)
	}
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// assertBotHeard checks the bot's recording of the last call holds our
// microphone tone.
func assertBotHeard(t *testing.T, b *lab.Bot) {
	t.Helper()
	path := b.LastDecoded()
	if path == "" {
		t.Fatal("the bot recorded nothing")
	}
	samples, rate, err := lab.ReadWAV(path)
	if err != nil {
		t.Fatal(err)
	}
	if !lab.HasTone(samples, rate, audiotest.MicToneHz) {
		t.Fatalf("the bot did not hear our %d Hz microphone tone (dominant %.0f Hz over %d samples)",
			audiotest.MicToneHz, lab.DominantFrequency(samples, rate), len(samples))
	}
}

// assertBotHeardLast checks the last d of the bot's recording of its
// last call (the call must have ended) holds our microphone tone.
func assertBotHeardLast(t *testing.T, b *lab.Bot, d time.Duration) {
	t.Helper()
	samples, rate, err := lab.ReadWAV(b.LastDecoded())
	if err != nil {
		t.Fatal(err)
	}
	n := int(d.Seconds() * float64(rate))
	if n > len(samples) {
		t.Fatalf("the bot's recording is only %d samples", len(samples))
	}
	tail := samples[len(samples)-n:]
	if !lab.HasTone(tail, rate, audiotest.MicToneHz) {
		t.Fatalf("the last %v the bot heard do not hold our tone (dominant %.0f Hz)", d, lab.DominantFrequency(tail, rate))
	}
}

// assertWeHeard checks our speaker played the bot's tone.
func assertWeHeard(t *testing.T, samples []int16, hz float64) {
	t.Helper()
	if !audiotest.HasTone(samples, audiotest.DeviceFileRate, hz, 25) {
		t.Fatalf("our speaker did not play the bot's %.0f Hz tone (dominant %.0f Hz over %d samples)",
			hz, audiotest.DominantFrequency(samples, audiotest.DeviceFileRate), len(samples))
	}
}

func TestCallAudioBothWaysPerCodec(t *testing.T) {
	for _, tc := range []struct{ ours, bots string }{
		{"pcmu", "PCMU"}, {"pcma", "PCMA"}, {"g722", "G722"}, {"opus", "opus"},
	} {
		t.Run(tc.ours, func(t *testing.T) {
			r := newRig(t, rigOptions{codecs: []string{tc.ours}})
			bot := r.bot("1002", 800, []string{tc.bots}, "auto")
			ctx := ctxT(t, 30*time.Second)

			// We call the bot.
			c, err := r.phone.Dial(ctx, "1002")
			if err != nil {
				t.Fatal(err)
			}
			active := r.waitCall("answer", state(app.CallActive))
			if active.Codec != tc.ours {
				t.Fatalf("negotiated %q, want %q", active.Codec, tc.ours)
			}
			r.exchange(ctx, bot, 1500*time.Millisecond)
			// DTMF on every codec (the event clock differs from Opus's).
			if err := r.phone.SendDTMF(ctx, c.ID, "7#"); err != nil {
				t.Fatal(err)
			}
			if err := bot.WaitDTMF(ctx, "7#"); err != nil {
				t.Fatalf("the bot got DTMF %q: %v", bot.ReceivedDTMF(), err)
			}
			if err := r.phone.Hangup(ctx, c.ID); err != nil {
				t.Fatal(err)
			}
			ended := r.waitCall("end", state(app.CallEnded))
			if _, err := bot.WaitEvent(ctx, lab.EventCallClosed); err != nil {
				t.Fatal(err)
			}
			assertWeHeard(t, r.heard(), 800)
			assertBotHeard(t, bot)
			if ended.Disposition != app.DispAnswered || ended.Quality == nil {
				t.Fatalf("ended %+v", ended)
			}

			// The bot calls us. (baresip names its recordings by the
			// second: let the clock move on so this call gets its own.)
			time.Sleep(time.Second)
			if err := bot.Dial(ctx, r.k.AOR("1001")); err != nil {
				t.Fatal(err)
			}
			in := r.waitCall("incoming", state(app.CallIncoming))
			if err := r.phone.Answer(ctx, in.ID); err != nil {
				t.Fatal(err)
			}
			r.waitCall("answer", state(app.CallActive))
			r.exchange(ctx, bot, 1500*time.Millisecond)
			if err := bot.Hangup(ctx); err != nil {
				t.Fatal(err)
			}
			r.waitCall("end", state(app.CallEnded))
			assertWeHeard(t, r.heard(), 800)
			assertBotHeard(t, bot)

			page, err := r.st.ListCalls(ctx, store.Query{})
			if err != nil {
				t.Fatal(err)
			}
			if page.Total != 2 {
				t.Fatalf("history has %d calls, want 2", page.Total)
			}
			for _, h := range page.Calls {
				if h.Disposition != "answered" || h.Codec != tc.ours || h.Number != "1002" || h.End.IsZero() || h.DurationSec < 1 {
					t.Fatalf("history row %+v", h)
				}
				if h.MOS < 1 || h.MOS > 4.5 {
					t.Fatalf("MOS %v out of range", h.MOS)
				}
				t.Logf("%s %s: loss %.1f %%, jitter %.1f ms, RTT %.1f ms, MOS %.2f", h.Direction, h.Codec, h.LossPct, h.JitterMs, h.RTTMs, h.MOS)
			}
		})
	}
}

func TestInboundRingerDeclineMissedHistory(t *testing.T) {
	r := newRig(t, rigOptions{codecs: []string{"pcmu"}})
	bot := r.bot("1002", 800, nil, "auto")
	ctx := ctxT(t, 60*time.Second)

	// Ringing plays on the ringer device, not the speaker.
	if err := bot.Dial(ctx, r.k.AOR("1001")); err != nil {
		t.Fatal(err)
	}
	in := r.waitCall("incoming", state(app.CallIncoming))
	if in.Number != "1002" || in.Waiting {
		t.Fatalf("incoming %+v", in)
	}
	r.played(audiotest.RingerName, time.Second)
	ring, err := r.alsa.Played(audiotest.RingerName)
	if err != nil {
		t.Fatal(err)
	}
	tone := audio.RingerTone() // a warble between two frequencies
	if audiotest.ToneRatio(ring, audiotest.DeviceFileRate, tone.Freqs[0], 25)+audiotest.ToneRatio(ring, audiotest.DeviceFileRate, tone.Freqs[1], 25) < 0.6 {
		t.Fatalf("the ringer did not ring (dominant %.0f Hz over %d samples)",
			audiotest.DominantFrequency(ring, audiotest.DeviceFileRate), len(ring))
	}
	if err := r.phone.Decline(ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	if e := r.waitCall("declined", state(app.CallEnded)); e.Disposition != app.DispDeclined {
		t.Fatalf("disposition %s", e.Disposition)
	}
	ev, err := bot.WaitEvent(ctx, lab.EventCallClosed)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Param != "486 Busy Here" {
		t.Fatalf("the caller saw %q, want 486 Busy Here", ev.Param)
	}

	// The caller gives up before we answer: a missed call.
	if err := bot.Dial(ctx, r.k.AOR("1001")); err != nil {
		t.Fatal(err)
	}
	r.waitCall("incoming", state(app.CallIncoming))
	if err := bot.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	if e := r.waitCall("missed", state(app.CallEnded)); e.Disposition != app.DispMissed {
		t.Fatalf("disposition %s", e.Disposition)
	}

	// Outbound to a busy bot and to nobody.
	busy := r.bot("1003", 600, nil, "manual")
	if _, err := r.phone.Dial(ctx, "1003"); err != nil {
		t.Fatal(err)
	}
	if _, err := busy.WaitEvent(ctx, lab.EventCallIncoming); err != nil {
		t.Fatal(err)
	}
	if _, err := busy.Command(ctx, "hangup", ""); err != nil {
		t.Fatal(err)
	}
	if e := r.waitCall("rejected", state(app.CallEnded)); e.Disposition != app.DispBusy && e.Disposition != app.DispDeclined {
		t.Fatalf("outbound rejected: disposition %s (%s)", e.Disposition, e.Reason)
	}
	if _, err := r.phone.Dial(ctx, "7777"); err != nil {
		t.Fatal(err)
	}
	if e := r.waitCall("not found", state(app.CallEnded)); e.Disposition != app.DispFailed || e.Reason == "" {
		t.Fatalf("unknown number: %+v", e)
	}

	page, err := r.st.ListCalls(ctx, store.Query{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, h := range page.Calls {
		got[h.Direction+"/"+h.Disposition]++
		if h.End.IsZero() || !h.Answer.IsZero() || h.DurationSec != 0 {
			t.Errorf("unanswered call row %+v", h)
		}
	}
	want := map[string]int{"inbound/declined": 1, "inbound/missed": 1, "outbound/failed": 1}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("history %v, want %s x%d", got, k, n)
		}
	}
	missed, err := r.st.ListCalls(ctx, store.Query{Disposition: "missed"})
	if err != nil || missed.Total != 1 {
		t.Fatalf("missed filter: %+v %v", missed, err)
	}
}

func TestDTMFHoldResumeMute(t *testing.T) {
	r := newRig(t, rigOptions{codecs: []string{"pcmu"}})
	bot := r.bot("1002", 800, nil, "auto")
	ctx := ctxT(t, 60*time.Second)
	c, err := r.phone.Dial(ctx, "1002")
	if err != nil {
		t.Fatal(err)
	}
	r.waitCall("answer", state(app.CallActive))
	bot.WaitEvent(ctx, lab.EventCallEstablished)

	// DTMF both ways.
	if err := r.phone.SendDTMF(ctx, c.ID, "12#"); err != nil {
		t.Fatal(err)
	}
	if err := bot.WaitDTMF(ctx, "12#"); err != nil {
		t.Fatalf("the bot got %q: %v", bot.ReceivedDTMF(), err)
	}
	if err := r.phone.SendDTMF(ctx, c.ID, "x"); err == nil {
		t.Fatal("a non-DTMF digit was accepted")
	}
	if err := bot.SendDTMF(ctx, "58"); err != nil {
		t.Fatal(err)
	}
	var got string
	deadline := time.After(10 * time.Second)
	for got != "58" {
		select {
		case e := <-r.sub.C:
			if e.Type == app.EvDTMF {
				got += e.DTMF
			}
		case <-deadline:
			t.Fatalf("received DTMF %q, want 58", got)
		}
	}

	// Mute keeps the call up.
	if err := r.phone.Mute(ctx, c.ID, true); err != nil {
		t.Fatal(err)
	}
	if m := r.waitCall("muted", func(c app.Call) bool { return c.Muted }); m.State != app.CallActive {
		t.Fatalf("muted call %+v", m)
	}
	r.phone.Mute(ctx, c.ID, false)

	// Hold: our speaker stops, the bot is held; resume brings audio back.
	if err := r.phone.Hold(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	r.waitCall("held", state(app.CallHeld))
	size := r.fileSize(audiotest.SpeakerName)
	time.Sleep(time.Second)
	if grown := r.fileSize(audiotest.SpeakerName) - size; grown != 0 {
		t.Fatalf("speaker still played %d bytes while on hold", grown)
	}
	if err := r.phone.Resume(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	r.waitCall("resumed", state(app.CallActive))
	// That the peer hears us again after a resume is checked by the
	// call-waiting swap: baresip 1.0 neither restarts its own source nor,
	// after a short hold, its recorder, so this call can't show it.
	r.phone.Hangup(ctx, c.ID)
	r.waitCall("end", state(app.CallEnded))
	bot.WaitEvent(ctx, lab.EventCallClosed)

	// A second call: the bot holds us and the widget learns it.
	c, err = r.phone.Dial(ctx, "1002")
	if err != nil {
		t.Fatal(err)
	}
	r.waitCall("answer", state(app.CallActive))
	bot.WaitEvent(ctx, lab.EventCallEstablished)
	// The bot holds us: the widget learns it.
	if err := bot.Hold(ctx); err != nil {
		t.Fatal(err)
	}
	r.waitCall("remote hold", func(c app.Call) bool { return c.RemoteHold })
	if err := bot.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	r.waitCall("remote resume", func(c app.Call) bool { return !c.RemoteHold && c.State == app.CallActive })
	r.phone.Hangup(ctx, c.ID)
	r.waitCall("end", state(app.CallEnded))
}

func TestCallWaitingAnswerSwap(t *testing.T) {
	r := newRig(t, rigOptions{codecs: []string{"pcmu"}})
	first := r.bot("1002", 800, nil, "auto")
	second := r.bot("1003", 1200, nil, "auto")
	ctx := ctxT(t, 60*time.Second)

	c1, err := r.phone.Dial(ctx, "1002")
	if err != nil {
		t.Fatal(err)
	}
	r.waitCall("first answered", state(app.CallActive))
	first.WaitEvent(ctx, lab.EventCallEstablished)

	ringerBefore := r.fileSize(audiotest.RingerName)
	if err := second.Dial(ctx, r.k.AOR("1001")); err != nil {
		t.Fatal(err)
	}
	c2 := r.waitCall("second ringing", state(app.CallIncoming))
	if !c2.Waiting {
		t.Fatal("a call arriving during a call is not marked waiting")
	}
	time.Sleep(time.Second)
	if r.fileSize(audiotest.RingerName) != ringerBefore {
		t.Fatal("call waiting rang the ringer instead of beeping in the earpiece")
	}
	if err := r.phone.Answer(ctx, c2.ID); err != nil {
		t.Fatal(err)
	}
	r.waitCall("first held", func(c app.Call) bool { return c.ID == c1.ID && c.State == app.CallHeld })
	r.waitCall("second active", func(c app.Call) bool { return c.ID == c2.ID && c.State == app.CallActive })
	r.exchange(ctx, second, time.Second)
	assertWeHeard(t, r.heard(), 1200)

	// Swap back to the first caller.
	if err := r.phone.Swap(ctx, c1.ID); err != nil {
		t.Fatal(err)
	}
	r.waitCall("first active again", func(c app.Call) bool { return c.ID == c1.ID && c.State == app.CallActive })
	calls := r.phone.Calls()
	if len(calls) != 2 {
		t.Fatalf("%d calls, want 2", len(calls))
	}
	for _, c := range calls {
		if c.ID == c2.ID && c.State != app.CallHeld {
			t.Fatalf("second call is %s after swap, want held", c.State)
		}
	}
	if _, err := first.WaitHeard(ctx, 500*time.Millisecond); err != nil {
		t.Fatal(err)
	}

	for _, id := range []string{c1.ID, c2.ID} {
		if err := r.phone.Hangup(ctx, id); err != nil {
			t.Fatal(err)
		}
		r.waitCall("ended", func(c app.Call) bool { return c.ID == id && c.State == app.CallEnded })
	}
	// After the swap the first caller hears us again.
	first.WaitEvent(ctx, lab.EventCallClosed)
	assertBotHeardLast(t, first, 500*time.Millisecond)
	if n := len(r.phone.Calls()); n != 0 {
		t.Fatalf("%d calls left", n)
	}
	page, _ := r.st.ListCalls(ctx, store.Query{Disposition: "answered"})
	if page.Total != 2 {
		t.Fatalf("%d answered calls in history, want 2", page.Total)
	}
}

func TestAutoAnswerAndRecording(t *testing.T) {
	r := newRig(t, rigOptions{codecs: []string{"pcmu"}, autoAnswer: true, record: true})
	bot := r.bot("1002", 800, nil, "auto")
	ctx := ctxT(t, 60*time.Second)
	if err := bot.Dial(ctx, r.k.AOR("1001")); err != nil {
		t.Fatal(err)
	}
	r.waitCall("auto-answered", state(app.CallActive))
	r.exchange(ctx, bot, 1500*time.Millisecond)
	bot.Hangup(ctx)
	ended := r.waitCall("end", state(app.CallEnded))
	rec, err := r.st.ListRecordings(ctx, store.RecordingQuery{CallID: ended.ID})
	if err != nil || rec.Total != 1 {
		t.Fatalf("recordings %+v %v", rec, err)
	}
	got := rec.Recordings[0]
	if got.Format != "opus" || got.Bytes < 1000 || got.DurationSec < 1 {
		t.Fatalf("recording %+v", got)
	}
	b, err := os.ReadFile(got.Path)
	if err != nil || string(b[:4]) != "OggS" {
		t.Fatalf("recording is not an Ogg file: %v", err)
	}
	h, err := r.st.GetCall(ctx, ended.ID)
	if err != nil || h.RecordingID != got.ID {
		t.Fatalf("call row %+v does not point at recording %s (%v)", h, got.ID, err)
	}
}

func TestUnsupportedCodecOfferRefused(t *testing.T) {
	r := newRig(t, rigOptions{codecs: []string{"pcmu"}})
	bot := r.bot("1002", 800, []string{"G722"}, "auto")
	ctx := ctxT(t, 30*time.Second)
	if err := bot.Dial(ctx, r.k.AOR("1001")); err != nil {
		t.Fatal(err)
	}
	ev, err := bot.WaitEvent(ctx, lab.EventCallClosed)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Param != "488 Not Acceptable Here" {
		t.Fatalf("the caller saw %q, want 488", ev.Param)
	}
	if n := len(r.phone.Calls()); n != 0 {
		t.Fatalf("a call we cannot answer rang: %d calls", n)
	}
}

func TestMissingDeviceFallsBackAndCallWorks(t *testing.T) {
	r := newRig(t, rigOptions{codecs: []string{"pcmu"}})
	ctx := ctxT(t, 30*time.Second)
	if _, err := r.phone.UpdateSettings(ctx, func(s *app.Settings) error {
		s.Mic = "usb-headset-unplugged"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	bot := r.bot("1002", 800, nil, "auto")
	devices := r.phone.Subscribe(64)
	defer devices.Close()
	c, err := r.phone.Dial(ctx, "1002")
	if err != nil {
		t.Fatal(err)
	}
	r.waitCall("answer", state(app.CallActive))
	deadline := time.After(10 * time.Second)
	for fell := false; !fell; {
		select {
		case e := <-devices.C:
			if e.Type == app.EvDevice && e.Device.Kind == "fallback" && e.Device.Role == "mic" {
				if e.Device.Name != "usb-headset-unplugged" {
					t.Fatalf("fallback event names %q", e.Device.Name)
				}
				fell = true
			}
		case <-deadline:
			t.Fatal("no fallback event for a missing microphone")
		}
	}
	r.exchange(ctx, bot, 1500*time.Millisecond)
	r.phone.Hangup(ctx, c.ID)
	r.waitCall("end", state(app.CallEnded))
	bot.WaitEvent(ctx, lab.EventCallClosed)
	// The default capture device is the lab microphone: the bot hears it.
	assertBotHeard(t, bot)
}

func TestLocalRingback(t *testing.T) {
	r := newRig(t, rigOptions{codecs: []string{"pcmu"}})
	ctx := ctxT(t, 30*time.Second)

	// A callee that only rings: our own ringback plays in the earpiece.
	r.bot("1002", 800, nil, "manual")
	c, err := r.phone.Dial(ctx, "1002")
	if err != nil {
		t.Fatal(err)
	}
	r.waitCall("ringing", state(app.CallRinging))
	r.played(audiotest.SpeakerName, time.Second)
	rb := audio.RingbackTone()
	if got := r.heard(); audiotest.ToneRatio(got, audiotest.DeviceFileRate, rb.Freqs[0], 25) < 0.6 {
		t.Fatalf("no local ringback while the callee rings (dominant %.0f Hz over %d samples)",
			audiotest.DominantFrequency(got, audiotest.DeviceFileRate), len(got))
	}
	r.phone.Hangup(ctx, c.ID)
	r.waitCall("cancelled", state(app.CallEnded))

}

// SRTP (SDES) over TLS signalling: both directions carry audio, and a
// phone that requires SRTP refuses a plain-RTP caller.
func TestTLSAndSRTP(t *testing.T) {
	r := newRig(t, rigOptions{codecs: []string{"pcmu"}, srtp: "required", transport: "tls"})
	secure := r.botWith(lab.BotOptions{Extension: "1002", ToneHz: 800, SRTP: true, Transport: "tls"})
	ctx := ctxT(t, 40*time.Second)

	c, err := r.phone.Dial(ctx, "1002")
	if err != nil {
		t.Fatal(err)
	}
	r.waitCall("answer", state(app.CallActive))
	r.exchange(ctx, secure, 1500*time.Millisecond)
	r.phone.Hangup(ctx, c.ID)
	r.waitCall("end", state(app.CallEnded))
	secure.WaitEvent(ctx, lab.EventCallClosed)
	assertWeHeard(t, r.heard(), 800)
	assertBotHeard(t, secure)

	time.Sleep(time.Second) // baresip names recordings by the second
	if err := secure.Dial(ctx, r.k.AOR("1001")); err != nil {
		t.Fatal(err)
	}
	in := r.waitCall("incoming", state(app.CallIncoming))
	r.phone.Answer(ctx, in.ID)
	r.waitCall("answer", state(app.CallActive))
	r.exchange(ctx, secure, 1500*time.Millisecond)
	secure.Hangup(ctx)
	r.waitCall("end", state(app.CallEnded))
	assertWeHeard(t, r.heard(), 800)
	assertBotHeard(t, secure)

	plain := r.bot("1003", 600, nil, "auto")
	if err := plain.Dial(ctx, r.k.AOR("1001")); err != nil {
		t.Fatal(err)
	}
	ev, err := plain.WaitEvent(ctx, lab.EventCallClosed)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Param != "488 Not Acceptable Here" {
		t.Fatalf("a plain-RTP caller saw %q, want 488", ev.Param)
	}
}

// An extension after the number ("1002,45", as the widget writes
// "1002 x45") is dialled as DTMF once the callee answers; the call is to
// the number alone. A bad extension is refused before anything is sent.
func TestDialWithExtension(t *testing.T) {
	r := newRig(t, rigOptions{codecs: []string{"pcmu"}})
	bot := r.bot("1002", 800, nil, "auto")
	ctx := ctxT(t, 60*time.Second)
	if _, err := r.phone.Dial(ctx, "1002,4x"); err == nil {
		t.Fatal("dialled with a bad extension")
	}
	c, err := r.phone.Dial(ctx, "1002,45")
	if err != nil {
		t.Fatal(err)
	}
	if c.Number != "1002" {
		t.Errorf("the call is to %q, want 1002", c.Number)
	}
	r.waitCall("answer", state(app.CallActive))
	if err := bot.WaitDTMF(ctx, "45"); err != nil {
		t.Fatalf("the bot got %q: %v", bot.ReceivedDTMF(), err)
	}
}
