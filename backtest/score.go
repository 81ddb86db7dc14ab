package backtest

import (
	"sort"

	"github.com/rightsize/rightsize"
	"gonum.org/v1/gonum/stat"
)

// levelAt returns the quantile q of sorted values, interpolating
// linearly between order statistics.
func levelAt(sorted []float64, q float64) float64 {
	n := len(sorted)
	pos := q * float64(n-1)
	i := int(pos)
	if i >= n-1 {
		return sorted[n-1]
	}
	return sorted[i] + (pos-float64(i))*(sorted[i+1]-sorted[i])
}

// oracleAt scores holding each step at its own quantile q: samples above
// the level, Σ(level − v)⁺ and Σ level.
func oracleAt(steps []step, q float64) (above int64, unused, total float64) {
	for _, s := range steps {
		n := len(s.sorted)
		l := levelAt(s.sorted, q)
		m := sort.Search(n, func(i int) bool { return s.sorted[i] > l }) // values ≤ l
		above += int64(n - m)
		unused += l*float64(m) - s.prefix[m]
		total += l * float64(n)
	}
	return above, unused, total
}

// oracle returns the slack of the oracle whose under-provisioning over
// steps is the smallest not above under (a share), and its quantile.
func oracle(steps []step, samples int64, under float64) (slack, q float64) {
	if samples == 0 {
		return 0, 1
	}
	share := func(q float64) float64 {
		a, _, _ := oracleAt(steps, q)
		return float64(a) / float64(samples)
	}
	lo, hi := 0.0, 1.0
	if share(lo) <= under {
		hi = lo
	} else {
		for range 50 {
			mid := (lo + hi) / 2
			if share(mid) <= under {
				hi = mid
			} else {
				lo = mid
			}
		}
	}
	_, unused, total := oracleAt(steps, hi)
	return ratio(unused, total), hi
}

func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}

type tally struct {
	samples       int64
	steps         int
	above         int64
	unused, total float64
	absErr, smape float64
	points        int64
}

func (t *tally) add(r stepResult, n int) {
	t.samples += int64(n)
	t.steps++
	t.above += int64(r.above)
	t.unused += r.unused
	t.total += r.level * float64(n)
	if r.havePoint {
		t.absErr += r.absErr
		t.smape += r.smape
		t.points += int64(n)
	}
}

func (t *tally) merge(o tally) {
	t.samples += o.samples
	t.steps += o.steps
	t.above += o.above
	t.unused += o.unused
	t.total += o.total
	t.absErr += o.absErr
	t.smape += o.smape
	t.points += o.points
}

func (t *tally) under() float64 {
	if t.samples == 0 {
		return 0
	}
	return float64(t.above) / float64(t.samples)
}

func summarise(series []rightsize.Series, methods []Method, results [][]seriesResult, c config) *Report {
	rep := &Report{Step: c.step, Warmup: c.warmup}
	byResource := map[string][]int{}
	for i, s := range series {
		byResource[s.Resource] = append(byResource[s.Resource], i)
	}
	resources := make([]string, 0, len(byResource))
	for r := range byResource {
		resources = append(resources, r)
	}
	sort.Strings(resources)
	for mi, m := range methods {
		for _, res := range resources {
			row := Row{Method: m.Name(), Resource: res}
			var pooled tally
			var steps []step
			var unders, excesses []float64
			for _, si := range byResource[res] {
				r := results[si][mi]
				if r.skipped {
					row.Skipped++
					continue
				}
				ss := results[si][0].steps
				if len(ss) == 0 {
					continue
				}
				var t tally
				for k, sr := range r.res {
					t.add(sr, len(ss[k].sorted))
				}
				pooled.merge(t)
				steps = append(steps, ss...)
				row.Series++
				u := t.under()
				sl := ratio(t.unused, t.total)
				os, _ := oracle(ss, t.samples, u)
				rep.Series = append(rep.Series, SeriesRow{Method: m.Name(), Labels: LabelsOf(series[si]),
					Samples: t.samples, UnderProvisioning: 100 * u, Slack: 100 * sl, OracleSlack: 100 * os,
					ExcessSlack: 100 * (sl - os), MeanLevel: ratio(t.total, float64(t.samples))})
				unders = append(unders, 100*u)
				if t.total > 0 {
					excesses = append(excesses, 100*(sl-os))
				}
			}
			row.Samples, row.Steps = pooled.samples, pooled.steps
			u := pooled.under()
			sl := ratio(pooled.unused, pooled.total)
			os, q := oracle(steps, pooled.samples, u)
			row.UnderProvisioning, row.Slack, row.OracleSlack = 100*u, 100*sl, 100*os
			row.ExcessSlack, row.OracleQuantile = 100*(sl-os), q
			row.UnderProvisioningP50, row.UnderProvisioningP90 = spread(unders)
			row.ExcessSlackP50, row.ExcessSlackP90 = spread(excesses)
			if pooled.points > 0 {
				mae := pooled.absErr / float64(pooled.points)
				smape := 100 * pooled.smape / float64(pooled.points)
				row.MAE, row.SMAPE = &mae, &smape
			}
			rep.Rows = append(rep.Rows, row)
		}
	}
	return rep
}

// spread returns the median and 90th percentile of xs (linear
// interpolation between order statistics); 0, 0 for none.
func spread(xs []float64) (p50, p90 float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return stat.Quantile(0.5, stat.LinInterp, s, nil), stat.Quantile(0.9, stat.LinInterp, s, nil)
}
