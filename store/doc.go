// Package store keeps samples and the Kafka offsets they came from, and
// answers queries over them: count, min, mean, max, standard deviation per
// service and resource, or the samples themselves in order.
//
// Two implementations share one contract, the [Store] interface, and one
// conformance suite (package storetest): [Postgres], the system of record,
// and [SQLite], a pure-Go embedded file for running with no set-up. [Open]
// picks one from a DSN:
//
//	postgres://user:password@host:5432/database?sslmode=disable   PostgreSQL (or postgresql://)
//	sqlite:rightsize.db                                            SQLite file (or sqlite://PATH, file:PATH)
//
// # Layout
//
// Samples are stored narrow: a small table of series, one row per (task,
// service, instance, resource) with an integer id, and a large table of
// (series id, time, value) rows, written in (series, time) order.
// PostgreSQL ingests by binary COPY into a samples table without a per-row
// btree (a BRIN index on time serves time windows), which keeps ingest near
// the speed of COPY into a bare table. SQLite ingests by multi-row prepared
// INSERTs and does keep an index on (series id, time): an embedded store
// ingests little and answers people waiting, so it trades ingest speed
// (about five times less) for queries that read only the series and time
// window asked for. A view, named
// "metrics" unless [WithView] says otherwise, shows the rows in the seed's
// shape — task_id, service, instance, resource, value, time — for users and
// dashboards:
//
//	rightsize_series   (id, task_id, service, instance, resource)   unique labels
//	rightsize_samples  (series_id, time, value)                     one row per sample
//	rightsize_offsets  (topic, partition, topic_id, next_offset)    see below
//	metrics            (task_id, service, instance, resource, value, time)
//
// Empty task and instance labels are empty text in the tables and NULL in
// the view.
// In PostgreSQL everything lives in one schema ("public" unless
// [WithSchema] says otherwise) and, if the timescaledb extension is already
// installed when the tables are created, the samples table becomes a
// compressed hypertable; SQLite stores times as integer Unix nanoseconds.
// Both stores keep times to the microsecond.
//
// Tables are created on first use and changed only by versioned migrations
// (a rightsize_migrations table in PostgreSQL, PRAGMA user_version in
// SQLite), run under a lock so that processes starting together take turns.
//
// # Exactly once
//
// Uniqueness is not checked row by row: that needs a per-row btree, whose
// upkeep would take most of PostgreSQL's ingest CPU. Instead Write stores, in the same transaction
// as a batch's rows, the next Kafka offset of each partition the batch came
// from, fenced: a range of offsets is written only if it starts where the
// stored offset ends, skipped if it is already stored, and refused with an
// [*OffsetConflictError] otherwise. On partition assignment the consumer
// seeks to [Store.Offsets]. Rows and offsets commit or vanish together, so
// no crash of the consumer or the database loses or duplicates a sample
// that Kafka holds.
package store
