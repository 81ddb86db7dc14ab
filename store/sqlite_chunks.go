package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/rightsize/rightsize"
)

const sqliteInsertChunk = `INSERT INTO rightsize_chunks (series_id, bucket, count, sum, m2, min, max, first, last, sketch, samples) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// insertChunks writes chunks in tx with one prepared statement.
func insertChunks(ctx context.Context, tx *sql.Tx, chunks []chunk) error {
	if len(chunks) == 0 {
		return nil
	}
	stmt, err := tx.PrepareContext(ctx, sqliteInsertChunk)
	if err != nil {
		return err
	}
	defer stmt.Close()
	var buf []byte
	for i := range chunks {
		c := &chunks[i]
		buf = appendPairs(buf[:0], c.times, c.vals)
		if _, err := stmt.ExecContext(ctx, c.series, c.bucket, c.count, c.sum, c.m2, c.min, c.max, c.first, c.last, c.sketch, string(buf)); err != nil {
			return err
		}
	}
	return nil
}

// appendPairs appends the JSON array [[t, v], ...] of times and values.
// Values are written in the shortest form that reads back exactly.
func appendPairs(b []byte, times []int64, vals []float64) []byte {
	b = append(b, '[')
	for i, t := range times {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = strconv.AppendInt(b, t, 10)
		b = append(b, ',')
		b = strconv.AppendFloat(b, vals[i], 'g', -1, 64)
		b = append(b, ']')
	}
	return append(b, ']')
}

var errPairs = errors.New("malformed samples")

// parsePairs reads what appendPairs wrote.
func parsePairs(s string) (times []int64, vals []float64, err error) {
	n := strings.Count(s, "[") - 1
	if n < 0 || len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' {
		return nil, nil, errPairs
	}
	times, vals = make([]int64, 0, n), make([]float64, 0, n)
	s = s[1 : len(s)-1]
	for len(s) > 0 {
		if len(times) > 0 {
			if s[0] != ',' {
				return nil, nil, errPairs
			}
			s = s[1:]
		}
		if len(s) < 5 || s[0] != '[' {
			return nil, nil, errPairs
		}
		comma := strings.IndexByte(s, ',')
		end := strings.IndexByte(s, ']')
		if comma < 0 || end < comma {
			return nil, nil, errPairs
		}
		t, err := strconv.ParseInt(s[1:comma], 10, 64)
		if err != nil {
			return nil, nil, errPairs
		}
		v, err := strconv.ParseFloat(s[comma+1:end], 64)
		if err != nil {
			return nil, nil, errPairs
		}
		times, vals = append(times, t), append(vals, v)
		s = s[end+1:]
	}
	return times, vals, nil
}

// sqliteChunkRows reads chunks from a query of the stats columns or of
// the values.
type sqliteChunkRows struct {
	rows   *sql.Rows
	values bool
	cur    *chunk
	err    error
}

func (r *sqliteChunkRows) Next() bool {
	if r.err != nil || !r.rows.Next() {
		return false
	}
	c := &chunk{}
	if r.values {
		var samples string
		if r.err = r.rows.Scan(&c.series, &c.bucket, &c.seq, &samples); r.err != nil {
			return false
		}
		if c.times, c.vals, r.err = parsePairs(samples); r.err != nil {
			r.err = fmt.Errorf("chunk %d: %w", c.seq, r.err)
			return false
		}
	} else {
		if r.err = r.rows.Scan(&c.series, &c.bucket, &c.seq, &c.count, &c.sum, &c.m2, &c.min, &c.max, &c.first, &c.last, &c.sketch); r.err != nil {
			return false
		}
	}
	r.cur = c
	return true
}

func (r *sqliteChunkRows) Chunk() *chunk { return r.cur }

func (r *sqliteChunkRows) Err() error {
	if r.err != nil {
		return r.err
	}
	return r.rows.Err()
}

func (r *sqliteChunkRows) Close() { r.rows.Close() }

func (s *SQLite) bucketWidth() int64 { return s.width }

func (s *SQLite) query(ctx context.Context, values bool, q string, args ...any) (chunkRows, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return &sqliteChunkRows{rows: rows, values: values}, nil
}

// jsonInts returns the JSON array of v.
func jsonInts[T int32 | int64](rows ...[]T) string {
	b := []byte{'['}
	for i := range rows[0] {
		if i > 0 {
			b = append(b, ',')
		}
		if len(rows) > 1 {
			b = append(b, '[')
		}
		for j, r := range rows {
			if j > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, int64(r[i]), 10)
		}
		if len(rows) > 1 {
			b = append(b, ']')
		}
	}
	return string(append(b, ']'))
}

// The queries walk the JSON list of series first (CROSS JOIN keeps that
// order of the loops) and each series' chunks by the (series_id, bucket,
// id) index, so that rows come out in order without a sort.

func (s *SQLite) statsRows(ctx context.Context, ids []int64, lo, hi int64) (chunkRows, error) {
	return s.query(ctx, false, `
