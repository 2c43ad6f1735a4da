package store

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The crash tests re-run this test binary as a child that writes to the
// store and then dies without closing it: os.Exit in the middle of calls,
// or SIGKILL from the parent in the middle of a stream of writes. The
// parent then opens the file as the next run of the app would.

const (
	crashModeEnv = "SWITCHBOARD_STORE_CRASH"
	crashPathEnv = "SWITCHBOARD_STORE_CRASH_PATH"
)

// TestCrashChild is the child's body; it only runs when the parent sets
// crashModeEnv.
func TestCrashChild(t *testing.T) {
	mode := os.Getenv(crashModeEnv)
	if mode == "" {
		t.Skip("runs only as the child of a crash test")
	}
	s, err := Open(context.Background(), Options{Path: os.Getenv(crashPathEnv)})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child open:", err)
		os.Exit(3)
	}
	switch mode {
	case "exit":
		crashExit(s)
	case "stream":
		crashStream(s)
	}
	os.Exit(4) // not reached
}

// crashExit leaves four calls in different states and exits without
// closing the store.
func crashExit(s *Store) {
	ctx := context.Background()
	must := func(err error) {
		if err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(3)
		}
	}
	must(s.BeginCall(ctx, CallRecord{ID: "ringing-in", Direction: Inbound, Number: "1001", Start: base}))
	must(s.Touch(ctx, "ringing-in", base.Add(4*time.Second)))
	must(s.BeginCall(ctx, CallRecord{ID: "dialing-out", Direction: Outbound, Number: "1002", Start: base}))
	must(s.BeginCall(ctx, CallRecord{ID: "talking", Direction: Inbound, Number: "1003", Start: base}))
	must(s.AnswerCall(ctx, "talking", base.Add(2*time.Second), "PCMU"))
	must(s.Touch(ctx, "talking", base.Add(32*time.Second)))
	must(s.BeginCall(ctx, CallRecord{ID: "ended", Direction: Outbound, Number: "1004", Start: base}))
	must(s.AnswerCall(ctx, "ended", base.Add(time.Second), "PCMA"))
	must(s.EndCall(ctx, "ended", CallEnd{At: base.Add(11 * time.Second), Reason: "local hangup"}))
	_, _, err := s.Enqueue(ctx, OutboxItem{Key: "activity:talking", Kind: "phonecall.create", Payload: json.RawMessage(`{"n":1}`)})
	must(err)
	os.Exit(2)
}

// crashStream writes calls and outbox items from several goroutines
// until it is killed, printing a line after each commit so the parent
// knows what the store promised to keep.
func crashStream(s *Store) {
	ctx := context.Background()
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	report := func(format string, a ...any) {
		mu.Lock()
		fmt.Fprintf(out, format+"\n", a...)
		out.Flush()
		mu.Unlock()
	}
	for w := range 4 {
		go func() {
			for i := 0; ; i++ {
				id := fmt.Sprintf("w%d-%d", w, i)
				start := base.Add(time.Duration(i) * time.Second)
				if err := s.BeginCall(ctx, CallRecord{ID: id, Direction: Inbound, Number: "555", Start: start}); err != nil {
					report("error %v", err)
					return
				}
				report("begun %s", id)
				if err := s.AnswerCall(ctx, id, start.Add(time.Second), "PCMU"); err != nil {
					report("error %v", err)
					return
				}
				report("answered %s", id)
				if i%3 == 0 { // leave some calls open for a while
					continue
				}
				if err := s.EndCall(ctx, id, CallEnd{At: start.Add(3 * time.Second)}); err != nil {
					report("error %v", err)
					return
				}
				report("ended %s", id)
				if _, _, err := s.Enqueue(ctx, OutboxItem{Key: "k-" + id, Kind: "x", Payload: json.RawMessage(`{}`)}); err != nil {
					report("error %v", err)
					return
				}
				report("enqueued %s", id)
			}
		}()
	}
	select {} // until killed
}

func crashChild(t *testing.T, mode, path string) *exec.Cmd {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashModeEnv+"="+mode, crashPathEnv+"="+path)
	cmd.Stderr = testWriter{t}
	return cmd
}

