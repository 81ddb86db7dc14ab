// Command usage prints what each service is expected to use and what it
// should request (the seed's service_usage.py).
//
//	go run ./examples/usage                       # every service: a table
//	go run ./examples/usage -service web -o yaml  # a Kubernetes resources: block
//	go run ./examples/usage -service web -o patch -container web | kubectl patch deployment web --patch-file /dev/stdin
//	go run ./examples/usage -o json               # expected usage and recommendations
//
// -o patch writes a strategic merge patch (kubectl patch's default
// type) that sets the container's requests and limits. -method vpa uses
// the VPA baseline instead of the default calibrated method.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/rightsize/rightsize/internal/cli"
	"github.com/rightsize/rightsize/store"
	"github.com/rightsize/rightsize/usage"
	"github.com/rightsize/rightsize/usage/kube"
)

const prog = "usage"

type options struct {
	services       []string
	out, container string
	method         string
}

func main() {
	fs := flag.NewFlagSet(prog, flag.ExitOnError)
	db := cli.RegisterDB(fs)
	service := fs.String("service", "", "only this service (default: every service stored)")
	out := fs.String("o", "table", "output: table, json, yaml (a Kubernetes resources: block) or patch (a strategic merge patch)")
	container := fs.String("container", "", "with -o patch, the container to patch (default: the service's name)")
	method := fs.String("method", "calibrated", "recommendation method: calibrated or vpa")
	fs.Parse(os.Args[1:])
	switch *out {
	case "table", "json", "yaml", "patch":
	default:
		cli.UsageError(fs, prog, "-o must be table, json, yaml or patch")
	}
	if *out == "patch" && *service == "" {
		cli.UsageError(fs, prog, "-o patch needs -service")
	}
	ctx, stop := cli.SignalContext(context.Background(), prog)
	defer stop()
	st, err := store.Open(ctx, *db)
	if err != nil {
		cli.Fail(prog, fmt.Errorf("open %s: %w", cli.Redact(*db), err))
	}
	defer st.Close()
	o := options{out: *out, container: *container, method: *method}
	if *service != "" {
		o.services = []string{*service}
	} else if o.services, err = st.Services(ctx); err != nil {
		cli.Fail(prog, err)
	}
	if err := run(ctx, os.Stdout, st, o); err != nil {
		cli.Fail(prog, err)
	}
}

func run(ctx context.Context, w io.Writer, st store.Store, o options) error {
	e, err := usage.New(st)
	if err != nil {
		return err
	}
	var m usage.Method
	switch o.method {
	case "vpa":
		m, err = usage.VPA()
	case "calibrated":
		m, err = usage.Calibrated()
	default:
		err = fmt.Errorf("unknown method %q (calibrated or vpa)", o.method)
	}
	if err != nil {
		return err
	}
	var us []usage.Usage
	var recs []usage.Recommendation
	for _, svc := range o.services {
		u, err := e.Expected(ctx, svc)
		if err != nil {
			return err
		}
		r, err := e.Recommend(ctx, svc, usage.UsingMethod(m))
		if err != nil {
			return err
		}
		us, recs = append(us, u), append(recs, r)
	}
	switch o.out {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Expected        []usage.Usage          `json:"expected"`
			Recommendations []usage.Recommendation `json:"recommendations"`
		}{us, recs})
	case "yaml":
		for _, r := range recs {
			if err := kube.WriteYAML(w, r); err != nil {
				return err
			}
		}
		return nil
	case "patch":
		c := o.container
		if c == "" {
			c = recs[0].Service
		}
		p, err := kube.Patch(c, recs[0])
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", p)
		return err
	}
	fmt.Fprintln(w, "expected usage:")
	if err := usage.WriteTable(w, us...); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nrecommended requests and limits:")
	return kube.WriteTable(w, recs...)
}
