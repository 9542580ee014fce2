package query

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/netlens/netlens/pkg/config"
	"github.com/netlens/netlens/pkg/records"
)

// Records queries (flows, INT reports) run against a record table instead
// of the series store. Their answers take the shapes Grafana's panels and
// alert rules read without transformations:
//   - raw rows: one table frame, time first;
//   - aggregates over the whole range: one numeric-long frame (group
//     columns as strings, then one number column per aggregate), which the
//     table, bar gauge and pie chart show as is and an alert rule reads as
//     one labelled number per row when there is one aggregate;
//   - aggregates per time bucket: timeseries-multi, one frame per group and
//     aggregate with the group's values as labels, so the time series panel
//     draws a line per group and an alert rule reduces each line.

// RecordTable is what a records query needs from a table (*records.Table
// implements it; tests may pass their own).
type RecordTable interface {
	Query(ctx context.Context, q records.Query) (*records.Result, error)
}

// Limits of a records query. A grouped query over a field with millions of
// values (src_addr over a day) must not produce a frame the browser cannot
// draw, so groups are capped even when the query asks for no top N; the
// frame then carries a notice saying so.
const (
	DefaultRecordLimit = 1000             // raw rows when the query does not say
	MaxRecordLimit     = records.MaxLimit // raw rows, the table's own ceiling
	MaxRecordGroups    = 10000            // rows of a grouped table
	MaxRecordSeries    = 500              // groups of a bucketed query, each a line
)

// ExporterColumn is the records' name for what series call the device: an
// ad-hoc filter or an instance restriction on "device" applies to it.
const ExporterColumn = "exporter"

// RecordsPlan is a records query resolved against one request: what the
// table runs and how its answer becomes frames.
type RecordsPlan struct {
	RefID string
	Query records.Query
	// AggNames are the aggregate columns' names, "sum(bytes)", in order.
	AggNames []string
	Notices  []data.Notice
}

// Bucketed reports whether the answer is a time series.
func (p RecordsPlan) Bucketed() bool { return p.Query.BucketMs > 0 && len(p.Query.Aggregates) > 0 }

// PlanRecords translates q for the time range: "auto" buckets follow the
// request's interval (never finer than the series step would be), limits
// are applied, and ad-hoc filters become equality filters on the fields
// the table has (known reports which; a dashboard filter on a series label
// such as interface is about other panels and is left out, with a notice).
func PlanRecords(q Query, tr backend.TimeRange, interval time.Duration, maxDataPoints int64, known func(string) bool) (RecordsPlan, error) {
	p := RecordsPlan{RefID: q.RefID}
	if q.Kind != KindRecords {
		return p, fmt.Errorf("query %s: kind %q is not a records query", q.RefID, q.Kind)
	}
	if !tr.To.After(tr.From) {
		return p, fmt.Errorf("query %s: empty time range %s to %s", q.RefID, tr.From, tr.To)
	}
	rq := records.Query{FromMs: tr.From.UnixMilli(), ToMs: tr.To.UnixMilli()}
	var err error
	rq.Filters, p.Notices, err = recordFilters(q, known)
	if err != nil {
		return p, err
	}

	if len(q.Aggregates) == 0 {
		switch {
		case q.Limit < 0:
			return p, fmt.Errorf("query %s: limit %d is negative", q.RefID, q.Limit)
		case q.Limit == 0:
			rq.Limit = DefaultRecordLimit
		case q.Limit > MaxRecordLimit:
			rq.Limit = MaxRecordLimit
			p.Notices = append(p.Notices, data.Notice{Severity: data.NoticeSeverityWarning,
				Text: fmt.Sprintf("at most %d rows are returned; the limit of %d was lowered", MaxRecordLimit, q.Limit)})
		default:
			rq.Limit = q.Limit
		}
		rq.Columns = slices.DeleteFunc(slices.Clone(q.Columns), func(c string) bool { return c == "" })
		p.Query = rq
		return p, nil
	}

	for _, g := range q.GroupBy {
		if g == "" {
			continue
		}
		if slices.Contains(rq.GroupBy, g) {
			return p, fmt.Errorf("query %s: %q is grouped by twice", q.RefID, g)
		}
		rq.GroupBy = append(rq.GroupBy, g)
	}
	for _, a := range q.Aggregates {
		name, err := aggregateName(a)
		if err != nil {
			return p, fmt.Errorf("query %s: %w", q.RefID, err)
		}
		if slices.Contains(p.AggNames, name) {
			return p, fmt.Errorf("query %s: %s is asked for twice", q.RefID, name)
		}
		p.AggNames = append(p.AggNames, name)
		rq.Aggregates = append(rq.Aggregates, records.Aggregate{Func: a.Func, Column: a.Field})
	}

	bucket, err := recordBucket(q.Bucket, tr, interval, maxDataPoints)
	if err != nil {
		return p, fmt.Errorf("query %s: %w", q.RefID, err)
	}
	rq.BucketMs = bucket.Milliseconds()

	maxGroups := MaxRecordGroups
	if rq.BucketMs > 0 {
		// The store answers at most records.MaxCells groups × buckets.
		buckets := int(tr.Duration().Milliseconds()/rq.BucketMs) + 2
		maxGroups = max(1, min(MaxRecordSeries, records.MaxCells/buckets-1))
	}
	switch {
	case q.TopN < 0:
		return p, fmt.Errorf("query %s: top N %d is negative", q.RefID, q.TopN)
	case len(rq.GroupBy) == 0:
		// One group: nothing to rank.
	case q.TopN == 0:
		rq.TopN = maxGroups
	case q.TopN > maxGroups:
		rq.TopN = maxGroups
		p.Notices = append(p.Notices, data.Notice{Severity: data.NoticeSeverityWarning,
			Text: fmt.Sprintf("at most %d groups are returned; top %d was lowered", maxGroups, q.TopN)})
	default:
		rq.TopN = q.TopN
	}
	rq.Other = q.Other && len(rq.GroupBy) > 0 && q.TopN > 0
	p.Query = rq
	return p, nil
}

