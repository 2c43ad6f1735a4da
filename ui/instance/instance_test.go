package instance

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// shortDir is a private directory with a path short enough for a socket.
func shortDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "sbi")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return filepath.Join(d, "run")
}

func TestAcquireSendClaim(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	opts := Options{Dir: shortDir(t)}
	p, err := Acquire(opts)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(opts.Dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("instance dir mode %v, %v", fi.Mode(), err)
	}
	if _, err := Acquire(opts); !errors.Is(err, ErrRunning) {
		t.Fatalf("second Acquire = %v, want ErrRunning", err)
	}
	got := make(chan []string, 4)
	served := make(chan error, 1)
	go func() { served <- p.Serve(ctx, func(a []string) { got <- a }) }()

	if q, err := Claim(ctx, opts, []string{"tel:1002"}); !errors.Is(err, ErrHandedOff) || q != nil {
		t.Fatalf("Claim while running = %v, %v", q, err)
	}
	if a := <-got; !slices.Equal(a, []string{"tel:1002"}) {
		t.Fatalf("primary got %q", a)
	}
	if err := Send(ctx, opts, nil); err != nil {
		t.Fatal(err)
	}
	if a := <-got; len(a) != 0 {
		t.Fatalf("primary got %q for an empty command line", a)
	}

	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	// The lock is free again: the next launch becomes the instance.
	q, err := Claim(ctx, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	q.Close()
}

// TestCrossProcess launches this test binary as a second Switchboard: it
// must hand its link over and exit, as `switchboard tel:1002` does.
func TestCrossProcess(t *testing.T) {
	if os.Getenv("SB_INSTANCE_CHILD") != "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	opts := Options{Dir: shortDir(t)}
	p, err := Acquire(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	got := make(chan []string, 1)
	go p.Serve(ctx, func(a []string) { got <- a })

	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestChildLaunch$", "-test.v")
	cmd.Env = append(os.Environ(), "SB_INSTANCE_CHILD="+opts.Dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "handed off") {
		t.Fatalf("child did not hand off:\n%s", out)
	}
	select {
	case a := <-got:
		if !slices.Equal(a, []string{"tel:1002", "--x"}) {
			t.Fatalf("primary got %q", a)
		}
	case <-ctx.Done():
		t.Fatal("nothing handed over")
	}
}

func TestChildLaunch(t *testing.T) {
	dir := os.Getenv("SB_INSTANCE_CHILD")
	if dir == "" {
		t.Skip("run by TestCrossProcess")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := Claim(ctx, Options{Dir: dir}, []string{"tel:1002", "--x"})
	if !errors.Is(err, ErrHandedOff) {
		if p != nil {
			p.Close()
		}
		t.Fatalf("Claim = %v", err)
	}
	t.Log("handed off")
}

func TestDecodeMessage(t *testing.T) {
	tests := []struct {
		line, token string
		ok          bool
	}{
		{`{"args":["tel:1"]}` + "\n", "", true},
		{`{"token":"k","args":[]}`, "k", true},
		{`{"token":"x","args":[]}`, "k", false},
		{`{"args":["a"],"evil":1}`, "", false},
		{`{"args":["a"]} {}`, "", false},
		{`{"args":"a"}`, "", false},
		{`{"args":[` + strings.Repeat(`"a",`, 70) + `"a"]}`, "", false},
		{`{"args":["` + strings.Repeat("a", 5000) + `"]}`, "", false},
		{`nope`, "", false},
	}
	for _, tt := range tests {
		_, err := decodeMessage([]byte(tt.line), tt.token)
		if (err == nil) != tt.ok {
			t.Errorf("decodeMessage(%.40q) = %v", tt.line, err)
		}
	}
}

func FuzzDecodeMessage(f *testing.F) {
	f.Add([]byte(`{"args":["tel:1002"]}`), "")
	f.Add([]byte(`{"token":"t","args":[]}`), "t")
	f.Fuzz(func(t *testing.T, line []byte, token string) {
		args, err := decodeMessage(line, token)
		if err != nil {
			return
		}
		if len(args) > maxArgs {
			t.Fatalf("%d args accepted", len(args))
		}
		for _, a := range args {
			if len(a) > maxArgSize {
				t.Fatal("oversized argument accepted")
			}
		}
	})
}
