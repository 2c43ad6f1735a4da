package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver
)

// Errors callers can test with errors.Is.
var (
	// ErrNotFound: no call, recording or outbox item has that id.
	ErrNotFound = errors.New("not found")
	// ErrExists: a call or recording with that id is already stored.
	ErrExists = errors.New("already exists")
	// ErrEnded: the call has already ended, so it can no longer be
	// answered, touched or ended again.
	ErrEnded = errors.New("call already ended")
	// ErrDone: the outbox item was already marked done.
	ErrDone = errors.New("outbox item already done")
	// ErrInvalid: the argument cannot be stored or queried as given.
	ErrInvalid = errors.New("invalid argument")
	// ErrTooNew: the file was written by a newer Switchboard whose schema
	// this version does not know; running it could lose data.
	ErrTooNew = errors.New("database written by a newer version of Switchboard")
)

// busyTimeout is how long a statement waits for another connection's lock
// before failing. Writes are small (a row or two), so waiting this long
// only happens when something else holds the file: a backup tool, or a
// second process the single-instance guard missed.
const busyTimeout = 10 * time.Second

// readers is the size of the read pool. WAL lets readers run beside the
// single writer; the widget's history and recordings lists are the only
// concurrent readers, so a few connections are plenty.
const readers = 4

// Options configures Open.
type Options struct {
	// Path of the database file; its directory is created if missing.
	Path string
	// Logger receives migration and crash-recovery notes. Nil discards.
	Logger *slog.Logger
}

// Store is the open database. Its methods are safe for concurrent use.
type Store struct {
	// w has exactly one connection, so every write in this process is
	// serialised in Go rather than by SQLite's lock (which would make
	// concurrent writers spin on busy_timeout). Its transactions begin
	// IMMEDIATE, so a read-then-write never fails half way with
	// SQLITE_BUSY when another process committed in between.
	w *sql.DB
	// r serves reads; query_only guards against a write slipping onto a
	// connection that bypasses the writer's ordering.
	r    *sql.DB
	log  *slog.Logger
	path string
}

// Open opens (creating if needed) the database at opts.Path, brings its
// schema up to date, and recovers calls a crash left open: each is ended
// at its last heartbeat and flagged Interrupted.
func Open(ctx context.Context, opts Options) (*Store, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.Path == "" {
		return nil, fmt.Errorf("open store: %w: no database path given", ErrInvalid)
	}
	// The driver splits its options off at the first '?'.
	if strings.ContainsRune(opts.Path, '?') {
		return nil, fmt.Errorf("open store: %w: the path %q contains '?'; choose a data directory without it", ErrInvalid, opts.Path)
	}
	if err := prepareFile(opts.Path); err != nil {
		return nil, err
	}

	// synchronous=FULL: in WAL mode NORMAL survives the process crashing
	// but may lose the last commits when the OS crashes or power fails,
	// because the WAL is only synced at checkpoints. FULL syncs the WAL
	// on every commit. Writes here are a handful per call plus a
	// heartbeat every few seconds, so the fsync per commit costs nothing
	// the agent can notice, and G2 asks that nothing be lost.
	common := fmt.Sprintf("_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)", busyTimeout.Milliseconds())
	var s *Store
	for attempt := 1; ; attempt++ {
		var err error
		s, err = openWriter(ctx, opts.Path, common, log)
		if err == nil {
			break
		}
		// Two starts racing on a new file: SQLite refuses, rather than
		// waits, the second switch to WAL while the first is making it.
		// The first finishes in milliseconds; try again.
		if !isBusy(err) || attempt == 50 || ctx.Err() != nil {
			return nil, err
		}
		time.Sleep(time.Duration(10+rand.IntN(40)) * time.Millisecond)
	}
	w := s.w

	r, err := sql.Open("sqlite", opts.Path+"?"+common+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open store %s: %w", opts.Path, err)
	}
	r.SetMaxOpenConns(readers)
	r.SetMaxIdleConns(readers)
	if err := r.PingContext(ctx); err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("open store %s for reading: %w", opts.Path, err)
	}
	s.r = r
	return s, nil
}

// openWriter opens the writing connection and brings the file up to date.
func openWriter(ctx context.Context, path, common string, log *slog.Logger) (*Store, error) {
	w, err := sql.Open("sqlite", path+"?"+common+
		"&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	s := &Store{w: w, log: log, path: path}
	if err := s.init(ctx); err != nil {
		w.Close()
		return nil, err
	}
	return s, nil
}

// isBusy reports SQLITE_BUSY (database is locked) from the driver.
func isBusy(err error) bool {
	var coded interface{ Code() int }
	return errors.As(err, &coded) && coded.Code()&0xff == 5
}

// prepareFile creates the directory and, for a new database, an empty
// file readable by the user only: call history is personal data, and
// SQLite gives the -wal and -shm files the database file's permissions.
func prepareFile(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("open store: create data directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open store: create %s: %w; check the data directory's permissions", path, err)
	}
	return f.Close()
}

func (s *Store) init(ctx context.Context) error {
	var mode string
	if err := s.w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("open store %s: %w; if the file is damaged or not a Switchboard database, move it aside and restart to begin a new one", s.path, err)
	}
	// WAL is refused on some network file systems; without it a crash
	// mid-commit is still safe, but readers would block the writer.
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("open store %s: journal mode is %q, not WAL; keep the data directory on a local disk", s.path, mode)
	}
	if err := migrate(ctx, s.w, migrations, s.log); err != nil {
		return fmt.Errorf("open store %s: %w", s.path, err)
	}
	if err := s.recoverCalls(ctx); err != nil {
		return fmt.Errorf("open store %s: %w", s.path, err)
	}
	return nil
}

// Close flushes statistics for the query planner and closes the file.
func (s *Store) Close() error {
	var errs []error
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	// optimize is cheap and keeps the planner's statistics fresh; a
	// failure here loses nothing.
	if _, err := s.w.Exec("PRAGMA optimize"); err != nil && !strings.Contains(err.Error(), "database is closed") {
		s.log.Debug("store: optimize on close", "err", err)
	}
	errs = append(errs, s.w.Close())
	return errors.Join(errs...)
}

// Path returns the database file's path.
func (s *Store) Path() string { return s.path }

// inTx runs fn in one write transaction on the writer connection.
func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// Times are stored as Unix milliseconds; NULL means "none" (zero time).
func msOrNull(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}

func timeOf(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.UnixMilli(n.Int64)
}

func nullString(s string) sql.NullString {
	return sql.NullString{String: s, Valid: s != ""}
}

// clampPage applies the list defaults: 50 rows, at most 500.
func clampPage(limit, offset int) (int, int) {
	switch {
	case limit <= 0:
		limit = 50
	case limit > 500:
		limit = 500
	}
	return limit, max(offset, 0)
}
