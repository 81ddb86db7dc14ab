package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rightsize/rightsize"
)

// PostgreSQL's binary formats of the chunk columns. Arrays are written
// and read in the binary array format (a header, then a length-prefixed
// element each) without pgx's generic array codecs, whose per-element
// interface conversions would cost the client more CPU than the server
// spends storing the chunks.
const (
	oidTimestamptz = 1184
	oidFloat8      = 701
	pgEpochMicro   = 946_684_800_000_000 // 2000-01-01, PostgreSQL's epoch, in Unix microseconds
)

// chunkColumns are the columns COPY writes, in the order chunkCopy
// encodes them.
const chunkColumns = `(series_id, bucket, count, sum, m2, min, max, first, last, sketch, times, vals)`

// chunkCopy encodes chunks in PostgreSQL's binary COPY format, a chunk at
// a time.
type chunkCopy struct {
	chunks []chunk
	buf    []byte
	out    []byte
	header bool
	done   bool
}

func (c *chunkCopy) Read(p []byte) (int, error) {
	for len(c.out) == 0 {
		b := c.buf[:0]
		switch {
		case !c.header:
			c.header = true
			b = append(b, "PGCOPY\n\xff\r\n\x00"...)
			b = binary.BigEndian.AppendUint32(b, 0) // flags
			b = binary.BigEndian.AppendUint32(b, 0) // header extension length
		case len(c.chunks) > 0:
			for len(c.chunks) > 0 && len(b) < 256<<10 {
				b = appendChunk(b, &c.chunks[0])
				c.chunks = c.chunks[1:]
			}
		case !c.done:
			c.done = true
			b = binary.BigEndian.AppendUint16(b, 0xffff) // trailer
		default:
			return 0, io.EOF
		}
		c.buf, c.out = b, b
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	return n, nil
}

func appendInt32(b []byte, v int32) []byte { return binary.BigEndian.AppendUint32(b, uint32(v)) }

func appendField8(b []byte, v uint64) []byte {
	b = appendInt32(b, 8)
	return binary.BigEndian.AppendUint64(b, v)
}

func pgTime(us int64) uint64 { return uint64(us - pgEpochMicro) }

func appendChunk(b []byte, c *chunk) []byte {
	b = binary.BigEndian.AppendUint16(b, 12)
	b = appendInt32(b, 4)
	b = appendInt32(b, int32(c.series))
	b = appendField8(b, pgTime(c.bucket))
	b = appendInt32(b, 4)
	b = appendInt32(b, int32(c.count))
	b = appendField8(b, math.Float64bits(c.sum))
	b = appendField8(b, math.Float64bits(c.m2))
	b = appendField8(b, math.Float64bits(c.min))
	b = appendField8(b, math.Float64bits(c.max))
	b = appendField8(b, pgTime(c.first))
	b = appendField8(b, pgTime(c.last))
	b = appendInt32(b, int32(len(c.sketch)))
	b = append(b, c.sketch...)
	n := len(c.times)
	b = appendInt32(b, int32(20+12*n))
	b = appendArrayHeader(b, oidTimestamptz, n)
	for _, t := range c.times {
		b = appendField8(b, pgTime(t))
	}
	b = appendInt32(b, int32(20+12*n))
	b = appendArrayHeader(b, oidFloat8, n)
	for _, v := range c.vals {
		b = appendField8(b, math.Float64bits(v))
	}
	return b
}

func appendArrayHeader(b []byte, oid uint32, n int) []byte {
	b = appendInt32(b, 1) // dimensions
	b = appendInt32(b, 0) // flags: no NULLs
	b = binary.BigEndian.AppendUint32(b, oid)
	b = appendInt32(b, int32(n))
	return appendInt32(b, 1) // lower bound
}

var errArray = errors.New("malformed array")

// decodeArray8 decodes a one-dimensional binary array of 8-byte elements
// without NULLs, calling fn with each element's bits.
func decodeArray8(b []byte, oid uint32, fn func(i int, bits uint64)) (int, error) {
	if len(b) < 12 {
		return 0, errArray
	}
	ndim := binary.BigEndian.Uint32(b)
	if ndim == 0 {
		return 0, nil
	}
	if ndim != 1 || len(b) < 20 || binary.BigEndian.Uint32(b[8:]) != oid {
		return 0, fmt.Errorf("%w: %d dimensions, element type %d", errArray, ndim, binary.BigEndian.Uint32(b[8:]))
	}
	n := int(binary.BigEndian.Uint32(b[12:]))
	b = b[20:]
	if len(b) != 12*n {
		return 0, fmt.Errorf("%w: %d bytes for %d elements", errArray, len(b), n)
	}
	for i := range n {
		if binary.BigEndian.Uint32(b) != 8 {
			return 0, fmt.Errorf("%w: element %d is not 8 bytes", errArray, i)
		}
		fn(i, binary.BigEndian.Uint64(b[4:]))
		b = b[12:]
	}
	return n, nil
}

func decodeTimes(b []byte) ([]int64, error) {
	if len(b) < 20 {
		return nil, errArray
	}
	out := make([]int64, binary.BigEndian.Uint32(b[12:]))
	_, err := decodeArray8(b, oidTimestamptz, func(i int, v uint64) { out[i] = int64(v) + pgEpochMicro })
	return out, err
}

func decodeFloats(b []byte) ([]float64, error) {
	if len(b) < 20 {
		return nil, errArray
	}
	out := make([]float64, binary.BigEndian.Uint32(b[12:]))
	_, err := decodeArray8(b, oidFloat8, func(i int, v uint64) { out[i] = math.Float64frombits(v) })
	return out, err
}

func be64(b []byte) uint64 { return binary.BigEndian.Uint64(b) }

// pgChunkRows reads chunks from raw binary result values; which columns
// the query has is said by its kind.
type pgChunkRows struct {
	rows   pgx.Rows
	values bool // (i, bucket, seq, times, vals) rather than stats
	cur    *chunk
	err    error
}

func (r *pgChunkRows) Next() bool {
	if r.err != nil || !r.rows.Next() {
		return false
	}
	raw := r.rows.RawValues()
	if r.values && len(raw) != 5 || !r.values && len(raw) != 11 {
		r.err = fmt.Errorf("read chunks: %d columns", len(raw))
		return false
	}
	for i, fd := range r.rows.FieldDescriptions() {
		if fd.Format != pgx.BinaryFormatCode || raw[i] == nil {
			r.err = fmt.Errorf("read chunks: column %s is NULL or not in binary format", fd.Name)
			return false
		}
	}
	c := &chunk{series: int64(be64(raw[0])) - 1, bucket: int64(be64(raw[1])) + pgEpochMicro, seq: int64(be64(raw[2]))}
	var err error
	if r.values {
		if c.times, err = decodeTimes(raw[3]); err == nil {
			c.vals, err = decodeFloats(raw[4])
		}
		if err == nil && len(c.times) != len(c.vals) {
			err = fmt.Errorf("%d times, %d values", len(c.times), len(c.vals))
		}
	} else {
		c.count = int64(int32(binary.BigEndian.Uint32(raw[3])))
		c.sum = math.Float64frombits(be64(raw[4]))
		c.m2 = math.Float64frombits(be64(raw[5]))
		c.min = math.Float64frombits(be64(raw[6]))
		c.max = math.Float64frombits(be64(raw[7]))
		c.first = int64(be64(raw[8])) + pgEpochMicro
		c.last = int64(be64(raw[9])) + pgEpochMicro
		c.sketch = append([]byte(nil), raw[10]...)
	}
	if err != nil {
		r.err = fmt.Errorf("read chunk of bucket %s: %w", time.UnixMicro(c.bucket).UTC(), err)
		return false
	}
	r.cur = c
	return true
}

func (r *pgChunkRows) Chunk() *chunk { return r.cur }

func (r *pgChunkRows) Err() error {
	if r.err != nil {
		return r.err
	}
	return r.rows.Err()
}

func (r *pgChunkRows) Close() { r.rows.Close() }

func (p *Postgres) bucketWidth() int64 { return p.width }

func pgTimes(us []int64) []time.Time {
	out := make([]time.Time, len(us))
	for i, t := range us {
		out[i] = time.UnixMicro(t)
	}
	return out
}

func int32s(v []int64) []int32 {
	out := make([]int32, len(v))
	for i, x := range v {
		out[i] = int32(x)
	}
	return out
}

func (p *Postgres) query(ctx context.Context, values bool, sql string, args ...any) (chunkRows, error) {
	rows, err := p.pool.Query(ctx, p.n.sql(sql), args...)
	if err != nil {
		return nil, err
	}
	return &pgChunkRows{rows: rows, values: values}, nil
}

func (p *Postgres) statsRows(ctx context.Context, ids []int64, lo, hi int64) (chunkRows, error) {
	return p.query(ctx, false, `
SELECT k.i, c.bucket, c.seq, c.count, c.sum, c.m2, c.min, c.max, c.first, c.last, c.sketch
FROM unnest($1::integer[]) WITH ORDINALITY AS k(id, i)
JOIN {chunks} c ON c.series_id = k.id
WHERE c.bucket >= $2 AND c.bucket < $3
ORDER BY k.i, c.bucket, c.seq`, int32s(ids), time.UnixMicro(lo), time.UnixMicro(hi))
}

func (p *Postgres) valuesAt(ctx context.Context, ids, buckets []int64) (chunkRows, error) {
	return p.query(ctx, true, `
SELECT k.i, c.bucket, c.seq, c.times, c.vals
FROM unnest($1::integer[], $2::timestamptz[]) WITH ORDINALITY AS k(id, bucket, i)
JOIN {chunks} c ON c.series_id = k.id AND c.bucket = k.bucket
ORDER BY k.i, c.seq`, int32s(ids), pgTimes(buckets))
}

func (p *Postgres) valuesRows(ctx context.Context, ids []int64, o1, o2 []int32, lo, hi int64) (chunkRows, error) {
	return p.query(ctx, true, `
SELECT k.i, c.bucket, c.seq, c.times, c.vals
FROM unnest($1::integer[], $2::integer[], $3::integer[]) WITH ORDINALITY AS k(id, o1, o2, i)
JOIN {chunks} c ON c.series_id = k.id
WHERE c.bucket >= $4 AND c.bucket < $5
ORDER BY k.o1, c.bucket, k.o2, c.seq`, int32s(ids), o1, o2, time.UnixMicro(lo), time.UnixMicro(hi))
}

// permanentPG marks err permanent when PostgreSQL refused the data itself
// (SQLSTATE class 22, data exception, or 23, integrity constraint
// violation): writing it again cannot succeed.
func permanentPG(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code[:2] == "22" || pe.Code[:2] == "23") {
		return rightsize.Permanent(err)
	}
	return err
}

