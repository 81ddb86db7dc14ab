package broker_test

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/rightsize/rightsize/broker"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestDefaultTopicIsCreatedAtStart(t *testing.T) {
	b, err := broker.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	topics, err := kadm.NewClient(cl).ListTopics(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	d, ok := topics[broker.DefaultTopic]
	if !ok || len(d.Partitions) != 4 {
		t.Fatalf("topics %v: want %s with 4 partitions", topics.Names(), broker.DefaultTopic)
	}
	b.Close()
	b.Close() // twice is safe
}

func TestPortAndDataDir(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	dir := t.TempDir()
	start := func() *broker.Broker {
		b, err := broker.Start(broker.WithPort(port), broker.WithDataDir(dir), broker.WithTopic("kept", 1))
		if err != nil {
			t.Fatal(err)
		}
		if got := b.Addrs()[0]; got != "127.0.0.1:"+strconv.Itoa(port) {
			t.Fatalf("listening on %s, want port %d", got, port)
		}
		return b
	}
	b := start()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()...))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "kept", Value: []byte("survives a restart")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	cl.Close()
	b.Close()

	b = start()
	defer b.Close()
	cl, err = kgo.NewClient(kgo.SeedBrokers(b.Addrs()...), kgo.ConsumeTopics("kept"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	pctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	recs := cl.PollFetches(pctx).Records()
	if len(recs) != 1 || string(recs[0].Value) != "survives a restart" {
		t.Fatalf("after restart read %d records", len(recs))
	}
}

func TestBadOptions(t *testing.T) {
	if _, err := broker.Start(broker.WithPort(70000)); err == nil {
		t.Error("port 70000 accepted")
	}
	if _, err := broker.Start(broker.WithTopic("t", 0)); err == nil {
		t.Error("zero partitions accepted")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = broker.Start(broker.WithPort(ln.Addr().(*net.TCPAddr).Port))
	if err == nil {
		t.Error("a port in use accepted")
	}
	t.Log(err)
}
