package predict

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// A saved task-profile model is one JSON document:
//
//	{"format": "rightsize.task-profile", "version": 1,
//	 "kind": "regression" | "max" | "time-trend",
//	 "config": {...}, "model": {...}}
//
// Numbers are written in Go's shortest exact form, so a loaded model
// predicts exactly what the saved one did. A later version of rightsize
// reads the versions before it; a document of a newer version is refused
// with an error matching ErrProfileVersion.

// ProfileFormatVersion is the version SaveProfiler writes.
const ProfileFormatVersion = 1

const profileFormat = "rightsize.task-profile"

// ErrProfileVersion is matched by the error LoadProfiler returns for a
// document that is not a saved task-profile model or is of a version it
// does not know.
var ErrProfileVersion = errors.New("predict: not a task-profile model this version reads")

type profileDoc struct {
	Format  string          `json:"format"`
	Version int             `json:"version"`
	Kind    string          `json:"kind"`
	Config  json.RawMessage `json:"config,omitempty"`
	Model   json.RawMessage `json:"model"`
}

// SaveProfiler writes a fitted RegressionProfiler, MaxProfiler or
// TimeTrendProfiler to w. It returns ErrNotFitted for a model not fitted.
func SaveProfiler(w io.Writer, p TaskProfiler) error {
	doc := profileDoc{Format: profileFormat, Version: ProfileFormatVersion}
	var model, config any
	switch m := p.(type) {
	case *RegressionProfiler:
		if m.model == nil {
			return ErrNotFitted
		}
		doc.Kind, model, config = "regression", m.model, m.cfg
	case *MaxProfiler:
		if m.services == nil {
			return ErrNotFitted
		}
		doc.Kind, model = "max", m.services
	case *TimeTrendProfiler:
		if m.services == nil {
			return ErrNotFitted
		}
		doc.Kind, model = "time-trend", m.services
	default:
		return fmt.Errorf("predict: cannot save a %T", p)
	}
	var err error
	if doc.Model, err = json.Marshal(model); err != nil {
		return fmt.Errorf("predict: save %s profile: %w", doc.Kind, err)
	}
	if config != nil {
		if doc.Config, err = json.Marshal(config); err != nil {
			return fmt.Errorf("predict: save %s profile: %w", doc.Kind, err)
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("predict: save %s profile: %w", doc.Kind, err)
	}
	return nil
}

// LoadProfiler reads a model SaveProfiler wrote.
func LoadProfiler(r io.Reader) (TaskProfiler, error) {
	var doc profileDoc
	if err := json.NewDecoder(r).Decode(&doc); err != nil {
		return nil, fmt.Errorf("predict: load profile: %w", err)
	}
	if doc.Format != profileFormat || doc.Version < 1 || doc.Version > ProfileFormatVersion {
		return nil, fmt.Errorf("%w: format %q version %d (this reads %q up to version %d)",
			ErrProfileVersion, doc.Format, doc.Version, profileFormat, ProfileFormatVersion)
	}
	bad := func(err error) (TaskProfiler, error) {
		return nil, fmt.Errorf("predict: load %s profile: %w", doc.Kind, err)
	}
	switch doc.Kind {
	case "regression":
		m := &RegressionProfiler{}
		if err := json.Unmarshal(doc.Config, &m.cfg); err != nil {
			return bad(err)
		}
		if err := m.cfg.validate(); err != nil {
			return bad(err)
		}
		if err := json.Unmarshal(doc.Model, &m.model); err != nil {
			return bad(err)
		}
		if err := m.model.check(); err != nil {
			return bad(err)
		}
		return m, nil
	case "max":
		m := &MaxProfiler{}
		if err := json.Unmarshal(doc.Model, &m.services); err != nil {
			return bad(err)
		}
		if m.services == nil {
			return bad(errProfileShape)
		}
		return m, nil
	case "time-trend":
		m := &TimeTrendProfiler{}
		if err := json.Unmarshal(doc.Model, &m.services); err != nil {
			return bad(err)
		}
		if m.services == nil {
			return bad(errProfileShape)
		}
		return m, nil
	}
	return nil, fmt.Errorf("%w: unknown kind %q", ErrProfileVersion, doc.Kind)
}
