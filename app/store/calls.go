package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Directions and the dispositions the store itself assigns. They mirror
// app.Direction and app.Disposition; the store does not import app.
const (
	Inbound  = "inbound"
	Outbound = "outbound"

	DispAnswered = "answered"
	DispMissed   = "missed"
	DispFailed   = "failed"
)

// InterruptedReason is the Reason given to a call that a crash left open,
// unless the call already carried one.
const InterruptedReason = "Switchboard stopped during the call"

// Quality is a call's measured audio quality, as in app.Quality.
type Quality struct {
	LossPct  float64 `json:"lossPct"`
	JitterMs float64 `json:"jitterMs"`
	RTTMs    float64 `json:"rttMs"` // 0 when RTCP gave none
	MOS      float64 `json:"mos"`
}

// CallRecord is one call in the history. Times are kept to the
// millisecond; a zero Answer or End means the call was not answered or
// has not ended.
type CallRecord struct {
	ID          string    `json:"id"`
	Direction   string    `json:"direction"` // Inbound or Outbound
	Number      string    `json:"number"`
	Name        string    `json:"name,omitempty"`
	Start       time.Time `json:"start"`
	Answer      time.Time `json:"answer,omitzero"`
	End         time.Time `json:"end,omitzero"`
	DurationSec float64   `json:"durationSec"` // talk time, Answer to End
	Disposition string    `json:"disposition,omitempty"`
	Reason      string    `json:"reason,omitempty"`
	Codec       string    `json:"codec,omitempty"`
	RecordingID string    `json:"recordingId,omitempty"`
	Quality
	// Interrupted: the app stopped during the call, so End is the last
	// heartbeat before the stop, not the real hang-up.
	Interrupted bool `json:"interrupted,omitempty"`
}

// CallEnd is how a call ended, given to EndCall.
type CallEnd struct {
	At time.Time
	// Disposition as app.Disposition; empty derives it: "answered" if the
	// call was answered, else "missed" (inbound) or "failed" (outbound).
	Disposition string
	Reason      string
	Quality     Quality
}

// Query selects calls for ListCalls. Zero fields do not filter.
type Query struct {
	// Search matches a substring of the number or the name, ignoring
	// ASCII case. A search made of digits and phone punctuation also
	// matches numbers stored with other punctuation: "1381234" finds
	// "+86 138-1234-5678".
	Search      string
	Direction   string // Inbound or Outbound
	Disposition string
	From, To    time.Time // Start in [From, To)
	Limit       int       // default 50, at most 500
	Offset      int
}

// Page is one page of ListCalls, newest first; Total counts every match.
type Page struct {
	Calls []CallRecord `json:"calls"`
	Total int          `json:"total"`
}

const callCols = `id, direction, number, name, start_ms, answer_ms, end_ms,
	duration_sec, disposition, reason, codec, recording_id,
	loss_pct, jitter_ms, rtt_ms, mos, interrupted`

type scanner interface{ Scan(...any) error }

func scanCall(row scanner) (CallRecord, error) {
	var (
		c           CallRecord
		start       int64
		answer, end sql.NullInt64
		recording   sql.NullString
		interrupted int64
	)
	err := row.Scan(&c.ID, &c.Direction, &c.Number, &c.Name, &start, &answer, &end,
		&c.DurationSec, &c.Disposition, &c.Reason, &c.Codec, &recording,
		&c.LossPct, &c.JitterMs, &c.RTTMs, &c.MOS, &interrupted)
	if err != nil {
		return CallRecord{}, err
	}
	c.Start = time.UnixMilli(start)
	c.Answer, c.End = timeOf(answer), timeOf(end)
	c.RecordingID = recording.String
	c.Interrupted = interrupted != 0
	return c, nil
}

func validCall(c CallRecord) error {
	switch {
	case c.ID == "":
		return fmt.Errorf("%w: call has no id", ErrInvalid)
	case c.Direction != Inbound && c.Direction != Outbound:
		return fmt.Errorf("%w: call %s: direction %q is neither %q nor %q", ErrInvalid, c.ID, c.Direction, Inbound, Outbound)
	case c.Start.IsZero():
		return fmt.Errorf("%w: call %s has no start time", ErrInvalid, c.ID)
	}
	return nil
}

