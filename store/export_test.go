package store

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"
)

// OpenPostgresAt opens a store whose schema is migrated to version, not
// further: a store as an older release left it. Only the migrations and
// the view are made; its other methods expect the latest schema.
func OpenPostgresAt(ctx context.Context, dsn string, version int, opts ...PostgresOption) (*Postgres, error) {
	cfg, err := postgresConfig(opts)
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return nil, err
	}
	p, err := newPostgres(ctx, pool, true, cfg, version)
	if err != nil {
		pool.Close()
	}
	return p, err
}

// OpenSQLiteAt is OpenPostgresAt for SQLite.
func OpenSQLiteAt(ctx context.Context, path string, version int, opts ...SQLiteOption) (*SQLite, error) {
	return openSQLite(ctx, path, version, opts)
}

// PermanentPG is permanentPG.
var PermanentPG = permanentPG

// PermanentSQLite is permanentSQLite.
var PermanentSQLite = permanentSQLite
