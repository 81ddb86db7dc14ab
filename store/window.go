package store

import (
	"math"
	"time"

	"github.com/rightsize/rightsize"
)

// window is the time part of a filter, in Unix microseconds: which values
// a read keeps, and which stored buckets it can answer from their rollups
// alone.
type window struct {
	from, to int64 // [from, to)
	daily    *rightsize.TimeOfDay
	loc      *time.Location
	step     int64 // Aggregation.Step in microseconds; 0 for none
}

func newWindow(f rightsize.Filter, step time.Duration) window {
	w := window{from: minTime.UnixMicro(), to: maxTime.UnixMicro() + 1, daily: f.Daily, step: step.Microseconds()}
	if !f.From.IsZero() {
		w.from = clampTime(f.From).Truncate(time.Microsecond).UnixMicro()
	}
	if !f.To.IsZero() {
		w.to = clampTime(f.To).Truncate(time.Microsecond).UnixMicro()
	}
	if w.daily != nil {
		w.loc = w.daily.Location
		if w.loc == nil {
			w.loc = time.UTC
		}
	}
	if step > 0 && w.step == 0 {
		w.step = 1
	}
	return w
}

// keep reports whether a value measured at t is in the window.
func (w *window) keep(t int64) bool {
	return t >= w.from && t < w.to && (w.daily == nil || w.daily.Contains(time.UnixMicro(t)))
}

// How a bucket relates to a window.
const (
	bucketOut     = iota // no value of it is kept
	bucketWhole          // every value is kept, all in one step: its rollup answers
	bucketPartial        // its raw values must be read and filtered
)

// class says how the bucket [b, b+width) relates to the window.
func (w *window) class(b, width int64) int {
	e := b + width
	if e <= w.from || b >= w.to {
		return bucketOut
	}
	c := bucketWhole
	if b < w.from || e > w.to {
		c = bucketPartial
	}
	if w.step > 0 && floorDiv(b, w.step) != floorDiv(e-1, w.step) {
		c = bucketPartial
	}
	if w.daily != nil {
		switch w.dailyClass(b, e) {
		case bucketOut:
			return bucketOut
		case bucketPartial:
			c = bucketPartial
		}
	}
	return c
}

// dailyClass says how [b, e) relates to the daily window alone: the
// window's membership can change only at a local midnight or at midnight
// plus From or To, so if none of those falls inside (b, e) the whole
// interval is in or out as b is.
func (w *window) dailyClass(b, e int64) int {
	s := time.UnixMicro(b).In(w.loc)
	y, m, d := s.Date()
	next := int64(math.MaxInt64)
	for k := -1; k <= 1; k++ {
		mid := time.Date(y, m, d+k, 0, 0, 0, 0, w.loc)
		for _, off := range [...]time.Duration{0, w.daily.From, w.daily.To} {
			if t := mid.Add(off).UnixMicro(); t > b && t < next {
				next = t
			}
		}
	}
	if next < e {
		return bucketPartial
	}
	if w.daily.Contains(s) {
		return bucketWhole
	}
	return bucketOut
}

// bucketRange returns the range of bucket starts [lo, hi) a read of w
// must look at, for buckets of width.
func (w *window) bucketRange(width int64) (lo, hi int64) {
	return bucketOf(w.from, width), w.to
}
