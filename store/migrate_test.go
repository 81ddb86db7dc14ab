package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/store"
)

// v1Samples are the rows a version-1 store held: three series over five
// hours, out of order, with ties.
func v1Samples() []rightsize.Sample {
	rng := rand.New(rand.NewPCG(11, 12))
	t0 := time.Date(2025, 3, 1, 10, 42, 0, 0, time.UTC)
	var out []rightsize.Sample
	for i := range 600 {
		t := t0.Add(time.Duration(rng.IntN(5*3600)) * time.Second)
		out = append(out,
			rightsize.Sample{Task: "img-1", Service: "resize", Instance: "node-a", Resource: "cpu", Value: rng.Float64(), Time: t},
			rightsize.Sample{Service: "resize", Resource: "memory", Value: float64(1<<30 + i), Time: t},
			rightsize.Sample{Service: "api ✓", Resource: "cpu", Value: float64(i % 3), Time: t0.Add(time.Duration(i/2) * 30 * time.Second)},
		)
	}
	return out
}

// checkMigrated checks that a store migrated from version 1 answers as
// the rows it held say.
func checkMigrated(t *testing.T, s store.Store, in []rightsize.Sample) {
	t.Helper()
	f := rightsize.Filter{Services: []string{"resize", "api ✓"}}
	got := map[string]int{}
	n := 0
	if err := s.Scan(t.Context(), f, func(smp rightsize.Sample) error {
		got[fmt.Sprint(smp)]++
		n++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n != len(in) {
		t.Fatalf("%d samples after the migration, want %d", n, len(in))
	}
	for _, smp := range in {
		smp.Time = smp.Time.UTC()
		k := fmt.Sprint(smp)
		if got[k] == 0 {
			t.Fatalf("sample %s lost in the migration", k)
		}
		got[k]--
	}
	sums, err := s.Aggregate(t.Context(), rightsize.Aggregation{Filter: f})
	if err != nil || len(sums) != 3 {
		t.Fatalf("Aggregate after the migration = %+v, %v", sums, err)
	}
	for _, x := range sums {
		if x.Count != int64(len(in)/3) || x.P50 == 0 && x.Resource == "memory" {
			t.Errorf("summary %+v", x)
		}
	}
	// New writes go on.
	if err := s.Write(t.Context(), rightsize.Batch{Samples: []rightsize.Sample{{Service: "resize", Resource: "cpu", Value: 1, Time: time.Unix(1, 0)}}}); err != nil {
		t.Fatal(err)
	}
}

func TestPostgresMigrationFromVersion1(t *testing.T) {
	dsn := testDSN(t)
	schema := newSchema(t, dsn)
	old, err := store.OpenPostgresAt(t.Context(), dsn, 1, store.WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	old.Close()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	q := func(name string) string { return pgx.Identifier{schema, name}.Sanitize() }
	in := v1Samples()
	ids := map[string]int32{}
	var rows [][]any
	for _, smp := range in {
		k := smp.Task + "|" + smp.Service + "|" + smp.Instance + "|" + smp.Resource
		id, ok := ids[k]
		if !ok {
			err := conn.QueryRow(t.Context(), `INSERT INTO `+q("rightsize_series")+` (task_id, service, instance, resource) VALUES ($1, $2, $3, $4) RETURNING id`,
				smp.Task, smp.Service, smp.Instance, smp.Resource).Scan(&id)
			if err != nil {
				t.Fatal(err)
			}
			ids[k] = id
		}
		rows = append(rows, []any{id, smp.Time, smp.Value})
	}
	if _, err := conn.CopyFrom(t.Context(), pgx.Identifier{schema, "rightsize_samples"}, []string{"series_id", "time", "value"}, pgx.CopyFromRows(rows)); err != nil {
		t.Fatal(err)
	}

	s, err := store.OpenPostgres(t.Context(), dsn, store.WithSchema(schema))
	if err != nil {
		t.Fatalf("migrating from version 1: %v", err)
	}
	defer s.Close()
	checkMigrated(t, s, in)
	var samplesTable *string
	if err := conn.QueryRow(t.Context(), `SELECT to_regclass($1)::text`, q("rightsize_samples")).Scan(&samplesTable); err != nil || samplesTable != nil {
		t.Errorf("rightsize_samples after the migration: %v, %v; want it dropped", samplesTable, err)
	}
	var viewRows int
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM `+q("metrics")).Scan(&viewRows); err != nil || viewRows != len(in)+1 {
		t.Errorf("the view has %d rows (%v), want %d", viewRows, err, len(in)+1)
	}
	var empty int
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM `+q("rightsize_chunks")+` WHERE length(sketch) = 0`).Scan(&empty); err != nil || empty != 0 {
		t.Errorf("%d chunks without a sketch (%v)", empty, err)
	}
}

func TestSQLiteMigrationFromVersion1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
	old, err := store.OpenSQLiteAt(t.Context(), path, 1)
	if err != nil {
		t.Fatal(err)
	}
	old.Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	in := v1Samples()
	ids := map[string]int64{}
	for _, smp := range in {
		k := smp.Task + "|" + smp.Service + "|" + smp.Instance + "|" + smp.Resource
		id, ok := ids[k]
		if !ok {
			if err := db.QueryRow(`INSERT INTO rightsize_series (task_id, service, instance, resource) VALUES (?, ?, ?, ?) RETURNING id`, smp.Task, smp.Service, smp.Instance, smp.Resource).Scan(&id); err != nil {
				t.Fatal(err)
			}
			ids[k] = id
		}
		if _, err := db.Exec(`INSERT INTO rightsize_samples (series_id, time, value) VALUES (?, ?, ?)`, id, smp.Time.UnixNano(), smp.Value); err != nil {
			t.Fatal(err)
		}
	}
	s, err := store.OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatalf("migrating from version 1: %v", err)
	}
	defer s.Close()
	checkMigrated(t, s, in)
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM metrics`).Scan(&n); err != nil || n != len(in)+1 {
		t.Errorf("the view has %d rows (%v), want %d", n, err, len(in)+1)
	}
	if err := db.QueryRow(`SELECT count(*) FROM rightsize_samples`).Scan(&n); err == nil || !strings.Contains(err.Error(), "no such table") {
		t.Errorf("rightsize_samples after the migration: %v; want it dropped", err)
	}
}

// TestBucketWidthFixed: a store keeps the width it was created with.
func TestBucketWidthFixed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.db")
	s, err := store.OpenSQLite(t.Context(), path, store.WithBucketWidth(5*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	var in []rightsize.Sample
	for i := range 30 {
		in = append(in, rightsize.Sample{Service: "a", Resource: "cpu", Value: float64(i), Time: t0.Add(time.Duration(i) * time.Minute)})
	}
	if err := s.Write(t.Context(), rightsize.Batch{Samples: in}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := store.OpenSQLite(t.Context(), path, store.WithBucketWidth(time.Hour)); err == nil || !strings.Contains(err.Error(), "5m0s") {
		t.Errorf("reopening with another width = %v, want an error naming the stored 5m", err)
	}
	s, err = store.OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var widths []time.Duration
	if err := s.Rollups(t.Context(), rightsize.Filter{Services: []string{"a"}}, func(r rightsize.Rollup) error {
		widths = append(widths, r.Width)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(widths) != 6 || widths[0] != 5*time.Minute {
		t.Errorf("rollups of widths %v, want 6 of 5m", widths)
	}
	for _, d := range []time.Duration{0, 30 * time.Second, 7 * time.Minute, 48 * time.Hour} {
		if _, err := store.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "x.db"), store.WithBucketWidth(d)); err == nil {
			t.Errorf("WithBucketWidth(%v) accepted", d)
		}
	}
}

// TestPermanentPG: PostgreSQL's data exceptions are permanent, a server
// that is not there is not.
func TestPermanentPG(t *testing.T) {
	dsn := testDSN(t)
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for _, q := range []string{`SELECT 1/0`, `SELECT 'x'::float8`, `SELECT 'infinity'::timestamptz + interval '1 day' < '2020-01-01' AND (1e308::float8 * 10) > 0`} {
		_, err := conn.Exec(t.Context(), q)
		if err == nil {
			t.Fatalf("%s: no error", q)
		}
		if !rightsize.IsPermanent(store.PermanentPG(err)) {
			t.Errorf("%s: %v is not permanent", q, err)
		}
	}
	_, err = pgx.Connect(t.Context(), "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=2")
	if err == nil || rightsize.IsPermanent(store.PermanentPG(err)) {
		t.Errorf("a refused connection: %v is permanent", err)
	}
	if _, err := conn.Exec(t.Context(), `SELECT * FROM no_such_table`); rightsize.IsPermanent(store.PermanentPG(err)) || !errors.As(err, new(interface{ SQLState() string })) {
		t.Errorf("an undefined table (class 42) = %v: not a data exception", err)
	}
}

// TestPermanentSQLite: SQLite refusing the data is permanent, a busy
// database is not.
func TestPermanentSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE u (x INTEGER PRIMARY KEY, y TEXT NOT NULL UNIQUE)`); err != nil {
		t.Fatal(err)
	}
	db.Exec(`INSERT INTO u VALUES (1, 'a')`)
	_, err = db.Exec(`INSERT INTO u VALUES (2, 'a')`)
	if err == nil || !rightsize.IsPermanent(store.PermanentSQLite(err)) {
		t.Errorf("a constraint violation: %v is not permanent", err)
	}
	_, err = db.Exec(`INSERT INTO u VALUES ('x', 'b')`)
	if err == nil || !rightsize.IsPermanent(store.PermanentSQLite(err)) {
		t.Errorf("a type mismatch: %v is not permanent", err)
	}
	// Another connection holds the write lock: busy, retryable.
	lock, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(1)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`INSERT INTO u VALUES (3, 'c')`); err != nil {
		t.Fatal(err)
	}
	_, err = lock.Exec(`INSERT INTO u VALUES (4, 'd')`)
	if err == nil || rightsize.IsPermanent(store.PermanentSQLite(err)) {
		t.Errorf("a locked database: %v is permanent", err)
	}
	if rightsize.IsPermanent(store.PermanentSQLite(errors.New("disk I/O error"))) {
		t.Error("an error that is not SQLite's is permanent")
	}
}
