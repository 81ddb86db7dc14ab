package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// TimescaleDB support, used only when the extension is already installed
// in the database when the tables are created (rightsize never installs
// extensions). Since migration 2 the chunks table becomes a hypertable
// partitioned by bucket, in TimescaleDB chunks of a week, so that
// DropBefore removes old weeks cheaply; its primary key (series_id,
// bucket, seq) serves as it does on plain PostgreSQL, and the arrays are
// already compact, so TimescaleDB's compression is not enabled. Everything
// else — COPY ingest, the view, the queries — is the same as on plain
// PostgreSQL. (Migration 1 made the old samples table a compressed
// hypertable; migration 2 drops that table.)

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

func makeChunksHypertable(ctx context.Context, tx pgx.Tx, n pgNames) error {
	if _, err := tx.Exec(ctx, `SELECT create_hypertable($1::regclass, 'bucket', chunk_time_interval => INTERVAL '7 days', create_default_indexes => false, if_not_exists => true)`, n.chunks); err != nil {
		return fmt.Errorf("timescaledb: create hypertable: %w", err)
	}
	return nil
}
