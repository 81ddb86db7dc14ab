package sample

import (
	"slices"
	"strings"
	"testing"
)

func TestParseMountinfo(t *testing.T) {
	in := "33 30 0:30 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:12 master:3 - cgroup cgroup rw,cpu,cpuacct\n" +
		"40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n" +
		"41 26 0:38 /docker/abc /host\\040dir/cg rw - cgroup cgroup rw,memory\n" +
		"42 26 0:39 / /mnt rw - cgroup cgroup rw,release_agent=/x,clone_children\n" +
		"26 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n"
	ms, err := parseMountinfo([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 5 || ms[2].mountPoint != "/host dir/cg" || ms[2].root != "/docker/abc" || ms[0].fsType != "cgroup" || ms[0].superOpts != "rw,cpu,cpuacct" {
		t.Fatalf("parsed %+v", ms)
	}
	hs := hierarchies(ms, "/hostroot")
	var got []string
	for _, h := range hs {
		got = append(got, h.String()+" root="+h.root)
	}
	want := []string{
		"cgroup2 /hostroot/sys/fs/cgroup/unified root=/",
		"cgroup cpu,cpuacct /hostroot/sys/fs/cgroup/cpu,cpuacct root=/",
		"cgroup memory /hostroot/host dir/cg root=/docker/abc",
	}
	if !slices.Equal(got, want) {
		t.Errorf("hierarchies:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// A bind mount of a sub-tree: paths outside it are not reachable.
	mem := hs[2]
	if d, ok := mem.dir("/docker/abc/sub"); !ok || d != "/hostroot/host dir/cg/sub" {
		t.Errorf("dir = %q, %v", d, ok)
	}
	if _, ok := mem.dir("/other"); ok {
		t.Error("a path outside the bind mount was reachable")
	}
	if r, ok := mem.rel("/hostroot/host dir/cg/sub"); !ok || r != "/docker/abc/sub" {
		t.Errorf("rel = %q, %v", r, ok)
	}
	for _, bad := range []string{"1 2 3", "1 2 0:1 / /x rw - cgroup"} {
		if _, err := parseMountinfo([]byte(bad)); err == nil {
			t.Errorf("parseMountinfo(%q) accepted", bad)
		}
	}
}

func TestParseProcCgroup(t *testing.T) {
	ls, err := parseProcCgroup([]byte("9:name=systemd:/\n2:cpu,cpuacct:/docker/x\n0::/system.slice/a.service\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 3 || ls[0].controllers[0] != "name=systemd" || ls[1].path != "/docker/x" || !ls[2].v2 || ls[2].path != "/system.slice/a.service" {
		t.Errorf("parsed %+v", ls)
	}
	h := &hierarchy{controllers: []string{"cpuacct", "cpu"}}
	if !sameControllers(h, ls[1]) || sameControllers(h, ls[0]) || sameControllers(h, ls[2]) {
		t.Error("sameControllers")
	}
	if _, err := parseProcCgroup([]byte("garbage\n")); err == nil {
		t.Error("garbage accepted")
	}
}
