// Command usage prints what each service is expected to use and what it
// should request (the seed's service_usage.py).
//
//	go run ./examples/usage                       # every service: a table
//	go run ./examples/usage -service web -o yaml  # a Kubernetes resources: block
//	go run ./examples/usage -service web -o patch -container web | kubectl patch deployment web --patch-file /dev/stdin
//	go run ./examples/usage -o json               # expected usage and recommendations
//
// -o patch writes a strategic merge patch (kubectl patch's default
// type) that sets the container's requests and limits. -method vpa (or
// krr-simple, seed-max) uses a baseline instead of the default
// calibrated method, whose risk budgets -budget sets
// (cpu=0.01,memory=0.001).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/rightsize/rightsize/internal/cli"
	"github.com/rightsize/rightsize/store"
	"github.com/rightsize/rightsize/usage"
	"github.com/rightsize/rightsize/usage/kube"
)

const prog = "usage"

type options struct {
	services       []string // empty: every service stored
	out, container string
	method         usage.Method
}

func main() {
	fs := flag.NewFlagSet(prog, flag.ExitOnError)
	db := cli.RegisterDB(fs)
	service := fs.String("service", "", "only this service (default: every service stored)")
	out := fs.String("o", "table", "output: "+strings.Join(kube.Formats, ", ")+" (yaml: a Kubernetes resources: block; patch: a strategic merge patch)")
	container := fs.String("container", "", "with -o patch, the container to patch (default: the service's name)")
	method := fs.String("method", usage.MethodNames[0], "recommendation method: "+strings.Join(usage.MethodNames, ", "))
	budgets := fs.String("budget", "", "risk budgets of the calibrated method, resource=share,... (default cpu=0.01,memory=0.001)")
	registerChart(fs)
	fs.Parse(os.Args[1:])
	if !slices.Contains(kube.Formats, *out) {
		cli.UsageError(fs, prog, "-o must be one of "+strings.Join(kube.Formats, ", "))
	}
	if *out == "patch" && *service == "" {
		cli.UsageError(fs, prog, "-o patch needs -service")
	}
	opts, err := usage.ParseBudgets(*budgets)
	if err != nil {
		cli.UsageError(fs, prog, err.Error())
	}
	m, err := usage.MethodNamed(*method, opts...)
	if err != nil {
		cli.UsageError(fs, prog, err.Error())
	}
	ctx, stop := cli.SignalContext(context.Background(), prog)
	defer stop()
	st, err := store.Open(ctx, *db)
	if err != nil {
		cli.Fail(prog, fmt.Errorf("open %s: %w", cli.Redact(*db), err))
	}
	defer st.Close()
	o := options{out: *out, container: *container, method: m}
	if *service != "" {
		o.services = []string{*service}
	}
	if err := run(ctx, os.Stdout, st, o); err != nil {
		cli.Fail(prog, err)
	}
}

func run(ctx context.Context, w io.Writer, st store.Store, o options) error {
	if len(o.services) == 0 {
		var err error
		if o.services, err = st.Services(ctx); err != nil {
			return err
		}
	}
	e, err := usage.New(st)
	if err != nil {
		return err
	}
	r, err := e.Report(ctx, o.services, usage.UsingMethod(o.method))
	if err != nil {
		return err
	}
	if err := kube.Write(w, o.out, r, o.container); err != nil {
		return err
	}
	return writeCharts(ctx, os.Stderr, st, r)
}
