package store

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// base is a fixed moment the tests build their calls around.
var base = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func openAt(t testing.TB, path string) *Store {
	t.Helper()
	s, err := Open(t.Context(), Options{Path: path, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openTest(t testing.TB) *Store {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "switchboard.db"))
}

func TestOpenEmptyFileAndReopen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "data", "switchboard.db") // directory created by Open
	s, err := Open(ctx, Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.schemaVersion(ctx)
	if err != nil || v != len(migrations) {
		t.Fatalf("schema version = %d, %v; want %d", v, err, len(migrations))
	}
	var mode string
	if err := s.r.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v; want wal", mode, err)
	}
	var syncMode, fk int
	if err := s.w.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&syncMode); err != nil || syncMode != 2 {
		t.Fatalf("synchronous = %d, %v; want 2 (FULL)", syncMode, err)
	}
	if err := s.r.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Fatalf("foreign_keys = %d, %v; want 1", fk, err)
	}
	if err := s.PutSetting(ctx, "ringer", "USB Headset"); err != nil {
		t.Fatal(err)
	}
	if err := s.BeginCall(ctx, CallRecord{ID: "c1", Direction: Inbound, Number: "1001", Start: base}); err != nil {
		t.Fatal(err)
	}
	if err := s.EndCall(ctx, "c1", CallEnd{At: base.Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("database file mode = %v, want 0600 (call history is personal)", perm)
		}
	}

	s = openAt(t, path)
	var ringer string
	if found, err := s.GetSetting(ctx, "ringer", &ringer); err != nil || !found || ringer != "USB Headset" {
		t.Fatalf("after reopen: setting = %q, %v, %v", ringer, found, err)
	}
	c, err := s.GetCall(ctx, "c1")
	if err != nil || c.Disposition != DispMissed || c.Interrupted {
		t.Fatalf("after reopen: call = %+v, %v", c, err)
	}
	if runtime.GOOS != "windows" {
		for _, suffix := range []string{"-wal", "-shm"} {
			fi, err := os.Stat(path + suffix)
			if err != nil {
				t.Fatal(err)
			}
			if perm := fi.Mode().Perm(); perm != 0o600 {
				t.Errorf("%s mode = %v, want 0600", suffix, perm)
			}
		}
	}
}

// An upgrade runs only the missing steps and keeps what the older schema
// held (SPEC F3).
func TestMigrateUpgradeKeepsHistory(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate(ctx, db, migrations[:1], testLogger(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO calls (id, direction, number, number_digits, start_ms, end_ms, last_seen_ms, disposition)
		VALUES ('old', 'outbound', '+1 (555) 010-0000', '15550100000', ?, ?, ?, 'answered')`,
		base.UnixMilli(), base.UnixMilli()+5000, base.UnixMilli()+5000); err != nil {
		t.Fatal(err)
	}
	var v int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil || v != 1 {
		t.Fatalf("old file at version %d, %v; want 1", v, err)
	}
	db.Close()

	s := openAt(t, path)
	if v, err := s.schemaVersion(ctx); err != nil || v != len(migrations) {
		t.Fatalf("upgraded version = %d, %v; want %d", v, err, len(migrations))
	}
	c, err := s.GetCall(ctx, "old")
	if err != nil || c.Number != "+1 (555) 010-0000" || !c.End.Equal(base.Add(5*time.Second)) {
		t.Fatalf("call after upgrade = %+v, %v", c, err)
	}
	if _, _, err := s.Enqueue(ctx, OutboxItem{Key: "k", Kind: "activity", Payload: []byte(`{}`)}); err != nil {
		t.Fatalf("outbox after upgrade: %v", err)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("PRAGMA user_version = 999"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = Open(t.Context(), Options{Path: path})
	if !errors.Is(err, ErrTooNew) {
		t.Fatalf("Open on a newer schema: err = %v, want ErrTooNew", err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, []byte("this is not an SQLite database, just some text that is long enough"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path string
	}{
		{"empty path", ""},
		{"question mark", filepath.Join(dir, "a?b.db")},
		{"not a database", garbage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(t.Context(), Options{Path: tc.path})
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			t.Log(err)
		})
	}
}

func TestCloseTwice(t *testing.T) {
	s, err := Open(t.Context(), Options{Path: filepath.Join(t.TempDir(), "x.db")})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.GetCall(context.Background(), "x"); err == nil {
		t.Fatal("GetCall after Close succeeded")
	}
}

// Several opens of a new file at once (two app starts racing) must each
// see the schema applied exactly once.
func TestConcurrentOpenOfNewFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "race.db")
	const n = 4
	stores := make([]*Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = Open(t.Context(), Options{Path: path}) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Errorf("open %d: %v", i, errs[i])
			continue
		}
		if v, err := stores[i].schemaVersion(t.Context()); err != nil || v != len(migrations) {
			t.Errorf("open %d: version %d, %v", i, v, err)
		}
		stores[i].Close()
	}
}
