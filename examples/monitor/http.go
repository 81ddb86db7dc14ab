package main

import (
	"context"
	"fmt"
	"net"

	"github.com/rightsize/rightsize/chart/live"
	"github.com/rightsize/rightsize/consumer"
	"github.com/rightsize/rightsize/store"
)

// liveView is the -http page: a best-effort sink beside the store and an
// HTTP server. The zero value (no -http) does nothing.
type liveView struct {
	srv    *live.Server
	cancel context.CancelFunc
	done   chan error
}

// startLive listens on addr and serves the live page there until wait is
// called; with an empty addr it serves nothing.
func startLive(ctx context.Context, addr string, st store.Store) (*liveView, error) {
	if addr == "" {
		return &liveView{}, nil
	}
	ln, err := live.Listen(addr)
	if err != nil {
		return nil, err
	}
	srv, err := live.New(st)
	if err != nil {
		ln.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	v := &liveView{srv: srv, cancel: cancel, done: make(chan error, 1)}
	go func() { v.done <- srv.Run(ctx, ln) }()
	fmt.Printf("monitor: live page on http://%s/ (JSON under /api/, Prometheus metrics at /metrics)\n", displayAddr(ln.Addr()))
	return v, nil
}

// sinks returns the consumer's sinks: the store, and the live page when
// it is on.
func (v *liveView) sinks(st store.Store) []consumer.Sink {
	if v.srv == nil {
		return []consumer.Sink{st}
	}
	return []consumer.Sink{st, v.srv}
}

// watch shows c's health on the page.
func (v *liveView) watch(c *consumer.Consumer) {
	if v.srv != nil {
		v.srv.Watch(c)
	}
}

// wait stops the server and waits for it.
func (v *liveView) wait() {
	if v.srv == nil {
		return
	}
	v.cancel()
	<-v.done
}

// displayAddr shows a wildcard address as one a browser can open.
func displayAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return a.String()
	}
	return fmt.Sprintf("localhost:%d", tcp.Port)
}
