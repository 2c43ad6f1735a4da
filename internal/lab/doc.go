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
// sip-tester (sipp). ALSA's "null" PCM (libasound2, pulled in by
// baresip-core) stands in for the bots' sound cards.
//
// Facts about the programs that shaped this package:
//   - baresip 1.0's aufile refuses a WAV whose rate differs from the
//     source rate, so bots set ausrc_srate 16000 and let baresip resample
//     to each codec. Account audio_codecs need "name/rate/channels"
//     (G722/16000/1, opus/48000/2) or they are silently ignored.
//   - baresip 1.0 emits no CALL_INCOMING for auto-answered calls and no
//     hold events; a peer's re-INVITE appears as CALL_REMOTE_SDP "offer".
//   - baresip 1.0's mwi module can loop SUBSCRIBEs forever, so MWI is
//     checked with sipp instead.
//   - Kamailio's "myself" compares ports: a port-less alias of 127.0.0.1
//     makes every loopback Contact look local and breaks in-dialog routing.
package lab
