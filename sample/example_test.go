package sample_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/sample"
)

// A process sampler measures a process and all its descendants; the second
// Sample reports the rates (cpu, disk.read, disk.write) over the time since
// the first.
func ExampleNewProcess() {
	s, err := sample.NewProcess("self", os.Getpid(), sample.WithTask("img-42"))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.Sample(ctx); err != nil { // baseline: memory and threads only
		log.Fatal(err)
	}
	time.Sleep(time.Second)
	samples, err := s.Sample(ctx)
	if err != nil {
		log.Print(err) // what could not be read; samples holds the rest
	}
	for _, x := range samples {
		fmt.Printf("%s %s = %g %s\n", x.Service, x.Resource, x.Value, rightsize.UnitOf(x.Resource))
	}
}

// Samplers that share a Scanner read the process table once per tick, however
// many services they measure.
func ExampleNewScanner() {
	sc, err := sample.NewScanner()
	if err != nil {
		log.Fatal(err)
	}
	var samplers []sample.Sampler
	for svc, pattern := range map[string]string{"web": "^nginx", "queue": "^redis-server"} {
		s, err := sample.NewProcessMatch(svc, pattern, sample.WithScanner(sc))
		if err != nil {
			log.Fatal(err)
		}
		samplers = append(samplers, s)
	}
	for _, s := range samplers {
		samples, err := s.Sample(context.Background())
		if errors.Is(err, sample.ErrNoMatch) {
			continue // not running now; it may start later
		}
		fmt.Println(samples, err)
	}
}

// A container is found by ID, ID prefix or name in the cgroup hierarchies
// mountinfo lists; Sources says which files each resource is read from.
// This example reads the fixture host in testdata/v2.
func ExampleNewContainer() {
	s, err := sample.NewContainer("web", "web",
		sample.WithProcRoot("testdata/v2/proc"), // mountinfo: testdata/v2/proc/self/mountinfo
		sample.WithHostRoot("testdata/v2"),      // mount points and /var/lib/docker below it
		sample.WithInstance("node-1"))
	if err != nil {
		log.Fatal(err)
	}
	for _, src := range s.Sources()[:3] {
		fmt.Println(src)
	}
	samples, err := s.Sample(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	for _, x := range samples {
		fmt.Printf("%s/%s %s = %g\n", x.Instance, x.Service, x.Resource, x.Value)
	}
	// Output:
	// cpu: v2 cpu.stat usage_usec (testdata/v2/sys/fs/cgroup/system.slice/docker-ab1257f6eb2f42b9039b3d1e13929295f231749c510cbe341cd68036d9af97e2.scope)
	// memory: v2 memory.current - memory.stat inactive_file (testdata/v2/sys/fs/cgroup/system.slice/docker-ab1257f6eb2f42b9039b3d1e13929295f231749c510cbe341cd68036d9af97e2.scope)
	// disk.read: v2 io.stat rbytes (testdata/v2/sys/fs/cgroup/system.slice/docker-ab1257f6eb2f42b9039b3d1e13929295f231749c510cbe341cd68036d9af97e2.scope)
	// node-1/web memory = 2.097152e+08
	// node-1/web threads = 12
}

// NewContainer says which container it could not find, and why.
func ExampleNewContainer_notFound() {
	_, err := sample.NewContainer("web", "shop-frontend",
		sample.WithProcRoot("testdata/v2/proc"), sample.WithHostRoot("testdata/v2"))
	fmt.Println(errors.Is(err, sample.ErrNoCgroup))
	fmt.Println(err)
	// Output:
	// true
	// sample: container shop-frontend: no such cgroup: no running container has that ID or name in (cgroup2 testdata/v2/sys/fs/cgroup)
}

// Anything else can be measured with a SamplerFunc.
func ExampleSamplerFunc() {
	depth := 7 // say, the length of a work queue
	s := sample.SamplerFunc(func(ctx context.Context) ([]rightsize.Sample, error) {
		return []rightsize.Sample{{
			Service:  "resize",
			Resource: "queue.depth",
			Value:    float64(depth),
			Time:     time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC),
		}}, nil
	})
	samples, _ := s.Sample(context.Background())
	fmt.Println(samples[0].Resource, samples[0].Value, samples[0].Validate())
	// Output: queue.depth 7 <nil>
}

// A process that exits ends its series with ErrGone; the caller stops
// sampling it and carries on with the others.
func ExampleErrGone() {
	s, err := sample.NewProcess("job", os.Getpid())
	if err != nil {
		log.Fatal(err)
	}
	if _, err := s.Sample(context.Background()); errors.Is(err, sample.ErrGone) {
		fmt.Println("the job has finished")
	}
}

// A program takes targets as its user writes them, in flags or a
// configuration file; ParseTarget says what is wrong with one before
// anything is looked for.
func ExampleParseTarget() {
	for _, arg := range []string{"pid:4242", "container=my-db", "pod:6b9f1a0e-3c2d-4e5f-8a7b-9c0d1e2f3a4b/app", "host", "pid:nginx", "proc:4242"} {
		t, err := sample.ParseTarget(arg)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%s: kind %s, value %q, container %q\n", t, t.Kind, t.Value, t.Container)
	}
	// Output:
	// pid:4242: kind pid, value "4242", container ""
	// container:my-db: kind container, value "my-db", container ""
	// pod:6b9f1a0e-3c2d-4e5f-8a7b-9c0d1e2f3a4b/app: kind pod, value "6b9f1a0e-3c2d-4e5f-8a7b-9c0d1e2f3a4b", container "app"
	// host: kind host, value "", container ""
	// sample: pid "nginx": not a process ID: want a positive number
	// sample: target "proc:4242": unknown kind "proc" (want pid, pidfile, match, cgroup, container, unit, pod or host)
}

// New builds the sampler of a target of any kind. One list of options
// serves them all: each constructor gets the options that are its own (the
// Scanner goes to process targets only). This example reads the fixture
// host in testdata/v2.
func ExampleNew() {
	sc, err := sample.NewScanner()
	if err != nil {
		log.Fatal(err)
	}
	opts := []sample.SamplerOption{
		sample.WithScanner(sc),
		sample.WithProcRoot("testdata/v2/proc"),
		sample.WithHostRoot("testdata/v2"),
		sample.WithInstance("node-1"),
	}
	for _, arg := range []string{"container:web", "unit:nginx", "pod:6b9f1a0e-3c2d-4e5f-8a7b-9c0d1e2f3a4b/app", "container:shop-frontend"} {
		t, err := sample.ParseTarget(arg)
		if err != nil {
			log.Fatal(err)
		}
		s, err := sample.New("web", t, opts...)
		if err != nil {
			fmt.Println(err)
			continue
		}
		samples, err := s.Sample(context.Background())
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s:", t)
		for _, x := range samples {
			fmt.Printf(" %s=%g", x.Resource, x.Value)
		}
		fmt.Println()
	}
	// Output:
	// container:web: memory=2.097152e+08 threads=12
	// unit:nginx: memory=5.0331648e+07 threads=5
	// pod:6b9f1a0e-3c2d-4e5f-8a7b-9c0d1e2f3a4b/app: memory=4.718592e+08 threads=25
	// sample: container shop-frontend: no such cgroup: no running container has that ID or name in (cgroup2 testdata/v2/sys/fs/cgroup)
}
