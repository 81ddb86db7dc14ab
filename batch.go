package rightsize

import "fmt"

// Batch is what the Kafka consumer hands to its sinks: the samples decoded
// from a run of records and the offsets of those records.
//
// Samples are grouped by the partition they came from, in the order of
// Ranges: the first Ranges[0].Samples samples came from Ranges[0], the next
// Ranges[1].Samples from Ranges[1], and so on. A sink that stores offsets
// with its rows (see the store package) uses the ranges to store each
// record exactly once; other sinks may ignore them.
type Batch struct {
	Samples []Sample
	Ranges  []OffsetRange
}

// OffsetRange is a run of consecutive records of one Kafka partition.
type OffsetRange struct {
	Topic string
	// TopicID is the topic's ID as the cluster reports it (hex), or ""
	// where the cluster reports none. A topic deleted and created again
	// under the same name has a new ID, and offsets stored for the old one
	// do not apply to it.
	TopicID   string
	Partition int32
	// From is the offset of the first record of the run.
	From int64
	// To is the offset after the last record: where the next read starts.
	To int64
	// Samples is how many of the batch's samples came from this run. It may
	// be 0 (a run of records that carried no valid sample still advances
	// the offset).
	Samples int
}

func (r OffsetRange) String() string {
	return fmt.Sprintf("%s/%d[%d,%d)", r.Topic, r.Partition, r.From, r.To)
}

// Parts calls fn for each range with the samples that came from it.
// It stops at the first error fn returns and returns it.
func (b Batch) Parts(fn func(r OffsetRange, samples []Sample) error) error {
	i := 0
	for _, r := range b.Ranges {
		end := i + r.Samples
		if end > len(b.Samples) {
			return fmt.Errorf("batch: range %s claims %d samples, only %d left", r, r.Samples, len(b.Samples)-i)
		}
		if err := fn(r, b.Samples[i:end:end]); err != nil {
			return err
		}
		i = end
	}
	if i != len(b.Samples) {
		return fmt.Errorf("batch: %d samples belong to no range", len(b.Samples)-i)
	}
	return nil
}
