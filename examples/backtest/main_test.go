package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rightsize/rightsize/backtest"
	"github.com/rightsize/rightsize/usage"
)

// Four days of one service, cpu and memory every 5 minutes, through the
// program: one CSV row per method and resource, under the harness's
// column names.
func TestRun(t *testing.T) {
	var b strings.Builder
	b.WriteString("task_id,service,resource,value,timestamp\n")
	t0 := time.Date(2013, 7, 1, 0, 0, 0, 0, time.UTC)
	for i := range 4 * 288 {
		at := t0.Add(time.Duration(i) * 5 * time.Minute).Format(time.RFC3339)
		fmt.Fprintf(&b, "vm1,vm1,cpu,%g,%s\nvm1,vm1,memory,%d,%s\n", 0.5+0.1*float64(i%7), at, 1<<30+(i%5)<<20, at)
	}
	path := filepath.Join(t.TempDir(), "trace.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, _ := usage.ParseBudgets("cpu=0.05")
	var out bytes.Buffer
	if err := run(context.Background(), &out, path, "", "csv", false, 24*time.Hour, 24*time.Hour, opts); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if lines[0] != strings.Join(backtest.Columns, ",") || len(lines) != 1+4*2 {
		t.Fatalf("csv:\n%s", out.String())
	}
	if !strings.HasPrefix(lines[7], "calibrated,cpu,1,0,864,3,") {
		t.Errorf("calibrated cpu row %q", lines[7])
	}
	if err := run(context.Background(), &out, filepath.Join(t.TempDir(), "none.csv"), "", "table", false, time.Hour, time.Hour, nil); err == nil {
		t.Error("a missing file accepted")
	}
}
