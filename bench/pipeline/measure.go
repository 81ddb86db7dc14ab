package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rightsize/rightsize"
)

// rawCopy copies the workload's rows into a fresh unindexed table with
// pgx's CopyFrom and returns rows/s: wide, the rows as a user sees them
// (task_id, service, instance, resource, value, time), or narrow, as
// (series_id, time, value).
func rawCopy(ctx context.Context, dsn string, w workload, wide bool) (float64, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	table := fmt.Sprintf("bench_raw_%x", rand.Uint64())
	cols := []string{"series_id", "time", "value"}
	ddl := `(series_id integer, "time" timestamptz, value double precision)`
	if wide {
		cols = []string{"task_id", "service", "instance", "resource", "value", "time"}
		ddl = `(task_id text, service text, instance text, resource text, value double precision, "time" timestamptz)`
	}
	if _, err := conn.Exec(ctx, `CREATE UNLOGGED TABLE `+table+` `+ddl); err != nil {
		return 0, err
	}
	defer conn.Exec(context.WithoutCancel(ctx), `DROP TABLE `+table)
	// The table is unlogged only while it is empty, as the store's own
	// tables are logged: make it logged, so WAL is written as for them.
	if _, err := conn.Exec(ctx, `ALTER TABLE `+table+` SET LOGGED`); err != nil {
		return 0, err
	}
	rows := make([][]any, 0, w.samples())
	w.each(func(svc int, s rightsize.Sample) {
		if wide {
			rows = append(rows, []any{s.Task, s.Service, s.Instance, s.Resource, s.Value, s.Time})
			return
		}
		id := 2 * svc
		if s.Resource == "memory" {
			id++
		}
		rows = append(rows, []any{int32(id), s.Time, s.Value})
	})
	start := time.Now()
	n, err := conn.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromRows(rows))
	if err != nil {
		return 0, err
	}
	return float64(n) / since(start), nil
}

// statusEvery and monitorOutput are where the monitors' status lines go:
// nowhere, unless -v.
var (
	statusEvery    = "1h"
	monitorOutput  io.Writer
	monitorProfile string
)

type drained struct {
	rate    float64 // samples/s from the monitors' start to the last sample stored
	steady  float64 // samples/s from the first sample stored to the last
	peakRSS int64   // bytes, the largest of the monitors
}

// drain creates a database, starts the monitor(s) on the backlog and
// times them until every sample is stored.
func drain(ctx context.Context, monitor, dsn, brokers string, want, consumers, round int) (drained, error) {
	db := fmt.Sprintf("bench_e2e_%d_%x", round, rand.Uint32())
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return drained{}, err
	}
	defer admin.Close(context.WithoutCancel(ctx))
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+db); err != nil {
		return drained{}, err
	}
	defer admin.Exec(context.WithoutCancel(ctx), "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)")
	target, err := withDatabase(dsn, db)
	if err != nil {
		return drained{}, err
	}
	start := time.Now()
	var cmds []*exec.Cmd
	for i := range consumers {
		cmd := exec.Command(monitor, "-brokers", brokers, "-db", target, "-group", db, "-instance-id", "m"+strconv.Itoa(i), "-status", statusEvery)
		if i == 0 && monitorProfile != "" {
			cmd.Args = append(cmd.Args, "-cpuprofile", monitorProfile)
		}
		cmd.Stdout, cmd.Stderr = monitorOutput, monitorOutput
		if err := cmd.Start(); err != nil {
			return drained{}, err
		}
		cmds = append(cmds, cmd)
	}
	// The peak resident memory is the kernel's VmHWM, read before the
	// monitors exit (a child's rusage counts the parent's pages from
	// before its exec).
	stopAll := func() int64 {
		var peak int64
		for _, c := range cmds {
			peak = max(peak, vmHWM(c.Process.Pid))
			c.Process.Signal(syscall.SIGTERM)
			c.Wait()
		}
		return peak
	}
	conn, err := pgx.Connect(ctx, target)
	if err != nil {
		stopAll()
		return drained{}, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var first time.Time
	var firstN int64
	for {
		var n int64
		// Before the monitor has created its tables the query fails.
		if conn.QueryRow(ctx, `SELECT coalesce(sum(count), 0) FROM rightsize_chunks`).Scan(&n) == nil && n > 0 && first.IsZero() {
			first, firstN = time.Now(), n
		}
		if n >= int64(want) {
			break
		}
		if ctx.Err() != nil || time.Since(start) > 10*time.Minute {
			stopAll()
			return drained{}, fmt.Errorf("round %d: the monitor did not store %d samples in time", round, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	elapsed := since(start)
	return drained{rate: float64(want) / elapsed, steady: float64(int64(want)-firstN) / since(first), peakRSS: stopAll()}, nil
}

func withDatabase(dsn, db string) (string, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return "", err
	}
	u := url.URL{Scheme: "postgres", Host: net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))), Path: "/" + db, RawQuery: "sslmode=disable"}
	if cfg.Password != "" {
		u.User = url.UserPassword(cfg.User, cfg.Password)
	} else {
		u.User = url.User(cfg.User)
	}
	return u.String(), nil
}

// vmHWM returns the peak resident set of process pid, in bytes (0 if it
// cannot be read).
func vmHWM(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
