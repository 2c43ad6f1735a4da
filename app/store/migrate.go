package store

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
)

// migration is one step of the schema's history. Steps are applied in
// order, each in its own transaction together with the user_version bump,
// so an interrupted upgrade leaves the file at the last complete step.
//
// Never edit or reorder a step that has shipped: files in the field are
// at that version already. Add a new step at the end instead.
type migration struct {
	name string
	sql  string
}

// migrations is the schema's history; step i brings user_version to i+1.
var migrations = []migration{
	{
		name: "calls and recordings",
		// calls.recording_id and recordings.call_id refer to each other;
		// SQLite resolves foreign keys when rows change, not when tables
		// are created, so the order of creation does not matter.
		sql: `
CREATE TABLE calls (
	id            TEXT PRIMARY KEY,
	direction     TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
	number        TEXT NOT NULL DEFAULT '',
	number_digits TEXT NOT NULL DEFAULT '', -- number without punctuation, for search
	name          TEXT NOT NULL DEFAULT '',
	start_ms      INTEGER NOT NULL,
	answer_ms     INTEGER,
	end_ms        INTEGER,
	last_seen_ms  INTEGER NOT NULL,          -- heartbeat; the end time after a crash
	duration_sec  REAL NOT NULL DEFAULT 0,
	disposition   TEXT NOT NULL DEFAULT '',
	reason        TEXT NOT NULL DEFAULT '',
	codec         TEXT NOT NULL DEFAULT '',
	recording_id  TEXT REFERENCES recordings(id) ON DELETE SET NULL,
	loss_pct      REAL NOT NULL DEFAULT 0,
	jitter_ms     REAL NOT NULL DEFAULT 0,
	rtt_ms        REAL NOT NULL DEFAULT 0,
	mos           REAL NOT NULL DEFAULT 0,
	interrupted   INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX calls_start ON calls(start_ms);
CREATE INDEX calls_disposition_start ON calls(disposition, start_ms);
CREATE INDEX calls_open ON calls(id) WHERE end_ms IS NULL;
CREATE INDEX calls_recording ON calls(recording_id);

CREATE TABLE recordings (
	id           TEXT PRIMARY KEY,
	call_id      TEXT REFERENCES calls(id) ON DELETE SET NULL,
	path         TEXT NOT NULL,
	format       TEXT NOT NULL DEFAULT '',
	bytes        INTEGER NOT NULL DEFAULT 0,
	duration_sec REAL NOT NULL DEFAULT 0,
	created_ms   INTEGER NOT NULL
) STRICT;
CREATE INDEX recordings_call ON recordings(call_id);
CREATE INDEX recordings_created ON recordings(created_ms);
`,
	},
	{
		name: "agent settings",
		sql: `
CREATE TABLE settings (
	key        TEXT PRIMARY KEY,
	value      TEXT NOT NULL CHECK (json_valid(value)),
	updated_ms INTEGER NOT NULL
) STRICT;
`,
	},
	{
		name: "outbox",
		// AUTOINCREMENT so an id is never reused after old items are
		// pruned: ids appear in logs and in the CRM writer's results.
		sql: `
CREATE TABLE outbox (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	key        TEXT NOT NULL UNIQUE,
	kind       TEXT NOT NULL,
	payload    TEXT NOT NULL CHECK (json_valid(payload)),
	attempts   INTEGER NOT NULL DEFAULT 0,
	last_error TEXT NOT NULL DEFAULT '',
	next_ms    INTEGER NOT NULL,
	created_ms INTEGER NOT NULL,
	done_ms    INTEGER,
	result     TEXT CHECK (result IS NULL OR json_valid(result))
) STRICT;
CREATE INDEX outbox_due ON outbox(next_ms, id) WHERE done_ms IS NULL;
`,
	},
}

// migrate brings db from its user_version up to len(steps). It refuses a
// file newer than steps rather than run on a schema it does not know.
//
// The version is read inside each step's write transaction, so two
// processes opening a new file at once do not both apply a step.
func migrate(ctx context.Context, db *sql.DB, steps []migration, log *slog.Logger) error {
	for {
		done, err := migrateStep(ctx, db, steps, log)
		if err != nil || done {
			return err
		}
	}
}

func migrateStep(ctx context.Context, db *sql.DB, steps []migration, log *slog.Logger) (done bool, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("migrate schema: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	var v int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return false, fmt.Errorf("read schema version: %w; if the file is damaged or not a Switchboard database, move it aside and restart to begin a new one", err)
	}
	switch {
	case v > len(steps):
		return false, fmt.Errorf("%w: schema version %d, this version knows up to %d; install the newer Switchboard again", ErrTooNew, v, len(steps))
	case v == len(steps):
		return true, tx.Commit()
	}
	step := steps[v]
	if _, err := tx.ExecContext(ctx, step.sql); err != nil {
		return false, fmt.Errorf("migrate to version %d (%s): %w", v+1, step.name, err)
	}
	// PRAGMA user_version writes the file header inside the transaction,
	// so the bump commits or rolls back with the step.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v+1)); err != nil {
		return false, fmt.Errorf("migrate to version %d: %w", v+1, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("migrate to version %d: %w", v+1, err)
	}
	log.Info("store: schema migrated", "version", v+1, "step", step.name)
	return false, nil
}

// schemaVersion reports the file's user_version.
func (s *Store) schemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.w.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v)
	return v, err
}
