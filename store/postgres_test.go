package store_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/internal/testenv"
	"github.com/rightsize/rightsize/store"
	"github.com/rightsize/rightsize/store/storetest"
)

func testDSN(t testing.TB) string { return testenv.DatabaseURL(t) }

func newSchema(t testing.TB, dsn string) string { return testenv.Schema(t, dsn, "rightsize_test") }

// openPostgres opens a store in a new schema, closed when the test ends.
func openPostgres(t *testing.T, opts ...store.PostgresOption) (s *store.Postgres, dsn, schema string) {
	t.Helper()
	dsn = testDSN(t)
	schema = newSchema(t, dsn)
	s, err := store.OpenPostgres(t.Context(), dsn, append([]store.PostgresOption{store.WithSchema(schema)}, opts...)...)
	if err != nil {
		t.Fatalf("OpenPostgres: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dsn, schema
}

func TestPostgres(t *testing.T) {
	testDSN(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		s, _, _ := openPostgres(t)
		return s
	})
}

func TestPostgresUnreachable(t *testing.T) {
	ctx := t.Context()
	check := func(t *testing.T, err error, took time.Duration, addr string, limit time.Duration) {
		t.Helper()
		if err == nil {
			t.Fatal("opened a store on a server that is not there")
		}
		t.Logf("error after %v: %v", took.Round(time.Millisecond), err)
		if took > limit {
			t.Errorf("took %v to fail, want less than %v", took, limit)
		}
		if !strings.Contains(err.Error(), addr) {
			t.Errorf("error %q does not name %s", err, addr)
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("error %q shows the password", err)
		}
	}

	t.Run("refused", func(t *testing.T) {
		start := time.Now()
		_, err := store.Open(ctx, "postgres://postgres:s3cret@127.0.0.1:1/test?sslmode=disable")
		check(t, err, time.Since(start), "127.0.0.1:1", 5*time.Second)
	})

	// A server that accepts connections and never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	silent := "postgres://postgres:s3cret@" + ln.Addr().String() + "/test?sslmode=disable"

	t.Run("silent, connect timeout", func(t *testing.T) {
		start := time.Now()
		_, err := store.OpenPostgres(ctx, silent, store.WithConnectTimeout(300*time.Millisecond))
		check(t, err, time.Since(start), ln.Addr().String(), 3*time.Second)
	})
	t.Run("silent, context deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := store.OpenPostgres(ctx, silent)
		check(t, err, time.Since(start), ln.Addr().String(), 3*time.Second)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error %v does not match context.DeadlineExceeded", err)
		}
	})
}

func TestPostgresConcurrentMigrations(t *testing.T) {
	dsn := testDSN(t)
	schema := newSchema(t, dsn)
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Go(func() {
			s, err := store.OpenPostgres(t.Context(), dsn, store.WithSchema(schema))
			if err == nil {
				err = s.Write(t.Context(), rightsize.Batch{
					Samples: []rightsize.Sample{{Service: "a", Resource: "cpu", Value: float64(i), Time: time.Unix(int64(i), 0)}},
					Ranges:  []rightsize.OffsetRange{{Topic: "resources", Partition: int32(i), From: 0, To: 1, Samples: 1}},
				})
				s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("store %d: %v", i, err)
		}
	}
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var versions, samples int
	err = conn.QueryRow(t.Context(), fmt.Sprintf(`SELECT (SELECT count(*) FROM %s), (SELECT count(*) FROM %s)`,
		pgx.Identifier{schema, "rightsize_migrations"}.Sanitize(), pgx.Identifier{schema, "metrics"}.Sanitize())).Scan(&versions, &samples)
	if err != nil {
		t.Fatal(err)
	}
	if versions != 2 || samples != len(errs) {
		t.Errorf("%d migrations recorded and %d samples stored, want 2 and %d", versions, samples, len(errs))
	}
}

// TestPostgresView reads the view as users and dashboards do.
func TestPostgresView(t *testing.T) {
	s, dsn, schema := openPostgres(t, store.WithView("usage rows"))
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	in := []rightsize.Sample{
		{Task: "img-1", Service: "resize", Instance: "node-a", Resource: "cpu", Value: 0.5, Time: t0},
		{Service: "resize", Resource: "memory", Value: 1 << 30, Time: t0.Add(time.Second)},
	}
	if err := s.Write(t.Context(), rightsize.Batch{Samples: in}); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(t.Context(), `SELECT * FROM `+pgx.Identifier{schema, "usage rows"}.Sanitize()+` ORDER BY time`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var cols []string
	for _, fd := range rows.FieldDescriptions() {
		cols = append(cols, fd.Name)
	}
	if want := []string{"task_id", "service", "instance", "resource", "value", "time"}; !slices.Equal(cols, want) {
		t.Errorf("columns %q, want %q", cols, want)
	}
	type viewRow struct {
		Task, Instance    *string
		Service, Resource string
		Value             float64
		Time              time.Time
	}
	var got []viewRow
	for rows.Next() {
		var r viewRow
		if err := rows.Scan(&r.Task, &r.Service, &r.Instance, &r.Resource, &r.Value, &r.Time); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d rows, want 2", len(got))
	}
	if got[0].Task == nil || *got[0].Task != "img-1" || *got[0].Instance != "node-a" || got[0].Service != "resize" ||
		got[0].Resource != "cpu" || got[0].Value != 0.5 || !got[0].Time.Equal(t0) {
		t.Errorf("first row %+v", got[0])
	}
	if got[1].Task != nil || got[1].Instance != nil || got[1].Value != 1<<30 {
		t.Errorf("second row %+v: want NULL task and instance", got[1])
	}

	// A relation of the view's name that is not a view is left alone.
	if _, err := conn.Exec(t.Context(), `CREATE TABLE `+pgx.Identifier{schema, "taken"}.Sanitize()+` (x int)`); err != nil {
		t.Fatal(err)
	}
	_, err = store.OpenPostgres(t.Context(), dsn, store.WithSchema(schema), store.WithView("taken"))
	if err == nil || !strings.Contains(err.Error(), "WithView") {
		t.Errorf("OpenPostgres with a table in the view's place = %v, want an error pointing to WithView", err)
	}
}

// TestNewPostgres checks that a store on the caller's pool leaves the pool
// open.
func TestNewPostgres(t *testing.T) {
	dsn := testDSN(t)
	schema := newSchema(t, dsn)
	pool, err := pgxpool.New(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	s, err := store.NewPostgres(t.Context(), pool, store.WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Services(t.Context()); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := pool.Ping(t.Context()); err != nil {
		t.Errorf("the caller's pool after Close: %v", err)
	}
	if _, err := store.NewPostgres(t.Context(), nil); err == nil {
		t.Error("NewPostgres(nil) succeeded")
	}
}
