// Package pipeline runs rightsize's whole path in one process: a Kafka
// broker (the in-process one unless real brokers are given), a store, a
// consumer storing into it, and a publisher feeding the broker.
//
// It is what the all-in-one programs (the quickstart, the custom sampler
// example, a test) need and would otherwise each write out:
//
//	p, err := pipeline.Start(ctx)                 // in-process broker, sqlite:rightsize.db
//	defer p.Close()
//	go producer.Run(ctx, p.Publisher(), samplers) // measure and publish
//	...
//	err = p.Drain(ctx)                            // everything published is now stored
//	u, err := usage.New(p.Store())                // and can be read back
//
// Long-running deployments run the pieces as separate programs instead
// (a producer per node, the monitor consuming into PostgreSQL).
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/rightsize/rightsize/broker"
	"github.com/rightsize/rightsize/consumer"
	"github.com/rightsize/rightsize/producer"
	"github.com/rightsize/rightsize/store"
)

// DefaultDSN is the store a pipeline opens unless WithDSN says otherwise.
const DefaultDSN = "sqlite:rightsize.db"

// An Option changes a setting of Start.
type Option interface{ apply(*config) }

type option func(*config)

func (f option) apply(c *config) { f(c) }

type config struct {
	brokers   []string
	dsn       string
	topic     string
	logger    *slog.Logger
	copts     []consumer.Option
	popts     []producer.ConnectOption
	storeOpts []store.OpenOption
}

// WithBrokers uses the Kafka cluster at these seed brokers. Default: none,
// meaning an in-process broker is started (and stopped by Close).
func WithBrokers(addrs ...string) Option { return option(func(c *config) { c.brokers = addrs }) }

// WithDSN stores into the store dsn names (see store.Open). Default
// DefaultDSN, the embedded file ./rightsize.db.
func WithDSN(dsn string) Option { return option(func(c *config) { c.dsn = dsn }) }

// WithTopic publishes to and consumes from topic. Default "resources".
func WithTopic(topic string) Option { return option(func(c *config) { c.topic = topic }) }

// WithLogger gives the consumer a logger. Default slog.Default().
func WithLogger(l *slog.Logger) Option { return option(func(c *config) { c.logger = l }) }

// WithConsumerOptions adds options to the consumer (after the topic and
// logger Start sets).
func WithConsumerOptions(opts ...consumer.Option) Option {
	return option(func(c *config) { c.copts = append(c.copts, opts...) })
}

// WithProducerOptions adds options to the publisher (after the topic
// Start sets).
func WithProducerOptions(opts ...producer.ConnectOption) Option {
	return option(func(c *config) { c.popts = append(c.popts, opts...) })
}

// WithStoreOptions adds options to the store.
func WithStoreOptions(opts ...store.OpenOption) Option {
	return option(func(c *config) { c.storeOpts = append(c.storeOpts, opts...) })
}

// Pipeline is a running broker, store, consumer and publisher. Close it
// when done.
type Pipeline struct {
	broker   *broker.Broker // nil with real brokers
	brokers  []string
	store    store.Store
	consumer *consumer.Consumer
	pub      *producer.Kafka

	stop    context.CancelFunc
	ran     chan error
	closing sync.Once
	err     error
}

// Start starts the pieces in order — broker, store, consumer, publisher —
// and returns once the consumer is running. An error from any piece (an
// unreachable broker or database) closes what was started and is returned.
func Start(ctx context.Context, opts ...Option) (*Pipeline, error) {
	c := config{dsn: DefaultDSN, topic: broker.DefaultTopic, logger: slog.Default()}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	if c.topic == "" {
		return nil, errors.New("pipeline: empty topic")
	}
	p := &Pipeline{brokers: c.brokers, ran: make(chan error, 1)}
	if len(p.brokers) == 0 {
		b, err := broker.Start(broker.WithTopic(c.topic, 4))
		if err != nil {
			return nil, fmt.Errorf("pipeline: %w", err)
		}
		p.broker, p.brokers = b, b.Addrs()
	}
	fail := func(err error) (*Pipeline, error) {
		p.Close()
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	var err error
	if p.store, err = store.Open(ctx, c.dsn, c.storeOpts...); err != nil {
		return fail(err)
	}
	copts := append([]consumer.Option{consumer.WithTopics(c.topic), consumer.WithLogger(c.logger)}, c.copts...)
	if p.consumer, err = consumer.New(ctx, p.brokers, []consumer.Sink{p.store}, copts...); err != nil {
		return fail(err)
	}
	rctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	p.stop = stop
	go func() { p.ran <- p.consumer.Run(rctx) }()
	popts := append([]producer.ConnectOption{producer.WithTopic(c.topic)}, c.popts...)
	if p.pub, err = producer.Connect(ctx, p.brokers, popts...); err != nil {
		return fail(err)
	}
	return p, nil
}

// Publisher returns the publisher feeding the pipeline's topic.
func (p *Pipeline) Publisher() *producer.Kafka { return p.pub }

// Store returns the store the consumer writes to. It stays open until
// Close.
func (p *Pipeline) Store() store.Store { return p.store }

// Consumer returns the running consumer (for its Stats and Lag).
func (p *Pipeline) Consumer() *consumer.Consumer { return p.consumer }

// Brokers returns the seed brokers in use: the in-process broker's
// address when Start started one.
func (p *Pipeline) Brokers() []string { return p.brokers }

// InProcessBroker reports whether Start started the broker itself.
func (p *Pipeline) InProcessBroker() bool { return p.broker != nil }

// Drain flushes the publisher and waits until the consumer has stored
// every record published, or ctx ends. After Drain the store holds
// everything the publisher had acknowledged.
func (p *Pipeline) Drain(ctx context.Context) error {
	if err := p.pub.Flush(ctx); err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	if err := p.consumer.WaitCaughtUp(ctx); err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	return nil
}

// Close stops the consumer and closes the publisher (flushing what it
// can for a few seconds), the store and the broker it started, in that
// order. It returns the first error met; it is safe to call more than
// once.
func (p *Pipeline) Close() error {
	p.closing.Do(func() {
		var errs []error
		if p.pub != nil {
			ctx, cancel := context.WithTimeout(context.Background(), flushOnClose)
			errs = append(errs, p.pub.Close(ctx))
			cancel()
		}
		if p.consumer != nil {
			p.stop()
			errs = append(errs, <-p.ran)
			p.consumer.Close()
		}
		if p.store != nil {
			errs = append(errs, p.store.Close())
		}
		if p.broker != nil {
			p.broker.Close()
		}
		p.err = errors.Join(errs...)
	})
	return p.err
}

// flushOnClose bounds how long Close waits for the publisher's buffer.
const flushOnClose = 5 * time.Second
