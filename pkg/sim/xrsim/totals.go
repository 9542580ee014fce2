package xrsim

import (
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Totals is what a router has put on the wire; only messages written whole
// count, so a test can compare them with what the collector stored. Series
// and state are named by the contract's rule (MetricName, LabelName) with
// the labels the collector can know from the wire: device (the router's
// name, or for PDT key-value, which carries none, the sender's IP
// address), path (as sent), policy and subscription (PDT: the policy's
// name and the path's collection group, which the collector takes from its
// copy of the policy file; MDT: the subscription the message names) and
// one label per naming parameter.
type Totals struct {
	Connections uint64 // TCP connections made (1 for UDP)
	Messages    uint64 // messages (UDP: datagrams; each carries one path's table)
	Resets      uint64 // RESET_COMPRESSOR frames (PDT v2) or reset TLVs (v1)
	WireBytes   uint64 // framed bytes written (UDP: datagram payloads)
	Rows        uint64
	Leaves      uint64 // leaf values, numeric and string

	ByPath   map[string]uint64      // messages per path, as the message names it
	ByMetric map[string]uint64      // numeric leaf values per metric name
	Series   map[string]SeriesValue // last value of every series, by SeriesKey
	States   map[string]StateValue  // last value of every string leaf, by StateKey

	Errors    uint64 // failed dials and writes; what they carried is not counted above
	LastError string
}

// SeriesValue is the last value sent of one series.
type SeriesValue struct {
	Metric      string
	Labels      map[string]string // shared between values: do not modify
	Value       float64
	TimestampMs int64
}

// StateValue is the last value sent of one string leaf (the collector's
// xr_state records).
type StateValue struct {
	Device, Path, Policy, Subscription string
	Keys                               map[string]string // label name → naming value; shared, do not modify
	Leaf                               string            // leaf name as sent
	Value                              string
	TimestampMs                        int64
}

// SeriesKey is the canonical form metric{label="value",...} with labels
// sorted by name, the key of Totals.Series.
func SeriesKey(metric string, labels map[string]string) string {
	var b strings.Builder
	b.WriteString(metric)
	b.WriteByte('{')
	for i, k := range slices.Sorted(maps.Keys(labels)) {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(strconv.Quote(labels[k]))
	}
	b.WriteByte('}')
	return b.String()
}

// StateKey is the key of Totals.States.
func StateKey(device, path string, keys map[string]string, leaf string) string {
	return SeriesKey(device+"|"+path+"|"+leaf, keys)
}

func (t *Totals) clone() Totals {
	c := *t
	c.ByPath = maps.Clone(t.ByPath)
	c.ByMetric = maps.Clone(t.ByMetric)
	c.Series = maps.Clone(t.Series)
	c.States = maps.Clone(t.States)
	return c
}

// Add sums o into t, for a simulator's several routers. Series and states
// of different routers have different device labels, so they merge.
func (t *Totals) Add(o Totals) {
	t.Connections += o.Connections
	t.Messages += o.Messages
	t.Resets += o.Resets
	t.WireBytes += o.WireBytes
	t.Rows += o.Rows
	t.Leaves += o.Leaves
	t.Errors += o.Errors
	if t.LastError == "" {
		t.LastError = o.LastError
	}
	t.ByPath = addCounts(t.ByPath, o.ByPath)
	t.ByMetric = addCounts(t.ByMetric, o.ByMetric)
	if len(o.Series) > 0 && t.Series == nil {
		t.Series = map[string]SeriesValue{}
	}
	maps.Copy(t.Series, o.Series)
	if len(o.States) > 0 && t.States == nil {
		t.States = map[string]StateValue{}
	}
	maps.Copy(t.States, o.States)
}

func addCounts(dst, src map[string]uint64) map[string]uint64 {
	if len(src) > 0 && dst == nil {
		dst = map[string]uint64{}
	}
	for k, v := range src {
		dst[k] += v
	}
	return dst
}

// labelsOf is what the collector knows about a message: the fixed labels
// and the rows' naming parameters.
type labelsOf struct {
	device, path, policy, subscription string
	gen                                Generation
}

// book adds one written message's rows to the totals. The caller holds the lock.
// names caches metric names by path and leaf; the rule is not free and
// the same few hundred names repeat in every message.
type names map[[2]string]string

func (n names) metric(path, leaf string) string {
	k := [2]string{path, leaf}
	m, ok := n[k]
	if !ok {
		if m, ok = MetricName(path, leaf); !ok {
			m = ""
		}
		n[k] = m
	}
	return m
}

func (t *Totals) book(l labelsOf, p *Path, rows []Row, wire int, cache names) {
	t.Messages++
	t.WireBytes += uint64(wire)
	t.ByPath[l.path]++
	for ri := range rows {
		r := &rows[ri]
		t.Rows++
		keys := make(map[string]string, len(p.Keys))
		for i, k := range p.Keys {
			name := k.PDT
			if l.gen == GenMDT {
				name = k.MDT
			}
			keys[LabelName(name)] = r.Keys[i]
		}
		labels := maps.Clone(keys)
		labels["device"] = l.device
		labels["path"] = l.path
		if l.policy != "" {
			labels["policy"] = l.policy
		}
		if l.subscription != "" {
			labels["subscription"] = l.subscription
		}
		rowKey := SeriesKey("", labels)
		for i, leaf := range p.Leaves {
			t.Leaves++
			name := leaf.PDT
			if l.gen == GenMDT {
				name = leaf.MDT
			}
			v := r.Values[i]
			if leaf.Type == TypeString {
				t.States[StateKey(l.device, l.path, keys, name)] = StateValue{
					Device: l.device, Path: l.path, Policy: l.policy, Subscription: l.subscription,
					Keys: keys, Leaf: name, Value: v.S, TimestampMs: r.TimestampMs,
				}
				continue
			}
			metric := cache.metric(l.path, name)
			if metric == "" {
				continue
			}
			f := float64(v.U)
			if leaf.Type == TypeBool {
				f = 0
				if v.B {
					f = 1
				}
			}
			t.ByMetric[metric]++
			t.Series[metric+rowKey] = SeriesValue{Metric: metric, Labels: labels, Value: f, TimestampMs: r.TimestampMs}
		}
	}
}
