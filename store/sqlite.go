package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rightsize/rightsize/internal/clip"

	"github.com/jackc/pgx/v5"
	"modernc.org/sqlite" // also registers the "sqlite" database/sql driver

	"github.com/rightsize/rightsize"
)

// SQLite is a [Store] in a local SQLite file (pure Go, no server): the
// embedded default. It has the same tables and semantics as [Postgres];
// times are stored as integer Unix nanoseconds, and the samples table has
// an index on (series_id, time) (see the package documentation).
//
// The file is in WAL mode, so readers never wait for the writer. Writes from
// one SQLite value are serialised; other processes writing the same file
// wait up to the busy timeout (see [WithBusyTimeout]).
type SQLite struct {
	db   *sql.DB
	path string
	cfg  config
	view string // quoted

	closeOnce sync.Once
	closed    atomic.Bool
	closeErr  error

	writeMu sync.Mutex // one writer at a time; also guards the statements below
	insert  *sql.Stmt  // inserts sqliteInsertRows rows

	mu     sync.RWMutex
	series map[seriesKey]int64 // ids of the series known to be stored
	labels map[int64]seriesKey // and the other way round
}

// sqliteInsertRows is how many rows one INSERT statement carries: a
// multi-row statement costs far fewer calls than one per row.
const sqliteInsertRows = 256

// OpenSQLite opens (creating it if needed) the SQLite database file at
// path and creates or migrates the store's tables in it.
// [WithSchema] and [WithConnectTimeout] do not apply and are ignored.
func OpenSQLite(ctx context.Context, path string, opts ...Option) (*SQLite, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	if path == "" {
		return nil, errors.New("store: OpenSQLite: empty path")
	}
	if path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("store: OpenSQLite: %q is not a file path", path)
	}
	// A file: URI, so that any character may appear in the path. Each
	// connection of the pool gets the pragmas; WAL mode is a property of
	// the file, set once below. synchronous=NORMAL in WAL mode may lose the
	// last transactions on power loss, never on a crash of the process, and
	// samples and offsets are lost together: the consumer then reads them
	// again, so exactly-once holds. Transactions begin IMMEDIATE, taking
	// the write lock at once, so that two writers never deadlock.
	dsn := "file:" + escapeURIPath(path) +
		"?_pragma=" + url.QueryEscape("busy_timeout("+strconv.FormatInt(cfg.busyTimeout.Milliseconds(), 10)+")") +
		"&_pragma=" + url.QueryEscape("synchronous(NORMAL)") +
		"&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open SQLite database %s: %w", path, err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	s := &SQLite{
		db:     db,
		path:   path,
		cfg:    cfg,
		view:   pgx.Identifier{cfg.view}.Sanitize(),
		series: make(map[seriesKey]int64),
		labels: make(map[int64]seriesKey),
	}
	if err := s.enableWAL(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	s.insert, err = db.PrepareContext(ctx, insertSQL(sqliteInsertRows))
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open SQLite database %s: %w", path, err)
	}
	return s, nil
}

