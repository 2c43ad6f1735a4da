package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"switchboard/internal/lab"
)

type benchOptions struct {
	app string
	out io.Writer
	log *slog.Logger
}

// What the bench measures and how often; together about two minutes.
const (
	dialRuns      = 10               // dial → established, each side
	startRuns     = 10               // start → registered, each side
	cpuCallLength = 10 * time.Second // one established call per codec and side
	idleBeforeRSS = 5 * time.Second  // idle time after registration before reading RSS
	settle        = 300 * time.Millisecond
)

// Lab extensions: the app is always 1001 (startApp).
const (
	extAnswerPCMU = "1002" // auto-answers, G.711 µ-law only
	extAnswerOpus = "1003" // auto-answers, Opus only
	extCaller     = "1004" // the baresip that does what the app does
	extStarter    = "1005" // the baresip started and stopped for start → registered
)

// bench runs Switchboard and baresip through the same lab and prints one
// table comparing them. Progress goes to stderr, the table to o.out.
func bench(ctx context.Context, o benchOptions) error {
	if o.log == nil {
		o.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ctx, cancel := context.WithTimeout(ctx, 6*time.Minute)
	defer cancel()
	began := time.Now()
	progress := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "bench %5.1fs  "+format+"\n", append([]any{time.Since(began).Seconds()}, args...)...)
	}

	k, err := lab.StartKamailio(ctx, lab.KamailioOptions{Logger: o.log})
	if err != nil {
		return fmt.Errorf("starting the lab PBX (Kamailio): %w", err)
	}
	defer k.Close()
	progress("Kamailio at %s", k.Addr("udp"))

	work, err := os.MkdirTemp("", "switchboard-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	// One tone file for every bot, so starting a bot costs no tone synthesis.
	tone := filepath.Join(work, "tone.wav")
	if err := lab.WriteToneWAV(tone, 800, 16000, 2*time.Minute, 0.5); err != nil {
		return err
	}
	startBot := func(ext string, codecs []string, dir string) (*lab.Bot, error) {
		b, err := lab.StartBot(ctx, lab.BotOptions{Kamailio: k, Extension: ext, Codecs: codecs,
			ToneFile: tone, Dir: dir, Logger: o.log})
		if err != nil {
			return nil, fmt.Errorf("starting baresip bot %s: %w", ext, err)
		}
		return b, nil
	}
	// Lab bots play into an aubridge sink, not a spinning ALSA null PCM,
	// so their CPU figures are what baresip itself costs.
	startCallBot := func(ext string, codecs []string) (*lab.Bot, error) {
		return startBot(ext, codecs, "")
	}
	ansPCMU, err := startCallBot(extAnswerPCMU, []string{"PCMU"})
	if err != nil {
		return err
	}
	defer ansPCMU.Close()
	ansOpus, err := startCallBot(extAnswerOpus, []string{"opus"})
	if err != nil {
		return err
	}
	defer ansOpus.Close()
	caller, err := startCallBot(extCaller, []string{"opus", "PCMU"})
	if err != nil {
		return err
	}
	defer caller.Close()
	callerPID, err := findProcess("baresip", "-f", caller.Dir())
	if err != nil {
		return fmt.Errorf("finding the calling baresip: %w", err)
	}

	var r benchResults

	// 1. start → registered. The configuration of a lab bot is written once
	// (by starting and stopping it), then baresip is started on it again.
	progress("start → registered, %d runs each", startRuns)
	starterDir := filepath.Join(work, "bot-"+extStarter)
	starter, err := startBot(extStarter, nil, starterDir)
	if err != nil {
		return err
	}
	starter.Close()
	for i := 0; i < startRuns; i++ {
		d, err := timeAppStart(ctx, o, k)
		if err != nil {
			return err
		}
		r.appStart = append(r.appStart, d)
		if d, err = timeBaresipStart(ctx, starterDir); err != nil {
			return err
		}
		r.bareStart = append(r.bareStart, d)
	}

	// The app for everything else.
	calls := make(chan callLine, 64)
	a, err := startApp(ctx, labAppOptions{bin: o.app, k: k, log: o.log, onLine: func(l string) {
		if c, ok := parseCallLine(l); ok {
			select {
			case calls <- c:
			default: // nobody listens; the bench waits only for its own calls
			}
		}
	}})
	if err != nil {
		return err
	}
	defer a.stop()
	if _, err := a.waitRegistered(ctx); err != nil {
		return err
	}
	app := &benchApp{a: a, calls: calls}

	// 2. Idle RSS and idle CPU, both programs registered and doing nothing.
	progress("idle: %v, then RSS, then %v of idle CPU", idleBeforeRSS, cpuCallLength)
	if err := sleep(ctx, idleBeforeRSS); err != nil {
		return err
	}
	if r.appRSS, err = rssBytes(a.pid()); err != nil {
		return err
	}
	if r.bareRSS, err = rssBytes(callerPID); err != nil {
		return err
	}
	idle, err := cpuOver(ctx, cpuCallLength, a.pid(), callerPID)
	if err != nil {
		return err
	}
	r.appIdle, r.bareIdle = idle[0], idle[1]

	// The app's dial time includes starting its command-line client; say
	// how much that costs.
	for i := 0; i < 5; i++ {
		t := time.Now()
		if out, err := a.cli(ctx, "status"); err != nil {
			return fmt.Errorf("switchboard status: %v: %s", err, out)
		}
		r.cliRoundTrip = append(r.cliRoundTrip, time.Since(t))
	}

	// 3. dial → established, alternating the two sides.
	progress("dial → established, %d runs each", dialRuns)
	for i := 0; i < dialRuns; i++ {
		d, _, err := app.dial(ctx, extAnswerPCMU)
		if err != nil {
			return err
		}
		if err := app.hangup(ctx); err != nil {
			return err
		}
		r.appDial = append(r.appDial, d)
		if err := sleep(ctx, settle); err != nil {
			return err
		}
		if d, err = bareDial(ctx, caller, k.URI(extAnswerPCMU)); err != nil {
			return err
		}
		if err := bareHangup(ctx, caller); err != nil {
			return err
		}
		r.bareDial = append(r.bareDial, d)
		if err := sleep(ctx, settle); err != nil {
			return err
		}
	}

	// 4. CPU during an established call, per codec.
	for _, c := range []struct {
		name, ext, appCodec string
		rate                int // decoded rate baresip records: proves the codec
		app, bare           *time.Duration
	}{
		{"PCMU", extAnswerPCMU, "pcmu", 8000, &r.appPCMU, &r.barePCMU},
		{"Opus", extAnswerOpus, "opus", 48000, &r.appOpus, &r.bareOpus},
	} {
		progress("CPU during a %v %s call, each side", cpuCallLength, c.name)
		_, codec, err := app.dial(ctx, c.ext)
		if err != nil {
			return err
		}
		if !strings.EqualFold(codec, c.appCodec) {
			_ = app.hangup(ctx)
			return fmt.Errorf("the app's call to %s negotiated %q, want %s", c.ext, codec, c.name)
		}
		used, err := cpuOver(ctx, cpuCallLength, a.pid())
		if err != nil {
			return err
		}
		*c.app = used[0]
		if err := app.hangup(ctx); err != nil {
			return err
		}
		if err := sleep(ctx, settle); err != nil {
			return err
		}

		if _, err := bareDial(ctx, caller, k.URI(c.ext)); err != nil {
			return err
		}
		if used, err = cpuOver(ctx, cpuCallLength, callerPID); err != nil {
			return err
		}
		*c.bare = used[0]
		if err := bareHangup(ctx, caller); err != nil {
			return err
		}
		if err := checkDecodedRate(caller, c.rate); err != nil {
			return fmt.Errorf("baresip's call to %s: %w", c.ext, err)
		}
		if err := sleep(ctx, settle); err != nil {
			return err
		}
	}
	progress("done")
	r.print(o.out)
	return nil
}

