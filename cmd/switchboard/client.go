package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"switchboard/localhost"
)

// clientCmd drives the running app through its local API.
func clientCmd(ctx context.Context, g globals, cmd string, args []string, stdout io.Writer) error {
	tf, err := localhost.DefaultTokenFile()
	if err != nil {
		return err
	}
	c, err := localhost.NewClient(localhost.ClientOptions{TokenFile: tf, DataDir: g.dataDir, Timeout: 10 * time.Second})
	if err != nil {
		return err
	}
	defer c.Close()
	switch cmd {
	case "call":
		if len(args) == 0 {
			return errors.New("usage: switchboard call NUMBER")
		}
		call, err := c.Dial(ctx, strings.Join(args, " "))
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "calling %s (call %s)\n", call.Number, call.ID)
	case "answer":
		id, err := c.Answer(ctx, firstArg(args))
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "answered call %s\n", id)
	case "hangup":
		id, err := c.Hangup(ctx, firstArg(args))
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "hung up call %s\n", id)
	case "status":
		s, err := c.Status(ctx)
		if err != nil {
			return err
		}
		r := s.Registration
		fmt.Fprintf(stdout, "%s  %s via %s %s", r.Account, r.State, r.Transport, r.Server)
		if r.Error != "" {
			fmt.Fprintf(stdout, "  (%s)", r.Error)
		}
		fmt.Fprintln(stdout)
		for _, call := range s.Calls {
			fmt.Fprintf(stdout, "call %s  %-8s %-8s %s %s\n", call.ID, call.Direction, call.State, call.Number, call.Name)
		}
	case "history":
		q := localhost.HistoryQuery{Limit: 20}
		if len(args) > 0 {
			q.Search = strings.Join(args, " ")
		}
		page, err := c.History(ctx, q)
		if err != nil {
			return err
		}
		for _, h := range page.Calls {
			note := h.Name
			if h.Interrupted {
				note = strings.TrimSpace(note + " (interrupted: switchboard stopped during the call)")
			}
			fmt.Fprintf(stdout, "%s  %-8s %-9s %-16s %4.0fs  %s\n", h.Start.Format("2006-01-02 15:04:05"),
				h.Direction, h.Disposition, h.Number, h.DurationSec, note)
		}
		fmt.Fprintf(stdout, "%d of %d calls\n", len(page.Calls), page.Total)
	}
	return nil
}

func firstArg(args []string) string {
	if len(args) > 0 {
		return args[0]
	}
	return ""
}
