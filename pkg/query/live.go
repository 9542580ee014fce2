package query

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
)

// A live panel gets one timeseries-wide frame (a time field, then one
// float64 field per series, sorted by labels) because Grafana's streaming
// buffer appends every pushed row to the frame QueryData returned: the
// history and each pushed row must share a schema, and sorting by labels
// lines a push up with the history without either knowing the other.

// LiveQuery is a live panel's query as its stream re-runs it.
type LiveQuery struct {
	Query Query
	// Expr is the PromQL the history ran, with Grafana's variables
	// substituted as they were then: the stream re-runs exactly it.
	Expr string `json:",omitempty"`
	// BucketMs is a live records query's bucket as the history resolved it
	// ("auto" follows the panel's interval); 0 for raw rows.
	BucketMs int64 `json:",omitempty"`
	// Flows are a live path query's flows as its history chose them (the
	// top N, or the flows named): the stream follows these.
	Flows []string `json:",omitempty"`
}

// LiveHistory runs q over tr as a range query (through the same fast path
// as Execute) and returns its history as one wide frame, plus what a
// stream needs to continue it.
func LiveHistory(ctx context.Context, st Store, q Query, tr backend.TimeRange, interval time.Duration, maxDataPoints int64) (*data.Frame, LiveQuery, error) {
	if q.Kind != "" && q.Kind != KindSeries {
		return nil, LiveQuery{}, fmt.Errorf("query %s: kind %q is not a series query", q.RefID, q.Kind)
	}
	step := Step(tr, interval, maxDataPoints)
	expr, err := BuildPromQL(q, Vars{Interval: step, ScrapeInterval: ScrapeIntervalOf(q.Source), Range: tr.Duration()})
	if err != nil {
		return nil, LiveQuery{}, err
	}
	lg, err := newLegend(q.LegendFormat)
	if err != nil {
		return nil, LiveQuery{}, err
	}
	start, end := tr.From.Truncate(step), tr.To
	var frame *data.Frame
	err = rangeQuery(ctx, st, expr, start, end, step, func(m promql.Matrix) error {
		frame = wideFromMatrix(dropAllNaN(m), expr, lg)
		return nil
	})
	if err != nil {
		return nil, LiveQuery{}, err
	}
	return frame, LiveQuery{Query: q, Expr: expr}, nil
}

// LiveRows evaluates a live query at ts and returns the one-row wide frame
// a stream pushes. When a series appears or goes away the frame's fields
// change, and the stream must send the schema again (SameSchema tells).
func LiveRows(ctx context.Context, st Store, lq LiveQuery, ts time.Time) (*data.Frame, error) {
	lg, err := newLegend(lq.Query.LegendFormat)
	if err != nil {
		return nil, err
	}
	v, err := st.InstantQuery(ctx, lq.Expr, ts)
	if err != nil {
		return nil, err
	}
	v = slices.DeleteFunc(v, func(s promql.Sample) bool { return math.IsNaN(s.F) })
	slices.SortFunc(v, func(a, b promql.Sample) int { return labels.Compare(a.Metric, b.Metric) })
	fields := make([]*data.Field, 0, len(v)+1)
	fields = append(fields, data.NewField(data.TimeSeriesTimeFieldName, nil, []time.Time{ts.UTC()}))
	for _, s := range v {
		f := data.NewField(valueName(s.Metric), fieldLabels(s.Metric), []*float64{ptr(s.F)})
		lg.apply(f, s.Metric)
		fields = append(fields, f)
	}
	f := data.NewFrame("", fields...)
	f.Meta = meta(data.FrameTypeTimeSeriesWide, lq.Expr)
	return f, nil
}

func ptr(v float64) *float64 { return &v }

// wideFromMatrix joins a range query's series on their timestamps; a series
// without a point at some step gets a null there.
func wideFromMatrix(m promql.Matrix, expr string, lg *legend) *data.Frame {
	order := make([]int, len(m))
	tsSet := map[int64]struct{}{}
	for i, s := range m {
		order[i] = i
		for _, p := range s.Floats {
			tsSet[p.T] = struct{}{}
		}
	}
	sort.Slice(order, func(a, b int) bool { return labels.Compare(m[order[a]].Metric, m[order[b]].Metric) < 0 })
	times := make([]int64, 0, len(tsSet))
	for t := range tsSet {
		times = append(times, t)
	}
	slices.Sort(times)
	row := make(map[int64]int, len(times))
	tf := make([]time.Time, len(times))
	for i, t := range times {
		row[t] = i
		tf[i] = time.UnixMilli(t).UTC()
	}
	fields := make([]*data.Field, 0, len(m)+1)
	fields = append(fields, data.NewField(data.TimeSeriesTimeFieldName, nil, tf))
	for _, idx := range order {
		s := m[idx]
		vals := make([]*float64, len(times))
		for _, p := range s.Floats {
			if !math.IsNaN(p.F) {
				vals[row[p.T]] = ptr(p.F)
			}
		}
		f := data.NewField(valueName(s.Metric), fieldLabels(s.Metric), vals)
		lg.apply(f, s.Metric)
		fields = append(fields, f)
	}
	f := data.NewFrame("", fields...)
	f.Meta = meta(data.FrameTypeTimeSeriesWide, expr)
	return f
}

// SameSchema reports whether two wide frames have the same series in the
// same order, so a push may leave the schema out.
func SameSchema(a, b *data.Frame) bool {
	if a == nil || b == nil || len(a.Fields) != len(b.Fields) {
		return false
	}
	for i := range a.Fields {
		if a.Fields[i].Name != b.Fields[i].Name || !a.Fields[i].Labels.Equals(b.Fields[i].Labels) {
			return false
		}
	}
	return true
}