SELECT k.key, c.bucket, c.id, c.count, c.sum, c.m2, c.min, c.max, c.first, c.last, c.sketch
FROM json_each(?) k CROSS JOIN rightsize_chunks c ON c.series_id = k.value
WHERE c.bucket >= ? AND c.bucket < ?
ORDER BY k.key, c.bucket, c.id`, jsonInts(ids), lo, hi)
}

func (s *SQLite) valuesAt(ctx context.Context, ids, buckets []int64) (chunkRows, error) {
	return s.query(ctx, true, `
SELECT k.key, c.bucket, c.id, c.samples
FROM json_each(?) k CROSS JOIN rightsize_chunks c ON c.series_id = k.value ->> 0 AND c.bucket = k.value ->> 1
ORDER BY k.key, c.id`, jsonInts(ids, buckets))
}

func (s *SQLite) valuesRows(ctx context.Context, ids []int64, o1, o2 []int32, lo, hi int64) (chunkRows, error) {
	inOrder := true
	for i := range ids {
		if o1[i] != int32(i) || o2[i] != 0 {
			inOrder = false
			break
		}
	}
	if inOrder {
		return s.query(ctx, true, `
SELECT k.key, c.bucket, c.id, c.samples
FROM json_each(?) k CROSS JOIN rightsize_chunks c ON c.series_id = k.value
WHERE c.bucket >= ? AND c.bucket < ?
ORDER BY k.key, c.bucket, c.id`, jsonInts(ids), lo, hi)
	}
	i := make([]int64, len(ids))
	for j := range i {
		i[j] = int64(j)
	}
	o1s, o2s := make([]int64, len(ids)), make([]int64, len(ids))
	for j := range ids {
		o1s[j], o2s[j] = int64(o1[j]), int64(o2[j])
	}
	return s.query(ctx, true, `
SELECT k.value ->> 3, c.bucket, c.id, c.samples
FROM json_each(?) k CROSS JOIN rightsize_chunks c ON c.series_id = k.value ->> 0
WHERE c.bucket >= ? AND c.bucket < ?
ORDER BY k.value ->> 1, c.bucket, k.value ->> 2, c.id`, jsonInts(ids, o1s, o2s, i), lo, hi)
}

// matchSeries returns the stored series whose labels match f, sorted by
// sortSeries.
func (s *SQLite) matchSeries(ctx context.Context, f rightsize.Filter) ([]seriesRow, error) {
	var w where
	in := func(col string, vals []string) {
		w.conds = append(w.conds, col+" IN ("+strings.TrimSuffix(strings.Repeat("?,", len(vals)), ",")+")")
		for _, v := range vals {
			w.args = append(w.args, v)
		}
	}
	in("service", f.Services)
	if f.Task != "" {
		w.add("task_id = ?", f.Task)
	}
	if f.Instance != "" {
		w.add("instance = ?", f.Instance)
	}
	if len(f.Resources) > 0 {
		in("resource", f.Resources)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, task_id, service, instance, resource FROM rightsize_series WHERE `+w.String(), w.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []seriesRow
	for rows.Next() {
		var r seriesRow
		if err := rows.Scan(&r.id, &r.key.task, &r.key.service, &r.key.instance, &r.key.resource); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	sortSeries(out)
	return out, nil
}

