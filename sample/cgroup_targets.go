package sample

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// This file holds the constructors of cgroup samplers: each resolves what
// it is asked for (a path, a process, a container, a unit, a pod) to the
// cgroup directories to read, once, and hands them to newCgroup.

// NewCgroup returns a sampler of the cgroup at p: a directory of a mounted
// cgroup hierarchy ("/sys/fs/cgroup/system.slice/nginx.service",
// "/sys/fs/cgroup/memory/docker/<id>"), or a cgroup path as
// /proc/<pid>/cgroup shows it ("/system.slice/nginx.service"), which is
// looked for in every hierarchy (on v1 hosts each controller has its own).
// It returns an error matching ErrNoCgroup, naming p, if no hierarchy has
// it, and one matching fs.ErrPermission, naming the file, if its files may
// not be read.
func NewCgroup(service, p string, opts ...CgroupOption) (*Cgroup, error) {
	c, err := newConfig(service, opts)
	if err != nil {
		return nil, err
	}
	if p == "" {
		return nil, &TargetError{"cgroup", `""`, errors.New("empty path")}
	}
	hs, err := loadHierarchies(c)
	if err != nil {
		return nil, &TargetError{"cgroup", p, err}
	}
	rel := ""
	for _, h := range hs {
		if r, ok := h.rel(p); ok {
			rel = r
			break
		}
	}
	if rel == "" {
		rel = path.Clean("/" + p)
	}
	dirs := dirsOf(hs, func(*hierarchy) (string, bool) { return rel, true })
	if len(dirs) == 0 {
		return nil, &TargetError{"cgroup", p, fmt.Errorf("%w in %s", ErrNoCgroup, hierarchyList(hs))}
	}
	return newCgroup(c, service, "cgroup", p, dirs)
}

// NewProcessCgroup returns a sampler of the cgroups the process pid is in,
// as /proc/<pid>/cgroup lists them (one per hierarchy on v1 hosts). The
// cgroups are resolved once: if the process later moves, the sampler stays
// with the cgroups. Hierarchies where the process is in the root cgroup are
// left out (their root measures the whole machine); if it is in the root
// of all of them the constructor fails: measure the process with
// NewProcess, or the machine with NewHost.
func NewProcessCgroup(service string, pid int, opts ...CgroupOption) (*Cgroup, error) {
	c, err := newConfig(service, opts)
	if err != nil {
		return nil, err
	}
	target := strconv.Itoa(pid)
	b, err := os.ReadFile(filepath.Join(c.procRoot, target, "cgroup"))
	if err != nil {
		if vanished(err) {
			err = ErrNoProcess
		}
		return nil, &TargetError{"pid", target, err}
	}
	lines, err := parseProcCgroup(b)
	if err != nil {
		return nil, &TargetError{"pid", target, err}
	}
	hs, err := loadHierarchies(c)
	if err != nil {
		return nil, &TargetError{"pid", target, err}
	}
	dirs := dirsOf(hs, func(h *hierarchy) (string, bool) {
		for _, l := range lines {
			if sameControllers(h, l) && l.path != "/" {
				return l.path, true
			}
		}
		return "", false
	})
	if len(dirs) == 0 {
		return nil, &TargetError{"pid", target, fmt.Errorf("%w: the process is in the root cgroup of every hierarchy; measure it with NewProcess, or the host with NewHost", ErrNoCgroup)}
	}
	return newCgroup(c, service, "pid", target+" cgroup", dirs)
}

