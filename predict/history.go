package predict

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/store/longcsv"
)

// History is what a model learns from: a source of series.
//
// Each calls fn with every series, one at a time, each in time order, and
// stops at the first error fn returns, returning it. A series may be
// handed over in several calls (a store reading it bucket by bucket would
// not, but nothing forbids it): calls for one series come in time order.
type History interface {
	Each(ctx context.Context, fn func(rightsize.Series) error) error
}

// HistoryFunc adapts a function to History.
type HistoryFunc func(ctx context.Context, fn func(rightsize.Series) error) error

// Each calls f.
func (f HistoryFunc) Each(ctx context.Context, fn func(rightsize.Series) error) error {
	return f(ctx, fn)
}

// FromSeries returns the history of the given series. A series not in
// time order is sorted (a copy; the argument is not changed).
func FromSeries(series ...rightsize.Series) History {
	return HistoryFunc(func(ctx context.Context, fn func(rightsize.Series) error) error {
		for _, s := range series {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(s.InTimeOrder()); err != nil {
				return err
			}
		}
		return nil
	})
}

// FromSamples returns the history of samples in any order, grouped into
// series by (task, service, instance, resource) and sorted by time.
func FromSamples(samples []rightsize.Sample) History {
	return HistoryFunc(func(ctx context.Context, fn func(rightsize.Series) error) error {
		var b rightsize.SeriesBuilder
		for _, s := range samples {
			b.Add(s)
		}
		return FromSeries(b.Series()...).Each(ctx, fn)
	})
}

// StoreReader is what FromStore reads: store.Postgres and store.SQLite
// have it.
type StoreReader interface {
	// Services returns the names of the services stored.
	Services(ctx context.Context) ([]string, error)
	// ReadSeries calls fn with each series f matches, one at a time, in
	// time order.
	ReadSeries(ctx context.Context, f rightsize.Filter, fn func(rightsize.Series) error) error
}

// FromStore returns the history a store holds for the filter f: its
// window, task, instance and resources as f says; every service stored
// when f.Services is empty. The store is read when the history is
// iterated, one series at a time.
func FromStore(r StoreReader, f rightsize.Filter) History {
	return HistoryFunc(func(ctx context.Context, fn func(rightsize.Series) error) error {
		if len(f.Services) == 0 {
			svcs, err := r.Services(ctx)
			if err != nil {
				return fmt.Errorf("predict: read history: %w", err)
			}
			if len(svcs) == 0 {
				return nil
			}
			f.Services = svcs
		}
		return r.ReadSeries(ctx, f, fn)
	})
}

// FromCSV returns the history in long-format CSV (see package longcsv:
// task_id,service,resource,value,timestamp[,instance], gzip read
// directly). The whole input is read, into memory, when the history is
// first iterated; an error names the malformed line.
func FromCSV(r io.Reader) History {
	var (
		series []rightsize.Series
		err    error
		read   bool
	)
	return HistoryFunc(func(ctx context.Context, fn func(rightsize.Series) error) error {
		if !read {
			series, err = longcsv.ReadSeries(r)
			read = true
		}
		if err != nil {
			return fmt.Errorf("predict: read history: %w", err)
		}
		return FromSeries(series...).Each(ctx, fn)
	})
}

// FromCSVFile returns the history in the named long-format CSV file,
// read (again) each time the history is iterated.
func FromCSVFile(path string) History {
	return HistoryFunc(func(ctx context.Context, fn func(rightsize.Series) error) error {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("predict: read history: %w", err)
		}
		defer f.Close()
		return FromCSV(f).Each(ctx, fn)
	})
}

// Filter returns the part of h that f selects: the series of f's
// services (every series when f.Services is empty), task, instance and
// resources, the samples in [f.From, f.To) (open where zero), and those
// in f.Daily's window when it is set. What a store's read path does for
// a Filter, for histories that are not read from a store.
func Filter(h History, f rightsize.Filter) History {
	return HistoryFunc(func(ctx context.Context, fn func(rightsize.Series) error) error {
		return h.Each(ctx, func(s rightsize.Series) error {
			if (len(f.Services) > 0 && !slices.Contains(f.Services, s.Service)) || (f.Task != "" && s.Task != f.Task) ||
				(f.Instance != "" && s.Instance != f.Instance) || (len(f.Resources) > 0 && !slices.Contains(f.Resources, s.Resource)) {
				return nil
			}
			if !f.From.IsZero() || !f.To.IsZero() || f.Daily != nil {
				out := s
				out.Times, out.Values = nil, nil
				for i, t := range s.Times {
					if (!f.From.IsZero() && t.Before(f.From)) || (!f.To.IsZero() && !t.Before(f.To)) || (f.Daily != nil && !f.Daily.Contains(t)) {
						continue
					}
					out.Times = append(out.Times, t)
					out.Values = append(out.Values, s.Values[i])
				}
				if len(out.Times) == 0 {
					return nil
				}
				s = out
			}
			return fn(s)
		})
	})
}
