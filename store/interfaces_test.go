package store_test

import (
	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/consumer"
	"github.com/rightsize/rightsize/sketch"
	"github.com/rightsize/rightsize/store"
	"github.com/rightsize/rightsize/usage"
)

// The capabilities other packages find by type assertion: a drifting
// signature would silently turn exactly-once or pushdown off, so each is
// pinned here, for both stores.
var (
	_ store.Store     = (*store.Postgres)(nil)
	_ store.Store     = (*store.SQLite)(nil)
	_ store.Reader    = (*store.Postgres)(nil)
	_ store.Reader    = (*store.SQLite)(nil)
	_ store.TaskStore = (*store.Postgres)(nil)
	_ store.TaskStore = (*store.SQLite)(nil)
	_ store.Admin     = (*store.Postgres)(nil)
	_ store.Admin     = (*store.SQLite)(nil)

	_ consumer.Sink        = (*store.Postgres)(nil)
	_ consumer.Sink        = (*store.SQLite)(nil)
	_ consumer.OffsetStore = (*store.Postgres)(nil)
	_ consumer.OffsetStore = (*store.SQLite)(nil)

	_ usage.Reader       = (*store.Postgres)(nil)
	_ usage.Reader       = (*store.SQLite)(nil)
	_ usage.Summarizer   = (*store.Postgres)(nil)
	_ usage.Summarizer   = (*store.SQLite)(nil)
	_ usage.Aggregator   = (*store.Postgres)(nil)
	_ usage.Aggregator   = (*store.SQLite)(nil)
	_ usage.RollupReader = (*store.Postgres)(nil)
	_ usage.RollupReader = (*store.SQLite)(nil)

	_ rightsize.Distribution = (*sketch.Sketch)(nil)
)
