// Package broker starts an in-process Kafka-protocol broker for demos and
// tests: franz-go's kfake, a single node.
//
// It speaks the real Kafka wire protocol, so any Kafka client (franz-go,
// kcat, the seed's kafka-python) can produce to and consume from it, over
// plaintext or TLS, with or without SASL (PLAIN, SCRAM-SHA-256,
// SCRAM-SHA-512). It is not a production broker: one node, no replication,
// its log in memory unless WithDataDir is given. The all-in-one example
// programs start one when no -brokers flag is given, examples/broker serves
// one on 127.0.0.1:9092, and tests start one per test.
//
// The topics rightsize uses are created before Start returns — by default
// DefaultTopic and its dead-letter topic, DefaultTopic+".dlq", with
// DefaultPartitions partitions each — because some clients cannot trigger
// topic auto-creation (kafka-python 2.0 sends Metadata versions too old
// for it).
package broker

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
)

// DefaultTopic is the topic rightsize publishes to unless told otherwise.
const DefaultTopic = "resources"

// DeadLetterSuffix is appended to a topic's name to name its dead-letter
// topic, as the consumer does by default.
const DeadLetterSuffix = ".dlq"

// DefaultPartitions is the number of partitions of the topics created at
// start, and of any topic created on first use.
const DefaultPartitions = 4

// DefaultAddr is where the broker listens unless WithAddr says otherwise:
// a free port on the loopback interface.
const DefaultAddr = "127.0.0.1:0"

// maxPartitions bounds WithTopic: more is a typo, not a test.
const maxPartitions = 10_000

// SASL mechanisms a user can be given with WithSASLUser.
const (
	Plain       = "PLAIN"
	ScramSHA256 = "SCRAM-SHA-256"
	ScramSHA512 = "SCRAM-SHA-512"
)

// Broker is a running in-process broker. Close it when done.
type Broker struct {
	cluster *kfake.Cluster
	topics  []string
	closing atomic.Bool
}

// Start starts a broker, creates its topics and returns once it accepts
// connections. It returns an error for invalid options, and one naming
// the address when it cannot listen there (errors.Is(err,
// syscall.EADDRINUSE) when another process holds the port).
func Start(opts ...Option) (*Broker, error) {
	c := config{addr: DefaultAddr, autoCreate: true}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	topics := c.topics
	if len(topics) == 0 {
		topics = []topicSpec{{DefaultTopic, DefaultPartitions}}
	}

	b := &Broker{}
	var listenErr error
	kopts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.DefaultNumPartitions(DefaultPartitions),
		// kfake listens on 127.0.0.1 only; listen where we were asked.
		kfake.ListenFn(func(network, _ string) (net.Listener, error) {
			ln, err := net.Listen(network, c.addr)
			if err != nil {
				listenErr = err
				return nil, err
			}
			// TLS is ours rather than kfake's, so that a refusal of
			// credentials can be answered inside it.
			if c.tls != nil {
				ln = tls.NewListener(ln, c.tls.Clone())
			}
			if len(c.users) > 0 {
				ln = saslListener{Listener: ln, closing: &b.closing}
			}
			return ln, nil
		}),
	}
	if c.autoCreate {
		kopts = append(kopts, kfake.AllowAutoTopicCreation())
	}
	if c.dataDir != "" {
		kopts = append(kopts, kfake.DataDir(c.dataDir))
	}
	if len(c.users) > 0 {
		kopts = append(kopts, kfake.EnableSASL())
		for _, u := range c.users {
			kopts = append(kopts, kfake.Superuser(u.mechanism, u.name, u.password))
		}
	}
	cl, err := kfake.NewCluster(kopts...)
	switch {
	case listenErr != nil:
		return nil, listenError(c.addr, listenErr)
	case err != nil:
		return nil, fmt.Errorf("broker: start: %w", err)
	}
	b.cluster = cl
	for _, t := range topics {
		for _, name := range []string{t.name, t.name + DeadLetterSuffix} {
			// A broker restarted on its data directory already has
			// the topics it had: keep them as they are.
			if cl.TopicInfo(name) != nil {
				b.topics = append(b.topics, name)
				continue
			}
			if err := cl.CreateTopic(name, int32(t.partitions), nil); err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
				cl.Close()
				return nil, fmt.Errorf("broker: create topic %s: %w", name, err)
			}
			b.topics = append(b.topics, name)
		}
	}
	return b, nil
}

func listenError(addr string, err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("broker: cannot listen on %s: %w (is another broker running?)", addr, syscall.EADDRINUSE)
	}
	// net.OpError's text already names the address.
	return fmt.Errorf("broker: %w", err)
}

// Addrs returns the broker's host:port addresses, to give to a Kafka client
// as seed brokers.
func (b *Broker) Addrs() []string { return b.cluster.ListenAddrs() }

// Topics returns the topics created at start, each followed by its
// dead-letter topic.
func (b *Broker) Topics() []string { return append([]string(nil), b.topics...) }

// Close stops the broker and closes its connections; with WithDataDir it
// first writes its state there. It is safe to call more than once, and on
// a nil *Broker.
func (b *Broker) Close() {
	if b != nil && b.cluster != nil {
		b.closing.Store(true)
		b.cluster.Close()
	}
}

// normalizeMechanism returns m in the spelling kfake knows, or "".
func normalizeMechanism(m string) string {
	switch u := strings.ToUpper(m); u {
	case Plain, ScramSHA256, ScramSHA512:
		return u
	}
	return ""
}
