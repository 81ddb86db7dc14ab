// Package producer publishes samples to Kafka and runs the sampling loop.
//
// A [Publisher] sends samples somewhere; [Kafka] is the one rightsize
// ships: it encodes each service's samples of one tick as one JSON record
// (see the record format in the README), keyed by service so that one
// partition keeps a service's samples in order, and produces them with an
// idempotent franz-go client. While the broker is away it buffers a bounded
// number of records and counts, reports and drops what does not fit: a
// sampler never blocks on Kafka.
//
// [Run] is the sampling loop: every interval it asks each Sampler for its
// samples and publishes them, until its context ends.
package producer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/internal/kafkaconn"
	"github.com/rightsize/rightsize/internal/wire"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Publisher sends samples on.
//
// Publish validates every sample before sending any; an invalid one makes it
// return an error matching rightsize.ErrInvalidSample and send nothing.
// Publish may return before the samples are delivered; Close delivers what
// is still buffered (waiting at most until ctx ends), then releases the
// publisher. Publish is never called after Close. Both are safe for
// concurrent use.
type Publisher interface {
	Publish(ctx context.Context, samples ...rightsize.Sample) error
	Close(ctx context.Context) error
}

// DefaultTopic is the topic samples are published to unless WithTopic says
// otherwise (the seed's topic).
const DefaultTopic = "resources"

// ErrDropped is matched by the error Publish returns when the buffer of
// records awaiting the broker was full and some records were dropped.
var ErrDropped = errors.New("producer: buffer full, records dropped")

// ErrClosed is returned by Publish after Close.
var ErrClosed = errors.New("producer: closed")

// Kafka publishes samples to a Kafka topic. Create it with New or Connect.
type Kafka struct {
	client      *kgo.Client
	owns        bool
	topic       string
	maxBuffered int // 0: unknown (a caller's client)

	closed atomic.Bool
	once   sync.Once

	published, acked, dropped, failed atomic.Int64
	lastErr                           atomic.Value // string
	conn                              connState
}

// Stats counts records (one per service per tick) since the publisher was
// created.
type Stats struct {
	Published int64 // handed to the Kafka client
	Acked     int64 // acknowledged by the broker
	Dropped   int64 // not accepted because the buffer was full
	Failed    int64 // given up on after being buffered (delivery timeout, closed before delivery)
	// LastError is the most recent delivery error, or "".
	LastError string
	// Unreachable says since when no broker could be reached (zero when
	// the last connection attempt succeeded), and BrokerError why: while
	// the brokers are away records wait in the buffer, and this is how a
	// caller learns of it before anything fails.
	Unreachable time.Time
	BrokerError string
}

// An Option changes a setting of a publisher made by New or Connect.
// Options that only Connect can honour (they configure the Kafka client
// it creates) are ConnectOptions: New does not accept them.
type Option interface {
	ConnectOption
	apply(*config)
}

// A ConnectOption changes a setting of the publisher Connect makes and
// of its Kafka client. Every Option is also a ConnectOption.
type ConnectOption interface{ applyConnect(*config) }

type config struct {
	topic          string
	maxBuffered    int
	connectTimeout time.Duration
	deliveryTime   time.Duration
	security       kafkaconn.Security
	kopts          []kgo.Opt
}

type option func(*config)

func (f option) apply(c *config)        { f(c) }
func (f option) applyConnect(c *config) { f(c) }

type connectOption func(*config)

func (f connectOption) applyConnect(c *config) { f(c) }

// WithTopic publishes to topic. Default: DefaultTopic ("resources").
func WithTopic(topic string) Option { return option(func(c *config) { c.topic = topic }) }

// WithMaxBuffered bounds how many records (one per service per tick) wait
// for the broker; when it is full, new records are dropped and counted.
// Default 100 000 (about 28 hours of one service sampled every second, or
// 1.4 hours of 20 services). With New, the client's kgo.MaxBufferedRecords
// applies instead.
func WithMaxBuffered(n int) ConnectOption {
	return connectOption(func(c *config) { c.maxBuffered = n })
}

// WithConnectTimeout bounds how long Connect waits for a broker to answer.
// Default 10 s.
func WithConnectTimeout(d time.Duration) ConnectOption {
	return connectOption(func(c *config) { c.connectTimeout = d })
}

