// Package query holds the query model shared with the frontend
// (src/datasource/types.ts mirrors it field for field) and turns queries into
// PromQL and store results into data frames.
//
// Series queries are PromQL because the store embeds the Prometheus TSDB and
// its PromQL engine (design.md, Store): Grafana users already know the
// language, alert rules and Explore get it for free, and we write neither a
// storage engine nor a query language. The builder composes PromQL through
// the parser's AST, so editor input is escaped by the printer and can never
// change the expression's structure; code mode is parsed the same way.
//
// Limits: a range query evaluates at most MaxPointsPerSeries steps (the step
// grows to fit) and never at less than 1 s; $__rate_interval never falls
// below MinRateInterval or four scrape intervals; legend formats are capped
// at 1024 bytes. The store's engine adds its own limits (query timeout,
// samples held per query).
package query

import "github.com/netlens/netlens/pkg/records"

// Source is which kind of device a query is about; it matches model.Source.
type Source = string

// Kinds of query. Records (flows, INT reports) arrive with their own issues.
const (
	KindSeries  = "series"
	KindRecords = "records"
	// KindEvents lists devices' state changes (connected, disconnected,
	// cancelled, rejected, error) from the collector's registry: the
	// dashboards' annotations.
	KindEvents = "events"
	// KindPath answers the network path panel from INT reports: one table
	// frame, one row per hop per flow observation (see intpath.go).
	KindPath = "path"
	// KindEpisodes finds runs of INT drop or queue reports (annotations;
	// see intepisodes.go).
	KindEpisodes = "episodes"
)

// Editor modes of a series query.
const (
	ModeBuilder = "builder" // Family, Metric, Matchers, Rate, Aggregation, GroupBy
	ModeCode    = "code"    // Expr is PromQL typed by the user
)

// Formats of a series query's result.
const (
	FormatTimeSeries = "time_series" // one timeseries-multi frame per series
	FormatTable      = "table"       // one long table: time, labels..., value
)

// Query is one target of a panel, Explore tab or alert rule, as the
// frontend sends it in backend.DataQuery.JSON.
type Query struct {
	RefID      string `json:"refId"`
	Source     Source `json:"source"`     // "ftd" (xr, int, ipfix later); empty means any
	Kind       string `json:"kind"`       // "series" (default), "records", "events", "path" or "episodes"
	EditorMode string `json:"editorMode"` // "builder" (default) or "code"

	// Code mode: a PromQL expression, with Grafana's $__interval,
	// $__rate_interval and $__range already substituted by the backend.
	Expr string `json:"expr,omitempty"`

	// Builder mode.
	Family      string    `json:"family,omitempty"` // FTD metric family, narrows the metric picker
	Metric      string    `json:"metric,omitempty"` // full series name, e.g. ftd_cpu_cpu_utilisation
	Matchers    []Matcher `json:"matchers,omitempty"`
	Rate        bool      `json:"rate,omitempty"`        // per-second rate, for counters
	Aggregation string    `json:"aggregation,omitempty"` // "", sum, avg, min, max, count
	GroupBy     []string  `json:"groupBy,omitempty"`     // labels kept by the aggregation

	LegendFormat string `json:"legendFormat,omitempty"` // "{{interface}} in" style
	Format       string `json:"format,omitempty"`       // time_series (default) or table
	// EventTypes narrows an events query (connected, disconnected,
	// cancelled, rejected, error) or an episodes query (drop, congestion);
	// empty means all.
	EventTypes []string `json:"eventTypes,omitempty"`

	// AdhocFilters are the dashboard's ad-hoc filters; they narrow every
	// selector of the query, in builder and code mode alike.
	AdhocFilters []Matcher `json:"adhocFilters,omitempty"`

	// Records builder (Kind records). RecordKind is the record schema,
	// "ipfix_flow" for now. With no Aggregates the query returns raw rows
	// (Columns, newest first, at most Limit); with Aggregates it groups by
	// GroupBy, optionally per time bucket (Bucket) and cut to the TopN
	// groups by the first aggregate, the rest folded into one "other" row.
	RecordKind string            `json:"recordKind,omitempty"`
	Filters    []RecordFilter    `json:"filters,omitempty"`
	Aggregates []RecordAggregate `json:"aggregates,omitempty"`
	// Bucket is "" (one row per group over the whole range), "auto"
	// (Grafana's interval) or a duration such as "1m".
	Bucket  string   `json:"bucket,omitempty"`
	TopN    int      `json:"topN,omitempty"`
	Other   bool     `json:"other,omitempty"`
	Columns []string `json:"columns,omitempty"`
	Limit   int      `json:"limit,omitempty"`
	// Field makes a records query a variable query: the values of this
	// field (most frequent first), {"kind":"records","field":"src_addr"}.
	Field string `json:"field,omitempty"`

	// Flow picks the flows of a path query: one flow id
	// ("10.1.1.10:40000 > 10.2.2.20:443 tcp"), or several as a JSON array
	// string or Grafana's {a,b}; empty means the TopN flows by their worst
	// latency in range.
	Flow string `json:"flow,omitempty"`
	// SwitchNames names INT switches, "id=name" separated by commas or
	// newlines; it overrides the data source's intSwitchNames per id.
	SwitchNames string `json:"switchNames,omitempty"`

	// Live asks for a Grafana Live channel on the result so new points
	// arrive without a refresh.
	Live bool `json:"live,omitempty"`
	// Instant evaluates once at the end of the range (tables, stat panels).
	Instant bool `json:"instant,omitempty"`
}

// Matcher is one label filter; Op is one of = != =~ !~ as in PromQL.
type Matcher struct {
	Label string `json:"label"`
	Op    string `json:"op"`
	Value string `json:"value"`
}

// Record filter operators (the record store's own). Values are text as the editor shows them:
// addresses, numbers, names; "cidr" takes prefixes, "range" takes "lo-hi".
const (
	OpEqual    = records.OpEqual
	OpNotEqual = records.OpNotEqual
	OpIn       = records.OpIn
	OpNotIn    = records.OpNotIn
	OpCIDR     = records.OpCIDR
	OpNotCIDR  = records.OpNotCIDR
	OpRange    = records.OpRange
	OpLess     = records.OpLess
	OpLessEq   = records.OpLessEq
	OpGreater  = records.OpGreater
	OpGreatEq  = records.OpGreatEq
)

// RecordFilter narrows records on one field; several filters all apply.
type RecordFilter struct {
	Field  string   `json:"field"`
	Op     string   `json:"op"`
	Values []string `json:"values"`
}

// RecordAggregate is one computed column: Func is sum, count, avg, min, max
// or a quantile p50, p90, p95, p99; Field is empty for count.
type RecordAggregate struct {
	Func  string `json:"func"`
	Field string `json:"field,omitempty"`
}
