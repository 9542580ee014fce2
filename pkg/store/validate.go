package store

import (
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/netlens/netlens/pkg/model"
)

// Limits on what one series may carry. Decoders already produce valid names;
// these bounds keep a misbehaving caller from filling the index with
// unbounded strings.
const (
	MaxLabels        = 64
	MaxNameLen       = 256
	MaxLabelValueLen = 4096
)

// validate checks what the TSDB would otherwise store without complaint:
// Prometheus-compatible names (so every stored metric can be selected in
// PromQL without quoting), non-empty valid UTF-8 values, strictly sorted
// unique label names, and a finite value. It runs for new series only (the
// series cache skips it for known ones), plus the value check per sample.
func validate(s *model.Sample) error {
	if s.Name == "" {
		return fmt.Errorf("empty metric name")
	}
	if len(s.Name) > MaxNameLen || !model.ValidMetricName(s.Name) {
		return fmt.Errorf("invalid metric name %q", truncate(s.Name, MaxNameLen))
	}
	if len(s.Labels) > MaxLabels {
		return fmt.Errorf("%s: %d labels, more than %d", s.Name, len(s.Labels), MaxLabels)
	}
	for i, l := range s.Labels {
		if l.Name == "" {
			return fmt.Errorf("%s: empty label name", s.Name)
		}
		if len(l.Name) > MaxNameLen || !model.ValidLabelName(l.Name) {
			return fmt.Errorf("%s: invalid label name %q", s.Name, truncate(l.Name, MaxNameLen))
		}
		if len(l.Name) >= 2 && l.Name[0] == '_' && l.Name[1] == '_' {
			// __name__ and friends are Prometheus' own.
			return fmt.Errorf("%s: reserved label name %q", s.Name, l.Name)
		}
		if i > 0 && s.Labels[i-1].Name >= l.Name {
			return fmt.Errorf("%s: labels not sorted or duplicated at %q", s.Name, l.Name)
		}
		if l.Value == "" {
			return fmt.Errorf("%s: label %q has an empty value", s.Name, l.Name)
		}
		if len(l.Value) > MaxLabelValueLen {
			return fmt.Errorf("%s: label %q value longer than %d bytes", s.Name, l.Name, MaxLabelValueLen)
		}
		if !utf8.ValidString(l.Value) {
			return fmt.Errorf("%s: label %q value is not valid UTF-8", s.Name, l.Name)
		}
	}
	return validateValue(s)
}

func validateValue(s *model.Sample) error {
	if math.IsNaN(s.Value) || math.IsInf(s.Value, 0) {
		// NaN would also let a caller forge Prometheus' stale markers.
		return fmt.Errorf("%s: value %v is not a finite number", s.Name, s.Value)
	}
	return nil
}
