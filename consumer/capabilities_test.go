package consumer_test

import (
	"github.com/rightsize/rightsize/consumer"
	"github.com/rightsize/rightsize/store"
)

// The consumer finds the store that owns offsets by type assertion: a
// drifting signature would silently turn exactly-once off. Pinned here.
var (
	_ consumer.OffsetStore = (*store.Postgres)(nil)
	_ consumer.OffsetStore = (*store.SQLite)(nil)
	_ consumer.OffsetStore = store.Store(nil)
)
