// Package ftd converts Cisco FTD streaming-telemetry batches (DataResponse
// messages of pkg/proto/ftdpb) into normalized samples. It is a pure
// function of its input: no sockets, clocks or globals. The receiver
// (pkg/ingest/ftd) owns the gRPC streams and hands each batch here.
//
// The naming rules below are the product's contract; dashboards, editors and
// alert rules are written against them:
//
//   - name: "ftd_" + family + "_" + the value of the "description" tag, each
//     sanitized (characters outside [a-zA-Z0-9_] become "_", runs of "_"
//     collapse, lower case). Family "cpu" and description "cpu_utilisation"
//     give ftd_cpu_cpu_utilisation.
//   - labels: device (uuid), hostname (from the control handshake), family
//     (sanitized), and every other tag with its key sanitized the same way
//     (a leading digit gets a "_" prefix). The description tag is consumed
//     by the name, a uuid tag equal to the device is dropped, empty values
//     are dropped. Keys that would shadow device/hostname/family, or that
//     start with "__" (reserved by Prometheus), become "tag_<key>".
//   - kind: metricType "Counter" or "Gauge". Any other type is kept as a
//     gauge and counted in Summary.UnknownType: a gauge is the reading
//     that never invents a rate, and dropping the value would hide data
//     the device did send.
//   - timestamp: milliseconds since the epoch; 0 means "when received".
//
// Convert works on a decoded message; ConvertWire gives the same result
// straight from the protobuf bytes, without the per-tag objects and
// strings that protobuf decoding allocates, and is what the receiver uses.
package ftd

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/proto/ftdpb"
	"github.com/netlens/netlens/pkg/status"
)

// Limits bound what one metric may carry. A metric past a limit is rejected
// on its own; the rest of its batch is kept.
type Limits struct {
	MaxTags       int // tags on one metric
	MaxKeyBytes   int // bytes of one tag key, family or description
	MaxValueBytes int // bytes of one tag value
}

// DefaultLimits are generous for real FTD metrics (about eight tags with
// short values) while keeping one hostile metric from creating huge series.
func DefaultLimits() Limits {
	return Limits{MaxTags: 64, MaxKeyBytes: 256, MaxValueBytes: 2048}
}

// The accepted timestamp range, in milliseconds: 2000-01-01 to 2200-01-01.
// FTD sends milliseconds (the guide's example is 1718257445000); a value in
// seconds lands in 1970 and one in microseconds past year 50000, so both
// fall outside and are rejected rather than stored at a wrong time.
const (
	MinTimestampMs int64 = 946684800000
	MaxTimestampMs int64 = 7258118400000
)

// Reason says why a metric was rejected. The strings are stable: they are
// counter names on the status board.
type Reason uint8

const (
	ReasonMissingFamily Reason = iota
	ReasonMissingDescription
	ReasonNonFinite
	ReasonTooManyTags
	ReasonTooLong
	ReasonInvalidLabelName
	ReasonInvalidUTF8
	ReasonTimestamp
	ReasonNilMetric
	numReasons
)

var reasonNames = [numReasons]string{
	ReasonMissingFamily:      "missing_family",
	ReasonMissingDescription: "missing_description",
	ReasonNonFinite:          "non_finite_value",
	ReasonTooManyTags:        "too_many_tags",
	ReasonTooLong:            "too_long",
	ReasonInvalidLabelName:   "invalid_label_name",
	ReasonInvalidUTF8:        "invalid_utf8",
	ReasonTimestamp:          "timestamp_out_of_range",
	ReasonNilMetric:          "nil_metric",
}

func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return fmt.Sprintf("reason_%d", r)
}

// Reasons lists every reason, for callers that publish one counter each.
func Reasons() []Reason {
	out := make([]Reason, numReasons)
	for i := range out {
		out[i] = Reason(i)
	}
	return out
}

// MetricError describes one rejected metric.
type MetricError struct {
	Index  int // position in DataResponse.metrics
	Family string
	Reason Reason
	Detail string
}

