// Package sketch summarises a set of values in a small, mergeable sketch
// that answers any quantile within a fixed relative error: DataDog's
// DDSketch (github.com/DataDog/sketches-go) with a logarithmic index
// mapping of [RelativeAccuracy] 1 % and a dense store, plus the exact
// minimum and maximum.
//
// A value v is counted in the bin of index ⌈log_γ v⌉, γ = (1+α)/(1−α), and
// read back as the bin's representative value, which is within α·v of v:
// every quantile the sketch returns is within 1 % (relative) of a value
// whose rank is the quantile's. Quantile follows the rank rule of gonum's
// stat.Quantile with stat.Empirical (the smallest value whose cumulative
// weight reaches q·n), so that the exact answer and the sketch's differ by
// the bin's rounding alone: |sketch − exact| ≤ 0.01·exact. Two things are
// exact on top of that: zeros (a bin of their own, and common: a series of
// mostly idle CPU is mostly exact zeros), and the extremes, because every
// answer is clamped to the exact [Min, Max] (so Quantile(0) and Quantile(1)
// are exact). Values of magnitude below 2.3e-308 (subnormals) count as
// zeros; values above 1.7e308 are binned as 1.7e308 (Max stays exact).
//
// Size and speed (BenchmarkAccuracyChoice, BENCHMARKS.md): a sketch
// holds one bin per 2 % step of value that occurs, so its size follows
// the spread of the values, not their number. An hour of 10 s readings
// (360 values) of a busy CPU spread over a decade encodes in 263 bytes at
// 1 % (452 at 0.5 %, 137 at 2 %), a working set of 2 GB ± 5 % in 29
// bytes, against 5.8 KB for the raw times and values; decoding and
// merging such an hour takes about a microsecond. 1 % is well inside
// what a recommendation needs (requests are rounded far more coarsely)
// while keeping the rollups a few percent of the raw data.
//
// Dependencies: sketches-go brings google.golang.org/protobuf with it
// (for its protobuf form, which rightsize does not use): 6 packages of
// sketches-go and 27 of protobuf join the build graph of this package and
// of those that import it (go list -deps ./store: 223 packages before the
// sketch, 263 after, the other 7 being this package and standard library
// ones).
package sketch

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/DataDog/sketches-go/ddsketch/mapping"
	"github.com/DataDog/sketches-go/ddsketch/store"

	"github.com/rightsize/rightsize"
)

// RelativeAccuracy is the sketch's relative error α: a quantile it
// returns is within α·x of a value x of the right rank.
const RelativeAccuracy = 0.01

// version is the first byte of an encoded sketch; a change of mapping or
// of accuracy is a new version.
const version = 1

var indexMapping = func() mapping.IndexMapping {
	m, err := mapping.NewLogarithmicMapping(RelativeAccuracy)
	if err != nil {
		panic("sketch: " + err.Error())
	}
	return m
}()

var maxIndexable = indexMapping.MaxIndexableValue()

// Sketch is a mergeable summary of a set of weighted values. The zero
// value is not usable: make one with [New] or [Decode]. A Sketch is not
// safe for concurrent use.
type Sketch struct {
	dd       *ddsketch.DDSketch
	min, max float64
	count    float64
}

// Sketch is what the read path returns as a rollup's distribution.
var _ rightsize.Distribution = (*Sketch)(nil)

// New returns an empty sketch.
func New() *Sketch {
	return &Sketch{
		dd:  ddsketch.NewDDSketch(indexMapping, store.NewDenseStore(), store.NewDenseStore()),
		min: math.Inf(1),
		max: math.Inf(-1),
	}
}

// Add adds v with weight 1. It panics if v is NaN.
func (s *Sketch) Add(v float64) { s.AddWeighted(v, 1) }

// AddWeighted adds v with weight w (a count; it need not be whole). It
// panics if v is NaN or w is negative or NaN; a zero weight adds nothing.
func (s *Sketch) AddWeighted(v, w float64) {
	switch {
	case math.IsNaN(v):
		panic("sketch: NaN value")
	case !(w >= 0):
		panic(fmt.Sprintf("sketch: weight %v is not a count", w))
	case w == 0:
		return
	}
	s.min, s.max = min(s.min, v), max(s.max, v)
	s.count += w
	b := max(min(v, maxIndexable), -maxIndexable)
	if err := s.dd.AddWithCount(b, w); err != nil {
		panic("sketch: " + err.Error()) // unreachable: v is bounded and w valid
	}
}

// Merge adds every value of o to s. o is unchanged.
func (s *Sketch) Merge(o *Sketch) {
	if o.count == 0 {
		return
	}
	if err := s.dd.MergeWith(o.dd); err != nil {
		panic("sketch: " + err.Error()) // unreachable: one mapping for all
	}
	s.min, s.max = min(s.min, o.min), max(s.max, o.max)
	s.count += o.count
}

// Count returns the total weight of the values added.
func (s *Sketch) Count() float64 { return s.count }

// Min returns the smallest value added, exactly; +Inf when empty.
func (s *Sketch) Min() float64 { return s.min }

// Max returns the largest value added, exactly; -Inf when empty.
func (s *Sketch) Max() float64 { return s.max }

