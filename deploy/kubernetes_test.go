package deploy

import (
	"bufio"
	"flag"
	"fmt"
	"image"
	_ "image/jpeg" // image.DecodeConfig reads the input
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/rightsize/rightsize/examples/services/imagework"
	"github.com/rightsize/rightsize/internal/cli"
)

// What cannot be checked without a cluster: admission (the API server's
// own validation and defaults, policies), that images pull, that volumes
// bind, that probes pass, DNS at run time. What is checked: each
// kustomization builds as kubectl apply -k builds it; every object decodes
// strictly (an unknown or misspelt field fails) into the Kubernetes API
// types of k8s.io/api; and what the objects expect of each other holds —
// names, selectors and ports, ConfigMap, Secret and downward-API
// references, volumes, images and commands against the Dockerfile's
// programs, resources as quantities with requests within limits, the
// addresses in the ConfigMap against the Services and Kafka's advertised
// listener, and the image task's sidecars against its services and the
// recorded recommendation.

const (
	kubeDir           = "kubernetes"
	taskDir           = "kubernetes/image-task"
	namespace         = "rightsize"
	rightsizeImage    = "rightsize:dev"
	externalSecret    = "timescaledb-credentials" // made by hand, as README says
	externalSecretKey = "password"
)

var update = flag.Bool("update", false, "write the image task's input image again")

// objects is what a build holds, by kind.
type objects struct {
	namespaces   []corev1.Namespace
	configMaps   []corev1.ConfigMap
	secrets      []corev1.Secret
	services     []corev1.Service
	statefulSets []appsv1.StatefulSet
	deployments  []appsv1.Deployment
	jobs         []batchv1.Job
}

// build runs kustomize on dir as kubectl apply -k does and decodes every
// object strictly into its API type.
func build(t *testing.T, dir string, into *objects) {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	rm, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	for _, r := range rm.Resources() {
		b, err := r.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(b, &tm); err != nil {
			t.Fatal(err)
		}
		where := fmt.Sprintf("%s: %s %s", dir, tm.Kind, r.GetName())
		strict := func(v any) {
			if err := yaml.UnmarshalStrict(b, v); err != nil {
				t.Errorf("%s: %v", where, err)
			}
		}
		switch tm.APIVersion + " " + tm.Kind {
		case "v1 Namespace":
			var o corev1.Namespace
			strict(&o)
			into.namespaces = append(into.namespaces, o)
		case "v1 ConfigMap":
			var o corev1.ConfigMap
			strict(&o)
			into.configMaps = append(into.configMaps, o)
		case "v1 Secret":
			var o corev1.Secret
			strict(&o)
			into.secrets = append(into.secrets, o)
		case "v1 Service":
			var o corev1.Service
			strict(&o)
			into.services = append(into.services, o)
		case "apps/v1 StatefulSet":
			var o appsv1.StatefulSet
			strict(&o)
			into.statefulSets = append(into.statefulSets, o)
		case "apps/v1 Deployment":
			var o appsv1.Deployment
			strict(&o)
			into.deployments = append(into.deployments, o)
		case "batch/v1 Job":
			var o batchv1.Job
			strict(&o)
			into.jobs = append(into.jobs, o)
		default:
			t.Errorf("%s: a kind this test does not check", where)
		}
	}
}

// buildAll builds both kustomizations, the platform and the image task,
// into one set of objects (the task refers to the platform's ConfigMap).
// The tests only read it: it is built once.
func buildAll(t *testing.T) *objects {
	t.Helper()
	builtOnce.Do(func() {
		built = &objects{}
		build(t, kubeDir, built)
		build(t, taskDir, built)
	})
	if t.Failed() {
		t.FailNow()
	}
	return built
}

var (
	builtOnce sync.Once
	built     *objects
)

// pod is a workload's pod template, with where it comes from.
type pod struct {
	where     string
	namespace string
	selector  *metav1.LabelSelector
	tpl       corev1.PodTemplateSpec
	claims    []string // volumeClaimTemplates of a StatefulSet
}

