package longcsv

import (
	"context"
	"fmt"
	"time"

	"github.com/rightsize/rightsize"
)

// BatchWriter is what Import writes to: a store (store.Store has it).
type BatchWriter interface {
	Write(ctx context.Context, b rightsize.Batch) error
}

// ImportOptions tune Import. The zero value is usable.
type ImportOptions struct {
	// BatchSize is how many samples go in one Write (one transaction).
	// The default, 50 000, is what the store ingests fastest.
	BatchSize int
	// SkipBad skips malformed lines (counted in Result.Skipped) instead
	// of stopping at the first.
	SkipBad bool
	// Progress, if set, is called after each batch with what was
	// imported so far.
	Progress func(Result)
}

// Result is what Import did.
type Result struct {
	Rows    int64 // samples written
	Skipped int   // malformed lines skipped (with SkipBad)
	Batches int
	Elapsed time.Duration
}

// Import writes the samples r reads to w, BatchSize at a time, as batches
// without offsets (an import is not exactly-once: importing a file twice
// stores it twice). A batch is written only once all of its lines have
// been read: at a malformed line (without SkipBad) Import writes nothing
// of the batch it was in and returns a *LineError naming the line, with
// Result counting what earlier batches stored.
func Import(ctx context.Context, w BatchWriter, r *Reader, opts ImportOptions) (Result, error) {
	size := opts.BatchSize
	if size <= 0 {
		size = 50_000
	}
	r.SkipBad(opts.SkipBad)
	start := time.Now()
	var res Result
	buf := make([]rightsize.Sample, 0, size)
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		if err := w.Write(ctx, rightsize.Batch{Samples: buf}); err != nil {
			return fmt.Errorf("longcsv: import: batch ending at line %d: %w", r.Line(), err)
		}
		res.Rows += int64(len(buf))
		res.Batches++
		res.Skipped = r.Skipped()
		res.Elapsed = time.Since(start)
		buf = buf[:0]
		if opts.Progress != nil {
			opts.Progress(res)
		}
		return nil
	}
	for r.Next() {
		buf = append(buf, r.Sample())
		if len(buf) == size {
			if err := flush(); err != nil {
				return res, err
			}
		}
		if len(buf)%1024 == 0 && ctx.Err() != nil {
			return res, ctx.Err()
		}
	}
	if err := r.Err(); err != nil {
		res.Elapsed = time.Since(start)
		return res, err
	}
	err := flush()
	res.Skipped = r.Skipped()
	res.Elapsed = time.Since(start)
	return res, err
}