// Reset empties s, keeping its memory.
func (s *Sketch) Reset() {
	s.dd.Clear()
	s.min, s.max, s.count = math.Inf(1), math.Inf(-1), 0
}

// Quantile returns the value at quantile q, in [0, 1]: the smallest value
// whose cumulative weight reaches q times the total (stat.Empirical's
// rule), within the relative error [RelativeAccuracy], clamped to [Min,
// Max]. The first value (q·n ≤ 1) and the last (q·n > n−1) are returned
// exactly, as the exact minimum and maximum. It returns NaN for an empty sketch and panics for q outside [0, 1].
func (s *Sketch) Quantile(q float64) float64 {
	if !(q >= 0 && q <= 1) {
		panic(fmt.Sprintf("sketch: quantile %v is not in [0, 1]", q))
	}
	if s.count == 0 {
		return math.NaN()
	}
	rank := q * s.count
	out := s.max
	var (
		cum, last float64
		found     bool
	)
	s.Bins(func(value, count float64) {
		last = count
		if found {
			return
		}
		if cum == 0 && rank <= min(1, count) {
			out, found = s.min, true // the first value
			return
		}
		cum += count
		if cum >= rank {
			out, found = value, true
		}
	})
	if rank > s.count-min(1, last) {
		return s.max // the last value
	}
	return min(max(out, s.min), s.max)
}

// Bins calls fn for each non-empty bin in increasing order of value, with
// the bin's representative value (within the relative error of every
// value in it; exactly 0 for the zeros) and its weight.
func (s *Sketch) Bins(fn func(value, count float64)) {
	if neg := s.dd.GetNegativeValueStore(); !neg.IsEmpty() {
		var idx []int
		var cnt []float64
		neg.ForEach(func(i int, c float64) bool { idx, cnt = append(idx, i), append(cnt, c); return false })
		for j := len(idx) - 1; j >= 0; j-- {
			fn(-indexMapping.Value(idx[j]), cnt[j])
		}
	}
	if z := s.dd.GetZeroCount(); z > 0 {
		fn(0, z)
	}
	s.dd.GetPositiveValueStore().ForEach(func(i int, c float64) bool {
		fn(indexMapping.Value(i), c)
		return false
	})
}

// ErrCorrupt is matched by the error Decode and MergeBinary return for
// bytes that are not an encoded sketch.
var ErrCorrupt = errors.New("sketch: not an encoded sketch")

// AppendBinary appends the encoded sketch to b: a version byte, then, for
// a sketch that is not empty, the total weight, the exact minimum and
// maximum (8 bytes each) and DDSketch's own encoding of the bins without
// its index mapping, which is fixed by the version.
func (s *Sketch) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, version)
	if s.count == 0 {
		return b, nil
	}
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(s.count))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(s.min))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(s.max))
	s.dd.Encode(&b, true)
	return b, nil
}

// MarshalBinary returns the encoded sketch (see AppendBinary).
func (s *Sketch) MarshalBinary() ([]byte, error) { return s.AppendBinary(nil) }

// UnmarshalBinary replaces s's values with those of the encoded sketch b.
func (s *Sketch) UnmarshalBinary(b []byte) error {
	if s.dd == nil {
		*s = *New()
	} else {
		s.Reset()
	}
	return s.MergeBinary(b)
}

// Decode returns the sketch b encodes.
func Decode(b []byte) (*Sketch, error) {
	s := New()
	if err := s.MergeBinary(b); err != nil {
		return nil, err
	}
	return s, nil
}

// MergeBinary adds the values of the encoded sketch b to s, without
// decoding it into a sketch of its own first. The header is checked, and
// the bins' total weight against it; on such an error s is left partly
// merged and should be discarded.
func (s *Sketch) MergeBinary(b []byte) error {
	if len(b) == 0 || b[0] != version {
		if len(b) == 0 {
			return fmt.Errorf("%w: no bytes", ErrCorrupt)
		}
		return fmt.Errorf("%w: version %d, want %d", ErrCorrupt, b[0], version)
	}
	b = b[1:]
	if len(b) == 0 {
		return nil
	}
	if len(b) < 24 {
		return fmt.Errorf("%w: %d bytes of header, want 24", ErrCorrupt, len(b))
	}
	count := math.Float64frombits(binary.LittleEndian.Uint64(b))
	lo := math.Float64frombits(binary.LittleEndian.Uint64(b[8:]))
	hi := math.Float64frombits(binary.LittleEndian.Uint64(b[16:]))
	if !(count > 0) || math.IsNaN(lo) || math.IsNaN(hi) || lo > hi {
		return fmt.Errorf("%w: count %v, min %v, max %v", ErrCorrupt, count, lo, hi)
	}
	before := s.dd.GetCount()
	if err := s.dd.DecodeAndMergeWith(b[24:]); err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if got := s.dd.GetCount() - before; math.Abs(got-count) > 1e-9*count {
		return fmt.Errorf("%w: bins hold %v, header says %v", ErrCorrupt, got, count)
	}
	s.count += count
	s.min, s.max = min(s.min, lo), max(s.max, hi)
	return nil
}
