// Package consumer reads samples from Kafka in a consumer group and hands
// them, in batches, to sinks.
//
// Every record is decoded (rightsize's JSON records and the seed's legacy
// records alike, see the README's record format); a malformed record never
// stops the consumer: it is counted, logged once per kind of problem and
// copied to a dead-letter topic. The decoded samples of one poll become a
// rightsize.Batch that carries the Kafka offset range of every partition it
// covers.
//
// # Exactly once
//
// A sink that also implements [OffsetStore] (the store package's stores do)
// owns the offsets: it writes a batch's rows and offsets in one database
// transaction, refusing a batch whose offsets it has already passed. On
// partition assignment the consumer starts each partition at the offset
// that store holds, so a crash or restart of the consumer or the database —
// SIGKILL included — neither loses an acknowledged sample nor stores one
// twice. Without an OffsetStore, offsets are committed to the consumer
// group after every sink has succeeded: at-least-once delivery.
package consumer

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/internal/wire"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Sink receives batches of samples.
//
// Write is called from one goroutine at a time, with batches in the order
// their records were read; it is never called after the consumer's Close.
// An error makes the consumer retry the same batch later (a sink that is
// not the OffsetStore sees retried batches again, so it must be
// idempotent). Write must not keep the batch's slices after it returns.
type Sink interface {
	Write(ctx context.Context, b rightsize.Batch) error
}

// SinkFunc adapts a function to the Sink interface.
type SinkFunc func(ctx context.Context, b rightsize.Batch) error

// Write calls f(ctx, b).
func (f SinkFunc) Write(ctx context.Context, b rightsize.Batch) error { return f(ctx, b) }

// OffsetStore is a Sink that stores the offsets of the batches it writes,
// in the same transaction as their samples, and skips a batch whose ranges
// it has already stored.
//
// Offsets returns, per partition of the topic with that name and ID (see
// rightsize.OffsetRange.TopicID), the next offset to read: the To of the
// last range written. A partition never written is absent, and so are the
// offsets of an earlier topic of the same name.
type OffsetStore interface {
	Sink
	Offsets(ctx context.Context, topic, topicID string) (map[int32]int64, error)
}

// DefaultGroup is the consumer group used unless WithGroup says otherwise.
const DefaultGroup = "rightsize"

// DefaultTopic is the topic read unless WithTopics says otherwise.
const DefaultTopic = "resources"

// ErrUnreachable is matched by the error New returns when no broker answers.
var ErrUnreachable = errors.New("no Kafka broker reachable")

type config struct {
	group          string
	topics         []string
	deadLetter     string
	deadLetterSet  bool
	maxRecords     int
	connectTimeout time.Duration
	logger         *slog.Logger
	kopts          []kgo.Opt
}

// Option configures a Consumer.
type Option func(*config)

// WithGroup sets the consumer group. Default DefaultGroup ("rightsize").
func WithGroup(group string) Option { return func(c *config) { c.group = group } }

// WithTopics sets the topics to read. Default DefaultTopic ("resources").
func WithTopics(topics ...string) Option { return func(c *config) { c.topics = topics } }

// WithDeadLetterTopic copies malformed records to topic, with headers
// saying why and where they came from. Default: the first topic's name
// followed by ".dlq". An empty name turns dead-lettering off (malformed
// records are still counted and logged).
func WithDeadLetterTopic(topic string) Option {
	return func(c *config) { c.deadLetter, c.deadLetterSet = topic, true }
}

// WithMaxRecords bounds how many records one batch decodes. Default 20 000
// (a few hundred thousand samples).
func WithMaxRecords(n int) Option { return func(c *config) { c.maxRecords = n } }

// WithConnectTimeout bounds how long New waits for a broker to answer.
// Default 10 s.
func WithConnectTimeout(d time.Duration) Option { return func(c *config) { c.connectTimeout = d } }

