package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// compactAfterWrite compacts the buckets the committed chunks made due
// (see compact.go). A failure leaves them due for the next Write: the
// batch itself is stored, so Write does not report it.
func (p *Postgres) compactAfterWrite(ctx context.Context, chunks []chunk) error {
	keys := p.compaction.due(chunks, maxCompactPerWrite)
	if len(keys) == 0 {
		return nil
	}
	if _, err := p.compactBuckets(ctx, keys); err == nil {
		p.compaction.done(keys)
	}
	return nil
}

// compactBuckets merges the chunks of each bucket of keys into one, in
// one transaction, and returns how many buckets it merged. Chunks another
// compactor holds are skipped (FOR UPDATE SKIP LOCKED): merging any subset
// of a bucket's chunks keeps its content, and writers never lock chunks.
func (p *Postgres) compactBuckets(ctx context.Context, keys []bucketKey) (int, error) {
	tx, err := p.pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: compact: %w", err)
	}
	defer tx.Rollback(ctx) // a no-op after Commit
	ids, buckets := make([]int32, len(keys)), make([]int64, len(keys))
	for i, k := range keys {
		ids[i], buckets[i] = int32(k.series), k.bucket
	}
	rows, err := tx.Query(ctx, p.n.sql(`
SELECT k.i, c.bucket, c.seq, c.times, c.vals
FROM unnest($1::integer[], $2::timestamptz[]) WITH ORDINALITY AS k(id, bucket, i)
JOIN {chunks} c ON c.series_id = k.id AND c.bucket = k.bucket
ORDER BY k.i, c.seq
FOR UPDATE OF c SKIP LOCKED`), ids, pgTimes(buckets))
	if err != nil {
		return 0, fmt.Errorf("store: compact: %w", err)
	}
	merged, replaced, err := mergeBuckets(&pgChunkRows{rows: rows, values: true}, keys)
	if err != nil {
		return 0, fmt.Errorf("store: compact: %w", err)
	}
	if len(merged) == 0 {
		return 0, nil
	}
	dIDs, dBuckets, dSeqs := make([]int32, len(replaced)), make([]int64, len(replaced)), make([]int64, len(replaced))
	for i, c := range replaced {
		dIDs[i], dBuckets[i], dSeqs[i] = int32(c.series), c.bucket, c.seq
	}
	tag, err := tx.Exec(ctx, p.n.sql(`
DELETE FROM {chunks} c USING unnest($1::integer[], $2::timestamptz[], $3::bigint[]) AS d(id, bucket, seq)
WHERE c.series_id = d.id AND c.bucket = d.bucket AND c.seq = d.seq`), dIDs, pgTimes(dBuckets), dSeqs)
	if err != nil {
		return 0, fmt.Errorf("store: compact: %w", err)
	}
	if tag.RowsAffected() != int64(len(replaced)) {
		return 0, fmt.Errorf("store: compact: deleted %d of %d chunks", tag.RowsAffected(), len(replaced))
	}
	if err := p.copyChunks(ctx, tx, merged); err != nil {
		return 0, fmt.Errorf("store: compact: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("store: compact: %w", err)
	}
	return len(merged), nil
}

// Compact merges the chunks of every bucket that has several into one
// (see the package documentation), whoever wrote them, and returns how
// many buckets it merged. Writes compact what they make due on their own;
// Compact is for what they do not see: chunks written by other processes,
// or before a restart. It is safe to run beside writers and other
// compactors.
func (p *Postgres) Compact(ctx context.Context) (int, error) {
	if p.closed.Load() {
		return 0, ErrClosed
	}
	rows, err := p.pool.Query(ctx, p.n.sql(`SELECT series_id, bucket FROM {chunks} GROUP BY series_id, bucket HAVING count(*) > 1 ORDER BY bucket, series_id`))
	if err != nil {
		return 0, fmt.Errorf("store: compact: %w", err)
	}
	var (
		keys []bucketKey
		k    bucketKey
		id   int32
		b    time.Time
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &b}, func() error {
		k.series, k.bucket = int64(id), b.UnixMicro()
		keys = append(keys, k)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: compact: %w", err)
	}
	return compactInRounds(keys, func(keys []bucketKey) (int, error) { return p.compactBuckets(ctx, keys) })
}
