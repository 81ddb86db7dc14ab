package sample

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestParseTarget(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Target
		str  string // String(), when it differs from in
	}{
		{"pid:4242", Target{Kind: KindPID, Value: "4242"}, ""},
		{"pid=4242", Target{Kind: KindPID, Value: "4242"}, "pid:4242"},
		{"pidfile:/run/nginx.pid", Target{Kind: KindPIDFile, Value: "/run/nginx.pid"}, ""},
		{"match:nginx: worker", Target{Kind: KindMatch, Value: "nginx: worker"}, ""},
		{"match=a:b=c", Target{Kind: KindMatch, Value: "a:b=c"}, "match:a:b=c"},
		{"cgroup:/system.slice/nginx.service", Target{Kind: KindCgroup, Value: "/system.slice/nginx.service"}, ""},
		{"container:my-db", Target{Kind: KindContainer, Value: "my-db"}, ""},
		{"unit:nginx", Target{Kind: KindUnit, Value: "nginx"}, ""},
		{"pod:" + podUID, Target{Kind: KindPod, Value: podUID}, ""},
		{"pod:" + podUID + "/app", Target{Kind: KindPod, Value: podUID, Container: "app"}, ""},
		{"host", Target{Kind: KindHost}, ""},
		{"host:", Target{Kind: KindHost}, "host"},
	} {
		got, err := ParseTarget(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseTarget(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			continue
		}
		str := tc.str
		if str == "" {
			str = tc.in
		}
		if got.String() != str {
			t.Errorf("%+v.String() = %q, want %q", got, got.String(), str)
		}
		if again, err := ParseTarget(got.String()); err != nil || again != got {
			t.Errorf("ParseTarget(%q) = %+v, %v: String does not round-trip", got.String(), again, err)
		}
	}
}

func TestParseTargetErrors(t *testing.T) {
	for _, tc := range []struct {
		in   string
		kind string // of the *TargetError; "" for ErrUnknownKind
		says string
	}{
		{"proc:1", "", `sample: target "proc:1": unknown kind "proc" (want pid, pidfile, match, cgroup, container, unit, pod or host)`},
		{"", "", `target "": unknown kind ""`},
		{"4242", "", `unknown kind "4242"`},
		{"PID:1", "", `unknown kind "PID"`},
		{"pid:x", KindPID, `sample: pid "x": not a process ID`},
		{"pid:0", KindPID, `pid "0": not a process ID`},
		{"pid:-3", KindPID, `pid "-3": not a process ID`},
		{"pid", KindPID, `sample: pid "": no value (write pid:PID)`},
		{"pidfile:", KindPIDFile, `pidfile "": no value (write pidfile:PATH)`},
		{"match=", KindMatch, `no value (write match:REGEXP)`},
		{"pod:/app", KindPod, `pod "": no value (write pod:UID[/CONTAINER])`},
		{"host:node-1", KindHost, `host "node-1": host takes no value`},
	} {
		got, err := ParseTarget(tc.in)
		if err == nil {
			t.Errorf("ParseTarget(%q) = %+v; want an error", tc.in, got)
			continue
		}
		var te *TargetError
		switch {
		case tc.kind == "" && !errors.Is(err, ErrUnknownKind):
			t.Errorf("ParseTarget(%q): %v does not match ErrUnknownKind", tc.in, err)
		case tc.kind != "" && (!errors.As(err, &te) || te.Kind != tc.kind):
			t.Errorf("ParseTarget(%q): %v is no TargetError of kind %s", tc.in, err, tc.kind)
		}
		if !strings.Contains(err.Error(), tc.says) {
			t.Errorf("ParseTarget(%q): %q does not say %q", tc.in, err, tc.says)
		}
	}
}

