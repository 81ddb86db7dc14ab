package sample

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/rightsize/rightsize"
)

// permissionReport runs the samplers where they may not read what they
// measure, and reports what they said: a cgroup whose directory may not be
// read (the fixture host at root, with its nginx.service cgroup closed),
// and the tree of process pid, which holds processes of another user.
func permissionReport(pid int, root string) string {
	var b strings.Builder
	_, err := NewCgroup("nginx", "/system.slice/nginx.service", fixtureHost(root)...)
	fmt.Fprintf(&b, "cgroup error: %v\ncgroup permission: %v\n", err, IsPermission(err))
	p, err := NewProcess("other", pid)
	if err != nil {
		fmt.Fprintf(&b, "process error: %v\n", err)
		return b.String()
	}
	ctx := context.Background()
	_, _ = p.Sample(ctx)
	out, err := p.Sample(ctx)
	_, hasCPU := value(out, rightsize.CPU)
	_, hasMem := value(out, rightsize.Memory)
	fmt.Fprintf(&b, "process error: %v\nprocess permission: %v\nprocess cpu and memory: %v\n", err, IsPermission(err), hasCPU && hasMem)
	return b.String()
}

// TestPermissionDenied checks that a sampler without permission says what
// it could not read, and still reports what it could. As root, the check
// runs in a copy of the test binary as user nobody.
func TestPermissionDenied(t *testing.T) {
	dir, err := os.MkdirTemp("", "rightsize-perm-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "host")
	if err := os.CopyFS(root, os.DirFS("testdata/v2")); err != nil {
		t.Fatal(err)
	}
	closed := filepath.Join(root, "sys/fs/cgroup/system.slice/nginx.service")
	if err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if d.IsDir() {
			mode = 0o755
		}
		return os.Chmod(p, mode)
	}); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(closed, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(closed, 0o755) })

	var report string
	other := 1 // as an ordinary user: init's tree holds root's processes
	if os.Geteuid() != 0 {
		report = permissionReport(other, root)
	} else {
		other = os.Getpid() // this test process, root's
		self, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		bin := filepath.Join(dir, "sample.test")
		if err := copyFile(self, bin, 0o755); err != nil {
			t.Fatal(err)
		}
		c := exec.Command(bin)
		c.Env = append(filterEnv(os.Environ(), childEnv, goEnv), fmt.Sprintf("%s=permission:%d:%s", childEnv, other, root))
		c.Dir = dir
		c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}, Pdeathsig: syscall.SIGKILL}
		out, err := c.CombinedOutput()
		if err != nil {
			t.Skipf("cannot run the check as user nobody: %v: %s", err, out)
		}
		report = string(out)
	}
	t.Logf("as an unprivileged user:\n%s", report)
	for _, want := range []string{
		"cgroup error: sample: cgroup /system.slice/nginx.service: cpu: open " + root + "/sys/fs/cgroup/system.slice/nginx.service/cpu.stat: permission denied\n",
		"cgroup permission: true",
		fmt.Sprintf("process error: sample: pid %d: disk.read, disk.write: open /proc/%[1]d/io: permission denied", other),
		"process permission: true",
		"process cpu and memory: true",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report does not say %q", want)
		}
	}
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
