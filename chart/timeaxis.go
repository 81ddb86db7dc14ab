package chart

import (
	"time"

	"gonum.org/v1/plot"
)

// timeTicks marks a time axis (Unix seconds) at round times of day in a
// location — every 10 s, 5 min, 1 h, 6 h... — chosen so that there are
// four to eight labelled ticks, with minor ticks between them.
type timeTicks struct {
	loc *time.Location
}

// tickSteps are the label intervals a time axis may use.
var tickSteps = []time.Duration{
	time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour,
	24 * time.Hour, 48 * time.Hour, 7 * 24 * time.Hour, 14 * 24 * time.Hour, 28 * 24 * time.Hour,
}

// minorSteps are how many minor intervals divide each of tickSteps.
var minorSteps = []int{1, 2, 5, 2, 3, 3, 2, 2, 5, 2, 3, 3, 2, 2, 3, 6, 4, 4, 2, 7, 2, 4}

func (tt timeTicks) step(span time.Duration) (time.Duration, int) {
	for i, s := range tickSteps {
		if span/s <= 7 {
			return s, minorSteps[i]
		}
	}
	return tickSteps[len(tickSteps)-1], minorSteps[len(minorSteps)-1]
}

// Ticks implements plot.Ticker.
func (tt timeTicks) Ticks(min, max float64) []plot.Tick {
	lo, hi := unixTime(min).In(tt.loc), unixTime(max).In(tt.loc)
	step, minor := tt.step(hi.Sub(lo))
	format := labelFormat(hi.Sub(lo), step)
	// Ticks start at a multiple of step after local midnight (weeks
	// after a Monday), so that they fall on round times of day.
	y, m, d := lo.Date()
	origin := time.Date(y, m, d, 0, 0, 0, 0, tt.loc)
	if step >= 7*24*time.Hour {
		origin = origin.AddDate(0, 0, -((int(origin.Weekday()) + 6) % 7))
	}
	first := origin.Add(lo.Sub(origin) / step * step)
	var ticks []plot.Tick
	sub := step / time.Duration(minor)
	for t := first; !t.After(hi); t = t.Add(step) {
		if !t.Before(lo) {
			ticks = append(ticks, plot.Tick{Value: unixSeconds(t), Label: t.Format(format)})
		}
		for k := 1; k < minor; k++ {
			if u := t.Add(time.Duration(k) * sub); !u.Before(lo) && !u.After(hi) {
				ticks = append(ticks, plot.Tick{Value: unixSeconds(u)})
			}
		}
	}
	return ticks
}

// labelFormat shows what changes between ticks: seconds when ticks are
// seconds apart, the day when the axis spans days.
func labelFormat(span, step time.Duration) string {
	switch {
	case step >= 24*time.Hour:
		return "Mon 2 Jan"
	case span >= 24*time.Hour:
		return "Mon 15:04"
	case step < time.Minute:
		return "15:04:05"
	}
	return "15:04"
}

// zoneLabel names the time axis: "local time (CET, UTC+01:00)".
func zoneLabel(t time.Time) string {
	name, _ := t.Zone()
	off := t.Format("-07:00")
	if name == "UTC" {
		return "time (UTC)"
	}
	if name == "" || name[0] == '+' || name[0] == '-' {
		return "local time (UTC" + off + ")"
	}
	return "local time (" + name + ", UTC" + off + ")"
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

func unixTime(s float64) time.Time {
	sec := int64(s)
	if s < 0 && float64(sec) != s {
		sec--
	}
	return time.Unix(sec, int64((s-float64(sec))*1e9))
}
