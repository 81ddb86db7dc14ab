package sample

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// This file knows the names container runtimes, systemd and the kubelet
// give their cgroups, and the state they keep from which a name given by a
// user is turned into a container ID (Docker's config.v2.json, the
// kubelet's log directories).

// containerDirs walks the hierarchies for container cgroups (below the
// directory of a pod, if pods is given) and returns them by container ID,
// the shallowest per hierarchy.
func containerDirs(hs []*hierarchy, within map[*hierarchy]string) map[string][]cgDir {
	byID := map[string][]cgDir{}
	for _, h := range hs {
		if !relevant(h) {
			continue
		}
		var rels []string
		if within != nil {
			pod, ok := within[h]
			if !ok {
				continue
			}
			dir, _ := h.dir(pod)
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if _, ok := containerID(e.Name()); ok && e.IsDir() {
					rels = append(rels, path.Join(pod, e.Name()))
				}
			}
		} else {
			rels = findDirs(h, maxCgroupDepth, func(name, _ string) bool { _, ok := containerID(name); return ok })
		}
		for _, rel := range rels {
			id, _ := containerID(path.Base(rel))
			if slices.ContainsFunc(byID[id], func(d cgDir) bool { return d.h == h }) {
				continue
			}
			dir, _ := h.dir(rel)
			byID[id] = append(byID[id], cgDir{h, rel, dir})
		}
	}
	return byID
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
