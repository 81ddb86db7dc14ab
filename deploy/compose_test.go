package deploy

import (
	"context"
	"encoding/base64"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"sigs.k8s.io/yaml"

	"github.com/rightsize/rightsize/internal/cli"
)

// What cannot be checked without a Docker engine: that the images pull
// and start, that the health checks pass in time, and what the servers
// do with their settings. What is checked: the file loads as Compose
// loads it (schema, interpolation, paths), and what the services expect
// of each other agrees — listeners and the addresses clients use, the
// store's DSN and the database the server creates, the datasource
// Grafana is given, volumes, health checks and the order of start-up.

// loadCompose loads docker-compose.yml as `docker compose` does, with env
// as the environment (nil: nothing set, every default applies).
func loadCompose(t *testing.T, env map[string]string) *types.Project {
	t.Helper()
	abs, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	p, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  abs,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(abs, "docker-compose.yml")}},
		Environment: types.Mapping(env),
	}, func(o *loader.Options) { o.SetProjectName("rightsize", true) })
	if err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return p
}

func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, ok := p.Services[name]
	if !ok {
		t.Fatalf("docker-compose.yml has no service %s", name)
	}
	return s
}

func env(s types.ServiceConfig, key string) string {
	if v := s.Environment[key]; v != nil {
		return *v
	}
	return ""
}

// listeners parses a Kafka listener list, NAME://host:port,...
func listeners(t *testing.T, v string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, l := range strings.Split(v, ",") {
		name, addr, ok := strings.Cut(strings.TrimSpace(l), "://")
		if !ok {
			t.Fatalf("listener %q: want NAME://host:port", l)
		}
		out[name] = addr
	}
	return out
}

func port(t *testing.T, addr string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("%q: %v", addr, err)
	}
	return p
}

func TestComposeServices(t *testing.T) {
	p := loadCompose(t, nil)
	for _, name := range []string{"kafka", "timescaledb", "monitor", "grafana"} {
		service(t, p, name)
	}
	for name, s := range p.Services {
		if strings.Contains(strings.ToLower(name+s.Image), "zookeeper") {
			t.Errorf("service %s: Kafka runs in KRaft mode, with no ZooKeeper", name)
		}
		if s.Restart == "" {
			t.Errorf("service %s has no restart policy", name)
		}
		for dep, d := range s.DependsOn {
			if d.Condition != types.ServiceConditionHealthy {
				t.Errorf("%s depends on %s with condition %q, want service_healthy", name, dep, d.Condition)
			}
			if service(t, p, dep).HealthCheck == nil {
				t.Errorf("%s waits for %s to be healthy, and %s has no health check", name, dep, dep)
			}
		}
		if hc := s.HealthCheck; hc != nil && (len(hc.Test) < 2 || hc.Test[0] != "CMD") {
			t.Errorf("service %s: health check %v, want an exec-form CMD", name, hc.Test)
		}
		for _, pt := range s.Ports {
			if pt.HostIP != "127.0.0.1" {
				t.Errorf("service %s publishes port %s on %q: want 127.0.0.1 only", name, pt.Published, pt.HostIP)
			}
		}
	}
	for _, name := range []string{"kafka", "timescaledb", "grafana"} {
		if service(t, p, name).HealthCheck == nil {
			t.Errorf("service %s has no health check", name)
		}
	}
	m := service(t, p, "monitor")
	if m.HealthCheck != nil {
		t.Error("the monitor's image has no shell or client for a health check to run")
	}
	for _, dep := range []string{"kafka", "timescaledb"} {
		if _, ok := m.DependsOn[dep]; !ok {
			t.Errorf("the monitor does not wait for %s", dep)
		}
	}
	// The live page: -http's port is published.
	i := slices.Index(m.Command, "-http")
	if i < 0 || i+1 >= len(m.Command) {
		t.Fatalf("the monitor runs %v, without -http: no live page", m.Command)
	}
	live := port(t, m.Command[i+1])
	if !slices.ContainsFunc(m.Ports, func(pt types.ServicePortConfig) bool { return strconv.Itoa(int(pt.Target)) == live }) {
		t.Errorf("the monitor's live page (-http %s) is not published", m.Command[i+1])
	}
}

