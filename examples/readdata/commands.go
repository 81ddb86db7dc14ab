package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/store"
	"github.com/rightsize/rightsize/store/longcsv"
)

// parseWhen reads a time: RFC 3339, or an age before now (90m, 24h, 30d).
func parseWhen(s string) (time.Time, error) {
	if t, err := longcsv.ParseTime(s); err == nil && strings.ContainsAny(s, "-:") {
		return t, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.ParseFloat(days, 64); err == nil && n >= 0 {
			return time.Now().Add(-time.Duration(n * 24 * float64(time.Hour))), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return time.Now().Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("time %q: want RFC 3339 (2025-03-01T12:00:00Z) or an age (24h, 30d)", s)
}

func when(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func listFlags(fs *flag.FlagSet) func(context.Context, *env, []string) error {
	by := fs.String("by", "service", "service, task, resource or series")
	return func(ctx context.Context, e *env, _ []string) error {
		cat, err := e.st.Catalog(ctx)
		if err != nil {
			return err
		}
		type row struct {
			key         []string
			series      int
			resources   map[string]bool
			rows        int64
			first, last time.Time
		}
		var head []string
		keyOf := func(si store.SeriesInfo) []string { return []string{si.Service} }
		switch *by {
		case "service":
			head = []string{"SERVICE", "SERIES", "RESOURCES"}
		case "task":
			head, keyOf = []string{"TASK", "SERIES", "SERVICES"}, func(si store.SeriesInfo) []string { return []string{si.Task} }
		case "resource":
			head, keyOf = []string{"SERVICE", "RESOURCE", "SERIES"}, func(si store.SeriesInfo) []string { return []string{si.Service, si.Resource} }
		case "series":
			head, keyOf = []string{"SERVICE", "RESOURCE", "TASK", "INSTANCE"}, func(si store.SeriesInfo) []string { return []string{si.Service, si.Resource, si.Task, si.Instance} }
		default:
			return fmt.Errorf("list -by %q: want service, task, resource or series", *by)
		}
		rows := map[string]*row{}
		var order []string
		for _, si := range cat {
			k := keyOf(si)
			id := strings.Join(k, "\x00")
			r := rows[id]
			if r == nil {
				r = &row{key: k, resources: map[string]bool{}, first: si.First, last: si.Last}
				rows[id] = r
				order = append(order, id)
			}
			r.series++
			r.rows += si.Count
			if *by == "task" {
				r.resources[si.Service] = true // a task's services
			} else {
				r.resources[si.Resource] = true
			}
			r.first, r.last = minTime(r.first, si.First), maxTime(r.last, si.Last)
		}
		slices.Sort(order)
		tw := tabwriter.NewWriter(e.stdout, 2, 8, 2, ' ', 0)
		fmt.Fprintln(tw, strings.Join(append(head, "ROWS", "FIRST", "LAST"), "\t"))
		var total int64
		for _, id := range order {
			r := rows[id]
			cells := slices.Clone(r.key)
			if *by != "series" && *by != "resource" {
				names := make([]string, 0, len(r.resources))
				for n := range r.resources {
					names = append(names, n)
				}
				slices.Sort(names)
				cells = append(cells, strconv.Itoa(r.series), strings.Join(names, ","))
			} else if *by == "resource" {
				cells = append(cells, strconv.Itoa(r.series))
			}
			for i, c := range cells {
				if c == "" {
					cells[i] = "-"
				}
			}
			fmt.Fprintln(tw, strings.Join(append(cells, strconv.FormatInt(r.rows, 10), when(r.first), when(r.last)), "\t"))
			total += r.rows
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%d rows in %d series, %s\n", total, len(cat), e.dsn)
		if *by == "task" {
			return listTasks(ctx, e)
		}
		return nil
	}
}

// listTasks prints the task records (parameters, services, start, end).
func listTasks(ctx context.Context, e *env) error {
	tasks, err := e.st.Tasks(ctx, store.TaskQuery{})
	if err != nil || len(tasks) == 0 {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "\nRECORDED TASK\tSERVICES\tPARAMS\tSTART\tEND")
	for _, t := range tasks {
		params := make([]string, 0, len(t.Params))
		for k, v := range t.Params {
			params = append(params, k+"="+v)
		}
		slices.Sort(params)
		end := "running"
		if !t.End.IsZero() {
			end = when(t.End)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.ID, strings.Join(t.Services, ">"), strings.Join(params, ","), when(t.Start), end)
	}
	return tw.Flush()
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func dumpFlags(fs *flag.FlagSet) func(context.Context, *env, []string) error {
	services := fs.String("service", "", "services, comma-separated (default: all)")
	task := fs.String("task", "", "only this task")
	instance := fs.String("instance", "", "only this instance")
	resources := fs.String("resource", "", "resources, comma-separated (default: all)")
	from := fs.String("from", "", "from this time (RFC 3339 or an age: 24h, 30d)")
	to := fs.String("to", "", "until this time, excluded (RFC 3339)")
	out := fs.String("o", "-", "output file (- is standard output)")
	return func(ctx context.Context, e *env, _ []string) error {
		f := rightsize.Filter{Services: splitList(*services), Task: *task, Instance: *instance, Resources: splitList(*resources)}
		var err error
		if *from != "" {
			if f.From, err = parseWhen(*from); err != nil {
				return fmt.Errorf("-from: %w", err)
			}
		}
		if *to != "" {
			if f.To, err = parseWhen(*to); err != nil {
				return fmt.Errorf("-to: %w", err)
			}
		}
		if len(f.Services) == 0 {
			if f.Services, err = e.st.Services(ctx); err != nil || len(f.Services) == 0 {
				return err
			}
		}
		w := e.stdout
		if *out != "-" {
			file, err := os.Create(*out)
			if err != nil {
				return err
			}
			defer file.Close()
			w = file
		}
		bw := bufio.NewWriterSize(w, 256<<10)
		cw := longcsv.NewWriter(bw, true)
		if err := e.st.Scan(ctx, f, cw.Write); err != nil {
			return err
		}
		if err := cw.Flush(); err != nil {
			return err
		}
		return bw.Flush()
	}
}

// countingReader counts the bytes read through it, for the progress bar.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func importFlags(fs *flag.FlagSet) func(context.Context, *env, []string) error {
	batch := fs.Int("batch", 50_000, "samples per transaction")
	skipBad := fs.Bool("skip-bad", false, "skip malformed lines (counted) instead of stopping at the first")
	return func(ctx context.Context, e *env, files []string) error {
		if len(files) == 0 {
			return errors.New("import: no file given (- reads standard input)")
		}
		for _, name := range files {
			if err := importFile(ctx, e, name, *batch, *skipBad); err != nil {
				return err
			}
		}
		return nil
	}
}

func importFile(ctx context.Context, e *env, name string, batch int, skipBad bool) error {
	in, size := io.Reader(e.stdin), int64(-1)
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		if fi, err := f.Stat(); err == nil {
			size = fi.Size()
		}
		in = f
	}
	cr := &countingReader{r: in}
	r, err := longcsv.NewReader(cr)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	var bar *progressbar.ProgressBar
	progress := func(res longcsv.Result) {
		if !e.terminal || res.Elapsed < time.Second {
			return // a bar only on a terminal, and only for what takes a while
		}
		if bar == nil {
			bar = progressbar.NewOptions64(size, progressbar.OptionSetWriter(e.stderr), progressbar.OptionShowBytes(true),
				progressbar.OptionSetDescription("importing "+name), progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
		}
		bar.Set64(cr.n)
	}
	res, err := longcsv.Import(ctx, e.st, r, longcsv.ImportOptions{BatchSize: batch, SkipBad: skipBad, Progress: progress})
	if bar != nil {
		bar.Finish()
	}
	if err != nil {
		var le *longcsv.LineError
		if errors.As(err, &le) {
			return fmt.Errorf("%s: %w (nothing of that line's batch was imported; %d rows of earlier batches were)", name, err, res.Rows)
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	rate := float64(res.Rows) / max(res.Elapsed.Seconds(), 1e-9)
	fmt.Fprintf(e.stdout, "%s: imported %d rows in %v (%.0f rows/s) into %s", name, res.Rows, res.Elapsed.Round(time.Millisecond), rate, e.dsn)
	if res.Skipped > 0 {
		fmt.Fprintf(e.stdout, "; skipped %d malformed lines, the last: %v", res.Skipped, r.LastSkipped())
	}
	fmt.Fprintln(e.stdout)
	return nil
}

// confirm asks question on stderr and reads the answer from stdin.
func confirm(e *env, question string) error {
	fmt.Fprintf(e.stderr, "%s [y/N] ", question)
	answer, err := bufio.NewReader(e.stdin).ReadString('\n')
	answer = strings.ToLower(strings.TrimSpace(answer))
	if answer == "y" || answer == "yes" {
		return nil
	}
	if err != nil && answer == "" {
		return errors.New("not confirmed (no answer on standard input): pass -yes to drop without asking")
	}
	return errors.New("not confirmed: nothing dropped")
}

func dropFlags(fs *flag.FlagSet) func(context.Context, *env, []string) error {
	before := fs.String("before", "", "drop samples before this time (RFC 3339 or an age: 30d); without it, drop everything")
	yes := fs.Bool("yes", false, "do not ask for confirmation")
	return func(ctx context.Context, e *env, _ []string) error {
		if *before == "" {
			if !*yes {
				if err := confirm(e, "drop everything (samples, series, tasks, offsets) in "+e.dsn+"?"); err != nil {
					return err
				}
			}
			if err := e.st.Reset(ctx); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "dropped everything in %s\n", e.dsn)
			return nil
		}
		t, err := parseWhen(*before)
		if err != nil {
			return fmt.Errorf("-before: %w", err)
		}
		if !*yes {
			if err := confirm(e, fmt.Sprintf("drop the samples before %s (in whole buckets) from %s?", when(t), e.dsn)); err != nil {
				return err
			}
		}
		n, err := e.st.DropBefore(ctx, t)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "dropped %d samples before %s from %s\n", n, when(t), e.dsn)
		return nil
	}
}

func compactFlags(*flag.FlagSet) func(context.Context, *env, []string) error {
	return func(ctx context.Context, e *env, _ []string) error {
		n, err := e.st.Compact(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "compacted %d buckets in %s\n", n, e.dsn)
		return nil
	}
}
