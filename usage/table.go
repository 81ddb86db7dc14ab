package usage

import (
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"github.com/rightsize/rightsize"
)

// WriteTable writes one row per service and resource: count, min, mean,
// max and standard deviation, each in a readable unit (cores, MiB, MiB/s).
func WriteTable(w io.Writer, us ...Usage) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "SERVICE\tRESOURCE\tCOUNT\tMIN\tMEAN\tMAX\tSTDDEV\tUNIT\t")
	for _, u := range us {
		for _, s := range u.Resources {
			unit, scale := displayUnit(s.Resource)
			f := func(v float64) string { return strconv.FormatFloat(v/scale, 'f', 3, 64) }
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t\n", u.Service, s.Resource, s.Count,
				f(s.Min), f(s.Mean), f(s.Max), f(s.StdDev), unit)
		}
	}
	return tw.Flush()
}

func displayUnit(resource string) (string, float64) {
	switch rightsize.UnitOf(resource) {
	case rightsize.Bytes:
		return "MiB", 1 << 20
	case rightsize.BytesPerSecond:
		return "MiB/s", 1 << 20
	case rightsize.Unknown:
		return "", 1
	default:
		return string(rightsize.UnitOf(resource)), 1
	}
}