// TestNew builds a sampler of every kind of target, with one list of
// options that holds options of every constructor: each gets its own.
func TestNew(t *testing.T) {
	sc, err := NewScanner()
	if err != nil {
		t.Fatal(err)
	}
	child := startChild(t, "sleep", false)
	dir := t.TempDir()
	pidfile := filepath.Join(dir, "child.pid")
	writeFile(t, pidfile, strconv.Itoa(child.pid)+"\n")
	cgroupOpts := []SamplerOption{WithProcRoot("testdata/v2/proc"), WithHostRoot("testdata/v2")}
	processOpts := []SamplerOption{WithScanner(sc), WithDockerRoot("/no/such/dir"), WithDiskPath("/no/such/dir")}
	for _, tc := range []struct {
		target Target
		opts   []SamplerOption
		want   string // the sampler's type
	}{
		{Target{Kind: KindPID, Value: strconv.Itoa(child.pid)}, processOpts, "*sample.Process"},
		{Target{Kind: KindPIDFile, Value: pidfile}, processOpts, "*sample.Process"},
		{Target{Kind: KindMatch, Value: "^" + regexpQuote(filepath.Base(os.Args[0]))}, processOpts, "*sample.Process"},
		{Target{Kind: KindCgroup, Value: "/system.slice/nginx.service"}, append(cgroupOpts, WithScanner(sc)), "*sample.Cgroup"},
		{Target{Kind: KindContainer, Value: "web"}, cgroupOpts, "*sample.Cgroup"},
		{Target{Kind: KindUnit, Value: "nginx"}, cgroupOpts, "*sample.Cgroup"},
		{Target{Kind: KindPod, Value: podUID}, cgroupOpts, "*sample.Cgroup"},
		{Target{Kind: KindPod, Value: podUID, Container: "app"}, cgroupOpts, "*sample.Cgroup"},
		{Target{Kind: KindHost}, []SamplerOption{WithScanner(sc), WithDockerRoot("/no/such/dir"), WithInstance("node-1")}, "*sample.Host"},
	} {
		t.Run(tc.target.String(), func(t *testing.T) {
			s, err := New("svc", tc.target, append(tc.opts, WithTask("img-1"))...)
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprintf("%T", s); got != tc.want {
				t.Errorf("sampler %s, want %s", got, tc.want)
			}
			out, err := s.Sample(context.Background())
			if err != nil && !errors.Is(err, ErrNoMatch) {
				t.Fatal(err)
			}
			for _, x := range out {
				if x.Service != "svc" || x.Task != "img-1" {
					t.Errorf("sample %+v: the labelling options were not given", x)
				}
			}
		})
	}
	// The pod's container was resolved: it is app's cgroup, not the pod's.
	s, err := New("svc", Target{Kind: KindPod, Value: podUID, Container: "app"}, cgroupOpts...)
	if err != nil {
		t.Fatal(err)
	}
	if dirs := s.(*Cgroup).dirs; len(dirs) != 1 || !strings.Contains(dirs[0].rel, appID) {
		t.Errorf("pod container resolved to %+v", dirs)
	}
}

func TestNewErrors(t *testing.T) {
	fixture := []SamplerOption{WithProcRoot("testdata/v2/proc"), WithHostRoot("testdata/v2")}
	for _, tc := range []struct {
		target Target
		is     error
		says   string
	}{
		{Target{Kind: "process", Value: "1"}, ErrUnknownKind, `target "process:1": unknown kind "process"`},
		{Target{Kind: KindPID, Value: "x"}, nil, `sample: pid "x": not a process ID`},
		{Target{Kind: KindPID, Value: "2147483000"}, ErrNoProcess, "pid 2147483000"},
		{Target{Kind: KindUnit, Value: "nginx", Container: "app"}, nil, `unit "nginx": a container ("app") is only for pod targets`},
		{Target{Kind: KindContainer}, nil, `container "": no value`},
		{Target{Kind: KindContainer, Value: "shop-frontend"}, ErrNoCgroup, "container shop-frontend"},
		{Target{Kind: KindPod, Value: podUID, Container: "db"}, ErrNoCgroup, "container " + podUID + "/db"},
		{Target{Kind: KindHost, Value: "x"}, nil, "host takes no value"},
	} {
		s, err := New("svc", tc.target, fixture...)
		if err == nil || s != nil {
			t.Errorf("New(%+v) = %v, %v; want a nil Sampler and an error", tc.target, s, err)
			continue
		}
		if tc.is != nil && !errors.Is(err, tc.is) {
			t.Errorf("New(%+v): %v does not match %v", tc.target, err, tc.is)
		}
		if !strings.Contains(err.Error(), tc.says) {
			t.Errorf("New(%+v): %q does not say %q", tc.target, err, tc.says)
		}
	}
	if _, err := New("", Target{Kind: KindHost}); err == nil {
		t.Error("New accepted an empty service")
	}
}