// WithLogger logs malformed records, sink errors and retries to l. Default
// slog.Default().
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithKafkaOptions adds franz-go client options (TLS, SASL, fetch sizes,
// ...) after the ones New sets.
func WithKafkaOptions(opts ...kgo.Opt) Option {
	return func(c *config) { c.kopts = append(c.kopts, opts...) }
}

// Consumer reads samples from Kafka and writes them to its sinks. Create it
// with New, call Run, then Close.
type Consumer struct {
	cfg    config
	client *kgo.Client
	admin  *kadm.Client
	store  OffsetStore // nil: offsets live in the consumer group only
	others []Sink

	ready     chan struct{} // closed once client and admin are set
	blocked   atomic.Bool   // a rebalance is waiting for the batch in hand
	closeOnce sync.Once

	mu   sync.Mutex
	done map[string]map[int32]int64 // next offset delivered to the sinks

	records, samples, batches, deadLettered atomic.Int64
	malformed                               sync.Map // wire.Kind -> *atomic.Int64
	logged                                  sync.Map // string -> struct{}: logged once
}

// New connects to brokers and joins the consumer group; it returns once a
// broker has answered. Records are read by Run.
//
// At most one sink may implement OffsetStore; it is written first, and the
// others are written once it has succeeded.
func New(brokers []string, sinks []Sink, opts ...Option) (*Consumer, error) {
	cfg := config{group: DefaultGroup, topics: []string{DefaultTopic}, maxRecords: 20_000,
		connectTimeout: 10 * time.Second, logger: slog.Default()}
	for _, o := range opts {
		o(&cfg)
	}
	switch {
	case len(brokers) == 0:
		return nil, errors.New("consumer: no broker address given")
	case cfg.group == "":
		return nil, errors.New("consumer: empty group")
	case len(cfg.topics) == 0 || slices.Contains(cfg.topics, ""):
		return nil, errors.New("consumer: no topic, or an empty topic name")
	case cfg.maxRecords < 1:
		return nil, fmt.Errorf("consumer: max records %d, want at least 1", cfg.maxRecords)
	case cfg.connectTimeout <= 0:
		return nil, fmt.Errorf("consumer: connect timeout %v, want > 0", cfg.connectTimeout)
	case len(sinks) == 0:
		return nil, errors.New("consumer: no sink")
	}
	if !cfg.deadLetterSet {
		cfg.deadLetter = cfg.topics[0] + ".dlq"
	}
	c := &Consumer{cfg: cfg, done: map[string]map[int32]int64{}, ready: make(chan struct{})}
	for i, s := range sinks {
		if s == nil {
			return nil, fmt.Errorf("consumer: sink %d is nil", i)
		}
		if os, ok := s.(OffsetStore); ok {
			if c.store != nil {
				return nil, errors.New("consumer: more than one sink stores offsets; give only one store")
			}
			c.store = os
			continue
		}
		c.others = append(c.others, s)
	}
	kopts := []kgo.Opt{
		kgo.SeedBrokers(brokers...),
		kgo.ConsumerGroup(cfg.group),
		kgo.ConsumeTopics(cfg.topics...),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		// Capped fetches keep the consumer's memory near 100 MB at full
		// speed; larger ones cost memory and buy nothing.
		kgo.FetchMaxBytes(4 << 20),
		kgo.FetchMaxPartitionBytes(256 << 10),
		kgo.OnPartitionsRevoked(func(context.Context, *kgo.Client, map[string][]int32) {}),
		kgo.OnPartitionsCallbackBlocked(func(context.Context, *kgo.Client) { c.blocked.Store(true) }),
		// Producing dead letters.
		kgo.AllowAutoTopicCreation(),
	}
	if c.store != nil {
		kopts = append(kopts, kgo.AdjustFetchOffsetsFn(c.adjustOffsets))
	}
	kopts = append(kopts, cfg.kopts...)
	client, err := kgo.NewClient(kopts...)
	if err != nil {
		return nil, fmt.Errorf("consumer: %w", err)
	}
	// The client joins the group at once; its callbacks wait for ready.
	c.client = client
	c.admin = kadm.NewClient(client)
	close(c.ready)
	ctx, cancel := context.WithTimeout(context.Background(), cfg.connectTimeout)
	defer cancel()
	if err := client.Ping(ctx); err != nil {
		client.Close()
		if ctx.Err() != nil {
			err = fmt.Errorf("no answer within %v", cfg.connectTimeout)
		}
		return nil, fmt.Errorf("consumer: %w at %s: %w", ErrUnreachable, strings.Join(brokers, ","), err)
	}
	return c, nil
}

// adjustOffsets starts every assigned partition at the offset the store
// holds for it, where it holds one.
func (c *Consumer) adjustOffsets(ctx context.Context, assigned map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
	select {
	case <-c.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	ids, err := c.topicIDs(ctx, slices.Collect(maps.Keys(assigned)))
	if err != nil {
		c.cfg.logger.Error("reading topic IDs; will rejoin and retry", "err", err)
		return nil, err
	}
	for topic, parts := range assigned {
		stored, err := c.store.Offsets(ctx, topic, ids[topic])
		if err != nil {
			// Without the stored offsets the consumer must not read:
			// the group would start where its commits say, and a commit
			// can lag the store. Failing makes the client rejoin and
			// ask again.
			c.cfg.logger.Error("reading stored offsets; will rejoin and retry", "topic", topic, "err", err)
			return nil, fmt.Errorf("consumer: stored offsets of %s: %w", topic, err)
		}
		for p := range parts {
			if off, ok := stored[p]; ok {
				parts[p] = kgo.NewOffset().At(off).WithEpoch(-1)
			}
		}
	}
	return assigned, nil
}

// topicIDs returns the ID of each topic, as OffsetRange.TopicID spells it.
func (c *Consumer) topicIDs(ctx context.Context, topics []string) (map[string]string, error) {
	details, err := c.admin.ListTopics(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("consumer: topic IDs of %s: %w", strings.Join(topics, ","), err)
	}
	ids := make(map[string]string, len(topics))
	for _, t := range topics {
		d, ok := details[t]
		if !ok || d.Err != nil {
			return nil, fmt.Errorf("consumer: topic ID of %s: %v", t, d.Err)
		}
		ids[t] = topicID(d.ID)
	}
	return ids, nil
}

// topicID spells a topic ID as OffsetRange.TopicID does: hex, or "" for a
// cluster that has none.
func topicID(id [16]byte) string {
	if id == [16]byte{} {
		return ""
	}
	return hex.EncodeToString(id[:])
}

// Run reads, decodes and delivers batches until ctx ends (it then returns
// nil) or the consumer is closed. A failing sink does not end Run: the
// batch is retried with backoff, and given back to the group if a
// rebalance needs its partitions meanwhile.
func (c *Consumer) Run(ctx context.Context) error {
	var samples []rightsize.Sample
	for {
		fetches := c.client.PollRecords(ctx, c.cfg.maxRecords)
		if fetches.IsClientClosed() {
			return nil
		}
		if ctx.Err() != nil {
			c.client.AllowRebalance()
			return nil
		}
		fetches.EachError(func(topic string, p int32, err error) {
			if !errors.Is(err, context.Canceled) {
				c.logOnce("fetch:"+err.Error(), "fetching", "topic", topic, "partition", p, "err", err)
			}
		})
		batch, dead := c.decode(fetches, samples[:0])
		samples = batch.Samples
		if len(batch.Ranges) > 0 {
			c.deadLetter(ctx, dead)
			c.deliver(ctx, batch)
		}
		c.blocked.Store(false)
		c.client.AllowRebalance()
	}
}

type deadRecord struct {
	r   *kgo.Record
	err error
}

// decode turns one poll's records into a batch, one range per partition,
// appending samples to samples.
func (c *Consumer) decode(fetches kgo.Fetches, samples []rightsize.Sample) (rightsize.Batch, []deadRecord) {
	b := rightsize.Batch{Samples: samples}
	var dead []deadRecord
	fetches.EachTopic(func(t kgo.FetchTopic) {
		id := topicID(t.TopicID)
		for _, p := range t.Partitions {
			if len(p.Records) == 0 {
				continue
			}
			n := len(b.Samples)
			for _, r := range p.Records {
				var err error
				if b.Samples, err = wire.Decode(b.Samples, toWire(r)); err != nil {
					dead = append(dead, deadRecord{r, err})
					c.countMalformed(r, err)
				}
			}
			first, last := p.Records[0], p.Records[len(p.Records)-1]
			b.Ranges = append(b.Ranges, rightsize.OffsetRange{Topic: t.Topic, TopicID: id, Partition: p.Partition,
				From: first.Offset, To: last.Offset + 1, Samples: len(b.Samples) - n})
			c.records.Add(int64(len(p.Records)))
		}
	})
	return b, dead
}

func toWire(r *kgo.Record) wire.Record {
	w := wire.Record{Key: r.Key, Value: r.Value, Timestamp: r.Timestamp}
	if len(r.Headers) > 0 {
		w.Headers = make([]wire.Header, len(r.Headers))
		for i, h := range r.Headers {
			w.Headers[i] = wire.Header{Key: h.Key, Value: h.Value}
		}
	}
	return w
}

func (c *Consumer) countMalformed(r *kgo.Record, err error) {
	kind := wire.KindUnrecognized
	var de *wire.DecodeError
	if errors.As(err, &de) {
		kind = de.Kind
	}
	n, _ := c.malformed.LoadOrStore(kind, new(atomic.Int64))
	n.(*atomic.Int64).Add(1)
	c.logOnce("malformed:"+string(kind), "malformed record (further records of this kind are only counted)",
		"kind", kind, "topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "err", err)
}

func (c *Consumer) logOnce(key, msg string, args ...any) {
	if _, seen := c.logged.LoadOrStore(key, struct{}{}); !seen {
		c.cfg.logger.Warn(msg, args...)
	}
}

// deadLetter copies malformed records to the dead-letter topic. It is best
// effort: a record that cannot be copied is logged, never retried forever.
func (c *Consumer) deadLetter(ctx context.Context, dead []deadRecord) {
	if len(dead) == 0 || c.cfg.deadLetter == "" {
		return
	}
	recs := make([]*kgo.Record, len(dead))
	for i, d := range dead {
		recs[i] = &kgo.Record{Topic: c.cfg.deadLetter, Key: d.r.Key, Value: d.r.Value, Timestamp: d.r.Timestamp,
			Headers: append(slices.Clone(d.r.Headers),
				kgo.RecordHeader{Key: "rightsize-error", Value: []byte(d.err.Error())},
				kgo.RecordHeader{Key: "rightsize-source", Value: fmt.Appendf(nil, "%s/%d/%d", d.r.Topic, d.r.Partition, d.r.Offset)})}
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for _, res := range c.client.ProduceSync(ctx, recs...) {
		if res.Err != nil {
			c.logOnce("dlq:"+res.Err.Error(), "copying a malformed record to the dead-letter topic", "topic", c.cfg.deadLetter, "err", res.Err)
			continue
		}
		c.deadLettered.Add(1)
	}
}

// deliver writes batch to the sinks, retrying until it succeeds, ctx ends
// or a rebalance waits for it. A batch it gives up on is rewound: its
// partitions are read again from the batch's first offsets.
func (c *Consumer) deliver(ctx context.Context, batch rightsize.Batch) {
	backoff := 100 * time.Millisecond
	for {
		err := c.write(ctx, batch)
		if err == nil {
			break
		}
		if ctx.Err() == nil && c.store != nil {
			// The store may have refused ranges it is past or that do
			// not start where it stands (another member of the group
			// wrote them meanwhile). Re-read from where it stands.
			if adjusted, changed := c.reconcile(ctx, batch); changed {
				batch = adjusted
				continue
			}
		}
		if ctx.Err() != nil || c.blocked.Load() {
			c.rewind(batch)
			return
		}
		c.logOnce("sink:"+err.Error(), "writing batch; retrying", "samples", len(batch.Samples), "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
	c.batches.Add(1)
	c.samples.Add(int64(len(batch.Samples)))
	commit := map[string]map[int32]kgo.EpochOffset{}
	c.mu.Lock()
	for _, r := range batch.Ranges {
		if c.done[r.Topic] == nil {
			c.done[r.Topic] = map[int32]int64{}
		}
		c.done[r.Topic][r.Partition] = r.To
		if commit[r.Topic] == nil {
			commit[r.Topic] = map[int32]kgo.EpochOffset{}
		}
		commit[r.Topic][r.Partition] = kgo.EpochOffset{Epoch: -1, Offset: r.To}
	}
	c.mu.Unlock()
	c.client.CommitOffsets(ctx, commit, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, _ *kmsg.OffsetCommitResponse, err error) {
		if err != nil && !errors.Is(err, context.Canceled) {
			c.logOnce("commit:"+err.Error(), "committing offsets to the group", "err", err)
		}
	})
}

// write gives batch to the offset store, then to the other sinks. With a
// store, the other sinks are best effort: their errors are logged, not
// retried (the store has the batch, and retrying it would not reach them).
func (c *Consumer) write(ctx context.Context, batch rightsize.Batch) error {
	if c.store != nil {
		if err := c.store.Write(ctx, batch); err != nil {
			return err
		}
		for _, s := range c.others {
			if err := s.Write(ctx, batch); err != nil {
				c.logOnce("best-effort:"+err.Error(), "a sink failed; the store has the batch", "err", err)
			}
		}
		return nil
	}
	for _, s := range c.others {
		if err := s.Write(ctx, batch); err != nil {
			return err
		}
	}
	return nil
}

// reconcile compares batch with the offsets the store holds. Ranges the
// store is already past are dropped; ranges that do not start where the
// store stands are dropped and their partitions re-read from the store's
// offset. changed is false when the store agrees with every range (so the
// error was something else: the database is down, say).
func (c *Consumer) reconcile(ctx context.Context, batch rightsize.Batch) (rightsize.Batch, bool) {
	stored := map[string]map[int32]int64{}
	for _, r := range batch.Ranges {
		if _, ok := stored[r.Topic]; ok {
			continue
		}
		offs, err := c.store.Offsets(ctx, r.Topic, r.TopicID)
		if err != nil {
			return batch, false
		}
		stored[r.Topic] = offs
	}
	var out rightsize.Batch
	seek := map[string]map[int32]kgo.EpochOffset{}
	changed := false
	_ = batch.Parts(func(r rightsize.OffsetRange, samples []rightsize.Sample) error {
		off, ok := stored[r.Topic][r.Partition]
		switch {
		case !ok || off == r.From:
			out.Ranges = append(out.Ranges, r)
			out.Samples = append(out.Samples, samples...)
			return nil
		case off < r.To:
			if seek[r.Topic] == nil {
				seek[r.Topic] = map[int32]kgo.EpochOffset{}
			}
			seek[r.Topic][r.Partition] = kgo.EpochOffset{Epoch: -1, Offset: off}
			c.cfg.logger.Info("re-reading a partition from the store's offset", "range", r.String(), "stored", off)
		}
		changed = true
		return nil
	})
	if len(seek) > 0 {
		c.client.SetOffsets(seek)
	}
	return out, changed
}

// rewind makes the batch's partitions be read again from its first offsets.
func (c *Consumer) rewind(batch rightsize.Batch) {
	seek := map[string]map[int32]kgo.EpochOffset{}
	for _, r := range batch.Ranges {
		if seek[r.Topic] == nil {
			seek[r.Topic] = map[int32]kgo.EpochOffset{}
		}
		seek[r.Topic][r.Partition] = kgo.EpochOffset{Epoch: -1, Offset: r.From}
	}
	c.client.SetOffsets(seek)
}

// Stats counts what the consumer has done since New.
type Stats struct {
	Records      int64               // records read
	Samples      int64               // samples delivered to the sinks
	Batches      int64               // batches delivered
	Malformed    map[wire.Kind]int64 // malformed records by kind
	DeadLettered int64               // malformed records copied to the dead-letter topic
}

// Stats returns the consumer's counters.
func (c *Consumer) Stats() Stats {
	s := Stats{Records: c.records.Load(), Samples: c.samples.Load(), Batches: c.batches.Load(),
		DeadLettered: c.deadLettered.Load(), Malformed: map[wire.Kind]int64{}}
	c.malformed.Range(func(k, v any) bool {
		s.Malformed[k.(wire.Kind)] = v.(*atomic.Int64).Load()
		return true
	})
	return s
}

// Lag returns how many records of the consumer's topics have not been
// delivered to its sinks yet: the sum over partitions of the end offset
// minus the offset delivered (or, for a partition this consumer has not
// delivered, the offset the store or the group holds).
func (c *Consumer) Lag(ctx context.Context) (int64, error) {
	ends, err := c.admin.ListEndOffsets(ctx, c.cfg.topics...)
	if err != nil {
		return 0, fmt.Errorf("consumer: lag: %w", err)
	}
	committed, err := c.admin.FetchOffsetsForTopics(ctx, c.cfg.group, c.cfg.topics...)
	if err != nil {
		return 0, fmt.Errorf("consumer: lag: %w", err)
	}
	stored := map[string]map[int32]int64{}
	if c.store != nil {
		ids, err := c.topicIDs(ctx, c.cfg.topics)
		if err != nil {
			return 0, fmt.Errorf("consumer: lag: %w", err)
		}
		for _, t := range c.cfg.topics {
			if stored[t], err = c.store.Offsets(ctx, t, ids[t]); err != nil {
				return 0, fmt.Errorf("consumer: lag: %w", err)
			}
		}
	}
	c.mu.Lock()
	done := map[string]map[int32]int64{}
	for t, m := range c.done {
		done[t] = maps.Clone(m)
	}
	c.mu.Unlock()
	var lag int64
	var lerr error
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			lerr = fmt.Errorf("consumer: lag: %s/%d: %w", o.Topic, o.Partition, o.Err)
			return
		}
		at, ok := done[o.Topic][o.Partition]
		if !ok {
			at, ok = stored[o.Topic][o.Partition]
		}
		if !ok {
			if co, found := committed.Lookup(o.Topic, o.Partition); found && co.Err == nil && co.At >= 0 {
				at = co.At
			}
		}
		lag += max(0, o.Offset-at)
	})
	return lag, lerr
}

// Close leaves the group and closes the client. It is safe to call more
// than once; Run returns once the client is closed.
func (c *Consumer) Close() {
	c.closeOnce.Do(func() { c.client.CloseAllowingRebalance() })
}
