package plugin

import (
	"sort"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
)

// Live queries answer with one wide frame (a time field and a value field
// per series) because Grafana's streaming buffer appends pushed rows to the
// frame QueryData returned: the history and every pushed row must share one
// schema. Fields are ordered by their labels so a push lines up with the
// history without knowing it.

type seriesField struct {
	key    string
	labels labels.Labels
}

func fieldLabels(ls labels.Labels) data.Labels {
	out := data.Labels{}
	ls.Range(func(l labels.Label) {
		out[l.Name] = l.Value
	})
	return out
}

// legendName applies a "{{label}}" legend format, falling back to the
// series' labels in PromQL notation.
func legendName(legend string, ls labels.Labels) string {
	if legend == "" {
		return ls.String()
	}
	var b strings.Builder
	rest := legend
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			b.WriteString(rest)
			break
		}
		j := strings.Index(rest[i:], "}}")
		if j < 0 {
			b.WriteString(rest)
			break
		}
		b.WriteString(rest[:i])
		b.WriteString(ls.Get(strings.TrimSpace(rest[i+2 : i+j])))
		rest = rest[i+j+2:]
	}
	return b.String()
}

func newValueField(sf seriesField, legend string, n int) *data.Field {
	f := data.NewField("Value", fieldLabels(sf.labels), make([]*float64, n))
	f.Config = &data.FieldConfig{DisplayNameFromDS: legendName(legend, sf.labels)}
	return f
}

// wideFromMatrix joins a range query's series on their timestamps.
func wideFromMatrix(m promql.Matrix, legend string) (*data.Frame, []seriesField) {
	fields := make([]seriesField, 0, len(m))
	tsSet := map[int64]struct{}{}
	for _, s := range m {
		fields = append(fields, seriesField{key: s.Metric.String(), labels: s.Metric})
		for _, p := range s.Floats {
			tsSet[p.T] = struct{}{}
		}
	}
	order := make([]int, len(m))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return fields[order[a]].key < fields[order[b]].key })
	times := make([]int64, 0, len(tsSet))
	for t := range tsSet {
		times = append(times, t)
	}
	sort.Slice(times, func(a, b int) bool { return times[a] < times[b] })
	row := make(map[int64]int, len(times))
	tf := make([]time.Time, len(times))
	for i, t := range times {
		row[t] = i
		tf[i] = time.UnixMilli(t).UTC()
	}
	frame := data.NewFrame("", data.NewField("Time", nil, tf))
	sorted := make([]seriesField, 0, len(m))
	for _, idx := range order {
		sf := fields[idx]
		sorted = append(sorted, sf)
		f := newValueField(sf, legend, len(times))
		for _, p := range m[idx].Floats {
			v := p.F
			f.Set(row[p.T], &v)
		}
		frame.Fields = append(frame.Fields, f)
	}
	frame.SetMeta(&data.FrameMeta{Type: data.FrameTypeTimeSeriesWide, TypeVersion: data.FrameTypeVersion{0, 1}})
	return frame, sorted
}

// wideFromVector makes the one-row frame a live stream pushes.
func wideFromVector(v promql.Vector, ts time.Time, legend string) (*data.Frame, []seriesField) {
	sfs := make([]seriesField, len(v))
	order := make([]int, len(v))
	for i, s := range v {
		sfs[i] = seriesField{key: s.Metric.String(), labels: s.Metric}
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return sfs[order[a]].key < sfs[order[b]].key })
	frame := data.NewFrame("", data.NewField("Time", nil, []time.Time{ts.UTC()}))
	sorted := make([]seriesField, 0, len(v))
	for _, idx := range order {
		sf := sfs[idx]
		sorted = append(sorted, sf)
		f := newValueField(sf, legend, 1)
		val := v[idx].F
		f.Set(0, &val)
		frame.Fields = append(frame.Fields, f)
	}
	frame.SetMeta(&data.FrameMeta{Type: data.FrameTypeTimeSeriesWide, TypeVersion: data.FrameTypeVersion{0, 1}})
	return frame, sorted
}

func sameSeries(a, b []seriesField) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].key != b[i].key {
			return false
		}
	}
	return true
}