// recordFilters are a records query's filters and the ad-hoc filters
// that apply to the table (known reports which fields it has).
func recordFilters(q Query, known func(string) bool) ([]records.Filter, []data.Notice, error) {
	var out []records.Filter
	var notices []data.Notice
	for _, f := range q.Filters {
		if f.Field == "" || len(f.Values) == 0 {
			continue // an editor row still being filled in narrows nothing
		}
		if !validRecordOp(f.Op) {
			return nil, nil, fmt.Errorf("query %s: filter on %q: unknown operator %q", q.RefID, f.Field, f.Op)
		}
		out = append(out, records.Filter{Column: f.Field, Op: f.Op, Values: f.Values})
	}
	for _, m := range q.AdhocFilters {
		f, ok, why := adhocRecordFilter(m, known)
		if !ok {
			if why != "" {
				notices = append(notices, data.Notice{Severity: data.NoticeSeverityInfo, Text: why})
			}
			continue
		}
		out = append(out, f)
	}
	return out, notices, nil
}

func validRecordOp(op string) bool {
	switch op {
	case OpEqual, OpNotEqual, OpIn, OpNotIn, OpCIDR, OpNotCIDR, OpRange, OpLess, OpLessEq, OpGreater, OpGreatEq:
		return true
	}
	return false
}

// recordFuncs are the aggregate functions the record store computes.
var recordFuncs = []string{"sum", "count", "avg", "min", "max", "p50", "p90", "p95", "p99"}

// aggregateName is the aggregate's column name, as the editor and
// legends show it: "sum(bytes)", "count()", "p95(rtt)".
func aggregateName(a RecordAggregate) (string, error) {
	if !slices.Contains(recordFuncs, a.Func) {
		return "", fmt.Errorf("unknown aggregate %q (want one of %s)", a.Func, strings.Join(recordFuncs, ", "))
	}
	if a.Func == "count" {
		return "count(" + a.Field + ")", nil
	}
	if a.Field == "" {
		return "", fmt.Errorf("%s needs a field", a.Func)
	}
	return a.Func + "(" + a.Field + ")", nil
}

// recordBucket resolves a bucket setting. "auto" takes the step a series
// query of the same panel would use, so flows and volume series line up.
// A bucket too fine for the range grows, as a series step does, so no
// query returns more than MaxPointsPerSeries buckets per group.
func recordBucket(s string, tr backend.TimeRange, interval time.Duration, maxDataPoints int64) (time.Duration, error) {
	var b time.Duration
	switch s {
	case "":
		return 0, nil
	case "auto":
		b = Step(tr, interval, maxDataPoints)
	default:
		d, err := config.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("bucket %q: %w", s, err)
		}
		b = d
		if b < time.Second {
			return 0, fmt.Errorf("bucket %q is shorter than 1s", s)
		}
	}
	if n := tr.Duration() / b; n > MaxPointsPerSeries {
		b = (tr.Duration()/MaxPointsPerSeries + time.Second - 1).Truncate(time.Second)
	}
	return b, nil
}