func (o *objects) pods() []pod {
	var out []pod
	for _, s := range o.statefulSets {
		var claims []string
		for _, c := range s.Spec.VolumeClaimTemplates {
			claims = append(claims, c.Name)
		}
		out = append(out, pod{"StatefulSet " + s.Name, s.Namespace, s.Spec.Selector, s.Spec.Template, claims})
	}
	for _, d := range o.deployments {
		out = append(out, pod{"Deployment " + d.Name, d.Namespace, d.Spec.Selector, d.Spec.Template, nil})
	}
	for _, j := range o.jobs {
		out = append(out, pod{"Job " + j.Name, j.Namespace, j.Spec.Selector, j.Spec.Template, nil})
	}
	return out
}

func (o *objects) configMap(ns, name string) *corev1.ConfigMap {
	for i := range o.configMaps {
		if c := &o.configMaps[i]; c.Namespace == ns && c.Name == name {
			return c
		}
	}
	return nil
}

func (o *objects) service(ns, name string) *corev1.Service {
	for i := range o.services {
		if s := &o.services[i]; s.Namespace == ns && s.Name == name {
			return s
		}
	}
	return nil
}

func allContainers(spec corev1.PodSpec) []corev1.Container {
	return append(slices.Clone(spec.InitContainers), spec.Containers...)
}

func TestKubernetesObjects(t *testing.T) {
	o := buildAll(t)
	if len(o.namespaces) != 1 || o.namespaces[0].Name != namespace {
		t.Fatalf("namespaces %v, want %s alone", o.namespaces, namespace)
	}
	meta := func(where string, m metav1.ObjectMeta) {
		if m.Namespace != namespace {
			t.Errorf("%s: namespace %q, want %s", where, m.Namespace, namespace)
		}
		for _, e := range validation.IsDNS1123Subdomain(m.Name) {
			t.Errorf("%s: name: %s", where, e)
		}
		for k, v := range m.Labels {
			for _, e := range append(validation.IsQualifiedName(k), validation.IsValidLabelValue(v)...) {
				t.Errorf("%s: label %s=%s: %s", where, k, v, e)
			}
		}
	}
	for _, c := range o.configMaps {
		meta("ConfigMap "+c.Name, c.ObjectMeta)
	}
	for _, s := range o.services {
		meta("Service "+s.Name, s.ObjectMeta)
		for _, e := range validation.IsDNS1035Label(s.Name) {
			t.Errorf("Service %s: %s", s.Name, e)
		}
	}
	for _, p := range o.pods() {
		checkPod(t, o, p)
		// README waits for the pods by this label.
		if p.tpl.Labels["app.kubernetes.io/part-of"] != "rightsize" {
			t.Errorf("%s: the pod template lacks app.kubernetes.io/part-of=rightsize", p.where)
		}
	}
	for _, s := range o.statefulSets {
		meta("StatefulSet "+s.Name, s.ObjectMeta)
		gov := o.service(s.Namespace, s.Spec.ServiceName)
		switch {
		case gov == nil:
			t.Errorf("StatefulSet %s: governing Service %q does not exist", s.Name, s.Spec.ServiceName)
		case gov.Spec.ClusterIP != corev1.ClusterIPNone:
			t.Errorf("StatefulSet %s: governing Service %s is not headless", s.Name, gov.Name)
		}
	}
	for _, d := range o.deployments {
		meta("Deployment "+d.Name, d.ObjectMeta)
	}
	for _, j := range o.jobs {
		meta("Job "+j.Name, j.ObjectMeta)
		if rp := j.Spec.Template.Spec.RestartPolicy; rp != corev1.RestartPolicyNever && rp != corev1.RestartPolicyOnFailure {
			t.Errorf("Job %s: restartPolicy %q", j.Name, rp)
		}
	}
	for _, s := range o.services {
		checkService(t, o, s)
	}
}

