package store_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/store"
)

func TestOpenUnsupportedDSN(t *testing.T) {
	for _, tc := range []struct{ dsn, mention string }{
		{"mysql://root:hunter2@db:3306/rightsize", `"mysql"`},
		{"rightsize.db", "no scheme"},
		{"host=db user=postgres password=hunter2", "no scheme"},
		{"sqlite:", "names no file"},
		{"sqlite:x.db?mode=ro&password=hunter2", "query parameters"},
	} {
		s, err := store.Open(t.Context(), tc.dsn)
		if err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", tc.dsn)
			continue
		}
		if !errors.Is(err, store.ErrUnsupportedDSN) {
			t.Errorf("Open(%q) = %v, want an error matching ErrUnsupportedDSN", tc.dsn, err)
		}
		if !strings.Contains(err.Error(), tc.mention) || !strings.Contains(err.Error(), "sqlite:PATH") && tc.mention != "query parameters" {
			t.Errorf("Open(%q) = %q, want it to mention %s and the accepted forms", tc.dsn, err, tc.mention)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Open(%q) = %q shows the password", tc.dsn, err)
		}
	}
	// A PostgreSQL DSN pgx cannot parse: its message must not show the
	// password either.
	_, err := store.Open(t.Context(), "postgres://u:hunter2@db:port/x")
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("Open(bad port) = %v, want an error without the password", err)
	}
}

func TestOpenSQLiteDSN(t *testing.T) {
	dir := t.TempDir()
	for _, dsn := range []string{
		"sqlite:" + filepath.Join(dir, "a.db"),
		"sqlite://" + filepath.Join(dir, "a.db"), // sqlite:///abs/path
		"file:" + filepath.Join(dir, "b.db"),
		"sqlite:" + filepath.Join(dir, "odd % name.db"),
	} {
		s, err := store.Open(t.Context(), dsn)
		if err != nil {
			t.Fatalf("Open(%q): %v", dsn, err)
		}
		if err := s.Write(t.Context(), rightsize.Batch{Samples: []rightsize.Sample{{Service: "a", Resource: "cpu", Time: time.Unix(1, 0)}}}); err != nil {
			t.Errorf("%s: Write: %v", dsn, err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("%s: Close: %v", dsn, err)
		}
	}
	// Any file name works through OpenSQLite, even one a DSN cannot hold.
	s, err := store.OpenSQLite(t.Context(), filepath.Join(dir, "what?#.db"))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}

func TestOptionsValidated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	for _, opt := range []store.SQLiteOption{
		store.WithView(""),
		store.WithBusyTimeout(-time.Second),
	} {
		if s, err := store.OpenSQLite(t.Context(), path, opt); err == nil {
			s.Close()
			t.Errorf("OpenSQLite accepted a bad option")
		}
	}
	for _, opt := range []store.PostgresOption{
		store.WithView(""),
		store.WithSchema(""),
		store.WithSchema(strings.Repeat("s", 64)),
		store.WithConnectTimeout(0),
	} {
		if _, err := store.OpenPostgres(t.Context(), "postgres://127.0.0.1:1/x", opt); err == nil || strings.Contains(err.Error(), "127.0.0.1:1") {
			t.Errorf("OpenPostgres with a bad option = %v, want the option refused before connecting", err)
		}
	}
	// Open takes either kind, and refuses one for the other store.
	if _, err := store.Open(t.Context(), "sqlite:"+path, store.WithSchema("s")); err == nil || !strings.Contains(err.Error(), "PostgreSQL store was given for a SQLite DSN") {
		t.Errorf("Open(sqlite, WithSchema) = %v", err)
	}
	if _, err := store.Open(t.Context(), "postgres://127.0.0.1:1/x", store.WithBusyTimeout(time.Second)); err == nil || !strings.Contains(err.Error(), "SQLite store was given for a PostgreSQL DSN") {
		t.Errorf("Open(postgres, WithBusyTimeout) = %v", err)
	}
	s, err := store.Open(t.Context(), "sqlite:"+path, store.WithView("samples"), store.WithBusyTimeout(time.Second))
	if err != nil {
		t.Fatalf("Open(sqlite) with options of both kinds it takes: %v", err)
	}
	s.Close()
}