func lastSeen(c CallRecord) int64 {
	t := c.Start.UnixMilli()
	for _, u := range []time.Time{c.Answer, c.End} {
		if !u.IsZero() {
			t = max(t, u.UnixMilli())
		}
	}
	return t
}

// BeginCall writes the call's row as it starts, so that a crash during
// the call still leaves it in the history. Usually only ID, Direction,
// Number, Name and Start are set; a complete record (with End) may also
// be stored, e.g. a call imported from the PBX.
func (s *Store) BeginCall(ctx context.Context, c CallRecord) error {
	if err := insertCall(ctx, s.w, c); err != nil {
		return fmt.Errorf("store call %s: %w", c.ID, err)
	}
	return nil
}

type execer interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}

func insertCall(ctx context.Context, ex execer, c CallRecord) error {
	if err := validCall(c); err != nil {
		return err
	}
	res, err := ex.ExecContext(ctx, `INSERT INTO calls (`+callCols+`, number_digits, last_seen_ms)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`,
		c.ID, c.Direction, c.Number, c.Name, c.Start.UnixMilli(), msOrNull(c.Answer), msOrNull(c.End),
		c.DurationSec, c.Disposition, c.Reason, c.Codec, nullString(c.RecordingID),
		c.LossPct, c.JitterMs, c.RTTMs, c.MOS, c.Interrupted,
		digitsOf(c.Number), lastSeen(c))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrExists
	}
	return nil
}

