//go:build linux && !nogui

package desktop

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"switchboard/app"
)

// measureIdle logs the signed-in app's CPU use over a quiet spell and
// its resident memory. It asserts nothing about time: BenchmarkDesktopIdle
// gives the figures to `make bench`.
func measureIdle(t *testing.T, d *desk, p *proc) {
	t.Helper()
	time.Sleep(time.Second) // let the last redraws settle
	cpu, rss, err := idleFigures(p.pid(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("idle GUI: CPU %.2f %% over 5 s, RSS %.1f MB", cpu, rss)
}

// idleFigures is pid's CPU use over spell, as % of one core, and its
// resident memory in MB at the end.
func idleFigures(pid int, spell time.Duration) (cpu, rssMB float64, err error) {
	t0, err := cpuTicks(pid)
	if err != nil {
		return 0, 0, err
	}
	time.Sleep(spell)
	t1, err := cpuTicks(pid)
	if err != nil {
		return 0, 0, err
	}
	rss, err := rssKB(pid)
	// Clock ticks are 1/100 s on Linux (USER_HZ).
	return float64(t1-t0) / 100 / spell.Seconds() * 100, float64(rss) / 1024, err
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

// BenchmarkDesktopIdle: the tray app signed in (from the keychain) and
// doing nothing: CPU over ten seconds and resident memory, for `make
// bench`. Run with -benchtime 1x.
func BenchmarkDesktopIdle(b *testing.B) {
	for range b.N {
		d := newDesk(b)
		d.writeConfig("1006")
		if err := app.SavePassword(appConfig(d, "1006"), d.k.Password("1006")); err != nil {
			b.Fatal(err)
		}
		p := d.start()
		if _, err := d.k.WaitRegistered(d.ctx, "1006", 1); err != nil {
			b.Fatalf("no sign-in from the keychain: %v", err)
		}
		time.Sleep(3 * time.Second) // the first windows drawn, the devices opened
		cpu, rss, err := idleFigures(p.pid(), 10*time.Second)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(cpu, "idle-cpu-%")
		b.ReportMetric(rss, "rss-MB")
		_ = app.DeletePassword(appConfig(d, "1006"))
	}
}