func checkPod(t *testing.T, o *objects, p pod) {
	t.Helper()
	spec := p.tpl.Spec
	if p.selector != nil {
		sel, err := metav1.LabelSelectorAsSelector(p.selector)
		if err != nil {
			t.Errorf("%s: selector: %v", p.where, err)
		} else if !sel.Matches(labels.Set(p.tpl.Labels)) {
			t.Errorf("%s: selector %v does not match the pod template's labels %v", p.where, sel, p.tpl.Labels)
		}
	} else if !strings.HasPrefix(p.where, "Job ") {
		t.Errorf("%s: no selector", p.where)
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Errorf("%s: mounts a service account token, and nothing in it talks to the API server", p.where)
	}
	if sc := spec.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Errorf("%s: not runAsNonRoot", p.where)
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		volumes[v.Name] = v
		if v.ConfigMap != nil && o.configMap(p.namespace, v.ConfigMap.Name) == nil {
			t.Errorf("%s: volume %s: ConfigMap %s does not exist", p.where, v.Name, v.ConfigMap.Name)
		}
	}
	// Service links: a Service named like the prefix of the pod's
	// variables would add variables of its own (KAFKA_PORT for kafka).
	if spec.EnableServiceLinks == nil || *spec.EnableServiceLinks {
	links:
		for _, c := range allContainers(spec) {
			for _, e := range c.Env {
				for _, s := range o.services {
					if strings.HasPrefix(e.Name, strings.ToUpper(strings.ReplaceAll(s.Name, "-", "_"))+"_") {
						t.Errorf("%s: container %s sets %s, and the Service %s's links would add variables of the same prefix: set enableServiceLinks: false", p.where, c.Name, e.Name, s.Name)
						break links
					}
				}
			}
		}
	}
	names := map[string]bool{}
	for i, c := range allContainers(spec) {
		where := p.where + " container " + c.Name
		if names[c.Name] {
			t.Errorf("%s: name used twice", where)
		}
		names[c.Name] = true
		for _, e := range validation.IsDNS1123Label(c.Name) {
			t.Errorf("%s: %s", where, e)
		}
		init := i < len(spec.InitContainers)
		if c.RestartPolicy != nil && (!init || *c.RestartPolicy != corev1.ContainerRestartPolicyAlways) {
			t.Errorf("%s: restartPolicy %v is only for sidecars (init containers, Always)", where, *c.RestartPolicy)
		}
		checkImage(t, o, where, p, c)
		checkEnv(t, o, where, p, c)
		checkResources(t, where, c.Resources)
		ports := map[string]bool{}
		for _, cp := range c.Ports {
			ports[cp.Name] = true
			ports[strconv.Itoa(int(cp.ContainerPort))] = true
		}
		for _, pr := range []*corev1.Probe{c.StartupProbe, c.ReadinessProbe, c.LivenessProbe} {
			if pr == nil {
				continue
			}
			if pr.TCPSocket != nil && !ports[pr.TCPSocket.Port.String()] {
				t.Errorf("%s: probe on port %s, which the container does not declare", where, pr.TCPSocket.Port.String())
			}
			if pr.HTTPGet != nil && !ports[pr.HTTPGet.Port.String()] {
				t.Errorf("%s: probe on port %s, which the container does not declare", where, pr.HTTPGet.Port.String())
			}
		}
		for _, m := range c.VolumeMounts {
			if _, ok := volumes[m.Name]; !ok && !slices.Contains(p.claims, m.Name) {
				t.Errorf("%s: mounts %s, which is not a volume of the pod", where, m.Name)
			}
		}
		if sc := c.SecurityContext; sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
			sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
			t.Errorf("%s: want allowPrivilegeEscalation: false and every capability dropped", where)
		}
	}
}

