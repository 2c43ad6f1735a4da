package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// baresipRegisteredRE matches the console line baresip 1.0 prints when a
// registration succeeds, e.g.
// "sip:1005@127.0.0.1: {0/UDP/v4} 200 OK (kamailio) [1 binding]".
var baresipRegisteredRE = regexp.MustCompile(`\} 2\d\d .*\[\d+ binding`)

// timeBaresipStart runs baresip with the configuration directory of a lab
// bot and returns how long it took from process start to the console line
// that reports the registration, the same way the app is timed from
// process start to its "registration state=registered" log line. baresip
// writes its console through stdio, which a pipe would block-buffer, so
// stdbuf makes it line-buffered.
func timeBaresipStart(ctx context.Context, dir string) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	pr, pw, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	defer pr.Close()
	cmd := exec.Command("stdbuf", "-oL", "-eL", "baresip", "-f", dir)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = pw, pw
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		pw.Close()
		return 0, fmt.Errorf("starting baresip (install Debian packages baresip-core and coreutils): %w", err)
	}
	pw.Close()
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	defer func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(3 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	}()

	type result struct {
		at  time.Time
		err error
	}
	res := make(chan result, 1)
	go func() {
		var tail []string
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			if baresipRegisteredRE.MatchString(line) {
				res <- result{at: time.Now()}
				// Keep draining so baresip never blocks on a full pipe.
				for sc.Scan() {
				}
				return
			}
			tail = append(tail, line)
			if len(tail) > 20 {
				tail = tail[1:]
			}
		}
		res <- result{err: fmt.Errorf("baresip ended its output before registering:\n%s", strings.Join(tail, "\n"))}
	}()
	select {
	case r := <-res:
		if r.err != nil {
			return 0, r.err
		}
		return r.at.Sub(start), nil
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return 0, errors.New("baresip did not register within 20 s")
		}
		return 0, ctx.Err()
	}
}
