package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"switchboard/app"
	"switchboard/audio"
	"switchboard/localhost"
)

// channelURL prints the URL an administrator pastes into the Dynamics 365
// channel provider, one line per configured organisation.
func channelURL(g globals, stdout io.Writer) error {
	cfg, err := app.LoadConfig(g.configPath)
	if err != nil {
		return err
	}
	if len(cfg.CRM.URL) == 0 {
		return errors.New("no Dynamics 365 organisation configured: set [crm] url in " + g.configPath)
	}
	for _, u := range cfg.CRM.URL {
		s, err := localhost.ChannelURL(cfg.Server.Port, u)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, s)
	}
	return nil
}

func certCmd(ctx context.Context, g globals, args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return errors.New("usage: switchboard cert install|uninstall|status")
	}
	opts := localhost.TrustOptions{DataDir: g.dataDir}
	var (
		st  []localhost.StoreStatus
		err error
	)
	switch args[0] {
	case "install":
		if _, err := localhost.EnsureCertificates(g.dataDir); err != nil {
			return err
		}
		st, err = localhost.InstallCA(ctx, opts)
	case "uninstall":
		st, err = localhost.UninstallCA(ctx, opts)
	case "status":
		st, err = localhost.CAStatus(ctx, opts)
	default:
		return fmt.Errorf("unknown cert command %q: use install, uninstall or status", args[0])
	}
	for _, s := range st {
		fmt.Fprintln(stdout, s)
	}
	return err
}

func listDevices(stdout io.Writer) error {
	sys, err := audio.NewSystem(audio.SystemOptions{})
	if err != nil {
		return err
	}
	defer sys.Close()
	devs, err := sys.Devices()
	if err != nil {
		return err
	}
	for _, d := range devs {
		kind := ""
		if d.Input {
			kind += "in "
		}
		if d.Output {
			kind += "out"
		}
		def := ""
		if d.DefaultInput || d.DefaultOutput {
			def = " (default)"
		}
		fmt.Fprintf(stdout, "%-7s %s%s\n", kind, d.Name, def)
	}
	return nil
}
