package main

import (
	"io"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
)

// progress shows a bar on its writer once the work has taken a second.
type progress struct {
	w     io.Writer
	what  string
	start time.Time
	bar   *progressbar.ProgressBar
}

func newProgress(w io.Writer, what string) *progress {
	return &progress{w: w, what: what, start: time.Now()}
}

// update says how much is done; a total below 0 means it is not known.
func (p *progress) update(done, total int) {
	if p.bar == nil && time.Since(p.start) > time.Second && (total < 0 || done < total) {
		p.bar = progressbar.NewOptions(max(total, -1), progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetDescription(p.what), progressbar.OptionClearOnFinish(), progressbar.OptionShowCount())
	}
	if p.bar != nil {
		p.bar.Set(done)
	}
}

// finish clears the bar, if one was shown.
func (p *progress) finish() {
	if p.bar != nil {
		p.bar.Finish()
		p.bar.Clear()
		p.bar = nil
	}
}

func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
}
