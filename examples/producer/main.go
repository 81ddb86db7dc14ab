// Command producer samples one service and publishes its samples to Kafka
// until interrupted, flushing what it holds on exit — the seed's
// `producer.py service_name image_ID`, measuring the service itself:
//
//	go run ./examples/producer -pid 4242 resize img-42
//	go run ./examples/producer -match 'nginx: worker' -interval 5s web
//	go run ./examples/producer -container my-postgres db
//	go run ./examples/producer -unit nginx.service -unit php-fpm.service web
//	go run ./examples/producer -pod 7b2f0c64-... -pod-container app api
//	go run ./examples/producer -host node
//
// Target flags may be repeated: each target then gets an instance label of
// its own (host/target). A target that goes away (its process exits, its
// cgroup is removed) ends its series; the program stops when none is left.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/rightsize/rightsize/internal/cli"
	"github.com/rightsize/rightsize/producer"
	"github.com/rightsize/rightsize/sample"
)

const prog = "producer"

func main() {
	fs := flag.CommandLine
	var targets []sample.Target
	for _, f := range []struct{ kind, usage string }{
		{sample.KindPID, "sample the process `PID` and its descendants"},
		{sample.KindPIDFile, "sample the process whose PID the `file` holds, followed across restarts"},
		{sample.KindMatch, "sample every process whose name or command line matches the regular `expression`, with descendants"},
		{sample.KindCgroup, "sample the cgroup at `path` (a directory, or a path within the cgroup hierarchy)"},
		{sample.KindContainer, "sample the Docker/containerd/CRI-O container with this `id or name`"},
		{sample.KindUnit, "sample the systemd `unit`"},
		{sample.KindPod, "sample the Kubernetes pod with this `UID`"},
	} {
		fs.Func(f.kind, f.usage+" (repeatable)", func(v string) error { targets = append(targets, sample.Target{Kind: f.kind, Value: v}); return nil })
	}
	podContainer := fs.String("pod-container", "", "with -pod: sample only this `container` of the pod")
	host := fs.Bool("host", false, "sample the whole machine (as the seed's producers did)")
	interval := fs.Duration("interval", time.Second, "sampling interval")
	kafka := cli.RegisterKafka(fs, cli.DefaultBrokers)
	instance := fs.String("instance", "", "instance label (default: this host's name)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "usage: producer [flags] SERVICE [TASK]\n\nSamples SERVICE (for TASK, if given) and publishes to Kafka until interrupted.\nGive at least one target flag.\n\n")
		fs.PrintDefaults()
	}
	flag.Parse()
	if fs.NArg() < 1 || fs.NArg() > 2 {
		cli.UsageError(fs, prog, "give SERVICE and, optionally, TASK")
	}
	service, task := fs.Arg(0), fs.Arg(1)

	if *host {
		targets = append(targets, sample.Target{Kind: sample.KindHost})
	}
	switch {
	case len(targets) == 0:
		cli.UsageError(fs, prog, "no target: give -pid, -pidfile, -match, -cgroup, -container, -unit, -pod or -host")
	case *podContainer != "" && !slices.ContainsFunc(targets, func(t sample.Target) bool { return t.Kind == sample.KindPod }):
		cli.UsageError(fs, prog, "-pod-container needs -pod")
	case *interval <= 0:
		cli.UsageError(fs, prog, fmt.Sprintf("-interval %v: want a positive duration", *interval))
	}

	hostname, _ := os.Hostname()
	*instance = cmp.Or(*instance, hostname)
	scanner := must(sample.NewScanner()) // one scan of /proc per tick for every process target
	var samplers []sample.Sampler
	for _, t := range targets {
		inst := *instance
		if len(targets) > 1 {
			inst = *instance + "/" + t.Kind + ":" + t.Value
		}
		if t.Kind == sample.KindPod {
			t.Container = *podContainer
		}
		s, err := sample.New(service, t, sample.WithTask(task), sample.WithInstance(inst), sample.WithScanner(scanner))
		if err != nil {
			flagName := strings.TrimSuffix(fmt.Sprintf("-%s %q", t.Kind, t.Value), ` ""`) // -pid "4242", -host
			cli.Fail(prog, fmt.Errorf("%s: %w", flagName, err))
		}
		samplers = append(samplers, s)
	}

	ctx, stop := cli.SignalContext(context.Background(), prog)
	defer stop()
	popts := must(kafka.ProducerOptions()) // TLS and SASL, as the flags say
	pub := must(producer.Connect(ctx, kafka.Addrs(), append(popts, producer.WithTopic(kafka.Topic))...))
	slog.Info("publishing", "service", service, "task", task, "targets", len(samplers), "every", *interval, "brokers", kafka.Brokers, "topic", kafka.Topic)
	runErr := producer.Run(ctx, pub, samplers, producer.WithInterval(*interval))

	fctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	closeErr := pub.Close(fctx)
	st := pub.Stats()
	slog.Info("stopped", "records", st.Published, "acknowledged", st.Acked, "dropped", st.Dropped, "failed", st.Failed)
	if err := errors.Join(runErr, closeErr); err != nil {
		cli.Fail(prog, err)
	}
}

// must returns v, or ends the program with err.
func must[T any](v T, err error) T {
	if err != nil {
		cli.Fail(prog, err)
	}
	return v
}
