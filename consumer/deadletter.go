package consumer

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// deadLetter copies malformed records to the dead-letter topic. It is best
// effort: a record that cannot be copied is logged, never retried forever.
func (c *Consumer) deadLetter(ctx context.Context, dead []deadRecord) {
	if len(dead) == 0 || c.cfg.deadLetter == "" {
		return
	}
	recs := make([]*kgo.Record, len(dead))
	for i, d := range dead {
		recs[i] = &kgo.Record{Topic: c.cfg.deadLetter, Key: d.r.Key, Value: d.r.Value, Timestamp: d.r.Timestamp,
			Headers: append(slices.Clone(d.r.Headers),
				kgo.RecordHeader{Key: "rightsize-error", Value: []byte(d.err.Error())},
				kgo.RecordHeader{Key: "rightsize-reason", Value: []byte(d.reason)},
				kgo.RecordHeader{Key: "rightsize-source", Value: fmt.Appendf(nil, "%s/%d/%d", d.r.Topic, d.r.Partition, d.r.Offset)})}
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for _, res := range c.client.ProduceSync(ctx, recs...) {
		if res.Err != nil {
			c.logOnce("dlq:"+res.Err.Error(), "copying a malformed record to the dead-letter topic", "topic", c.cfg.deadLetter, "err", res.Err)
			continue
		}
		c.deadLettered.Add(1)
	}
}
