package store_test

import (
	"database/sql"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/store"
	"github.com/rightsize/rightsize/store/storetest"
)

func openSQLite(t *testing.T, path string, opts ...store.SQLiteOption) *store.SQLite {
	t.Helper()
	s, err := store.OpenSQLite(t.Context(), path, opts...)
	if err != nil {
		t.Fatalf("OpenSQLite: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openSQLite(t, filepath.Join(t.TempDir(), "test.db"))
	})
}

// TestSQLiteShared opens one file from two stores at once, as two
// processes would: both migrate it, and the offsets fence writes across
// them.
func TestSQLiteShared(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.db")
	stores := make([]*store.SQLite, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range stores {
		wg.Go(func() { stores[i], errs[i] = store.OpenSQLite(t.Context(), path) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("store %d: %v", i, err)
		}
		t.Cleanup(func() { stores[i].Close() })
	}
	b := rightsize.Batch{
		Samples: []rightsize.Sample{{Service: "a", Resource: "cpu", Value: 1, Time: time.Unix(1, 0)}},
		Ranges:  []rightsize.OffsetRange{{Topic: "resources", From: 0, To: 1, Samples: 1}},
	}
	for _, s := range stores {
		if err := s.Write(t.Context(), b); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	if err := stores[1].Scan(t.Context(), rightsize.Filter{Services: []string{"a"}}, func(rightsize.Sample) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("a batch written through both stores is stored %d times, want once", n)
	}
}

// TestSQLiteView reads the view with a plain SQLite client.
func TestSQLiteView(t *testing.T) {
	path := filepath.Join(t.TempDir(), "view.db")
	s := openSQLite(t, path)
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 1500, time.UTC)
	in := []rightsize.Sample{
		{Task: "img-1", Service: "resize", Instance: "node-a", Resource: "cpu", Value: 0.5, Time: t0},
		{Service: "resize", Resource: "memory", Value: 1 << 30, Time: t0.Add(time.Second)},
	}
	if err := s.Write(t.Context(), rightsize.Batch{Samples: in}); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(t.Context(), `SELECT * FROM metrics ORDER BY time`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"task_id", "service", "instance", "resource", "value", "time"}; !slices.Equal(cols, want) {
		t.Errorf("columns %q, want %q", cols, want)
	}
	var got []string
	for rows.Next() {
		var (
			task, inst        sql.NullString
			service, resource string
			value             float64
			ns                int64
		)
		if err := rows.Scan(&task, &service, &inst, &resource, &value, &ns); err != nil {
			t.Fatal(err)
		}
		got = append(got, strings.Join([]string{task.String, service, inst.String, resource, time.Unix(0, ns).UTC().Format(time.RFC3339Nano)}, "|"))
		if task.Valid != (task.String != "") || inst.Valid != (inst.String != "") {
			t.Errorf("empty task or instance is not NULL: %v %v", task, inst)
		}
	}
	want := []string{"img-1|resize|node-a|cpu|2025-03-01T12:00:00.000001Z", "|resize||memory|2025-03-01T12:00:01.000001Z"}
	if !slices.Equal(got, want) {
		t.Errorf("view rows\n%q\nwant\n%q", got, want)
	}

	if _, err := db.ExecContext(t.Context(), `CREATE TABLE taken (x)`); err != nil {
		t.Fatal(err)
	}
	if _, err := store.OpenSQLite(t.Context(), path, store.WithView("taken")); err == nil || !strings.Contains(err.Error(), "WithView") {
		t.Errorf("OpenSQLite with a table in the view's place = %v, want an error pointing to WithView", err)
	}
}

func TestSQLiteMissingDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "no", "such", "dir", "x.db")
	_, err := store.OpenSQLite(t.Context(), path)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("OpenSQLite in a missing directory = %v, want an error naming %s", err, path)
	}
}