// checkImage checks a container's image: rightsize's own, running one of
// the programs the Dockerfile builds as the user it sets, or a server's,
// the same as docker-compose.yml's.
func checkImage(t *testing.T, o *objects, where string, p pod, c corev1.Container) {
	t.Helper()
	if c.ImagePullPolicy != corev1.PullIfNotPresent {
		t.Errorf("%s: imagePullPolicy %q, want IfNotPresent", where, c.ImagePullPolicy)
	}
	if c.Image == rightsizeImage {
		if len(c.Command) == 0 || !strings.HasPrefix(c.Command[0], imageBinDir) ||
			!slices.Contains(imageBinaries(t), strings.TrimPrefix(c.Command[0], imageBinDir)) {
			t.Errorf("%s: command %v is not a program of the image (%s%v)", where, c.Command, imageBinDir, imageBinaries(t))
		}
		sc := p.tpl.Spec.SecurityContext
		if uid := strings.Split(imageUser, ":")[0]; sc == nil || sc.RunAsUser == nil || strconv.FormatInt(*sc.RunAsUser, 10) != uid {
			t.Errorf("%s: the pod does not run as %s, the image's user", where, uid)
		}
		return
	}
	composeImagesOnce.Do(func() {
		for _, s := range loadCompose(t, nil).Services {
			composeImages = append(composeImages, s.Image)
		}
	})
	if !slices.Contains(composeImages, c.Image) {
		t.Errorf("%s: image %s is neither %s nor one of docker-compose.yml's %v", where, c.Image, rightsizeImage, composeImages)
	}
}

var (
	composeImagesOnce sync.Once
	composeImages     []string
)

var varRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

func checkEnv(t *testing.T, o *objects, where string, p pod, c corev1.Container) {
	t.Helper()
	defined := map[string]bool{}
	for _, ef := range c.EnvFrom {
		if ef.ConfigMapRef == nil {
			t.Errorf("%s: envFrom other than a ConfigMap", where)
			continue
		}
		cm := o.configMap(p.namespace, ef.ConfigMapRef.Name)
		if cm == nil {
			t.Errorf("%s: envFrom ConfigMap %s does not exist", where, ef.ConfigMapRef.Name)
			continue
		}
		for k := range cm.Data {
			defined[k] = true
		}
	}
	for _, e := range c.Env {
		defined[e.Name] = true
		vf := e.ValueFrom
		switch {
		case vf == nil:
		case vf.ConfigMapKeyRef != nil:
			cm := o.configMap(p.namespace, vf.ConfigMapKeyRef.Name)
			if cm == nil {
				t.Errorf("%s: %s: ConfigMap %s does not exist", where, e.Name, vf.ConfigMapKeyRef.Name)
			} else if _, ok := cm.Data[vf.ConfigMapKeyRef.Key]; !ok {
				t.Errorf("%s: %s: ConfigMap %s has no key %s", where, e.Name, cm.Name, vf.ConfigMapKeyRef.Key)
			}
		case vf.SecretKeyRef != nil:
			if vf.SecretKeyRef.Name != externalSecret || vf.SecretKeyRef.Key != externalSecretKey {
				t.Errorf("%s: %s: Secret %s key %s is not the one README has made (%s, %s)", where, e.Name,
					vf.SecretKeyRef.Name, vf.SecretKeyRef.Key, externalSecret, externalSecretKey)
			}
		case vf.FieldRef != nil:
			fp := vf.FieldRef.FieldPath
			if m := regexp.MustCompile(`^metadata\.labels\['(.+)'\]$`).FindStringSubmatch(fp); m != nil {
				if _, ok := p.tpl.Labels[m[1]]; !ok {
					t.Errorf("%s: %s: the pod has no label %s", where, e.Name, m[1])
				}
			} else if !slices.Contains([]string{"metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "status.podIP"}, fp) {
				t.Errorf("%s: %s: field %s is not one this test knows the downward API gives", where, e.Name, fp)
			}
		default:
			t.Errorf("%s: %s: a valueFrom this test does not check", where, e.Name)
		}
	}
	for _, a := range append(slices.Clone(c.Command), c.Args...) {
		for _, m := range varRef.FindAllStringSubmatch(a, -1) {
			if !defined[m[1]] {
				t.Errorf("%s: $(%s) in its command line is not a variable of the container", where, m[1])
			}
		}
	}
}

func checkResources(t *testing.T, where string, r corev1.ResourceRequirements) {
	t.Helper()
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := r.Requests[name]; !ok {
			t.Errorf("%s: no %s request", where, name)
		}
	}
	if _, ok := r.Limits[corev1.ResourceMemory]; !ok {
		t.Errorf("%s: no memory limit", where)
	}
	for name, lim := range r.Limits {
		if req, ok := r.Requests[name]; ok && req.Cmp(lim) > 0 {
			t.Errorf("%s: %s request %s is above its limit %s", where, name, req.String(), lim.String())
		}
	}
	for name, q := range r.Requests {
		if q.Sign() <= 0 {
			t.Errorf("%s: %s request %s", where, name, q.String())
		}
	}
}

