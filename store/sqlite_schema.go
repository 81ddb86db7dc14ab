package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// sqliteMigrations are the versioned changes of the SQLite schema; PRAGMA
// user_version records how many have run. A released migration is never
// edited, only followed by a new one.
var sqliteMigrations = []func(ctx context.Context, tx *sql.Tx, s *SQLite) error{
	1: execMigration(`
CREATE TABLE rightsize_series (
	id       INTEGER PRIMARY KEY,
	task_id  TEXT NOT NULL,
	service  TEXT NOT NULL,
	instance TEXT NOT NULL,
	resource TEXT NOT NULL,
	UNIQUE (service, resource, task_id, instance)
);
CREATE TABLE rightsize_samples (
	series_id INTEGER NOT NULL,
	time      INTEGER NOT NULL, -- Unix nanoseconds, a multiple of 1000
	value     REAL NOT NULL
);
CREATE INDEX rightsize_samples_series_time ON rightsize_samples (series_id, time);
CREATE TABLE rightsize_offsets (
	topic       TEXT NOT NULL,
	partition   INTEGER NOT NULL,
	topic_id    TEXT NOT NULL DEFAULT '',
	next_offset INTEGER NOT NULL,
	PRIMARY KEY (topic, partition)
) WITHOUT ROWID;`),
	2: sqliteMigrate2,
}

func execMigration(q string) func(ctx context.Context, tx *sql.Tx, s *SQLite) error {
	return func(ctx context.Context, tx *sql.Tx, _ *SQLite) error {
		_, err := tx.ExecContext(ctx, q)
		return err
	}
}

