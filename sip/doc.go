// Package sip is Switchboard's SIP user agent, built on sipgo and diago:
// registration (digest auth over UDP, TCP and TLS, refresh, keepalive,
// re-registration with capped backoff), outbound and inbound calls,
// hold/resume by re-INVITE, and the RTP port each call hands the audio
// pipeline.
//
// It owns signalling only. It knows nothing of audio devices, CRM or HTTP:
// it reports what happens through the callbacks in Options and hands each
// answered call's media to the caller as a Media value.
package sip