func checkService(t *testing.T, o *objects, s corev1.Service) {
	t.Helper()
	if len(s.Spec.Selector) == 0 {
		t.Errorf("Service %s: no selector", s.Name)
		return
	}
	var matched []pod
	for _, p := range o.pods() {
		if p.namespace == s.Namespace && labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(p.tpl.Labels)) {
			matched = append(matched, p)
		}
	}
	if len(matched) == 0 {
		t.Errorf("Service %s: selector %v matches no pod template", s.Name, s.Spec.Selector)
	}
	for _, p := range matched {
		for _, sp := range s.Spec.Ports {
			target := sp.TargetPort.String()
			if sp.TargetPort.IntValue() == 0 && sp.TargetPort.StrVal == "" {
				target = strconv.Itoa(int(sp.Port))
			}
			found := false
			for _, c := range p.tpl.Spec.Containers {
				for _, cp := range c.Ports {
					found = found || cp.Name == target || strconv.Itoa(int(cp.ContainerPort)) == target
				}
			}
			if !found {
				t.Errorf("Service %s port %d: target %s is not a port of %s", s.Name, sp.Port, target, p.where)
			}
		}
	}
}

// serviceAddress checks that addr (host:port) names a Service of the
// build — NAME, NAME.NAMESPACE or NAME.NAMESPACE.svc[.cluster.local] —
// with that port, and returns the Service.
func serviceAddress(t *testing.T, o *objects, what, addr string) *corev1.Service {
	t.Helper()
	host, prt, err := net.SplitHostPort(addr)
	if err != nil {
		t.Errorf("%s %q: %v", what, addr, err)
		return nil
	}
	parts := strings.Split(host, ".")
	ns := namespace
	if len(parts) > 1 {
		ns = parts[1]
	}
	if len(parts) > 2 && (parts[2] != "svc" || (len(parts) > 3 && strings.Join(parts[3:], ".") != "cluster.local")) {
		t.Errorf("%s %q: not a Service's name", what, addr)
	}
	s := o.service(ns, parts[0])
	if s == nil {
		t.Errorf("%s %q: no Service %s in namespace %s", what, addr, parts[0], ns)
		return nil
	}
	if !slices.ContainsFunc(s.Spec.Ports, func(p corev1.ServicePort) bool { return strconv.Itoa(int(p.Port)) == prt }) {
		t.Errorf("%s %q: Service %s has no port %s", what, addr, s.Name, prt)
	}
	return s
}

