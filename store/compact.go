package store

import (
	"cmp"
	"slices"
	"sync"

	"github.com/rightsize/rightsize/sketch"
)

// Compaction. Live ingest writes one small chunk per series per batch, so
// a bucket collects many chunks; each store merges the chunks of a bucket
// into one, in a transaction of its own after the Write that made them
// due, content unchanged (which is why exactly-once is not affected):
//
//   - a bucket the series has moved past (a later bucket was written) once
//     it has closedCompactChunks or more;
//   - the bucket still being written once it has openCompactChunks.
//
// A closed bucket of a few chunks is left as it is: reads merge a few
// chunks as cheaply as one, and rewriting them would double the work of
// draining a backlog, whose batches each bring a bucket a few chunks.
//
// Each Write compacts at most maxCompactPerWrite buckets, the oldest
// first; the rest wait for the next Write. What is due is counted in
// memory, per store value: chunks written by other processes, or before a
// restart, are merged by [Postgres.Compact] / [SQLite.Compact] (readdata
// compact), or by this store's next compaction of the same bucket, which
// merges every chunk the bucket has.
const (
	closedCompactChunks = 8
	openCompactChunks   = 32
	maxCompactPerWrite  = 256
)

// bucketKey names one bucket of one series.
type bucketKey struct {
	series, bucket int64
}

func compareBucketKeys(a, b bucketKey) int {
	return cmp.Or(cmp.Compare(a.bucket, b.bucket), cmp.Compare(a.series, b.series))
}

// compactState counts the chunks this store wrote per bucket since the
// bucket's last compaction.
type compactState struct {
	mu      sync.Mutex
	pending map[bucketKey]int
	latest  map[int64]int64 // latest bucket written, per series
}

// due records the chunks a committed Write stored and returns the buckets
// to compact now, at most max.
func (cs *compactState) due(chunks []chunk, max int) []bucketKey {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.pending == nil {
		cs.pending, cs.latest = make(map[bucketKey]int), make(map[int64]int64)
	}
	for _, c := range chunks {
		cs.pending[bucketKey{c.series, c.bucket}]++
		if l, ok := cs.latest[c.series]; !ok || c.bucket > l {
			cs.latest[c.series] = c.bucket
		}
	}
	var out []bucketKey
	for k, n := range cs.pending {
		closed := k.bucket < cs.latest[k.series]
		switch {
		case closed && n >= closedCompactChunks, n >= openCompactChunks:
			out = append(out, k)
		case closed:
			delete(cs.pending, k) // closed with a few chunks: left as they are
		}
	}
	slices.SortFunc(out, compareBucketKeys)
	if len(out) > max {
		out = out[:max]
	}
	return out
}

// done records that keys were compacted.
func (cs *compactState) done(keys []bucketKey) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	for _, k := range keys {
		delete(cs.pending, k)
	}
}

// forget drops everything counted (the store's data was dropped).
func (cs *compactState) forget() {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.pending, cs.latest = nil, nil
}

// mergeBuckets reads the chunks of the buckets of keys (each row's series
// being the index of its bucket in keys, rows of a bucket adjacent) and
// merges each bucket that has two chunks or more into one; it returns the
// merged chunks and the chunks they replace.
func mergeBuckets(rows chunkRows, keys []bucketKey) (merged []chunk, replaced []*chunk, err error) {
	var cs []*chunk
	for rows.Next() {
		c := rows.Chunk()
		c.series = keys[c.series].series
		cs = append(cs, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	key := func(c *chunk) bucketKey { return bucketKey{c.series, c.bucket} }
	sk := sketch.New()
	for i := 0; i < len(cs); {
		j := i + 1
		for j < len(cs) && key(cs[j]) == key(cs[i]) {
			j++
		}
		if j-i >= 2 {
			group := make([]chunk, j-i)
			for k, c := range cs[i:j] {
				group[k] = *c
			}
			m := mergeChunks(group, sk)
			m.series = cs[i].series
			merged = append(merged, m)
			replaced = append(replaced, cs[i:j]...)
		}
		i = j
	}
	return merged, replaced, nil
}

// compactInRounds compacts keys, maxCompactPerWrite buckets a
// transaction, and returns how many buckets were merged.
func compactInRounds(keys []bucketKey, compact func([]bucketKey) (int, error)) (int, error) {
	total := 0
	for len(keys) > 0 {
		n := min(len(keys), maxCompactPerWrite)
		m, err := compact(keys[:n])
		total += m
		if err != nil {
			return total, err
		}
		keys = keys[n:]
	}
	return total, nil
}
