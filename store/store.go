package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/internal/clip"
)

// Store keeps samples and the Kafka offsets they came from, and answers
// queries over them. [Postgres] and [SQLite] implement it; [Open] picks one
// from a DSN.
//
// Write is the Kafka consumer's sink. It stores a batch's samples and, in
// the same database transaction, the next offset (OffsetRange.To) of each of
// the batch's partitions, so that a sample is stored exactly once however
// often the consumer delivers it. Range by range, against the next offset
// stored for the range's topic and partition:
//
//   - none stored, or stored == From: the range's samples are written and
//     the stored offset becomes To;
//   - stored >= To: the samples are already stored (a redelivery) and are
//     skipped silently;
//   - anything else (From < stored < To, an overlap; or stored < From, a
//     gap): Write writes nothing at all from the batch and returns an
//     *[OffsetConflictError] (matching [ErrOffsetConflict]); the consumer
//     seeks its partitions back to the stored offsets.
//
// A batch without ranges is written as it is, with no exactly-once
// guarantee (an import, say). Every sample is validated with
// [rightsize.Sample.Validate]; an invalid sample or an inconsistent batch
// fails the whole batch with an error matching [ErrInvalidBatch]. Rows are
// written sorted by series and time.
//
// Times are stored with microsecond precision (PostgreSQL's), truncated
// toward the past, in both stores so that they agree; queries return them
// in UTC. Filter bounds are truncated the same way.
//
// Offsets returns the next offset stored for each partition of one
// incarnation of a topic (its name and the ID the cluster gave it; see
// rightsize.OffsetRange.TopicID): the consumer seeks there when it is
// assigned a partition. Offsets stored for an earlier topic of the same
// name (deleted and created again, or another cluster: a fresh in-process
// broker, say) are not returned, and Write treats them as absent, so a new
// topic is read from its start instead of from where the old one ended.
//
// Scan calls fn for each sample matching the filter, ordered by service,
// resource and time (then task and instance), streaming rather than
// loading them all: it holds one bucket of one (service, resource) at a
// time. It stops at the first error fn returns and returns that error
// unchanged. Summarize returns one [rightsize.Summary] per service and
// resource matching the filter, P50 to P99 included, ordered by service,
// then resource: it is Aggregate with the filter alone. Both validate the
// filter first. Services returns the distinct service names stored,
// sorted.
//
// The read path, the tasks and the administration are in [Reader],
// [TaskStore] and [Admin], which Store includes.
//
// Write errors that retrying cannot fix — an invalid batch, data the
// database refuses (PostgreSQL's SQLSTATE classes 22 and 23) — match
// rightsize.ErrPermanent; any other Write error (the database is away) is
// retryable.
//
// All methods are safe for concurrent use. After Close they return
// [ErrClosed]; Close itself may be called more than once.
type Store interface {
	Write(ctx context.Context, b rightsize.Batch) error
	Offsets(ctx context.Context, topic, topicID string) (map[int32]int64, error)
	Scan(ctx context.Context, f rightsize.Filter, fn func(rightsize.Sample) error) error
	Summarize(ctx context.Context, f rightsize.Filter) ([]rightsize.Summary, error)
	Services(ctx context.Context) ([]string, error)
	Reader
	TaskStore
	Admin
	Close() error
}

// Reader is the read path for the layers above (expected usage,
// recommendations, prediction, charts). No read rescans raw history: see
// the package documentation for how each is answered. Every method
// validates its filter first, and honours every field of it (Services as
// a group, Task, Instance, Resources, From/To, Daily).
//
// Aggregate returns summaries — count, min, max, mean, standard
// deviation, P50/P90/P95/P99 and any a.Quantiles (from sketches, within
// [sketch.RelativeAccuracy]), first and last time — per service and
// resource, and per task, instance and time bucket of a.Step when a asks,
// ordered by service, resource, task, instance, start. Nothing matching
// is an empty slice, not an error.
//
// Rollups calls fn with each rollup of the series f matches, one series
// after another (ordered by service, resource, task, instance), buckets
// in time order, each of the store's bucket width; a bucket only partly
// inside f's window is computed from its raw values inside the window.
// Empty buckets are not reported.
//
// ReadSeries calls fn with each series f matches that has samples in it,
// one at a time, in the same order, values in time order: one series in
// memory at a time. Stream returns a pull iterator over the same samples
// in the same order that holds one stored bucket at a time.
//
// Rollups and ReadSeries stop at the first error fn returns and return it
// unchanged.
type Reader interface {
	Aggregate(ctx context.Context, a rightsize.Aggregation) ([]rightsize.Summary, error)
	Rollups(ctx context.Context, f rightsize.Filter, fn func(rightsize.Rollup) error) error
	ReadSeries(ctx context.Context, f rightsize.Filter, fn func(rightsize.Series) error) error
	Stream(ctx context.Context, f rightsize.Filter) (*Rows, error)
}

// TaskStore keeps tasks as records of their own.
//
// WriteTask records a task, replacing the one of the same ID (record it
// when it starts, and again with its end); a task that fails
// rightsize.Task.Validate is refused with an error matching
// [ErrInvalidTask] and rightsize.ErrPermanent. Task returns one task, or
// an error matching [ErrNotFound]. Tasks returns those a [TaskQuery]
// selects, ordered by start, then ID. Times come back truncated to the
// microsecond, in UTC.
type TaskStore interface {
	WriteTask(ctx context.Context, t rightsize.Task) error
	Task(ctx context.Context, id string) (rightsize.Task, error)
	Tasks(ctx context.Context, q TaskQuery) ([]rightsize.Task, error)
}

