package query

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
)

// Store is what execution needs from the series store (*store.Store
// implements it); tests and the live path may pass their own.
type Store interface {
	// RangeQueryFunc calls fn with the result, which fn must not keep.
	RangeQueryFunc(ctx context.Context, expr string, start, end time.Time, step time.Duration, fn func(promql.Matrix) error) error
	InstantQuery(ctx context.Context, expr string, ts time.Time) (promql.Vector, error)
}

// MaxPointsPerSeries bounds the steps of a range query, as Prometheus' HTTP
// API does (11,000), whatever maxDataPoints asks for.
const MaxPointsPerSeries = 11000

// Step returns the resolution of a range query: the larger of Grafana's
// interval, range/maxDataPoints and one second, rounded up to whole seconds
// so steps (and so the timestamps of every refresh) line up.
func Step(tr backend.TimeRange, interval time.Duration, maxDataPoints int64) time.Duration {
	rng := tr.Duration()
	if maxDataPoints <= 0 || maxDataPoints > MaxPointsPerSeries {
		maxDataPoints = MaxPointsPerSeries
	}
	step := max(interval, rng/time.Duration(maxDataPoints), time.Second)
	return (step + time.Second - 1).Truncate(time.Second)
}

// Execute runs one series query over the time range and shapes the result
// as data frames following Grafana's data plane contract. A query that
// matches nothing returns one empty frame of the right type, not an error,
// so alert rules see "no data".
func Execute(ctx context.Context, st Store, q Query, tr backend.TimeRange, interval time.Duration, maxDataPoints int64) (data.Frames, error) {
	if q.Kind != "" && q.Kind != KindSeries {
		return nil, fmt.Errorf("query %s: kind %q is not a series query", q.RefID, q.Kind)
	}
	if !tr.To.After(tr.From) && !q.Instant {
		return nil, fmt.Errorf("query %s: empty time range %s to %s", q.RefID, tr.From, tr.To)
	}
	step := Step(tr, interval, maxDataPoints)
	expr, err := BuildPromQL(q, Vars{Interval: step, ScrapeInterval: ScrapeIntervalOf(q.Source), Range: tr.Duration()})
	if err != nil {
		return nil, err
	}
	legend, err := newLegend(q.LegendFormat)
	if err != nil {
		return nil, err
	}

	if q.Instant {
		v, err := st.InstantQuery(ctx, expr, tr.To)
		if err != nil {
			return nil, err
		}
		if q.Format == FormatTable {
			return data.Frames{instantTable(v, expr)}, nil
		}
		return instantFrames(v, expr, legend), nil
	}

	// Align both ends to the step so every refresh evaluates at the same
	// instants and a panel does not shimmer as the range slides.
	start := tr.From.Truncate(step)
	end := tr.To.Truncate(step)
	if end.Before(start) {
		end = start
	}
	var frames data.Frames
	err = rangeQuery(ctx, st, expr, start, end, step, func(m promql.Matrix) error {
		m = dropAllNaN(m)
		if q.Format == FormatTable {
			frames = data.Frames{rangeTable(m, expr)}
		} else {
			frames = seriesFramesParallel(m, expr, legend)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return frames, nil
}

// dropAllNaN filters without writing into m, which belongs to the engine.
func dropAllNaN(m promql.Matrix) promql.Matrix {
	keep := func(s promql.Series) bool {
		return slices.ContainsFunc(s.Floats, func(p promql.FPoint) bool { return !math.IsNaN(p.F) })
	}
	i := 0
	for i < len(m) && keep(m[i]) {
		i++
	}
	if i == len(m) {
		return m
	}
	out := append(make(promql.Matrix, 0, len(m)-1), m[:i]...)
	for _, s := range m[i+1:] {
		if keep(s) {
			out = append(out, s)
		}
	}
	return out
}

func meta(t data.FrameType, expr string) *data.FrameMeta {
	return &data.FrameMeta{Type: t, TypeVersion: data.FrameTypeVersion{0, 1}, ExecutedQueryString: expr}
}

// valueName is the value field's name; Grafana shows it with the labels
// when there is no legend, as it does for Prometheus.
func valueName(ls labels.Labels) string {
	if n := ls.Get(labels.MetricName); n != "" {
		return n
	}
	return "Value"
}

func fieldLabels(ls labels.Labels) data.Labels {
	out := make(data.Labels, ls.Len())
	ls.Range(func(l labels.Label) {
		if l.Name != labels.MetricName {
			out[l.Name] = l.Value
		}
	})
	return out
}

// seriesFrames makes one timeseries-multi frame per series.
func seriesFrames(m promql.Matrix, expr string, legend *legend) data.Frames {
	if len(m) == 0 {
		f := data.NewFrame("",
			data.NewField(data.TimeSeriesTimeFieldName, nil, []time.Time{}),
			data.NewField(data.TimeSeriesValueFieldName, nil, []float64{}))
		f.Meta = meta(data.FrameTypeTimeSeriesMulti, expr)
		return data.Frames{f}
	}
	frames := make(data.Frames, 0, len(m))
	// data.NewField copies its values, so one scratch pair serves every
	// series instead of allocating each point twice.
	var times []time.Time
	var vals []float64
	for _, s := range m {
		times = slices.Grow(times[:0], len(s.Floats))[:len(s.Floats)]
		vals = slices.Grow(vals[:0], len(s.Floats))[:len(s.Floats)]
		for i, p := range s.Floats {
			times[i] = time.UnixMilli(p.T).UTC()
			vals[i] = p.F
		}
		vf := data.NewField(valueName(s.Metric), fieldLabels(s.Metric), vals)
		legend.apply(vf, s.Metric)
		f := data.NewFrame("", data.NewField(data.TimeSeriesTimeFieldName, nil, times), vf)
		f.Meta = meta(data.FrameTypeTimeSeriesMulti, expr)
		frames = append(frames, f)
	}
	return frames
}

// instantFrames makes one numeric-multi frame per sample.
func instantFrames(v promql.Vector, expr string, legend *legend) data.Frames {
	v = slices.DeleteFunc(v, func(s promql.Sample) bool { return math.IsNaN(s.F) })
	if len(v) == 0 {
		f := data.NewFrame("", data.NewField(data.TimeSeriesValueFieldName, nil, []float64{}))
		f.Meta = meta(data.FrameTypeNumericMulti, expr)
		return data.Frames{f}
	}
	frames := make(data.Frames, 0, len(v))
	for _, s := range v {
		vf := data.NewField(valueName(s.Metric), fieldLabels(s.Metric), []float64{s.F})
		legend.apply(vf, s.Metric)
		// The time field is remainder data for numeric frames; tables and
		// stat panels show it.
		f := data.NewFrame("", data.NewField(data.TimeSeriesTimeFieldName, nil, []time.Time{time.UnixMilli(s.T).UTC()}), vf)
		f.Meta = meta(data.FrameTypeNumericMulti, expr)
		frames = append(frames, f)
	}
	return frames
}

// labelColumns returns the label names present in any series, sorted,
// metric name first.
func labelColumns(sets []labels.Labels) []string {
	seen := map[string]struct{}{}
	for _, ls := range sets {
		ls.Range(func(l labels.Label) { seen[l.Name] = struct{}{} })
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int {
		switch {
		case a == b:
			return 0
		case a == labels.MetricName:
			return -1
		case b == labels.MetricName:
			return 1
		}
		return strings.Compare(a, b)
	})
	return names
}

// longFrame builds "time, one string field per label, value" from rows.
type longRow struct {
	t   int64
	ls  labels.Labels
	val float64
}

func longFrame(rows []longRow, t data.FrameType, expr string) *data.Frame {
	sets := make([]labels.Labels, len(rows))
	for i := range rows {
		sets[i] = rows[i].ls
	}
	cols := labelColumns(sets)
	// Long time series must be sorted by time; within a time, by labels so
	// the table is stable across refreshes.
	slices.SortStableFunc(rows, func(a, b longRow) int {
		return cmp.Or(cmp.Compare(a.t, b.t), labels.Compare(a.ls, b.ls))
	})
	times := make([]time.Time, len(rows))
	vals := make([]float64, len(rows))
	strs := make([][]string, len(cols))
	for c := range cols {
		strs[c] = make([]string, len(rows))
	}
	for i, r := range rows {
		times[i] = time.UnixMilli(r.t).UTC()
		vals[i] = r.val
		for c, n := range cols {
			strs[c][i] = r.ls.Get(n)
		}
	}
	fields := make([]*data.Field, 0, len(cols)+2)
	fields = append(fields, data.NewField(data.TimeSeriesTimeFieldName, nil, times))
	for c, n := range cols {
		fields = append(fields, data.NewField(n, nil, strs[c]))
	}
	fields = append(fields, data.NewField(data.TimeSeriesValueFieldName, nil, vals))
	f := data.NewFrame("", fields...)
	f.Meta = meta(t, expr)
	return f
}

// rangeTable is the table format of a range query: one timeseries-long frame.
func rangeTable(m promql.Matrix, expr string) *data.Frame {
	n := 0
	for _, s := range m {
		n += len(s.Floats)
	}
	rows := make([]longRow, 0, n)
	for _, s := range m {
		for _, p := range s.Floats {
			rows = append(rows, longRow{t: p.T, ls: s.Metric, val: p.F})
		}
	}
	return longFrame(rows, data.FrameTypeTimeSeriesLong, expr)
}

// instantTable is the table format of an instant query: one numeric-long
// frame (the time column is remainder data).
func instantTable(v promql.Vector, expr string) *data.Frame {
	rows := make([]longRow, 0, len(v))
	for _, s := range v {
		if !math.IsNaN(s.F) {
			rows = append(rows, longRow{t: s.T, ls: s.Metric, val: s.F})
		}
	}
	return longFrame(rows, data.FrameTypeNumericLong, expr)
}

// legend renders LegendFormat: "{{interface}} in" becomes "outside in".
// A label the series lacks renders as nothing, as in Grafana's Prometheus
// data source. "__auto" and "" leave naming to Grafana.
type legend struct {
	format string
}

var legendVar = regexp.MustCompile(`\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}`)

const maxLegendLen = 1024

func newLegend(format string) (*legend, error) {
	if format == "" || format == "__auto" {
		return nil, nil
	}
	if len(format) > maxLegendLen {
		return nil, errors.New("legend format longer than 1024 characters")
	}
	return &legend{format: format}, nil
}

func (l *legend) render(ls labels.Labels) string {
	return legendVar.ReplaceAllStringFunc(l.format, func(m string) string {
		name := legendVar.FindStringSubmatch(m)[1]
		return ls.Get(name)
	})
}

// RenderLegend renders a legend format from a frame field's labels, for
// labels the plugin adds after the query ran (INT switch names).
func RenderLegend(format string, ls data.Labels) string {
	return legendVar.ReplaceAllStringFunc(format, func(m string) string {
		return ls[legendVar.FindStringSubmatch(m)[1]]
	})
}

func (l *legend) apply(f *data.Field, ls labels.Labels) {
	if l == nil {
		return
	}
	if f.Config == nil {
		f.Config = &data.FieldConfig{}
	}
	f.Config.DisplayNameFromDS = l.render(ls)
}
