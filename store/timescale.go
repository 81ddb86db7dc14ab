package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// TimescaleDB support, used only when the extension is already installed
// in the database when the samples table is created (rightsize never
// installs extensions). The samples table then becomes a hypertable
// partitioned by time, without TimescaleDB's default btree on time (the
// BRIN index serves), compressed by series once a chunk is a week old.
// Everything else — COPY ingest, the view, the queries — is the same as on
// plain PostgreSQL.

func timescaleInstalled(ctx context.Context, tx pgx.Tx) (bool, error) {
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'`).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("look for timescaledb: %w", err)
	}
	return true, nil
}

func makeHypertable(ctx context.Context, tx pgx.Tx, n pgNames) error {
	if _, err := tx.Exec(ctx, `SELECT create_hypertable($1::regclass, 'time', create_default_indexes => false, if_not_exists => true)`, n.samples); err != nil {
		return fmt.Errorf("timescaledb: create hypertable: %w", err)
	}
	if _, err := tx.Exec(ctx, n.sql(`ALTER TABLE {samples} SET (timescaledb.compress, timescaledb.compress_segmentby = 'series_id', timescaledb.compress_orderby = '"time"')`)); err != nil {
		return fmt.Errorf("timescaledb: enable compression: %w", err)
	}
	if _, err := tx.Exec(ctx, `SELECT add_compression_policy($1::regclass, INTERVAL '7 days', if_not_exists => true)`, n.samples); err != nil {
		return fmt.Errorf("timescaledb: compression policy: %w", err)
	}
	return nil
}