// whyNoRow explains why an update of an open call touched no row.
func whyNoRow(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, id string) error {
	var end sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT end_ms FROM calls WHERE id = ?`, id).Scan(&end)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return ErrNotFound
	case err != nil:
		return err
	case end.Valid:
		return ErrEnded
	}
	return errors.New("call is open but was not updated")
}

// AnswerCall records that the call was answered at t with codec. A second
// answer keeps the first time (a re-INVITE is not a new answer) but takes
// the new codec if one is given.
func (s *Store) AnswerCall(ctx context.Context, id string, t time.Time, codec string) error {
	if t.IsZero() {
		return fmt.Errorf("answer call %s: %w: no answer time", id, ErrInvalid)
	}
	ms := t.UnixMilli()
	res, err := s.w.ExecContext(ctx, `UPDATE calls SET
		answer_ms = coalesce(answer_ms, ?),
		codec = CASE WHEN ? = '' THEN codec ELSE ? END,
		last_seen_ms = max(last_seen_ms, ?)
		WHERE id = ? AND end_ms IS NULL`, ms, codec, codec, ms, id)
	if err != nil {
		return fmt.Errorf("answer call %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("answer call %s: %w", id, whyNoRow(ctx, s.w, id))
	}
	return nil
}

// SetCallName names the remote party of a call, live or ended: the CRM
// record found for its number, say. The name is kept to 200 characters.
func (s *Store) SetCallName(ctx context.Context, id, name string) error {
	if r := []rune(name); len(r) > maxNameRunes {
		name = string(r[:maxNameRunes])
	}
	res, err := s.w.ExecContext(ctx, `UPDATE calls SET name = ? WHERE id = ?`, name, id)
	if err != nil {
		return fmt.Errorf("name call %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("name call %s: %w", id, ErrNotFound)
	}
	return nil
}

// maxNameRunes bounds a stored caller name.
const maxNameRunes = 200

// Touch is the heartbeat of an open call: call it every few seconds while
// the call is up. After a crash the call is taken to have ended at its
// last heartbeat.
func (s *Store) Touch(ctx context.Context, id string, now time.Time) error {
	res, err := s.w.ExecContext(ctx, `UPDATE calls SET last_seen_ms = max(last_seen_ms, ?)
		WHERE id = ? AND end_ms IS NULL`, now.UnixMilli(), id)
	if err != nil {
		return fmt.Errorf("heartbeat of call %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("heartbeat of call %s: %w", id, whyNoRow(ctx, s.w, id))
	}
	return nil
}

// EndCall closes the call: sets End, the talk time, the disposition (see
// CallEnd.Disposition), the reason and the audio quality.
func (s *Store) EndCall(ctx context.Context, id string, e CallEnd) error {
	if e.At.IsZero() {
		return fmt.Errorf("end call %s: %w: no end time", id, ErrInvalid)
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var (
			dir         string
			start       int64
			answer, end sql.NullInt64
		)
		err := tx.QueryRowContext(ctx, `SELECT direction, start_ms, answer_ms, end_ms FROM calls WHERE id = ?`, id).
			Scan(&dir, &start, &answer, &end)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return ErrNotFound
		case err != nil:
			return err
		case end.Valid:
			return ErrEnded
		}
		// A clock step backwards must not give a call a negative length.
		endMS := max(e.At.UnixMilli(), start)
		var talk float64
		if answer.Valid {
			endMS = max(endMS, answer.Int64)
			talk = float64(endMS-answer.Int64) / 1000
		}
		disp := e.Disposition
		if disp == "" {
			disp = derivedDisposition(dir, answer.Valid)
		}
		_, err = tx.ExecContext(ctx, `UPDATE calls SET end_ms = ?, last_seen_ms = max(last_seen_ms, ?),
			duration_sec = ?, disposition = ?, reason = ?,
			loss_pct = ?, jitter_ms = ?, rtt_ms = ?, mos = ?
			WHERE id = ?`,
			endMS, endMS, talk, disp, e.Reason,
			e.Quality.LossPct, e.Quality.JitterMs, e.Quality.RTTMs, e.Quality.MOS, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("end call %s: %w", id, err)
	}
	return nil
}

func derivedDisposition(direction string, answered bool) string {
	switch {
	case answered:
		return DispAnswered
	case direction == Inbound:
		return DispMissed
	}
	return DispFailed
}

// UpdateCall changes a stored call in one transaction: fn gets the
// current record and edits it in place (e.g. the caller's name found in
// the CRM after the call began, or a corrected disposition). The ID
// cannot change.
func (s *Store) UpdateCall(ctx context.Context, id string, fn func(*CallRecord)) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		c, err := scanCall(tx.QueryRowContext(ctx, `SELECT `+callCols+` FROM calls WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		fn(&c)
		if c.ID != id {
			return fmt.Errorf("%w: the id of a call cannot change (to %q)", ErrInvalid, c.ID)
		}
		if err := validCall(c); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE calls SET direction = ?, number = ?, number_digits = ?, name = ?,
			start_ms = ?, answer_ms = ?, end_ms = ?, last_seen_ms = max(last_seen_ms, ?),
			duration_sec = ?, disposition = ?, reason = ?, codec = ?, recording_id = ?,
			loss_pct = ?, jitter_ms = ?, rtt_ms = ?, mos = ?, interrupted = ?
			WHERE id = ?`,
			c.Direction, c.Number, digitsOf(c.Number), c.Name,
			c.Start.UnixMilli(), msOrNull(c.Answer), msOrNull(c.End), lastSeen(c),
			c.DurationSec, c.Disposition, c.Reason, c.Codec, nullString(c.RecordingID),
			c.LossPct, c.JitterMs, c.RTTMs, c.MOS, c.Interrupted, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("update call %s: %w", id, err)
	}
	return nil
}

// GetCall returns one call, or ErrNotFound.
func (s *Store) GetCall(ctx context.Context, id string) (CallRecord, error) {
	c, err := scanCall(s.r.QueryRowContext(ctx, `SELECT `+callCols+` FROM calls WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return CallRecord{}, fmt.Errorf("call %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return CallRecord{}, fmt.Errorf("read call %s: %w", id, err)
	}
	return c, nil
}

