package sample

import (
	"errors"
	"testing"
)

func TestParseCgroupFiles(t *testing.T) {
	if v, err := parseKeyed([]byte("usage_usec 5000000\nthrottled_usec 250000\n"), "throttled_usec"); err != nil || v != 250000 {
		t.Errorf("parseKeyed = %d, %v", v, err)
	}
	if _, err := parseKeyed([]byte("usage_usec 1\n"), "throttled_usec"); !errors.Is(err, errNoData) {
		t.Errorf("missing key: %v, want errNoData", err)
	}
	if _, err := parseKeyed([]byte("oom_kill x\n"), "oom_kill"); err == nil || errors.Is(err, errNoData) {
		t.Errorf("bad value: %v", err)
	}
	if v, err := parseSingle([]byte("314572800\n")); err != nil || v != 300<<20 {
		t.Errorf("parseSingle = %d, %v", v, err)
	}
	if _, err := parseSingle([]byte("max\n")); !errors.Is(err, errNoData) {
		t.Errorf("parseSingle(max) = %v", err)
	}
	r, w, err := parseIOStat([]byte("254:0 rbytes=1048576 wbytes=4194304 rios=10 wios=20 dbytes=0 dios=0\n8:0 rbytes=3145728 wbytes=4194304 rios=3 wios=4 dbytes=0 dios=0\n"))
	if err != nil || r != 4<<20 || w != 8<<20 {
		t.Errorf("parseIOStat = %d, %d, %v", r, w, err)
	}
	if r, w, err := parseIOStat(nil); err != nil || r != 0 || w != 0 {
		t.Errorf("empty io.stat = %d, %d, %v", r, w, err)
	}
	r, w, err = parseBlkio([]byte("254:0 Read 100\n254:0 Write 200\n254:0 Sync 200\n254:0 Discard 4096\n254:0 Total 300\n8:0 Write 5\nTotal 305\n"))
	if err != nil || r != 100 || w != 205 {
		t.Errorf("parseBlkio = %d, %d, %v", r, w, err)
	}
}
