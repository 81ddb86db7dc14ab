package wire

import (
	"math/big"
	"time"
)

// UnwrapKafkaTime undoes an overflow in the Kafka client's reading of a
// record timestamp. Kafka carries timestamps in milliseconds; franz-go
// turns them into a time.Time through int64 nanoseconds, which wraps for
// timestamps outside the years 1678 to 2262 (9999-12-31 becomes a day in
// 1816), and the wrapped time looks valid. A whole number of
// milliseconds never has a remainder in nanoseconds, and a wrapped one
// has (2^64 is not a multiple of 10^6), so t is returned as it is when it
// is whole milliseconds, and otherwise as the time the broker really
// held, which validation then refuses. (A timestamp more than about
// nine million years from 1970 could wrap to whole milliseconds; none
// is sent.)
func UnwrapKafkaTime(t time.Time) time.Time {
	ns := t.UnixNano()
	if ns%1e6 == 0 {
		return t
	}
	// ns = ms*1e6 - k*2^64 for the true ms and some k: find the k of
	// smallest size that makes ns + k*2^64 a whole number of ms.
	wrap := new(big.Int).Lsh(big.NewInt(1), 64)
	milli := big.NewInt(1e6)
	v, r := new(big.Int), new(big.Int)
	for k := int64(1); k <= 15625; k++ {
		for _, sk := range [2]int64{k, -k} {
			v.Mul(wrap, big.NewInt(sk))
			v.Add(v, big.NewInt(ns))
			if r.Mod(v, milli).Sign() == 0 {
				return time.UnixMilli(v.Div(v, milli).Int64())
			}
		}
	}
	return t
}
