package wire

import "unsafe"

// unsafeString views b as a string without copying, for a parser that
// does not keep the result (strconv.ParseFloat).
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