// adhocRecordFilter turns a dashboard's ad-hoc filter into an equality
// filter. Ad-hoc filters apply to every panel of a dashboard, so a key the
// table lacks (a series label) is skipped rather than emptying the panel.
// Regular expressions reach here only as alternatives of literals (what
// Grafana's multi-value operators produce); anything else is skipped with
// a reason, because records filter on values, not patterns.
func adhocRecordFilter(m Matcher, known func(string) bool) (records.Filter, bool, string) {
	col := m.Label
	// Flows call their device the exporter; xr_state records have a
	// device column of their own.
	if col == "device" && (known == nil || !known("device")) {
		col = ExporterColumn
	}
	if col == "" || (known != nil && !known(col)) {
		return records.Filter{}, false, ""
	}
	switch m.Op {
	case "=", "":
		return records.Filter{Column: col, Op: OpEqual, Values: []string{m.Value}}, true, ""
	case "!=":
		return records.Filter{Column: col, Op: OpNotEqual, Values: []string{m.Value}}, true, ""
	case "=~", "!~":
		vals, ok := literalAlternatives(m.Value)
		if !ok {
			return records.Filter{}, false, fmt.Sprintf("ad-hoc filter %s %s %q is a pattern; records filter on values only, so it is not applied", m.Label, m.Op, m.Value)
		}
		op := OpIn
		if m.Op == "!~" {
			op = OpNotIn
		}
		return records.Filter{Column: col, Op: op, Values: vals}, true, ""
	}
	return records.Filter{}, false, fmt.Sprintf("ad-hoc filter on %s: unknown operator %q, not applied", m.Label, m.Op)
}

var regexMeta = regexp.MustCompile(`[.+*?()\[\]{}^$|]`)

// literalAlternatives splits "a|b\.c" into its literal alternatives, or
// reports that the pattern is more than that.
func literalAlternatives(re string) ([]string, bool) {
	var out []string
	var cur strings.Builder
	for i := 0; i < len(re); i++ {
		c := re[i]
		switch {
		case c == '\\' && i+1 < len(re) && regexMeta.MatchString(re[i+1:i+2]) || c == '\\' && i+1 < len(re) && re[i+1] == '\\':
			cur.WriteByte(re[i+1])
			i++
		case c == '|':
			out = append(out, cur.String())
			cur.Reset()
		case c == '\\' || regexMeta.MatchString(re[i:i+1]):
			return nil, false
		default:
			cur.WriteByte(c)
		}
	}
	return append(out, cur.String()), true
}

// ExecuteRecords runs a records query on a table and shapes the answer.
// A query that matches nothing returns an empty frame of the right type,
// not an error, so alert rules see "no data".
func ExecuteRecords(ctx context.Context, t RecordTable, q Query, tr backend.TimeRange, interval time.Duration, maxDataPoints int64, known func(string) bool) (data.Frames, error) {
	p, err := PlanRecords(q, tr, interval, maxDataPoints, known)
	if err != nil {
		return nil, err
	}
	res, err := t.Query(ctx, p.Query)
	if errors.Is(err, records.ErrUnknownColumn) {
		// A field that has not arrived yet (no exporter has sent it, or the
		// table is still empty) is "no data" for panels and alert rules
		// alike; the notice tells a typo from a field yet to come.
		frames, ferr := p.Frames(p.emptyResult())
		if ferr != nil {
			return nil, ferr
		}
		frames[0].AppendNotices(data.Notice{Severity: data.NoticeSeverityWarning, Text: err.Error() + ": no records hold it yet"})
		return frames, nil
	}
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", q.RefID, err)
	}
	return p.Frames(res)
}

// emptyResult is the answer of the plan's shape with no rows.
func (p RecordsPlan) emptyResult() *records.Result {
	res := &records.Result{}
	if len(p.Query.Aggregates) == 0 || p.Query.BucketMs > 0 {
		res.Columns = append(res.Columns, records.ResultColumn{Name: "time", Type: records.Time, Values: []int64{}})
	}
	for _, g := range p.Query.GroupBy {
		res.Columns = append(res.Columns, records.ResultColumn{Name: g, Type: records.String, Values: []string{}})
	}
	for _, a := range p.AggNames {
		res.Columns = append(res.Columns, records.ResultColumn{Name: a, Type: records.Float, Values: []float64{}})
	}
	return res
}