// timeAppStart starts a fresh app, waits for its registration and stops it.
func timeAppStart(ctx context.Context, o benchOptions, k *lab.Kamailio) (time.Duration, error) {
	a, err := startApp(ctx, labAppOptions{bin: o.app, k: k, log: o.log})
	if err != nil {
		return 0, err
	}
	defer a.stop()
	return a.waitRegistered(ctx)
}

// callLine is one "msg=call" line of the app's log.
type callLine struct {
	at                  time.Time
	id, state, codec    string
	reason, disposition string
}

// parseCallLine picks the call state out of a log line such as
// `time=... level=INFO msg=call id=7 direction=outbound number=1002 state=active codec=PCMU`.
func parseCallLine(l string) (callLine, bool) {
	if !strings.Contains(l, " msg=call ") {
		return callLine{}, false
	}
	c := callLine{at: time.Now(), id: logField(l, "id"), state: logField(l, "state"),
		codec: logField(l, "codec"), reason: logField(l, "reason"), disposition: logField(l, "disposition")}
	return c, c.state != ""
}

// logField returns the value of key in a slog text line (quoted values
// are returned without their quotes).
func logField(l, key string) string {
	i := strings.Index(l, " "+key+"=")
	if i < 0 {
		return ""
	}
	v := l[i+len(key)+2:]
	if strings.HasPrefix(v, `"`) {
		if j := strings.Index(v[1:], `"`); j >= 0 {
			return v[1 : j+1]
		}
		return v[1:]
	}
	if j := strings.IndexByte(v, ' '); j >= 0 {
		return v[:j]
	}
	return v
}