// Admin holds what an operator runs (see examples/readdata).
//
// Catalog describes every series that holds samples (labels, count,
// first and last time), from the rollups alone, ordered by service,
// resource, task and instance. DropBefore deletes the stored buckets that
// end at or before t — whole buckets, so retention is as fine as the
// bucket width — and returns how many samples went. Reset deletes
// everything: samples, series, tasks and offsets (stop the writers
// first). Compact merges the chunks of every bucket that has several
// (Write does this for what it writes; Compact catches up on what other
// processes or an earlier run left) and returns how many buckets it
// merged; no answer of any read changes.
type Admin interface {
	Catalog(ctx context.Context) ([]SeriesInfo, error)
	DropBefore(ctx context.Context, t time.Time) (int64, error)
	Reset(ctx context.Context) error
	Compact(ctx context.Context) (int, error)
}

var (
	// ErrOffsetConflict is matched by the *OffsetConflictError that Write
	// returns when a batch's offsets do not follow on from those stored.
	ErrOffsetConflict = errors.New("store: offset conflict")

	// ErrInvalidBatch is returned by Write, before it touches the database,
	// when a batch holds an invalid sample (the error then also matches
	// rightsize.ErrInvalidSample), a malformed offset range, or ranges
	// whose sample counts do not add up to the batch's samples.
	ErrInvalidBatch = errors.New("store: invalid batch")

	// ErrClosed is returned by every method of a store that has been
	// closed, except Close.
	ErrClosed = errors.New("store: closed")

	// ErrUnsupportedDSN is returned by Open when it does not recognise the
	// DSN's form.
	ErrUnsupportedDSN = errors.New("store: unsupported DSN")
)

// OffsetConflictError is returned by Write when some of a batch's ranges
// neither follow on from the offset stored for their partition nor are
// already stored. Nothing of the batch was written.
type OffsetConflictError struct {
	// Conflicts lists the ranges that conflict, each with the next offset
	// stored for its partition.
	Conflicts []OffsetConflict
	// Offsets holds, by topic and partition, the next offset stored for
	// every partition of the batch that has one: where the consumer
	// resumes each of them.
	Offsets map[string]map[int32]int64
}

// OffsetConflict is one range of a batch that conflicts with the stored
// offset of its partition.
type OffsetConflict struct {
	Range rightsize.OffsetRange
	// Stored is the next offset stored for the range's partition when the
	// range was examined.
	Stored int64
}

// Error names the first conflicting range and the offset stored for its
// partition.
func (e *OffsetConflictError) Error() string {
	if len(e.Conflicts) == 0 {
		return ErrOffsetConflict.Error()
	}
	c := e.Conflicts[0]
	what := "overlaps"
	if c.Stored < c.Range.From {
		what = "leaves a gap after"
	}
	msg := fmt.Sprintf("%s: range %s %s the stored next offset %d", ErrOffsetConflict, c.Range, what, c.Stored)
	if n := len(e.Conflicts) - 1; n > 0 {
		msg += fmt.Sprintf(" (and %d more conflicting ranges)", n)
	}
	return msg
}

// Unwrap makes errors.Is(err, ErrOffsetConflict) true.
func (e *OffsetConflictError) Unwrap() error { return ErrOffsetConflict }

// Open opens the store a DSN names:
//
//	postgres://user:password@host:port/database?sslmode=...   PostgreSQL (also postgresql://)
//	sqlite:PATH                                              SQLite file at PATH (also sqlite://PATH, file:PATH)
//
// A relative PATH is relative to the working directory; sqlite:///var/x.db
// and sqlite:/var/x.db both name /var/x.db. The database's objects are
// created on first use. Errors never show a DSN's password. opts may be
// of either store's kind (see [Option]); one for the other store than the
// DSN names is an error.
func Open(ctx context.Context, dsn string, opts ...OpenOption) (Store, error) {
	scheme, rest, ok := strings.Cut(dsn, ":")
	if !ok || scheme == "" || strings.ContainsAny(scheme, " =/") {
		return nil, fmt.Errorf("%w: the DSN has no scheme; use postgres://..., postgresql://... or sqlite:PATH", ErrUnsupportedDSN)
	}
	switch strings.ToLower(scheme) {
	case "postgres", "postgresql":
		popts, err := forBackend[PostgresOption]("PostgreSQL", opts)
		if err != nil {
			return nil, err
		}
		p, err := OpenPostgres(ctx, dsn, popts...)
		if err != nil {
			return nil, err
		}
		return p, nil
	case "sqlite", "file":
		path, err := sqlitePath(scheme, rest)
		if err != nil {
			return nil, err
		}
		sopts, err := forBackend[SQLiteOption]("SQLite", opts)
		if err != nil {
			return nil, err
		}
		s, err := OpenSQLite(ctx, path, sopts...)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	return nil, fmt.Errorf("%w: scheme %q; use postgres://..., postgresql://... or sqlite:PATH", ErrUnsupportedDSN, clip.String(scheme, 40))
}

func sqlitePath(scheme, rest string) (string, error) {
	rest = strings.TrimPrefix(rest, "//")
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		// What follows may hold anything, a password included: not shown.
		return "", fmt.Errorf("%w: %s:%s...: query parameters are not supported in a %s: DSN; use sqlite:PATH", ErrUnsupportedDSN, scheme, rest[:i], scheme)
	}
	if rest == "" {
		return "", fmt.Errorf("%w: %s: names no file; use sqlite:PATH", ErrUnsupportedDSN, scheme)
	}
	return filepath.Clean(rest), nil
}
