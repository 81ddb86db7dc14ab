package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/predict"
	"github.com/rightsize/rightsize/store"
)

// profileStore writes tasks whose services' peaks are known: decode holds
// 10 MiB + 4 bytes per pixel, blur 10 MiB + 8.
func profileStore(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "profiles.db")
	st, err := store.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var samples []rightsize.Sample
	for i := range 24 {
		side := 200 + 100*(i%8)
		px := float64(side * side)
		start := t0.Add(time.Duration(i) * time.Minute)
		task := rightsize.Task{ID: fmt.Sprintf("t%02d", i), Services: []string{"decode", "blur"}, Start: start, End: start.Add(3 * time.Second),
			Params: map[string]string{"width": strconv.Itoa(side), "height": strconv.Itoa(side), "bytes": strconv.Itoa(int(px / 3)), "format": "png"}}
		if err := st.WriteTask(ctx, task); err != nil {
			t.Fatal(err)
		}
		for k, svc := range task.Services {
			perPx := 4.0 * float64(k+1)
			at := start.Add(time.Duration(k) * time.Second)
			jitter := 1 + 0.01*float64(i%3-1)
			for _, s := range []rightsize.Sample{
				{Resource: rightsize.Memory, Value: 5 << 20, Time: at},
				{Resource: rightsize.CPU, Value: 0.9, Time: at.Add(100 * time.Millisecond)},
				{Resource: predict.PeakMemory, Value: (10<<20 + perPx*px) * jitter, Time: at.Add(time.Duration(px / 1e6 * float64(time.Second)))},
				{Resource: predict.MeanCPU, Value: 0.8 * jitter, Time: at.Add(time.Duration(px / 1e6 * float64(time.Second)))},
			} {
				s.Task, s.Service = task.ID, svc
				samples = append(samples, s)
			}
		}
	}
	if err := st.Write(ctx, rightsize.Batch{Samples: samples}); err != nil {
		t.Fatal(err)
	}
	return "sqlite:" + path
}

func TestProfileCommand(t *testing.T) {
	ctx := context.Background()
	dsn := profileStore(t)
	saved := filepath.Join(t.TempDir(), "model.json")
	args := []string{"-db", dsn, "-services", "decode,blur", "-param", "width=650", "-param", "height=650",
		"-param", "bytes=140000", "-param", "format=png", "-service", "blur"}
	var out, errOut bytes.Buffer
	if err := profileCommand(ctx, &out, &errOut, append(args, "-save", saved)); err != nil {
		t.Fatal(err, errOut.String())
	}
	yaml := out.String()
	t.Logf("\n%s", yaml)
	// blur of 650x650: 10 MiB + 8 × 422500 bytes = 13.2 MiB, so a request
	// of 14Mi rounded up, and a limit at least as high.
	for _, want := range []string{"# blur at position 1 of decode → blur", "resources:", "requests:", "limits:", "memory: 14Mi", "cpu: 8"} {
		if !strings.Contains(yaml, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(yaml, "# decode") {
		t.Error("-service blur printed decode too")
	}
	// The saved model answers the same without the store.
	out.Reset()
	if err := profileCommand(ctx, &out, &errOut, append(args, "-db", "sqlite:/nonexistent/dir/x.db", "-model", saved)); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); !strings.Contains(got, "memory: 14Mi") {
		t.Errorf("loaded model said:\n%s", got)
	}
	for _, format := range []string{"json", "table"} {
		out.Reset()
		if err := profileCommand(ctx, &out, &errOut, []string{"-model", saved, "-services", "decode,blur",
			"-param", "width=650", "-param", "height=650", "-param", "bytes=140000", "-param", "format=png", "-o", format}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "decode") || !strings.Contains(out.String(), "blur") {
			t.Errorf("-o %s:\n%s", format, out.String())
		}
	}
	if err := profileCommand(ctx, io.Discard, io.Discard, []string{"-h"}); err != nil {
		t.Errorf("-h: %v", err)
	}
	for _, bad := range [][]string{
		{"-db", dsn}, // no services
		{"-db", dsn, "-services", "decode", "-service", "x"}, // service not in the task
		{"-db", dsn, "-services", "decode", "-o", "xml"},
		{"-db", dsn, "-services", "decode", "-param", "width"},
		{"-db", dsn, "-services", "decode,sharpen", "-param", "width=1", "-param", "height=1", "-param", "bytes=1", "-param", "format=png"},
		{"-db", "sqlite:" + filepath.Join(t.TempDir(), "empty.db"), "-services", "decode"},
	} {
		if err := profileCommand(ctx, &out, &errOut, bad); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}