// benchApp drives the app's calls and follows them in its log.
type benchApp struct {
	a     *labApp
	calls chan callLine
}

// dial calls number and returns the time from just before the `call`
// command to the app logging the call active, and the codec it logged.
func (b *benchApp) dial(ctx context.Context, number string) (time.Duration, string, error) {
	b.drain()
	start := time.Now()
	if out, err := b.a.cli(ctx, "call", number); err != nil {
		return 0, "", fmt.Errorf("switchboard call %s: %v: %s", number, err, out)
	}
	c, err := b.wait(ctx, "active")
	if err != nil {
		return 0, "", fmt.Errorf("switchboard call %s: %w", number, err)
	}
	return c.at.Sub(start), c.codec, nil
}

// hangup ends the current call and waits until the app logs it ended.
func (b *benchApp) hangup(ctx context.Context) error {
	if out, err := b.a.cli(ctx, "hangup"); err != nil {
		return fmt.Errorf("switchboard hangup: %v: %s", err, out)
	}
	if _, err := b.wait(ctx, "ended"); err != nil {
		return fmt.Errorf("switchboard hangup: %w", err)
	}
	return nil
}

// wait returns the next call line in state, failing on a call that ends
// first.
func (b *benchApp) wait(ctx context.Context, state string) (callLine, error) {
	timeout := time.NewTimer(15 * time.Second)
	defer timeout.Stop()
	for {
		select {
		case c := <-b.calls:
			if c.state == state {
				return c, nil
			}
			if c.state == "ended" {
				return c, fmt.Errorf("the call ended (%s %s) instead of becoming %s", c.disposition, c.reason, state)
			}
		case <-timeout.C:
			return callLine{}, fmt.Errorf("the app logged no call %s within 15 s", state)
		case <-ctx.Done():
			return callLine{}, ctx.Err()
		}
	}
}

// drain drops call lines of earlier calls.
func (b *benchApp) drain() {
	for {
		select {
		case <-b.calls:
		default:
			return
		}
	}
}

// bareDial has the calling bot dial uri and returns the time from the dial
// command to CALL_ESTABLISHED.
func bareDial(ctx context.Context, caller *lab.Bot, uri string) (time.Duration, error) {
	wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	start := time.Now()
	if err := caller.Dial(wctx, uri); err != nil {
		return 0, err
	}
	ev, err := caller.WaitEvent(wctx, lab.EventCallEstablished, lab.EventCallClosed)
	if err != nil {
		return 0, err
	}
	if ev.Type == lab.EventCallClosed {
		return 0, fmt.Errorf("baresip's call to %s closed before it was established: %s", uri, ev.Param)
	}
	return ev.Time.Sub(start), nil
}

// bareHangup ends the calling bot's call and waits for CALL_CLOSED.
func bareHangup(ctx context.Context, caller *lab.Bot) error {
	wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := caller.Hangup(wctx); err != nil {
		return err
	}
	_, err := caller.WaitEvent(wctx, lab.EventCallClosed)
	return err
}

// checkDecodedRate checks the codec of the bot's last call by the rate of
// what it decoded (8 kHz for G.711, 48 kHz for Opus).
func checkDecodedRate(b *lab.Bot, want int) error {
	path := b.LastDecoded()
	if path == "" {
		return nil // recording off: nothing to check
	}
	_, rate, err := lab.ReadWAV(path)
	if err != nil {
		return fmt.Errorf("reading its recording: %w", err)
	}
	if rate != want {
		return fmt.Errorf("it decoded at %d Hz, want %d Hz: the wrong codec was negotiated", rate, want)
	}
	return nil
}

