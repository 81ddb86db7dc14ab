package consumer

import (
	"errors"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rightsize/rightsize/internal/wire"
)

// deadRecord is a record that cannot be stored, and why.
type deadRecord struct {
	r      *kgo.Record
	reason Reason
	err    error
}

// toWire views r as a wire.Record, its headers in scratch (reused from
// one record to the next).
func toWire(r *kgo.Record, scratch *[]wire.Header) wire.Record {
	w := wire.Record{Key: r.Key, Value: r.Value, Timestamp: wire.UnwrapKafkaTime(r.Timestamp)}
	if len(r.Headers) > 0 {
		hs := (*scratch)[:0]
		for _, h := range r.Headers {
			hs = append(hs, wire.Header{Key: h.Key, Value: h.Value})
		}
		*scratch, w.Headers = hs, hs
	}
	return w
}

// Reason says why a record was not stored: the kind of problem, as
// counted in Stats.Malformed and written in the dead-letter record's
// rightsize-reason header.
type Reason string

// Reasons a record is not stored.
const (
	ReasonSyntax       Reason = Reason(wire.KindSyntax)       // not valid JSON, or not the expected shape
	ReasonVersion      Reason = Reason(wire.KindVersion)      // a record format version this consumer does not know
	ReasonInvalid      Reason = Reason(wire.KindInvalid)      // decoded, but a sample is invalid (rightsize.Sample.Validate)
	ReasonLegacy       Reason = Reason(wire.KindLegacy)       // a malformed record in the seed's format
	ReasonContentType  Reason = Reason(wire.KindContentType)  // a content-type header this consumer does not know
	ReasonUnrecognized Reason = Reason(wire.KindUnrecognized) // neither rightsize's format nor the seed's
	ReasonRefused      Reason = "refused"                     // decoded, but the store refused it for good (a permanent error)
)

// reasonOf classifies a decoding error.
func reasonOf(err error) Reason {
	var de *wire.DecodeError
	if errors.As(err, &de) {
		return Reason(de.Kind)
	}
	return ReasonUnrecognized
}

func (c *Consumer) countMalformed(r *kgo.Record, reason Reason, err error) {
	n, _ := c.malformed.LoadOrStore(reason, new(atomic.Int64))
	n.(*atomic.Int64).Add(1)
	msg := "malformed record (further records of this kind are only counted)"
	if reason == ReasonRefused {
		msg = "record refused by the store for good (further such records are only counted)"
	}
	c.logOnce("malformed:"+string(reason), msg,
		"reason", reason, "topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "err", err)
}
