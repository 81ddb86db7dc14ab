package consumer

import (
	"crypto/tls"
	"log/slog"
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
	group          string
	topics         []string
	deadLetter     string
	deadLetterSet  bool
	maxRecords     int
	connectTimeout time.Duration
	logger         *slog.Logger
	security       kafkaconn.Security
	kopts          []kgo.Opt
}

func defaultConfig() config {
	return config{group: DefaultGroup, topics: []string{DefaultTopic}, maxRecords: 20_000,
		connectTimeout: 10 * time.Second, logger: slog.Default()}
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
