package usage

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/rightsize/rightsize"
)

// Recommendation is what a service should request, per resource.
type Recommendation struct {
	Service string `json:"service"`
	// Method names the method that made it.
	Method string `json:"method"`
	// Resources holds one recommendation per resource, sorted by name.
	Resources []ResourceRecommendation `json:"resources"`
}

// ResourceRecommendation is the recommendation for one resource, in the
// resource's base unit (cores, bytes).
type ResourceRecommendation struct {
	Resource string `json:"resource"`
	// Request is what to put in resources.requests; Limit in
	// resources.limits (+Inf: no limit, rendered as null in JSON).
	Request float64 `json:"request"`
	Limit   float64 `json:"limit"`
	// Lower and Upper bound the acceptable range for a current request;
	// Upper may be +Inf when there is no history to bound it.
	Lower float64 `json:"lower"`
	Upper float64 `json:"upper"`
	// Evidence is the history behind it; its Note is set when that is
	// too little to trust.
	Evidence Evidence `json:"evidence"`
}

// Resource returns the recommendation for the named resource.
func (r Recommendation) Resource(name string) (ResourceRecommendation, bool) {
	for _, x := range r.Resources {
		if x.Resource == name {
			return x, true
		}
	}
	return ResourceRecommendation{}, false
}

// Recommend recommends a request, a limit and bounds for each resource of
// service (cpu and memory unless ForResources says otherwise), from its
// history, with the method UsingMethod names (the calibrated default
// otherwise). OOM kills (the oom.kills resource) feed the memory
// recommendation of methods that react to them.
//
// A Reader that is a RollupReader is read through its rollups: each
// bucket's sketch bins, weighted by their counts, feed the method as if
// they were samples taken at the bucket's first sample time, the smallest
// bin at the bucket's exact minimum and the largest at its exact maximum.
// The result then differs from one computed from the raw samples by the
// sketch's relative error on values and by time resolution of one bucket
// (decay, and the boundaries of the method's periods, move by less than a
// bucket). Otherwise the samples are streamed (Scan) and sorted by time.
func (e *Estimator) Recommend(ctx context.Context, service string, opts ...Option) (Recommendation, error) {
	q, err := newQuery(service, opts)
	if err != nil {
		return Recommendation{}, err
	}
	if q.method == nil {
		if q.method, err = Calibrated(); err != nil {
			return Recommendation{}, err
		}
	}
	wanted := q.f.Resources
	if len(wanted) == 0 {
		wanted = []string{rightsize.CPU, rightsize.Memory}
	}
	f := q.f
	f.Resources = append(slices.Clone(wanted), rightsize.OOMKills)
	points := map[string][]point{}
	spans := map[string][2]time.Time{} // the exact first and last sample times, from rollups
	if rr, ok := e.r.(RollupReader); ok {
		err = rr.Rollups(ctx, f, func(r rightsize.Rollup) error {
			points[r.Resource] = appendRollup(points[r.Resource], r)
			sp, ok := spans[r.Resource]
			if !ok || r.First.Before(sp[0]) {
				sp[0] = r.First
			}
			if r.Last.After(sp[1]) {
				sp[1] = r.Last
			}
			spans[r.Resource] = sp
			return nil
		})
	} else {
		err = e.r.Scan(ctx, f, func(s rightsize.Sample) error {
			points[s.Resource] = append(points[s.Resource], point{s.Time, s.Value, 1})
			return nil
		})
	}
	if err != nil {
		return Recommendation{}, fmt.Errorf("usage: %s: %w", service, err)
	}
	rec, err := recommend(service, q.method, wanted, points)
	for i, x := range rec.Resources {
		if sp, ok := spans[x.Resource]; ok {
			ev := newEvidence(x.Evidence.Samples, sp[0], sp[1])
			if ev.Note == "" {
				ev.Note = x.Evidence.Note
			}
			rec.Resources[i].Evidence = ev
		}
	}
	return rec, err
}

// point is a value and the number of samples it stands for.
type point struct {
	t    time.Time
	v, w float64
}

func appendRollup(ps []point, r rightsize.Rollup) []point {
	if r.Sketch == nil || r.Count <= 1 {
		return append(ps, point{r.First, r.Max, float64(r.Count)})
	}
	start := len(ps)
	r.Sketch.Bins(func(v, n float64) {
		ps = append(ps, point{r.First, math.Min(math.Max(v, r.Min), r.Max), n})
	})
	if len(ps) > start {
		ps[start].v, ps[len(ps)-1].v = r.Min, r.Max
	}
	return ps
}

// recommend runs method over the points of each resource, in time order.
func recommend(service string, method Method, wanted []string, points map[string][]point) (Recommendation, error) {
	rec := Recommendation{Service: service, Method: method.Name()}
	for _, ps := range points {
		sort.SliceStable(ps, func(i, j int) bool { return ps[i].t.Before(ps[j].t) })
	}
	for _, res := range wanted {
		ps := points[res]
		if len(ps) == 0 {
			continue
		}
		st := method.Start(res)
		var ooms []time.Time
		if o, ok := st.(OOMRecorder); ok && res == rightsize.Memory {
			for _, p := range points[rightsize.OOMKills] {
				if p.v > 0 {
					ooms = append(ooms, p.t)
				}
			}
			feed(st, ps, ooms, o)
		} else {
			feed(st, ps, nil, nil)
		}
		last := ps[len(ps)-1].t
		est := st.Estimate(last)
		rec.Resources = append(rec.Resources, ResourceRecommendation{Resource: res, Request: est.Request,
			Limit: est.Limit, Lower: est.Lower, Upper: est.Upper, Evidence: est.Evidence})
	}
	if len(rec.Resources) == 0 {
		return Recommendation{}, noData(service)
	}
	sort.Slice(rec.Resources, func(i, j int) bool { return rec.Resources[i].Resource < rec.Resources[j].Resource })
	return rec, nil
}

// feed adds the points to st in time order, recording each OOM kill
// after the samples up to its time.
func feed(st State, ps []point, ooms []time.Time, o OOMRecorder) {
	k := 0
	for _, p := range ps {
		for k < len(ooms) && ooms[k].Before(p.t) {
			o.AddOOM(ooms[k])
			k++
		}
		st.Add(p.t, p.v, p.w)
	}
	for ; k < len(ooms); k++ {
		o.AddOOM(ooms[k])
	}
}

// MarshalJSON writes an infinite limit or bound as null.
func (r ResourceRecommendation) MarshalJSON() ([]byte, error) {
	num := func(v float64) *float64 {
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return nil
		}
		return &v
	}
	return json.Marshal(struct {
		Resource string   `json:"resource"`
		Request  *float64 `json:"request"`
		Limit    *float64 `json:"limit"`
		Lower    *float64 `json:"lower"`
		Upper    *float64 `json:"upper"`
		Evidence Evidence `json:"evidence"`
	}{r.Resource, num(r.Request), num(r.Limit), num(r.Lower), num(r.Upper), r.Evidence})
}