// benchResults are the raw figures of one bench run.
type benchResults struct {
	appDial, bareDial   []time.Duration
	appStart, bareStart []time.Duration
	cliRoundTrip        []time.Duration
	appIdle, bareIdle   time.Duration // CPU over cpuCallLength with no call
	appPCMU, barePCMU   time.Duration // CPU over cpuCallLength in a call
	appOpus, bareOpus   time.Duration
	appRSS, bareRSS     int64
}

// callLoad is the CPU a call adds, as % of one core.
func callLoad(inCall, idle time.Duration) string {
	return fmt.Sprintf("%.1f %%", 100*(inCall-idle).Seconds()/cpuCallLength.Seconds())
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func (r *benchResults) print(w io.Writer) {
	cpuRuns := fmt.Sprintf("1 × %v call", cpuCallLength)
	rows := [][]string{
		{"metric", "Switchboard", "baresip", "runs"},
		{"dial → established, median", ms(percentile(r.appDial, 50)), ms(percentile(r.bareDial, 50)), fmt.Sprint(len(r.appDial))},
		{"dial → established, p95", ms(percentile(r.appDial, 95)), ms(percentile(r.bareDial, 95)), fmt.Sprint(len(r.appDial))},
		{"CPU per call, G.711 µ-law (% of a core)", callLoad(r.appPCMU, r.appIdle), callLoad(r.barePCMU, r.bareIdle), cpuRuns},
		{"CPU per call, Opus (% of a core)", callLoad(r.appOpus, r.appIdle), callLoad(r.bareOpus, r.bareIdle), cpuRuns},
		{"idle RSS, registered, 5 s idle", mib(r.appRSS), mib(r.bareRSS), "1"},
		{"start → registered, median", ms(percentile(r.appStart, 50)), ms(percentile(r.bareStart, 50)), fmt.Sprint(len(r.appStart))},
		{"start → registered, p95", ms(percentile(r.appStart, 95)), ms(percentile(r.bareStart, 95)), fmt.Sprint(len(r.appStart))},
	}
	width := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, c := range row {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	line := func(row []string) {
		cells := make([]string, len(row))
		for i, c := range row {
			pad := strings.Repeat(" ", width[i]-len([]rune(c)))
			if i == 0 {
				cells[i] = c + pad
			} else {
				cells[i] = pad + c
			}
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
	}
	line(rows[0])
	seps := make([]string, len(width))
	for i, n := range width {
		if i == 0 {
			seps[i] = strings.Repeat("-", n+2)
		} else {
			seps[i] = strings.Repeat("-", n+1) + ":"
		}
	}
	fmt.Fprintf(w, "|%s|\n", strings.Join(seps, "|"))
	for _, row := range rows[1:] {
		line(row)
	}
	fmt.Fprintf(w, `
Switchboard: bin/switchboard --headless as 1001; baresip: baresip 1.0 (lab bot) as %s; same Kamailio, all on 127.0.0.1, %d CPUs.
- dial → established: calls to a baresip that answers at once (G.711). Switchboard: from just before
  running "switchboard call %s" to its log line "msg=call ... state=active"; that includes starting the
  command-line client (one "switchboard status" round trip: median %s). baresip: from the ctrl_tcp
  "dial" command to its CALL_ESTABLISHED event. p95 is nearest-rank (with up to 19 runs: the slowest).
- CPU per call: utime+stime of the calling process (/proc/PID/stat) over %v of an established call,
  minus its CPU over %v idle (Switchboard %s, baresip %s idle), as %% of one core.
  Switchboard's sound devices are unclocked ALSA file devices (microphone read from a file, speaker
  written to a file, through the ALSA "file" plugin over "null"), so its figures include that file I/O.
  baresip reads its tone with aufile, records what it decodes with sndfile (its speaker file) and
  plays into an aubridge device nothing reads: ALSA "null" has no clock and would spin a core.
- start → registered: from process start to the log line reporting the registration (Switchboard's
  "msg=registration state=registered", baresip's "200 OK [1 binding]" console line).
`, extCaller, runtime.NumCPU(), extAnswerPCMU, ms(percentile(r.cliRoundTrip, 50)),
		cpuCallLength, cpuCallLength, pct(r.appIdle), pct(r.bareIdle))
}

// pct is a CPU time over cpuCallLength as % of one core.
func pct(d time.Duration) string {
	return fmt.Sprintf("%.2f %%", 100*d.Seconds()/cpuCallLength.Seconds())
}