// pgLabeledRows reads aggregateRows' columns: the series' id and labels,
// the chunk's stats and sketch, and its values where they were selected.
type pgLabeledRows struct {
	rows   pgx.Rows
	cur    *chunk
	labels seriesKey
	err    error
}

func (r *pgLabeledRows) Next() bool {
	if r.err != nil || !r.rows.Next() {
		return false
	}
	raw := r.rows.RawValues()
	if len(raw) != 17 {
		r.err = fmt.Errorf("read chunks: %d columns", len(raw))
		return false
	}
	for i, fd := range r.rows.FieldDescriptions() {
		if i >= 1 && i <= 4 {
			continue // labels: text, the same in either format
		}
		if fd.Format != pgx.BinaryFormatCode || raw[i] == nil && i < 15 {
			r.err = fmt.Errorf("read chunks: column %s is NULL or not in binary format", fd.Name)
			return false
		}
	}
	c := &chunk{
		series: int64(int32(binary.BigEndian.Uint32(raw[0]))),
		bucket: int64(be64(raw[5])) + pgEpochMicro,
		seq:    int64(be64(raw[6])),
		count:  int64(int32(binary.BigEndian.Uint32(raw[7]))),
		sum:    math.Float64frombits(be64(raw[8])),
		m2:     math.Float64frombits(be64(raw[9])),
		min:    math.Float64frombits(be64(raw[10])),
		max:    math.Float64frombits(be64(raw[11])),
		first:  int64(be64(raw[12])) + pgEpochMicro,
		last:   int64(be64(raw[13])) + pgEpochMicro,
		sketch: append([]byte(nil), raw[14]...),
	}
	if k := &r.labels; string(raw[1]) != k.task || string(raw[2]) != k.service || string(raw[3]) != k.instance || string(raw[4]) != k.resource {
		*k = seriesKey{task: string(raw[1]), service: string(raw[2]), instance: string(raw[3]), resource: string(raw[4])}
	}
	if raw[15] != nil {
		var err error
		if c.times, err = decodeTimes(raw[15]); err == nil {
			c.vals, err = decodeFloats(raw[16])
		}
		if err == nil && len(c.times) != len(c.vals) {
			err = fmt.Errorf("%d times, %d values", len(c.times), len(c.vals))
		}
		if err != nil {
			r.err = fmt.Errorf("read chunk of bucket %s: %w", time.UnixMicro(c.bucket).UTC(), err)
			return false
		}
	}
	r.cur = c
	return true
}

