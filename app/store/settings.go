package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// The settings table keeps the agent's own changes (ringer device, pop
// behaviour, ...), one JSON value per key. The app layers them over the
// administrator's presets: a key stored here wins.

// GetSetting decodes the value stored under key into v. found is false
// (and v untouched) when the agent never set it.
func (s *Store) GetSetting(ctx context.Context, key string, v any) (found bool, err error) {
	var raw string
	err = s.r.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read setting %q: %w", key, err)
	}
	if err := json.Unmarshal([]byte(raw), v); err != nil {
		return true, fmt.Errorf("setting %q: stored value does not fit %T: %w; set it again to replace it", key, v, err)
	}
	return true, nil
}

// PutSetting stores v, encoded as JSON, under key.
func (s *Store) PutSetting(ctx context.Context, key string, v any) error {
	if key == "" {
		return fmt.Errorf("store setting: %w: empty key", ErrInvalid)
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("store setting %q: %w: %w", key, ErrInvalid, err)
	}
	_, err = s.w.ExecContext(ctx, `INSERT INTO settings (key, value, updated_ms) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_ms = excluded.updated_ms`,
		key, string(raw), time.Now().UnixMilli())
	if err != nil {
		return fmt.Errorf("store setting %q: %w", key, err)
	}
	return nil
}

// DeleteSetting forgets the agent's value for key, so the administrator's
// preset applies again. Deleting an unset key is not an error.
func (s *Store) DeleteSetting(ctx context.Context, key string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM settings WHERE key = ?`, key); err != nil {
		return fmt.Errorf("delete setting %q: %w", key, err)
	}
	return nil
}

// AllSettings returns every stored setting as raw JSON.
func (s *Store) AllSettings(ctx context.Context) (map[string]json.RawMessage, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT key, value FROM settings`)
	if err != nil {
		return nil, fmt.Errorf("read settings: %w", err)
	}
	defer rows.Close()
	m := make(map[string]json.RawMessage)
	for rows.Next() {
		var (
			k string
			v string
		)
		if err := rows.Scan(&k, &v); err != nil {
			return nil, fmt.Errorf("read settings: %w", err)
		}
		m[k] = json.RawMessage(v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read settings: %w", err)
	}
	return m, nil
}