func (e *MetricError) Error() string {
	if e.Family != "" {
		return fmt.Sprintf("metric %d (family %q) rejected: %s: %s", e.Index, e.Family, e.Reason, e.Detail)
	}
	return fmt.Sprintf("metric %d rejected: %s: %s", e.Index, e.Reason, e.Detail)
}

// Category is where a rejected metric lands on the device's status record.
func (e *MetricError) Category() status.Category { return status.CatInvalidArgument }

// BatchError is a problem with the batch as a whole; no sample is produced.
type BatchError struct {
	Category status.Category
	Msg      string
	// Malformed: the bytes were not a DataResponse at all.
	Malformed bool
}

func (e *BatchError) Error() string { return e.Msg }

// ErrNoUUID is returned for a batch without ftd_uuid: the device's identity
// is missing, which the FTD guide files under system errors.
var ErrNoUUID = &BatchError{Category: status.CatSystem, Msg: "batch has no ftd_uuid: the device's telemetry identity is not configured"}

// Summary tells the receiver what to record on the device's status record.
type Summary struct {
	Kept     int
	Rejected int
	// ByReason counts rejects, indexed by Reason.
	ByReason [numReasons]int
	// First is the first rejected metric, nil when none was.
	First *MetricError
	// UnknownType counts metrics whose metricType was neither Counter nor
	// Gauge; they were kept as gauges. FirstUnknownType is one such type.
	UnknownType      int
	FirstUnknownType string
}

// Identity is the device as the control handshake introduced it.
type Identity struct {
	UUID     string
	Hostname string
}

// Converter holds caches that spare the per-metric allocation of names that
// repeat in every batch (metric names, sanitized tag keys). It is not safe
// for concurrent use: give each data stream its own. Its output does not
// depend on the cache's contents.
type Converter struct {
	limits Limits
	names  map[nameKey]cachedName
	keys   map[string]string
	values map[string]string
	buf    []byte
	tags   []tagView // reused by every metric's view
}

type nameKey struct{ family, description string }

// cachedName is a metric name and its family label.
type cachedName struct {
	name, family string
}

// cacheEntries bounds each cache so a device inventing new families or tag
// keys in every batch cannot grow memory without limit.
const cacheEntries = 4096

// valueCacheEntries bounds the interned tag values of one converter.
const valueCacheEntries = 16384

// NewConverter returns a converter applying limits; zero fields take the
// defaults.
func NewConverter(limits Limits) *Converter {
	def := DefaultLimits()
	if limits.MaxTags <= 0 {
		limits.MaxTags = def.MaxTags
	}
	if limits.MaxKeyBytes <= 0 {
		limits.MaxKeyBytes = def.MaxKeyBytes
	}
	if limits.MaxValueBytes <= 0 {
		limits.MaxValueBytes = def.MaxValueBytes
	}
	return &Converter{limits: limits, names: map[nameKey]cachedName{}, keys: map[string]string{}, values: map[string]string{}}
}

// Limits returns the limits in force.
func (c *Converter) Limits() Limits { return c.limits }

// Convert converts resp into samples appended to dst[:0]. id comes from the
// control handshake; an empty id.UUID takes the batch's own. receivedMs
// stands in for metrics stamped 0. Rejected metrics are left out and
// described in the Summary; the error is for the whole batch (a
// *BatchError) and then no sample is produced.
//
// Reusing dst across batches saves the sample slice; each call allocates
// one label array shared by its samples, so samples handed to a consumer
// that keeps them stay intact as long as dst itself is not reused.
func (c *Converter) Convert(dst []model.Sample, id Identity, resp *ftdpb.DataResponse, receivedMs int64) ([]model.Sample, Summary, error) {
	metrics := resp.GetMetrics()
	// One label array for the whole batch: three fixed labels plus the tags
	// of each metric, clipped per sample so appends never cross samples.
	labels := 0
	for _, m := range metrics {
		if n := len(m.GetTags()); n <= c.limits.MaxTags {
			labels += 3 + n
		}
	}
	b, err := c.begin(dst, id, resp.GetFtdUuid(), false, receivedMs, len(metrics), labels)
	if err != nil {
		return dst[:0], Summary{}, err
	}
	for i, m := range metrics {
		v := metricView{tags: c.tags[:0]}
		if m == nil {
			v.isNil = true
		} else {
			v.ts, v.family, v.value, v.typ = m.GetTimestamp(), m.GetMetricFamily(), m.GetValue(), m.GetMetricType()
			v.ntags = len(m.GetTags())
			for _, t := range m.GetTags() {
				if len(v.tags) == c.limits.MaxTags {
					break // past the limit the metric is rejected on the count
				}
				if t != nil {
					v.tags = append(v.tags, tagView{t.GetKey(), t.GetValue()})
				}
			}
		}
		c.tags = v.tags[:0]
		b.add(i, &v)
	}
	return b.dst, b.sum, nil
}

