package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Recording is one entry of the recordings index. The file itself lives
// at Path and belongs to the caller.
type Recording struct {
	ID          string    `json:"id"`
	CallID      string    `json:"callId,omitempty"` // empty: not tied to a stored call
	Path        string    `json:"path"`
	Format      string    `json:"format"` // e.g. "wav", "opus"
	Bytes       int64     `json:"bytes"`
	DurationSec float64   `json:"durationSec"`
	Created     time.Time `json:"created"`

	// Read from the call when listing (for "call back" and "open
	// record"); AddRecording ignores them.
	Direction string `json:"direction,omitempty"`
	Number    string `json:"number,omitempty"`
	Name      string `json:"name,omitempty"`
}

// RecordingQuery selects recordings for ListRecordings. Zero fields do
// not filter.
type RecordingQuery struct {
	CallID   string
	Search   string    // the call's number or name, as in Query.Search
	From, To time.Time // Created in [From, To)
	Limit    int       // default 50, at most 500
	Offset   int
}

// RecordingPage is one page of ListRecordings, newest first.
type RecordingPage struct {
	Recordings []Recording `json:"recordings"`
	Total      int         `json:"total"`
}

// AddRecording indexes a recording. When it belongs to a call, the call's
// RecordingID points to it (the latest recording of a call wins).
func (s *Store) AddRecording(ctx context.Context, r Recording) error {
	switch {
	case r.ID == "":
		return fmt.Errorf("add recording: %w: no id", ErrInvalid)
	case r.Path == "":
		return fmt.Errorf("add recording %s: %w: no file path", r.ID, ErrInvalid)
	}
	if r.Created.IsZero() {
		r.Created = time.Now()
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if r.CallID != "" {
			var one int
			err := tx.QueryRowContext(ctx, `SELECT 1 FROM calls WHERE id = ?`, r.CallID).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("call %s: %w", r.CallID, ErrNotFound)
			}
			if err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO recordings (id, call_id, path, format, bytes, duration_sec, created_ms)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
			r.ID, nullString(r.CallID), r.Path, r.Format, r.Bytes, r.DurationSec, r.Created.UnixMilli())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrExists
		}
		if r.CallID != "" {
			_, err = tx.ExecContext(ctx, `UPDATE calls SET recording_id = ? WHERE id = ?`, r.ID, r.CallID)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("add recording %s: %w", r.ID, err)
	}
	return nil
}

const recordingCols = `r.id, r.call_id, r.path, r.format, r.bytes, r.duration_sec, r.created_ms,
	coalesce(c.direction, ''), coalesce(c.number, ''), coalesce(c.name, '')`

const recordingFrom = ` FROM recordings r LEFT JOIN calls c ON c.id = r.call_id`

func scanRecording(row scanner) (Recording, error) {
	var (
		r       Recording
		callID  sql.NullString
		created int64
	)
	err := row.Scan(&r.ID, &callID, &r.Path, &r.Format, &r.Bytes, &r.DurationSec, &created,
		&r.Direction, &r.Number, &r.Name)
	r.CallID = callID.String
	r.Created = time.UnixMilli(created)
	return r, err
}

// GetRecording returns one recording, or ErrNotFound.
func (s *Store) GetRecording(ctx context.Context, id string) (Recording, error) {
	r, err := scanRecording(s.r.QueryRowContext(ctx, `SELECT `+recordingCols+recordingFrom+` WHERE r.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Recording{}, fmt.Errorf("recording %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Recording{}, fmt.Errorf("read recording %s: %w", id, err)
	}
	return r, nil
}

// ListRecordings returns one page of the recordings matching q, newest
// first.
func (s *Store) ListRecordings(ctx context.Context, q RecordingQuery) (RecordingPage, error) {
	var (
		conds []string
		args  []any
	)
	search, err := normalizeSearch(q.Search)
	if err != nil {
		return RecordingPage{}, fmt.Errorf("list recordings: %w", err)
	}
	if search != "" {
		pat := "%" + likeEscape(search) + "%"
		cond := `c.number LIKE ? ESCAPE '\' OR c.name LIKE ? ESCAPE '\'`
		args = append(args, pat, pat)
		if d, ok := phoneDigits(search); ok {
			cond += ` OR instr(c.number_digits, ?) > 0`
			args = append(args, d)
		}
		conds = append(conds, "("+cond+")")
	}
	if q.CallID != "" {
		conds = append(conds, "r.call_id = ?")
		args = append(args, q.CallID)
	}
	if !q.From.IsZero() {
		conds = append(conds, "r.created_ms >= ?")
		args = append(args, q.From.UnixMilli())
	}
	if !q.To.IsZero() {
		conds = append(conds, "r.created_ms < ?")
		args = append(args, q.To.UnixMilli())
	}
	where := ""
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	limit, offset := clampPage(q.Limit, q.Offset)

	tx, err := s.r.BeginTx(ctx, nil)
	if err != nil {
		return RecordingPage{}, fmt.Errorf("list recordings: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only

	var p RecordingPage
	if err := tx.QueryRowContext(ctx, `SELECT count(*)`+recordingFrom+where, args...).Scan(&p.Total); err != nil {
		return RecordingPage{}, fmt.Errorf("list recordings: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+recordingCols+recordingFrom+where+
		` ORDER BY r.created_ms DESC, r.rowid DESC LIMIT ? OFFSET ?`, append(args, limit, offset)...)
	if err != nil {
		return RecordingPage{}, fmt.Errorf("list recordings: %w", err)
	}
	defer rows.Close()
	p.Recordings = []Recording{}
	for rows.Next() {
		r, err := scanRecording(rows)
		if err != nil {
			return RecordingPage{}, fmt.Errorf("list recordings: %w", err)
		}
		p.Recordings = append(p.Recordings, r)
	}
	if err := rows.Err(); err != nil {
		return RecordingPage{}, fmt.Errorf("list recordings: %w", err)
	}
	return p, nil
}

// DeleteRecording removes a recording from the index and returns its
// file's path, which the caller then deletes. ErrNotFound if unknown.
func (s *Store) DeleteRecording(ctx context.Context, id string) (path string, err error) {
	paths, err := s.DeleteRecordings(ctx, []string{id})
	if err != nil {
		return "", err
	}
	if len(paths) == 0 {
		return "", fmt.Errorf("delete recording %s: %w", id, ErrNotFound)
	}
	return paths[0], nil
}

// DeleteRecordings removes several recordings in one transaction and
// returns the paths of those that were indexed; unknown ids are skipped.
// A call that pointed at a deleted recording points at its latest
// remaining one, if any.
func (s *Store) DeleteRecordings(ctx context.Context, ids []string) (paths []string, err error) {
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		for _, id := range ids {
			var (
				path   string
				callID sql.NullString
			)
			err := tx.QueryRowContext(ctx, `DELETE FROM recordings WHERE id = ? RETURNING path, call_id`, id).
				Scan(&path, &callID)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return fmt.Errorf("recording %s: %w", id, err)
			}
			paths = append(paths, path)
			// The foreign key already cleared calls.recording_id.
			if callID.Valid {
				_, err = tx.ExecContext(ctx, `UPDATE calls SET recording_id =
					(SELECT id FROM recordings WHERE call_id = calls.id ORDER BY created_ms DESC, rowid DESC LIMIT 1)
					WHERE id = ? AND recording_id IS NULL`, callID.String)
				if err != nil {
					return fmt.Errorf("recording %s: %w", id, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("delete recordings: %w", err)
	}
	return paths, nil
}
