package predict

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/rightsize/rightsize"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"
)

// RegressionProfiler predicts each target of each service (peak memory,
// mean CPU, duration) by a linear regression on the task's parameters and
// the service's place in the task's order, with an upper level calibrated
// on held-out errors.
//
// # Features
//
// For a service at position i of a task, the inputs are:
//
//   - the numeric features: parameters, or products of parameters
//     ("width*height" is the pixel count), as WithProfileFeatures names
//     them;
//   - one indicator per value of each categorical parameter (one whose
//     values are not all numbers, "format" say) but the most common value;
//   - the position i, and one indicator per other service saying whether
//     it ran before this one (a resize before a blur shrinks what the
//     blur holds);
//   - each numeric feature times each indicator: the slope of memory in
//     pixels differs for a JPEG and a PNG, and after a resize.
//
// Columns that are constant or repeat another over a service's runs are
// left out. Every column is standardised, and the coefficients are fitted
// by ridge least squares (gonum/mat's Cholesky), either with each run
// weighted by 1/y², so that relative errors count alike for small and
// large tasks, or unweighted. Which of the two, and the ridge penalty
// (from a fixed grid), are chosen per service and target by
// cross-validation over the calibration folds below, on the mean relative
// error |ŷ − y| / y that EvaluateProfiles reports.
//
// # The upper level
//
// The runs are split into folds (up to 10), keeping runs of the same group
// together (WithProfileGroups: the tasks of one image size, say, so that
// each error is measured on a kind of task the fit did not see). Each
// fold's runs are predicted by a fit on the others; the relative errors
// r = y/ŷ − 1 of these held-out predictions calibrate the upper level:
// Upper = Point × (1 + q), q the ⌈(n+1)·Q⌉-th smallest of the n errors r,
// Q the quantile of WithProfileQuantile, and q at least 0 (conformal
// prediction, each run held out once as in cross-validation). With fewer
// than two groups the errors are in-sample, and the level optimistic.
//
// A point prediction is never below the smallest value the service showed
// in training (a process needs at least its runtime). Runs whose value is
// zero are not fitted (a relative error has no meaning there); a target
// that was zero in every run is predicted zero. A service seen in a single
// run predicts that run.
//
// Profile only reads the fitted model: once Fit has returned, several
// goroutines may call Profile at once.
type RegressionProfiler struct {
	cfg   profileConfig
	model *regressionModel
}

var _ TaskProfiler = (*RegressionProfiler)(nil)

// A ProfileOption changes a setting of NewRegressionProfiler.
type ProfileOption interface{ applyProfile(*profileConfig) }

type profileOption func(*profileConfig)

func (f profileOption) applyProfile(c *profileConfig) { f(c) }

type profileConfig struct {
	Features []string `json:"features,omitempty"`
	Groups   []string `json:"groups,omitempty"`
	Quantile float64  `json:"quantile"`
	Folds    int      `json:"folds"`
}

// DefaultProfileQuantile is the quantile of the upper level unless
// WithProfileQuantile says otherwise.
const DefaultProfileQuantile = 0.95

// WithProfileFeatures names the task parameters the regression uses:
// a parameter ("bytes", "format") or a product of numeric parameters
// joined by '*' ("width*height"). A parameter whose training values are
// not all numbers is categorical. Default: every parameter every training
// task has (categorical ones with at most 16 values), each alone.
func WithProfileFeatures(features ...string) ProfileOption {
	return profileOption(func(c *profileConfig) { c.Features = features })
}

// WithProfileGroups keeps the runs of tasks that share the values of these
// parameters in one calibration fold, so that the upper level is
// calibrated on errors for parameter values the fit did not see ("width",
// "height": unseen image sizes). Default: none, every task a group of its
// own.
func WithProfileGroups(params ...string) ProfileOption {
	return profileOption(func(c *profileConfig) { c.Groups = params })
}

// WithProfileQuantile sets the probability, in (0, 1), with which a value
// stays below the upper level. Default DefaultProfileQuantile (0.95).
func WithProfileQuantile(q float64) ProfileOption {
	return profileOption(func(c *profileConfig) { c.Quantile = q })
}

// WithProfileFolds sets the most calibration folds, at least 2. Default 10
// (fewer when there are fewer groups).
func WithProfileFolds(k int) ProfileOption {
	return profileOption(func(c *profileConfig) { c.Folds = k })
}

