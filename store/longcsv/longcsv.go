// Package longcsv reads and writes samples as long-format CSV, one sample
// a line, the shape the shared traces, the seed's database dumps and
// spreadsheets use:
//
//	task_id,service,resource,value,timestamp[,instance]
//	vm001,vm001,cpu,0.03,2013-06-30T22:03:24Z
//
// The header is required; its columns may come in any order, instance is
// optional, any other column is refused. A gzip stream (.csv.gz) is
// recognised by its first bytes and read directly. Timestamps are RFC 3339
// (2013-06-30T22:03:24Z, with any offset and fraction), PostgreSQL's text
// form (2013-06-30 22:03:24+00) or Unix seconds (1372629804.5). Values are
// in the resource's base unit. The seed's upper-case resource names (CPU,
// RAM, DISK: host-wide percentages) become cpu.percent, memory.percent and
// disk.percent, as the consumer maps them.
//
// [Reader] is a pull iterator (Next, Sample, Err) that never holds more
// than a line; [ReadSeries] collects a whole file into column-shaped
// series for training and backtests; [Import] writes a file into a store
// in batches; [Writer] writes samples in the same format.
package longcsv

import (
	"bufio"
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rightsize/rightsize"
)

// Columns are the long format's columns, in the order Writer writes them
// (instance only when asked for).
var Columns = []string{"task_id", "service", "resource", "value", "timestamp", "instance"}

// ErrMalformed is matched by every *LineError.
var ErrMalformed = errors.New("longcsv: malformed line")

// LineError says which line of the input is malformed and why. Line
// counts from 1, the header included.
type LineError struct {
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }

// Unwrap makes errors.Is(err, ErrMalformed) true, and the cause
// reachable.
func (e *LineError) Unwrap() []error { return []error{ErrMalformed, e.Err} }

// Reader reads samples from long-format CSV, a line at a time.
type Reader struct {
	csv     *csv.Reader
	col     [6]int // index of each of Columns in a record; -1 when absent
	ncol    int
	line    int
	cur     rightsize.Sample
	err     error
	skipBad bool
	skipped int
	lastBad error
}

// NewReader reads the header from r (decompressing it if it is gzip) and
// returns a Reader of the lines after it.
func NewReader(r io.Reader) (*Reader, error) {
	br := bufio.NewReaderSize(r, 256<<10)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("longcsv: gzip: %w", err)
		}
		r = zr
	} else {
		r = br
	}
	c := csv.NewReader(r)
	c.ReuseRecord = true
	c.FieldsPerRecord = -1
	header, err := c.Read()
	if err == io.EOF {
		return nil, errors.New("longcsv: the input is empty: want a header line " + strings.Join(Columns[:5], ","))
	}
	if err != nil {
		return nil, &LineError{1, err}
	}
	lr := &Reader{csv: c, line: 1, ncol: len(header)}
	for i := range lr.col {
		lr.col[i] = -1
	}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		j := slices.Index(Columns, h)
		switch {
		case j < 0:
			return nil, &LineError{1, fmt.Errorf("unknown column %q: the header must name %s (and optionally instance)", h, strings.Join(Columns[:5], ", "))}
		case lr.col[j] >= 0:
			return nil, &LineError{1, fmt.Errorf("column %q appears twice", h)}
		}
		lr.col[j] = i
	}
	for j, name := range Columns[:5] {
		if lr.col[j] < 0 {
			return nil, &LineError{1, fmt.Errorf("the header has no %q column: want %s (and optionally instance)", name, strings.Join(Columns[:5], ","))}
		}
	}
	return lr, nil
}

// SkipBad makes Next skip malformed lines instead of stopping at the
// first; Skipped counts them and LastSkipped returns the last one's
// error.
func (r *Reader) SkipBad(skip bool) { r.skipBad = skip }

// Skipped returns how many malformed lines were skipped.
func (r *Reader) Skipped() int { return r.skipped }

// LastSkipped returns the *LineError of the last line skipped, or nil.
func (r *Reader) LastSkipped() error { return r.lastBad }

