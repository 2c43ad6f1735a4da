// Command dynamics-double serves the Dynamics 365 host double with the
// sample records, framing the Switchboard widget, so a newcomer can watch
// a call pop a record and log an activity without a Dynamics tenant.
//
//	go run ./crm/cifhost/cmd/dynamics-double -widget 'https://localhost:8777/dyncrm?base={base}'
//
// Without -cert/-key it issues a throw-away certificate and writes its CA
// to -ca-out for the browser to trust. The real CIF library posts to the
// org's default port; on any other port the double keeps the port in its
// target origin (-keep-port, on by default off 443) so a plain browser
// works.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"switchboard/crm/cifhost"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8443", "listen address")
	hostname := flag.String("hostname", "localhost", "host name the browser uses")
	widget := flag.String("widget", "https://localhost:8777/dyncrm?base={base}", "channel URL framed in the side panel ({base} is this host's URL)")
	certFile := flag.String("cert", "", "TLS certificate (PEM); empty issues a throw-away one")
	keyFile := flag.String("key", "", "TLS key (PEM)")
	caOut := flag.String("ca-out", "dynamics-double-ca.pem", "where to write the throw-away CA certificate")
	keepPort := flag.Bool("keep-port", true, "keep the port in the library's target origin when not on 443 (a deviation from the real library)")
	sample := flag.Bool("sample", true, "load the sample contacts, accounts, leads and opportunities")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))

	o := cifhost.Options{Addr: *addr, Hostname: *hostname, WidgetURL: *widget, CertFile: *certFile, KeyFile: *keyFile, Logger: log}
	if _, port, err := net.SplitHostPort(*addr); err == nil && port != "443" {
		o.KeepPort = *keepPort
	}
	if *certFile == "" {
		c, err := cifhost.NewTestCert(*hostname, "localhost", "127.0.0.1")
		if err != nil {
			fail(err)
		}
		if err := os.WriteFile(*caOut, c.CAPEM, 0o644); err != nil {
			fail(err)
		}
		o.TLS = c.TLS
		fmt.Fprintf(os.Stderr, "trust %s in the browser (or accept the warning)\n", *caOut)
	}
	h, err := cifhost.New(o)
	if err != nil {
		fail(err)
	}
	if *sample {
		cifhost.LoadSample(h.Dataverse())
	}
	if err := h.Start(); err != nil {
		fail(err)
	}
	fmt.Printf("Dynamics host double: %s/main.aspx (listening on %s, port %s)\n", h.URL(), h.Addr(), strconv.Itoa(h.Port()))
	fmt.Printf("agent systemuser id: %s\n", h.Dataverse().UserID())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	_ = h.Close()
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "dynamics-double:", err)
	os.Exit(1)
}
