package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rightsize/rightsize"
)

// Postgres is a [Store] in a PostgreSQL database, written to with binary
// COPY. See the package documentation for its tables.
type Postgres struct {
	pool    *pgxpool.Pool
	ownPool bool
	addr    string // host:port, for messages
	cfg     config
	n       pgNames

	closeOnce sync.Once
	closed    atomic.Bool

	width     int64 // bucket width, microseconds
	migrateTo int   // tests only: the schema version to stop at; 0 for the latest

	mu     sync.RWMutex
	series map[seriesKey]int64 // ids of the series known to be stored

	compaction compactState
}

// pgNames are the store's objects, quoted and qualified with the schema.
type pgNames struct {
	schema, series, samples, chunks, offsets, migrations, view, settings, tasks string
	copySQL                                                                     string
	r                                                                           *strings.Replacer
}

func newPGNames(cfg config) pgNames {
	q := func(name string) string { return pgx.Identifier{cfg.schema, name}.Sanitize() }
	n := pgNames{
		schema:     pgx.Identifier{cfg.schema}.Sanitize(),
		series:     q("rightsize_series"),
		samples:    q("rightsize_samples"),
		chunks:     q("rightsize_chunks"),
		offsets:    q("rightsize_offsets"),
		migrations: q("rightsize_migrations"),
		settings:   q("rightsize_settings"),
		tasks:      q("rightsize_tasks"),
		view:       q(cfg.view),
	}
	n.copySQL = "COPY " + n.chunks + " " + chunkColumns + " FROM STDIN BINARY"
	n.r = strings.NewReplacer(
		"{series}", n.series,
		"{samples}", n.samples,
		"{chunks}", n.chunks,
		"{settings}", n.settings,
		"{tasks}", n.tasks,
		"{offsets}", n.offsets,
		"{migrations}", n.migrations,
		"{view}", n.view,
	)
	return n
}

// sql expands the {name} placeholders of a statement.
func (n pgNames) sql(s string) string { return n.r.Replace(s) }

// OpenPostgres connects to the PostgreSQL database dsn names
// (postgres://user:password@host:port/database?sslmode=...) with a pool of
// its own, which Close closes, and creates or migrates the store's objects
// in it. An unreachable server fails within the connect timeout (see
// [WithConnectTimeout]) or when ctx ends, whichever comes first, with an
// error naming the server.
func OpenPostgres(ctx context.Context, dsn string, opts ...PostgresOption) (*Postgres, error) {
	cfg, err := postgresConfig(opts)
	if err != nil {
		return nil, err
	}
	pc, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's message masks the password.
		return nil, fmt.Errorf("store: %w", err)
	}
	if cfg.connectTimeoutSet || pc.ConnConfig.ConnectTimeout == 0 {
		pc.ConnConfig.ConnectTimeout = cfg.connectTimeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	p, err := newPostgres(ctx, pool, true, cfg, 0)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return p, nil
}

// NewPostgres returns a store in the database pool connects to, creating or
// migrating the store's objects first. The pool stays the caller's: Close
// leaves it open.
func NewPostgres(ctx context.Context, pool *pgxpool.Pool, opts ...PostgresOption) (*Postgres, error) {
	if pool == nil {
		return nil, errors.New("store: NewPostgres: nil pool")
	}
	cfg, err := postgresConfig(opts)
	if err != nil {
		return nil, err
	}
	if cfg.connectTimeoutSet {
		return nil, errors.New("store: NewPostgres: WithConnectTimeout configures the pool OpenPostgres makes; configure your pool's ConnConfig.ConnectTimeout instead")
	}
	return newPostgres(ctx, pool, false, cfg, 0)
}

