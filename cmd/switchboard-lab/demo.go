package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"switchboard/internal/lab"
)

type demoOptions struct {
	app      string
	tourOnly bool
	stdin    io.Reader
	out      io.Writer
	log      *slog.Logger
}

// demo brings up the lab and the app, runs a short guided tour, then
// hands the agent a prompt.
func demo(ctx context.Context, o demoOptions) error {
	// The app's log lines and the tour write to the same console.
	o.out = &lockedWriter{w: o.out}
	say := func(format string, args ...any) { fmt.Fprintf(o.out, format+"\n", args...) }
	say("Switchboard demo: a lab PBX and two phone bots on 127.0.0.1.")

	// The sample contact Zhang San's number is a lab phone too.
	users := lab.DefaultUsers()
	users[demoCaller] = "pw" + demoCaller
	k, err := lab.StartKamailio(ctx, lab.KamailioOptions{Users: users, Logger: o.log})
	if err != nil {
		return fmt.Errorf("starting the lab PBX (Kamailio): %w", err)
	}
	defer k.Close()
	say("  PBX      Kamailio at %s (udp/tcp), %s (tls)", k.Addr("udp"), k.Addr("tls"))

	answering, err := lab.StartBot(ctx, lab.BotOptions{Kamailio: k, Extension: "1002", ToneHz: 800, Logger: o.log,
		Codecs: []string{"opus", "G722", "PCMU", "PCMA"}})
	if err != nil {
		return fmt.Errorf("starting bot 1002: %w", err)
	}
	defer answering.Close()
	say("  bot 1002 answers every call and plays an 800 Hz tone")
	caller, err := lab.StartBot(ctx, lab.BotOptions{Kamailio: k, Extension: "1003", ToneHz: 1200, Logger: o.log})
	if err != nil {
		return fmt.Errorf("starting bot 1003: %w", err)
	}
	defer caller.Close()
	say("  bot 1003 calls you (1200 Hz tone)")

	crmURL, crmPort, err := reserveDynamics()
	if err != nil {
		return err
	}
	a, err := startApp(ctx, labAppOptions{bin: o.app, k: k, log: o.log, crmURL: crmURL, onLine: func(l string) {
		if strings.Contains(l, "msg=call ") || strings.Contains(l, "msg=registration") ||
			strings.Contains(l, "level=ERROR") || strings.Contains(l, "level=WARN") || strings.Contains(l, "widget ready") {
			fmt.Fprintf(o.out, "  app │ %s\n", trimLog(l))
		}
	}})
	if err != nil {
		return err
	}
	defer a.stop()
	took, err := a.waitRegistered(ctx)
	if err != nil {
		return err
	}
	say("\nSwitchboard is registered as extension 1001 (%v from start).", took.Round(time.Millisecond))
	say("  widget   https://localhost:%d/  (run `%s cert install` once to trust its local CA)", a.port, o.app)
	say("  sound    the microphone plays a 440 Hz tone; what you hear is written to %s", filepath.Join(a.home, "speaker.out.raw"))
	dyn, err := startDynamics(crmPort, a)
	if err != nil {
		return fmt.Errorf("starting the Dynamics-like page: %w", err)
	}
	defer dyn.Close()
	say("  dynamics a Dynamics-like page with sample contacts, the widget in its side panel:")
	say("           %s/main.aspx", dyn.host.URL())
	if spki, err := appSPKI(a.dataDir); err == nil {
		say("           open it with: chromium --user-data-dir=$(mktemp -d) --ignore-certificate-errors-spki-list=%s,%s %s/main.aspx",
			dyn.cert.SPKI, spki, dyn.host.URL())
	}
	say("           (or trust %s and the app's CA)", dyn.caFile)

	cli := func(args ...string) string {
		out, err := a.cli(ctx, args...)
		if err != nil && out == "" {
			out = err.Error()
		}
		return out
	}
	pause := func(d time.Duration) bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(d):
			return true
		}
	}

	say("\n1. You call the answering bot: switchboard call 1002")
	say("   %s", cli("call", "1002"))
	if !pause(4 * time.Second) {
		return nil
	}
	say("   %s", strings.ReplaceAll(cli("status"), "\n", "\n   "))
	say("   %s", cli("hangup"))
	pause(500 * time.Millisecond)
	say("   your speaker played: %s", dominant(filepath.Join(a.home, "speaker.out.raw")))

	say("\n2. The calling bot calls you; you answer: switchboard answer")
	if err := caller.Dial(ctx, k.AOR("1001")); err != nil {
		return err
	}
	if waitIncoming(ctx, a) {
		say("   %s", cli("answer"))
		pause(3 * time.Second)
		if err := caller.Hangup(ctx); err == nil {
			say("   the bot hung up")
		}
		pause(500 * time.Millisecond)
		say("   your speaker played: %s", dominant(filepath.Join(a.home, "speaker.out.raw")))
	}

	say("\n3. Your call history: switchboard history")
	say("   %s", strings.ReplaceAll(cli("history"), "\n", "\n   "))

	say("\n4. Zhang San (a sample contact, %s) calls; the Dynamics-like page pops the record and logs the call", demoCaller)
	if err := watchPop(ctx, dyn, a, k, say); err != nil {
		say("   (skipped: %v)", err)
	}
	if o.tourOnly {
		say("\nTour done.")
		return nil
	}

	say("\nYour turn. Commands: call NUMBER | answer | hangup | status | history | ring | crm | quit")
	say("(crm: Zhang San calls you; with the Dynamics-like page open, watch the record pop and the activity page)")
	say("(bot 1003 also calls you every 45 seconds; open the widget in a browser to use it there)")
	go func() {
		t := time.NewTicker(45 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				_ = caller.Dial(ctx, k.AOR("1001"))
				go func() {
					// Give up after 20 s, like a real caller.
					select {
					case <-ctx.Done():
					case <-time.After(20 * time.Second):
						_ = caller.Hangup(ctx)
					}
				}()
			}
		}
	}()
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(o.stdin)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	for {
		fmt.Fprint(o.out, "switchboard> ")
		var line string
		select {
		case <-ctx.Done():
			return nil
		case l, ok := <-lines:
			if !ok {
				// No terminal (or end of input): keep the lab up until Ctrl-C.
				say("\n(no more input: the lab keeps running until Ctrl-C)")
				<-ctx.Done()
				return nil
			}
			line = strings.TrimSpace(l)
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "quit", "exit":
			return nil
		case "ring":
			_ = caller.Dial(ctx, k.AOR("1001"))
			say("bot 1003 is calling you")
		case "crm":
			if err := crmCall(ctx, k); err != nil {
				say("%v", err)
			} else {
				say("Zhang San (%s) is calling you", demoCaller)
			}
		case "call", "answer", "hangup", "status", "history":
			say("%s", cli(f...))
		default:
			say("commands: call NUMBER | answer | hangup | status | history | ring | crm | quit")
		}
	}
}

// waitIncoming polls the app until a call rings.
func waitIncoming(ctx context.Context, a *labApp) bool {
	for i := 0; i < 50; i++ {
		out, _ := a.cli(ctx, "status")
		if strings.Contains(out, "incoming") {
			return true
		}
		time.Sleep(200 * time.Millisecond)
	}
	return false
}

// trimLog drops the time stamp of a log line for the console.
func trimLog(l string) string {
	if i := strings.Index(l, " level="); i > 0 && strings.HasPrefix(l, "time=") {
		return l[i+1:]
	}
	return l
}

// dominant names the main frequency of a 16 kHz raw file.
func dominant(path string) string {
	b, err := os.ReadFile(path)
	if err != nil || len(b) < 3200 {
		return "nothing"
	}
	pcm := make([]int16, len(b)/2)
	for i := range pcm {
		pcm[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
	}
	return fmt.Sprintf("%.0f Hz over %.1f s", lab.DominantFrequency(pcm, 16000), float64(len(pcm))/16000)
}

// lockedWriter serialises writes from several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
