// Command broker serves an in-process Kafka-protocol broker (franz-go's
// kfake, see the broker package) on 127.0.0.1:9092 until interrupted: the
// development broker of the seed's three-terminal workflow, on a machine
// without Docker.
//
//	go run ./examples/broker                    # terminal 1
//	go run ./examples/producer -host node       # terminal 2
//	go run ./examples/monitor                   # terminal 3
//
// The default topic and its dead-letter topic (resources, resources.dlq)
// are created up front with -partitions partitions, so that clients that
// cannot trigger topic auto-creation (the seed's kafka-python) find them.
// The log is kept in memory, or in -data DIR across restarts. With
// -tls-cert and -tls-key it serves TLS only (-tls-ca: and requires client
// certificates); with -sasl-mechanism and -sasl-user it requires SASL and
// lets that user in with the password in RIGHTSIZE_SASL_PASSWORD — the
// client flags of the other examples, from the broker's side:
//
//	RIGHTSIZE_SASL_PASSWORD=... go run ./examples/broker -tls-cert server.pem -tls-key server-key.pem \
//	    -sasl-mechanism SCRAM-SHA-512 -sasl-user rightsize
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/rightsize/rightsize/broker"
	"github.com/rightsize/rightsize/internal/cli"
)

const prog = "broker"

func main() {
	addr := flag.String("addr", "127.0.0.1:9092", "listen on this `host:port`")
	topic := flag.String("topic", cli.DefaultTopic, "topic to create up front, with its dead-letter topic (topic.dlq)")
	partitions := flag.Int("partitions", broker.DefaultPartitions, "partitions of each topic created up front")
	dataDir := flag.String("data", "", "keep the log in `DIR` across restarts (default: in memory)")
	sec := cli.RegisterBrokerSecurity(flag.CommandLine)
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: broker [flags]\n\nServes an in-process Kafka broker until interrupted.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 {
		cli.UsageError(flag.CommandLine, prog, "unexpected arguments: "+strings.Join(flag.Args(), " "))
	}

	opts, err := sec.Options()
	if err != nil {
		cli.Fail(prog, err)
	}
	opts = append(opts, broker.WithAddr(*addr), broker.WithTopic(*topic, *partitions))
	where := "in memory"
	if *dataDir != "" {
		opts = append(opts, broker.WithDataDir(*dataDir))
		where = "in " + *dataDir
	}
	ctx, stop := cli.SignalContext(context.Background(), prog)
	defer stop()
	b, err := broker.Start(opts...)
	if err != nil {
		// The broker package's errors start with "broker: " already.
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	at := strings.Join(b.Addrs(), ",")
	fmt.Printf("%s: Kafka on %s (%s; topics %s, %d partitions each; log %s): give clients -brokers %s or %s=%s; Ctrl-C stops it\n",
		prog, at, sec, strings.Join(b.Topics(), ", "), *partitions, where, at, cli.EnvBrokers, at)
	<-ctx.Done()
	b.Close()
	fmt.Fprintf(os.Stderr, "%s: stopped\n", prog)
}
