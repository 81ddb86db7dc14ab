package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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
// embedded default. It has the same layout and semantics as [Postgres]
// (see the package documentation); times are integer Unix microseconds,
// and a chunk's raw values are a JSON array of [time, value] pairs.
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

	writeMu sync.Mutex // one writer at a time

	width int64 // bucket width, microseconds

	mu     sync.RWMutex
	series map[seriesKey]int64 // ids of the series known to be stored

	compaction compactState
	migrateTo  int // tests only: the schema version to stop at; 0 for the latest
}

// OpenSQLite opens (creating it if needed) the SQLite database file at
// path and creates or migrates the store's tables in it.
func OpenSQLite(ctx context.Context, path string, opts ...SQLiteOption) (*SQLite, error) {
	return openSQLite(ctx, path, 0, opts)
}

func openSQLite(ctx context.Context, path string, migrateTo int, opts []SQLiteOption) (*SQLite, error) {
	cfg, err := sqliteConfig(opts)
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

		migrateTo: migrateTo,
	}
	if err := s.enableWAL(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
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

// permanentSQLite marks err permanent when SQLite refused the data itself
// (SQLITE_TOOBIG, SQLITE_CONSTRAINT, SQLITE_MISMATCH, SQLITE_RANGE):
// writing it again cannot succeed. A busy or locked database, a full disk
// or an I/O error stay retryable.
func permanentSQLite(err error) error {
	var e *sqlite.Error
	if errors.As(err, &e) {
		switch e.Code() & 0xff {
		case 18, 19, 20, 25:
			return rightsize.Permanent(err)
		}
	}
	return err
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

// Close closes the database. Calling it again returns the first call's
// result.
func (s *SQLite) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.writeMu.Lock()
		defer s.writeMu.Unlock()
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
		return rightsize.Permanent(err)
	}
	if len(b.Samples) == 0 && len(b.Ranges) == 0 {
		return nil
	}
	chunks, err := s.write(ctx, b)
	if err != nil {
		return err
	}
	s.compactAfterWrite(ctx, chunks)
	return nil
}

func (s *SQLite) write(ctx context.Context, b rightsize.Batch) ([]chunk, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.closed.Load() {
		return nil, ErrClosed
	}
	tx, err := s.db.BeginTx(ctx, nil) // BEGIN IMMEDIATE: holds the write lock from here
	if err != nil {
		return nil, fmt.Errorf("store: write: %w", err)
	}
	defer tx.Rollback() // a no-op after Commit

	stored, err := s.readOffsets(ctx, tx, partitionsOf(b))
	if err != nil {
		return nil, err
	}
	pl, err := planBatch(b, stored)
	if err != nil {
		return nil, err
	}
	var (
		fresh  map[seriesKey]int64
		chunks []chunk
	)
	if len(pl.samples) > 0 {
		keys, idx := distinctSeries(pl.samples)
		var ids []int64
		ids, fresh, err = s.seriesIDs(ctx, tx, keys)
		if err != nil {
			return nil, err
		}
		chunks = buildChunks(makeRows(pl.samples, idx, ids), s.width)
		if err := insertChunks(ctx, tx, chunks); err != nil {
			return nil, fmt.Errorf("store: insert %d samples: %w", len(pl.samples), permanentSQLite(err))
		}
	}
	for k, next := range pl.next {
		_, err := tx.ExecContext(ctx, `
INSERT INTO rightsize_offsets (topic, partition, topic_id, next_offset) VALUES (?, ?, ?, ?)
ON CONFLICT (topic, partition) DO UPDATE SET topic_id = excluded.topic_id, next_offset = excluded.next_offset`, k.topic, k.partition, k.topicID, next)
		if err != nil {
			return nil, fmt.Errorf("store: store offsets: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("store: commit %d rows: %w", len(pl.samples), err)
	}
	if len(fresh) > 0 {
		s.mu.Lock()
		for k, id := range fresh {
			s.series[k] = id
		}
		s.mu.Unlock()
	}
	return chunks, nil
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
			return nil, nil, fmt.Errorf("store: add series %s/%s: %w", clip.String(k.service, 40), clip.String(k.resource, 40), permanentSQLite(err))
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