func containerEnv(c corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

func findContainer(t *testing.T, o *objects, workload string) corev1.Container {
	t.Helper()
	for _, p := range o.pods() {
		if p.where == workload {
			return p.tpl.Spec.Containers[0]
		}
	}
	t.Fatalf("no %s", workload)
	return corev1.Container{}
}

func TestKubernetesAddresses(t *testing.T) {
	o := buildAll(t)
	cm := o.configMap(namespace, "rightsize-config")
	if cm == nil {
		t.Fatal("no ConfigMap rightsize-config")
	}
	brokers := cm.Data[cli.EnvBrokers]
	for _, b := range strings.Split(brokers, ",") {
		serviceAddress(t, o, cli.EnvBrokers, b)
	}
	kafka := findContainer(t, o, "StatefulSet kafka")
	if !slices.Contains(strings.Split(containerEnv(kafka, "KAFKA_ADVERTISED_LISTENERS"), ","), "PLAINTEXT://"+brokers) {
		t.Errorf("Kafka advertises %s; clients are told to use %s", containerEnv(kafka, "KAFKA_ADVERTISED_LISTENERS"), brokers)
	}
	if !slices.ContainsFunc(kafka.VolumeMounts, func(m corev1.VolumeMount) bool {
		return strings.HasPrefix(containerEnv(kafka, "KAFKA_LOG_DIRS")+"/", m.MountPath+"/")
	}) {
		t.Errorf("Kafka's log directory %s is not on its volume", containerEnv(kafka, "KAFKA_LOG_DIRS"))
	}

	u, err := url.Parse(cm.Data[cli.EnvDatabase])
	if err != nil {
		t.Fatal(err)
	}
	serviceAddress(t, o, cli.EnvDatabase, u.Host)
	if _, ok := u.User.Password(); ok {
		t.Errorf("%s holds a password, in a ConfigMap", cli.EnvDatabase)
	}
	db := findContainer(t, o, "StatefulSet timescaledb")
	if got, want := strings.TrimPrefix(u.Path, "/"), containerEnv(db, "POSTGRES_DB"); got != want {
		t.Errorf("the store's database %q, the server creates %q", got, want)
	}
	if got, want := u.User.Username(), containerEnv(db, "POSTGRES_USER"); got != want {
		t.Errorf("the store's user %q, the server's %q", got, want)
	}
	mon := findContainer(t, o, "Deployment monitor")
	secretOf := func(c corev1.Container, name string) string {
		for _, e := range c.Env {
			if e.Name == name && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				return e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
			}
		}
		return ""
	}
	if a, b := secretOf(mon, "PGPASSWORD"), secretOf(db, "POSTGRES_PASSWORD"); a == "" || a != b {
		t.Errorf("the monitor's PGPASSWORD (%q) is not the server's POSTGRES_PASSWORD (%q)", a, b)
	}
	if i := slices.Index(mon.Args, "-http"); i < 0 || i+1 >= len(mon.Args) ||
		!slices.ContainsFunc(mon.Ports, func(p corev1.ContainerPort) bool { return ":"+strconv.Itoa(int(p.ContainerPort)) == mon.Args[i+1] }) {
		t.Errorf("the monitor's -http address (args %v) is not its declared port %v", mon.Args, mon.Ports)
	}
	if len(mon.EnvFrom) == 0 || mon.EnvFrom[0].ConfigMapRef.Name != cm.Name {
		t.Errorf("the monitor does not take its addresses from %s", cm.Name)
	}

	// The Secret is not in the manifests: README makes it.
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "create secret generic "+externalSecret) {
		t.Errorf("README does not say how to make the Secret %s", externalSecret)
	}
	if !strings.Contains(string(readme), "kubectl apply -k deploy/kubernetes") {
		t.Error("README does not say kubectl apply -k deploy/kubernetes")
	}
}

// recommendation reads the resources: blocks of examples/usage -o yaml,
// as recorded in recommendations.txt.
func recommendations(t *testing.T) map[string]corev1.ResourceRequirements {
	t.Helper()
	f, err := os.Open(filepath.Join(taskDir, "recommendations.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	blocks := map[string]string{}
	var svc string
	head := regexp.MustCompile(`^# (\S+), method \S+$`)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if m := head.FindStringSubmatch(line); m != nil {
			svc = m[1]
			continue
		}
		if svc != "" && !strings.HasPrefix(line, "#") {
			blocks[svc] += line + "\n"
		}
	}
	out := map[string]corev1.ResourceRequirements{}
	for svc, b := range blocks {
		var r struct {
			Resources corev1.ResourceRequirements `json:"resources"`
		}
		if err := yaml.UnmarshalStrict([]byte(b), &r); err != nil {
			t.Fatalf("recommendations.txt: %s: %v", svc, err)
		}
		out[svc] = r.Resources
	}
	return out
}

// sidecarMeasurement reads the producer's recommended CPU request and
// largest memory sample (MiB) from sidecar-measurement.txt.
func sidecarMeasurement(t *testing.T) (cpu resource.Quantity, maxMemMiB float64) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(taskDir, "sidecar-measurement.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var gotCPU, gotMem bool
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 8 && f[0] == "producer" && f[1] == "memory" && f[7] == "MiB":
			maxMemMiB, err = strconv.ParseFloat(f[5], 64)
			gotMem = err == nil
		case len(f) > 3 && f[0] == "producer" && f[1] == "cpu" && strings.HasSuffix(f[2], "m"):
			cpu, err = resource.ParseQuantity(f[2])
			gotCPU = err == nil
		}
	}
	if !gotCPU || !gotMem {
		t.Fatal("sidecar-measurement.txt: no producer cpu recommendation or memory maximum")
	}
	return cpu, maxMemMiB
}

