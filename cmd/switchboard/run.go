package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"switchboard/app"
	"switchboard/app/store"
	"switchboard/audio"
	"switchboard/localhost"
)

// runPhone runs the phone and its local server until ctx ends.
func runPhone(ctx context.Context, g globals, stdin io.Reader, log *slog.Logger) error {
	cfg, err := app.LoadConfig(g.configPath)
	if err != nil {
		return err
	}
	st, sys, closeLocal, err := openLocal(ctx, g, log)
	if err != nil {
		return err
	}
	defer closeLocal()

	var pw string
	if cfg.PBX.Server != "" && cfg.Account.Extension != "" {
		pw, err = password(g, cfg, stdin)
		if err != nil {
			return err
		}
	} else {
		log.Warn("no PBX account configured: set [pbx] server and [account] extension in " + g.configPath)
	}

	phone, err := app.NewPhone(app.PhoneOptions{
		Config: cfg, Password: pw, Store: st, Audio: sys, Logger: log, DataDir: g.dataDir,
	})
	if err != nil {
		return err
	}
	// The Dynamics 365 rules observe every call from the first one.
	link, stopCRM, err := startCRM(ctx, cfg, st, phone, phone.Subscribe(1024), log)
	if err != nil {
		return err
	}
	defer stopCRM()

	if err := phone.Start(ctx); err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := phone.Close(cctx); err != nil {
			log.Warn("closing the phone", "error", err)
		}
	}()

	srv, err := startServer(ctx, g, cfg, &widgetPhone{Phone: phone, st: st, sys: sys}, link, log)
	if err != nil {
		return err
	}
	defer srv.Close()
	<-ctx.Done()
	log.Info("stopping")
	return nil
}

// startCRM runs the Dynamics 365 link: it follows sub (taken before the
// phone starts, so no call is missed) and sends the outbox until stop.
func startCRM(ctx context.Context, cfg app.Config, st *store.Store, phone callSource, sub *app.Subscription, log *slog.Logger) (link *crmLink, stop func(), err error) {
	link, err = newCRMLink(ctx, cfg, st, phone, log)
	if err != nil {
		sub.Close()
		return nil, nil, err
	}
	crmCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { link.follow(crmCtx, sub) })
	wg.Go(func() {
		if err := link.eng.Run(crmCtx); err != nil && !errors.Is(err, context.Canceled) {
			log.Warn("the Dynamics outbox stopped", "err", err)
		}
	})
	return link, func() {
		cancel()
		wg.Wait()
		link.eng.Close()
	}, nil
}

// startServer starts the local server for cfg, serving phone and the
// Dynamics link, and logs where the widget is and what the Dynamics
// administrator pastes into the channel provider.
func startServer(ctx context.Context, g globals, cfg app.Config, phone localhost.Phone, link *crmLink, log *slog.Logger) (*localhost.Server, error) {
	tokenFile, err := localhost.DefaultTokenFile()
	if err != nil {
		return nil, err
	}
	srv, err := localhost.New(localhost.Options{
		Addr:       net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.Server.Port)),
		DataDir:    g.dataDir,
		TokenFile:  tokenFile,
		CRMOrigins: cfg.CRM.URL,
		Phone:      phone,
		CRM:        link,
		Logger:     log,
		Version:    version,
	})
	if err != nil {
		return nil, err
	}
	link.setServer(srv)
	if err := srv.Start(ctx); err != nil {
		return nil, err
	}
	log.Info("widget ready", "url", srv.URL())
	for _, u := range cfg.CRM.URL {
		if cu, err := srv.ChannelURL(u); err == nil {
			log.Info("channel URL for Dynamics 365", "url", cu)
		}
	}
	return srv, nil
}

// openLocal opens what both the headless and the desktop app keep on this
// computer: the data directory, the store and the sound system (watched
// for devices coming and going). Without PortAudio the phone still
// registers and the widget still works; calls carry no sound until a
// device appears, so sys may be nil. closeAll releases them.
func openLocal(ctx context.Context, g globals, log *slog.Logger) (st *store.Store, sys *audio.System, closeAll func(), err error) {
	if err := os.MkdirAll(g.dataDir, 0o700); err != nil {
		return nil, nil, nil, fmt.Errorf("creating the data directory: %w", err)
	}
	st, err = store.Open(ctx, store.Options{Path: filepath.Join(g.dataDir, "switchboard.db"), Logger: log})
	if err != nil {
		return nil, nil, nil, err
	}
	sys, err = audio.NewSystem(audio.SystemOptions{Logger: log})
	if err != nil {
		log.Error("no sound system; calls will be silent", "error", err)
		return st, nil, func() { st.Close() }, nil
	}
	go func() {
		if err := sys.Watch(ctx, 2*time.Second); err != nil && !errors.Is(err, context.Canceled) {
			log.Warn("device watch stopped", "error", err)
		}
	}()
	return st, sys, func() { sys.Close(); st.Close() }, nil
}
