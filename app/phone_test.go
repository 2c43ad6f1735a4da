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
	codecs     []string
	autoAnswer bool
	record     bool
}

func newRig(t *testing.T, o rigOptions) *rig {
	t.Helper()
	alsa := audiotest.DefaultALSA(t) // before PortAudio starts
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	k, err := lab.StartKamailio(ctx, lab.KamailioOptions{Logger: logger()})
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
	cfg.PBX.Server = k.Addr("udp")
	cfg.PBX.Domain = k.Domain()
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
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, err := lab.StartBot(ctx, lab.BotOptions{
		Kamailio: r.k, Extension: ext, ToneHz: tone, Codecs: codecs, AnswerMode: answer, Logger: logger(),
	})
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
			time.Sleep(2 * time.Second)
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

			// The bot calls us.
			if err := bot.Dial(ctx, r.k.AOR("1001")); err != nil {
				t.Fatal(err)
			}
			in := r.waitCall("incoming", state(app.CallIncoming))
			if err := r.phone.Answer(ctx, in.ID); err != nil {
				t.Fatal(err)
			}
			r.waitCall("answer", state(app.CallActive))
			time.Sleep(2 * time.Second)
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
				if h.Disposition != "answered" || h.Codec != tc.ours || h.Number != "1002" || h.End.IsZero() || h.DurationSec < 1.5 {
					t.Fatalf("history row %+v", h)
				}
				if h.MOS < 1 || h.MOS > 4.5 {
					t.Fatalf("MOS %v out of range", h.MOS)
				}
			}
		})
	}
}
