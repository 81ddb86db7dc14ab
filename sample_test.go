package rightsize_test

import (
	"errors"
	"fmt"
	"math"
	"slices"
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
		{"invalid UTF-8", func(s *rightsize.Sample) { s.Service = "img\xff\xfe resize" }, "Service", "not valid UTF-8"},
		{"year 1", func(s *rightsize.Sample) { s.Time = time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC) }, "Time", "outside the years 1678 to 2262"},
		{"year 9999", func(s *rightsize.Sample) { s.Time = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC) }, "Time", "outside"},
		{"year 2300", func(s *rightsize.Sample) { s.Time = time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC) }, "Time", "outside"},
		{"legacy max timestamp", func(s *rightsize.Sample) { s.Time = time.UnixMilli(253402300799000) }, "Time", "outside"},
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

func TestTimeRange(t *testing.T) {
	for _, tm := range []time.Time{rightsize.EarliestTime(), rightsize.LatestTime()} {
		s := rightsize.Sample{Service: "a", Resource: "cpu", Time: tm}
		if err := s.Validate(); err != nil {
			t.Errorf("bound %s rejected: %v", tm, err)
		}
		// Every valid time survives the stores' int64 nanoseconds.
		if back := time.Unix(0, tm.UnixNano()).UTC(); !back.Equal(tm) {
			t.Errorf("bound %s does not round-trip through UnixNano: %s", tm, back)
		}
	}
	for _, tm := range []time.Time{rightsize.EarliestTime().Add(-time.Microsecond), rightsize.LatestTime().Add(time.Microsecond)} {
		s := rightsize.Sample{Service: "a", Resource: "cpu", Time: tm}
		if err := s.Validate(); err == nil {
			t.Errorf("%s just outside the range accepted", tm)
		}
	}
}

