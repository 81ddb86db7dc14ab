package store_test

import (
	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/sketch"
	"github.com/rightsize/rightsize/store"
)

// The store's own capabilities, pinned for both stores: a drifting
// signature is a compile error here, not a silently lost capability. The
// interfaces other packages declare and find by type assertion are
// pinned where they are declared (consumer.OffsetStore in consumer,
// usage.Aggregator and usage.RollupReader in usage, predict's readers in
// predict), so that this package's tests build without theirs.
var (
	_ store.Store     = (*store.Postgres)(nil)
	_ store.Store     = (*store.SQLite)(nil)
	_ store.Reader    = (*store.Postgres)(nil)
	_ store.Reader    = (*store.SQLite)(nil)
	_ store.TaskStore = (*store.Postgres)(nil)
	_ store.TaskStore = (*store.SQLite)(nil)
	_ store.Admin     = (*store.Postgres)(nil)
	_ store.Admin     = (*store.SQLite)(nil)

	_ rightsize.Distribution = (*sketch.Sketch)(nil)
)
