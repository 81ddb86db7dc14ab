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
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/internal/kafkaconn"
)

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
	malformed                               sync.Map // Reason -> *atomic.Int64
	logged                                  sync.Map // string -> struct{}: logged once
}

// New connects to brokers and joins the consumer group; it returns once a
// broker has answered, or with an error matching rightsize.ErrUnreachable
// when none answers within the connect timeout or before ctx ends. ctx
// bounds only this wait: records are read by Run.
//
// At most one sink may implement OffsetStore; it is written first, and the
// others are written once it has succeeded.
func New(ctx context.Context, brokers []string, sinks []Sink, opts ...Option) (*Consumer, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o.apply(&cfg)
		}
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
	sec, err := cfg.security.Opts()
	if err != nil {
		return nil, fmt.Errorf("consumer: %w", err)
	}
	kopts = append(kopts, sec...)
	kopts = append(kopts, cfg.kopts...)
	client, err := kgo.NewClient(kopts...)
	if err != nil {
		return nil, fmt.Errorf("consumer: %w", err)
	}
	// The client joins the group at once; its callbacks wait for ready.
	c.client = client
	c.admin = kadm.NewClient(client)
	close(c.ready)
	if err := kafkaconn.Ping(ctx, client, brokers, cfg.connectTimeout, cfg.security); err != nil {
		client.Close()
		return nil, fmt.Errorf("consumer: %w", err)
	}
	return c, nil
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

// Close leaves the group and closes the client. It is safe to call more
// than once; Run returns once the client is closed.
func (c *Consumer) Close() {
	c.closeOnce.Do(func() { c.client.CloseAllowingRebalance() })
}

// logOnce logs msg the first time key is seen, so that a problem that
// repeats for every record does not flood the log.
func (c *Consumer) logOnce(key, msg string, args ...any) {
	if _, seen := c.logged.LoadOrStore(key, struct{}{}); !seen {
		c.cfg.logger.Warn(msg, args...)
	}
}