// ListCalls returns one page of the calls matching q, newest first.
func (s *Store) ListCalls(ctx context.Context, q Query) (Page, error) {
	where, args, err := callFilter(q)
	if err != nil {
		return Page{}, fmt.Errorf("list calls: %w", err)
	}
	limit, offset := clampPage(q.Limit, q.Offset)

	// One read transaction, so the total and the page see the same
	// snapshot even while calls are being written.
	tx, err := s.r.BeginTx(ctx, nil)
	if err != nil {
		return Page{}, fmt.Errorf("list calls: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only

	var p Page
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM calls`+where, args...).Scan(&p.Total); err != nil {
		return Page{}, fmt.Errorf("list calls: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+callCols+` FROM calls`+where+
		` ORDER BY start_ms DESC, rowid DESC LIMIT ? OFFSET ?`, append(args, limit, offset)...)
	if err != nil {
		return Page{}, fmt.Errorf("list calls: %w", err)
	}
	defer rows.Close()
	p.Calls = make([]CallRecord, 0, min(limit, max(p.Total-offset, 0)))
	for rows.Next() {
		c, err := scanCall(rows)
		if err != nil {
			return Page{}, fmt.Errorf("list calls: %w", err)
		}
		p.Calls = append(p.Calls, c)
	}
	if err := rows.Err(); err != nil {
		return Page{}, fmt.Errorf("list calls: %w", err)
	}
	return p, nil
}

// callFilter builds the WHERE clause of q. User text only ever travels as
// a parameter; the clause itself is made of fixed fragments.
func callFilter(q Query) (string, []any, error) {
	var (
		conds []string
		args  []any
	)
	search, err := normalizeSearch(q.Search)
	if err != nil {
		return "", nil, err
	}
	if search != "" {
		pat := "%" + likeEscape(search) + "%"
		cond := `number LIKE ? ESCAPE '\' OR name LIKE ? ESCAPE '\'`
		args = append(args, pat, pat)
		if d, ok := phoneDigits(search); ok {
			cond += ` OR instr(number_digits, ?) > 0`
			args = append(args, d)
		}
		conds = append(conds, "("+cond+")")
	}
	switch q.Direction {
	case "":
	case Inbound, Outbound:
		conds = append(conds, "direction = ?")
		args = append(args, q.Direction)
	default:
		return "", nil, fmt.Errorf("%w: direction %q is neither %q nor %q", ErrInvalid, q.Direction, Inbound, Outbound)
	}
	if q.Disposition != "" {
		conds = append(conds, "disposition = ?")
		args = append(args, q.Disposition)
	}
	if !q.From.IsZero() {
		conds = append(conds, "start_ms >= ?")
		args = append(args, q.From.UnixMilli())
	}
	if !q.To.IsZero() {
		conds = append(conds, "start_ms < ?")
		args = append(args, q.To.UnixMilli())
	}
	if len(conds) == 0 {
		return "", nil, nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args, nil
}

// MissedCount counts missed calls that started at or after since (for
// the badge of unseen missed calls).
func (s *Store) MissedCount(ctx context.Context, since time.Time) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM calls WHERE disposition = ? AND start_ms >= ?`,
		DispMissed, since.UnixMilli()).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count missed calls: %w", err)
	}
	return n, nil
}

// recoverCalls ends every call a previous run left open: at its last
// heartbeat, flagged Interrupted, with a disposition derived from whether
// it was answered.
func (s *Store) recoverCalls(ctx context.Context) error {
	rows, err := s.w.QueryContext(ctx, `UPDATE calls SET
		end_ms = max(start_ms, coalesce(answer_ms, 0), last_seen_ms),
		duration_sec = CASE WHEN answer_ms IS NULL THEN 0
			ELSE max(0, max(start_ms, answer_ms, last_seen_ms) - answer_ms) / 1000.0 END,
		disposition = CASE WHEN answer_ms IS NOT NULL THEN 'answered'
			WHEN direction = 'inbound' THEN 'missed' ELSE 'failed' END,
		reason = CASE WHEN reason = '' THEN ? ELSE reason END,
		interrupted = 1
		WHERE end_ms IS NULL
		RETURNING id`, InterruptedReason)
	if err != nil {
		return fmt.Errorf("recover calls left open: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return fmt.Errorf("recover calls left open: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("recover calls left open: %w", err)
	}
	if len(ids) > 0 {
		s.log.Warn("store: calls left open by an earlier run were closed as interrupted", "count", len(ids), "ids", ids)
	}
	return nil
}