// NewContainer returns a sampler of a container's cgroup. idOrName is a
// container ID, a unique prefix of one, or a Docker container name. IDs are
// found in the cgroup directory names the runtimes use: Docker
// ("docker-<id>.scope", "/docker/<id>"), containerd ("cri-containerd-<id>.scope"),
// CRI-O ("crio-<id>.scope"), Podman ("libpod-<id>.scope") and the kubelet's
// cgroupfs layout ("/kubepods/<qos>/pod<uid>/<id>"). Names are looked up in
// Docker's state directory (see WithDockerRoot), without the Docker API.
//
// It returns an error matching ErrNoCgroup, naming idOrName, when no running
// container matches, and ErrAmbiguous when a prefix matches several.
func NewContainer(service, idOrName string, opts ...CgroupOption) (*Cgroup, error) {
	c, err := newConfig(service, opts)
	if err != nil {
		return nil, err
	}
	q := strings.TrimSpace(idOrName)
	if q == "" {
		return nil, &TargetError{"container", `""`, errors.New("empty ID or name")}
	}
	hs, err := loadHierarchies(c)
	if err != nil {
		return nil, &TargetError{"container", q, err}
	}
	byID := containerDirs(hs, nil)
	var ids []string
	lq := strings.ToLower(q)
	if _, ok := byID[lq]; ok { // a full ID
		ids = []string{lq}
	}
	if ids == nil {
		named, nerr := dockerNames(c.host(c.docker), q)
		for _, id := range named {
			if _, ok := byID[id]; ok {
				ids = append(ids, id)
			}
		}
		if ids == nil && len(named) > 0 {
			return nil, &TargetError{"container", q, fmt.Errorf("%w: the container (ID %.12s) is not running", ErrNoCgroup, named[0])}
		}
		if ids == nil && isHex(lq) {
			for id := range byID {
				if strings.HasPrefix(id, lq) {
					ids = append(ids, id)
				}
			}
		}
		if ids == nil {
			where := "no running container has that ID"
			if nerr == nil {
				where += " or name"
			} else if !errors.Is(nerr, fs.ErrNotExist) {
				where += fmt.Sprintf(" (names not looked up: %v)", nerr)
			}
			return nil, &TargetError{"container", q, fmt.Errorf("%w: %s in %s", ErrNoCgroup, where, hierarchyList(hs))}
		}
	}
	if len(ids) > 1 {
		slices.Sort(ids)
		short := make([]string, len(ids))
		for i, id := range ids {
			short[i] = id[:12]
		}
		return nil, &TargetError{"container", q, fmt.Errorf("%w: matches containers %s", ErrAmbiguous, strings.Join(short, ", "))}
	}
	return newCgroup(c, service, "container", q, byID[ids[0]])
}

// NewUnit returns a sampler of the cgroup of a systemd unit ("nginx" is
// "nginx.service"), looked for in every hierarchy: "/system.slice/<unit>"
// first, else the shallowest directory of that name (units in other slices,
// user units). It returns an error matching ErrNoCgroup, naming the unit,
// when the unit has no cgroup (it is not running, or systemd does not manage
// the cgroups here).
func NewUnit(service, unit string, opts ...CgroupOption) (*Cgroup, error) {
	c, err := newConfig(service, opts)
	if err != nil {
		return nil, err
	}
	if unit == "" || strings.ContainsAny(unit, "/\x00") {
		return nil, &TargetError{"unit", strconv.Quote(unit), errors.New("not a systemd unit name")}
	}
	name := unitName(unit)
	hs, err := loadHierarchies(c)
	if err != nil {
		return nil, &TargetError{"unit", name, err}
	}
	dirs := dirsOf(hs, func(h *hierarchy) (string, bool) {
		if d, ok := h.dir("/system.slice/" + name); ok && exists(d) {
			return "/system.slice/" + name, true
		}
		rels := findDirs(h, maxCgroupDepth, func(n, _ string) bool { return n == name })
		if len(rels) == 0 {
			return "", false
		}
		return rels[0], true
	})
	if len(dirs) == 0 {
		return nil, &TargetError{"unit", name, fmt.Errorf("%w in %s (is the unit running?)", ErrNoCgroup, hierarchyList(hs))}
	}
	return newCgroup(c, service, "unit", name, dirs)
}