func (r *pgLabeledRows) Chunk() *chunk     { return r.cur }
func (r *pgLabeledRows) Labels() seriesKey { return r.labels }
func (r *pgLabeledRows) Close()            { r.rows.Close() }

func (r *pgLabeledRows) Err() error {
	if r.err != nil {
		return r.err
	}
	return r.rows.Err()
}

// labelWhere returns the conditions on the series table (alias s) that
// select what f's labels select.
func labelWhere(f rightsize.Filter, dollar bool) *where {
	w := &where{dollar: dollar}
	if dollar {
		w.add("s.service = ANY(?)", f.Services)
		if len(f.Resources) > 0 {
			w.add("s.resource = ANY(?)", f.Resources)
		}
	} else {
		in := func(col string, vals []string) {
			w.conds = append(w.conds, col+" IN ("+strings.TrimSuffix(strings.Repeat("?,", len(vals)), ",")+")")
			for _, v := range vals {
				w.args = append(w.args, v)
			}
		}
		in("s.service", f.Services)
		if len(f.Resources) > 0 {
			in("s.resource", f.Resources)
		}
	}
	if f.Task != "" {
		w.add("s.task_id = ?", f.Task)
	}
	if f.Instance != "" {
		w.add("s.instance = ?", f.Instance)
	}
	return w
}

func (p *Postgres) aggregateRows(ctx context.Context, f rightsize.Filter, lo, hi, edgeLo, edgeHi int64) (labeledRows, error) {
	w := labelWhere(f, true)
	w.add("c.bucket >= ?", time.UnixMicro(lo))
	w.add("c.bucket < ?", time.UnixMicro(hi))
	n := len(w.args)
	w.args = append(w.args, time.UnixMicro(edgeLo), time.UnixMicro(edgeHi))
	edge := fmt.Sprintf("c.bucket < $%d OR c.bucket > $%d", n+1, n+2)
	rows, err := p.pool.Query(ctx, p.n.sql(`
SELECT s.id, s.task_id, s.service, s.instance, s.resource,
       c.bucket, c.seq, c.count, c.sum, c.m2, c.min, c.max, c.first, c.last, c.sketch,
       CASE WHEN `+edge+` THEN c.times END, CASE WHEN `+edge+` THEN c.vals END
FROM {series} s JOIN {chunks} c ON c.series_id = s.id
WHERE `+w.String()), w.args...)
	if err != nil {
		return nil, err
	}
	return &pgLabeledRows{rows: rows}, nil
}