// sqliteMigrate2 replaces the samples table with chunks, as PostgreSQL's
// migration 2 does: one row per (series, bucket, write) with the bucket's
// rollup and sketch first and its raw values last, as a JSON array of
// [Unix microseconds, value] pairs in time order (last, so that reading
// the rollup never reads the values' overflow pages; JSON, so that the
// view can show the values with json_each). Existing samples are moved,
// a series at a time.
func sqliteMigrate2(ctx context.Context, tx *sql.Tx, s *SQLite) error {
	_, err := tx.ExecContext(ctx, `
CREATE TABLE rightsize_chunks (
	id        INTEGER PRIMARY KEY, -- the chunk's order of writing
	series_id INTEGER NOT NULL,
	bucket    INTEGER NOT NULL,    -- start of the bucket, Unix microseconds
	count     INTEGER NOT NULL,
	sum       REAL NOT NULL,
	m2        REAL NOT NULL,       -- sum of squared deviations from the chunk's mean
	min       REAL NOT NULL,
	max       REAL NOT NULL,
	first     INTEGER NOT NULL,    -- Unix microseconds
	last      INTEGER NOT NULL,
	sketch    BLOB NOT NULL,
	samples   TEXT NOT NULL        -- JSON [[Unix microseconds, value], ...] in time order
);
CREATE UNIQUE INDEX rightsize_chunks_series_bucket ON rightsize_chunks (series_id, bucket, id);
CREATE TABLE rightsize_settings (
	name  TEXT PRIMARY KEY,
	value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE rightsize_tasks (
	id       TEXT PRIMARY KEY,
	params   TEXT NOT NULL, -- JSON object
	services TEXT NOT NULL, -- JSON array, in order
	start    INTEGER NOT NULL, -- Unix microseconds
	"end"    INTEGER
);
CREATE INDEX rightsize_tasks_start ON rightsize_tasks (start);`)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO rightsize_settings (name, value) VALUES ('bucket_width_us', ?)`, strconv.FormatInt(s.cfg.bucket.Microseconds(), 10)); err != nil {
		return err
	}
	var ids []int64
	rows, err := tx.QueryContext(ctx, `SELECT id FROM rightsize_series ORDER BY id`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	width := s.cfg.bucket.Microseconds()
	for _, id := range ids {
		rows, err := tx.QueryContext(ctx, `SELECT time, value FROM rightsize_samples WHERE series_id = ? ORDER BY time, value`, id)
		if err != nil {
			return err
		}
		var rs []row
		for rows.Next() {
			r := row{series: id}
			if err := rows.Scan(&r.time, &r.value); err != nil {
				rows.Close()
				return err
			}
			rs = append(rs, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if err := insertChunks(ctx, tx, buildChunks(rs, width)); err != nil {
			return fmt.Errorf("move series %d: %w", id, err)
		}
	}
	// Views on the samples table (the old view, whatever its name) go
	// with it; the view is made again on the chunks.
	var views []string
	rows, err = tx.QueryContext(ctx, `SELECT name FROM sqlite_schema WHERE type = 'view' AND sql LIKE '%rightsize_samples%'`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return err
		}
		views = append(views, v)
	}
	rows.Close()
	for _, v := range views {
		if _, err := tx.ExecContext(ctx, `DROP VIEW `+quoteSQLite(v)); err != nil {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, `DROP TABLE rightsize_samples`)
	return err
}

func quoteSQLite(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

func (s *SQLite) migrate(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil) // BEGIN IMMEDIATE: other processes wait
	if err != nil {
		return fmt.Errorf("store: open SQLite database %s: %w", s.path, err)
	}
	defer tx.Rollback() // a no-op after Commit
	var version int
	if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
		return fmt.Errorf("store: migrate %s: %w", s.path, err)
	}
	last := len(sqliteMigrations) - 1
	if version > last {
		return fmt.Errorf("store: %s is at schema version %d, newer than this program's %d: upgrade rightsize", s.path, version, last)
	}
	target := last
	if s.migrateTo > 0 {
		target = s.migrateTo
	}
	for v := version + 1; v <= target; v++ {
		if err := sqliteMigrations[v](ctx, tx, s); err != nil {
			return fmt.Errorf("store: migration %d of %s: %w", v, s.path, err)
		}
	}
	if version < target {
		if _, err := tx.ExecContext(ctx, `PRAGMA user_version = `+strconv.Itoa(target)); err != nil {
			return fmt.Errorf("store: migrate %s: %w", s.path, err)
		}
	}
	if target >= 2 {
		var v string
		if err := tx.QueryRowContext(ctx, `SELECT value FROM rightsize_settings WHERE name = 'bucket_width_us'`).Scan(&v); err != nil {
			return fmt.Errorf("store: %s: read settings: %w", s.path, err)
		}
		us, err := strconv.ParseInt(v, 10, 64)
		if err != nil || us <= 0 {
			return fmt.Errorf("store: %s: bucket width %q is not a number of microseconds", s.path, v)
		}
		if s.cfg.bucketSet && us != s.cfg.bucket.Microseconds() {
			return fmt.Errorf("store: %s keeps buckets of %v; it cannot be opened WithBucketWidth(%v)", s.path, time.Duration(us)*time.Microsecond, s.cfg.bucket)
		}
		s.width = us
	}
	view := `
CREATE VIEW ` + s.view + ` AS
SELECT NULLIF(se.task_id, '') AS task_id, se.service, NULLIF(se.instance, '') AS instance,
       se.resource, CAST(j.value ->> 1 AS REAL) AS value, (j.value ->> 0) * 1000 AS time
FROM rightsize_chunks c JOIN rightsize_series se ON se.id = c.series_id, json_each(c.samples) j`
	if target == 1 {
		view = `
CREATE VIEW ` + s.view + ` AS
SELECT NULLIF(se.task_id, '') AS task_id, se.service, NULLIF(se.instance, '') AS instance,
       se.resource, sa.value, sa.time
FROM rightsize_samples sa JOIN rightsize_series se ON se.id = sa.series_id`
	}
	var kind string
	err = tx.QueryRowContext(ctx, `SELECT type FROM sqlite_schema WHERE name = ?`, s.cfg.view).Scan(&kind)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := tx.ExecContext(ctx, view); err != nil {
			return fmt.Errorf("store: create view %s in %s: %w", s.view, s.path, err)
		}
	case err != nil:
		return fmt.Errorf("store: look for view %s in %s: %w", s.view, s.path, err)
	case kind != "view":
		return fmt.Errorf("store: %s in %s exists and is not a view: choose another name with WithView", s.view, s.path)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: migrate %s: %w", s.path, err)
	}
	return nil
}
