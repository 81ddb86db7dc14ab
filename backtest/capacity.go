package backtest

import (
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rightsize/rightsize"
)

// Allocation is what operators actually allocated, per service and
// resource: a constant level to score beside the methods.
type Allocation map[string]map[string]float64

// ReadAllocation reads a capacity file: a CSV with a header, a service
// column, and one column per resource whose name says which: a column
// named cpu_cores_provisioned_max (or cpu) gives cpu in cores, one named
// memory_provisioned_bytes_max (or memory) gives memory in bytes. Other
// columns are ignored. The shared Bitbrains trace's capacity file has
// this form.
func ReadAllocation(r io.Reader) (Allocation, error) {
	cr := csv.NewReader(r)
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("backtest: capacity: header: %w", err)
	}
	svc := -1
	cols := map[int]string{}
	for i, h := range header {
		switch strings.TrimSpace(h) {
		case "service":
			svc = i
		case "cpu_cores_provisioned_max", rightsize.CPU:
			cols[i] = rightsize.CPU
		case "memory_provisioned_bytes_max", rightsize.Memory:
			cols[i] = rightsize.Memory
		}
	}
	if svc < 0 || len(cols) == 0 {
		return nil, fmt.Errorf("backtest: capacity: header %q needs a service column and a cpu or memory column", strings.Join(header, ","))
	}
	a := Allocation{}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return a, nil
		}
		if err != nil {
			return nil, fmt.Errorf("backtest: capacity: line %d: %w", line, err)
		}
		for i, res := range cols {
			v, err := strconv.ParseFloat(rec[i], 64)
			if err != nil || v < 0 {
				return nil, fmt.Errorf("backtest: capacity: line %d: %s %q is not a number", line, header[i], rec[i])
			}
			if a[rec[svc]] == nil {
				a[rec[svc]] = map[string]float64{}
			}
			a[rec[svc]][res] = v
		}
	}
}

// ReadAllocationFile reads the named file with ReadAllocation.
func ReadAllocationFile(path string) (Allocation, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("backtest: %w", err)
	}
	defer f.Close()
	return ReadAllocation(f)
}

// Name returns "allocated".
func (a Allocation) Name() string { return "allocated" }

// New returns a model that always says the allocated level; ErrSkip for
// a series the allocation does not cover.
func (a Allocation) New(l Labels) (Model, error) {
	v, ok := a[l.Service][l.Resource]
	if !ok {
		return nil, fmt.Errorf("%w: no allocation of %s for %s", ErrSkip, l.Resource, l.Service)
	}
	return constant(v), nil
}

type constant float64

func (constant) Observe([]time.Time, []float64) {}
func (c constant) Forecast(time.Time, time.Duration) Forecast {
	return Forecast{Level: float64(c), Point: nanPoint}
}
