package consumer_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/rightsize/rightsize/consumer"
)

// proxy forwards TCP connections to a server and can cut them all, as a
// database that goes away and comes back would.
type proxy struct {
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	p := &proxy{target: target}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.cut)
	return p
}

func (p *proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { io.Copy(s, c); s.Close() }()
			go func() { io.Copy(c, s); c.Close() }()
		}
	}()
}

// cut closes every connection and stops listening.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// restore listens again on the same address.
func (p *proxy) restore(t *testing.T) {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	p.serve(ln)
}

// TestDatabaseOutageLosesNothing cuts the consumer off from PostgreSQL
// mid-stream for a few seconds: the consumer keeps retrying, and once the
// database is back every sample is stored exactly once.
func TestDatabaseOutageLosesNothing(t *testing.T) {
	dsn, schema := pgStore(t)
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	px := newProxy(t, net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.Port)))
	u := url.URL{Scheme: "postgres", User: url.UserPassword(cfg.User, cfg.Password), Host: px.addr, Path: "/" + cfg.Database, RawQuery: "sslmode=disable"}
	if cfg.Password == "" {
		u.User = url.User(cfg.User)
	}
	st := openPG(t, u.String(), schema)
	b := startBroker(t)
	const services, ticks = 4, 300

	done := make(chan map[sampleKey]bool)
	go func() { done <- publish(t, b.Addrs(), services, ticks, 10*time.Millisecond) }()
	var logs bytes.Buffer
	c, err := consumer.New(context.Background(), b.Addrs(), []consumer.Sink{st}, consumer.WithLogger(quietLogger(&logs)), consumer.WithMaxRecords(50))
	if err != nil {
		t.Fatal(err)
	}
	run(t, c)
	waitFor(t, "some records stored", func() bool { return storedRecords(st, b) > 100 })
	px.cut()
	before := c.Stats().Samples
	time.Sleep(3 * time.Second)
	during := c.Stats().Samples - before
	px.restore(t)
	want := <-done
	waitLag0(t, c)
	t.Logf("samples delivered while the database was away: %d", during)
	if during != 0 {
		t.Errorf("%d samples reported delivered while the database was unreachable", during)
	}
	if !strings.Contains(logs.String(), "retrying") {
		t.Errorf("the outage was not logged:\n%s", logs.String())
	}
	checkExactlyOnce(t, st, want, services)
}