// Frames shapes a table's answer to the plan.
func (p RecordsPlan) Frames(res *records.Result) (data.Frames, error) {
	var frames data.Frames
	var err error
	switch {
	case len(p.Query.Aggregates) == 0:
		var f *data.Frame
		f, err = rawFrame(res)
		frames = data.Frames{f}
	case p.Query.BucketMs > 0:
		frames, err = p.seriesFrames(res)
	default:
		var f *data.Frame
		f, err = p.groupFrame(res)
		frames = data.Frames{f}
	}
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", p.RefID, err)
	}
	notices := slices.Clone(p.Notices)
	if res.Truncated {
		text := fmt.Sprintf("showing the newest %d rows of more; narrow the time range or the filters", p.Query.Limit)
		if len(p.AggNames) > 0 {
			text = fmt.Sprintf("showing the top %d groups by %s; the rest are left out (ask for \"other\" to fold them into one)", p.Query.TopN, p.AggNames[0])
		}
		notices = append(notices, data.Notice{Severity: data.NoticeSeverityInfo, Text: text})
	}
	for _, f := range frames {
		f.RefID = p.RefID
		f.Meta.Notices = append(f.Meta.Notices, notices...)
		f.Meta.Stats = append(f.Meta.Stats, data.QueryStat{
			FieldConfig: data.FieldConfig{DisplayName: "Records scanned"}, Value: float64(res.RowsScanned)})
	}
	return frames, nil
}

func recordsMeta(t data.FrameType) *data.FrameMeta {
	m := &data.FrameMeta{Type: t, TypeVersion: data.FrameTypeVersion{0, 1}}
	if t == data.FrameTypeTable {
		// "table" is outside the data plane's versioned kinds.
		m.TypeVersion = data.FrameTypeVersion{}
		m.PreferredVisualization = data.VisTypeTable
	}
	return m
}

// rawFrame is one table frame of rows, with the time column first so the
// table panel and Explore's logs-like views sort by it.
func rawFrame(res *records.Result) (*data.Frame, error) {
	cols := slices.Clone(res.Columns)
	if i := slices.IndexFunc(cols, func(c records.ResultColumn) bool { return c.Name == "time" }); i > 0 {
		t := cols[i]
		copy(cols[1:i+1], cols[:i])
		cols[0] = t
	}
	fields := make([]*data.Field, 0, len(cols))
	for _, c := range cols {
		f, err := columnField(c)
		if err != nil {
			return nil, err
		}
		fields = append(fields, f)
	}
	f := data.NewFrame("records", fields...)
	f.Meta = recordsMeta(data.FrameTypeTable)
	return f, nil
}

// columnField converts a result column to a field of the matching Grafana
// type: times as time.Time, counters as unsigned integers, addresses and
// names as strings. Nulls make the field nullable.
func columnField(c records.ResultColumn) (*data.Field, error) {
	nulls := c.Null
	null := func(i int) bool { return i < len(nulls) && nulls[i] }
	switch v := c.Values.(type) {
	case []int64:
		if c.Type == records.Time {
			if nulls == nil {
				out := make([]time.Time, len(v))
				for i, ms := range v {
					out[i] = time.UnixMilli(ms).UTC()
				}
				return data.NewField(c.Name, nil, out), nil
			}
			out := make([]*time.Time, len(v))
			for i, ms := range v {
				if !null(i) {
					t := time.UnixMilli(ms).UTC()
					out[i] = &t
				}
			}
			return data.NewField(c.Name, nil, out), nil
		}
		return nullable(c.Name, v, null, nulls != nil), nil
	case []uint64:
		return nullable(c.Name, v, null, nulls != nil), nil
	case []float64:
		return nullable(c.Name, v, null, nulls != nil), nil
	case []string:
		return nullable(c.Name, v, null, nulls != nil), nil
	case []bool:
		return nullable(c.Name, v, null, nulls != nil), nil
	}
	return nil, fmt.Errorf("column %s: values of type %T", c.Name, c.Values)
}

func nullable[T any](name string, v []T, null func(int) bool, hasNulls bool) *data.Field {
	if !hasNulls {
		return data.NewField(name, nil, v)
	}
	out := make([]*T, len(v))
	for i := range v {
		if !null(i) {
			out[i] = &v[i]
		}
	}
	return data.NewField(name, nil, out)
}

