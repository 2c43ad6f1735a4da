// Command switchboard-lab runs Switchboard against the local lab (a
// Kamailio PBX and baresip phone bots on 127.0.0.1) for a newcomer to see
// it work, and measures it side by side with baresip.
//
//	switchboard-lab demo  --app bin/switchboard   a guided tour, then a prompt
//	switchboard-lab bench --app bin/switchboard   prints the performance table
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: switchboard-lab demo|bench [--app bin/switchboard]")
		return 2
	}
	cmd := args[0]
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	appBin := fs.String("app", "bin/switchboard", "the switchboard binary to run")
	tourOnly := fs.Bool("tour-only", false, "demo: run the guided tour and exit (no prompt)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	var err error
	switch cmd {
	case "demo":
		err = demo(ctx, demoOptions{app: *appBin, tourOnly: *tourOnly, stdin: stdin, out: stdout, log: log})
	case "bench":
		err = bench(ctx, benchOptions{app: *appBin, out: stdout, log: log})
	default:
		fmt.Fprintln(stderr, "usage: switchboard-lab demo|bench [--app bin/switchboard]")
		return 2
	}
	if err != nil && ctx.Err() == nil {
		fmt.Fprintln(stderr, "switchboard-lab:", err)
		return 1
	}
	return 0
}
