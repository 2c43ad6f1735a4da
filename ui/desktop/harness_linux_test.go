//go:build linux && !nogui

package desktop

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"switchboard/audio/audiotest"
	"switchboard/internal/lab"
)

// desk is a desktop session for the real GUI build: Xvfb, the private
// D-Bus session with gnome-keyring (TestMain), a lab PBX, and the
// switchboard binary started like an agent would.
type desk struct {
	t       testing.TB
	ctx     context.Context
	display string
	bin     string
	k       *lab.Kamailio
	home    string // the app's HOME (with ALSA file devices)
	env     []string
	opened  string // file the BROWSER stand-in appends opened URLs to
	shots   string
	port    int // local HTTPS port
	bus     *dbus.Conn
	notes   *notifyWatch
	last    *proc // the last switchboard started
}

// tools the GUI tests need (Debian packages: xvfb, xdotool, imagemagick,
// dbus, gnome-keyring, xclip).
var guiTools = []string{"Xvfb", "xdotool", "import", "dbus-monitor", "xclip"}

func newDesk(t testing.TB) *desk {
	t.Helper()
	if _, err := exec.LookPath("Xvfb"); err != nil {
		t.Skip("Xvfb is not installed (Debian package xvfb): the GUI tests need an X server")
	}
	for _, tool := range guiTools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is missing: run make deps (packages xvfb xdotool imagemagick dbus gnome-keyring xclip)", tool)
		}
	}
	bin := buildApp(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	d := &desk{t: t, ctx: ctx, bin: bin}
	d.display = startXvfb(t)

	// The app's home: ALSA file devices so PortAudio has a microphone,
	// a speaker and a ringer.
	alsa := audiotest.DefaultALSA(t)
	d.home = alsa.Home
	d.opened = filepath.Join(d.home, "opened-urls.txt")
	browser := filepath.Join(d.home, "browser.sh")
	if err := os.WriteFile(browser, []byte("#!/bin/sh\necho \"$1\" >> '"+d.opened+"'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	// The agent's default browser: a desktop entry xdg-open finds for
	// https links (taking precedence over whatever the system has).
	apps := filepath.Join(d.home, ".local", "share", "applications")
	if err := os.MkdirAll(apps, 0o755); err != nil {
		t.Fatal(err)
	}
	entry := "[Desktop Entry]\nType=Application\nName=Test browser\nExec=" + browser + " %u\nMimeType=x-scheme-handler/https;\n"
	if err := os.WriteFile(filepath.Join(apps, "test-browser.desktop"), []byte(entry), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(d.home, ".config"), 0o700); err != nil {
		t.Fatal(err)
	}
	mime := "[Default Applications]\nx-scheme-handler/https=test-browser.desktop\nx-scheme-handler/http=test-browser.desktop\n"
	if err := os.WriteFile(filepath.Join(d.home, ".config", "mimeapps.list"), []byte(mime), 0o644); err != nil {
		t.Fatal(err)
	}
	runtime := filepath.Join(d.home, "run")
	if err := os.MkdirAll(runtime, 0o700); err != nil {
		t.Fatal(err)
	}
	d.env = []string{
		"HOME=" + d.home,
		"DISPLAY=" + d.display,
		"XDG_CONFIG_HOME=" + filepath.Join(d.home, ".config"),
		"XDG_DATA_HOME=" + filepath.Join(d.home, ".local", "share"),
		"XDG_CACHE_HOME=" + filepath.Join(d.home, ".cache"),
		"XDG_RUNTIME_DIR=" + runtime,
		"SWITCHBOARD_DATA_DIR=" + filepath.Join(d.home, "data"),
		"BROWSER=" + browser,
		"LANG=en_US.UTF-8",
		"LC_ALL=en_US.UTF-8",
		"JACK_NO_START_SERVER=1",
		"NO_AT_BRIDGE=1",
		"PATH=" + os.Getenv("PATH"),
		"DBUS_SESSION_BUS_ADDRESS=" + os.Getenv("DBUS_SESSION_BUS_ADDRESS"),
	}
	d.shots = os.Getenv("SWITCHBOARD_SCREENSHOTS")
	if d.shots == "" {
		d.shots = t.TempDir()
	} else if err := os.MkdirAll(d.shots, 0o755); err != nil {
		t.Fatal(err)
	}
	port, err := lab.FreePort("tcp")
	if err != nil {
		t.Fatal(err)
	}
	d.port = port
	users := lab.DefaultUsers()
	users[externalNumber] = "pw" + externalNumber // a customer's phone, for the Dynamics test
	d.k = lab.StartKamailioT(t, lab.KamailioOptions{NoPresence: true, Users: users})
	d.bus, err = dbus.ConnectSessionBus()
	if err != nil {
		t.Fatalf("session bus: %v", err)
	}
	t.Cleanup(func() { d.bus.Close() })
	d.notes = watchNotifications(t, ctx)
	return d
}

// startXvfb starts a virtual X server on a free display and returns it.
func startXvfb(t testing.TB) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", "1280x800x24", "-nolisten", "tcp", "-noreset")
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("Xvfb: %v", err)
	}
	w.Close()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(r).ReadString('\n')
	r.Close()
	if err != nil {
		t.Fatalf("Xvfb did not report its display: %v", err)
	}
	return ":" + strings.TrimSpace(line)
}

