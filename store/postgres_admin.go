package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rightsize/rightsize"
)

// WriteTask records t, replacing the task of the same ID if there is one
// (record it at its start, and again with its end).
func (p *Postgres) WriteTask(ctx context.Context, t rightsize.Task) error {
	if p.closed.Load() {
		return ErrClosed
	}
	if err := checkTask(t); err != nil {
		return err
	}
	t = normalTask(t)
	var end *time.Time
	if !t.End.IsZero() {
		end = &t.End
	}
	_, err := p.pool.Exec(ctx, p.n.sql(`
INSERT INTO {tasks} (id, params, services, start, "end") VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (id) DO UPDATE SET params = excluded.params, services = excluded.services, start = excluded.start, "end" = excluded."end"`),
		t.ID, t.Params, t.Services, t.Start, end)
	if err != nil {
		return fmt.Errorf("store: write task %s: %w", t.ID, permanentPG(err))
	}
	return nil
}

const pgTaskColumns = `id, params, services, start, "end"`

func scanPGTask(row pgx.CollectableRow) (rightsize.Task, error) {
	var (
		t   rightsize.Task
		end *time.Time
	)
	if err := row.Scan(&t.ID, &t.Params, &t.Services, &t.Start, &end); err != nil {
		return t, err
	}
	t.Start = t.Start.UTC()
	if end != nil {
		t.End = end.UTC()
	}
	return normalTask(t), nil
}

// Task returns the task of the given ID, or an error matching
// ErrNotFound.
func (p *Postgres) Task(ctx context.Context, id string) (rightsize.Task, error) {
	if p.closed.Load() {
		return rightsize.Task{}, ErrClosed
	}
	rows, err := p.pool.Query(ctx, p.n.sql(`SELECT `+pgTaskColumns+` FROM {tasks} WHERE id = $1`), id)
	if err != nil {
		return rightsize.Task{}, fmt.Errorf("store: task %q: %w", id, err)
	}
	t, err := pgx.CollectExactlyOneRow(rows, scanPGTask)
	if errors.Is(err, pgx.ErrNoRows) {
		return rightsize.Task{}, fmt.Errorf("%w: task %q", ErrNotFound, id)
	}
	if err != nil {
		return rightsize.Task{}, fmt.Errorf("store: task %q: %w", id, err)
	}
	return t, nil
}

// Tasks returns the tasks q selects, ordered by start, then ID.
func (p *Postgres) Tasks(ctx context.Context, q TaskQuery) ([]rightsize.Task, error) {
	if p.closed.Load() {
		return nil, ErrClosed
	}
	w := where{dollar: true}
	if q.Service != "" {
		w.add("? = ANY(services)", q.Service)
	}
	if !q.From.IsZero() {
		w.add(`("end" IS NULL OR "end" >= ?)`, q.From.Truncate(time.Microsecond))
	}
	if !q.To.IsZero() {
		w.add("start < ?", q.To.Truncate(time.Microsecond))
	}
	sql := `SELECT ` + pgTaskColumns + ` FROM {tasks}`
	if len(w.conds) > 0 {
		sql += " WHERE " + w.String()
	}
	sql += " ORDER BY start, id"
	if q.Limit > 0 {
		sql += fmt.Sprintf(" LIMIT %d", q.Limit)
	}
	rows, err := p.pool.Query(ctx, p.n.sql(sql), w.args...)
	if err != nil {
		return nil, fmt.Errorf("store: tasks: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanPGTask)
	if err != nil {
		return nil, fmt.Errorf("store: tasks: %w", err)
	}
	if out == nil {
		out = []rightsize.Task{}
	}
	return out, nil
}

// Catalog describes every stored series that holds samples, ordered by
// service, resource, task and instance. It reads the rollups only.
func (p *Postgres) Catalog(ctx context.Context) ([]SeriesInfo, error) {
	if p.closed.Load() {
		return nil, ErrClosed
	}
	rows, err := p.pool.Query(ctx, p.n.sql(`
SELECT s.task_id, s.service, s.instance, s.resource, c.n, c.first, c.last
FROM {series} s
JOIN (SELECT series_id, sum(count)::bigint AS n, min(first) AS first, max(last) AS last FROM {chunks} GROUP BY series_id) c ON c.series_id = s.id
ORDER BY s.service, s.resource, s.task_id, s.instance`))
	if err != nil {
		return nil, fmt.Errorf("store: catalog: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (SeriesInfo, error) {
		var si SeriesInfo
		err := row.Scan(&si.Task, &si.Service, &si.Instance, &si.Resource, &si.Count, &si.First, &si.Last)
		si.First, si.Last = si.First.UTC(), si.Last.UTC()
		return si, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: catalog: %w", err)
	}
	if out == nil {
		out = []SeriesInfo{}
	}
	return out, nil
}

// DropBefore deletes the buckets that end at or before t, whole: samples
// older than t in the bucket that holds t stay. It returns how many
// samples it deleted. Series, tasks and offsets are kept.
func (p *Postgres) DropBefore(ctx context.Context, t time.Time) (int64, error) {
	if p.closed.Load() {
		return 0, ErrClosed
	}
	limit := time.UnixMicro(clampTime(t).Truncate(time.Microsecond).UnixMicro() - p.width)
	var n int64
	err := p.pool.QueryRow(ctx, p.n.sql(`
WITH d AS (DELETE FROM {chunks} WHERE bucket <= $1 RETURNING count)
SELECT coalesce(sum(count), 0)::bigint FROM d`), limit).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: drop before %s: %w", t.UTC().Format(time.RFC3339), err)
	}
	return n, nil
}

// Reset deletes everything the store holds: samples, series, tasks and
// offsets (a consumer then reads its topics from the start). Stop the
// processes writing to the store first: their cached series would point
// nowhere.
func (p *Postgres) Reset(ctx context.Context) error {
	if p.closed.Load() {
		return ErrClosed
	}
	if _, err := p.pool.Exec(ctx, p.n.sql(`TRUNCATE {chunks}, {series}, {tasks}, {offsets}`)); err != nil {
		return fmt.Errorf("store: reset: %w", err)
	}
	p.mu.Lock()
	clear(p.series)
	p.mu.Unlock()
	p.compaction.forget()
	return nil
}
