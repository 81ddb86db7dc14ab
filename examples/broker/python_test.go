package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/consumer"
	"github.com/rightsize/rightsize/internal/testenv"
	"github.com/rightsize/rightsize/store"
)

// seedProducer is a producer in the seed's style (its producer.py, less
// the psutil sampling): kafka-python, default settings, one record per
// resource keyed "<image_ID> <service> <RESOURCE>", the value the number
// as text.
const seedProducer = `
import sys
from kafka import KafkaProducer

p = KafkaProducer(bootstrap_servers=sys.argv[1])
p.send('resources', key=b'img7 resize CPU', value=b'37.5')
p.send('resources', key=b'img7 resize RAM', value=b'61.25')
p.send('resources', key=b'img7 resize DISK', value=b'48')
p.flush()
p.close()
`

// python returns a Python interpreter that has the kafka module
// (kafka-python): python3 on the PATH, or Debian's, where the
// python3-kafka package puts it.
func python(t *testing.T) string {
	t.Helper()
	var tried []string
	for _, name := range []string{"python3", "/usr/bin/python3"} {
		path, err := exec.LookPath(name)
		if err != nil || slices.Contains(tried, path) {
			continue
		}
		tried = append(tried, path)
		if exec.Command(path, "-c", "import kafka").Run() == nil {
			return path
		}
	}
	msg := "Python's kafka module (kafka-python) is missing (tried " + strings.Join(tried, ", ") + "): apt-get install python3-kafka, or run ./scripts/test.sh, which installs it"
	if len(tried) == 0 {
		msg = "no python3 found: apt-get install python3-kafka"
	}
	if testenv.CI() {
		t.Fatal(msg + "; under CI this is a failure")
	}
	t.Skip(msg)
	return ""
}

func TestSeedPythonProducerIsStored(t *testing.T) {
	py := python(t)
	addr := freeAddr(t)
	p := start(t, "-addr", addr)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, "-c", seedProducer, addr).CombinedOutput()
	if err != nil {
		t.Fatalf("the seed's producer: %v\n%s", err, out)
	}

	st, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "seed.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, err := consumer.New(ctx, []string{addr}, []consumer.Sink{st})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- c.Run(runCtx) }()

	want := map[string]float64{"cpu.percent": 37.5, "memory.percent": 61.25, "disk.percent": 48}
	var got []rightsize.Sample
	for {
		got = got[:0]
		err := st.Scan(ctx, rightsize.Filter{Services: []string{"resize"}}, func(s rightsize.Sample) error {
			got = append(got, s)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) >= len(want) || ctx.Err() != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop()
	if err := <-ran; err != nil {
		t.Error(err)
	}
	c.Close()
	if len(got) != len(want) {
		t.Fatalf("stored %d samples, want %d: %+v", len(got), len(want), got)
	}
	for _, s := range got {
		if s.Task != "img7" || s.Service != "resize" || want[s.Resource] != s.Value {
			t.Errorf("stored %+v; want task img7, service resize and one of %v", s, want)
		}
		if age := time.Since(s.Time); age < 0 || age > time.Minute {
			t.Errorf("%s stored at %v, %v ago: want the time the record was sent", s.Resource, s.Time, age)
		}
		t.Logf("stored task %s service %s %s = %v", s.Task, s.Service, s.Resource, s.Value)
	}
	p.stop(t, syscall.SIGTERM)
}