func TestComposeVolumes(t *testing.T) {
	p := loadCompose(t, nil)
	used := map[string]bool{}
	for name, s := range p.Services {
		for _, v := range s.Volumes {
			switch v.Type {
			case types.VolumeTypeVolume:
				if _, ok := p.Volumes[v.Source]; !ok {
					t.Errorf("service %s mounts volume %s, which is not declared", name, v.Source)
				}
				used[v.Source] = true
			case types.VolumeTypeBind:
				if _, err := os.Stat(v.Source); err != nil {
					t.Errorf("service %s binds %s: %v", name, v.Source, err)
				}
				if !v.ReadOnly {
					t.Errorf("service %s binds %s read-write; the repository's files are for reading", name, v.Source)
				}
			default:
				t.Errorf("service %s: volume of type %s", name, v.Type)
			}
		}
	}
	for name := range p.Volumes {
		if !used[name] {
			t.Errorf("volume %s is declared and not used", name)
		}
	}
	// Each server keeps its state in a named volume.
	dataDirs := map[string]string{
		"kafka":       env(service(t, p, "kafka"), "KAFKA_LOG_DIRS"),
		"timescaledb": "/var/lib/postgresql/data",
		"grafana":     "/var/lib/grafana",
	}
	for name, dir := range dataDirs {
		if !slices.ContainsFunc(service(t, p, name).Volumes, func(v types.ServiceVolumeConfig) bool {
			return v.Type == types.VolumeTypeVolume && v.Target == dir
		}) {
			t.Errorf("service %s keeps %s outside a named volume", name, dir)
		}
	}
}

func TestComposeKafka(t *testing.T) {
	p := loadCompose(t, nil)
	k := service(t, p, "kafka")
	roles := strings.Split(env(k, "KAFKA_PROCESS_ROLES"), ",")
	if !slices.Contains(roles, "broker") || !slices.Contains(roles, "controller") {
		t.Errorf("KAFKA_PROCESS_ROLES %v: want broker and controller (KRaft, one node)", roles)
	}
	for key := range k.Environment {
		if strings.Contains(key, "ZOOKEEPER") {
			t.Errorf("%s is set: KRaft mode has no ZooKeeper", key)
		}
	}
	if id, err := base64.RawURLEncoding.DecodeString(env(k, "CLUSTER_ID")); err != nil || len(id) != 16 {
		t.Errorf("CLUSTER_ID %q is not a base64 16-byte ID, as kafka-storage format wants", env(k, "CLUSTER_ID"))
	}
	ls := listeners(t, env(k, "KAFKA_LISTENERS"))
	adv := listeners(t, env(k, "KAFKA_ADVERTISED_LISTENERS"))
	protocols := map[string]string{}
	for _, pm := range strings.Split(env(k, "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"), ",") {
		name, proto, _ := strings.Cut(pm, ":")
		protocols[name] = proto
	}
	for name := range ls {
		if protocols[name] == "" {
			t.Errorf("listener %s has no security protocol", name)
		}
	}
	controller := env(k, "KAFKA_CONTROLLER_LISTENER_NAMES")
	if _, ok := ls[controller]; !ok {
		t.Errorf("controller listener %s is not among the listeners %v", controller, ls)
	}
	if _, ok := adv[controller]; ok {
		t.Errorf("the controller listener %s is advertised to clients", controller)
	}
	voter := env(k, "KAFKA_CONTROLLER_QUORUM_VOTERS")
	if id, addr, _ := strings.Cut(voter, "@"); id != env(k, "KAFKA_NODE_ID") || port(t, addr) != port(t, ls[controller]) {
		t.Errorf("KAFKA_CONTROLLER_QUORUM_VOTERS %s: want this node (%s) on the controller listener's port %s", voter, env(k, "KAFKA_NODE_ID"), port(t, ls[controller]))
	}
	if inter := env(k, "KAFKA_INTER_BROKER_LISTENER_NAME"); adv[inter] == "" {
		t.Errorf("inter-broker listener %s is not advertised", inter)
	}

	// From the host, the examples' default -brokers reaches a listener
	// that advertises that same address.
	var fromHost string
	for name, addr := range adv {
		if addr == cli.DefaultBrokers {
			fromHost = name
		}
	}
	if fromHost == "" {
		t.Fatalf("no listener advertises %s, the examples' default -brokers: %v", cli.DefaultBrokers, adv)
	}
	published := false
	for _, pt := range k.Ports {
		if pt.Published == port(t, cli.DefaultBrokers) && strconv.Itoa(int(pt.Target)) == port(t, ls[fromHost]) {
			published = true
		}
	}
	if !published {
		t.Errorf("host port %s is not published to listener %s (container port %s)", port(t, cli.DefaultBrokers), fromHost, port(t, ls[fromHost]))
	}

	// Inside the network, the monitor's brokers are an advertised
	// listener on a name that resolves to the Kafka service.
	m := service(t, p, "monitor")
	brokers := env(m, cli.EnvBrokers)
	var inside string
	for name, addr := range adv {
		if addr == brokers {
			inside = name
		}
	}
	if inside == "" || inside == fromHost {
		t.Errorf("the monitor's %s=%s is not a listener advertised inside the network: %v", cli.EnvBrokers, brokers, adv)
	}
	if host, _, _ := net.SplitHostPort(brokers); host != "kafka" && host != k.Hostname {
		t.Errorf("the monitor reaches Kafka at %s, which is not the kafka service's name", host)
	}
}