func TestTimeOfDay(t *testing.T) {
	day := func(h, m int) time.Time { return time.Date(2026, 3, 1, h, m, 0, 0, time.UTC) }
	work := rightsize.TimeOfDay{From: 9 * time.Hour, To: 17 * time.Hour}
	night := rightsize.TimeOfDay{From: 22 * time.Hour, To: 2 * time.Hour}
	for _, c := range []struct {
		w    rightsize.TimeOfDay
		t    time.Time
		want bool
	}{
		{work, day(9, 0), true}, {work, day(16, 59), true}, {work, day(17, 0), false}, {work, day(8, 59), false},
		{night, day(23, 0), true}, {night, day(1, 59), true}, {night, day(2, 0), false}, {night, day(12, 0), false},
	} {
		if got := c.w.Contains(c.t); got != c.want {
			t.Errorf("%v-%v contains %s = %v, want %v", c.w.From, c.w.To, c.t.Format("15:04"), got, c.want)
		}
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	local := rightsize.TimeOfDay{From: 9 * time.Hour, To: 10 * time.Hour, Location: berlin}
	if !local.Contains(day(8, 30)) { // 09:30 in Berlin in March (UTC+1)
		t.Error("08:30 UTC is 09:30 in Berlin: not in 09:00-10:00 Berlin")
	}
	for _, bad := range []rightsize.TimeOfDay{{From: time.Hour, To: time.Hour}, {From: -time.Hour, To: time.Hour}, {From: 0, To: 25 * time.Hour}} {
		f := rightsize.Filter{Services: []string{"a"}, Daily: &bad}
		if err := f.Validate(); err == nil {
			t.Errorf("window %v-%v accepted", bad.From, bad.To)
		}
	}
}

func TestTaskValidate(t *testing.T) {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	good := rightsize.Task{ID: "img-7", Params: map[string]string{"width": "1920", "format": "png"}, Services: []string{"resize", "blur"}, Start: start}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	if w, ok := good.Float("width"); !ok || w != 1920 {
		t.Errorf("Float(width) = %v, %v", w, ok)
	}
	if _, ok := good.Float("format"); ok {
		t.Error("Float(format) is a number")
	}
	for name, mutate := range map[string]func(*rightsize.Task){
		"no ID":         func(t *rightsize.Task) { t.ID = "" },
		"empty service": func(t *rightsize.Task) { t.Services = []string{"a", ""} },
		"no start":      func(t *rightsize.Task) { t.Start = time.Time{} },
		"end before":    func(t *rightsize.Task) { t.End = start.Add(-time.Second) },
		"bad param":     func(t *rightsize.Task) { t.Params = map[string]string{"": "1"} },
		"control char":  func(t *rightsize.Task) { t.ID = "a\nb" },
	} {
		task := good
		mutate(&task)
		if err := task.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestPermanent(t *testing.T) {
	base := errors.New("value out of range")
	err := fmt.Errorf("store: copy: %w", rightsize.Permanent(base))
	if !rightsize.IsPermanent(err) || !errors.Is(err, base) {
		t.Errorf("%v: IsPermanent %v, Is(base) %v", err, rightsize.IsPermanent(err), errors.Is(err, base))
	}
	if rightsize.IsPermanent(base) || rightsize.Permanent(nil) != nil {
		t.Error("an unmarked error is permanent, or Permanent(nil) is not nil")
	}
}

// TestValidatorAgreesWithValidate runs Validate's table through one
// Validator, good and bad samples interleaved, so that its caches are
// exercised: it must answer exactly as Validate does.
func TestValidatorAgreesWithValidate(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	good := rightsize.Sample{Task: "img-1", Service: "resize", Instance: "node-1", Resource: rightsize.CPU, Value: 0.5, Time: now}
	var stream []rightsize.Sample
	for _, mutate := range []func(*rightsize.Sample){
		func(s *rightsize.Sample) {},
		func(s *rightsize.Sample) { s.Resource = rightsize.Memory; s.Value = 1 << 20 },
		func(s *rightsize.Sample) { s.Service = "" },
		func(s *rightsize.Sample) {},
		func(s *rightsize.Sample) { s.Service = "a\nb" },
		func(s *rightsize.Sample) { s.Task = "img\xff" },
		func(s *rightsize.Sample) { s.Value = math.NaN() },
		func(s *rightsize.Sample) {},
		func(s *rightsize.Sample) { s.Value = -1 },
		func(s *rightsize.Sample) { s.Resource = "CPU" },
		func(s *rightsize.Sample) { s.Time = time.Time{} },
		func(s *rightsize.Sample) { s.Time = time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC) },
		func(s *rightsize.Sample) { s.Instance = "node-2" },
		func(s *rightsize.Sample) { s.Instance = "node-2"; s.Value = math.Inf(1) },
		func(s *rightsize.Sample) {},
	} {
		s := good
		mutate(&s)
		stream = append(stream, s)
	}
	var v rightsize.Validator
	for i, s := range stream {
		want, got := s.Validate(), v.Validate(s)
		if (want == nil) != (got == nil) || (want != nil && want.Error() != got.Error()) {
			t.Errorf("sample %d %+v: Validate %v, Validator %v", i, s, want, got)
		}
	}
}

func TestSeriesBuilder(t *testing.T) {
	at := func(s int) time.Time { return time.Unix(int64(s), 0) }
	var b rightsize.SeriesBuilder
	for _, s := range []rightsize.Sample{
		{Service: "b", Resource: "cpu", Value: 2, Time: at(2)},
		{Service: "a", Resource: "memory", Value: 1, Time: at(1)},
		{Service: "b", Resource: "cpu", Value: 1, Time: at(1)},
		{Service: "a", Resource: "cpu", Value: 3, Time: at(3)},
		{Service: "b", Resource: "cpu", Value: 5, Time: at(1)}, // same time: kept after the first
	} {
		b.Add(s)
	}
	got := b.Series()
	want := []string{"a/cpu [3]", "a/memory [1]", "b/cpu [1 5 2]"}
	if len(got) != len(want) {
		t.Fatalf("%d series, want %d", len(got), len(want))
	}
	for i, s := range got {
		if g := fmt.Sprintf("%s/%s %v", s.Service, s.Resource, s.Values); g != want[i] {
			t.Errorf("series %d: %s, want %s", i, g, want[i])
		}
		if !slices.IsSortedFunc(s.Times, time.Time.Compare) {
			t.Errorf("series %d not in time order", i)
		}
	}
}
