package store

import (
	"slices"
	"strconv"
	"strings"
)

// where collects the conditions and arguments of a WHERE clause.
// Conditions use ? for their argument; with dollar set (PostgreSQL) it is
// rewritten to $n, n counting every argument so far.
type where struct {
	dollar bool
	conds  []string
	args   []any
}

func (w *where) add(cond string, arg any) {
	w.args = append(w.args, arg)
	if w.dollar {
		cond = strings.Replace(cond, "?", "$"+strconv.Itoa(len(w.args)), 1)
	}
	w.conds = append(w.conds, cond)
}

func (w *where) String() string { return strings.Join(w.conds, " AND ") }

// seriesRow is a stored series: its id and labels.
type seriesRow struct {
	id  int64
	key seriesKey
}

// sortSeries sorts series by service, resource, task and instance, in byte
// order: the order of Scan, within which each (service, resource) group is
// contiguous.
func sortSeries(s []seriesRow) {
	slices.SortFunc(s, func(a, b seriesRow) int { return compareKeys(a.key, b.key) })
}

// seriesArrays returns, for series sorted by sortSeries, each one's id, the
// index of its (service, resource) group, and its own index.
func seriesArrays(s []seriesRow) (ids, groups, ranks []int32) {
	ids = make([]int32, len(s))
	groups = make([]int32, len(s))
	ranks = make([]int32, len(s))
	g := int32(-1)
	for i, r := range s {
		if i == 0 || r.key.service != s[i-1].key.service || r.key.resource != s[i-1].key.resource {
			g++
		}
		ids[i], groups[i], ranks[i] = int32(r.id), g, int32(i)
	}
	return ids, groups, ranks
}
