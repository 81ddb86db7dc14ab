package sample

import (
	"testing"
	"time"
)

// TestOptionTypes pins which constructors take which option, the matrix the
// option types stand for: giving a constructor an option of another does not
// compile.
func TestOptionTypes(t *testing.T) {
	sc, err := NewScanner()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name                           string
		opt                            any
		process, cgroup, host, scanner bool
	}{
		{"WithTask", WithTask("t"), true, true, true, false},
		{"WithInstance", WithInstance("i"), true, true, true, false},
		{"WithProcRoot", WithProcRoot("/proc"), true, true, true, true},
		{"WithClock", WithClock(time.Now), true, true, true, true},
		{"WithScanner", WithScanner(sc), true, false, false, false},
		{"WithMountInfo", WithMountInfo("/proc/1/mountinfo"), false, true, false, false},
		{"WithDockerRoot", WithDockerRoot("/var/lib/docker"), false, true, false, false},
		{"WithHostRoot", WithHostRoot("/host"), false, true, true, false},
		{"WithDiskPath", WithDiskPath("/"), false, false, true, false},
		{"WithScanMaxAge", WithScanMaxAge(time.Second), false, false, false, true},
	} {
		_, process := tc.opt.(ProcessOption)
		_, cgroup := tc.opt.(CgroupOption)
		_, host := tc.opt.(HostOption)
		_, scanner := tc.opt.(ScannerOption)
		_, sampler := tc.opt.(SamplerOption)
		if process != tc.process || cgroup != tc.cgroup || host != tc.host || scanner != tc.scanner {
			t.Errorf("%s: taken by process %v, cgroup %v, host %v, scanner %v samplers; want %v, %v, %v, %v",
				tc.name, process, cgroup, host, scanner, tc.process, tc.cgroup, tc.host, tc.scanner)
		}
		if sampler != (tc.process || tc.cgroup || tc.host) {
			t.Errorf("%s: a SamplerOption: %v", tc.name, sampler)
		}
	}
}