// NewRegressionProfiler returns an unfitted RegressionProfiler.
func NewRegressionProfiler(opts ...ProfileOption) (*RegressionProfiler, error) {
	c := profileConfig{Quantile: DefaultProfileQuantile, Folds: 10}
	for _, o := range opts {
		if o != nil {
			o.applyProfile(&c)
		}
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return &RegressionProfiler{cfg: c}, nil
}

func (c profileConfig) validate() error {
	switch {
	case !(c.Quantile > 0 && c.Quantile < 1):
		return fmt.Errorf("predict: profile quantile %v is not in (0, 1)", c.Quantile)
	case c.Folds < 2:
		return fmt.Errorf("predict: %d profile folds; want at least 2", c.Folds)
	}
	for _, f := range c.Features {
		for _, p := range strings.Split(f, "*") {
			if strings.TrimSpace(p) == "" {
				return fmt.Errorf("predict: profile feature %q names an empty parameter", f)
			}
		}
	}
	return nil
}

// Quantile returns the quantile of the upper level.
func (m *RegressionProfiler) Quantile() float64 { return m.cfg.Quantile }

// regressionModel is what Fit learns; its fields are saved as they are.
type regressionModel struct {
	// Numeric are the numeric features, each a product of parameters.
	Numeric [][]string `json:"numeric"`
	// Levels holds the indicated values of each categorical parameter
	// (all but the most common), and Seen all the values met.
	Levels map[string][]string `json:"levels"`
	Seen   map[string][]string `json:"seen"`
	// Services holds a model per service.
	Services map[string]*serviceModel `json:"services"`
}

type serviceModel struct {
	Columns []profileColumn `json:"columns"`
	// Targets are in the order of ProfileTargets; nil when the target
	// had no usable value.
	Targets []*targetModel `json:"targets"`
}

// profileColumn is one input: the product of the parts it names.
type profileColumn struct {
	Numeric  int    `json:"numeric,omitempty"` // 1 + index into Numeric; 0 for none
	Param    string `json:"param,omitempty"`   // with Value: 1 if the parameter has this value
	Value    string `json:"value,omitempty"`
	After    string `json:"after,omitempty"` // 1 if this service ran before
	Position bool   `json:"position,omitempty"`
}

func (c profileColumn) String() string {
	var parts []string
	if c.Numeric > 0 {
		parts = append(parts, fmt.Sprintf("numeric%d", c.Numeric))
	}
	if c.Param != "" {
		parts = append(parts, c.Param+"="+c.Value)
	}
	if c.After != "" {
		parts = append(parts, "after "+c.After)
	}
	if c.Position {
		parts = append(parts, "position")
	}
	return strings.Join(parts, "×")
}

type targetModel struct {
	Columns   []int     `json:"columns"` // indexes into serviceModel.Columns
	Mean      []float64 `json:"mean"`
	Scale     []float64 `json:"scale"`
	Intercept float64   `json:"intercept"`
	Coef      []float64 `json:"coef"`
	Ridge     float64   `json:"ridge"`
	// Relative says the fit weighted each run by 1/y².
	Relative bool `json:"relative,omitempty"`
	// Q is the relative margin of the upper level.
	Q     float64 `json:"q"`
	Floor float64 `json:"floor"`
	N     int     `json:"n"`
}

// profileRidges is the grid the ridge penalty is chosen from, relative to
// the total weight of the runs.
var profileRidges = []float64{1e-8, 1e-6, 1e-4, 1e-3, 1e-2, 1e-1}

// Fit learns a regression per service and target from runs.
func (m *RegressionProfiler) Fit(ctx context.Context, runs []TaskRun) error {
	model, err := m.cfg.fit(ctx, runs)
	if err != nil {
		return err
	}
	m.model = model
	return nil
}

func (c profileConfig) fit(ctx context.Context, runs []TaskRun) (*regressionModel, error) {
	numeric, categorical, err := c.features(runs)
	if err != nil {
		return nil, err
	}
	model := &regressionModel{Levels: map[string][]string{}, Seen: map[string][]string{}, Services: map[string]*serviceModel{}}
	for _, f := range numeric {
		model.Numeric = append(model.Numeric, strings.Split(f, "*"))
	}
	for _, p := range categorical {
		count := map[string]int{}
		for _, r := range runs {
			if v, ok := r.Task.Params[p]; ok {
				count[v]++
			}
		}
		values := make([]string, 0, len(count))
		for v := range count {
			values = append(values, v)
		}
		slices.Sort(values)
		base := slices.MaxFunc(values, func(a, b string) int { return cmp.Or(cmp.Compare(count[a], count[b]), strings.Compare(b, a)) })
		model.Seen[p] = values
		model.Levels[p] = slices.DeleteFunc(slices.Clone(values), func(v string) bool { return v == base })
	}

	// The rows of each service, and the groups of their tasks.
	type row struct {
		run   *TaskRun
		sr    *ServiceRun
		group string
	}
	rows := map[string][]row{}
	var names []string
	var lacking error
	for i := range runs {
		r := &runs[i]
		if err := model.hasParams(r.Task); err != nil {
			lacking = err
			continue // lacks a parameter: cannot be learnt from
		}
		g := c.group(r.Task)
		for j := range r.Services {
			s := &r.Services[j]
			if rows[s.Service] == nil {
				names = append(names, s.Service)
			}
			rows[s.Service] = append(rows[s.Service], row{r, s, g})
		}
	}
	if len(rows) == 0 {
		if lacking != nil {
			return nil, fmt.Errorf("%w: no run's task has every parameter the features need (%w)", ErrNoHistory, lacking)
		}
		return nil, ErrNoHistory
	}
	slices.Sort(names)
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rs := rows[name]
		sm := &serviceModel{Columns: model.columns(name, func(yield func(rightsize.Task, int) bool) {
			for _, r := range rs {
				if !yield(r.run.Task, r.sr.Position) {
					return
				}
			}
		})}
		// The design matrix of every row, every column.
		x := make([][]float64, len(rs))
		groups := make([]string, len(rs))
		for i, r := range rs {
			x[i], err = model.row(sm.Columns, r.run.Task, r.sr.Position)
			if err != nil {
				return nil, fmt.Errorf("predict: task %s: %w", r.run.Task.ID, err)
			}
			groups[i] = r.group
		}
		for _, target := range ProfileTargets {
			var tx [][]float64
			var ty []float64
			var tg []string
			zeros := 0
			for i, r := range rs {
				switch v := r.sr.Target(target); {
				case v > 0 && profileUsable(v):
					tx, ty, tg = append(tx, x[i]), append(ty, v), append(tg, groups[i])
				case v == 0:
					zeros++
				}
			}
			var tm *targetModel
			switch {
			case len(ty) > 0:
				tm = c.fitTarget(tx, ty, tg)
			case zeros > 0: // never used any: predict none
				tm = &targetModel{N: zeros}
			}
			sm.Targets = append(sm.Targets, tm)
		}
		model.Services[name] = sm
	}
	return model, nil
}

