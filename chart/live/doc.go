// Package live serves a page that shows what rightsize sees as it
// happens — every service with its current usage, expected band and
// recommendation, and charts that update as samples arrive — with JSON
// endpoints for the same data and /metrics for the pipeline's own health
// in Prometheus' text format. Everything the page needs (HTML, script,
// style) is embedded in the binary: no CDN, no network.
//
// The [Server] is also a best-effort consumer.Sink: give it to the
// consumer beside the store, and the consumer feeds it from a bounded
// queue of its own, so that it can never slow the store (when it falls
// behind, batches for it are dropped and counted in /metrics).
//
//	srv, err := live.New(st)                                   // st: a store.Store
//	c, err := consumer.New(ctx, brokers, []consumer.Sink{st, srv}, opts...)
//	srv.Watch(c)                                               // rates, lag, dead letters
//	ln, err := live.Listen(":8080")
//	go srv.Run(ctx, ln)
//
// Routes:
//
//	/                       the page (paginated list, filter, a service's charts)
//	/api/services?page=&q=  one page of services: live values, expected band, recommendation
//	/api/service?name=      one service, every resource, with the URLs of its charts
//	/api/status             the pipeline's status: rates, lag, records not stored, drops, stall
//	/chart.svg?service=&resource=  a chart of the last hour (package chart)
//	/metrics                Prometheus text format
//
// The page lists services 25 at a time (a filter narrows them), so it
// stays responsive with hundreds of services: each poll moves one page of
// JSON and redraws one page of rows. Expected usage and recommendations
// are read from the store in the background, at most once per refresh
// interval per service listed, and never make a request wait.
//
// [WriteCharts] and [Report] write the same charts as files (PNG, SVG
// and an index.html), for programs that run once.
package live
