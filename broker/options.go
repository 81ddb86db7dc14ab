package broker

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
)

// An Option changes a setting of the broker Start starts. Start validates
// them.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	addr       string
	topics     []topicSpec
	dataDir    string
	autoCreate bool
	tls        *tls.Config
	users      []saslUser
}

type topicSpec struct {
	name       string
	partitions int
}

type saslUser struct{ mechanism, name, password string }

// WithAddr listens on addr, a host:port. Default DefaultAddr
// ("127.0.0.1:0": a free port on the loopback interface; Addrs says which).
// Port 0 picks a free port. The broker tells clients to reconnect to the
// address it listens on, so a wildcard host (":9092", "0.0.0.0:9092")
// serves only clients on this machine.
func WithAddr(addr string) Option { return optionFunc(func(c *config) { c.addr = addr }) }

// WithTopic creates topic and its dead-letter topic (topic+".dlq"), each
// with the given number of partitions, before Start returns; it may be
// given more than once. Default: DefaultTopic and DefaultTopic+".dlq" with
// DefaultPartitions (4) partitions each, created only when no WithTopic is
// given. With WithDataDir, a topic the directory already holds is kept as
// it is.
func WithTopic(topic string, partitions int) Option {
	return optionFunc(func(c *config) { c.topics = append(c.topics, topicSpec{topic, partitions}) })
}

// WithDataDir keeps the broker's log in dir (created if needed), so a
// restarted broker keeps its topics, records and consumer group offsets.
// Default: everything in memory, lost on Close.
func WithDataDir(dir string) Option { return optionFunc(func(c *config) { c.dataDir = dir }) }

// WithoutAutoCreate makes producing to or fetching from an unknown topic an
// error, as on a cluster with auto.create.topics.enable=false. Default:
// unknown topics are created on first use, with DefaultPartitions
// partitions.
func WithoutAutoCreate() Option { return optionFunc(func(c *config) { c.autoCreate = false }) }

// WithTLS serves TLS only, with cfg: its Certificates (or GetCertificate)
// are the broker's; set ClientAuth and ClientCAs to require client
// certificates. Default: plaintext.
func WithTLS(cfg *tls.Config) Option { return optionFunc(func(c *config) { c.tls = cfg }) }

// WithSASLUser requires SASL authentication and lets user in with
// password over mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (in any
// case). It may be given more than once, for several users or for one
// user over several mechanisms. Default: no authentication, every client
// is served.
func WithSASLUser(mechanism, user, password string) Option {
	return optionFunc(func(c *config) { c.users = append(c.users, saslUser{mechanism, user, password}) })
}

func (c *config) validate() error {
	_, port, err := net.SplitHostPort(c.addr)
	if err != nil {
		return fmt.Errorf("broker: address %q: want host:port (127.0.0.1:9092, :9092)", c.addr)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("broker: address %q: port %q is not a number from 0 to 65535", c.addr, port)
	}
	seen := map[string]bool{}
	for _, t := range c.topics {
		switch {
		case t.name == "":
			return errors.New("broker: a topic needs a name")
		case t.partitions < 1 || t.partitions > maxPartitions:
			return fmt.Errorf("broker: topic %s: %d partitions, want 1 to %d", t.name, t.partitions, maxPartitions)
		case seen[t.name]:
			return fmt.Errorf("broker: topic %s given twice", t.name)
		}
		seen[t.name] = true
	}
	for _, t := range c.topics {
		if seen[t.name+DeadLetterSuffix] {
			return fmt.Errorf("broker: topic %s is also %s's dead-letter topic", t.name+DeadLetterSuffix, t.name)
		}
	}
	if c.tls != nil && len(c.tls.Certificates) == 0 && c.tls.GetCertificate == nil && c.tls.GetConfigForClient == nil {
		return errors.New("broker: TLS configuration without a certificate (set Certificates or GetCertificate)")
	}
	for i := range c.users {
		u := &c.users[i]
		m := normalizeMechanism(u.mechanism)
		switch {
		case m == "":
			return fmt.Errorf("broker: SASL user %q: unknown mechanism %q, want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", u.name, u.mechanism)
		case u.name == "":
			return fmt.Errorf("broker: a SASL %s user needs a name", m)
		case u.password == "":
			return fmt.Errorf("broker: SASL %s user %q needs a password", m, u.name)
		}
		u.mechanism = m
	}
	return nil
}
