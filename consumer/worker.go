package consumer

import (
	"context"
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/internal/wire"
)

// worker decodes and delivers the records of one partition, in order.
// The poll loop hands it records through in; it gathers what has arrived
// into one batch (up to the batch bound), writes it, and starts over.
type worker struct {
	c        *Consumer
	tp       topicPartition
	topicID  string
	in       chan handoff
	ctx      context.Context
	cancel   context.CancelFunc
	finished chan struct{}
	paused   bool // fetching paused because in was full (poll loop only)
	decoder  wire.Decoder
	headers  []wire.Header // scratch for toWire

	next  int64 // the offset the next record should have
	known bool  // next is known (the store's offset, or a record seen)
	// After the worker asked for a seek, records handed over before it
	// (an older epoch) are stale.
	epoch, minEpoch uint64

	// The batch being gathered: its records from offset from on (their
	// offsets), the samples they decoded to (record i gave
	// samples[spans[i].lo:spans[i].hi]) and the records that will not
	// decode. Records themselves are not kept, so that the fetch buffers
	// they point into can go as soon as they are decoded.
	from    int64
	offs    []int64
	spans   []span
	samples []rightsize.Sample
	dead    []deadRecord
}

type span struct{ lo, hi int }

// maxBackoff is the longest pause between two attempts at a failing
// write: long enough not to hammer a database that is down, short enough
// to resume within a second or two of its return.
const maxBackoff = 2 * time.Second

// handoff is what the poll loop gives a worker: records of its
// partition, the topic's ID, and the partition's seek epoch when they
// were fetched.
type handoff struct {
	recs    []*kgo.Record
	topicID string
	epoch   uint64
}

func newWorker(c *Consumer, tp topicPartition, start int64, known bool) *worker {
	ctx, cancel := context.WithCancel(c.runCtx)
	return &worker{c: c, tp: tp, in: make(chan handoff, 2), ctx: ctx, cancel: cancel,
		finished: make(chan struct{}), next: start, known: known}
}

// stop makes run return after the write in hand; what it has not stored
// is read again by the partition's next owner, from the store's offset.
func (w *worker) stop() { w.cancel() }

func (w *worker) run() {
	defer close(w.finished)
	for {
		select {
		case <-w.ctx.Done():
			return
		case h := <-w.in:
			w.add(h)
		}
	gather:
		for len(w.samples) < w.c.cfg.maxBatch && len(w.in) > 0 {
			select {
			case h := <-w.in:
				w.add(h)
			default:
				break gather
			}
		}
		if len(w.offs) > 0 {
			w.flush()
		}
	}
}

// add decodes records into the batch, skipping any before next (read
// again after a seek) and any fetched before a seek it asked for.
func (w *worker) add(h handoff) {
	w.epoch = h.epoch
	if h.epoch < w.minEpoch {
		return
	}
	w.topicID = h.topicID
	for _, r := range h.recs {
		if w.known && r.Offset < w.next {
			continue
		}
		if len(w.offs) == 0 {
			if !w.known {
				w.next, w.known = r.Offset, true
			}
			w.from = w.next
		}
		if w.samples == nil {
			w.samples = make([]rightsize.Sample, 0, w.c.cfg.maxBatch+64)
		}
		lo := len(w.samples)
		var err error
		if w.samples, err = w.decoder.Decode(w.samples, toWire(r, &w.headers)); err != nil {
			reason := reasonOf(err)
			w.dead = append(w.dead, deadRecord{r, reason, err})
			w.c.countMalformed(r, reason, err)
		}
		w.offs = append(w.offs, r.Offset)
		w.spans = append(w.spans, span{lo, len(w.samples)})
		w.next = r.Offset + 1
		if len(w.samples) >= w.c.cfg.maxBatch {
			w.flush() // a batch never grows far past the bound
			if w.ctx.Err() != nil {
				return
			}
		}
	}
}

// flush delivers the gathered batch and empties it.
func (w *worker) flush() {
	w.c.deadLetter(w.ctx, w.dead)
	w.deliver(0, len(w.offs), w.from)
	clear(w.dead) // let the fetch buffers go
	w.offs, w.spans, w.samples, w.dead = w.offs[:0], w.spans[:0], w.samples[:0], w.dead[:0]
}

// batch returns the records recs[i:j] as one batch, its range starting
// at from.
func (w *worker) batch(i, j int, from int64) rightsize.Batch {
	lo, hi := w.spans[i].lo, w.spans[j-1].hi
	return rightsize.Batch{
		Samples: w.samples[lo:hi:hi],
		Ranges: []rightsize.OffsetRange{{Topic: w.tp.topic, TopicID: w.topicID, Partition: w.tp.partition,
			From: from, To: w.offs[j-1] + 1, Samples: hi - lo}},
	}
}

