// Package rightsize measures what services really consume, streams the
// measurements through Kafka into PostgreSQL, and turns that history into
// expected usage and predictions a scheduler can act on.
//
// This root package holds the data model every other package shares: the
// [Sample] (one measured value of one resource of one service at one time),
// the resource vocabulary with its units, validation, and the [Batch] that
// carries samples from the Kafka consumer to its sinks together with the
// Kafka offsets they came from.
//
// The pipeline, package by package:
//
//	sample    Sampler: measures a process tree, cgroup or host       → []Sample
//	producer  Publisher: sends samples to Kafka; the sampling loop
//	consumer  reads Kafka in a consumer group, decodes, hands Batches to Sinks
//	store     PostgreSQL (COPY ingest) and the embedded SQLite store; Open(ctx, dsn)
//	usage     Expected(ctx, service): count/min/mean/max/... per resource
//	predict   Predictor: fit history, predict future needs
//	broker    an in-process Kafka-protocol broker for demos and tests
//
// # Resources and units
//
// Values are gauges in base units, ready to aggregate. The names of the two
// main resources are Kubernetes' own, so a recommendation maps straight onto
// a pod's resources.requests:
//
//	cpu            cores in use (0.25 = 250m)
//	memory         bytes, working set
//	disk.read      bytes per second
//	disk.write     bytes per second
//	net.rx, net.tx bytes per second
//	cpu.throttled  throttled CPU-seconds per second
//	oom.kills      OOM kills in the interval
//	threads        count
//
// Host-wide percentages from the seed's Python producers are kept apart as
// cpu.percent, memory.percent and disk.percent (percent of the host). Any
// other resource may be used if its name is Kubernetes-style: lower-case
// letters, digits and '.', '-', '_', '/' (for example "nvidia.com/gpu" or
// "queue.depth"); see [ValidResourceName].
package rightsize