// features returns the numeric features and the categorical parameters.
func (c profileConfig) features(runs []TaskRun) (numeric, categorical []string, err error) {
	numericParam := func(p string) (present, numeric bool, values int) {
		seen := map[string]bool{}
		present, numeric = true, true
		for _, r := range runs {
			v, ok := r.Task.Params[p]
			if !ok {
				present = false
				continue
			}
			seen[v] = true
			if _, err := strconv.ParseFloat(v, 64); err != nil {
				numeric = false
			}
		}
		return present, numeric, len(seen)
	}
	if len(c.Features) > 0 {
		for _, f := range c.Features {
			parts := strings.Split(f, "*")
			for i := range parts {
				parts[i] = strings.TrimSpace(parts[i])
			}
			f = strings.Join(parts, "*")
			if len(parts) == 1 {
				if _, isNum, n := numericParam(f); !isNum && n > 0 {
					categorical = append(categorical, f)
					continue
				}
			}
			numeric = append(numeric, f)
		}
		return numeric, categorical, nil
	}
	if len(runs) == 0 {
		return nil, nil, ErrNoHistory
	}
	var params []string
	for p := range runs[0].Task.Params {
		params = append(params, p)
	}
	slices.Sort(params)
	for _, p := range params {
		present, isNum, n := numericParam(p)
		switch {
		case !present:
		case isNum:
			numeric = append(numeric, p)
		case n <= 16:
			categorical = append(categorical, p)
		}
	}
	return numeric, categorical, nil
}

