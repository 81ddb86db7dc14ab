package sample

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/rightsize/rightsize/internal/clip"
)

// This file finds cgroups: the hierarchies from mountinfo, and a cgroup
// directory from a path, a process, or the naming patterns of Docker,
// containerd, CRI-O, systemd and the kubelet. The parsers are pure functions;
// the finders take the directories to look in.

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

// containerRuntimePrefixes are the prefixes container runtimes give a
// container's cgroup: systemd scopes "docker-<id>.scope" (Docker),
// "cri-containerd-<id>.scope" (containerd's CRI plugin), "crio-<id>.scope"
// (CRI-O), "libpod-<id>.scope" (Podman); with the cgroupfs driver the
// directory is the bare ID ("/docker/<id>", "/kubepods/burstable/pod<uid>/<id>").
var containerRuntimePrefixes = []string{"docker-", "cri-containerd-", "crio-", "libpod-", "containerd-"}

// containerID returns the container ID a cgroup directory name stands for.
// CRI-O's "crio-conmon-<id>.scope" (the monitor, not the container) is not a
// container.
func containerID(name string) (string, bool) {
	name = strings.TrimSuffix(name, ".scope")
	for _, p := range containerRuntimePrefixes {
		if strings.HasPrefix(name, p) {
			name = name[len(p):]
			break
		}
	}
	if len(name) != 64 || !isHex(name) {
		return "", false
	}
	return name, true
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return s != ""
}

// isPodCgroup reports whether name is one the kubelet gives the cgroup of
// the pod with the given UID: "pod<uid>" with the cgroupfs driver
// (/kubepods/burstable/pod<uid>), "kubepods-<qos>-pod<uid_with_underscores>.slice"
// with the systemd driver.
func isPodCgroup(name, uid string) bool {
	if name == "pod"+uid {
		return true
	}
	u := strings.ReplaceAll(uid, "-", "_")
	return strings.HasPrefix(name, "kubepods") && strings.HasSuffix(name, "-pod"+u+".slice")
}

// unitTypes are the suffixes of systemd unit names.
var unitTypes = []string{".service", ".scope", ".slice", ".socket", ".mount", ".swap", ".timer", ".path", ".device", ".target", ".automount"}

// unitName returns the full name of a systemd unit: "nginx" is
// "nginx.service".
func unitName(unit string) string {
	for _, t := range unitTypes {
		if strings.HasSuffix(unit, t) {
			return unit
		}
	}
	return unit + ".service"
}

// dockerNames reads the names Docker gave its containers, from
// <docker root>/containers/<id>/config.v2.json, and returns the IDs of those
// named name (with or without the leading "/").
func dockerNames(dockerRoot, name string) ([]string, error) {
	dir := filepath.Join(dockerRoot, "containers")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	want := "/" + strings.TrimPrefix(name, "/")
	var ids []string
	for _, e := range entries {
		if !e.IsDir() || !isHex(e.Name()) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name(), "config.v2.json"))
		if err != nil {
			continue
		}
		var cfg struct{ Name string }
		if json.Unmarshal(b, &cfg) == nil && cfg.Name == want {
			ids = append(ids, e.Name())
		}
	}
	return ids, nil
}

// kubeContainerIDs returns the IDs of the containers named container in the
// pod with the given UID, from the kubelet's log layout:
// <log root>/pods/<namespace>_<pod>_<uid>/ names the pod, and
// <log root>/containers/<pod>_<namespace>_<container>-<id>.log links to each
// container's log (one per restart kept).
func kubeContainerIDs(logRoot, uid, container string) ([]string, error) {
	pods, err := os.ReadDir(filepath.Join(logRoot, "pods"))
	if err != nil {
		return nil, err
	}
	var ns, pod string
	for _, e := range pods {
		if n, ok := strings.CutSuffix(e.Name(), "_"+uid); ok {
			ns, pod, ok = strings.Cut(n, "_")
			if ok {
				break
			}
		}
	}
	if pod == "" {
		return nil, fmt.Errorf("no directory %s/pods/<namespace>_<pod>_%s", logRoot, uid)
	}
	logs, err := os.ReadDir(filepath.Join(logRoot, "containers"))
	if err != nil {
		return nil, err
	}
	prefix := pod + "_" + ns + "_" + container + "-"
	var ids []string
	for _, e := range logs {
		if id, ok := strings.CutPrefix(e.Name(), prefix); ok {
			if id, ok = strings.CutSuffix(id, ".log"); ok && len(id) == 64 && isHex(id) {
				ids = append(ids, id)
			}
		}
	}
	return ids, nil
}
