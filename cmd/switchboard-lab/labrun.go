package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"switchboard/app"
	"switchboard/internal/lab"
)

// labApp is Switchboard running as extension 1001 of a lab PBX, with file
// sound devices in a private HOME: the "microphone" plays a tone and the
// "speaker" and "ringer" write what they play to files.
type labApp struct {
	dir      string
	home     string
	cfgPath  string
	dataDir  string
	bin      string
	env      []string
	port     int
	password string
	cmd      *exec.Cmd
	started  time.Time

	mu         sync.Mutex
	registered time.Time
	regCh      chan struct{}
	widgetCh   chan struct{} // closed once the local server serves
	lines      func(string)  // every log line of the app, if set
	verbose    bool
	exited     chan struct{}
}

// labAppOptions configure startApp.
type labAppOptions struct {
	bin      string
	k        *lab.Kamailio
	codecs   []string
	micHz    float64
	crmURL   string
	onLine   func(string)
	log      *slog.Logger
	extraEnv []string
	verbose  bool // debug logging in the app
}

// asoundrc defines the file devices PortAudio sees.
func writeASoundRC(home string, micHz float64) error {
	const rate = 16000
	tone := filepath.Join(home, "mic.in.raw")
	f, err := os.Create(tone)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	// Ten minutes of tone: the file plugin stops at the end of its input.
	for i := 0; i < rate*600; i++ {
		v := int16(0.3 * 32767 * math.Sin(2*math.Pi*micHz*float64(i)/rate))
		if err := binary.Write(w, binary.LittleEndian, v); err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	f.Close()
	var b strings.Builder
	fmt.Fprintf(&b, "pcm.mic_file { type file; slave.pcm \"null\"; file \"/dev/null\"; infile %q; format \"raw\" }\n", tone)
	fmt.Fprintf(&b, "pcm.mic { type plug; slave { pcm \"mic_file\"; rate %d; format S16_LE; channels 1 } }\n", rate)
	for _, name := range []string{"speaker", "ringer"} {
		fmt.Fprintf(&b, "pcm.%s_file { type file; slave.pcm \"null\"; file %q; format \"raw\" }\n", name, filepath.Join(home, name+".out.raw"))
		fmt.Fprintf(&b, "pcm.%s { type plug; slave { pcm \"%s_file\"; rate %d; format S16_LE; channels 1 } }\n", name, name, rate)
	}
	b.WriteString("pcm.!default { type asym; playback.pcm \"speaker\"; capture.pcm \"mic\" }\n")
	return os.WriteFile(filepath.Join(home, ".asoundrc"), []byte(b.String()), 0o600)
}

// startApp configures and starts the app; it returns once the process runs.
func startApp(ctx context.Context, o labAppOptions) (*labApp, error) {
	dir, err := os.MkdirTemp("", "switchboard-lab-")
	if err != nil {
		return nil, err
	}
	a := &labApp{dir: dir, home: filepath.Join(dir, "home"), dataDir: filepath.Join(dir, "data"),
		cfgPath: filepath.Join(dir, "config.toml"), regCh: make(chan struct{}), widgetCh: make(chan struct{}), lines: o.onLine, exited: make(chan struct{}), verbose: o.verbose}
	if a.bin, err = filepath.Abs(o.bin); err != nil {
		return nil, err
	}
	if _, err := os.Stat(a.bin); err != nil {
		return nil, fmt.Errorf("no switchboard binary at %s (run make build): %w", a.bin, err)
	}
	if err := os.MkdirAll(a.home, 0o700); err != nil {
		return nil, err
	}
	if o.micHz == 0 {
		o.micHz = 440
	}
	if err := writeASoundRC(a.home, o.micHz); err != nil {
		return nil, err
	}
	if a.port, err = lab.FreePort("tcp"); err != nil {
		return nil, err
	}
	cfg := app.DefaultConfig()
	cfg.PBX.Server = o.k.Addr("udp")
	cfg.PBX.Domain = o.k.Domain()
	cfg.Account.Extension = "1001"
	cfg.Account.DisplayName = "Demo Agent"
	cfg.Audio.Mic, cfg.Audio.Speaker, cfg.Audio.Ringer = "mic", "speaker", "ringer"
	if o.codecs != nil {
		cfg.Audio.Codecs = o.codecs
	}
	cfg.Server.Port = a.port
	if o.crmURL != "" {
		cfg.CRM.URL = app.StringList{o.crmURL}
	}
	if err := app.SaveConfig(a.cfgPath, cfg); err != nil {
		return nil, err
	}
	a.env = append(os.Environ(),
		"HOME="+a.home,
		"XDG_CONFIG_HOME="+filepath.Join(a.dir, "config"),
		"SWITCHBOARD_DATA_DIR="+a.dataDir,
		"JACK_NO_START_SERVER=1",
		// A named locale: under C.UTF-8 every command prints fyne's
		// "Error parsing user locale C" (go-locale reads C.UTF-8 as the
		// language "C"), which would only confuse the demo's reader.
		"LANG=en_US.UTF-8",
	)
	a.env = append(a.env, o.extraEnv...)

	a.password = o.k.Password("1001")
	if err := a.launch(); err != nil {
		return nil, err
	}
	return a, nil
}

// launch starts the app process on the prepared files.
func (a *labApp) launch() error {
	args := []string{"--headless", "--config", a.cfgPath}
	if a.verbose {
		args = append(args, "--verbose")
	}
	a.cmd = exec.Command(a.bin, append(args, "run")...)
	a.cmd.Env = append(a.env, "SWITCHBOARD_PASSWORD="+a.password)
	a.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stderr, err := a.cmd.StderrPipe()
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.registered = time.Time{}
	a.regCh, a.widgetCh, a.exited = make(chan struct{}), make(chan struct{}), make(chan struct{})
	a.mu.Unlock()
	a.started = time.Now()
	if err := a.cmd.Start(); err != nil {
		return fmt.Errorf("starting switchboard: %w", err)
	}
	exited := a.exited
	go a.readLog(stderr, a.regCh, a.widgetCh)
	go func() { a.cmd.Wait(); close(exited) }()
	return nil
}

// crash kills the app at once, as a power cut or a crash would, and
// starts it again on the same data.
func (a *labApp) crashAndRestart() error {
	_ = syscall.Kill(-a.cmd.Process.Pid, syscall.SIGKILL)
	<-a.exited
	return a.launch()
}

// readLog watches the app's log for registration and passes lines on.
func (a *labApp) readLog(r io.Reader, regCh, widgetCh chan struct{}) {
	var widgetOnce sync.Once
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, "msg=registration") && strings.Contains(line, "state=registered") {
			a.mu.Lock()
			if a.registered.IsZero() {
				a.registered = time.Now()
				close(regCh)
			}
			a.mu.Unlock()
		}
		if strings.Contains(line, `msg="widget ready"`) {
			widgetOnce.Do(func() { close(widgetCh) })
		}
		if a.lines != nil {
			a.lines(line)
		}
	}
}

