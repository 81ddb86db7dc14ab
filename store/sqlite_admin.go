package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/rightsize/rightsize"
)

// WriteTask records t, replacing the task of the same ID if there is one;
// see [Postgres.WriteTask].
func (s *SQLite) WriteTask(ctx context.Context, t rightsize.Task) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if err := checkTask(t); err != nil {
		return err
	}
	t = normalTask(t)
	params, err := json.Marshal(t.Params)
	if err != nil {
		return fmt.Errorf("store: write task %s: %w", t.ID, err)
	}
	services, err := json.Marshal(t.Services)
	if err != nil {
		return fmt.Errorf("store: write task %s: %w", t.ID, err)
	}
	var end any
	if !t.End.IsZero() {
		end = t.End.UnixMicro()
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	_, err = s.db.ExecContext(ctx, `
INSERT INTO rightsize_tasks (id, params, services, start, "end") VALUES (?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET params = excluded.params, services = excluded.services, start = excluded.start, "end" = excluded."end"`,
		t.ID, string(params), string(services), t.Start.UnixMicro(), end)
	if err != nil {
		return fmt.Errorf("store: write task %s: %w", t.ID, err)
	}
	return nil
}

const sqliteTaskColumns = `id, params, services, start, "end"`

func scanSQLiteTask(sc interface{ Scan(...any) error }) (rightsize.Task, error) {
	var (
		t                rightsize.Task
		params, services string
		start            int64
		end              sql.NullInt64
	)
	if err := sc.Scan(&t.ID, &params, &services, &start, &end); err != nil {
		return t, err
	}
	if err := json.Unmarshal([]byte(params), &t.Params); err != nil {
		return t, fmt.Errorf("task %s: parameters: %w", t.ID, err)
	}
	if err := json.Unmarshal([]byte(services), &t.Services); err != nil {
		return t, fmt.Errorf("task %s: services: %w", t.ID, err)
	}
	t.Start = time.UnixMicro(start).UTC()
	if end.Valid {
		t.End = time.UnixMicro(end.Int64).UTC()
	}
	return normalTask(t), nil
}

// Task returns the task of the given ID, or an error matching
// ErrNotFound.
func (s *SQLite) Task(ctx context.Context, id string) (rightsize.Task, error) {
	if s.closed.Load() {
		return rightsize.Task{}, ErrClosed
	}
	t, err := scanSQLiteTask(s.db.QueryRowContext(ctx, `SELECT `+sqliteTaskColumns+` FROM rightsize_tasks WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return rightsize.Task{}, fmt.Errorf("%w: task %q", ErrNotFound, id)
	}
	if err != nil {
		return rightsize.Task{}, fmt.Errorf("store: task %q: %w", id, err)
	}
	return t, nil
}

// Tasks returns the tasks q selects, ordered by start, then ID.
func (s *SQLite) Tasks(ctx context.Context, q TaskQuery) ([]rightsize.Task, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	var w where
	if q.Service != "" {
		w.add("EXISTS (SELECT 1 FROM json_each(services) WHERE value = ?)", q.Service)
	}
	if !q.From.IsZero() {
		w.add(`("end" IS NULL OR "end" >= ?)`, clampTime(q.From).Truncate(time.Microsecond).UnixMicro())
	}
	if !q.To.IsZero() {
		w.add("start < ?", clampTime(q.To).Truncate(time.Microsecond).UnixMicro())
	}
	query := `SELECT ` + sqliteTaskColumns + ` FROM rightsize_tasks`
	if len(w.conds) > 0 {
		query += " WHERE " + w.String()
	}
	query += " ORDER BY start, id"
	if q.Limit > 0 {
		query += fmt.Sprintf(" LIMIT %d", q.Limit)
	}
	rows, err := s.db.QueryContext(ctx, query, w.args...)
	if err != nil {
		return nil, fmt.Errorf("store: tasks: %w", err)
	}
	defer rows.Close()
	out := []rightsize.Task{}
	for rows.Next() {
		t, err := scanSQLiteTask(rows)
		if err != nil {
			return nil, fmt.Errorf("store: tasks: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: tasks: %w", err)
	}
	return out, nil
}

// Catalog describes every stored series that holds samples; see
// [Postgres.Catalog].
func (s *SQLite) Catalog(ctx context.Context) ([]SeriesInfo, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	rows, err := s.db.QueryContext(ctx, `
SELECT s.id, s.task_id, s.service, s.instance, s.resource, c.n, c.first, c.last
FROM rightsize_series s
JOIN (SELECT series_id, sum(count) AS n, min(first) AS first, max(last) AS last FROM rightsize_chunks GROUP BY series_id) c ON c.series_id = s.id`)
	if err != nil {
		return nil, fmt.Errorf("store: catalog: %w", err)
	}
	defer rows.Close()
	var (
		series []seriesRow
		infos  = map[int64]SeriesInfo{}
	)
	for rows.Next() {
		var (
			r           seriesRow
			si          SeriesInfo
			first, last int64
		)
		if err := rows.Scan(&r.id, &r.key.task, &r.key.service, &r.key.instance, &r.key.resource, &si.Count, &first, &last); err != nil {
			return nil, fmt.Errorf("store: catalog: %w", err)
		}
		si.Task, si.Service, si.Instance, si.Resource = r.key.task, r.key.service, r.key.instance, r.key.resource
		si.First, si.Last = time.UnixMicro(first).UTC(), time.UnixMicro(last).UTC()
		series = append(series, r)
		infos[r.id] = si
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: catalog: %w", err)
	}
	sortSeries(series)
	out := make([]SeriesInfo, len(series))
	for i, r := range series {
		out[i] = infos[r.id]
	}
	return out, nil
}

// DropBefore deletes the buckets that end at or before t, whole; see
// [Postgres.DropBefore].
func (s *SQLite) DropBefore(ctx context.Context, t time.Time) (int64, error) {
	if s.closed.Load() {
		return 0, ErrClosed
	}
	limit := clampTime(t).Truncate(time.Microsecond).UnixMicro() - s.width
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("store: drop before: %w", err)
	}
	defer tx.Rollback() // a no-op after Commit
	var n int64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(sum(count), 0) FROM rightsize_chunks WHERE bucket <= ?`, limit).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: drop before: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM rightsize_chunks WHERE bucket <= ?`, limit); err != nil {
		return 0, fmt.Errorf("store: drop before: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("store: drop before: %w", err)
	}
	return n, nil
}

// Reset deletes everything the store holds; see [Postgres.Reset].
func (s *SQLite) Reset(ctx context.Context) error {
	if s.closed.Load() {
		return ErrClosed
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: reset: %w", err)
	}
	defer tx.Rollback() // a no-op after Commit
	for _, table := range []string{"rightsize_chunks", "rightsize_series", "rightsize_tasks", "rightsize_offsets"} {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+table); err != nil {
			return fmt.Errorf("store: reset: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: reset: %w", err)
	}
	s.mu.Lock()
	clear(s.series)
	s.mu.Unlock()
	s.compaction.forget()
	return nil
}