// built is the app binary, built once for every test of the package.
var built struct {
	once sync.Once
	path string
	err  error
}

// buildApp builds cmd/switchboard (or takes $SWITCHBOARD_BIN).
func buildApp(t testing.TB) string {
	t.Helper()
	if b := os.Getenv("SWITCHBOARD_BIN"); b != "" {
		return b
	}
	built.once.Do(func() {
		// Under TestMain's temporary HOME, removed when the run ends.
		dir, err := os.MkdirTemp(os.Getenv("HOME"), "gui-build-")
		if err != nil {
			built.err = err
			return
		}
		built.path = filepath.Join(dir, "switchboard")
		out, err := exec.Command("go", "build", "-o", built.path, "switchboard/cmd/switchboard").CombinedOutput()
		if err != nil {
			built.err = fmt.Errorf("building switchboard: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.path
}

// writeConfig presets the PBX and extension, as an administrator's
// deployment does (the agent then only types the password).
func (d *desk) writeConfig(ext string) {
	d.t.Helper()
	dir := filepath.Join(d.home, ".config", "switchboard")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		d.t.Fatal(err)
	}
	cfg := fmt.Sprintf("[pbx]\nserver = %q\ntransport = \"udp\"\n\n[account]\nextension = %q\n\n[server]\nport = %d\n", d.k.Addr("udp"), ext, d.port)
	if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(cfg), 0o600); err != nil {
		d.t.Fatal(err)
	}
}

// proc is a running switchboard.
type proc struct {
	d    *desk
	cmd  *exec.Cmd
	log  *bytes.Buffer
	mu   *sync.Mutex
	done chan error
}

type lockedBuf struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (l lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (d *desk) start(args ...string) *proc {
	d.t.Helper()
	p := &proc{d: d, log: &bytes.Buffer{}, mu: &sync.Mutex{}, done: make(chan error, 1)}
	p.cmd = exec.Command(d.bin, args...)
	p.cmd.Env = d.env
	p.cmd.Stdout = lockedBuf{p.mu, p.log}
	p.cmd.Stderr = lockedBuf{p.mu, p.log}
	if err := p.cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	d.last = p
	d.t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(10 * time.Second):
				_ = p.cmd.Process.Kill()
			}
		}
		if d.t.Failed() {
			d.t.Logf("--- switchboard %v log ---\n%s", args, p.output())
		}
	})
	return p
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// wait waits for the process to exit.
func (p *proc) wait(timeout time.Duration) error {
	select {
	case err := <-p.done:
		return err
	case <-time.After(timeout):
		p.d.t.Fatalf("switchboard did not exit within %s\n%s", timeout, p.output())
		return nil
	}
}

