package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/broker/brokertest"
	"github.com/rightsize/rightsize/internal/cli"
	"github.com/rightsize/rightsize/internal/testenv"
	"github.com/rightsize/rightsize/producer"
)

const securePassword = "Sw0rdfish-for-the-broker"

// TestSecureBroker serves TLS with client certificates and SASL
// SCRAM-SHA-512, and has rightsize's producer and kcat (librdkafka, an
// independent client) publish and read through it.
func TestSecureBroker(t *testing.T) {
	kcat := testenv.Kcat(t)
	certs, err := brokertest.NewCerts()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files, err := certs.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	p := startEnv(t, []string{cli.EnvSASLPassword + "=" + securePassword}, "-addr", addr,
		"-tls-cert", files.ServerCert, "-tls-key", files.ServerKey, "-tls-ca", files.CA,
		"-sasl-mechanism", "SCRAM-SHA-512", "-sasl-user", "svc")
	if !strings.Contains(p.line, "TLS with client certificates, SASL SCRAM-SHA-512 as svc") {
		t.Errorf("first line %q does not say what the broker asks of clients", p.line)
	}
	// The password is in no flag, so in no command line.
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(p.cmd.Process.Pid) + "/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{p.line, string(cmdline)} {
		if strings.Contains(text, securePassword) {
			t.Errorf("the password shows in %q", text)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pub, err := producer.Connect(ctx, []string{addr}, producer.WithTLS(certs.Client), producer.WithSASL("SCRAM-SHA-512", "svc", securePassword))
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(ctx, rightsize.Sample{Service: "resize", Resource: "cpu", Value: 0.25, Time: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := pub.Close(ctx); err != nil {
		t.Fatal(err)
	}

	conf := func(password string) string {
		path := filepath.Join(dir, password+".conf")
		text := strings.Join([]string{
			"security.protocol=SASL_SSL", "sasl.mechanisms=SCRAM-SHA-512", "sasl.username=svc", "sasl.password=" + password,
			"ssl.ca.location=" + files.CA, "ssl.certificate.location=" + files.ClientCert, "ssl.key.location=" + files.ClientKey,
		}, "\n") + "\n"
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	good := conf(securePassword)
	produce := exec.CommandContext(ctx, kcat, "-F", good, "-P", "-b", addr, "-t", "resources", "-K", ":")
	produce.Stdin = strings.NewReader("kcat:from kcat\n")
	if out, err := produce.CombinedOutput(); err != nil {
		t.Fatalf("kcat -P over SASL_SSL: %v: %s", err, out)
	}
	out, err := exec.CommandContext(ctx, kcat, "-F", good, "-C", "-b", addr, "-t", "resources", "-o", "beginning", "-e", "-q", "-f", "%k\n").Output()
	if err != nil {
		t.Fatalf("kcat -C over SASL_SSL: %v", err)
	}
	keys := strings.Fields(string(out))
	slices.Sort(keys)
	if want := []string{"kcat", "resize"}; !slices.Equal(keys, want) {
		t.Errorf("kcat read keys %q, want %q", keys, want)
	}

	// A wrong password: kcat is told so, as Kafka tells it.
	bad := exec.CommandContext(ctx, kcat, "-F", conf("wrong-password"), "-L", "-b", addr, "-m", "1")
	msg, err := bad.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || !strings.Contains(string(msg), "SASL authentication error") {
		t.Errorf("kcat with a wrong password: %v: %s", err, msg)
	}
	p.stop(t, syscall.SIGTERM)
	if strings.Contains(p.stderr.String(), securePassword) {
		t.Errorf("the password shows in stderr: %q", p.stderr)
	}
}

func TestSecureBrokerFlagErrors(t *testing.T) {
	code, stderr := run(t, "-addr", freeAddr(t), "-sasl-mechanism", "PLAIN", "-sasl-user", "svc")
	if code == 0 || !strings.Contains(stderr, cli.EnvSASLPassword) {
		t.Errorf("SASL without a password: exit %d, stderr %q", code, stderr)
	}
	code, stderr = run(t, "-addr", freeAddr(t), "-tls-cert", "/nonexistent/server.pem", "-tls-key", "/nonexistent/key.pem")
	if code == 0 || !strings.Contains(stderr, "/nonexistent/server.pem") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("a missing certificate: exit %d, stderr %q", code, stderr)
	}
}