// metricView is one metric's fields, taken from a message (Convert) or
// straight from the wire (ConvertWire). With borrowed set its strings alias
// a buffer the caller will reuse: whatever a sample or an error keeps is
// copied or interned first.
type metricView struct {
	isNil       bool
	ts          int64
	family, typ string
	value       float64
	tags        []tagView // at most Limits.MaxTags of them
	ntags       int       // how many the metric had
}

type tagView struct{ key, value string }

// batch is the state of one conversion.
type batch struct {
	c        *Converter
	uuid     string
	hostname string
	// borrowed: the views alias the caller's buffer, and their strings
	// were checked for valid UTF-8 while parsing.
	borrowed   bool
	receivedMs int64
	dst        []model.Sample
	arena      []model.Label
	sum        Summary
}

// begin checks the batch's identity and sizes its buffers: metrics is how
// many metrics to expect, labels how many labels they will carry (an
// estimate is fine; the arena grows in chunks).
func (c *Converter) begin(dst []model.Sample, id Identity, uuid string, borrowed bool, receivedMs int64, metrics, labels int) (batch, error) {
	if uuid == "" {
		return batch{}, ErrNoUUID
	}
	if !utf8.ValidString(uuid) || len(uuid) > c.limits.MaxValueBytes {
		return batch{}, &BatchError{Category: status.CatSystem, Msg: "batch ftd_uuid is not a valid device identity (invalid UTF-8 or too long)"}
	}
	if id.UUID != "" && id.UUID != uuid {
		return batch{}, &BatchError{Category: status.CatStreaming, Msg: fmt.Sprintf("batch ftd_uuid %q does not match the session's device %q", uuid, id.UUID)}
	}
	if id.UUID != "" {
		uuid = id.UUID // the handshake's copy, which no buffer reuse can touch
	} else if borrowed {
		uuid = strings.Clone(uuid)
	}
	hostname := id.Hostname
	if !utf8.ValidString(hostname) || len(hostname) > c.limits.MaxValueBytes {
		hostname = ""
	}
	if cap(dst) < metrics {
		dst = make([]model.Sample, 0, metrics)
	}
	return batch{
		c: c, uuid: uuid, hostname: hostname, borrowed: borrowed, receivedMs: receivedMs,
		dst: dst[:0], arena: make([]model.Label, 0, labels),
	}, nil
}

// add converts metric i of the batch.
func (b *batch) add(i int, v *metricView) {
	if v.ntags <= b.c.limits.MaxTags && cap(b.arena)-len(b.arena) < 3+len(v.tags) {
		// Earlier samples keep the old array; the new one takes the rest.
		b.arena = make([]model.Label, 0, max(2*cap(b.arena), 3+len(v.tags), 64))
	}
	start := len(b.arena)
	s, reason, err := b.c.metric(b.arena, b, v)
	if reason != accepted {
		b.sum.Rejected++
		b.sum.ByReason[reason]++
		if err != nil {
			err.Index = i
			b.sum.First = err
		}
		return
	}
	if s.Kind == model.KindUnknown {
		if b.sum.UnknownType == 0 {
			b.sum.FirstUnknownType = strings.Clone(v.typ)
		}
		b.sum.UnknownType++
		s.Kind = model.KindGauge
	}
	b.arena = b.arena[:start+len(s.Labels)]
	b.dst = append(b.dst, s)
	b.sum.Kept++
}

