package sample

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/rightsize/rightsize/internal/clip"
)

// This file finds cgroups: the hierarchies from mountinfo, the cgroups a
// process is in from /proc/<pid>/cgroup, and the directories of a cgroup
// path in every hierarchy (the names runtimes give their cgroups are in
// cgroup_runtimes.go). The parsers are pure functions; the finders take the
// directories to look in.

// mountEntry is one line of /proc/<pid>/mountinfo, as far as this package
// needs it.
type mountEntry struct {
	root       string // the directory of the file system mounted (for cgroups: a cgroup path)
	mountPoint string
	fsType     string
	superOpts  string
}

// parseMountinfo parses the content of /proc/<pid>/mountinfo (proc(5)):
//
//	36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//
// The optional fields end with "-"; paths have spaces, tabs, newlines and
// backslashes escaped in octal ("\040").
func parseMountinfo(b []byte) ([]mountEntry, error) {
	var out []mountEntry
	for n, line := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		f := strings.Fields(line)
		sep := slices.Index(f, "-")
		if sep < 6 || len(f) < sep+4 {
			return nil, fmt.Errorf("mountinfo line %d: %q: want \"ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS ... - TYPE SOURCE SUPEROPTIONS\"", n+1, clip.String(line, 60))
		}
		out = append(out, mountEntry{
			root:       unescapeMount(f[3]),
			mountPoint: unescapeMount(f[4]),
			fsType:     f[sep+1],
			superOpts:  f[sep+3],
		})
	}
	return out, nil
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// v1Controllers are the cgroup v1 controllers this package reads, and those
// it recognises in mount options.
var v1Controllers = []string{"cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "net_cls", "blkio",
	"perf_event", "net_prio", "hugetlb", "pids", "rdma", "misc"}

// hierarchy is one mounted cgroup hierarchy.
type hierarchy struct {
	v2          bool
	controllers []string // v1: the controllers of the mount ("name=systemd" for a named one); v2: none listed
	mount       string   // mount point, below the host root
	root        string   // the cgroup mounted there ("/" but for bind mounts of a sub-tree)
}

func (h *hierarchy) String() string {
	if h.v2 {
		return "cgroup2 " + h.mount
	}
	return "cgroup " + strings.Join(h.controllers, ",") + " " + h.mount
}

// has reports whether a v1 hierarchy has the controller.
func (h *hierarchy) has(controller string) bool { return slices.Contains(h.controllers, controller) }

// dir returns the directory of the cgroup rel (a path within the
// hierarchy, as /proc/<pid>/cgroup shows it). ok is false when rel is
// outside the part of the hierarchy that is mounted.
func (h *hierarchy) dir(rel string) (string, bool) {
	rel = path.Clean("/" + rel)
	if h.root != "/" {
		if rel != h.root && !strings.HasPrefix(rel, h.root+"/") {
			return "", false
		}
		rel = strings.TrimPrefix(rel, h.root)
	}
	return filepath.Join(h.mount, rel), true
}

// rel is the inverse of dir: the cgroup path of a directory below the
// mount point.
func (h *hierarchy) rel(dir string) (string, bool) {
	dir = filepath.Clean(dir)
	if dir != h.mount && !strings.HasPrefix(dir, h.mount+"/") {
		return "", false
	}
	return path.Clean(path.Join(h.root, strings.TrimPrefix(dir, h.mount))), true
}

// hierarchies returns the cgroup hierarchies among mounts, v2 first, with
// mount points below hostRoot. A hierarchy mounted more than once is listed
// once, preferring the mount of its root.
func hierarchies(mounts []mountEntry, hostRoot string) []*hierarchy {
	var out []*hierarchy
	seen := map[string]int{}
	for _, m := range mounts {
		var h hierarchy
		switch m.fsType {
		case "cgroup2":
			h.v2 = true
		case "cgroup":
			for _, o := range strings.Split(m.superOpts, ",") {
				if slices.Contains(v1Controllers, o) || strings.HasPrefix(o, "name=") {
					h.controllers = append(h.controllers, o)
				}
			}
			if len(h.controllers) == 0 {
				continue
			}
		default:
			continue
		}
		h.mount, h.root = m.mountPoint, m.root
		if hostRoot != "" {
			h.mount = filepath.Join(hostRoot, m.mountPoint)
		}
		id := strings.Join(h.controllers, ",")
		if i, dup := seen[id]; dup {
			if out[i].root != "/" && h.root == "/" {
				out[i] = &h
			}
			continue
		}
		seen[id] = len(out)
		out = append(out, &h)
	}
	slices.SortStableFunc(out, func(a, b *hierarchy) int {
		if a.v2 != b.v2 {
			if a.v2 {
				return -1
			}
			return 1
		}
		return 0
	})
	return out
}