// producerArgs reads a producer sidecar's command line: its -match
// pattern and its SERVICE argument.
func producerArgs(args []string) (match, service string) {
	var rest []string
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-match":
			match, i = args[i+1], i+1
		case strings.HasPrefix(a, "-") && !strings.Contains(a, "="):
			i++ // a flag's value
		case strings.HasPrefix(a, "-"):
		default:
			rest = append(rest, a)
		}
	}
	if len(rest) > 0 {
		service = rest[0]
	}
	return match, service
}

func TestImageTaskJob(t *testing.T) {
	o := buildAll(t)
	if len(o.jobs) != 1 {
		t.Fatalf("%d Jobs, want the image task's", len(o.jobs))
	}
	j := o.jobs[0]
	spec := j.Spec.Template.Spec
	recs := recommendations(t)
	sideCPU, sideMem := sidecarMeasurement(t)

	var sidecars, services []corev1.Container
	for i, c := range allContainers(spec) {
		isSidecar := c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
		if isSidecar && len(services) > 0 {
			t.Errorf("sidecar %s starts after service %s, whose start it would miss", c.Name, services[0].Name)
		}
		if isSidecar {
			if path.Base(c.Command[0]) != "producer" {
				t.Errorf("sidecar %s runs %s, not the producer", c.Name, c.Command[0])
			}
			sidecars = append(sidecars, c)
			continue
		}
		if i < len(spec.InitContainers) && c.RestartPolicy != nil {
			t.Errorf("init container %s has restartPolicy %v", c.Name, *c.RestartPolicy)
		}
		services = append(services, c)
	}
	var names []string
	for _, c := range services {
		names = append(names, c.Name)
	}
	if want := []string{imagework.DecodeService, imagework.ResizeService, imagework.BlurService, imagework.EncodeService}; !slices.Equal(names, want) {
		t.Errorf("services %v, want %v in the pipeline's usual order", names, want)
	}
	if spec.ShareProcessNamespace == nil || !*spec.ShareProcessNamespace {
		t.Error("the sidecars sample by -match: the pod must share its process namespace")
	}

	// Each service is sampled by one sidecar, under its own name, whose
	// pattern matches its command line and no other container's.
	sampled := map[string]int{}
	for _, sc := range sidecars {
		match, svc := producerArgs(sc.Args)
		re, err := regexp.Compile(match)
		if err != nil || match == "" {
			t.Errorf("sidecar %s: -match %q: %v", sc.Name, match, err)
			continue
		}
		for _, c := range allContainers(spec) {
			cmdline := strings.Join(append(slices.Clone(c.Command), c.Args...), " ")
			if !re.MatchString(cmdline) {
				continue
			}
			if c.Name != svc {
				t.Errorf("sidecar %s (service %s): -match %q also matches container %s (%s)", sc.Name, svc, match, c.Name, cmdline)
			}
			sampled[c.Name]++
		}
		if !slices.Contains(sc.Args, "$(TASK)") {
			t.Errorf("sidecar %s does not label its samples with the task", sc.Name)
		}
		if req := sc.Resources.Requests[corev1.ResourceCPU]; req.Cmp(sideCPU) != 0 {
			t.Errorf("sidecar %s: cpu request %s, the producer's recommendation is %s", sc.Name, req.String(), sideCPU.String())
		}
		if req := sc.Resources.Requests[corev1.ResourceMemory]; float64(req.Value()) < sideMem*(1<<20) {
			t.Errorf("sidecar %s: memory request %s is below the producer's largest sample, %.1f MiB", sc.Name, req.String(), sideMem)
		}
	}
	for _, c := range services {
		if sampled[c.Name] != 1 {
			t.Errorf("service %s is sampled by %d sidecars, want 1", c.Name, sampled[c.Name])
		}
		// Requests and limits: the recommendation, as printed.
		want, ok := recs[c.Name]
		if !ok {
			t.Errorf("service %s: no recorded recommendation", c.Name)
			continue
		}
		for _, list := range []struct {
			what      string
			got, want corev1.ResourceList
		}{{"requests", c.Resources.Requests, want.Requests}, {"limits", c.Resources.Limits, want.Limits}} {
			if len(list.got) != len(list.want) {
				t.Errorf("service %s: %s %v, recommended %v", c.Name, list.what, list.got, list.want)
			}
			for name, q := range list.want {
				if g := list.got[name]; g.String() != q.String() {
					t.Errorf("service %s: %s %s = %s, recommended %s", c.Name, list.what, name, g.String(), q.String())
				}
			}
		}
	}

	// The files: each service reads what the one before wrote; the first
	// reads the task's input, a key of the ConfigMap mounted there.
	var prev string
	for i, c := range services {
		in, out := flagValue(c.Args, "-in"), flagValue(c.Args, "-out")
		if i > 0 && in != prev {
			t.Errorf("service %s reads %s; %s wrote %s", c.Name, in, services[i-1].Name, prev)
		}
		prev = out
		for _, f := range []string{in, out} {
			if mountOf(c, f) == nil {
				t.Errorf("service %s: %s is on no volume", c.Name, f)
			}
		}
	}
	first := services[0]
	in := flagValue(first.Args, "-in")
	m := mountOf(first, in)
	if m == nil {
		t.Fatalf("the input %s is on no volume", in)
	}
	for _, v := range spec.Volumes {
		if v.Name != m.Name || v.ConfigMap == nil {
			continue
		}
		cm := o.configMap(j.Namespace, v.ConfigMap.Name)
		if cm == nil {
			break
		}
		key := strings.TrimPrefix(in, m.MountPath+"/")
		if _, ok := cm.BinaryData[key]; !ok {
			t.Errorf("ConfigMap %s has no %s", cm.Name, key)
		}
	}
}