// deliver writes the records recs[i:j] (their range starting at from) to
// the sinks, retrying a retryable error with backoff until it succeeds or
// the worker stops. A permanent error is narrowed down, halving the
// records, to the records the store refuses; those go to the dead-letter
// topic and the rest is stored. It reports whether the records were
// delivered.
func (w *worker) deliver(i, j int, from int64) bool {
	// The first retry is at once (a pooled connection the database has
	// dropped fails once, and the next is fresh); then the pause doubles,
	// up to maxBackoff.
	var backoff time.Duration
	for {
		b := w.batch(i, j, from)
		start := time.Now()
		err := w.c.write(w.ctx, b)
		w.c.writeNanos.Add(int64(time.Since(start)))
		if err == nil {
			w.delivered(b)
			return true
		}
		if w.ctx.Err() != nil {
			return false
		}
		if rightsize.IsPermanent(err) {
			return w.isolate(i, j, from, err)
		}
		if w.c.store != nil {
			// The store may have refused a range it is past or that does
			// not start where it stands (another member of the group
			// wrote it meanwhile).
			switch stored, ok := w.storedOffset(); {
			case !ok || stored == from:
				// Not an offset problem: the database is away, say.
			case stored >= b.Ranges[0].To:
				w.delivered(rightsize.Batch{Ranges: b.Ranges[:1:1]})
				return true
			case stored > from:
				k := i
				for k < j && w.offs[k] < stored {
					k++
				}
				w.c.cfg.logger.Info("the store is ahead of this batch; writing only what follows it", "range", b.Ranges[0].String(), "stored", stored)
				i, from = k, stored
				continue
			default: // stored < from: records between were never stored
				w.c.cfg.logger.Warn("the store is behind this batch; reading the partition again from the store's offset", "range", b.Ranges[0].String(), "stored", stored)
				w.c.seek(w.tp, stored)
				w.next, w.minEpoch = stored, w.epoch+1
				return false
			}
		}
		w.c.health.failing(w.tp, err)
		w.c.logOnce("sink:"+err.Error(), "writing batch; retrying", "samples", len(b.Samples), "range", b.Ranges[0].String(), "err", err)
		select {
		case <-w.ctx.Done():
			return false
		case <-time.After(backoff):
		}
		backoff = min(max(2*backoff, 100*time.Millisecond), maxBackoff)
	}
}

// isolate handles a permanent error of records recs[i:j]: one record is
// dead-lettered (its offset still advances), more are halved and each
// half delivered on its own.
func (w *worker) isolate(i, j int, from int64, err error) bool {
	if j-i > 1 {
		m := (i + j) / 2
		return w.deliver(i, m, from) && w.deliver(m, j, w.offs[m])
	}
	r := w.refused(i)
	w.c.countMalformed(r, ReasonRefused, err)
	w.c.deadLetter(w.ctx, []deadRecord{{r, ReasonRefused, err}})
	// Store the offset alone, so the partition moves past the record.
	w.spans[i].hi = w.spans[i].lo
	return w.deliver(i, j, from)
}

// refused rebuilds record i for the dead-letter topic from the samples it
// decoded to (the record itself is not kept): rightsize's format, keyed
// by service, its rightsize-source header naming the original.
func (w *worker) refused(i int) *kgo.Record {
	r := &kgo.Record{Topic: w.tp.topic, Partition: w.tp.partition, Offset: w.offs[i]}
	samples := w.samples[w.spans[i].lo:w.spans[i].hi]
	if recs, err := wire.Encode(samples); err == nil && len(recs) > 0 {
		r.Key, r.Value, r.Timestamp = recs[0].Key, recs[0].Value, recs[0].Timestamp
		for _, h := range recs[0].Headers {
			r.Headers = append(r.Headers, kgo.RecordHeader{Key: h.Key, Value: h.Value})
		}
	}
	return r
}

// storedOffset returns the store's next offset for the partition.
func (w *worker) storedOffset() (int64, bool) {
	offs, err := w.c.store.Offsets(w.ctx, w.tp.topic, w.topicID)
	if err != nil {
		return 0, false
	}
	off, ok := offs[w.tp.partition]
	return off, ok
}

func (w *worker) delivered(b rightsize.Batch) {
	w.c.health.ok(w.tp)
	w.c.batches.Add(1)
	w.c.samples.Add(int64(len(b.Samples)))
	w.c.delivered(w.tp, b.Ranges[0].To)
	for _, s := range w.c.bestEffort {
		s.offer(b)
	}
}

// write gives batch to the offset store or, without one, to every sink
// in turn.
func (c *Consumer) write(ctx context.Context, batch rightsize.Batch) error {
	if c.store != nil {
		return c.store.Write(ctx, batch)
	}
	var errs []error
	for _, s := range c.others {
		if err := s.Write(ctx, batch); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