// column finds a result column by name.
func column(res *records.Result, name string) (records.ResultColumn, bool) {
	for _, c := range res.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return records.ResultColumn{}, false
}

// aggColumns finds the aggregate columns, by name, in the plan's order.
func (p RecordsPlan) aggColumns(res *records.Result) ([]records.ResultColumn, error) {
	out := make([]records.ResultColumn, len(p.AggNames))
	for i, n := range p.AggNames {
		c, ok := column(res, n)
		if !ok {
			return nil, fmt.Errorf("the record store's answer has no column %s", n)
		}
		out[i] = c
	}
	return out, nil
}

// groupColumns finds the group-by columns, rendered as text: group values
// become labels and dimension columns, which are strings in Grafana.
func (p RecordsPlan) groupColumns(res *records.Result) ([][]string, error) {
	out := make([][]string, len(p.Query.GroupBy))
	for i, n := range p.Query.GroupBy {
		c, ok := column(res, n)
		if !ok {
			return nil, fmt.Errorf("the record store's answer has no column %s", n)
		}
		out[i] = textValues(c)
		for row, other := range res.Other {
			if other && row < len(out[i]) {
				out[i][row] = OtherGroup
			}
		}
	}
	return out, nil
}

// OtherGroup is the group value of the rows folded together past the top N.
const OtherGroup = "other"

// ColumnText renders a result column as the text the editors show: a
// number in decimal, a time in RFC 3339, a null as "".
func ColumnText(c records.ResultColumn) []string { return textValues(c) }

// textValues renders a column as strings; a null is "".
func textValues(c records.ResultColumn) []string {
	null := func(i int) bool { return i < len(c.Null) && c.Null[i] }
	var out []string
	switch v := c.Values.(type) {
	case []string:
		out = slices.Clone(v)
	case []int64:
		out = make([]string, len(v))
		for i, x := range v {
			if c.Type == records.Time {
				out[i] = time.UnixMilli(x).UTC().Format(time.RFC3339Nano)
			} else {
				out[i] = strconv.FormatInt(x, 10)
			}
		}
	case []uint64:
		out = make([]string, len(v))
		for i, x := range v {
			out[i] = strconv.FormatUint(x, 10)
		}
	case []float64:
		out = make([]string, len(v))
		for i, x := range v {
			out[i] = strconv.FormatFloat(x, 'g', -1, 64)
		}
	case []bool:
		out = make([]string, len(v))
		for i, x := range v {
			out[i] = strconv.FormatBool(x)
		}
	}
	for i := range out {
		if null(i) {
			out[i] = ""
		}
	}
	return out
}

// floatValues reads an aggregate column as float64, NaN for null: the
// time series panel and alert reducers work on floats.
func floatValues(c records.ResultColumn) []float64 {
	null := func(i int) bool { return i < len(c.Null) && c.Null[i] }
	var out []float64
	switch v := c.Values.(type) {
	case []float64:
		out = slices.Clone(v)
	case []int64:
		out = make([]float64, len(v))
		for i, x := range v {
			out[i] = float64(x)
		}
	case []uint64:
		out = make([]float64, len(v))
		for i, x := range v {
			out[i] = float64(x)
		}
	}
	for i := range out {
		if null(i) {
			out[i] = math.NaN()
		}
	}
	return out
}

// groupFrame is an aggregate over the whole range: group columns as
// strings, then the aggregates as numbers, one row per group, ranked as
// the store ranked them. Typed numeric-long, so one aggregate is alertable
// (each row a labelled number) while tables, bar gauges and pie charts
// show every row.
func (p RecordsPlan) groupFrame(res *records.Result) (*data.Frame, error) {
	groups, err := p.groupColumns(res)
	if err != nil {
		return nil, err
	}
	aggs, err := p.aggColumns(res)
	if err != nil {
		return nil, err
	}
	fields := make([]*data.Field, 0, len(groups)+len(aggs))
	for i, n := range p.Query.GroupBy {
		fields = append(fields, data.NewField(n, nil, groups[i]))
	}
	for i, c := range aggs {
		vals := floatValues(c)
		ptrs := make([]*float64, len(vals))
		for j := range vals {
			if !math.IsNaN(vals[j]) {
				ptrs[j] = &vals[j]
			}
		}
		fields = append(fields, data.NewField(p.AggNames[i], nil, ptrs))
	}
	f := data.NewFrame("records", fields...)
	f.Meta = recordsMeta(data.FrameTypeNumericLong)
	return f, nil
}