func flagValue(args []string, name string) string {
	if i := slices.Index(args, name); i >= 0 && i+1 < len(args) {
		return args[i+1]
	}
	return ""
}

func mountOf(c corev1.Container, file string) *corev1.VolumeMount {
	for i, m := range c.VolumeMounts {
		if strings.HasPrefix(file, m.MountPath+"/") {
			return &c.VolumeMounts[i]
		}
	}
	return nil
}

// TestImageTaskInput checks the image task's input, a 1280x720 image of
// the pipeline's generator; -update writes it again.
func TestImageTaskInput(t *testing.T) {
	file := filepath.Join(taskDir, "input.jpg")
	if *update {
		f, err := os.Create(file)
		if err != nil {
			t.Fatal(err)
		}
		if err := imagework.Encode(f, imagework.Generate(1280, 720, 7), imagework.JPEG); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, format, err := image.DecodeConfig(f)
	if err != nil || format != "jpeg" || cfg.Width != 1280 || cfg.Height != 720 {
		t.Errorf("%s: %s %dx%d (%v), want a 1280x720 jpeg", file, format, cfg.Width, cfg.Height, err)
	}
	if st, err := f.Stat(); err != nil || st.Size() > 512<<10 {
		t.Errorf("%s is too large for a ConfigMap (at most 1 MiB, and smaller is kinder)", file)
	}
}
