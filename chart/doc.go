// Package chart draws what a service used over time, one chart per
// resource, as PNG or SVG images (with gonum/plot).
//
// A chart shows the expected band — P50 to P95 of each time bucket, read
// with the store's Aggregate and a Step — and the usage itself (the raw
// samples, or the bucket means when there are too many to draw); where
// they exist, the recommended request and limit and a forecast are drawn
// as lines. Values are shown in units people read: millicores below a
// core, cores above; KiB, MiB or GiB (per second for rates) by magnitude.
// The time axis shows the time of day in the local time zone (or the one
// [In] names) at round intervals. The legend sits right of the data, so
// that it hides nothing.
//
// [Gather] reads the panels of a filter from a store; the caller adds
// what it knows beyond the samples and writes them:
//
//	panels, err := chart.Gather(ctx, st, rightsize.Filter{Services: []string{"resize"}})
//	rec, err := usage.Recommend(ctx, "resize")
//	for i, p := range panels {
//		if r, ok := rec.Resource(p.Resource); ok {
//			panels[i].Request, panels[i].Limit = r.Request, r.Limit
//		}
//	}
//	paths, err := chart.WriteFiles("charts", panels)
//
// A forecast comes from any model: set Panel.Forecast to the values it
// predicts at future times, with a band if it has one. For the predict
// package's models, live.Forecast turns a Prediction into one: the point
// forecast over the horizon, and a band up to the upper level.
//
// The package imports the root package and gonum/plot only; gonum/plot
// brings its fonts and image libraries, which the rest of rightsize does
// not import.
package chart
