package store

import (
	"fmt"
	"strings"
	"time"
)

// An Option changes a setting of a store. Options are passed to [Open],
// [OpenPostgres], [NewPostgres] and [OpenSQLite]; each constructor validates
// them and returns an error for a bad value.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	schema            string
	view              string
	connectTimeout    time.Duration
	connectTimeoutSet bool
	busyTimeout       time.Duration
	bucket            time.Duration
	bucketSet         bool
}

const (
	defaultSchema         = "public"
	defaultView           = "metrics"
	defaultConnectTimeout = 10 * time.Second
	defaultBusyTimeout    = 5 * time.Second
	defaultBucket         = time.Hour
)

// WithSchema puts every object of the PostgreSQL store (tables, view,
// migrations table) in the named schema, which is created if it does not
// exist. The default is "public". The SQLite store has no schemas and
// ignores this option.
func WithSchema(name string) Option {
	return optionFunc(func(c *config) { c.schema = name })
}

// WithView names the view through which users and dashboards read the
// samples, with the columns task_id, service, instance, resource, value,
// time. The default is "metrics". The view is created when missing; opening
// fails if another kind of relation already has that name.
func WithView(name string) Option {
	return optionFunc(func(c *config) { c.view = name })
}

// WithConnectTimeout bounds each attempt to connect to PostgreSQL, from the
// dial to the end of authentication. The default is the DSN's
// connect_timeout if it has one, else 10 s; this option overrides both. It
// must be positive. The context passed to the constructor bounds the whole
// opening as well. Only [OpenPostgres] (and [Open] with a PostgreSQL DSN)
// use it: a pool given to [NewPostgres] keeps its own configuration.
func WithConnectTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.connectTimeout, c.connectTimeoutSet = d, true })
}

// WithBusyTimeout sets how long a SQLite connection waits for a lock held by
// another process (another program writing the same file) before giving up.
// The default is 5 s; it must be positive. PostgreSQL ignores it.
func WithBusyTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.busyTimeout = d })
}

// WithBucketWidth sets the width of the time buckets in which a store
// keeps its rollups and raw values (see the package documentation). The
// default is one hour; it must divide a day into whole buckets and be at
// least a minute. It is fixed when the store's tables are created: opening
// an existing store with another width is an error, and opening one
// without this option uses the width it was created with.
func WithBucketWidth(d time.Duration) Option {
	return optionFunc(func(c *config) { c.bucket, c.bucketSet = d, true })
}

func newConfig(opts []Option) (config, error) {
	c := config{
		schema:         defaultSchema,
		view:           defaultView,
		connectTimeout: defaultConnectTimeout,
		busyTimeout:    defaultBusyTimeout,
		bucket:         defaultBucket,
	}
	for _, o := range opts {
		if o == nil {
			continue
		}
		o.apply(&c)
	}
	if err := checkIdentifier("schema", c.schema); err != nil {
		return c, err
	}
	if err := checkIdentifier("view", c.view); err != nil {
		return c, err
	}
	if c.connectTimeout <= 0 {
		return c, fmt.Errorf("store: connect timeout %v is not positive", c.connectTimeout)
	}
	if c.busyTimeout <= 0 {
		return c, fmt.Errorf("store: busy timeout %v is not positive", c.busyTimeout)
	}
	if c.bucket < time.Minute || c.bucket > 24*time.Hour || (24*time.Hour)%c.bucket != 0 {
		return c, fmt.Errorf("store: bucket width %v: want a width of at least a minute that divides a day (1m, 5m, 1h, 24h...)", c.bucket)
	}
	return c, nil
}

// maxIdentifierLen is PostgreSQL's limit (NAMEDATALEN-1); longer names would
// be truncated silently, so they are refused instead.
const maxIdentifierLen = 63

func checkIdentifier(what, name string) error {
	switch {
	case name == "":
		return fmt.Errorf("store: %s name is empty", what)
	case len(name) > maxIdentifierLen:
		return fmt.Errorf("store: %s name %q is %d bytes long (at most %d)", what, name, len(name), maxIdentifierLen)
	case strings.ContainsRune(name, 0):
		return fmt.Errorf("store: %s name %q contains a NUL byte", what, name)
	}
	return nil
}
