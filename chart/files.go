package chart

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// WriteFiles writes each panel into dir as a PNG and an SVG file named
// after its service and resource ("resize_cpu.png", "resize_cpu.svg"),
// creating dir if needed, and returns the paths written. Characters that
// do not belong in a file name are replaced by '_' (and a short hash of
// the real name is added, so that two services never share a file).
func WriteFiles(dir string, panels []Panel, opts ...Option) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("chart: %w", err)
	}
	var paths []string
	for _, p := range panels {
		base := FileName(p.Service, p.Resource)
		for _, format := range []string{"png", "svg"} {
			var buf bytes.Buffer
			if err := Write(&buf, format, p, opts...); err != nil {
				return paths, err
			}
			path := filepath.Join(dir, base+"."+format)
			if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
				return paths, fmt.Errorf("chart: %w", err)
			}
			paths = append(paths, path)
		}
	}
	return paths, nil
}

// FileName returns the name, without extension, WriteFiles gives the
// chart of a service's resource.
func FileName(service, resource string) string {
	clean := func(s string) (string, bool) {
		changed := false
		out := strings.Map(func(r rune) rune {
			switch {
			case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.', r == '_':
				return r
			}
			changed = true
			return '_'
		}, s)
		if strings.HasPrefix(out, ".") {
			out, changed = "_"+out[1:], true
		}
		if len(out) > 80 {
			out, changed = out[:80], true
		}
		return out, changed
	}
	svc, c1 := clean(service)
	res, c2 := clean(resource)
	name := svc + "_" + res
	if c1 || c2 {
		sum := sha256.Sum256([]byte(service + "\x00" + resource))
		name += "-" + hex.EncodeToString(sum[:3])
	}
	return name
}