// Next reads the next sample and reports whether there is one. It
// returns false at the end of the input or at the first malformed line
// (see Err), unless SkipBad is set.
func (r *Reader) Next() bool {
	for r.err == nil {
		rec, err := r.csv.Read()
		r.line++
		if err == io.EOF {
			return false
		}
		if err == nil {
			err = r.parse(rec)
		}
		if err == nil {
			return true
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			err = pe.Err
			r.line = pe.Line
		}
		le := &LineError{r.line, err}
		if !r.skipBad {
			r.err = le
			return false
		}
		r.skipped++
		r.lastBad = le
	}
	return false
}

func (r *Reader) parse(rec []string) error {
	if len(rec) != r.ncol {
		return fmt.Errorf("%d fields, the header has %d", len(rec), r.ncol)
	}
	get := func(j int) string {
		if r.col[j] < 0 {
			return ""
		}
		return rec[r.col[j]]
	}
	s := rightsize.Sample{Task: get(0), Service: get(1), Resource: get(2), Instance: get(5)}
	if err := rightsize.ValidResourceName(s.Resource); err != nil {
		if legacy, ok := rightsize.LegacyResource(s.Resource); ok {
			s.Resource = legacy
		}
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(get(3)), 64)
	if err != nil {
		return fmt.Errorf("value %q is not a number", clip(get(3)))
	}
	s.Value = v
	if s.Time, err = ParseTime(get(4)); err != nil {
		return err
	}
	if err := s.Validate(); err != nil {
		return err
	}
	r.cur = s
	return nil
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// ParseTime parses a timestamp of the long format: RFC 3339, PostgreSQL's
// text form, or Unix seconds.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range [...]string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999Z07"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) && math.Abs(f) < 9e9 {
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("timestamp %q: want RFC 3339 (2013-06-30T22:03:24Z) or Unix seconds", clip(s))
}

// Sample returns the sample Next read.
func (r *Reader) Sample() rightsize.Sample { return r.cur }

// Line returns the line number of the sample Next read.
func (r *Reader) Line() int { return r.line }

// Err returns the *LineError that stopped Next, or nil at the end of the
// input.
func (r *Reader) Err() error { return r.err }

// ReadSeries reads every sample of r and returns them as series, one per
// (task, service, instance, resource), ordered by service, resource,
// task, instance, each in time order (stable: lines of equal time keep
// their order). It stops at the first malformed line.
func ReadSeries(r io.Reader) ([]rightsize.Series, error) {
	lr, err := NewReader(r)
	if err != nil {
		return nil, err
	}
	var b rightsize.SeriesBuilder
	for lr.Next() {
		b.Add(lr.Sample())
	}
	if err := lr.Err(); err != nil {
		return nil, err
	}
	return b.Series(), nil
}

// Writer writes samples as long-format CSV, times in RFC 3339 UTC with
// as many fraction digits as they need, values in the shortest form that
// reads back exactly.
type Writer struct {
	w        *csv.Writer
	instance bool
	rec      []string
	header   bool
}

// NewWriter returns a Writer to w; withInstance adds the instance column.
func NewWriter(w io.Writer, withInstance bool) *Writer {
	n := 5
	if withInstance {
		n = 6
	}
	return &Writer{w: csv.NewWriter(w), instance: withInstance, rec: make([]string, n)}
}

// Write writes s, after the header if it is the first.
func (w *Writer) Write(s rightsize.Sample) error {
	if !w.header {
		w.header = true
		if err := w.w.Write(Columns[:len(w.rec)]); err != nil {
			return err
		}
	}
	w.rec[0], w.rec[1], w.rec[2] = s.Task, s.Service, s.Resource
	w.rec[3] = formatValue(s.Value)
	w.rec[4] = s.Time.UTC().Format(time.RFC3339Nano)
	if w.instance {
		w.rec[5] = s.Instance
	}
	return w.w.Write(w.rec)
}

// formatValue writes v exactly, in plain decimals where that is short
// (1048576, 0.25), with an exponent where it is not (5e-324).
func formatValue(v float64) string {
	if a := math.Abs(v); a == 0 || a >= 1e-6 && a < 1e21 {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// Flush writes the header if nothing was written yet, then any buffered
// data, and returns the first error writing met.
func (w *Writer) Flush() error {
	if !w.header {
		w.header = true
		if err := w.w.Write(Columns[:len(w.rec)]); err != nil {
			return err
		}
	}
	w.w.Flush()
	return w.w.Error()
}
