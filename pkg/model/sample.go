// Package model holds the normalized data that every decoder produces and
// every consumer (store, live hub, status board) reads. It knows nothing of
// wire formats, sockets or storage engines.
package model

// Kind says how a sample's value behaves over time. Grafana users choose
// rate() for counters and plot gauges as they are, so the kind travels with
// every sample and is kept by the store.
type Kind uint8

const (
	KindUnknown Kind = iota
	KindGauge
	KindCounter
)

func (k Kind) String() string {
	switch k {
	case KindGauge:
		return "gauge"
	case KindCounter:
		return "counter"
	default:
		return "unknown"
	}
}

// MarshalText spells the kind as the editors and files read it.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText reads what MarshalText wrote (and devices' spellings).
func (k *Kind) UnmarshalText(b []byte) error {
	*k = ParseKind(string(b))
	return nil
}

// ParseKind accepts the spellings devices use ("Counter", "GAUGE", ...).
func ParseKind(s string) Kind {
	switch s {
	case "Counter", "counter", "COUNTER":
		return KindCounter
	case "Gauge", "gauge", "GAUGE":
		return KindGauge
	default:
		return KindUnknown
	}
}

// Label is one name/value pair of a series identity.
type Label struct {
	Name, Value string
}

// Labels is kept sorted by name and free of duplicates and empty values;
// Sort normalizes a slice built in any order.
type Labels []Label

// Sort orders the labels by name, drops empty values, and keeps the last of
// any duplicated name, so callers can append overrides after defaults. It
// sorts in place without allocating: decoders call it for every metric,
// and insertion sort is stable and fast for the handful of labels a series
// has.
func (ls Labels) Sort() Labels {
	for i := 1; i < len(ls); i++ {
		for j := i; j > 0 && ls[j].Name < ls[j-1].Name; j-- {
			ls[j], ls[j-1] = ls[j-1], ls[j]
		}
	}
	out := ls[:0]
	for i, l := range ls {
		if i+1 < len(ls) && ls[i+1].Name == l.Name {
			continue
		}
		if l.Value == "" {
			continue
		}
		out = append(out, l)
	}
	return out
}

// Get returns the value of the named label, or "".
func (ls Labels) Get(name string) string {
	for _, l := range ls {
		if l.Name == name {
			return l.Value
		}
	}
	return ""
}

// MetricNameLabel is the label that carries a series' metric name, as in
// Prometheus.
const MetricNameLabel = "__name__"

// Sample is one value of one series at one time.
type Sample struct {
	// Name is the metric name, already valid for Prometheus ([a-zA-Z_:][a-zA-Z0-9_:]*).
	Name   string
	Labels Labels // sorted, without __name__
	// TimestampMs is milliseconds since the Unix epoch.
	TimestampMs int64
	Value       float64
	Kind        Kind
	// Help is an optional one-line description shown by the editors.
	Help string
	// Slot, when set, is the producer's slot for this series (see
	// SeriesSlot); nil costs the store its ordinary lookup.
	Slot *SeriesSlot
}

// LabelsFromPairs builds sorted labels from name, value, name, value, ...;
// an odd trailing name is ignored.
func LabelsFromPairs(kv ...string) Labels {
	ls := make(Labels, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		ls = append(ls, Label{Name: kv[i], Value: kv[i+1]})
	}
	return ls.Sort()
}

// ValidMetricName reports whether n is a Prometheus metric name
// ([a-zA-Z_:][a-zA-Z0-9_:]*).
func ValidMetricName(n string) bool {
	for i := 0; i < len(n); i++ {
		c := n[i]
		if c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9') {
			continue
		}
		return false
	}
	return n != ""
}

// ValidLabelName reports whether n is a Prometheus label name
// ([a-zA-Z_][a-zA-Z0-9_]*).
func ValidLabelName(n string) bool {
	for i := 0; i < len(n); i++ {
		c := n[i]
		if c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9') {
			continue
		}
		return false
	}
	return n != ""
}