func TestComposeStore(t *testing.T) {
	for _, c := range []struct {
		name string
		env  map[string]string
		port string
	}{
		{"defaults", nil, "5432"},
		{"overrides", map[string]string{"RIGHTSIZE_DB_PASSWORD": "s3cret", "RIGHTSIZE_PG_PORT": "5433"}, "5433"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := loadCompose(t, c.env)
			db, m := service(t, p, "timescaledb"), service(t, p, "monitor")
			if !strings.HasPrefix(db.Image, "timescale/timescaledb:") {
				t.Errorf("store image %s, want TimescaleDB", db.Image)
			}
			u, err := url.Parse(env(m, cli.EnvDatabase))
			if err != nil {
				t.Fatal(err)
			}
			if u.Scheme != "postgres" || u.Hostname() != "timescaledb" || u.Port() != "5432" {
				t.Errorf("the monitor's store %s is not the timescaledb service's PostgreSQL", u.Redacted())
			}
			if got, want := strings.TrimPrefix(u.Path, "/"), env(db, "POSTGRES_DB"); got != want {
				t.Errorf("the monitor uses database %q, the server creates %q", got, want)
			}
			if got, want := u.User.Username(), env(db, "POSTGRES_USER"); got != want {
				t.Errorf("the monitor connects as %q, the server's user is %q", got, want)
			}
			if _, ok := u.User.Password(); ok {
				t.Error("the DSN holds the password; it is passed in PGPASSWORD")
			}
			if got, want := env(m, "PGPASSWORD"), env(db, "POSTGRES_PASSWORD"); got != want || got == "" {
				t.Errorf("the monitor's PGPASSWORD %q, the server's password %q", got, want)
			}
			if c.env != nil && env(db, "POSTGRES_PASSWORD") != c.env["RIGHTSIZE_DB_PASSWORD"] {
				t.Error("RIGHTSIZE_DB_PASSWORD does not set the store's password")
			}
			var published string
			for _, pt := range db.Ports {
				if pt.Target == 5432 {
					published = pt.Published
				}
			}
			if published != c.port {
				t.Errorf("PostgreSQL is published on host port %q, want %s", published, c.port)
			}
			if m.Build == nil || filepath.Clean(m.Build.Context) != filepath.Clean(mustAbs(t, root)) {
				t.Errorf("the monitor is not built from the repository's Dockerfile: %+v", m.Build)
			}
			if len(m.Command) == 0 || !slices.Contains(imageBinaries(t), strings.TrimPrefix(m.Command[0], imageBinDir)) {
				t.Errorf("the monitor runs %v, not a program of the image", m.Command)
			}
		})
	}
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// mountedAt returns the host path bound at target in s (or a directory
// bound above it), "" if none.
func mountedAt(s types.ServiceConfig, target string) string {
	for _, v := range s.Volumes {
		if v.Type != types.VolumeTypeBind {
			continue
		}
		if target == v.Target {
			return v.Source
		}
		if rel, ok := strings.CutPrefix(target, v.Target+"/"); ok {
			return filepath.Join(v.Source, rel)
		}
	}
	return ""
}