func (c profileConfig) group(t rightsize.Task) string {
	if len(c.Groups) == 0 {
		return "\x00" + t.ID
	}
	var b strings.Builder
	for _, p := range c.Groups {
		b.WriteString(t.Params[p])
		b.WriteByte(0)
	}
	return b.String()
}

// numericValues returns the values of the numeric features for t.
func (m *regressionModel) numericValues(t rightsize.Task) ([]float64, error) {
	out := make([]float64, len(m.Numeric))
	for i, parts := range m.Numeric {
		v := 1.0
		for _, p := range parts {
			f, ok := t.Float(p)
			if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, fmt.Errorf("%w: task %s has no numeric parameter %q", ErrTaskRecord, t.ID, p)
			}
			v *= f
		}
		out[i] = v
	}
	return out, nil
}

// hasParams reports whether t has every parameter the features use.
func (m *regressionModel) hasParams(t rightsize.Task) error {
	if _, err := m.numericValues(t); err != nil {
		return err
	}
	for _, p := range profileKeys(m.Seen) {
		if _, ok := t.Params[p]; !ok {
			return fmt.Errorf("%w: task %s has no parameter %q", ErrTaskRecord, t.ID, p)
		}
	}
	return nil
}

// columns returns the candidate columns of a service, from the tasks and
// positions it was seen at.
func (m *regressionModel) columns(service string, seen func(func(rightsize.Task, int) bool)) []profileColumn {
	before := map[string]bool{}
	for t, pos := range seen {
		for _, s := range t.Services[:pos] {
			if s != service {
				before[s] = true
			}
		}
	}
	afters := make([]string, 0, len(before))
	for s := range before {
		afters = append(afters, s)
	}
	slices.Sort(afters)
	var indicators []profileColumn
	for _, p := range profileKeys(m.Levels) {
		for _, v := range m.Levels[p] {
			indicators = append(indicators, profileColumn{Param: p, Value: v})
		}
	}
	for _, s := range afters {
		indicators = append(indicators, profileColumn{After: s})
	}
	var cols []profileColumn
	for k := range m.Numeric {
		cols = append(cols, profileColumn{Numeric: k + 1})
	}
	cols = append(cols, indicators...)
	cols = append(cols, profileColumn{Position: true})
	for k := range m.Numeric {
		for _, ind := range indicators {
			ind.Numeric = k + 1
			cols = append(cols, ind)
		}
	}
	return cols
}

// row returns the value of each column for the service at pos in t.
func (m *regressionModel) row(cols []profileColumn, t rightsize.Task, pos int) ([]float64, error) {
	num, err := m.numericValues(t)
	if err != nil {
		return nil, err
	}
	for _, p := range profileKeys(m.Seen) {
		seen := m.Seen[p]
		v, ok := t.Params[p]
		if !ok {
			return nil, fmt.Errorf("%w: task %s has no parameter %q", ErrTaskRecord, t.ID, p)
		}
		if !slices.Contains(seen, v) {
			return nil, fmt.Errorf("%w: %s=%s was in no training task (seen: %s)", ErrUnknownSeries, p, v, strings.Join(seen, ", "))
		}
	}
	out := make([]float64, len(cols))
	for i, c := range cols {
		v := 1.0
		if c.Numeric > 0 {
			v *= num[c.Numeric-1]
		}
		if c.Param != "" && t.Params[c.Param] != c.Value {
			v = 0
		}
		if c.After != "" && !slices.Contains(t.Services[:pos], c.After) {
			v = 0
		}
		if c.Position {
			v *= float64(pos)
		}
		out[i] = v
	}
	return out, nil
}

