package sample

import (
	"bytes"
	"fmt"

	"github.com/rightsize/rightsize/internal/clip"
)

// This file holds the parsers of cgroup files: pure functions over their
// content, tested on strings.

// parseKeyed returns the value of key in "key value" lines.
func parseKeyed(b []byte, key string) (uint64, error) {
	for len(b) > 0 {
		var line []byte
		line, b, _ = bytes.Cut(b, []byte{'\n'})
		k, v, ok := bytes.Cut(line, []byte{' '})
		if !ok || string(k) != key {
			continue
		}
		n, ok := atou(bytes.TrimSpace(v))
		if !ok {
			return 0, fmt.Errorf("%s is %q, not a number", key, v)
		}
		return n, nil
	}
	return 0, fmt.Errorf("no %s: %w", key, errNoData)
}

// parseSingle parses a file holding one number. "max" (no limit) is no
// data.
func parseSingle(b []byte) (uint64, error) {
	s := bytes.TrimSpace(b)
	if string(s) == "max" || len(s) == 0 {
		return 0, errNoData
	}
	n, ok := atou(s)
	if !ok {
		return 0, fmt.Errorf("%q is not a number", clip.Bytes(s, 60))
	}
	return n, nil
}

// parseIOStat sums rbytes and wbytes over the devices of a v2 io.stat:
//
//	8:0 rbytes=1459200 wbytes=314773504 rios=192 wios=353 dbytes=0 dios=0
//
// An empty file (no I/O yet) is zero, not missing data.
func parseIOStat(b []byte) (r, w uint64, err error) {
	for _, line := range bytes.Split(b, []byte{'\n'}) {
		f := bytes.Fields(line)
		for _, kv := range f[min(1, len(f)):] {
			k, v, ok := bytes.Cut(kv, []byte{'='})
			if !ok {
				continue
			}
			var dst *uint64
			switch string(k) {
			case "rbytes":
				dst = &r
			case "wbytes":
				dst = &w
			default:
				continue
			}
			n, ok := atou(v)
			if !ok {
				return 0, 0, fmt.Errorf("%s=%q is not a number", k, v)
			}
			*dst += n
		}
	}
	return r, w, nil
}

// parseBlkio sums the Read and Write bytes over the devices of a v1
// blkio.throttle.io_service_bytes(_recursive):
//
//	8:0 Read 1459200
//	8:0 Write 314773504
//	...
//	Total 316232704
func parseBlkio(b []byte) (r, w uint64, err error) {
	for _, line := range bytes.Split(b, []byte{'\n'}) {
		f := bytes.Fields(line)
		if len(f) != 3 {
			continue
		}
		var dst *uint64
		switch string(f[1]) {
		case "Read":
			dst = &r
		case "Write":
			dst = &w
		default:
			continue
		}
		n, ok := atou(f[2])
		if !ok {
			return 0, 0, fmt.Errorf("%s %s is %q, not a number", f[0], f[1], f[2])
		}
		*dst += n
	}
	return r, w, nil
}