// bucketColumn is the bucket start of a bucketed answer.
func bucketColumn(res *records.Result) ([]int64, error) {
	c, ok := column(res, "time")
	if !ok {
		return nil, fmt.Errorf("the record store's bucketed answer has no time column")
	}
	ms, ok := c.Values.([]int64)
	if !ok {
		return nil, fmt.Errorf("the record store's time column holds %T", c.Values)
	}
	return ms, nil
}

func groupKey(cols [][]string, row int) string {
	var b strings.Builder
	for _, c := range cols {
		b.WriteString(c[row])
		b.WriteByte(0)
	}
	return b.String()
}

// seriesFrames is an aggregate per bucket: one timeseries-multi frame per
// group and aggregate, labelled with the group's values, on the full grid
// of buckets. A bucket without records is 0 for sum and count (nothing
// flowed) and null for the others (nothing to average), so rates drawn
// from flows do not interpolate across silence.
func (p RecordsPlan) seriesFrames(res *records.Result) (data.Frames, error) {
	groups, err := p.groupColumns(res)
	if err != nil {
		return nil, err
	}
	aggs, err := p.aggColumns(res)
	if err != nil {
		return nil, err
	}
	buckets, err := bucketColumn(res)
	if err != nil {
		return nil, err
	}
	b := p.Query.BucketMs
	first := floorDiv(p.Query.FromMs, b) * b
	n := int((p.Query.ToMs-first)/b) + 1
	if n < 1 {
		n = 1
	}
	times := make([]time.Time, n)
	for i := range times {
		times[i] = time.UnixMilli(first + int64(i)*b).UTC()
	}

	type series struct {
		labels data.Labels
		vals   [][]float64 // per aggregate, per bucket
	}
	var order []*series
	byKey := map[string]*series{}
	aggVals := make([][]float64, len(aggs))
	for i, c := range aggs {
		aggVals[i] = floatValues(c)
	}
	for row, ms := range buckets {
		k := groupKey(groups, row)
		s, ok := byKey[k]
		if !ok {
			s = &series{labels: data.Labels{}, vals: make([][]float64, len(aggs))}
			for g, name := range p.Query.GroupBy {
				s.labels[name] = groups[g][row]
			}
			for a := range aggs {
				s.vals[a] = make([]float64, n)
				fill := math.NaN()
				if f := p.Query.Aggregates[a].Func; f == "sum" || f == "count" {
					fill = 0
				}
				for i := range s.vals[a] {
					s.vals[a][i] = fill
				}
			}
			byKey[k] = s
			order = append(order, s)
		}
		i := (ms - first) / b
		if i < 0 || i >= int64(n) {
			continue
		}
		for a := range aggs {
			s.vals[a][i] = aggVals[a][row]
		}
	}

	var frames data.Frames
	for _, s := range order {
		for a, name := range p.AggNames {
			ptrs := make([]*float64, n)
			for i := range s.vals[a] {
				if !math.IsNaN(s.vals[a][i]) {
					ptrs[i] = &s.vals[a][i]
				}
			}
			f := data.NewFrame("",
				data.NewField(data.TimeSeriesTimeFieldName, nil, times),
				data.NewField(name, s.labels.Copy(), ptrs))
			f.Meta = recordsMeta(data.FrameTypeTimeSeriesMulti)
			frames = append(frames, f)
		}
	}
	if len(frames) == 0 {
		f := data.NewFrame("",
			data.NewField(data.TimeSeriesTimeFieldName, nil, []time.Time{}),
			data.NewField(data.TimeSeriesValueFieldName, nil, []float64{}))
		f.Meta = recordsMeta(data.FrameTypeTimeSeriesMulti)
		frames = data.Frames{f}
	}
	return frames, nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// IsRecordValues reports whether q is a variable query listing a field's
// values rather than a records query proper.
func IsRecordValues(q Query) bool {
	return q.Kind == KindRecords && q.Field != "" && len(q.Aggregates) == 0 && len(q.Columns) == 0
}

// RecordValuesFrame is a variable query's answer: one string field named
// after the record field, which Grafana's query variables read as the
// values (and texts) to offer.
func RecordValuesFrame(refID, field string, values []string) *data.Frame {
	f := data.NewFrame(field, data.NewField(field, nil, values))
	f.RefID = refID
	f.Meta = recordsMeta(data.FrameTypeTable)
	return f
}
