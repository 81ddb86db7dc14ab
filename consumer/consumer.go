// Package consumer reads samples from Kafka in a consumer group and hands
// them, in batches, to sinks.
//
// Every record is decoded (rightsize's JSON records and the seed's legacy
// records alike, see the README's record format). A record that can never
// be stored — malformed, an invalid sample, or one the store refuses for
// good — never stops the consumer: it is counted by [Reason], logged once
// per reason and copied to a dead-letter topic, and its partition moves
// on. Everything else (the database is down) is retried with backoff,
// losing nothing.
//
// # How records flow
//
// One goroutine polls the brokers and hands each partition's records to
// that partition's worker; each worker decodes its records, gathers them
// into a batch, writes the batch to the store and then to the other
// sinks. Partitions are decoded and written in parallel, and a partition
// whose writes fail does not hold the others up (its fetches pause until
// it catches up).
//
// # Exactly once
//
// A sink that also implements [OffsetStore] (the store package's stores do)
// owns the offsets: it writes a batch's rows and offsets in one database
// transaction, refusing a batch whose offsets it has already passed. On
// partition assignment the consumer starts each partition at the offset
// that store holds, so a crash or restart of the consumer or the database —
// SIGKILL included — neither loses an acknowledged sample nor stores one
// twice. The other sinks (charts, callbacks) are then best effort: each
// gets the batches the store took, through a bounded queue of its own, so
// a slow or failing one can neither slow nor stop storing. Without an
// OffsetStore, every sink is written in turn, retried until it succeeds,
// and offsets are committed to the consumer group afterwards:
// at-least-once delivery.
package consumer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rightsize/rightsize/internal/kafkaconn"
)

// ErrStalled is matched by the error Run returns when a partition's
// batch could not be stored for longer than WithMaxStall allows.
var ErrStalled = errors.New("consumer: stalled")

// Consumer reads samples from Kafka and writes them to its sinks. Create it
// with New, call Run, then Close.
type Consumer struct {
	cfg        config
	client     *kgo.Client
	admin      *kadm.Client
	store      OffsetStore // nil: offsets live in the consumer group only
	others     []Sink      // written in turn when there is no store
	bestEffort []*asyncSink

	connOpts  []kgo.Opt     // seeds and security, for a short-lived client
	ready     chan struct{} // closed once client and admin are set
	closeOnce sync.Once

	mu      sync.Mutex
	workers map[topicPartition]*worker // of the current assignment
	startAt map[topicPartition]int64   // where the store said a partition starts
	done    map[string]map[int32]int64 // next offset delivered to the sinks
	seeks   map[string]map[int32]kgo.EpochOffset
	epochs  map[topicPartition]uint64 // bumped at every seek (poll loop only)
	runCtx  context.Context           // the context workers run under, once Run starts
	workWG  sync.WaitGroup

	records, samples, batches, deadLettered atomic.Int64
	writeNanos                              atomic.Int64
	malformed                               sync.Map // Reason -> *atomic.Int64
	logged                                  sync.Map // string -> struct{}: logged once
	health                                  health
}

type topicPartition struct {
	topic     string
	partition int32
}

// New connects to brokers and joins the consumer group; it returns once a
// broker has answered, or with an error matching rightsize.ErrUnreachable
// when none answers within the connect timeout or before ctx ends (or
// rightsize.ErrAuthentication when the brokers refuse the credentials).
// ctx bounds only this wait: records are read by Run.
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
	if err := cfg.validate(brokers, sinks); err != nil {
		return nil, err
	}
	c := &Consumer{cfg: cfg, ready: make(chan struct{}), workers: map[topicPartition]*worker{},
		startAt: map[topicPartition]int64{}, done: map[string]map[int32]int64{}}
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
	if c.store != nil {
		for _, s := range c.others {
			c.bestEffort = append(c.bestEffort, newAsyncSink(c, s))
		}
		c.others = nil
	}
	kopts := []kgo.Opt{
		kgo.SeedBrokers(brokers...),
		kgo.ConsumerGroup(cfg.group),
		kgo.ConsumeTopics(cfg.topics...),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.SessionTimeout(cfg.sessionTimeout),
		kgo.RebalanceTimeout(cfg.rebalanceTimeout),
		kgo.HeartbeatInterval(min(3*time.Second, cfg.sessionTimeout/3)),
		// Capped fetches keep the consumer's memory near 100 MB at full
		// speed; larger ones cost memory and buy nothing.
		kgo.FetchMaxBytes(4 << 20),
		kgo.FetchMaxPartitionBytes(1 << 20),
		// A fetch waits at most this long for data to arrive: with
		// kgo's 5 s, a partition resumed after a pause waited out the
		// fetch in flight.
		kgo.FetchMaxWait(500 * time.Millisecond),
		kgo.OnPartitionsAssigned(c.assigned),
		kgo.OnPartitionsRevoked(c.revoked),
		kgo.OnPartitionsLost(c.lost),
		// Producing dead letters.
		kgo.AllowAutoTopicCreation(),
	}
	if cfg.instanceID != "" {
		kopts = append(kopts, kgo.InstanceID(cfg.instanceID))
	}
	if c.store != nil {
		kopts = append(kopts, kgo.AdjustFetchOffsetsFn(c.adjustOffsets))
	}
	sec, err := cfg.security.Opts()
	if err != nil {
		return nil, fmt.Errorf("consumer: %w", err)
	}
	kopts = append(kopts, sec...)
	c.connOpts = append([]kgo.Opt{kgo.SeedBrokers(brokers...)}, sec...)
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

