// Package clip shortens text for error messages and logs, so that a
// hostile or huge input (a 1 MB record key, say) cannot flood them.
package clip

import "unicode/utf8"

// String returns s if it is at most n bytes long, else its first n bytes
// followed by "...". It never cuts a UTF-8 sequence in two (invalid bytes
// count as one byte each), so the result is safe to quote.
func String(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// Bytes is String for a byte slice.
func Bytes(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return String(string(b[:n+1]), n)
}