// enableWAL puts the file in WAL mode, in which readers and the writer do
// not wait for each other. Switching needs an exclusive lock, for which
// SQLite does not wait when waiting could deadlock (another connection
// switching or migrating at the same time): it reports SQLITE_BUSY at once,
// so enableWAL tries again until the busy timeout.
func (s *SQLite) enableWAL(ctx context.Context) error {
	deadline := time.Now().Add(s.cfg.busyTimeout)
	for {
		var mode string
		err := s.db.QueryRowContext(ctx, `PRAGMA journal_mode = WAL`).Scan(&mode)
		switch {
		case err == nil && strings.EqualFold(mode, "wal"):
			return nil
		case err == nil:
			return fmt.Errorf("store: %s: cannot use WAL mode (journal mode is %s)", s.path, mode)
		case !isBusy(err) || time.Now().After(deadline):
			return fmt.Errorf("store: open SQLite database %s: %w", s.path, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("store: open SQLite database %s: %w", s.path, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// isBusy reports whether err is SQLite's SQLITE_BUSY (code 5, with any
// extended code).
func isBusy(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code()&0xff == 5
}

// escapeURIPath escapes what SQLite would otherwise read as part of the
// URI rather than of the path.
func escapeURIPath(path string) string {
	return strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
}

func insertSQL(rows int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO rightsize_samples (series_id, time, value) VALUES ")
	for i := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?)")
	}
	return b.String()
}

// sqliteMigrations are the versioned changes of the SQLite schema; PRAGMA
// user_version records how many have run.
var sqliteMigrations = []string{
	1: `
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
) WITHOUT ROWID;`,
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
	for v := version + 1; v <= last; v++ {
		if _, err := tx.ExecContext(ctx, sqliteMigrations[v]); err != nil {
			return fmt.Errorf("store: migration %d of %s: %w", v, s.path, err)
		}
	}
	if version < last {
		if _, err := tx.ExecContext(ctx, `PRAGMA user_version = `+strconv.Itoa(last)); err != nil {
			return fmt.Errorf("store: migrate %s: %w", s.path, err)
		}
	}
	var kind string
	err = tx.QueryRowContext(ctx, `SELECT type FROM sqlite_schema WHERE name = ?`, s.cfg.view).Scan(&kind)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		_, err = tx.ExecContext(ctx, `
CREATE VIEW `+s.view+` AS
SELECT NULLIF(se.task_id, '') AS task_id, se.service, NULLIF(se.instance, '') AS instance,
       se.resource, sa.value, sa.time
FROM rightsize_samples sa JOIN rightsize_series se ON se.id = sa.series_id`)
		if err != nil {
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

// Close closes the database. Calling it again returns the first call's
// result.
func (s *SQLite) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.writeMu.Lock()
		defer s.writeMu.Unlock()
		if s.insert != nil {
			s.insert.Close()
		}
		if err := s.db.Close(); err != nil {
			s.closeErr = fmt.Errorf("store: close %s: %w", s.path, err)
		}
	})
	return s.closeErr
}

// Write stores a batch of samples and its offsets, exactly once; see
// [Store].
func (s *SQLite) Write(ctx context.Context, b rightsize.Batch) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if err := checkBatch(b); err != nil {
		return err
	}
	if len(b.Samples) == 0 && len(b.Ranges) == 0 {
		return nil
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.closed.Load() {
		return ErrClosed
	}
	tx, err := s.db.BeginTx(ctx, nil) // BEGIN IMMEDIATE: holds the write lock from here
	if err != nil {
		return fmt.Errorf("store: write: %w", err)
	}
	defer tx.Rollback() // a no-op after Commit

	stored, err := s.readOffsets(ctx, tx, partitionsOf(b))
	if err != nil {
		return err
	}
	pl, err := planBatch(b, stored)
	if err != nil {
		return err
	}
	var fresh map[seriesKey]int64
	if len(pl.samples) > 0 {
		keys, idx := distinctSeries(pl.samples)
		var ids []int64
		ids, fresh, err = s.seriesIDs(ctx, tx, keys)
		if err != nil {
			return err
		}
		rows := makeRows(pl.samples, idx, ids)
		if err := s.insertRows(ctx, tx, rows); err != nil {
			return fmt.Errorf("store: insert %d rows: %w", len(rows), err)
		}
	}
	for k, next := range pl.next {
		_, err := tx.ExecContext(ctx, `
INSERT INTO rightsize_offsets (topic, partition, topic_id, next_offset) VALUES (?, ?, ?, ?)
ON CONFLICT (topic, partition) DO UPDATE SET topic_id = excluded.topic_id, next_offset = excluded.next_offset`, k.topic, k.partition, k.topicID, next)
		if err != nil {
			return fmt.Errorf("store: store offsets: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit %d rows: %w", len(pl.samples), err)
	}
	if len(fresh) > 0 {
		s.mu.Lock()
		for k, id := range fresh {
			s.series[k] = id
			s.labels[id] = k
		}
		s.mu.Unlock()
	}
	return nil
}

func (s *SQLite) insertRows(ctx context.Context, tx *sql.Tx, rows []row) error {
	args := make([]any, 0, 3*sqliteInsertRows)
	stmt := tx.StmtContext(ctx, s.insert)
	defer stmt.Close()
	for len(rows) > 0 {
		n := min(len(rows), sqliteInsertRows)
		args = args[:0]
		for _, r := range rows[:n] {
			args = append(args, r.series, r.time, r.value)
		}
		var err error
		if n == sqliteInsertRows {
			_, err = stmt.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, insertSQL(n), args...)
		}
		if err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

func (s *SQLite) readOffsets(ctx context.Context, tx *sql.Tx, parts []partition) (map[partition]int64, error) {
	stored := make(map[partition]int64, len(parts))
	for _, k := range parts {
		var next int64
		err := tx.QueryRowContext(ctx, `SELECT next_offset FROM rightsize_offsets WHERE topic = ? AND partition = ? AND topic_id = ?`, k.topic, k.partition, k.topicID).Scan(&next)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return nil, fmt.Errorf("store: read offsets: %w", err)
		default:
			stored[k] = next
		}
	}
	return stored, nil
}

// seriesIDs returns the id of each series of keys, creating the missing
// ones; fresh holds those not in the cache, to be added once the
// transaction commits.
func (s *SQLite) seriesIDs(ctx context.Context, tx *sql.Tx, keys []seriesKey) (ids []int64, fresh map[seriesKey]int64, err error) {
	ids = make([]int64, len(keys))
	var missing []int
	s.mu.RLock()
	for i, k := range keys {
		id, ok := s.series[k]
		if !ok {
			missing = append(missing, i)
		}
		ids[i] = id
	}
	s.mu.RUnlock()
	if len(missing) == 0 {
		return ids, nil, nil
	}
	fresh = make(map[seriesKey]int64, len(missing))
	for _, i := range missing {
		k := keys[i]
		err := tx.QueryRowContext(ctx, `
INSERT INTO rightsize_series (task_id, service, instance, resource) VALUES (?, ?, ?, ?)
ON CONFLICT (service, resource, task_id, instance) DO UPDATE SET service = excluded.service
RETURNING id`, k.task, k.service, k.instance, k.resource).Scan(&ids[i])
		if err != nil {
			return nil, nil, fmt.Errorf("store: add series %s/%s: %w", clip.String(k.service, 40), clip.String(k.resource, 40), err)
		}
		fresh[k] = ids[i]
	}
	return ids, fresh, nil
}

// Offsets returns the next offset stored for each partition of topic; see
// [Store].
func (s *SQLite) Offsets(ctx context.Context, topic, topicID string) (map[int32]int64, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	rows, err := s.db.QueryContext(ctx, `SELECT partition, next_offset FROM rightsize_offsets WHERE topic = ? AND topic_id = ?`, topic, topicID)
	if err != nil {
		return nil, fmt.Errorf("store: offsets of %q: %w", topic, err)
	}
	defer rows.Close()
	out := make(map[int32]int64)
	for rows.Next() {
		var (
			part int32
			next int64
		)
		if err := rows.Scan(&part, &next); err != nil {
			return nil, fmt.Errorf("store: offsets of %q: %w", topic, err)
		}
		out[part] = next
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: offsets of %q: %w", topic, err)
	}
	return out, nil
}

// Services returns the distinct service names stored, sorted.
func (s *SQLite) Services(ctx context.Context) ([]string, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT service FROM rightsize_series ORDER BY service`)
	if err != nil {
		return nil, fmt.Errorf("store: services: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var svc string
		if err := rows.Scan(&svc); err != nil {
			return nil, fmt.Errorf("store: services: %w", err)
		}
		out = append(out, svc)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: services: %w", err)
	}
	return out, nil
}

// sqliteWhere returns the conditions and arguments selecting what f
// selects: on the labels (columns of rightsize_series se) and on the time
// (rightsize_samples sa).
func sqliteWhere(f rightsize.Filter) (labels, times *where) {
	labels, times = new(where), new(where)
	in := func(col string, vals []string) {
		ph := strings.TrimSuffix(strings.Repeat("?,", len(vals)), ",")
		labels.conds = append(labels.conds, col+" IN ("+ph+")")
		for _, v := range vals {
			labels.args = append(labels.args, v)
		}
	}
	in("se.service", f.Services)
	if f.Task != "" {
		labels.add("se.task_id = ?", f.Task)
	}
	if f.Instance != "" {
		labels.add("se.instance = ?", f.Instance)
	}
	if len(f.Resources) > 0 {
		in("se.resource", f.Resources)
	}
	times.add("sa.time >= ?", int64(math.MinInt64))
	if !f.From.IsZero() {
		times.args[0] = unixMicroNano(clampTime(f.From))
	}
	if !f.To.IsZero() {
		times.add("sa.time < ?", unixMicroNano(clampTime(f.To)))
	}
	return labels, times
}

// Scan calls fn for each sample matching f, ordered by service, resource,
// time, task and instance; see [Store].
func (s *SQLite) Scan(ctx context.Context, f rightsize.Filter, fn func(rightsize.Sample) error) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if err := f.Validate(); err != nil {
		return fmt.Errorf("store: scan: %w", err)
	}
	labels, times := sqliteWhere(f)
	rows, err := s.db.QueryContext(ctx, `
SELECT sa.series_id, sa.time, sa.value
FROM rightsize_series se JOIN rightsize_samples sa ON sa.series_id = se.id
WHERE `+labels.String()+` AND `+times.String()+`
ORDER BY se.service, se.resource, sa.time, se.task_id, se.instance`, append(labels.args, times.args...)...)
	if err != nil {
		return fmt.Errorf("store: scan: %w", err)
	}
	defer rows.Close()
	var (
		id, t int64
		value float64
	)
	for rows.Next() {
		if err := rows.Scan(&id, &t, &value); err != nil {
			return fmt.Errorf("store: scan: %w", err)
		}
		k, err := s.label(ctx, id)
		if err != nil {
			return fmt.Errorf("store: scan: %w", err)
		}
		smp := rightsize.Sample{Task: k.task, Service: k.service, Instance: k.instance, Resource: k.resource, Value: value, Time: timeOf(t)}
		if err := fn(smp); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: scan: %w", err)
	}
	return nil
}

// label returns the labels of series id, from the cache or the database.
func (s *SQLite) label(ctx context.Context, id int64) (seriesKey, error) {
	s.mu.RLock()
	k, ok := s.labels[id]
	s.mu.RUnlock()
	if ok {
		return k, nil
	}
	err := s.db.QueryRowContext(ctx, `SELECT task_id, service, instance, resource FROM rightsize_series WHERE id = ?`, id).
		Scan(&k.task, &k.service, &k.instance, &k.resource)
	if err != nil {
		return k, fmt.Errorf("series %d: %w", id, err)
	}
	s.mu.Lock()
	s.labels[id], s.series[k] = k, id
	s.mu.Unlock()
	return k, nil
}

// Summarize returns count, min, max, mean, standard deviation and first and
// last time per service and resource of the samples matching f; see
// [Store]. SQLite has no standard deviation: it is computed with two passes
// in SQL, the sum of squared deviations from the mean corrected by the
// sum of deviations (the compensated two-pass algorithm, as gonum's
// stat.Variance), which does not lose precision the way the textbook
// Σx²-(Σx)²/n does.
func (s *SQLite) Summarize(ctx context.Context, f rightsize.Filter) ([]rightsize.Summary, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	if err := f.Validate(); err != nil {
		return nil, fmt.Errorf("store: summarize: %w", err)
	}
	labels, times := sqliteWhere(f)
	// g numbers the (service, resource) groups, so that the two passes
	// over the samples group and join on an integer.
	rows, err := s.db.QueryContext(ctx, `
WITH g AS MATERIALIZED (
	SELECT se.id, se.service, se.resource, dense_rank() OVER (ORDER BY se.service, se.resource) AS grp
	FROM rightsize_series se
	WHERE `+labels.String()+`
), f AS MATERIALIZED (
	SELECT g.grp AS grp, sa.value AS value, sa.time AS time
	FROM g JOIN rightsize_samples sa ON sa.series_id = g.id
	WHERE `+times.String()+`
), m AS (
	SELECT grp, count(*) AS n, avg(value) AS mean,
	       min(value) AS lo, max(value) AS hi, min(time) AS first, max(time) AS last
	FROM f GROUP BY grp
)
SELECT (SELECT service FROM g WHERE g.grp = m.grp LIMIT 1), (SELECT resource FROM g WHERE g.grp = m.grp LIMIT 1),
       m.n, m.lo, m.hi, m.mean, m.first, m.last,
       sum((f.value - m.mean) * (f.value - m.mean)), sum(f.value - m.mean)
FROM f JOIN m ON f.grp = m.grp
GROUP BY m.grp
ORDER BY m.grp`, append(labels.args, times.args...)...)
	if err != nil {
		return nil, fmt.Errorf("store: summarize: %w", err)
	}
	defer rows.Close()
	out := []rightsize.Summary{}
	for rows.Next() {
		var (
			sm          rightsize.Summary
			first, last int64
			ss, c       float64
		)
		if err := rows.Scan(&sm.Service, &sm.Resource, &sm.Count, &sm.Min, &sm.Max, &sm.Mean, &first, &last, &ss, &c); err != nil {
			return nil, fmt.Errorf("store: summarize: %w", err)
		}
		sm.First, sm.Last = timeOf(first), timeOf(last)
		sm.StdDev = stdDev(sm.Count, ss, c)
		out = append(out, sm)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: summarize: %w", err)
	}
	return out, nil
}
