// Command switchboard is the Switchboard softphone: a SIP phone for agents
// who work in Dynamics 365, with a widget served on https://localhost.
//
//	switchboard [--headless]           run the phone
//	switchboard login                  save the PBX password in the OS keychain
//	switchboard logout                 remove it
//	switchboard channel-url            print the URL for the Dynamics channel provider
//	switchboard cert install|uninstall|status
//	switchboard call NUMBER | answer | hangup | status | history
//	switchboard devices                list audio devices
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"golang.org/x/term"

	"switchboard/app"
)

// version is set by the build (-ldflags "-X main.version=...").
var version = "dev"

// globals are the flags every command shares.
type globals struct {
	configPath    string
	dataDir       string
	headless      bool
	passwordStdin bool
	verbose       bool
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("switchboard", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var g globals
	fs.StringVar(&g.configPath, "config", "", "config file (default: the OS config directory)")
	fs.StringVar(&g.dataDir, "data-dir", "", "data directory for history, recordings and certificates (env SWITCHBOARD_DATA_DIR)")
	fs.BoolVar(&g.headless, "headless", false, "run without any window or tray")
	fs.BoolVar(&g.passwordStdin, "password-stdin", false, "read the PBX password from the first line of standard input")
	fs.BoolVar(&g.verbose, "verbose", false, "debug logging")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: switchboard [flags] [run|login|logout|channel-url|cert|call|answer|hangup|status|history|devices|version]\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := g.resolve(); err != nil {
		fmt.Fprintln(stderr, "switchboard:", err)
		return 1
	}
	cmd, rest := "run", fs.Args()
	if len(rest) > 0 {
		cmd, rest = rest[0], rest[1:]
	}
	level := slog.LevelInfo
	if g.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if gui, err := runGUI(ctx, g, cmd, rest, log); gui {
		return guiExit(err, stderr)
	}
	var err error
	switch cmd {
	case "run":
		err = runPhone(ctx, g, stdin, log)
	case "login":
		err = login(g, stdin, stdout)
	case "logout":
		err = logout(g, stdout)
	case "channel-url":
		err = channelURL(g, stdout)
	case "cert":
		err = certCmd(ctx, g, rest, stdout)
	case "call", "answer", "hangup", "status", "history":
		err = clientCmd(ctx, g, cmd, rest, stdout)
	case "devices":
		err = listDevices(stdout)
	case "version":
		fmt.Fprintln(stdout, "switchboard", version)
	default:
		fs.Usage()
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "switchboard:", err)
		return 1
	}
	return 0
}

func (g *globals) resolve() error {
	if g.configPath == "" {
		p, err := app.DefaultConfigPath()
		if err != nil {
			return err
		}
		g.configPath = p
	}
	if g.dataDir == "" {
		d, err := app.DefaultDataDir()
		if err != nil {
			return err
		}
		g.dataDir = d
	}
	abs, err := filepath.Abs(g.dataDir)
	if err != nil {
		return err
	}
	g.dataDir = abs
	return nil
}

// password finds the PBX password: --password-stdin, then the keychain,
// then SWITCHBOARD_PASSWORD (headless automation only).
func password(g globals, cfg app.Config, stdin io.Reader) (string, error) {
	if g.passwordStdin {
		return readLine(stdin)
	}
	pw, err := app.LoadPassword(cfg)
	if err == nil {
		return pw, nil
	}
	if env := os.Getenv("SWITCHBOARD_PASSWORD"); env != "" && g.headless {
		return env, nil
	}
	if errors.Is(err, app.ErrNoPassword) {
		return "", err
	}
	return "", fmt.Errorf("%w (for headless automation set SWITCHBOARD_PASSWORD)", err)
}

func readLine(r io.Reader) (string, error) {
	var buf [4096]byte
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n : n+1])
		if m == 1 {
			if buf[n] == '\n' {
				break
			}
			n++
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return "", err
		}
	}
	pw := app.ReadPasswordLine(string(buf[:n]))
	if pw == "" {
		return "", errors.New("no password on standard input")
	}
	return pw, nil
}

func login(g globals, stdin io.Reader, stdout io.Writer) error {
	cfg, err := app.LoadConfig(g.configPath)
	if err != nil {
		return err
	}
	var pw string
	if f, ok := stdin.(*os.File); ok && !g.passwordStdin && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(stdout, "Password for %s: ", app.KeychainUser(cfg))
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stdout)
		if err != nil {
			return fmt.Errorf("reading the password: %w", err)
		}
		pw = string(b)
		if pw == "" {
			return errors.New("empty password")
		}
	} else {
		var err error
		if pw, err = readLine(stdin); err != nil {
			return err
		}
	}
	if err := app.SavePassword(cfg, pw); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "Password saved in the OS keychain.")
	return nil
}

func logout(g globals, stdout io.Writer) error {
	cfg, err := app.LoadConfig(g.configPath)
	if err != nil {
		return err
	}
	if err := app.DeletePassword(cfg); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "Signed out: the password is removed from the OS keychain.")
	return nil
}
