package rightsize_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/rightsize/rightsize"
)

func TestSampleValidate(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	good := rightsize.Sample{Task: "img-1", Service: "resize", Instance: "node-1", Resource: rightsize.CPU, Value: 0.5, Time: now}
	if err := good.Validate(); err != nil {
		t.Fatalf("valid sample rejected: %v", err)
	}
	for _, name := range []string{"nvidia.com/gpu", "ephemeral-storage", "queue.depth", "a", "x_1"} {
		s := good
		s.Resource = name
		if err := s.Validate(); err != nil {
			t.Errorf("custom resource %q rejected: %v", name, err)
		}
	}
	zeroOK := good
	zeroOK.Value = 0
	if err := zeroOK.Validate(); err != nil {
		t.Errorf("zero value rejected: %v", err)
	}

	cases := []struct {
		name   string
		mutate func(*rightsize.Sample)
		field  string
		want   string
	}{
		{"empty service", func(s *rightsize.Sample) { s.Service = "" }, "Service", "is empty"},
		{"control char", func(s *rightsize.Sample) { s.Service = "a\nb" }, "Service", "control character"},
		{"long task", func(s *rightsize.Sample) { s.Task = strings.Repeat("t", 300) }, "Task", "300 bytes"},
		{"NaN", func(s *rightsize.Sample) { s.Value = math.NaN() }, "Value", "NaN"},
		{"+Inf", func(s *rightsize.Sample) { s.Value = math.Inf(1) }, "Value", "infinite"},
		{"-Inf", func(s *rightsize.Sample) { s.Value = math.Inf(-1) }, "Value", "infinite"},
		{"negative", func(s *rightsize.Sample) { s.Value = -0.1 }, "Value", "negative"},
		{"zero time", func(s *rightsize.Sample) { s.Time = time.Time{} }, "Time", "zero"},
		{"empty resource", func(s *rightsize.Sample) { s.Resource = "" }, "Resource", "empty"},
		{"upper case", func(s *rightsize.Sample) { s.Resource = "CPU" }, "Resource", "'C'"},
		{"space", func(s *rightsize.Sample) { s.Resource = "cpu " }, "Resource", "' '"},
		{"leading dot", func(s *rightsize.Sample) { s.Resource = ".cpu" }, "Resource", "start and end"},
		{"trailing slash", func(s *rightsize.Sample) { s.Resource = "gpu/" }, "Resource", "start and end"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := good
			c.mutate(&s)
			err := s.Validate()
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, rightsize.ErrInvalidSample) {
				t.Errorf("error %v does not match ErrInvalidSample", err)
			}
			var se *rightsize.SampleError
			if !errors.As(err, &se) || se.Field != c.field {
				t.Errorf("error %v: want field %s", err, c.field)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not say %q", err, c.want)
			}
		})
	}
}

func TestUnitOf(t *testing.T) {
	for r, u := range map[string]rightsize.Unit{
		rightsize.CPU: rightsize.Cores, rightsize.Memory: rightsize.Bytes, rightsize.DiskWrite: rightsize.BytesPerSecond,
		rightsize.Threads: rightsize.Count, rightsize.CPUPercent: rightsize.Percent, "queue.depth": rightsize.Unknown,
	} {
		if got := rightsize.UnitOf(r); got != u {
			t.Errorf("UnitOf(%s) = %q, want %q", r, got, u)
		}
	}
	for legacy, want := range map[string]string{"CPU": "cpu.percent", "RAM": "memory.percent", "DISK": "disk.percent"} {
		if got, ok := rightsize.LegacyResource(legacy); !ok || got != want {
			t.Errorf("LegacyResource(%s) = %s, %v", legacy, got, ok)
		}
	}
	if _, ok := rightsize.LegacyResource("GPU"); ok {
		t.Error("LegacyResource accepted GPU")
	}
}

func TestBatchParts(t *testing.T) {
	now := time.Now()
	s := func(v float64) rightsize.Sample {
		return rightsize.Sample{Service: "a", Resource: "cpu", Value: v, Time: now}
	}
	b := rightsize.Batch{
		Samples: []rightsize.Sample{s(1), s(2), s(3)},
		Ranges: []rightsize.OffsetRange{
			{Topic: "t", Partition: 0, From: 0, To: 2, Samples: 2},
			{Topic: "t", Partition: 1, From: 5, To: 6, Samples: 0},
			{Topic: "t", Partition: 2, From: 7, To: 8, Samples: 1},
		},
	}
	var got []float64
	var parts int
	if err := b.Parts(func(r rightsize.OffsetRange, ss []rightsize.Sample) error {
		parts++
		if len(ss) != r.Samples {
			t.Errorf("range %s: %d samples", r, len(ss))
		}
		for _, x := range ss {
			got = append(got, x.Value)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if parts != 3 || len(got) != 3 || got[0] != 1 || got[2] != 3 {
		t.Fatalf("parts=%d values=%v", parts, got)
	}
	b.Ranges[2].Samples = 2
	if err := b.Parts(func(rightsize.OffsetRange, []rightsize.Sample) error { return nil }); err == nil {
		t.Error("inconsistent batch accepted")
	}
}