// fitTarget fits one target of one service: the columns kept, the ridge
// penalty chosen by cross-validation, the coefficients on all rows, and
// the margin of the upper level from the held-out errors.
func (c profileConfig) fitTarget(x [][]float64, y []float64, groups []string) *targetModel {
	n := len(y)
	tm := &targetModel{N: n, Floor: slices.Min(y)}
	// Keep the columns that vary and do not repeat an earlier one.
	var keep []int
	for j := range x[0] {
		col := make([]float64, n)
		for i := range x {
			col[i] = x[i][j]
		}
		mean, sd := stat.MeanStdDev(col, nil)
		if !(sd > 1e-12*math.Max(1, math.Abs(mean))) {
			continue
		}
		dup := false
		for _, k := range keep {
			same := true
			for i := range x {
				if x[i][k] != x[i][j] {
					same = false
					break
				}
			}
			if same {
				dup = true
				break
			}
		}
		if !dup {
			keep = append(keep, j)
			tm.Mean = append(tm.Mean, mean)
			tm.Scale = append(tm.Scale, sd)
		}
	}
	tm.Columns = keep
	z := make([][]float64, n)
	for i := range x {
		z[i] = tm.standardise(x[i])
	}
	if n == 1 {
		tm.Intercept, tm.Coef = y[0], make([]float64, len(keep))
		return tm
	}
	folds := c.folds(groups)
	best := math.Inf(1)
	var bestResid []float64
	for _, relative := range []bool{true, false} {
		for _, ridge := range profileRidges {
			resid, cost := tm.crossValidate(z, y, folds, ridge, relative)
			if resid == nil {
				continue
			}
			if cost < best*(1-1e-9) {
				best, tm.Ridge, tm.Relative, bestResid = cost, ridge, relative, resid
			}
		}
	}
	if bestResid == nil { // one fold only: in-sample errors
		tm.Ridge, tm.Relative = profileRidges[len(profileRidges)/2], true
	}
	tm.Intercept, tm.Coef = profileRidge(z, y, tm.Ridge, tm.Relative)
	if bestResid == nil {
		for i := range z {
			bestResid = append(bestResid, y[i]/tm.predictStd(z[i])-1)
		}
	}
	slices.Sort(bestResid)
	k := int(math.Ceil(float64(len(bestResid)+1)*c.Quantile)) - 1
	tm.Q = math.Max(0, bestResid[min(max(k, 0), len(bestResid)-1)])
	return tm
}

// folds returns each row's fold: groups hashed to folds, so that one
// group's rows stay together. Fewer than two groups give one fold.
func (c profileConfig) folds(groups []string) []int {
	names := profileUnique(groups)
	k := min(c.Folds, len(names))
	// Order the groups by a hash of their names, a deterministic shuffle.
	hashes := make(map[string]uint64, len(names))
	for _, g := range names {
		h := fnv.New64a()
		h.Write([]byte(g))
		hashes[g] = h.Sum64()
	}
	slices.SortFunc(names, func(a, b string) int { return cmp.Or(cmp.Compare(hashes[a], hashes[b]), strings.Compare(a, b)) })
	fold := make(map[string]int, len(names))
	for i, g := range names {
		fold[g] = i % max(k, 1)
	}
	out := make([]int, len(groups))
	for i, g := range groups {
		out[i] = fold[g]
	}
	return out
}

// crossValidate returns the relative errors y/ŷ − 1 of held-out
// predictions, fold by fold, and their cost: the mean of |ŷ − y| / y, the
// relative error EvaluateProfiles reports; nil with fewer than two folds.
func (tm *targetModel) crossValidate(z [][]float64, y []float64, folds []int, ridge float64, relative bool) ([]float64, float64) {
	k := slices.Max(folds) + 1
	if k < 2 {
		return nil, 0
	}
	resid := make([]float64, 0, len(y))
	var cost float64
	for f := range k {
		var tz [][]float64
		var ty []float64
		for i := range z {
			if folds[i] != f {
				tz, ty = append(tz, z[i]), append(ty, y[i])
			}
		}
		held := targetModel{Floor: slices.Min(ty)}
		held.Intercept, held.Coef = profileRidge(tz, ty, ridge, relative)
		for i := range z {
			if folds[i] == f {
				p := held.predictStd(z[i])
				resid = append(resid, y[i]/p-1)
				cost += math.Abs(p-y[i]) / y[i]
			}
		}
	}
	return resid, cost / float64(len(resid))
}