// NewPod returns a sampler of the cgroup of the Kubernetes pod with the
// given UID (metadata.uid), which holds all its containers. The kubelet
// names it "pod<uid>" with the cgroupfs driver
// (/kubepods/burstable/pod<uid>) and "kubepods-<qos>-pod<uid with '_' for
// '-'>.slice" with the systemd driver. It returns an error matching
// ErrNoCgroup, naming the UID, when this node runs no such pod.
func NewPod(service, uid string, opts ...CgroupOption) (*Cgroup, error) {
	p, err := findPod(service, uid, opts)
	if err != nil {
		return nil, err
	}
	return newCgroup(p.c, service, "pod", p.uid, dirsOf(p.hs, func(h *hierarchy) (string, bool) {
		rel, ok := p.rels[h]
		return rel, ok
	}))
}

// podCgroups are the cgroups of a pod, as findPod finds them.
type podCgroups struct {
	c    *config
	uid  string // normalised: lower case, no spaces
	hs   []*hierarchy
	rels map[*hierarchy]string // the pod's cgroup in each hierarchy that has it
}

// findPod finds the cgroups of the pod with the given UID for a sampler of
// service: the first steps of NewPod and NewPodContainer.
func findPod(service, uid string, opts []CgroupOption) (*podCgroups, error) {
	c, err := newConfig(service, opts)
	if err != nil {
		return nil, err
	}
	uid = strings.ToLower(strings.TrimSpace(uid))
	if uid == "" || strings.Trim(uid, "0123456789abcdef-") != "" {
		return nil, &TargetError{"pod", strconv.Quote(uid), errors.New("not a pod UID (metadata.uid, such as 6b9f1a0e-...)")}
	}
	hs, err := loadHierarchies(c)
	if err != nil {
		return nil, &TargetError{"pod", uid, err}
	}
	rels := map[*hierarchy]string{}
	for _, h := range hs {
		if !relevant(h) {
			continue
		}
		if found := findDirs(h, maxCgroupDepth, func(n, _ string) bool { return isPodCgroup(n, uid) }); len(found) > 0 {
			rels[h] = found[0]
		}
	}
	if len(rels) == 0 {
		return nil, &TargetError{"pod", uid, fmt.Errorf("%w: no pod with that UID runs here (looked in %s)", ErrNoCgroup, hierarchyList(hs))}
	}
	return &podCgroups{c: c, uid: uid, hs: hs, rels: rels}, nil
}

// NewPodContainer returns a sampler of one container of a Kubernetes pod:
// container is the container's ID (or a unique prefix) or its name in the
// pod spec. Names are resolved through the kubelet's log directories
// (/var/log/pods/<namespace>_<pod>_<uid> and
// /var/log/containers/<pod>_<namespace>_<name>-<id>.log, below the host
// root), which every CRI runtime's kubelet keeps.
func NewPodContainer(service, podUID, container string, opts ...CgroupOption) (*Cgroup, error) {
	p, err := findPod(service, podUID, opts)
	if err != nil {
		return nil, err
	}
	c := p.c
	target := p.uid + "/" + container
	byID := containerDirs(p.hs, p.rels)
	var ids []string
	if lq := strings.ToLower(container); isHex(lq) {
		for id := range byID {
			if strings.HasPrefix(id, lq) {
				ids = append(ids, id)
			}
		}
	}
	if ids == nil {
		named, err := kubeContainerIDs(c.host(defaultKubeLogRoot), p.uid, container)
		if err != nil {
			return nil, &TargetError{"container", target, fmt.Errorf("%w: not an ID of a container of the pod, and its name could not be looked up: %v", ErrNoCgroup, err)}
		}
		for _, id := range named {
			if _, ok := byID[id]; ok {
				ids = append(ids, id)
			}
		}
	}
	switch len(ids) {
	case 0:
		return nil, &TargetError{"container", target, fmt.Errorf("%w: the pod has no running container with that name or ID", ErrNoCgroup)}
	case 1:
		return newCgroup(c, service, "container", target, byID[ids[0]])
	}
	slices.Sort(ids)
	return nil, &TargetError{"container", target, fmt.Errorf("%w: matches containers %s", ErrAmbiguous, strings.Join(ids, ", "))}
}
