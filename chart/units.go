package chart

import (
	"math"
	"strconv"

	"github.com/rightsize/rightsize"
)

// Scale is how a resource's values are shown: divided by Div and labelled
// Unit ("millicores", "MiB", "MiB/s").
type Scale struct {
	Unit string
	Div  float64
}

// ScaleFor chooses the unit in which to show values of resource up to max
// (in the resource's base unit): millicores below one core and cores
// above; KiB, MiB or GiB (per second for rates) by magnitude; the base
// unit for the others.
func ScaleFor(resource string, max float64) Scale {
	switch rightsize.UnitOf(resource) {
	case rightsize.Cores:
		if max < 1 {
			return Scale{"millicores", 1e-3}
		}
		return Scale{"cores", 1}
	case rightsize.CoresThrottled:
		if max < 1 {
			return Scale{"throttled ms/s", 1e-3}
		}
		return Scale{"throttled s/s", 1}
	case rightsize.Bytes:
		return bytesScale(max, "")
	case rightsize.BytesPerSecond:
		return bytesScale(max, "/s")
	case rightsize.Percent:
		return Scale{"%", 1}
	case rightsize.Count:
		return Scale{"count", 1}
	}
	return Scale{"", 1}
}

func bytesScale(max float64, suffix string) Scale {
	switch {
	case max >= 1<<30:
		return Scale{"GiB" + suffix, 1 << 30}
	case max >= 1<<20:
		return Scale{"MiB" + suffix, 1 << 20}
	case max >= 1<<10:
		return Scale{"KiB" + suffix, 1 << 10}
	}
	return Scale{"B" + suffix, 1}
}

// Format renders v (in the resource's base unit) in the scale's unit with
// three significant digits: "250 millicores", "1.50 GiB".
func (s Scale) Format(v float64) string {
	x := v / s.Div
	digits := 0
	switch a := math.Abs(x); {
	case a == 0 || a >= 100:
	case a >= 10:
		digits = 1
	default:
		digits = 2
	}
	out := strconv.FormatFloat(x, 'f', digits, 64)
	if s.Unit != "" {
		out += " " + s.Unit
	}
	return out
}

// Quantity renders v of resource compactly, in the unit ScaleFor(resource,
// v) chooses: what the legend and the live page show beside a request.
func Quantity(resource string, v float64) string {
	return ScaleFor(resource, v).Format(v)
}