func TestCrashMidCallRecovered(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "crash.db")
	cmd := crashChild(t, "exit", path)
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
		t.Fatalf("child: %v; want exit status 2", err)
	}
	// The child never closed the store: its commits must be in the WAL.
	if fi, err := os.Stat(path + "-wal"); err != nil || fi.Size() == 0 {
		t.Fatalf("no WAL left by the crashed child (%v); the test would not exercise recovery", err)
	}

	s := openAt(t, path)
	for _, want := range []CallRecord{
		{ID: "ringing-in", Direction: Inbound, Number: "1001", Start: base, End: base.Add(4 * time.Second),
			Disposition: DispMissed, Reason: InterruptedReason, Interrupted: true},
		{ID: "dialing-out", Direction: Outbound, Number: "1002", Start: base, End: base,
			Disposition: DispFailed, Reason: InterruptedReason, Interrupted: true},
		{ID: "talking", Direction: Inbound, Number: "1003", Start: base, Answer: base.Add(2 * time.Second), End: base.Add(32 * time.Second),
			DurationSec: 30, Disposition: DispAnswered, Reason: InterruptedReason, Codec: "PCMU", Interrupted: true},
		{ID: "ended", Direction: Outbound, Number: "1004", Start: base, Answer: base.Add(time.Second), End: base.Add(11 * time.Second),
			DurationSec: 10, Disposition: DispAnswered, Reason: "local hangup", Codec: "PCMA"},
	} {
		got, err := s.GetCall(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !sameCall(got, want) {
			t.Errorf("recovered %s:\n got %+v\nwant %+v", want.ID, got, want)
		}
	}
	if n, err := s.Pending(ctx); err != nil || n != 1 {
		t.Fatalf("outbox after crash: %d pending, %v; want 1", n, err)
	}
	// Recovery is done once: opening again changes nothing.
	s.Close()
	s = openAt(t, path)
	p, err := s.ListCalls(ctx, Query{})
	if err != nil || p.Total != 4 {
		t.Fatalf("after second open: %+v, %v", p, err)
	}
}

func TestCrashKilledMidWrite(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "kill.db")
	cmd := crashChild(t, "stream", path)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	state := map[string]string{} // call id -> last committed step
	enqueued := map[string]bool{}
	sc := bufio.NewScanner(stdout)
	lines := 0
	killed := false
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "error":
			t.Errorf("child: %s", sc.Text())
		case "enqueued":
			enqueued[f[1]] = true
		default:
			state[f[1]] = f[0]
		}
		// Kill in the middle of the stream, with writes in flight.
		if lines++; lines == 400 && !killed {
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	_ = cmd.Wait()
	if !killed {
		t.Fatalf("child stopped after %d lines before it was killed", lines)
	}
	t.Logf("child killed after %d committed steps (%d calls)", lines, len(state))

	s := openAt(t, path)
	var check string
	if err := s.w.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check = %q, %v", check, err)
	}
	var open int
	if err := s.w.QueryRowContext(ctx, "SELECT count(*) FROM calls WHERE end_ms IS NULL").Scan(&open); err != nil || open != 0 {
		t.Fatalf("%d calls still open after recovery (%v)", open, err)
	}
	interrupted := 0
	for id, step := range state {
		c, err := s.GetCall(ctx, id)
		if err != nil {
			t.Fatalf("call %s reported %s but lost: %v", id, step, err)
		}
		switch step {
		case "ended":
			if c.Interrupted || c.Disposition != DispAnswered || c.DurationSec != 2 {
				t.Errorf("call %s was ended before the kill but reads %+v", id, c)
			}
		case "answered":
			if c.Answer.IsZero() || c.Disposition != DispAnswered {
				t.Errorf("call %s was answered before the kill but reads %+v", id, c)
			}
			if c.Interrupted {
				interrupted++
			}
		case "begun":
			if !c.Interrupted && c.Answer.IsZero() {
				t.Errorf("call %s left open but not recovered: %+v", id, c)
			}
			if c.Interrupted {
				interrupted++
			}
		}
	}
	if interrupted == 0 {
		t.Error("no call was recovered as interrupted; the kill did not land mid-call")
	}
	for id := range enqueued {
		var one int
		if err := s.r.QueryRowContext(ctx, "SELECT 1 FROM outbox WHERE key = ?", "k-"+id).Scan(&one); err != nil {
			t.Errorf("outbox item for %s reported enqueued but lost: %v", id, err)
		}
	}
	t.Logf("after recovery: %d calls, %d interrupted, %d outbox items", len(state), interrupted, len(enqueued))
}