// metric converts one metric, writing its labels into arena's spare
// capacity (add made room). It returns a sample whose Labels alias it.
//
// A rejected metric returns its reason, and a *MetricError only while the
// batch has no first error yet: a batch of thousands of bad metrics must
// not cost an error value and a formatted message each.
func (c *Converter) metric(arena []model.Label, b *batch, m *metricView) (model.Sample, Reason, *MetricError) {
	family := m.family
	reject := func(r Reason, format string, args ...any) (model.Sample, Reason, *MetricError) {
		if b.sum.First != nil {
			return model.Sample{}, r, nil
		}
		f := family
		if len(f) > 64 || !utf8.ValidString(f) {
			f = ""
		}
		return model.Sample{}, r, &MetricError{Family: strings.Clone(f), Reason: r, Detail: fmt.Sprintf(format, args...)}
	}
	if m.isNil {
		return reject(ReasonNilMetric, "empty metric entry")
	}
	if family == "" {
		return reject(ReasonMissingFamily, "metricFamily is empty")
	}
	if len(family) > c.limits.MaxKeyBytes {
		return reject(ReasonTooLong, "metricFamily is %d bytes, limit %d", len(family), c.limits.MaxKeyBytes)
	}
	if !utf8.ValidString(family) {
		return reject(ReasonInvalidUTF8, "metricFamily is not valid UTF-8")
	}
	if m.ntags > c.limits.MaxTags {
		return reject(ReasonTooManyTags, "%d tags, limit %d", m.ntags, c.limits.MaxTags)
	}
	v := m.value
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return reject(ReasonNonFinite, "value %v is not a finite number", v)
	}
	ts := m.ts
	if ts == 0 {
		ts = b.receivedMs
	}
	if ts < MinTimestampMs || ts > MaxTimestampMs {
		return reject(ReasonTimestamp, "timestamp %d is outside years 2000..2200 in milliseconds since the epoch (seconds or microseconds sent?)", ts)
	}
	if !hasAlnum(family) {
		return reject(ReasonInvalidLabelName, "metricFamily %q has no letter or digit", family)
	}

	labels := arena[len(arena):cap(arena)][:0]
	labels = append(labels,
		model.Label{Name: "device", Value: b.uuid},
		model.Label{Name: "hostname", Value: b.hostname},
		model.Label{Name: "family", Value: ""}, // filled once the name is known
	)
	description := ""
	for _, t := range m.tags {
		key, val := t.key, t.value
		if len(key) > c.limits.MaxKeyBytes || len(val) > c.limits.MaxValueBytes {
			return reject(ReasonTooLong, "tag %.32q is %d+%d bytes, limits %d key / %d value", key, len(key), len(val), c.limits.MaxKeyBytes, c.limits.MaxValueBytes)
		}
		if !b.borrowed && (!utf8.ValidString(key) || !utf8.ValidString(val)) {
			return reject(ReasonInvalidUTF8, "tag key or value is not valid UTF-8")
		}
		switch {
		case key == "description":
			description = val
			continue
		case key == "uuid" && val == b.uuid:
			continue
		case val == "":
			continue
		}
		name, ok := c.labelName(key)
		if !ok {
			return reject(ReasonInvalidLabelName, "tag key %q has no letter or digit", key)
		}
		if b.borrowed {
			val = c.intern(val)
		}
		labels = append(labels, model.Label{Name: name, Value: val})
	}
	if description == "" {
		return reject(ReasonMissingDescription, "no description tag to name the metric")
	}
	if len(description) > c.limits.MaxKeyBytes {
		return reject(ReasonTooLong, "description is %d bytes, limit %d", len(description), c.limits.MaxKeyBytes)
	}
	if !hasAlnum(description) {
		return reject(ReasonInvalidLabelName, "description %q has no letter or digit", description)
	}
	name, famLabel := c.metricName(family, description)
	labels[2].Value = famLabel
	labels = model.Labels(labels).Sort()
	// Clip the capacity so a consumer appending to one sample's labels
	// cannot write over the next sample's.
	labels = labels[:len(labels):len(labels)]
	return model.Sample{
		Name:        name,
		Labels:      labels,
		TimestampMs: ts,
		Value:       v,
		Kind:        model.ParseKind(m.typ),
	}, accepted, nil
}

