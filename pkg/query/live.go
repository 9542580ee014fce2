package query

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
)

// LiveRows evaluates a series query as an instant query at ts and returns
// one timeseries-wide frame with a single row: the time, then one float64
// field per series (sorted by labels, carrying them, named by the legend).
// A live stream pushes it as the newest point of every series in the panel.
//
// The set of fields follows the data: when a series appears or goes away
// the frame's schema changes, so the streaming side must send the schema
// again in that case (data.FrameJSON with the schema included). vars are
// the panel's variables (its interval sizes the rate window).
func LiveRows(ctx context.Context, st Store, q Query, ts time.Time, vars Vars) (*data.Frame, error) {
	if q.Kind != "" && q.Kind != KindSeries {
		return nil, fmt.Errorf("query %s: kind %q is not a series query", q.RefID, q.Kind)
	}
	expr, err := BuildPromQL(q, vars)
	if err != nil {
		return nil, err
	}
	legend, err := newLegend(q.LegendFormat)
	if err != nil {
		return nil, err
	}
	v, err := st.InstantQuery(ctx, expr, ts)
	if err != nil {
		return nil, err
	}
	v = slices.DeleteFunc(v, func(s promql.Sample) bool { return math.IsNaN(s.F) })
	slices.SortFunc(v, func(a, b promql.Sample) int { return labels.Compare(a.Metric, b.Metric) })

	fields := make([]*data.Field, 0, len(v)+1)
	fields = append(fields, data.NewField(data.TimeSeriesTimeFieldName, nil, []time.Time{ts.UTC()}))
	for _, s := range v {
		f := data.NewField(valueName(s.Metric), fieldLabels(s.Metric), []float64{s.F})
		legend.apply(f, s.Metric)
		fields = append(fields, f)
	}
	f := data.NewFrame("", fields...)
	f.Meta = meta(data.FrameTypeTimeSeriesWide, expr)
	return f, nil
}