// pollWait bounds one poll, so that the loop regularly hands over records
// a busy worker could not take and applies the seeks workers ask for.
const pollWait = 200 * time.Millisecond

// Run reads records and hands them to the partitions' workers until ctx
// ends (it then stops the workers, letting each finish the write in hand,
// and returns nil) or the consumer is closed. A failing sink does not end
// Run: the batch is retried with backoff (see WithMaxStall for a bound).
func (c *Consumer) Run(ctx context.Context) error {
	c.mu.Lock()
	if c.runCtx != nil {
		c.mu.Unlock()
		return errors.New("consumer: Run called twice")
	}
	c.runCtx = ctx
	c.mu.Unlock()
	for _, s := range c.bestEffort {
		s.start()
	}
	defer func() {
		c.stopWorkers(nil)
		for _, s := range c.bestEffort {
			s.stop()
		}
	}()

	held := map[topicPartition]*handoff{} // records a busy worker has not taken yet
	c.epochs = map[topicPartition]uint64{}
	lastCommit := time.Now()
	for {
		if err := c.health.stalledFor(c.cfg.maxStall); err != nil {
			c.client.AllowRebalance()
			return err
		}
		pctx, cancel := context.WithTimeout(ctx, pollWait)
		fetches := c.client.PollRecords(pctx, c.cfg.maxRecords)
		cancel()
		if fetches.IsClientClosed() {
			return nil
		}
		if ctx.Err() != nil {
			c.client.AllowRebalance()
			return nil
		}
		fetches.EachError(func(topic string, p int32, err error) {
			if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
				c.logOnce("fetch:"+err.Error(), "fetching", "topic", topic, "partition", p, "err", err)
			}
		})
		fetches.EachTopic(func(t kgo.FetchTopic) {
			id := topicID(t.TopicID)
			for _, p := range t.Partitions {
				if len(p.Records) == 0 {
					continue
				}
				tp := topicPartition{t.Topic, p.Partition}
				h := held[tp]
				if h == nil {
					h = &handoff{topicID: id, epoch: c.epochs[tp]}
					held[tp] = h
				}
				h.recs = append(h.recs, p.Records...)
				c.records.Add(int64(len(p.Records)))
			}
		})
		c.handOver(held)
		c.applySeeks(held)
		if time.Since(lastCommit) >= time.Second {
			c.commitDone(ctx)
			lastCommit = time.Now()
		}
		c.client.AllowRebalance()
	}
}

// handOver gives each partition's held records to its worker without
// waiting: a worker that is still busy keeps its partition's fetches
// paused until it takes them.
func (c *Consumer) handOver(held map[topicPartition]*handoff) {
	var pause, resume map[string][]int32
	add := func(m *map[string][]int32, tp topicPartition) {
		if *m == nil {
			*m = map[string][]int32{}
		}
		(*m)[tp.topic] = append((*m)[tp.topic], tp.partition)
	}
	for tp, h := range held {
		w := c.worker(tp)
		if w == nil { // not ours any more
			delete(held, tp)
			continue
		}
		select {
		case w.in <- *h:
			delete(held, tp)
			if w.paused {
				w.paused = false
				add(&resume, tp)
			}
		default:
			if !w.paused {
				w.paused = true
				add(&pause, tp)
			}
		}
	}
	if pause != nil {
		c.client.PauseFetchPartitions(pause)
	}
	if resume != nil {
		c.client.ResumeFetchPartitions(resume)
	}
}

// seek asks the poll loop to read a partition again from offset.
func (c *Consumer) seek(tp topicPartition, offset int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seeks == nil {
		c.seeks = map[string]map[int32]kgo.EpochOffset{}
	}
	if c.seeks[tp.topic] == nil {
		c.seeks[tp.topic] = map[int32]kgo.EpochOffset{}
	}
	c.seeks[tp.topic][tp.partition] = kgo.EpochOffset{Epoch: -1, Offset: offset}
}

// applySeeks applies the seeks workers asked for; it runs in the poll
// loop, where no rebalance can run (SetOffsets' rule). Records of those
// partitions fetched before are dropped, and later ones carry a new
// epoch, so that the worker tells the two apart.
func (c *Consumer) applySeeks(held map[topicPartition]*handoff) {
	c.mu.Lock()
	seeks := c.seeks
	c.seeks = nil
	c.mu.Unlock()
	if len(seeks) == 0 {
		return
	}
	resume := map[string][]int32{}
	c.mu.Lock()
	for t, parts := range seeks {
		for p := range parts {
			tp := topicPartition{t, p}
			c.epochs[tp]++
			delete(held, tp)
			if w := c.workers[tp]; w != nil && w.paused {
				w.paused = false
				resume[t] = append(resume[t], p)
			}
		}
	}
	c.mu.Unlock()
	c.client.SetOffsets(seeks)
	if len(resume) > 0 {
		c.client.ResumeFetchPartitions(resume)
	}
}

// Close leaves the group and closes the client. It is safe to call more
// than once; Run returns once the client is closed. With an instance ID
// (static membership) it leaves the group too, so that the others take
// its partitions over at once instead of after the session timeout.
func (c *Consumer) Close() {
	c.closeOnce.Do(func() {
		c.client.CloseAllowingRebalance()
		if c.cfg.instanceID != "" {
			c.leaveStatic()
		}
	})
}

// logOnce logs msg the first time key is seen, so that a problem that
// repeats for every record does not flood the log.
func (c *Consumer) logOnce(key, msg string, args ...any) {
	if _, seen := c.logged.LoadOrStore(key, struct{}{}); !seen {
		c.cfg.logger.Warn(msg, args...)
	}
}
