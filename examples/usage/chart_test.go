package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rightsize/rightsize/usage"
)

// TestChartFlag: -chart DIR writes a PNG and an SVG per service and
// resource, and an index.html, and says where on the message stream.
func TestChartFlag(t *testing.T) {
	st := known(t)
	dir := filepath.Join(t.TempDir(), "charts")
	fs := flag.NewFlagSet(prog, flag.ContinueOnError)
	registerChart(fs)
	if err := fs.Parse([]string{"-chart", dir}); err != nil {
		t.Fatal(err)
	}
	defer func() { chartDir = "" }()
	e, err := usage.New(st)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r, err := e.Report(ctx, []string{"db", "web"})
	if err != nil {
		t.Fatal(err)
	}
	var msgs bytes.Buffer
	if err := writeCharts(ctx, &msgs, st, r); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"db_cpu.png", "db_cpu.svg", "db_memory.png", "web_cpu.svg", "web_memory.png", "index.html"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
	svg, _ := os.ReadFile(filepath.Join(dir, "web_memory.svg"))
	for _, want := range []string{"memory (MiB)", "request ", "expected p50–p95"} {
		if !bytes.Contains(svg, []byte(want)) {
			t.Errorf("web_memory.svg has no %q", want)
		}
	}
	if !strings.Contains(msgs.String(), "usage: charts: 8 images in "+dir) {
		t.Errorf("says %q", msgs.String())
	}
}
