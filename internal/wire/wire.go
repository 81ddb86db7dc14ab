// Package wire encodes samples as Kafka records and decodes them back.
//
// # Record format, version 1
//
// One record carries every resource one service reported at one tick:
//
//	key:     the service name (so one partition keeps a service's samples in order)
//	header:  content-type: application/vnd.rightsize.samples+json; v=1
//	value:   {"v":1,"task":"img-42","service":"resize","instance":"node-1",
//	          "time":"2026-11-24T12:00:00.123456Z",
//	          "values":{"cpu":0.52,"memory":104857600}}
//
// "task" and "instance" may be omitted when empty; "time" is RFC 3339 with
// up to nanosecond precision; "values" maps resource names to numbers in the
// resource's base unit. Unknown fields are ignored, so later versions may
// add fields; a record whose "v" is greater than this package knows is
// rejected, not misread.
//
// # Legacy records
//
// The seed's Python producers sent one record per resource: key
// "<image_ID> <service> <RESOURCE>", value the number as text, time the
// record's timestamp. Decode accepts them unchanged; CPU, RAM and DISK
// become cpu.percent, memory.percent and disk.percent.
package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/internal/clip"
)

// Version is the record format version Encode writes.
const Version = 1

// ContentType is the value of the content-type header of version 1 records.
const ContentType = "application/vnd.rightsize.samples+json; v=1"

// HeaderContentType is the header key carrying ContentType.
const HeaderContentType = "content-type"

// Record is a decoded or to-be-encoded Kafka record: what this package
// needs of kgo.Record, so it does not depend on the Kafka client.
type Record struct {
	Key       []byte
	Value     []byte
	Headers   []Header
	Timestamp time.Time
}

// Header is a Kafka record header.
type Header struct {
	Key   string
	Value []byte
}

type recordV1 struct {
	V        int                `json:"v"`
	Task     string             `json:"task,omitempty"`
	Service  string             `json:"service"`
	Instance string             `json:"instance,omitempty"`
	Time     time.Time          `json:"time"`
	Values   map[string]float64 `json:"values"`
}

// Encode returns one record per (task, service, instance, time) group of
// samples, in the order the groups first appear. Every sample is validated
// first; an invalid one makes Encode fail with an error naming it and
// encode nothing.
func Encode(samples []rightsize.Sample) ([]Record, error) {
	type groupKey struct {
		task, service, instance string
		time                    int64
	}
	index := make(map[groupKey]int)
	var groups []recordV1
	var v rightsize.Validator
	for i, s := range samples {
		if err := v.Validate(s); err != nil {
			return nil, fmt.Errorf("wire: sample %d (%s/%s): %w", i, s.Service, s.Resource, err)
		}
		k := groupKey{s.Task, s.Service, s.Instance, s.Time.UnixNano()}
		g, ok := index[k]
		if !ok {
			g = len(groups)
			index[k] = g
			groups = append(groups, recordV1{V: Version, Task: s.Task, Service: s.Service, Instance: s.Instance,
				Time: s.Time.UTC(), Values: make(map[string]float64, 8)})
		}
		if _, dup := groups[g].Values[s.Resource]; dup {
			return nil, fmt.Errorf("wire: sample %d: resource %s of %s given twice for %s", i, s.Resource, s.Service, s.Time.Format(time.RFC3339Nano))
		}
		groups[g].Values[s.Resource] = s.Value
	}
	out := make([]Record, len(groups))
	for i, g := range groups {
		v, err := json.Marshal(g)
		if err != nil {
			return nil, fmt.Errorf("wire: encode %s: %w", g.Service, err)
		}
		out[i] = Record{
			Key:       []byte(g.Service),
			Value:     v,
			Headers:   []Header{{Key: HeaderContentType, Value: []byte(ContentType)}},
			Timestamp: g.Time,
		}
	}
	return out, nil
}

// Kind classifies why a record could not be decoded, for counting and
// logging once per kind.
type Kind string

// Kinds of DecodeError.
const (
	KindSyntax       Kind = "syntax"       // not valid JSON, or not the expected shape
	KindVersion      Kind = "version"      // a format version this package does not know
	KindInvalid      Kind = "invalid"      // decoded, but a sample failed validation
	KindLegacy       Kind = "legacy"       // a seed-format record that is malformed
	KindContentType  Kind = "content-type" // a content-type header this package does not know
	KindUnrecognized Kind = "unrecognized" // neither rightsize JSON nor the seed's format
)

