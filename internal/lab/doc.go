// Package lab starts the real programs that Switchboard's tests talk to:
// Kamailio as the PBX (registrar, proxy, presence), baresip processes as
// the other phones, sipp for scripted and malformed SIP, and a throw-away
// certificate authority for TLS.
//
// Everything binds 127.0.0.1 on free ports and lives in its own temporary
// directory, so tests may run in parallel and leave nothing behind. The
// constructors take a context and return (*X, error) with a Close method,
// so they can also be used outside tests (the demo command). The *T
// helpers wrap them for tests: they fail the test on error and register
// cleanup.
//
// The lab owns only its child processes and temporary files. It must not
// import the product packages (sip, app, audio, ...): it is the outside
// world those packages are tested against.
//
// Programs used (Debian packages): kamailio, kamailio-sqlite-modules,
// kamailio-presence-modules, kamailio-tls-modules, baresip-core,
// sip-tester (sipp).
package lab
