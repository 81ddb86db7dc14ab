// Package testenv gives tests the real services they run against, or
// skips them with a message saying how to get them — except under CI
// (CI=true), where a missing service is a failure, never a silent skip.
package testenv

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/rightsize/rightsize/broker"
	"github.com/twmb/franz-go/pkg/kgo"
)

// CI reports whether the tests run under CI (CI=true).
func CI() bool { return os.Getenv("CI") == "true" }

func missing(t testing.TB, what string) {
	t.Helper()
	if CI() {
		t.Fatal(what + "; under CI this is a failure")
	}
	t.Skip(what + "; run the README's test command (./scripts/test.sh), which provides it")
}

// DatabaseURL returns the PostgreSQL server the tests use, from
// RIGHTSIZE_TEST_DATABASE_URL.
func DatabaseURL(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("RIGHTSIZE_TEST_DATABASE_URL")
	if dsn == "" {
		missing(t, "RIGHTSIZE_TEST_DATABASE_URL is not set (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
	}
	return dsn
}

// Schema returns the name of a new schema for the test alone (test
// packages run in parallel against one database), dropped when the test
// ends. prefix names the package, for whoever finds one left behind.
func Schema(t testing.TB, dsn, prefix string) string {
	t.Helper()
	name := fmt.Sprintf("%s_%016x", prefix, rand.Uint64())
	t.Cleanup(func() {
		if err := execSQL(dsn, "DROP SCHEMA IF EXISTS "+pgx.Identifier{name}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", name, err)
		}
	})
	return name
}

// execSQL runs one statement on the server dsn points at, in a connection
// of its own.
func execSQL(dsn, sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// Kcat returns the path of kcat, the independent Kafka client the interop
// tests use.
func Kcat(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("kcat")
	if err != nil {
		missing(t, "kcat is not installed (apt-get install kcat)")
	}
	return path
}

// Broker starts an in-process Kafka-protocol broker for the test, closed
// when the test ends.
func Broker(t testing.TB) *broker.Broker {
	t.Helper()
	b, err := broker.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// Records reads topic from its start on the brokers at addrs and returns
// every record in it: it waits (at most 30 s) until at least min have
// arrived, then reads on until a poll brings nothing for a second, so a
// record beyond min is returned too, not missed.
func Records(t testing.TB, addrs []string, topic string, min int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	deadline := time.Now().Add(30 * time.Second)
	var out []*kgo.Record
	for {
		wait := time.Second
		if len(out) < min {
			wait = time.Until(deadline)
		}
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		recs := cl.PollFetches(ctx).Records()
		cancel()
		out = append(out, recs...)
		switch {
		case len(out) < min && time.Now().After(deadline):
			t.Fatalf("topic %s: read %d records in 30 s, want at least %d", topic, len(out), min)
		case len(out) >= min && len(recs) == 0:
			return out
		}
	}
}

// Database creates a database of the test's own on the server dsn points
// at and returns a DSN for it; it is dropped when the test ends. For
// tests of programs, which take a DSN and no schema.
func Database(t testing.TB, dsn, prefix string) string {
	t.Helper()
	name := fmt.Sprintf("%s_%016x", prefix, rand.Uint64())
	if err := execSQL(dsn, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := execSQL(dsn, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u := url.URL{Scheme: "postgres", Host: net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))), Path: "/" + name, RawQuery: "sslmode=disable"}
	if cfg.Password != "" {
		u.User = url.UserPassword(cfg.User, cfg.Password)
	} else {
		u.User = url.User(cfg.User)
	}
	return u.String()
}
