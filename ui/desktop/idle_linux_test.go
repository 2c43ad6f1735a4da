//go:build linux && !nogui

package desktop

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// measureIdle reports the signed-in app's CPU use over a quiet spell and
// its resident memory (the figures `make bench` quotes). It asserts
// nothing about time: an idle app should sit near 0 %.
func measureIdle(t *testing.T, d *desk, p *proc) {
	t.Helper()
	time.Sleep(time.Second) // let the last redraws settle
	const spell = 5 * time.Second
	t0, err := cpuTicks(p.pid())
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(spell)
	t1, _ := cpuTicks(p.pid())
	rss, _ := rssKB(p.pid())
	// Clock ticks are 1/100 s on Linux (USER_HZ).
	cpu := float64(t1-t0) / 100 / spell.Seconds() * 100
	t.Logf("idle GUI: CPU %.2f %% over %s, RSS %.1f MB", cpu, spell, float64(rss)/1024)
	if f := os.Getenv("SWITCHBOARD_BENCH_OUT"); f != "" {
		line := "gui idle: cpu_pct=" + strconv.FormatFloat(cpu, 'f', 2, 64) + " rss_mb=" + strconv.FormatFloat(float64(rss)/1024, 'f', 1, 64) + "\n"
		fh, err := os.OpenFile(f, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err == nil {
			fh.WriteString(line)
			fh.Close()
		}
	}
}

func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// Fields after the command name (which may hold spaces) start at ')'.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return ut + st, nil
}

func rssKB(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			n, _ := strconv.ParseInt(strings.Fields(l)[1], 10, 64)
			return n, nil
		}
	}
	return 0, nil
}