// WithDeliveryTimeout gives up on a buffered record that could not be
// delivered for this long, counting it as failed. Default 0: keep retrying
// while it fits in the buffer.
func WithDeliveryTimeout(d time.Duration) ConnectOption {
	return connectOption(func(c *config) { c.deliveryTime = d })
}

// WithTLS makes every connection to the brokers TLS with cfg (its
// RootCAs to trust the brokers, its Certificates to present a client
// certificate). Default: plaintext.
func WithTLS(cfg *tls.Config) ConnectOption {
	return connectOption(func(c *config) { c.security.TLS = cfg })
}

// WithSASL authenticates to the brokers with SASL: mechanism is PLAIN,
// SCRAM-SHA-256 or SCRAM-SHA-512. Default: no authentication. The
// password is held in memory only; a refusal is an error matching
// rightsize.ErrAuthentication that names the mechanism and user, never
// the password.
func WithSASL(mechanism, user, password string) ConnectOption {
	return connectOption(func(c *config) {
		c.security.Mechanism, c.security.User, c.security.Password = mechanism, user, password
	})
}

// WithKafkaOptions adds franz-go client options (client ID, compression,
// ...) to those Connect sets.
func WithKafkaOptions(opts ...kgo.Opt) ConnectOption {
	return connectOption(func(c *config) { c.kopts = append(c.kopts, opts...) })
}

func defaultConfig() config {
	return config{topic: DefaultTopic, maxBuffered: 100_000, connectTimeout: 10 * time.Second}
}

func (c config) validate() error {
	switch {
	case c.topic == "":
		return errors.New("producer: empty topic")
	case c.maxBuffered < 1:
		return fmt.Errorf("producer: max buffered records %d, want at least 1", c.maxBuffered)
	case c.connectTimeout <= 0:
		return fmt.Errorf("producer: connect timeout %v, want > 0", c.connectTimeout)
	case c.deliveryTime < 0:
		return fmt.Errorf("producer: delivery timeout %v, want >= 0", c.deliveryTime)
	}
	return nil
}

// New returns a publisher that produces with client, which stays the
// caller's: Close flushes but does not close it. The client should be
// idempotent (franz-go's default) so that retries never duplicate a record.
func New(client *kgo.Client, opts ...Option) (*Kafka, error) {
	if client == nil {
		return nil, errors.New("producer: nil client")
	}
	c := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return &Kafka{client: client, topic: c.topic}, nil
}

// Connect creates a Kafka client for brokers (host:port seeds) with the
// options rightsize recommends (idempotent, bounded buffer, snappy
// compression), checks that a broker answers, and returns a publisher that
// owns the client. A broker that does not answer within the connect timeout
// gives an error matching rightsize.ErrUnreachable that names the
// addresses.
func Connect(ctx context.Context, brokers []string, opts ...ConnectOption) (*Kafka, error) {
	c := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o.applyConnect(&c)
		}
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	if len(brokers) == 0 {
		return nil, errors.New("producer: no broker address given")
	}
	kopts := []kgo.Opt{
		kgo.SeedBrokers(brokers...),
		kgo.MaxBufferedRecords(c.maxBuffered),
		kgo.ProducerBatchCompression(kgo.SnappyCompression(), kgo.NoCompression()),
		kgo.ProducerLinger(5 * time.Millisecond),
		kgo.AllowAutoTopicCreation(),
	}
	if c.deliveryTime > 0 {
		kopts = append(kopts, kgo.RecordDeliveryTimeout(c.deliveryTime))
	}
	sec, err := c.security.Opts()
	if err != nil {
		return nil, fmt.Errorf("producer: %w", err)
	}
	kopts = append(kopts, sec...)
	k := &Kafka{owns: true, topic: c.topic, maxBuffered: c.maxBuffered}
	kopts = append(kopts, kgo.WithHooks(&k.conn))
	kopts = append(kopts, c.kopts...)
	client, err := kgo.NewClient(kopts...)
	if err != nil {
		return nil, fmt.Errorf("producer: %w", err)
	}
	if err := kafkaconn.Ping(ctx, client, brokers, c.connectTimeout, c.security); err != nil {
		client.Close()
		return nil, fmt.Errorf("producer: %w", err)
	}
	k.client = client
	return k, nil
}

