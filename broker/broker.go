// Package broker starts an in-process Kafka-protocol broker for demos and
// tests: franz-go's kfake, listening on the loopback interface.
//
// It speaks the real Kafka wire protocol, so any Kafka client (franz-go,
// kcat, the seed's kafka-python) can produce to and consume from it. It is
// not a production broker: a single node, its log in memory unless
// WithDataDir is given. The all-in-one example programs start one when no
// -brokers flag is given; tests start one per test.
package broker

import (
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kfake"
)

// DefaultTopic is the topic rightsize publishes to unless told otherwise.
const DefaultTopic = "resources"

// Broker is a running in-process broker. Close it when done.
type Broker struct {
	cluster *kfake.Cluster
}

type config struct {
	port       int
	topics     map[string]int32
	dataDir    string
	autoCreate bool
}

// Option configures Start.
type Option func(*config)

// WithPort listens on 127.0.0.1:port. The default, 0, picks a free port;
// Addrs says which.
func WithPort(port int) Option { return func(c *config) { c.port = port } }

// WithTopic creates topic with the given number of partitions at start.
// The default creates DefaultTopic with 4 partitions. Topics are created
// before Start returns, so clients that cannot trigger auto-creation (old
// Metadata versions, as kafka-python 2.0 sends) find them.
func WithTopic(topic string, partitions int32) Option {
	return func(c *config) { c.topics[topic] = partitions }
}

// WithDataDir keeps the broker's log in dir, so a restarted broker keeps
// its records and consumer group offsets. The default keeps everything in
// memory.
func WithDataDir(dir string) Option { return func(c *config) { c.dataDir = dir } }

// WithoutAutoCreate makes producing to or fetching from an unknown topic an
// error, as on a cluster with auto.create.topics.enable=false. By default
// unknown topics are created on first use.
func WithoutAutoCreate() Option { return func(c *config) { c.autoCreate = false } }

// Start starts a broker and returns once it accepts connections.
func Start(opts ...Option) (*Broker, error) {
	c := config{topics: map[string]int32{}, autoCreate: true}
	for _, o := range opts {
		o(&c)
	}
	if c.port < 0 || c.port > 65535 {
		return nil, fmt.Errorf("broker: port %d out of range", c.port)
	}
	if len(c.topics) == 0 {
		c.topics[DefaultTopic] = 4
	}
	kopts := []kfake.Opt{kfake.NumBrokers(1), kfake.Ports(c.port), kfake.DefaultNumPartitions(4)}
	for topic, n := range c.topics {
		if topic == "" || n < 1 {
			return nil, errors.New("broker: a topic needs a name and at least one partition")
		}
		kopts = append(kopts, kfake.SeedTopics(n, topic))
	}
	if c.autoCreate {
		kopts = append(kopts, kfake.AllowAutoTopicCreation())
	}
	if c.dataDir != "" {
		kopts = append(kopts, kfake.DataDir(c.dataDir))
	}
	cl, err := kfake.NewCluster(kopts...)
	if err != nil {
		return nil, fmt.Errorf("broker: start on 127.0.0.1:%d: %w", c.port, err)
	}
	return &Broker{cluster: cl}, nil
}

// Addrs returns the broker's host:port addresses, to give to a Kafka client
// as seed brokers.
func (b *Broker) Addrs() []string { return b.cluster.ListenAddrs() }

// Close stops the broker and closes its connections. It is safe to call
// more than once.
func (b *Broker) Close() {
	if b != nil && b.cluster != nil {
		b.cluster.Close()
	}
}