func newPostgres(ctx context.Context, pool *pgxpool.Pool, own bool, cfg config, migrateTo int) (*Postgres, error) {
	cc := pool.Config().ConnConfig
	p := &Postgres{
		pool:    pool,
		ownPool: own,
		addr:    net.JoinHostPort(cc.Host, strconv.Itoa(int(cc.Port))),
		cfg:     cfg,
		n:       newPGNames(cfg),
		series:  make(map[seriesKey]int64),

		migrateTo: migrateTo,
	}
	if err := p.migrate(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

// Close marks the store closed and, if the store opened its pool itself,
// closes the pool. It always returns nil.
func (p *Postgres) Close() error {
	p.closeOnce.Do(func() {
		p.closed.Store(true)
		if p.ownPool {
			p.pool.Close()
		}
	})
	return nil
}

// Write stores a batch of samples and its offsets, exactly once; see
// [Store].
func (p *Postgres) Write(ctx context.Context, b rightsize.Batch) error {
	if p.closed.Load() {
		return ErrClosed
	}
	if err := checkBatch(b); err != nil {
		return rightsize.Permanent(err)
	}
	if len(b.Samples) == 0 && len(b.Ranges) == 0 {
		return nil
	}
	tx, err := p.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("store: write: %w", err)
	}
	defer tx.Rollback(ctx) // a no-op after Commit

	parts := partitionsOf(b)
	stored, err := p.lockOffsets(ctx, tx, parts)
	if err != nil {
		return err
	}
	pl, err := planBatch(b, stored)
	if err != nil {
		return err
	}
	var (
		fresh  map[seriesKey]int64
		chunks []chunk
	)
	if len(pl.samples) > 0 {
		keys, idx := distinctSeries(pl.samples)
		var ids []int64
		ids, fresh, err = p.seriesIDs(ctx, tx, keys)
		if err != nil {
			return err
		}
		chunks = buildChunks(makeRows(pl.samples, idx, ids), p.width)
		if err := p.copyChunks(ctx, tx, chunks); err != nil {
			return fmt.Errorf("store: copy %d samples: %w", len(pl.samples), err)
		}
	}
	if len(pl.next) > 0 {
		if err := p.storeOffsets(ctx, tx, pl.next); err != nil {
			return err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("store: commit %d rows: %w", len(pl.samples), err)
	}
	if len(fresh) > 0 {
		p.mu.Lock()
		for k, id := range fresh {
			p.series[k] = id
		}
		p.mu.Unlock()
	}
	return p.compactAfterWrite(ctx, chunks)
}

// copyChunks writes chunks by binary COPY in tx.
func (p *Postgres) copyChunks(ctx context.Context, tx pgx.Tx, chunks []chunk) error {
	tag, err := tx.Conn().PgConn().CopyFrom(ctx, &chunkCopy{chunks: chunks}, p.n.copySQL)
	if err != nil {
		return permanentPG(err)
	}
	if n := tag.RowsAffected(); n != int64(len(chunks)) {
		return fmt.Errorf("%d chunks sent, the server took %d", len(chunks), n)
	}
	return nil
}

// lockOffsets locks the offsets row of each partition, in order, creating
// it (with no offset) when missing, and returns the stored next offsets.
// It is SELECT ... FOR UPDATE that also covers partitions not stored yet:
// a writer of the same partitions waits until this transaction ends and
// then sees its offsets.
func (p *Postgres) lockOffsets(ctx context.Context, tx pgx.Tx, parts []partition) (map[partition]int64, error) {
	stored := make(map[partition]int64, len(parts))
	if len(parts) == 0 {
		return stored, nil
	}
	topics := make([]string, len(parts))
	nums := make([]int32, len(parts))
	for i, k := range parts {
		topics[i], nums[i] = k.topic, k.partition
	}
	rows, err := tx.Query(ctx, p.n.sql(`
INSERT INTO {offsets} AS o (topic, partition)
SELECT * FROM unnest($1::text[], $2::integer[])
ON CONFLICT (topic, partition) DO UPDATE SET next_offset = o.next_offset
RETURNING o.topic, o.topic_id, o.partition, o.next_offset`), topics, nums)
	if err != nil {
		return nil, fmt.Errorf("store: lock offsets: %w", err)
	}
	var (
		k    partition
		next *int64
	)
	_, err = pgx.ForEachRow(rows, []any{&k.topic, &k.topicID, &k.partition, &next}, func() error {
		if next != nil {
			stored[k] = *next
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: lock offsets: %w", err)
	}
	return stored, nil
}

func (p *Postgres) storeOffsets(ctx context.Context, tx pgx.Tx, next map[partition]int64) error {
	topics := make([]string, 0, len(next))
	ids := make([]string, 0, len(next))
	nums := make([]int32, 0, len(next))
	offs := make([]int64, 0, len(next))
	for k, o := range next {
		topics, ids, nums, offs = append(topics, k.topic), append(ids, k.topicID), append(nums, k.partition), append(offs, o)
	}
	tag, err := tx.Exec(ctx, p.n.sql(`
UPDATE {offsets} AS o SET next_offset = u.next_offset, topic_id = u.topic_id, updated_at = now()
FROM unnest($1::text[], $2::text[], $3::integer[], $4::bigint[]) AS u(topic, topic_id, partition, next_offset)
WHERE o.topic = u.topic AND o.partition = u.partition`), topics, ids, nums, offs)
	if err != nil {
		return fmt.Errorf("store: store offsets: %w", err)
	}
	if tag.RowsAffected() != int64(len(next)) {
		return fmt.Errorf("store: store offsets: updated %d of %d partitions", tag.RowsAffected(), len(next))
	}
	return nil
}

// seriesIDs returns the id of each series of keys, creating the missing
// series. fresh holds those not in the cache, to be added to it once the
// transaction commits.
func (p *Postgres) seriesIDs(ctx context.Context, tx pgx.Tx, keys []seriesKey) (ids []int64, fresh map[seriesKey]int64, err error) {
	ids = make([]int64, len(keys))
	var missing []seriesKey
	p.mu.RLock()
	for i, k := range keys {
		id, ok := p.series[k]
		if !ok {
			missing = append(missing, k)
		}
		ids[i] = id
	}
	p.mu.RUnlock()
	if len(missing) == 0 {
		return ids, nil, nil
	}
	// Sorted, so that concurrent writers insert in the same order.
	slices.SortFunc(missing, compareKeys)
	cols := [4][]string{}
	for _, k := range missing {
		cols[0] = append(cols[0], k.task)
		cols[1] = append(cols[1], k.service)
		cols[2] = append(cols[2], k.instance)
		cols[3] = append(cols[3], k.resource)
	}
	_, err = tx.Exec(ctx, p.n.sql(`
INSERT INTO {series} (task_id, service, instance, resource)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
ON CONFLICT DO NOTHING`), cols[0], cols[1], cols[2], cols[3])
	if err != nil {
		return nil, nil, fmt.Errorf("store: add %d series: %w", len(missing), permanentPG(err))
	}
	rows, err := tx.Query(ctx, p.n.sql(`
SELECT s.id, s.task_id, s.service, s.instance, s.resource
FROM {series} s
JOIN unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS u(task_id, service, instance, resource)
  ON s.task_id = u.task_id AND s.service = u.service AND s.instance = u.instance AND s.resource = u.resource`),
		cols[0], cols[1], cols[2], cols[3])
	if err != nil {
		return nil, nil, fmt.Errorf("store: look up %d series: %w", len(missing), err)
	}
	fresh = make(map[seriesKey]int64, len(missing))
	var (
		id int32
		k  seriesKey
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &k.task, &k.service, &k.instance, &k.resource}, func() error {
		fresh[k] = int64(id)
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("store: look up %d series: %w", len(missing), err)
	}
	if len(fresh) != len(missing) {
		return nil, nil, fmt.Errorf("store: look up %d series: found %d", len(missing), len(fresh))
	}
	for i, k := range keys {
		if id, ok := fresh[k]; ok {
			ids[i] = id
		}
	}
	return ids, fresh, nil
}

// Offsets returns the next offset stored for each partition of topic; see
// [Store].
func (p *Postgres) Offsets(ctx context.Context, topic, topicID string) (map[int32]int64, error) {
	if p.closed.Load() {
		return nil, ErrClosed
	}
	rows, err := p.pool.Query(ctx, p.n.sql(`SELECT partition, next_offset FROM {offsets} WHERE topic = $1 AND topic_id = $2 AND next_offset IS NOT NULL`), topic, topicID)
	if err != nil {
		return nil, fmt.Errorf("store: offsets of %q: %w", topic, err)
	}
	out := make(map[int32]int64)
	var (
		part int32
		next int64
	)
	if _, err := pgx.ForEachRow(rows, []any{&part, &next}, func() error { out[part] = next; return nil }); err != nil {
		return nil, fmt.Errorf("store: offsets of %q: %w", topic, err)
	}
	return out, nil
}

// Services returns the distinct service names stored, sorted.
func (p *Postgres) Services(ctx context.Context) ([]string, error) {
	if p.closed.Load() {
		return nil, ErrClosed
	}
	rows, err := p.pool.Query(ctx, p.n.sql(`SELECT DISTINCT service FROM {series} ORDER BY service`))
	if err != nil {
		return nil, fmt.Errorf("store: services: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("store: services: %w", err)
	}
	if out == nil {
		out = []string{}
	}
	return out, nil
}

// matchSeries returns the stored series whose labels match f, in the order
// Scan returns them: by service, resource, task, instance (byte order).
func (p *Postgres) matchSeries(ctx context.Context, f rightsize.Filter) ([]seriesRow, error) {
	w := where{dollar: true}
	w.add("service = ANY(?)", f.Services)
	if f.Task != "" {
		w.add("task_id = ?", f.Task)
	}
	if f.Instance != "" {
		w.add("instance = ?", f.Instance)
	}
	if len(f.Resources) > 0 {
		w.add("resource = ANY(?)", f.Resources)
	}
	rows, err := p.pool.Query(ctx, p.n.sql(`SELECT id, task_id, service, instance, resource FROM {series} WHERE `)+w.String(), w.args...)
	if err != nil {
		return nil, err
	}
	var (
		out []seriesRow
		r   seriesRow
		id  int32
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &r.key.task, &r.key.service, &r.key.instance, &r.key.resource}, func() error {
		r.id = int64(id)
		out = append(out, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sortSeries(out)
	return out, nil
}

// Scan calls fn for each sample matching f, ordered by service, resource,
// time, task and instance; see [Store].
func (p *Postgres) Scan(ctx context.Context, f rightsize.Filter, fn func(rightsize.Sample) error) error {
	if p.closed.Load() {
		return ErrClosed
	}
	return scan(ctx, p, f, fn)
}

// Summarize returns one summary per service and resource of the samples
// matching f; see [Store]. It is [Postgres.Aggregate] with no quantiles
// beyond P50 to P99, no step and no grouping.
func (p *Postgres) Summarize(ctx context.Context, f rightsize.Filter) ([]rightsize.Summary, error) {
	if p.closed.Load() {
		return nil, ErrClosed
	}
	return summarize(ctx, p, f)
}

// Aggregate returns the summaries a asks for; see [Reader].
func (p *Postgres) Aggregate(ctx context.Context, a rightsize.Aggregation) ([]rightsize.Summary, error) {
	if p.closed.Load() {
		return nil, ErrClosed
	}
	out, err := aggregate(ctx, p, a)
	if err != nil {
		return nil, fmt.Errorf("store: aggregate: %w", err)
	}
	return out, nil
}

// Rollups calls fn with each rollup of the series f matches; see [Reader].
func (p *Postgres) Rollups(ctx context.Context, f rightsize.Filter, fn func(rightsize.Rollup) error) error {
	if p.closed.Load() {
		return ErrClosed
	}
	return rollups(ctx, p, f, fn)
}

// ReadSeries calls fn with each series f matches, one at a time; see
// [Reader].
func (p *Postgres) ReadSeries(ctx context.Context, f rightsize.Filter, fn func(rightsize.Series) error) error {
	if p.closed.Load() {
		return ErrClosed
	}
	return readSeries(ctx, p, f, fn)
}

// Stream returns an iterator over the samples f matches, series by series,
// each in time order; see [Reader].
func (p *Postgres) Stream(ctx context.Context, f rightsize.Filter) (*Rows, error) {
	if p.closed.Load() {
		return nil, ErrClosed
	}
	return stream(ctx, p, f)
}
