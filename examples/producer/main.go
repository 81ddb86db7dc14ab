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
// Target flags may be repeated; with more than one target each gets an
// instance label of its own (host/target), so their series stay apart. A
// target that goes away (its process exits, its cgroup is removed) ends
// its series and the others go on; the program stops when none is left.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rightsize/rightsize/producer"
	"github.com/rightsize/rightsize/sample"
)

// targets collects a repeatable flag's values.
type targets []string

func (t *targets) String() string     { return strings.Join(*t, ",") }
func (t *targets) Set(v string) error { *t = append(*t, v); return nil }

type target struct {
	kind, value string
}

func main() {
	var pids, pidFiles, matches, cgroups, containers, units, pods targets
	flag.Var(&pids, "pid", "sample the process `PID` and its descendants (repeatable)")
	flag.Var(&pidFiles, "pidfile", "sample the process whose PID the `file` holds, followed across restarts (repeatable)")
	flag.Var(&matches, "match", "sample every process whose name or command line matches the regular `expression`, with descendants (repeatable)")
	flag.Var(&cgroups, "cgroup", "sample the cgroup at `path` (a directory, or a path within the cgroup hierarchy) (repeatable)")
	flag.Var(&containers, "container", "sample the Docker/containerd/CRI-O container with this `id or name` (repeatable)")
	flag.Var(&units, "unit", "sample the systemd `unit` (repeatable)")
	flag.Var(&pods, "pod", "sample the Kubernetes pod with this `UID` (repeatable)")
	podContainer := flag.String("pod-container", "", "with -pod: sample only this `container` of the pod")
	host := flag.Bool("host", false, "sample the whole machine (as the seed's producers did)")
	interval := flag.Duration("interval", time.Second, "sampling interval")
	brokers := flag.String("brokers", envOr("RIGHTSIZE_BROKERS", "127.0.0.1:9092"), "Kafka seed brokers, comma-separated (env RIGHTSIZE_BROKERS)")
	topic := flag.String("topic", producer.DefaultTopic, "Kafka topic")
	instance := flag.String("instance", "", "instance label (default: this host's name)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: producer [flags] SERVICE [TASK]\n\nSamples SERVICE (for TASK, if given) and publishes to Kafka until interrupted.\nGive at least one target flag.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() < 1 || flag.NArg() > 2 {
		usageError("give SERVICE and, optionally, TASK")
	}
	service, task := flag.Arg(0), flag.Arg(1)

	var ts []target
	for _, group := range []struct {
		kind string
		vals targets
	}{{"pid", pids}, {"pidfile", pidFiles}, {"match", matches}, {"cgroup", cgroups}, {"container", containers}, {"unit", units}, {"pod", pods}} {
		for _, v := range group.vals {
			ts = append(ts, target{group.kind, v})
		}
	}
	if *host {
		ts = append(ts, target{"host", ""})
	}
	if len(ts) == 0 {
		usageError("no target: give -pid, -pidfile, -match, -cgroup, -container, -unit, -pod or -host")
	}
	if *podContainer != "" && len(pods) == 0 {
		usageError("-pod-container needs -pod")
	}
	if *interval <= 0 {
		usageError(fmt.Sprintf("-interval %v: want a positive duration", *interval))
	}

	hostname, _ := os.Hostname()
	if *instance == "" {
		*instance = hostname
	}
	scanner, err := sample.NewScanner()
	if err != nil {
		fail(err)
	}
	var samplers []sample.Sampler
	for _, t := range ts {
		inst := *instance
		if len(ts) > 1 {
			inst = *instance + "/" + t.kind + ":" + t.value
		}
		opts := []sample.Option{sample.WithTask(task), sample.WithInstance(inst)}
		s, err := newSampler(service, t, *podContainer, scanner, opts)
		if err != nil {
			fail(err)
		}
		samplers = append(samplers, s)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	pub, err := producer.Connect(ctx, strings.Split(*brokers, ","), producer.WithTopic(*topic))
	if err != nil {
		fail(err)
	}
	slog.Info("publishing", "service", service, "task", task, "targets", len(samplers), "every", *interval, "brokers", *brokers, "topic", *topic)
	runErr := producer.Run(ctx, pub, samplers, producer.WithInterval(*interval))

	fctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	closeErr := pub.Close(fctx)
	st := pub.Stats()
	slog.Info("stopped", "records", st.Published, "acknowledged", st.Acked, "dropped", st.Dropped, "failed", st.Failed)
	if err := errors.Join(runErr, closeErr); err != nil {
		fail(err)
	}
}

func newSampler(service string, t target, podContainer string, scanner *sample.Scanner, opts []sample.Option) (sample.Sampler, error) {
	processOpts := []sample.ProcessOption{sample.WithScanner(scanner)}
	cgroupOpts := []sample.CgroupOption{}
	hostOpts := []sample.HostOption{}
	for _, o := range opts {
		processOpts, cgroupOpts, hostOpts = append(processOpts, o), append(cgroupOpts, o), append(hostOpts, o)
	}
	switch t.kind {
	case "pid":
		pid, err := strconv.Atoi(t.value)
		if err != nil || pid <= 0 {
			return nil, fmt.Errorf("-pid %q: want a positive process ID", t.value)
		}
		return sample.NewProcess(service, pid, processOpts...)
	case "pidfile":
		return sample.NewPIDFile(service, t.value, processOpts...)
	case "match":
		return sample.NewProcessMatch(service, t.value, processOpts...)
	case "cgroup":
		return sample.NewCgroup(service, t.value, cgroupOpts...)
	case "container":
		return sample.NewContainer(service, t.value, cgroupOpts...)
	case "unit":
		return sample.NewUnit(service, t.value, cgroupOpts...)
	case "pod":
		if podContainer != "" {
			return sample.NewPodContainer(service, t.value, podContainer, cgroupOpts...)
		}
		return sample.NewPod(service, t.value, cgroupOpts...)
	case "host":
		return sample.NewHost(service, hostOpts...)
	}
	return nil, fmt.Errorf("unknown target kind %q", t.kind)
}

func usageError(msg string) {
	fmt.Fprintln(os.Stderr, "producer:", msg)
	flag.Usage()
	os.Exit(2)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "producer:", err)
	os.Exit(1)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