// cgroupLine is one line of /proc/<pid>/cgroup: "ID:CONTROLLERS:PATH"
// ("0::/path" for v2).
type cgroupLine struct {
	v2          bool
	controllers []string
	path        string
}

// parseProcCgroup parses /proc/<pid>/cgroup.
func parseProcCgroup(b []byte) ([]cgroupLine, error) {
	var out []cgroupLine
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" {
			continue
		}
		id, rest, ok := strings.Cut(line, ":")
		ctl, p, ok2 := strings.Cut(rest, ":")
		if !ok || !ok2 || !strings.HasPrefix(p, "/") {
			return nil, fmt.Errorf("cgroup line %q: want ID:CONTROLLERS:/PATH", clip.String(line, 60))
		}
		l := cgroupLine{path: p}
		if id == "0" && ctl == "" {
			l.v2 = true
		} else {
			l.controllers = strings.Split(ctl, ",")
		}
		out = append(out, l)
	}
	return out, nil
}

// sameControllers reports whether a /proc/<pid>/cgroup line is about h.
func sameControllers(h *hierarchy, l cgroupLine) bool {
	if h.v2 || l.v2 {
		return h.v2 == l.v2
	}
	if len(h.controllers) != len(l.controllers) {
		return false
	}
	for _, c := range l.controllers {
		if !h.has(c) {
			return false
		}
	}
	return true
}

// relevant reports whether this package reads anything from h.
func relevant(h *hierarchy) bool {
	if h.v2 {
		return true
	}
	for _, c := range []string{"cpu", "cpuacct", "memory", "blkio", "pids"} {
		if h.has(c) {
			return true
		}
	}
	return false
}

// cgDir is one cgroup of a target in one hierarchy.
type cgDir struct {
	h   *hierarchy
	rel string // path within the hierarchy
	dir string // its directory
}

// findDirs walks the directories of h (depth first, at most maxDepth below
// its mount) and returns the cgroup paths whose last element satisfies
// match, shallowest first. Directories it may not read are skipped.
func findDirs(h *hierarchy, maxDepth int, match func(name, parent string) bool) []string {
	var out []string
	var walk func(dir, rel string, depth int)
	walk = func(dir, rel string, depth int) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return
		}
		for _, e := range entries {
			if !e.IsDir() {
				continue
			}
			r := path.Join(rel, e.Name())
			if match(e.Name(), rel) {
				out = append(out, r)
			}
			if depth < maxDepth {
				walk(filepath.Join(dir, e.Name()), r, depth+1)
			}
		}
	}
	walk(h.mount, h.root, 1)
	slices.SortStableFunc(out, func(a, b string) int { return strings.Count(a, "/") - strings.Count(b, "/") })
	return out
}

// maxCgroupDepth is how deep the constructors look for a container, unit or
// pod below a hierarchy's root (a kubelet container under the systemd
// driver is at depth 4).
const maxCgroupDepth = 8

// loadHierarchies reads the cgroup hierarchies from mountinfo.
func loadHierarchies(c *config) ([]*hierarchy, error) {
	mi := c.mountinfoPath()
	b, err := os.ReadFile(mi)
	if err != nil {
		return nil, fmt.Errorf("find cgroup mounts: %w", err)
	}
	mounts, err := parseMountinfo(b)
	if err != nil {
		return nil, fmt.Errorf("find cgroup mounts in %s: %w", mi, err)
	}
	hs := hierarchies(mounts, c.hostRoot)
	if len(hs) == 0 {
		return nil, fmt.Errorf("%w: %s lists no cgroup file system", ErrNoCgroup, mi)
	}
	return hs, nil
}

// dirsOf returns, for each relevant hierarchy, the directory of the cgroup
// relOf chooses for it, if it exists.
func dirsOf(hs []*hierarchy, relOf func(*hierarchy) (string, bool)) []cgDir {
	var out []cgDir
	for _, h := range hs {
		if !relevant(h) {
			continue
		}
		rel, ok := relOf(h)
		if !ok {
			continue
		}
		dir, ok := h.dir(rel)
		if !ok || !exists(dir) {
			continue
		}
		out = append(out, cgDir{h, rel, dir})
	}
	return out
}

// hierarchyList names the hierarchies this package reads, for errors.
func hierarchyList(hs []*hierarchy) string {
	var s []string
	for _, h := range hs {
		if relevant(h) {
			s = append(s, h.String())
		}
	}
	return "(" + strings.Join(s, "; ") + ")"
}
