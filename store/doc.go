// Package store keeps samples, the Kafka offsets they came from and task
// records, and answers the read path's questions — summaries with
// percentiles, rollups per time bucket, whole series, streams — without
// rescanning raw history.
//
// Two implementations share one contract, the [Store] interface, and one
// conformance suite (package storetest): [Postgres], the system of record,
// and [SQLite], a pure-Go embedded file for running with no set-up. [Open]
// picks one from a DSN:
//
//	postgres://user:password@host:5432/database?sslmode=disable   PostgreSQL (or postgresql://)
//	sqlite:rightsize.db                                            SQLite file (or sqlite://PATH, file:PATH)
//
// # Layout: chunks
//
// Samples are stored in chunks, as TimescaleDB's compression, Prometheus
// and InfluxDB do: one row per (series, time bucket, write) that holds
// the bucket's rollup and its raw values.
//
//	rightsize_series    (id, task_id, service, instance, resource)           unique labels
//	rightsize_chunks    (series_id, bucket, seq,                             PRIMARY KEY (series_id, bucket, seq)
//	                     count, sum, m2, min, max, first, last,              the rollup (m2: Σ (v − mean)²)
//	                     sketch,                                             a sketch.Sketch of the values
//	                     times, vals)                                        the raw values, in time order
//	rightsize_tasks     (id, params, services, start, end)                   one row per task
//	rightsize_offsets   (topic, partition, topic_id, next_offset)            see Exactly once
//	rightsize_settings  (name, value)                                        the bucket width
//	metrics             (task_id, service, instance, resource, value, time)  a view: the seed's shape
//
// A Write groups its samples by (series, bucket), sorts each group by
// time and writes one chunk per group by binary COPY: many samples become
// one row and one index entry, so ingest with everything the reads need
// runs at about the speed of COPY into a bare table, and no per-sample
// btree is maintained (its upkeep took most of PostgreSQL's CPU). Buckets
// are aligned to the Unix epoch and one hour wide by default
// ([WithBucketWidth]; fixed when the tables are created): measured
// against 5 min, 15 min and 6 h (BENCHMARKS.md), an hour keeps reads of
// all history to a few rows per series-day and the raw edges of a window
// to two hours, and ingests fastest. In PostgreSQL times and values are
// native arrays (timestamptz[], double precision[]) kept out of line,
// uncompressed, so that a heap row is the rollup alone; in SQLite they
// are one JSON array of [microseconds, value] pairs, last in the row, so
// that reading the rollup never reads them. JSON rather than a BLOB of
// 8-byte numbers because the view must work from any SQLite client (the
// stock sqlite3 shell included), which can unpack JSON with json_each and
// no BLOB at all; measured (BenchmarkSQLiteValues), it costs 36 bytes a
// sample instead of 16 and 125 ns a value to write or read instead of 3,
// about a tenth of SQLite's ingest time and 6 ms of the 16 ms a 50 000
// sample series takes to stream. The view is unnest(times, vals) in
// PostgreSQL, json_each(samples) in SQLite. Empty
// task and instance labels are empty text in the tables and NULL in the
// view. Times are kept to the microsecond, in both stores.
//
// Reads never rescan raw history:
//
//   - Aggregate (and Summarize) merges the stats and sketches of the
//     buckets wholly inside the window, in one query, reading the raw
//     values only of the (at most two) buckets at the edges of an
//     unaligned window, and of the buckets a daily window or a step cuts
//     through; it reads the asked series' rows alone, through the primary
//     key, so its cost does not grow with the other series stored.
//   - Rollups returns the stored buckets of each series, the edges
//     recomputed from the raw values inside the window.
//   - ReadSeries, Stream and Scan read the asked series' chunks in
//     (bucket, seq) order and merge the chunks of one bucket by time:
//     memory holds one bucket at a time (one series for ReadSeries),
//     never a global sort of the samples.
//
// Standard deviations are merged with Chan et al.'s pairwise formula from
// each chunk's count, sum and m2, which does not lose precision the way
// Σx² − (Σx)²/n does. Percentiles come from the sketches: within 1 %
// (relative) of the exact value of the same rank, zeros and extremes
// exact; see package sketch for the error and sizes.
//
// # Compaction
//
// Live ingest writes one small chunk per series per batch, so each store
// merges a bucket's chunks into one, in a transaction of its own right
// after the Write that made it due: a bucket the series has moved past as
// soon as it has two chunks, the open bucket once it has 32. At most 256
// buckets are compacted per Write; PostgreSQL compactors lock the chunks
// they merge with FOR UPDATE SKIP LOCKED, so concurrent compactors of the
// same bucket each merge what they hold, and writers, which only insert,
// never wait. Content never changes, so no answer changes and
// exactly-once is unaffected. What is due is counted per store value:
// [Postgres.Compact] merges whatever other processes or an earlier run
// left (readdata compact).
//
// # Retention and TimescaleDB
//
// DropBefore deletes whole chunks whose bucket ended before a time: cheap,
// and as fine as the bucket width. If the timescaledb extension is already
// installed when the tables are created, the chunks table becomes a
// hypertable partitioned by bucket in weeks (see timescale.go: one
// statement); rightsize never installs extensions. Everything else is
// the same as on plain PostgreSQL.
//
// Tables are created on first use and changed only by versioned migrations
// (a rightsize_migrations table in PostgreSQL, PRAGMA user_version in
// SQLite), run under a lock so that processes starting together take
// turns. Migration 2 moved the samples of migration 1's one-row-per-sample
// table into chunks. In PostgreSQL everything lives in one schema
// ("public" unless [WithSchema] says otherwise).
//
// # Exactly once
//
// Uniqueness is not checked row by row: that needs a per-row btree.
// Instead Write stores, in the same transaction as a batch's chunks, the
// next Kafka offset of each partition the batch came from, fenced: a
// range of offsets is written only if it starts where the stored offset
// ends, skipped if it is already stored, and refused with an
// [*OffsetConflictError] otherwise. On partition assignment the consumer
// seeks to [Store.Offsets]. Chunks and offsets commit or vanish together,
// so no crash of the consumer or the database loses or duplicates a
// sample that Kafka holds.
package store