// ErrMalformed is matched (with errors.Is) by every error Decode returns.
var ErrMalformed = errors.New("malformed record")

// DecodeError says why a record could not be decoded.
type DecodeError struct {
	Kind   Kind
	Reason string
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("malformed record (%s): %s", e.Kind, e.Reason)
}

// Unwrap makes errors.Is(err, ErrMalformed) true.
func (e *DecodeError) Unwrap() error { return ErrMalformed }

func malformed(kind Kind, format string, args ...any) error {
	return &DecodeError{Kind: kind, Reason: fmt.Sprintf(format, args...)}
}

// Decode appends the samples of one record to dst and returns it. A record
// yields either all of its samples or, with a *DecodeError, none.
func Decode(dst []rightsize.Sample, r Record) ([]rightsize.Sample, error) {
	for _, h := range r.Headers {
		if strings.EqualFold(h.Key, HeaderContentType) {
			ct := string(h.Value)
			if !strings.HasPrefix(ct, "application/vnd.rightsize.samples+json") {
				return dst, malformed(KindContentType, "content-type %q", clip.String(ct, 60))
			}
			return decodeJSON(dst, r)
		}
	}
	v := bytes.TrimSpace(r.Value)
	if len(v) > 0 && v[0] == '{' {
		return decodeJSON(dst, r)
	}
	if bytes.Count(bytes.TrimSpace(r.Key), []byte(" ")) >= 2 {
		return decodeLegacy(dst, r)
	}
	return dst, malformed(KindUnrecognized, "key %q value %q is neither a rightsize record nor the seed's format", clip.String(string(r.Key), 60), clip.String(string(r.Value), 60))
}

func decodeJSON(dst []rightsize.Sample, r Record) ([]rightsize.Sample, error) {
	var rec recordV1
	if err := json.Unmarshal(r.Value, &rec); err != nil {
		return dst, malformed(KindSyntax, "%v", err)
	}
	switch {
	case rec.V == 0:
		return dst, malformed(KindSyntax, `no "v" field`)
	case rec.V > Version:
		return dst, malformed(KindVersion, "version %d (this decoder knows up to %d)", rec.V, Version)
	case rec.Time.IsZero():
		return dst, malformed(KindSyntax, `no "time" field`)
	case len(rec.Values) == 0:
		return dst, malformed(KindSyntax, `no "values"`)
	}
	n := len(dst)
	names := make([]string, 0, len(rec.Values))
	for name := range rec.Values {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		s := rightsize.Sample{Task: rec.Task, Service: rec.Service, Instance: rec.Instance, Resource: name, Value: rec.Values[name], Time: rec.Time}
		if err := s.Validate(); err != nil {
			return dst[:n], malformed(KindInvalid, "%v", err)
		}
		dst = append(dst, s)
	}
	return dst, nil
}

func decodeLegacy(dst []rightsize.Sample, r Record) ([]rightsize.Sample, error) {
	f := strings.Fields(string(r.Key))
	if len(f) != 3 {
		return dst, malformed(KindLegacy, "key %q: want \"<image_ID> <service> <RESOURCE>\"", clip.String(string(r.Key), 60))
	}
	res, ok := rightsize.LegacyResource(f[2])
	if !ok {
		lower := strings.ToLower(f[2])
		if rightsize.ValidResourceName(lower) != nil {
			return dst, malformed(KindLegacy, "key %q: resource %q", clip.String(string(r.Key), 60), clip.String(f[2], 60))
		}
		res = lower
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(string(r.Value)), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return dst, malformed(KindLegacy, "key %q: value %q is not a number", clip.String(string(r.Key), 60), clip.String(string(r.Value), 60))
	}
	if r.Timestamp.IsZero() {
		return dst, malformed(KindLegacy, "key %q: record has no timestamp", clip.String(string(r.Key), 60))
	}
	s := rightsize.Sample{Task: f[0], Service: f[1], Resource: res, Value: v, Time: r.Timestamp}
	if err := s.Validate(); err != nil {
		return dst, malformed(KindInvalid, "%v", err)
	}
	return append(dst, s), nil
}
