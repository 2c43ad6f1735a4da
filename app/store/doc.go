// Package store is Switchboard's embedded database: the agent's call
// history, the index of call recordings, the agent's own setting overrides
// and the durable outbox of CRM writes, all in one SQLite file in the
// user's data directory.
//
// The promise it keeps is SPEC G2: nothing the agent did is lost on a
// crash. A call row is written when the call starts and kept alive by a
// heartbeat, so a crash mid-call leaves a row that the next Open closes
// and flags as interrupted; every commit is synced to disk before it
// returns; CRM writes wait in the outbox until they are marked done.
// Upgrades keep history (SPEC F3): the schema only moves forward through
// numbered migration steps recorded in the file's user_version.
//
// The store owns the database file and its -wal and -shm companions. It
// does not own the recording files themselves (DeleteRecording hands the
// path back so the caller removes the file), and it must not import
// package app or any other room: app imports store, so store speaks in
// plain strings ("inbound", "answered") rather than app's types.
//
// One process at a time: Open closes calls left open by a previous run,
// so the app's single-instance guard must be held before Open.
package store
