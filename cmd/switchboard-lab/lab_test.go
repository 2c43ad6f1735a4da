package main

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"switchboard/internal/lab"
)

// appBin is the switchboard binary the tests run, built once.
var appBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "switchboard-bin-")
	if err != nil {
		panic(err)
	}
	appBin = filepath.Join(dir, "switchboard")
	build := exec.Command("go", "build", "-o", appBin, "switchboard/cmd/switchboard")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		panic("building switchboard: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// The app is killed mid-call (no chance to write anything) and started
// again on the same data: the call is in the history, marked interrupted,
// and the phone registers again.
func TestCrashMidCallKeepsHistory(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	k, err := lab.StartKamailio(ctx, lab.KamailioOptions{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	bot, err := lab.StartBot(ctx, lab.BotOptions{Kamailio: k, Extension: "1002", Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer bot.Close()
	active := make(chan struct{}, 1)
	a, err := startApp(ctx, labAppOptions{bin: appBin, k: k, log: quiet(), onLine: func(l string) {
		if strings.Contains(l, "msg=call ") && strings.Contains(l, "state=active") {
			select {
			case active <- struct{}{}:
			default:
			}
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.stop()
	if _, err := a.waitRegistered(ctx); err != nil {
		t.Fatal(err)
	}
	if out, err := a.cli(ctx, "call", "1002"); err != nil {
		t.Fatalf("call: %v: %s", err, out)
	}
	select {
	case <-active:
	case <-time.After(15 * time.Second):
		t.Fatal("the call was not answered")
	}
	time.Sleep(6 * time.Second) // past one history heartbeat
	if err := a.crashAndRestart(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.waitRegistered(ctx); err != nil {
		t.Fatalf("after the crash: %v", err)
	}
	out, err := a.cli(ctx, "history")
	if err != nil {
		t.Fatalf("history: %v: %s", err, out)
	}
	if !strings.Contains(out, "outbound answered  1002") || !strings.Contains(out, "interrupted") {
		t.Fatalf("the call is missing from the history after the crash:\n%s", out)
	}
	t.Logf("history after the crash:\n%s", out)
}

// The guided tour of `make demo` works end to end.
func TestDemoTour(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var out strings.Builder
	if err := demo(ctx, demoOptions{app: appBin, tourOnly: true, stdin: strings.NewReader(""), out: &out, log: quiet()}); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{"registered as extension 1001", "your speaker played: 800 Hz", "your speaker played: 1200 Hz", "2 of 2 calls", "Tour done."} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("the tour did not show %q:\n%s", want, out.String())
		}
	}
}
