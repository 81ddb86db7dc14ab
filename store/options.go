package store

import (
	"fmt"
	"strings"
	"time"
)

// Options come in three kinds, and the type system says which
// constructor takes which:
//
//   - an [Option] applies to both stores ([WithView], [WithBucketWidth]);
//   - a [PostgresOption] to PostgreSQL only ([WithSchema],
//     [WithConnectTimeout]): [OpenPostgres] and [NewPostgres] take them;
//   - a [SQLiteOption] to SQLite only ([WithBusyTimeout]): [OpenSQLite]
//     takes them.
//
// Every Option is both a PostgresOption and a SQLiteOption. [Open], which
// picks the store from the DSN, takes either kind and refuses one meant
// for the other store. Each constructor validates what it is given and
// returns an error for a bad value.
type Option interface {
	PostgresOption
	SQLiteOption
}

// A PostgresOption changes a setting of the PostgreSQL store.
type PostgresOption interface {
	OpenOption
	applyPostgres(*config)
}

// A SQLiteOption changes a setting of the SQLite store.
type SQLiteOption interface {
	OpenOption
	applySQLite(*config)
}

// An OpenOption is any option, as [Open] takes them.
type OpenOption interface {
	// backend is "" for an option of both stores, else the store's name.
	backend() string
}

// both is an option of both stores.
type both func(*config)

func (f both) applyPostgres(c *config) { f(c) }
func (f both) applySQLite(c *config)   { f(c) }
func (both) backend() string           { return "" }

// pgOnly is an option of the PostgreSQL store only.
type pgOnly func(*config)

func (f pgOnly) applyPostgres(c *config) { f(c) }
func (pgOnly) backend() string           { return "PostgreSQL" }

// sqliteOnly is an option of the SQLite store only.
type sqliteOnly func(*config)

func (f sqliteOnly) applySQLite(c *config) { f(c) }
func (sqliteOnly) backend() string         { return "SQLite" }

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
// exist. The default is "public".
func WithSchema(name string) PostgresOption {
	return pgOnly(func(c *config) { c.schema = name })
}

// WithView names the view through which users and dashboards read the
// samples, with the columns task_id, service, instance, resource, value,
// time. The default is "metrics". The view is created when missing; opening
// fails if another kind of relation already has that name.
func WithView(name string) Option {
	return both(func(c *config) { c.view = name })
}

// WithConnectTimeout bounds each attempt to connect to PostgreSQL, from the
// dial to the end of authentication. The default is the DSN's
// connect_timeout if it has one, else 10 s; this option overrides both. It
// must be positive. The context passed to the constructor bounds the whole
// opening as well. A pool given to [NewPostgres] keeps its own
// configuration: NewPostgres refuses this option.
func WithConnectTimeout(d time.Duration) PostgresOption {
	return pgOnly(func(c *config) { c.connectTimeout, c.connectTimeoutSet = d, true })
}

// WithBusyTimeout sets how long a SQLite connection waits for a lock held by
// another process (another program writing the same file) before giving up.
// The default is 5 s; it must be positive.
func WithBusyTimeout(d time.Duration) SQLiteOption {
	return sqliteOnly(func(c *config) { c.busyTimeout = d })
}

// WithBucketWidth sets the width of the time buckets in which a store
// keeps its rollups and raw values (see the package documentation). The
// default is one hour; it must divide a day into whole buckets and be at
// least a minute. It is fixed when the store's tables are created: opening
// an existing store with another width is an error, and opening one
// without this option uses the width it was created with.
func WithBucketWidth(d time.Duration) Option {
	return both(func(c *config) { c.bucket, c.bucketSet = d, true })
}

func defaultConfig() config {
	return config{
		schema:         defaultSchema,
		view:           defaultView,
		connectTimeout: defaultConnectTimeout,
		busyTimeout:    defaultBusyTimeout,
		bucket:         defaultBucket,
	}
}

func postgresConfig(opts []PostgresOption) (config, error) {
	c := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o.applyPostgres(&c)
		}
	}
	return c.check()
}

func sqliteConfig(opts []SQLiteOption) (config, error) {
	c := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o.applySQLite(&c)
		}
	}
	return c.check()
}

// forBackend sorts Open's options for the store the DSN named, refusing
// one meant for the other store.
func forBackend[O OpenOption](name string, opts []OpenOption) ([]O, error) {
	out := make([]O, 0, len(opts))
	for _, o := range opts {
		if o == nil {
			continue
		}
		t, ok := o.(O)
		if !ok {
			return nil, fmt.Errorf("store: an option of the %s store was given for a %s DSN", o.backend(), name)
		}
		out = append(out, t)
	}
	return out, nil
}

func (c config) check() (config, error) {
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
