package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rightsize/rightsize/internal/testenv"
)

// TestMonitorHTTP: -http serves the live page and its JSON beside the
// store, and stops with the monitor.
func TestMonitorHTTP(t *testing.T) {
	b := testenv.Broker(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p := startMonitor(t, "-brokers", b.Addrs()[0], "-db", "sqlite:"+filepath.Join(t.TempDir(), "m.db"), "-http", addr, "-status", "1s")
	waitUntil(t, 20*time.Second, "the live page", func() bool { return strings.Contains(p.stdout.String(), "live page on http://"+addr) })
	publishTicks(t, b.Addrs(), 3, 5)
	var page struct{ Known int }
	waitUntil(t, 20*time.Second, "three services on the page", func() bool {
		res, err := http.Get("http://" + addr + "/api/services")
		if err != nil {
			return false
		}
		defer res.Body.Close()
		return json.NewDecoder(res.Body).Decode(&page) == nil && page.Known == 3
	})
	p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.wait(t, 20*time.Second); code != 0 {
		t.Errorf("exit %d; stderr:\n%s", code, p.stderr)
	}
}

// TestMonitorHTTPInUse: -http on a port another program holds is a
// one-line error and a non-zero exit.
func TestMonitorHTTPInUse(t *testing.T) {
	b := testenv.Broker(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	p := startMonitor(t, "-brokers", b.Addrs()[0], "-db", "sqlite:"+filepath.Join(t.TempDir(), "m.db"), "-http", ln.Addr().String())
	code := p.wait(t, 20*time.Second)
	msg := strings.TrimSpace(p.stderr.String())
	want := fmt.Sprintf("%s is in use by another program; choose another address", ln.Addr())
	if code == 0 || strings.Contains(msg, "\n") || !strings.Contains(msg, want) {
		t.Errorf("want one line saying %q and a non-zero exit; got exit %d and:\n%s", want, code, msg)
	}
	t.Logf("exit %d: %s", code, msg)
}
