package predict

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
)

// floats is a slice of float64 that JSON holds compactly and exactly: the
// IEEE 754 bits, little-endian, in base64 (NaN and infinities included).
type floats []float64

func (f floats) MarshalJSON() ([]byte, error) {
	if f == nil {
		return []byte("null"), nil
	}
	b := make([]byte, 8*len(f))
	for i, v := range f {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(v))
	}
	return json.Marshal(base64.StdEncoding.EncodeToString(b))
}

func (f *floats) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		*f = nil
		return nil
	}
	b, err := decodeBase64(data)
	if err != nil {
		return err
	}
	if len(b)%8 != 0 {
		return errors.New("predict: saved floats: length not a multiple of 8")
	}
	out := make(floats, len(b)/8)
	for i := range out {
		out[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	*f = out
	return nil
}

// nanos is a slice of int64 (times in nanoseconds, bin numbers) that JSON
// holds compactly: differences from the one before, as varints, in
// base64.
type nanos []int64

func (n nanos) MarshalJSON() ([]byte, error) {
	if n == nil {
		return []byte("null"), nil
	}
	b := make([]byte, 0, 2*len(n))
	prev := int64(0)
	for _, v := range n {
		b = binary.AppendVarint(b, v-prev)
		prev = v
	}
	return json.Marshal(base64.StdEncoding.EncodeToString(b))
}

func (n *nanos) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		*n = nil
		return nil
	}
	b, err := decodeBase64(data)
	if err != nil {
		return err
	}
	out := nanos{}
	prev := int64(0)
	for len(b) > 0 {
		d, k := binary.Varint(b)
		if k <= 0 {
			return errors.New("predict: saved times: bad varint")
		}
		prev += d
		out = append(out, prev)
		b = b[k:]
	}
	*n = out
	return nil
}

func decodeBase64(data []byte) ([]byte, error) {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("predict: saved array: %w", err)
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("predict: saved array: %w", err)
	}
	return b, nil
}