func TestComposeGrafana(t *testing.T) {
	p := loadCompose(t, map[string]string{"GRAFANA_DB_PASSWORD": "reader-pw"})
	g, db := service(t, p, "grafana"), service(t, p, "timescaledb")

	// Provisioning: the datasource file and the dashboards provider are
	// where Grafana reads them, and the provider's path holds the
	// dashboard.
	if src := mountedAt(g, "/etc/grafana/provisioning/datasources/rightsize.yaml"); src != mustAbs(t, datasourceFile) {
		t.Errorf("Grafana does not find %s in /etc/grafana/provisioning/datasources (found %q)", datasourceFile, src)
	}
	b, err := os.ReadFile("grafana/provisioning/dashboards/rightsize.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var prov struct {
		Providers []struct {
			Type    string `json:"type"`
			Options struct {
				Path string `json:"path"`
			} `json:"options"`
		} `json:"providers"`
	}
	if err := yaml.Unmarshal(b, &prov); err != nil || len(prov.Providers) != 1 {
		t.Fatalf("dashboards provider: %v (%d providers)", err, len(prov.Providers))
	}
	if mountedAt(g, "/etc/grafana/provisioning/dashboards/rightsize.yaml") == "" {
		t.Error("Grafana does not find the dashboards provider")
	}
	if src := mountedAt(g, prov.Providers[0].Options.Path+"/rightsize.json"); src != mustAbs(t, dashboardFile) {
		t.Errorf("the provider's path %s does not hold %s (found %q)", prov.Providers[0].Options.Path, dashboardFile, src)
	}
	if src := mountedAt(g, env(g, "GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH")); src != mustAbs(t, dashboardFile) {
		t.Errorf("the home dashboard %s is not the provisioned dashboard", env(g, "GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"))
	}

	// The datasource reaches the store's database as the role the
	// TimescaleDB container makes for Grafana, with its password.
	ds := loadDatasources(t).Datasources[0]
	if host, prt, err := net.SplitHostPort(ds.URL); err != nil || host != "timescaledb" || prt != "5432" {
		t.Errorf("datasource url %q, want timescaledb:5432", ds.URL)
	}
	if ds.JSONData.Database != env(db, "POSTGRES_DB") {
		t.Errorf("datasource database %q, the server creates %q", ds.JSONData.Database, env(db, "POSTGRES_DB"))
	}
	if ds.User != env(db, "GRAFANA_DB_USER") {
		t.Errorf("datasource user %q, the init script makes %q", ds.User, env(db, "GRAFANA_DB_USER"))
	}
	if env(g, "GRAFANA_DB_PASSWORD") != "reader-pw" || env(db, "GRAFANA_DB_PASSWORD") != "reader-pw" {
		t.Error("GRAFANA_DB_PASSWORD does not reach both Grafana and the init script")
	}
	if mountedAt(db, "/docker-entrypoint-initdb.d/10-grafana-reader.sh") != mustAbs(t, readerScript) {
		t.Errorf("the TimescaleDB container does not run %s at initialisation", readerScript)
	}
}
