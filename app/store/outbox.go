package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// The outbox holds writes for the CRM that must survive a crash, a closed
// Dynamics tab and a restart (SPEC G2). An item stays pending until
// MarkDone; MarkFailed counts the attempt and schedules the next one.
// It is meant for one consumer: NextDue does not lease items.

// OutboxItem is one pending or finished write.
type OutboxItem struct {
	ID int64 `json:"id"`
	// Key makes Enqueue idempotent: an item with the same key is not
	// stored twice (e.g. "activity:<call id>").
	Key     string          `json:"key"`
	Kind    string          `json:"kind"`
	Payload json.RawMessage `json:"payload"`
	// NextAt is when the item is next due; zero at Enqueue means now.
	NextAt    time.Time       `json:"nextAt"`
	Attempts  int             `json:"attempts"`
	LastError string          `json:"lastError,omitempty"`
	Created   time.Time       `json:"created"`
	Done      time.Time       `json:"done,omitzero"`
	Result    json.RawMessage `json:"result,omitempty"`
}

const outboxCols = `id, key, kind, payload, next_ms, attempts, last_error, created_ms, done_ms, result`

func scanOutbox(row scanner) (OutboxItem, error) {
	var (
		it            OutboxItem
		payload       string
		next, created int64
		done          sql.NullInt64
		result        sql.NullString
	)
	err := row.Scan(&it.ID, &it.Key, &it.Kind, &payload, &next, &it.Attempts, &it.LastError, &created, &done, &result)
	it.Payload = json.RawMessage(payload)
	it.NextAt, it.Created, it.Done = time.UnixMilli(next), time.UnixMilli(created), timeOf(done)
	if result.Valid {
		it.Result = json.RawMessage(result.String)
	}
	return it, err
}

// Enqueue stores a write. If an item with the same Key exists (pending or
// done), nothing is stored and its id is returned with created false; the
// new payload is ignored.
func (s *Store) Enqueue(ctx context.Context, it OutboxItem) (id int64, created bool, err error) {
	switch {
	case it.Key == "":
		return 0, false, fmt.Errorf("enqueue: %w: no idempotency key", ErrInvalid)
	case it.Kind == "":
		return 0, false, fmt.Errorf("enqueue %s: %w: no kind", it.Key, ErrInvalid)
	case !json.Valid(it.Payload):
		return 0, false, fmt.Errorf("enqueue %s: %w: payload is not valid JSON", it.Key, ErrInvalid)
	}
	now := time.Now()
	next := it.NextAt
	if next.IsZero() {
		next = now
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO outbox (key, kind, payload, next_ms, created_ms)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING RETURNING id`,
			it.Key, it.Kind, string(it.Payload), next.UnixMilli(), now.UnixMilli()).Scan(&id)
		if err == nil {
			created = true
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT id FROM outbox WHERE key = ?`, it.Key).Scan(&id)
	})
	if err != nil {
		return 0, false, fmt.Errorf("enqueue %s: %w", it.Key, err)
	}
	return id, created, nil
}

// NextDue returns up to limit (default 10, at most 500) pending items due
// at now, the longest waiting first.
func (s *Store) NextDue(ctx context.Context, now time.Time, limit int) ([]OutboxItem, error) {
	switch {
	case limit <= 0:
		limit = 10
	case limit > 500:
		limit = 500
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+outboxCols+` FROM outbox
		WHERE done_ms IS NULL AND next_ms <= ? ORDER BY next_ms, id LIMIT ?`, now.UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	defer rows.Close()
	var items []OutboxItem
	for rows.Next() {
		it, err := scanOutbox(rows)
		if err != nil {
			return nil, fmt.Errorf("read outbox: %w", err)
		}
		items = append(items, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	return items, nil
}

// GetOutboxItem returns one item, or ErrNotFound.
func (s *Store) GetOutboxItem(ctx context.Context, id int64) (OutboxItem, error) {
	it, err := scanOutbox(s.r.QueryRowContext(ctx, `SELECT `+outboxCols+` FROM outbox WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return OutboxItem{}, fmt.Errorf("outbox item %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return OutboxItem{}, fmt.Errorf("read outbox item %d: %w", id, err)
	}
	return it, nil
}

// MarkDone records that the write succeeded, with its result (e.g. the
// created record's id); result may be nil. Marking a done item again
// keeps the first result.
func (s *Store) MarkDone(ctx context.Context, id int64, result json.RawMessage) error {
	var res sql.NullString
	if result != nil {
		if !json.Valid(result) {
			return fmt.Errorf("outbox item %d: %w: result is not valid JSON", id, ErrInvalid)
		}
		res = sql.NullString{String: string(result), Valid: true}
	}
	r, err := s.w.ExecContext(ctx, `UPDATE outbox SET done_ms = coalesce(done_ms, ?), result = coalesce(result, ?)
		WHERE id = ?`, time.Now().UnixMilli(), res, id)
	if err != nil {
		return fmt.Errorf("mark outbox item %d done: %w", id, err)
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return fmt.Errorf("mark outbox item %d done: %w", id, ErrNotFound)
	}
	return nil
}

// MarkFailed counts a failed attempt, keeps its error and makes the item
// due again at retryAt. The caller chooses the backoff.
func (s *Store) MarkFailed(ctx context.Context, id int64, errText string, retryAt time.Time) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, `UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_ms = ?
			WHERE id = ? AND done_ms IS NULL`, errText, retryAt.UnixMilli(), id)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n > 0 {
			return nil
		}
		var one int
		err = tx.QueryRowContext(ctx, `SELECT 1 FROM outbox WHERE id = ?`, id).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		return ErrDone
	})
	if err != nil {
		return fmt.Errorf("mark outbox item %d failed: %w", id, err)
	}
	return nil
}

// Pending counts the items not yet done, due or not.
func (s *Store) Pending(ctx context.Context) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM outbox WHERE done_ms IS NULL`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count outbox: %w", err)
	}
	return n, nil
}

// PruneOutbox deletes items done before before and returns how many.
// Their keys are forgotten, so an Enqueue with such a key stores anew.
func (s *Store) PruneOutbox(ctx context.Context, before time.Time) (int64, error) {
	r, err := s.w.ExecContext(ctx, `DELETE FROM outbox WHERE done_ms IS NOT NULL AND done_ms < ?`, before.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("prune outbox: %w", err)
	}
	n, _ := r.RowsAffected()
	return n, nil
}
