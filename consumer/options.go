package consumer

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/rightsize/rightsize/internal/kafkaconn"
	"github.com/twmb/franz-go/pkg/kgo"
)

// DefaultGroup is the consumer group used unless WithGroup says otherwise.
const DefaultGroup = "rightsize"

// DefaultTopic is the topic read unless WithTopics says otherwise.
const DefaultTopic = "resources"

// An Option changes a setting of a Consumer. New validates them.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	group            string
	topics           []string
	deadLetter       string
	deadLetterSet    bool
	maxRecords       int
	maxBatch         int
	maxStall         time.Duration
	instanceID       string
	sessionTimeout   time.Duration
	rebalanceTimeout time.Duration
	connectTimeout   time.Duration
	logger           *slog.Logger
	security         kafkaconn.Security
	kopts            []kgo.Opt
}

func defaultConfig() config {
	return config{group: DefaultGroup, topics: []string{DefaultTopic}, maxRecords: 20_000, maxBatch: 50_000,
		sessionTimeout: 10 * time.Second, rebalanceTimeout: 15 * time.Second,
		connectTimeout: 10 * time.Second, logger: slog.Default()}
}

func (c *config) validate(brokers []string, sinks []Sink) error {
	switch {
	case len(brokers) == 0:
		return errors.New("consumer: no broker address given")
	case c.group == "":
		return errors.New("consumer: empty group")
	case len(c.topics) == 0 || slices.Contains(c.topics, ""):
		return errors.New("consumer: no topic, or an empty topic name")
	case c.maxRecords < 1:
		return fmt.Errorf("consumer: max records %d, want at least 1", c.maxRecords)
	case c.maxBatch < 1:
		return fmt.Errorf("consumer: max batch %d samples, want at least 1", c.maxBatch)
	case c.maxStall < 0:
		return fmt.Errorf("consumer: max stall %v, want >= 0", c.maxStall)
	case c.sessionTimeout < time.Second:
		return fmt.Errorf("consumer: session timeout %v, want at least 1s", c.sessionTimeout)
	case c.rebalanceTimeout < time.Second:
		return fmt.Errorf("consumer: rebalance timeout %v, want at least 1s", c.rebalanceTimeout)
	case c.connectTimeout <= 0:
		return fmt.Errorf("consumer: connect timeout %v, want > 0", c.connectTimeout)
	case len(sinks) == 0:
		return errors.New("consumer: no sink")
	}
	if !c.deadLetterSet {
		c.deadLetter = c.topics[0] + ".dlq"
	}
	if c.logger == nil {
		c.logger = slog.Default()
	}
	return nil
}

// WithGroup sets the consumer group. Default DefaultGroup ("rightsize").
func WithGroup(group string) Option { return optionFunc(func(c *config) { c.group = group }) }

// WithTopics sets the topics to read. Default DefaultTopic ("resources").
func WithTopics(topics ...string) Option {
	return optionFunc(func(c *config) { c.topics = topics })
}

// WithDeadLetterTopic copies malformed records to topic, with headers
// saying why and where they came from. Default: the first topic's name
// followed by ".dlq". An empty name turns dead-lettering off (malformed
// records are still counted and logged).
func WithDeadLetterTopic(topic string) Option {
	return optionFunc(func(c *config) { c.deadLetter, c.deadLetterSet = topic, true })
}

// WithMaxRecords bounds how many records one batch decodes. Default 20 000
// (a few hundred thousand samples).
func WithMaxRecords(n int) Option { return optionFunc(func(c *config) { c.maxRecords = n }) }

// WithMaxBatch bounds how many samples one write to the sinks carries:
// a partition's worker gathers what has arrived, up to this, into one
// batch. Default 50 000: larger batches buy little speed and cost
// memory (about 100 bytes a sample, per partition being written).
func WithMaxBatch(samples int) Option { return optionFunc(func(c *config) { c.maxBatch = samples }) }

// WithMaxStall makes Run return an error matching ErrStalled when a batch
// has failed to be stored for longer than d, so that a supervisor can
// restart the process or page someone. Default 0: retry for ever (the
// stall shows in Stats().Stalled).
func WithMaxStall(d time.Duration) Option { return optionFunc(func(c *config) { c.maxStall = d }) }

// WithInstanceID makes this consumer a static member of its group
// (KIP-345) with this ID, unique within the group: restarted after a
// crash with the same ID, it takes its partitions back at once instead of
// waiting for the group to notice the old member is gone. Close leaves
// the group, so the others take the partitions over at once. Default:
// none (a dynamic member).
func WithInstanceID(id string) Option { return optionFunc(func(c *config) { c.instanceID = id }) }

// WithSessionTimeout sets how long the group waits without a heartbeat
// before it gives a member's partitions to the others. Default 10 s (the
// brokers allow 6 s to 5 min unless configured otherwise).
func WithSessionTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.sessionTimeout = d })
}

// WithRebalanceTimeout sets how long a rebalance waits for every member to
// rejoin (each lets the write in hand finish first). Default 15 s.
func WithRebalanceTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.rebalanceTimeout = d })
}

// WithConnectTimeout bounds how long New waits for a broker to answer.
// Default 10 s.
func WithConnectTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.connectTimeout = d })
}

// WithLogger logs malformed records, sink errors and retries to l. Default
// slog.Default().
func WithLogger(l *slog.Logger) Option { return optionFunc(func(c *config) { c.logger = l }) }

// WithTLS makes every connection to the brokers TLS with cfg (its
// RootCAs to trust the brokers, its Certificates to present a client
// certificate). Default: plaintext.
func WithTLS(cfg *tls.Config) Option {
	return optionFunc(func(c *config) { c.security.TLS = cfg })
}

// WithSASL authenticates to the brokers with SASL: mechanism is PLAIN,
// SCRAM-SHA-256 or SCRAM-SHA-512. Default: no authentication. The
// password is held in memory only; a refusal is an error matching
// rightsize.ErrAuthentication that names the mechanism and user, never
// the password.
func WithSASL(mechanism, user, password string) Option {
	return optionFunc(func(c *config) {
		c.security.Mechanism, c.security.User, c.security.Password = mechanism, user, password
	})
}

// WithKafkaOptions adds franz-go client options (fetch sizes, client ID,
// ...) after the ones New sets.
func WithKafkaOptions(opts ...kgo.Opt) Option {
	return optionFunc(func(c *config) { c.kopts = append(c.kopts, opts...) })
}