// accepted is metric's Reason for a metric that was not rejected.
const accepted = numReasons

// intern returns a string equal to s that no buffer reuse can change,
// sharing one copy among the batches that repeat it (interface names,
// processes, addresses: nearly every tag value repeats every interval).
func (c *Converter) intern(s string) string {
	if v, ok := c.values[s]; ok {
		return v
	}
	v := strings.Clone(s)
	if len(c.values) >= valueCacheEntries {
		clear(c.values)
	}
	c.values[v] = v
	return v
}

// metricName returns the metric name and the family label, cached by the
// raw family and description.
func (c *Converter) metricName(family, description string) (string, string) {
	k := nameKey{family, description}
	n, ok := c.names[k]
	if !ok {
		c.buf = append(c.buf[:0], "ftd_"...)
		c.buf = appendSanitized(c.buf, family)
		famEnd := len(c.buf)
		c.buf = appendSanitized(c.buf, "_")
		c.buf = appendSanitized(c.buf, description)
		n.name = string(c.buf)
		// Usually the family label is a substring of the name and costs no
		// second string; a family starting with "_" lost it in the join.
		n.family = n.name[len("ftd_"):famEnd]
		if f := Sanitize(family); f != n.family {
			n.family = f
		}
		if len(c.names) >= cacheEntries {
			clear(c.names)
		}
		c.names[nameKey{strings.Clone(family), strings.Clone(description)}] = n
	}
	return n.name, n.family
}

// labelName maps a tag key to its label name, cached by the raw key.
func (c *Converter) labelName(key string) (string, bool) {
	if n, ok := c.keys[key]; ok {
		return n, n != ""
	}
	n, ok := LabelName(key)
	if len(c.keys) >= cacheEntries {
		clear(c.keys)
	}
	c.keys[strings.Clone(key)] = n
	return n, ok
}

// reserved label names a tag may not take: they carry the device identity,
// the family, or (from "__") Prometheus' internal labels.
func reserved(name string) bool {
	return name == "device" || name == "hostname" || name == "family"
}

// LabelName returns the label a tag key becomes, and false when the key has
// no letter or digit to name a label with.
func LabelName(key string) (string, bool) {
	if !hasAlnum(key) {
		return "", false
	}
	b := appendSanitized(make([]byte, 0, len(key)+5), key)
	if b[0] >= '0' && b[0] <= '9' {
		b = append([]byte{'_'}, b...)
	}
	if reserved(string(b)) || strings.HasPrefix(key, "__") {
		b = appendSanitized([]byte("tag_"), key)
	}
	return string(b), true
}

// Sanitize applies the naming rule to one part of a name: characters
// outside [a-zA-Z0-9_] become "_", runs of "_" collapse, letters are lower
// case.
func Sanitize(s string) string {
	return string(appendSanitized(nil, s))
}

// appendSanitized appends the sanitized s to b, collapsing an "_" run that
// continues one already at the end of b (so "ftd_" + "_x" gives "ftd_x").
func appendSanitized(b []byte, s string) []byte {
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b = append(b, byte(r))
		case r >= 'A' && r <= 'Z':
			b = append(b, byte(r)+('a'-'A'))
		default:
			if len(b) > 0 && b[len(b)-1] == '_' {
				continue
			}
			b = append(b, '_')
		}
	}
	return b
}

// hasAlnum reports whether s has an ASCII letter or digit, that is whether
// it still names anything once sanitized.
func hasAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			return true
		}
	}
	return false
}

// IsBatchError reports whether err is a whole-batch error and its category.
func IsBatchError(err error) (status.Category, bool) {
	var be *BatchError
	if errors.As(err, &be) {
		return be.Category, true
	}
	return "", false
}
