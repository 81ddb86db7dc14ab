package backtest

import (
	"bufio"
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rightsize/rightsize"
)

// ReadCSV reads a long-format CSV — a header naming the columns task_id,
// service, resource, value and timestamp (RFC 3339), in any order, with
// an optional instance column — into one series per (task, service,
// instance, resource), each in time order, the series sorted by service,
// resource, task and instance. Gzip-compressed input is recognised by its
// first bytes and read directly. Every row is checked with
// rightsize.Sample.Validate; an error names the line.
//
// It holds the whole history in memory (24 bytes a sample beyond the
// values): what a backtest needs.
func ReadCSV(r io.Reader) ([]rightsize.Series, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("backtest: csv: %w", err)
		}
		defer zr.Close()
		br = bufio.NewReaderSize(zr, 1<<16)
	}
	cr := csv.NewReader(br)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, errors.New("backtest: csv: empty input, no header")
	}
	if err != nil {
		return nil, fmt.Errorf("backtest: csv: header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))] = i
	}
	need := []string{"task_id", "service", "resource", "value", "timestamp"}
	for _, n := range need {
		if _, ok := col[n]; !ok {
			return nil, fmt.Errorf("backtest: csv: header %q lacks column %q (want task_id,service,resource,value,timestamp[,instance])", strings.Join(header, ","), n)
		}
	}
	inst, hasInst := col["instance"]
	idx := map[Labels]int{}
	var out []rightsize.Series
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("backtest: csv: line %d: %w", line, err)
		}
		s := rightsize.Sample{Task: rec[col["task_id"]], Service: rec[col["service"]], Resource: rec[col["resource"]]}
		if hasInst {
			s.Instance = rec[inst]
		}
		if s.Value, err = strconv.ParseFloat(rec[col["value"]], 64); err != nil {
			return nil, fmt.Errorf("backtest: csv: line %d: value %q is not a number", line, rec[col["value"]])
		}
		if s.Time, err = time.Parse(time.RFC3339Nano, rec[col["timestamp"]]); err != nil {
			return nil, fmt.Errorf("backtest: csv: line %d: timestamp %q is not RFC 3339", line, rec[col["timestamp"]])
		}
		if err := s.Validate(); err != nil {
			return nil, fmt.Errorf("backtest: csv: line %d: %w", line, err)
		}
		k := Labels{s.Task, s.Service, s.Instance, s.Resource}
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			// Labels are copied: ReuseRecord reuses the backing array.
			out = append(out, rightsize.Series{Task: strings.Clone(s.Task), Service: strings.Clone(s.Service),
				Instance: strings.Clone(s.Instance), Resource: strings.Clone(s.Resource)})
		}
		out[i].Times = append(out[i].Times, s.Time)
		out[i].Values = append(out[i].Values, s.Value)
	}
	for i := range out {
		sortSeries(&out[i])
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Service != b.Service {
			return a.Service < b.Service
		}
		if a.Resource != b.Resource {
			return a.Resource < b.Resource
		}
		if a.Task != b.Task {
			return a.Task < b.Task
		}
		return a.Instance < b.Instance
	})
	return out, nil
}

// ReadCSVFile reads the named file with ReadCSV.
func ReadCSVFile(path string) ([]rightsize.Series, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("backtest: %w", err)
	}
	defer f.Close()
	return ReadCSV(f)
}

// sortSeries puts a series in time order (stable: equal times keep the
// file's order), if it is not already.
func sortSeries(s *rightsize.Series) {
	if sort.SliceIsSorted(s.Times, func(i, j int) bool { return s.Times[i].Before(s.Times[j]) }) {
		return
	}
	idx := make([]int, len(s.Times))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool { return s.Times[idx[i]].Before(s.Times[idx[j]]) })
	ts := make([]time.Time, len(idx))
	vs := make([]float64, len(idx))
	for i, j := range idx {
		ts[i], vs[i] = s.Times[j], s.Values[j]
	}
	s.Times, s.Values = ts, vs
}