// Scan calls fn for each sample matching f, ordered by service, resource,
// time, task and instance; see [Store].
func (s *SQLite) Scan(ctx context.Context, f rightsize.Filter, fn func(rightsize.Sample) error) error {
	if s.closed.Load() {
		return ErrClosed
	}
	return scan(ctx, s, f, fn)
}

// Summarize returns one summary per service and resource of the samples
// matching f; see [Store]. It is [SQLite.Aggregate] with no quantiles
// beyond P50 to P99, no step and no grouping.
func (s *SQLite) Summarize(ctx context.Context, f rightsize.Filter) ([]rightsize.Summary, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	return summarize(ctx, s, f)
}

// Aggregate returns the summaries a asks for; see [Reader].
func (s *SQLite) Aggregate(ctx context.Context, a rightsize.Aggregation) ([]rightsize.Summary, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	out, err := aggregate(ctx, s, a)
	if err != nil {
		return nil, fmt.Errorf("store: aggregate: %w", err)
	}
	return out, nil
}

// Rollups calls fn with each rollup of the series f matches; see [Reader].
func (s *SQLite) Rollups(ctx context.Context, f rightsize.Filter, fn func(rightsize.Rollup) error) error {
	if s.closed.Load() {
		return ErrClosed
	}
	return rollups(ctx, s, f, fn)
}

// ReadSeries calls fn with each series f matches, one at a time; see
// [Reader].
func (s *SQLite) ReadSeries(ctx context.Context, f rightsize.Filter, fn func(rightsize.Series) error) error {
	if s.closed.Load() {
		return ErrClosed
	}
	return readSeries(ctx, s, f, fn)
}

// Stream returns an iterator over the samples f matches, series by series,
// each in time order; see [Reader].
func (s *SQLite) Stream(ctx context.Context, f rightsize.Filter) (*Rows, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	return stream(ctx, s, f)
}

// compactAfterWrite compacts the buckets a committed Write made due (see
// compact.go); a failure leaves them due for the next Write.
func (s *SQLite) compactAfterWrite(ctx context.Context, chunks []chunk) {
	keys := s.compaction.due(chunks, maxCompactPerWrite)
	if len(keys) == 0 {
		return
	}
	if _, err := s.compactBuckets(ctx, keys); err == nil {
		s.compaction.done(keys)
	}
}

