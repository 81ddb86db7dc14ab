package wire

import (
	"bytes"
	"slices"
	"strconv"
	"time"

	"github.com/rightsize/rightsize"
)

// A Decoder decodes records like Decode, faster: it parses the shape
// Encode writes with a scanner of its own (no reflection), falling back
// to encoding/json for anything it does not recognise (escapes, unknown
// or repeated fields, nulls, numbers it cannot take as they are), so
// that it accepts and yields exactly what Decode does. It also keeps one
// copy of each label and resource name it has seen, so that a stream of
// records from a few services allocates almost nothing per sample.
//
// A Decoder is not safe for concurrent use; use one per goroutine.
type Decoder struct {
	names map[string]string
	valid rightsize.Validator
	vals  []namedValue
}

type namedValue struct {
	name  string
	value float64
}

// maxInterned bounds the Decoder's name cache; past it, names are copied
// per record.
const maxInterned = 1 << 16

// Decode appends the samples of r to dst, as the package's Decode does.
func (d *Decoder) Decode(dst []rightsize.Sample, r Record) ([]rightsize.Sample, error) {
	if !isJSONRecord(r) {
		return Decode(dst, r)
	}
	if out, ok := d.decodeFast(dst, r); ok {
		return out, nil
	}
	return decodeJSON(dst, r)
}

// isJSONRecord reports whether Decode would read r as a rightsize JSON
// record with a known content type (or none, and a value that starts
// with '{').
func isJSONRecord(r Record) bool {
	for _, h := range r.Headers {
		if len(h.Key) == len(HeaderContentType) && bytes.EqualFold([]byte(h.Key), []byte(HeaderContentType)) {
			return bytes.HasPrefix(h.Value, []byte("application/vnd.rightsize.samples+json"))
		}
	}
	v := bytes.TrimSpace(r.Value)
	return len(v) > 0 && v[0] == '{'
}

func (d *Decoder) intern(b []byte) string {
	if s, ok := d.names[string(b)]; ok {
		return s
	}
	s := string(b)
	if d.names == nil {
		d.names = make(map[string]string)
	}
	if len(d.names) < maxInterned {
		d.names[s] = s
	}
	return s
}

// decodeFast decodes a record of the shape Encode writes. ok is false
// when the record is anything else, valid or not: the caller then
// decodes it with encoding/json, which decides.
func (d *Decoder) decodeFast(dst []rightsize.Sample, r Record) (out []rightsize.Sample, ok bool) {
	s := scanner{b: r.Value}
	s.space()
	if !s.byte('{') {
		return dst, false
	}
	var (
		v                       int
		task, service, instance []byte
		tm                      time.Time
		seen                    uint8
	)
	const (
		seenV = 1 << iota
		seenTask
		seenService
		seenInstance
		seenTime
		seenValues
	)
	d.vals = d.vals[:0]
	s.space()
	if s.peek() == '}' {
		return dst, false
	}
	for {
		key, ok := s.plainString()
		if !ok {
			return dst, false
		}
		s.space()
		if !s.byte(':') {
			return dst, false
		}
		s.space()
		var bit uint8
		switch string(key) {
		case "v":
			bit = seenV
			n, ok := s.smallInt()
			if !ok {
				return dst, false
			}
			v = n
		case "task":
			bit = seenTask
			if task, ok = s.plainString(); !ok {
				return dst, false
			}
		case "service":
			bit = seenService
			if service, ok = s.plainString(); !ok {
				return dst, false
			}
		case "instance":
			bit = seenInstance
			if instance, ok = s.plainString(); !ok {
				return dst, false
			}
		case "time":
			bit = seenTime
			start := s.i
			if _, ok = s.plainString(); !ok {
				return dst, false
			}
			// time.Time's own JSON decoding, as encoding/json would call it.
			if tm.UnmarshalJSON(s.b[start:s.i]) != nil {
				return dst, false
			}
		case "values":
			bit = seenValues
			if !d.values(&s) {
				return dst, false
			}
		default:
			return dst, false
		}
		if seen&bit != 0 {
			return dst, false // a repeated field: encoding/json decides
		}
		seen |= bit
		s.space()
		if s.byte(',') {
			s.space()
			continue
		}
		if !s.byte('}') {
			return dst, false
		}
		break
	}
	s.space()
	if s.i != len(s.b) {
		return dst, false
	}
	// The checks of decodeJSON, which reports these.
	if seen&(seenV|seenTime|seenValues) != seenV|seenTime|seenValues || v == 0 || v > Version || len(d.vals) == 0 {
		return dst, false
	}
	slices.SortFunc(d.vals, func(a, b namedValue) int { return cmpString(a.name, b.name) })
	for i := 1; i < len(d.vals); i++ {
		if d.vals[i].name == d.vals[i-1].name {
			return dst, false // a repeated resource: the last one wins in encoding/json
		}
	}
	n := len(dst)
	smp := rightsize.Sample{Task: d.intern(task), Service: d.intern(service), Instance: d.intern(instance), Time: tm}
	for _, nv := range d.vals {
		smp.Resource, smp.Value = nv.name, nv.value
		// Validate's rule, checking names only when they change.
		if d.valid.Validate(smp) != nil {
			return dst[:n], false
		}
		dst = append(dst, smp)
	}
	return dst, true
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// values scans the "values" object: resource names to numbers.
func (d *Decoder) values(s *scanner) bool {
	if !s.byte('{') {
		return false
	}
	s.space()
	if s.byte('}') {
		return true
	}
	for {
		name, ok := s.plainString()
		if !ok {
			return false
		}
		s.space()
		if !s.byte(':') {
			return false
		}
		s.space()
		f, ok := s.number()
		if !ok {
			return false
		}
		d.vals = append(d.vals, namedValue{d.intern(name), f})
		s.space()
		if s.byte(',') {
			s.space()
			continue
		}
		return s.byte('}')
	}
}

// scanner reads JSON tokens from b, from i on.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *scanner) byte(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// plainString reads a string without escapes or control characters and
// returns its bytes; ok is false for anything else (an escaped string is
// left to encoding/json).
func (s *scanner) plainString() ([]byte, bool) {
	if !s.byte('"') {
		return nil, false
	}
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			out := s.b[start:s.i]
			s.i++
			return out, true
		case c == '\\' || c < 0x20 || c >= 0x80:
			// Escapes, and non-ASCII text (which encoding/json checks
			// for valid UTF-8 and may replace), go the slow way.
			return nil, false
		}
		s.i++
	}
	return nil, false
}

// smallInt reads a JSON integer of up to 6 digits, as "v" holds.
func (s *scanner) smallInt() (int, bool) {
	start, n := s.i, 0
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' && s.i-start < 6 {
		n = n*10 + int(s.b[s.i]-'0')
		s.i++
	}
	if s.i == start || (s.b[start] == '0' && s.i-start > 1) {
		return 0, false
	}
	if s.i < len(s.b) {
		switch s.b[s.i] {
		case '.', 'e', 'E', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			return 0, false
		}
	}
	return n, true
}

// number reads a JSON number (RFC 8259's grammar) as a float64; ok is
// false for anything else, or one out of float64's range.
func (s *scanner) number() (float64, bool) {
	start := s.i
	b := s.b
	i := s.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return 0, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return 0, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(unsafeString(b[start:i]), 64)
	if err != nil {
		return 0, false
	}
	s.i = i
	return f, true
}