// Publish encodes samples as one record per (task, service, instance, time)
// and hands them to the client without waiting for the broker. If the
// buffer is full the records that do not fit are dropped and counted in
// Stats; when Publish sees that itself it returns an error matching
// ErrDropped (a drop found later by the client shows only in Stats).
func (k *Kafka) Publish(ctx context.Context, samples ...rightsize.Sample) error {
	if k.closed.Load() {
		return ErrClosed
	}
	recs, err := wire.Encode(samples)
	if err != nil {
		return fmt.Errorf("producer: %w", err)
	}
	room := len(recs)
	if k.maxBuffered > 0 {
		room = max(0, min(room, k.maxBuffered-int(k.client.BufferedProduceRecords())))
	}
	for _, r := range recs[:room] {
		kr := &kgo.Record{Topic: k.topic, Key: r.Key, Value: r.Value, Timestamp: r.Timestamp}
		for _, h := range r.Headers {
			kr.Headers = append(kr.Headers, kgo.RecordHeader{Key: h.Key, Value: h.Value})
		}
		k.published.Add(1)
		k.client.TryProduce(ctx, kr, k.promise)
	}
	if n := len(recs) - room; n > 0 {
		k.dropped.Add(int64(n))
		return fmt.Errorf("%w: %d of %d records (%d dropped in all)", ErrDropped, n, len(recs), k.dropped.Load())
	}
	return nil
}

func (k *Kafka) promise(_ *kgo.Record, err error) {
	switch {
	case err == nil:
		k.acked.Add(1)
	case errors.Is(err, kgo.ErrMaxBuffered):
		k.published.Add(-1)
		k.dropped.Add(1)
	default:
		k.failed.Add(1)
		k.lastErr.Store(err.Error())
	}
}

// Flush waits until every buffered record is acknowledged or failed, or ctx
// ends.
func (k *Kafka) Flush(ctx context.Context) error {
	if err := k.client.Flush(ctx); err != nil {
		return fmt.Errorf("producer: flush: %d records still buffered: %w", k.client.BufferedProduceRecords(), err)
	}
	return nil
}

// Close flushes (waiting at most until ctx ends) and, if the publisher
// created its client, closes it. Records still buffered when ctx ends are
// lost and counted as failed. Close is safe to call more than once.
func (k *Kafka) Close(ctx context.Context) error {
	var err error
	k.once.Do(func() {
		k.closed.Store(true)
		err = k.Flush(ctx)
		if k.owns {
			k.client.Close() // fails what is still buffered, through the promises
		}
	})
	return err
}

// Stats returns the publisher's counters.
func (k *Kafka) Stats() Stats {
	s := Stats{Published: k.published.Load(), Acked: k.acked.Load(), Dropped: k.dropped.Load(), Failed: k.failed.Load()}
	s.Unreachable, s.BrokerError = k.conn.state()
	if v, ok := k.lastErr.Load().(string); ok {
		s.LastError = v
	}
	return s
}

// connState follows the client's connections to the brokers (a franz-go
// hook): the first failure since the last success, and its error.
type connState struct {
	mu    sync.Mutex
	since time.Time
	err   string
}

var (
	_ kgo.HookBrokerConnect = (*connState)(nil)
	_ kgo.HookBrokerWrite   = (*connState)(nil)
	_ kgo.HookBrokerRead    = (*connState)(nil)
)

func (c *connState) OnBrokerConnect(meta kgo.BrokerMetadata, _ time.Duration, _ net.Conn, err error) {
	c.record(meta, "connecting to", err)
}

func (c *connState) OnBrokerWrite(meta kgo.BrokerMetadata, _ int16, _ int, _, _ time.Duration, err error) {
	c.record(meta, "writing to", err)
}

func (c *connState) OnBrokerRead(meta kgo.BrokerMetadata, _ int16, _ int, _, _ time.Duration, err error) {
	c.record(meta, "reading from", err)
}

func (c *connState) record(meta kgo.BrokerMetadata, what string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err == nil {
		c.since, c.err = time.Time{}, ""
		return
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, kgo.ErrClientClosed) {
		return
	}
	if c.since.IsZero() {
		c.since = time.Now()
	}
	c.err = fmt.Sprintf("%s broker %s: %v", what, net.JoinHostPort(meta.Host, fmt.Sprint(meta.Port)), err)
}

func (c *connState) state() (time.Time, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.since, c.err
}
