// Package instance keeps one Switchboard per user: the first launch takes
// a lock and listens on a private local channel (a unix socket, 0600 in a
// 0700 directory, on Linux and macOS; loopback TCP with a random token in
// a per-user file on Windows); a later launch hands its command line to
// the first (so a clicked tel: link dials in the running app) and exits.
//
// It owns the lock and the channel only; what the arguments mean is the
// caller's business.
package instance