// compactBuckets merges the chunks of each bucket of keys into one, in
// one transaction (which holds SQLite's write lock, so compactors and
// writers take turns), and returns how many buckets it merged.
func (s *SQLite) compactBuckets(ctx context.Context, keys []bucketKey) (int, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.closed.Load() {
		return 0, ErrClosed
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("store: compact: %w", err)
	}
	defer tx.Rollback() // a no-op after Commit
	ids, buckets := make([]int64, len(keys)), make([]int64, len(keys))
	for i, k := range keys {
		ids[i], buckets[i] = k.series, k.bucket
	}
	rows, err := tx.QueryContext(ctx, `
SELECT k.key, c.bucket, c.id, c.samples
FROM json_each(?) k CROSS JOIN rightsize_chunks c ON c.series_id = k.value ->> 0 AND c.bucket = k.value ->> 1
ORDER BY k.key, c.id`, jsonInts(ids, buckets))
	if err != nil {
		return 0, fmt.Errorf("store: compact: %w", err)
	}
	merged, replaced, err := mergeBuckets(&sqliteChunkRows{rows: rows, values: true}, keys)
	if err != nil {
		return 0, fmt.Errorf("store: compact: %w", err)
	}
	if len(merged) == 0 {
		return 0, nil
	}
	seqs := make([]int64, len(replaced))
	for i, c := range replaced {
		seqs[i] = c.seq
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM rightsize_chunks WHERE id IN (SELECT value FROM json_each(?))`, jsonInts(seqs))
	if err != nil {
		return 0, fmt.Errorf("store: compact: %w", err)
	}
	if n, _ := res.RowsAffected(); n != int64(len(seqs)) {
		return 0, fmt.Errorf("store: compact: deleted %d of %d chunks", n, len(seqs))
	}
	if err := insertChunks(ctx, tx, merged); err != nil {
		return 0, fmt.Errorf("store: compact: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("store: compact: %w", err)
	}
	return len(merged), nil
}

// Compact merges the chunks of every bucket that has several into one,
// whoever wrote them, and returns how many buckets it merged; see
// [Postgres.Compact].
func (s *SQLite) Compact(ctx context.Context) (int, error) {
	if s.closed.Load() {
		return 0, ErrClosed
	}
	rows, err := s.db.QueryContext(ctx, `SELECT series_id, bucket FROM rightsize_chunks GROUP BY series_id, bucket HAVING count(*) > 1 ORDER BY bucket, series_id`)
	if err != nil {
		return 0, fmt.Errorf("store: compact: %w", err)
	}
	var keys []bucketKey
	for rows.Next() {
		var k bucketKey
		if err := rows.Scan(&k.series, &k.bucket); err != nil {
			rows.Close()
			return 0, fmt.Errorf("store: compact: %w", err)
		}
		keys = append(keys, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("store: compact: %w", err)
	}
	return compactInRounds(keys, func(keys []bucketKey) (int, error) { return s.compactBuckets(ctx, keys) })
}

// sqliteLabeledRows reads aggregateRows' columns.
type sqliteLabeledRows struct {
	rows   *sql.Rows
	cur    *chunk
	labels seriesKey
	err    error
}

func (r *sqliteLabeledRows) Next() bool {
	if r.err != nil || !r.rows.Next() {
		return false
	}
	c := &chunk{}
	var (
		k       seriesKey
		samples sql.NullString
	)
	r.err = r.rows.Scan(&c.series, &k.task, &k.service, &k.instance, &k.resource,
		&c.bucket, &c.seq, &c.count, &c.sum, &c.m2, &c.min, &c.max, &c.first, &c.last, &c.sketch, &samples)
	if r.err != nil {
		return false
	}
	if samples.Valid {
		if c.times, c.vals, r.err = parsePairs(samples.String); r.err != nil {
			r.err = fmt.Errorf("chunk %d: %w", c.seq, r.err)
			return false
		}
	}
	r.cur, r.labels = c, k
	return true
}

func (r *sqliteLabeledRows) Chunk() *chunk     { return r.cur }
func (r *sqliteLabeledRows) Labels() seriesKey { return r.labels }
func (r *sqliteLabeledRows) Close()            { r.rows.Close() }

func (r *sqliteLabeledRows) Err() error {
	if r.err != nil {
		return r.err
	}
	return r.rows.Err()
}

func (s *SQLite) aggregateRows(ctx context.Context, f rightsize.Filter, lo, hi, edgeLo, edgeHi int64) (labeledRows, error) {
	w := labelWhere(f, false)
	args := append([]any{edgeLo, edgeHi}, w.args...)
	args = append(args, lo, hi)
	rows, err := s.db.QueryContext(ctx, `
SELECT s.id, s.task_id, s.service, s.instance, s.resource,
       c.bucket, c.id, c.count, c.sum, c.m2, c.min, c.max, c.first, c.last, c.sketch,
       CASE WHEN c.bucket < ? OR c.bucket > ? THEN c.samples END
FROM rightsize_series s CROSS JOIN rightsize_chunks c ON c.series_id = s.id
WHERE `+w.String()+` AND c.bucket >= ? AND c.bucket < ?`, args...)
	if err != nil {
		return nil, err
	}
	return &sqliteLabeledRows{rows: rows}, nil
}
