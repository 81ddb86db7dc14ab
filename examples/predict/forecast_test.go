package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/store"
	"github.com/rightsize/rightsize/store/longcsv"
)

// historyCSV writes three days of 5-minute samples of two services, cpu
// and memory, as long-format CSV, and returns its path.
func historyCSV(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "history.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := longcsv.NewWriter(f, false)
	t0 := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	for i := range 3 * 288 {
		at := t0.Add(time.Duration(i) * 5 * time.Minute)
		day := math.Sin(2 * math.Pi * float64(i) / 288)
		for _, s := range []rightsize.Sample{
			{Service: "web", Resource: rightsize.CPU, Value: 0.5 + 0.2*day},
			{Service: "web", Resource: rightsize.Memory, Value: 512<<20 + 64<<20*day},
			{Service: "db", Resource: rightsize.CPU, Value: 2},
			{Service: "db", Resource: rightsize.Memory, Value: 4 << 30},
		} {
			s.Task, s.Time = s.Service, at
			if err := w.Write(s); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestEvalCommand(t *testing.T) {
	ctx := context.Background()
	path := historyCSV(t)
	var out, errOut bytes.Buffer
	if err := evalCommand(ctx, &out, &errOut, []string{"-csv", path, "-step", "1h"}); err != nil {
		t.Fatal(err, errOut.String())
	}
	for _, want := range []string{"UNDER %", "selector", "holt-winters", "linear-trend", "max 1h × 1.15", "vpa", "MAE"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if err := evalCommand(ctx, &out, &errOut, []string{"-csv", path, "-models", "selector,last-value", "-vpa=false", "-o", "csv"}); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+2*2 || rows[0][0] != "method" || rows[1][0] != "selector" {
		t.Errorf("csv: %v", rows)
	}
	out.Reset()
	if err := evalCommand(ctx, &out, &errOut, []string{"-csv", path, "-models", "selector", "-o", "json", "-per-series"}); err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Step   string            `json:"step"`
		Rows   []json.RawMessage `json:"rows"`
		Series []json.RawMessage `json:"series"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || rep.Step != "1h0m0s" || len(rep.Rows) != 4 || len(rep.Series) != 8 {
		t.Errorf("json: %v %+v", err, rep)
	}
	for _, bad := range [][]string{{}, {"-csv", path, "-o", "xml"}, {"-csv", path, "-models", "oracle"}, {"-csv", "/nonexistent.csv"}} {
		if err := evalCommand(ctx, &out, &errOut, bad); err == nil {
			t.Errorf("eval %v: no error", bad)
		}
	}
}

func TestFitAndForecastCommands(t *testing.T) {
	ctx := context.Background()
	path := historyCSV(t)
	model := filepath.Join(t.TempDir(), "model.rsf")
	var out, errOut bytes.Buffer
	if err := fitCommand(ctx, &out, &errOut, []string{"-csv", path, "-save", model}); err != nil {
		t.Fatal(err, errOut.String())
	}
	if !strings.Contains(out.String(), "4 series, 3456 samples") {
		t.Errorf("fit: %s", out.String())
	}
	out.Reset()
	if err := forecastCommand(ctx, &out, &errOut, []string{"-model", model, "-service", "db"}); err != nil {
		t.Fatal(err)
	}
	// db holds 2 cores and 4 GiB, exactly: the request is what it uses.
	for _, want := range []string{"resources:", "requests:\n    cpu: 2\n    memory: 4Gi\n", "limits:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("yaml lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if err := forecastCommand(ctx, &out, &errOut, []string{"-model", model, "-o", "json"}); err != nil {
		t.Fatal(err)
	}
	var preds []struct {
		Service    string `json:"service"`
		Kubernetes struct {
			Requests map[string]string `json:"requests"`
			Limits   map[string]string `json:"limits"`
		} `json:"kubernetes"`
		Resources []struct {
			Resource     string
			Point, Upper float64
		} `json:"resources"`
	}
	if err := json.Unmarshal(out.Bytes(), &preds); err != nil || len(preds) != 2 {
		t.Fatalf("json: %v\n%s", err, out.String())
	}
	for _, p := range preds {
		if p.Kubernetes.Requests["cpu"] == "" || p.Kubernetes.Limits["memory"] == "" || len(p.Resources) != 2 {
			t.Errorf("%s: %+v", p.Service, p)
		}
		for _, r := range p.Resources {
			if !(r.Upper >= r.Point && r.Point > 0) {
				t.Errorf("%s %s: point %v upper %v", p.Service, r.Resource, r.Point, r.Upper)
			}
		}
	}
	// Training on a store, straight into a forecast.
	dbPath := filepath.Join(t.TempDir(), "history.db")
	st, err := store.OpenSQLite(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(path)
	r, err := longcsv.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := longcsv.Import(ctx, st, r, longcsv.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	st.Close()
	out.Reset()
	if err := forecastCommand(ctx, &out, &errOut, []string{"-db", "sqlite:" + dbPath, "-kind", "holt-winters", "-service", "web", "-o", "table"}); err != nil {
		t.Fatal(err, errOut.String())
	}
	if !strings.Contains(out.String(), "holt-winters") || !strings.Contains(out.String(), "web") {
		t.Errorf("table:\n%s", out.String())
	}
	for _, bad := range [][]string{
		{"-model", model, "-service", "nobody"},
		{"-model", "/nonexistent"},
		{"-model", model, "-o", "xml"},
		{"-model", model, "-from", "yesterday"},
		{"-csv", path, "-kind", "crystal-ball"},
		{"-db", "sqlite:" + filepath.Join(t.TempDir(), "empty.db")},
	} {
		if err := forecastCommand(ctx, &out, &errOut, bad); err == nil {
			t.Errorf("forecast %v: no error", bad)
		}
	}
	if err := fitCommand(ctx, &out, &errOut, []string{"-csv", path}); err == nil {
		t.Error("fit without -save: no error")
	}
}