// waitRegistered returns how long the app took from start to registered,
// once its local API is up too.
func (a *labApp) waitRegistered(ctx context.Context) (time.Duration, error) {
	a.mu.Lock()
	widgetCh, regCh, exited := a.widgetCh, a.regCh, a.exited
	a.mu.Unlock()
	select {
	case <-widgetCh:
	case <-exited:
		return 0, errors.New("switchboard exited before serving its API")
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-time.After(20 * time.Second):
		return 0, errors.New("switchboard did not serve its API within 20 s")
	}
	select {
	case <-regCh:
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.registered.Sub(a.started), nil
	case <-exited:
		return 0, errors.New("switchboard exited before registering")
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-time.After(20 * time.Second):
		return 0, errors.New("switchboard did not register within 20 s")
	}
}

// cli runs a switchboard client command against the running app.
func (a *labApp) cli(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, a.bin, append([]string{"--config", a.cfgPath}, args...)...)
	cmd.Env = a.env
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// pid is the app's process id.
func (a *labApp) pid() int { return a.cmd.Process.Pid }

// terminate stops the app the way a log-out does (SIGTERM), keeping its
// files for a restart.
func (a *labApp) terminate() {
	if a.cmd == nil || a.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-a.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-a.exited:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-a.cmd.Process.Pid, syscall.SIGKILL)
		<-a.exited
	}
}

// stop ends the app and removes its files.
func (a *labApp) stop() {
	a.terminate()
	os.RemoveAll(a.dir)
}