// window waits for a visible window whose title matches and returns its
// X id.
func (d *desk) window(title string, timeout time.Duration) string {
	d.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if id := d.findWindow(title); id != "" {
			return id
		}
		if p := d.last; p != nil {
			if out := p.output(); strings.Contains(out, "running headless") || strings.Contains(out, "not part of this build") {
				d.t.Fatalf("cmd/switchboard started headless: main.go lacks the desktop hook (see ui/README.md, \"Wiring\")\n%s", out)
			}
			select {
			case err := <-p.done:
				p.done <- err
				d.t.Fatalf("switchboard exited (%v) before showing %q:\n%s", err, title, p.output())
			default:
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	d.t.Fatalf("no window %q within %s", title, timeout)
	return ""
}

func (d *desk) findWindow(title string) string {
	out, _ := d.x("xdotool", "search", "--onlyvisible", "--name", title)
	ids := strings.Fields(out)
	if len(ids) == 0 {
		return ""
	}
	return ids[len(ids)-1]
}

// x runs an X client on the test display.
func (d *desk) x(name string, args ...string) (string, error) {
	cmd := exec.CommandContext(d.ctx, name, args...)
	cmd.Env = append(os.Environ(), "DISPLAY="+d.display)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (d *desk) mustX(name string, args ...string) string {
	d.t.Helper()
	out, err := d.x(name, args...)
	if err != nil {
		d.t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return out
}

// geometry is a window's position and size on the screen.
func (d *desk) geometry(id string) (x, y, w, h int) {
	d.t.Helper()
	out := d.mustX("xdotool", "getwindowgeometry", "--shell", id)
	v := map[string]int{}
	for _, l := range strings.Fields(out) {
		k, val, ok := strings.Cut(l, "=")
		if ok {
			n, _ := strconv.Atoi(val)
			v[k] = n
		}
	}
	return v["X"], v["Y"], v["WIDTH"], v["HEIGHT"]
}

// screenshot captures a window (or the whole screen for "root") as PNG.
func (d *desk) screenshot(name, id string) string {
	d.t.Helper()
	path := filepath.Join(d.shots, name+".png")
	// Let fyne finish painting the frame after the last change.
	time.Sleep(400 * time.Millisecond)
	// import now and then loses a race with a window being repainted
	// and writes nothing; try again.
	for try := 0; try < 3; try++ {
		d.mustX("import", "-window", id, path)
		if _, err := os.Stat(path); err == nil {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	f, err := os.Open(path)
	if err != nil {
		d.t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		d.t.Fatalf("screenshot %s: %v", path, err)
	}
	if blank(img) {
		d.t.Errorf("screenshot %s is blank", path)
	}
	d.t.Logf("screenshot: %s", path)
	return path
}

// blank reports whether an image is one flat colour (nothing drawn).
func blank(img image.Image) bool {
	b := img.Bounds()
	first := img.At(b.Min.X, b.Min.Y)
	r0, g0, b0, _ := first.RGBA()
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r != r0 || g != g0 || bl != b0 {
				return false
			}
		}
	}
	return true
}

// click clicks at window-relative coordinates.
func (d *desk) click(id string, x, y int) {
	d.t.Helper()
	d.mustX("xdotool", "mousemove", "--window", id, strconv.Itoa(x), strconv.Itoa(y), "click", "1")
}

// typeInto gives the window the keyboard and types text, then Return.
func (d *desk) typeInto(id, text string) {
	d.t.Helper()
	d.mustX("xdotool", "windowfocus", "--sync", id)
	d.mustX("xdotool", "type", "--delay", "20", text)
	d.mustX("xdotool", "key", "Return")
}

// eventuallyStatus waits for the tray's status line.
func (d *desk) eventuallyStatus(ti *trayItem, want func(string) bool, what string) {
	d.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	last := ""
	for time.Now().Before(deadline) {
		if last = ti.status(); want(last) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	d.t.Fatalf("timed out waiting for %s; the tray says %q", what, last)
}

// eventually polls cond.
func (d *desk) eventually(what string, timeout time.Duration, cond func() bool) {
	d.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	d.t.Fatalf("timed out waiting for %s", what)
}

// notifyWatch records org.freedesktop.Notifications.Notify calls on the
// session bus with dbus-monitor, as a notification daemon would see them.
type notifyWatch struct {
	mu    sync.Mutex
	lines []string
}

func watchNotifications(t testing.TB, ctx context.Context) *notifyWatch {
	n := &notifyWatch{}
	cmd := exec.CommandContext(ctx, "dbus-monitor", "--session", "interface='org.freedesktop.Notifications',member='Notify'")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			n.mu.Lock()
			n.lines = append(n.lines, sc.Text())
			n.mu.Unlock()
		}
	}()
	return n
}

// seen reports whether a Notify call carried every one of the strings.
func (n *notifyWatch) seen(parts ...string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	text := strings.Join(n.lines, "\n")
	for _, call := range strings.Split(text, "member=Notify") {
		ok := true
		for _, p := range parts {
			if !strings.Contains(call, `"`+p+`"`) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}