// profileRidge fits y ≈ b0 + z·b, each row weighted by 1/y² if relative
// (else by 1), minimising the weighted squared error plus ridge·Σw·|b|²
// (b0 not penalised).
func profileRidge(z [][]float64, y []float64, ridge float64, relative bool) (float64, []float64) {
	n, p := len(z), 0
	if n > 0 {
		p = len(z[0])
	}
	d := mat.NewDense(n, p+1, nil)
	yw := mat.NewVecDense(n, nil)
	var total float64
	for i := range z {
		w := 1.0 // the square root of the weight
		if relative {
			w = 1 / math.Max(y[i], 1e-300)
		}
		d.Set(i, 0, w)
		for j, v := range z[i] {
			d.Set(i, j+1, w*v)
		}
		yw.SetVec(i, w*y[i])
		total += w * w
	}
	var a mat.SymDense
	a.SymOuterK(1, d.T())
	for j := 1; j <= p; j++ {
		a.SetSym(j, j, a.At(j, j)+ridge*total)
	}
	var b, beta mat.VecDense
	b.MulVec(d.T(), yw)
	var ch mat.Cholesky
	if !ch.Factorize(&a) || ch.SolveVecTo(&beta, &b) != nil {
		// Singular even with the penalty (all-equal weights of a
		// zero column cannot happen; kept as a guard): the weighted
		// mean.
		return stat.Mean(y, nil), make([]float64, p)
	}
	coef := make([]float64, p)
	for j := range coef {
		coef[j] = beta.AtVec(j + 1)
	}
	return beta.AtVec(0), coef
}

func (tm *targetModel) standardise(x []float64) []float64 {
	z := make([]float64, len(tm.Columns))
	for j, c := range tm.Columns {
		z[j] = (x[c] - tm.Mean[j]) / tm.Scale[j]
	}
	return z
}

// predictStd predicts from a standardised row, never below the floor.
func (tm *targetModel) predictStd(z []float64) float64 {
	v := tm.Intercept
	for j, c := range tm.Coef {
		v += c * z[j]
	}
	if !(v >= tm.Floor) { // NaN too
		v = tm.Floor
	}
	return v
}

func (tm *targetModel) level(x []float64) ProfileLevel {
	p := profileFinite(tm.predictStd(tm.standardise(x)))
	return ProfileLevel{Point: p, Upper: profileFinite(p * (1 + tm.Q))}
}

// Profile predicts each service of t.
func (m *RegressionProfiler) Profile(ctx context.Context, t rightsize.Task) ([]ServiceProfile, error) {
	if m.model == nil {
		return nil, ErrNotFitted
	}
	return m.model.profile(t)
}

func (m *regressionModel) profile(t rightsize.Task) ([]ServiceProfile, error) {
	out := make([]ServiceProfile, 0, len(t.Services))
	for i, s := range t.Services {
		sm, ok := m.Services[s]
		if !ok {
			return nil, fmt.Errorf("%w: %s", ErrUnknownSeries, s)
		}
		x, err := m.row(sm.Columns, t, i)
		if err != nil {
			return nil, fmt.Errorf("predict: profile %s of task %s: %w", s, t.ID, err)
		}
		sp := ServiceProfile{Service: s, Position: i}
		for k, tm := range sm.Targets {
			if tm == nil {
				return nil, fmt.Errorf("%w: %s has no %s history", ErrUnknownSeries, s, ProfileTargets[k])
			}
			lv := tm.level(x)
			switch ProfileTargets[k] {
			case rightsize.Memory:
				sp.Memory = lv
			case rightsize.CPU:
				sp.CPU = lv
			case ProfileDuration:
				sp.Duration = lv
			}
		}
		out = append(out, sp)
	}
	return out, nil
}

// errProfileShape is returned by LoadProfiler for a saved regression whose
// parts do not fit together.
var errProfileShape = errors.New("predict: saved profile model is inconsistent")

func (m *regressionModel) check() error {
	if m == nil || m.Services == nil {
		return fmt.Errorf("%w: no services", errProfileShape)
	}
	for name, sm := range m.Services {
		if sm == nil || len(sm.Targets) != len(ProfileTargets) {
			return fmt.Errorf("%w: service %q", errProfileShape, name)
		}
		for _, c := range sm.Columns {
			if c.Numeric < 0 || c.Numeric > len(m.Numeric) {
				return fmt.Errorf("%w: service %q column %s", errProfileShape, name, c)
			}
		}
		for _, tm := range sm.Targets {
			if tm == nil {
				continue
			}
			p := len(tm.Columns)
			if len(tm.Mean) != p || len(tm.Scale) != p || len(tm.Coef) != p {
				return fmt.Errorf("%w: service %q", errProfileShape, name)
			}
			for _, c := range tm.Columns {
				if c < 0 || c >= len(sm.Columns) {
					return fmt.Errorf("%w: service %q", errProfileShape, name)
				}
			}
		}
	}
	return nil
}

func profileKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
