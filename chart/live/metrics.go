package live

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
)

// handleMetrics writes the pipeline's health in Prometheus' text format
// (version 0.0.4): the consumer's counters as last taken, its lag and
// rates over the last status interval, and the live view's own counts.
func (s *Server) handleMetrics(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	var b strings.Builder
	metric := func(name, typ, help string, samples ...sample) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
		for _, x := range samples {
			fmt.Fprintf(&b, "%s%s %s\n", name, x.labels, formatValue(x.v))
		}
	}
	one := func(v float64) sample { return sample{v: v} }

	services, samples, batches, ignored := s.recent.counts()
	metric("rightsize_live_services", "gauge", "Services the live view holds recent samples of.", one(float64(services)))
	metric("rightsize_live_samples_total", "counter", "Samples the live view has taken from the consumer.", one(float64(samples)))
	metric("rightsize_live_batches_total", "counter", "Batches the live view has taken from the consumer.", one(float64(batches)))
	metric("rightsize_live_ignored_samples_total", "counter", "Samples of services beyond the live view's maximum, not kept.", one(float64(ignored)))

	ps := s.status.Load()
	if ps == nil {
		w.Write([]byte(b.String()))
		return
	}
	st, cur := ps.Status, ps.Stats
	metric("rightsize_consumer_records_total", "counter", "Kafka records the consumer has read.", one(float64(cur.Records)))
	metric("rightsize_consumer_samples_total", "counter", "Samples the consumer has delivered to its sinks.", one(float64(cur.Samples)))
	metric("rightsize_consumer_batches_total", "counter", "Batches the consumer has delivered to its sinks.", one(float64(cur.Batches)))
	metric("rightsize_consumer_records_per_second", "gauge", "Records read per second over the last status interval.", one(st.RecordsPerSec))
	metric("rightsize_consumer_samples_per_second", "gauge", "Samples delivered per second over the last status interval.", one(st.SamplesPerSec))
	if st.Lag >= 0 {
		metric("rightsize_consumer_lag_records", "gauge", "Records on the topics not yet delivered to the sinks.", one(float64(st.Lag)))
	}
	var reasons []sample
	for _, r := range slices.Sorted(maps.Keys(cur.Malformed)) {
		reasons = append(reasons, sample{labels: `{reason="` + escapeLabel(string(r)) + `"}`, v: float64(cur.Malformed[r])})
	}
	metric("rightsize_consumer_not_stored_total", "counter", "Records that will never be stored, by reason.", reasons...)
	metric("rightsize_consumer_dead_lettered_total", "counter", "Records not stored that were copied to the dead-letter topic.", one(float64(cur.DeadLettered)))
	metric("rightsize_consumer_write_seconds_total", "counter", "Time spent writing batches to the store, failed attempts included.", one(cur.WriteTime.Seconds()))
	metric("rightsize_consumer_stalled_seconds", "gauge", "How long the oldest batch still failing to be stored has been failing (0: none).", one(cur.Stalled.Seconds()))
	metric("rightsize_consumer_best_effort_dropped_total", "counter", "Batches best-effort sinks (this live view among them) missed because they fell behind.", one(float64(cur.BestEffortDropped)))
	metric("rightsize_consumer_best_effort_failed_total", "counter", "Batches best-effort sinks failed to take.", one(float64(cur.BestEffortFailed)))
	w.Write([]byte(b.String()))
}

type sample struct {
	labels string
	v      float64
}

func formatValue(v float64) string { return fmt.Sprintf("%g", v) }

// escapeLabel escapes a label value as the text format wants.
func escapeLabel(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}
