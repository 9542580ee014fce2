package query

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/pipeline/flows"
	"github.com/netlens/netlens/pkg/pipeline/intmap"
)

// DefaultScrapeInterval is how often a series gets a new sample when the
// caller does not know better: FTD streams every 60 s by default.
const DefaultScrapeInterval = 60 * time.Second

// XRScrapeInterval is the cadence $__rate_interval assumes for IOS XR
// series. XR data comes at each policy group's period (5 s to a day) or
// each subscription's sample interval, which the query does not know; the
// receiver's own health series come every 10 s. 30 s is the period of
// Cisco's examples for interface counters and the common production
// choice, so $__rate_interval is 2 minutes: four samples at 30 s, twelve at
// 10 s, and still the two rate() needs at 60 s. Slower groups (inventory,
// hourly) are gauges or want a longer window chosen in the panel.
const XRScrapeInterval = 30 * time.Second

// ScrapeIntervalOf is how often a source's series get samples: FTD devices
// stream every 60 s by default, the IPFIX collector writes its volume
// counters every flows.EmitIntervalMs, and XR as XRScrapeInterval says. An
// unknown or empty source keeps the conservative default.
func ScrapeIntervalOf(source Source) time.Duration {
	switch source {
	case string(model.SourceIPFIX):
		return flows.EmitIntervalMs * time.Millisecond
	case string(model.SourceXR):
		return XRScrapeInterval
	case string(model.SourceINT):
		// intmap and the INT receiver write their series every 10 s.
		return intmap.EmitIntervalMs * time.Millisecond
	}
	return DefaultScrapeInterval
}

// MinRateInterval is the floor of $__rate_interval whatever the scrape
// interval says, so a misconfigured 1 s scrape interval does not make every
// rate() empty.
const MinRateInterval = 30 * time.Second

// Vars are Grafana's built-in variables for one query.
type Vars struct {
	// Interval is $__interval: the time one data point stands for.
	Interval time.Duration
	// ScrapeInterval is how often the series get samples; 0 means
	// DefaultScrapeInterval.
	ScrapeInterval time.Duration
	// Range is $__range: the dashboard's time range.
	Range time.Duration
}

// RateInterval is $__rate_interval: max(Interval, 4 * scrape interval),
// never below MinRateInterval. rate() needs two samples inside its window;
// four scrape intervals still hold two after a lost or late message, and
// with FTD's 60 s default a window of one $__interval (often 15 s) would
// hold none.
func (v Vars) RateInterval() time.Duration {
	scrape := v.ScrapeInterval
	if scrape <= 0 {
		scrape = DefaultScrapeInterval
	}
	return max(v.Interval, 4*scrape, MinRateInterval)
}

// Aggregations the builder offers.
var aggregations = map[string]parser.ItemType{
	"sum": parser.SUM, "avg": parser.AVG, "min": parser.MIN, "max": parser.MAX, "count": parser.COUNT,
}

// promqlParser parses with the engine's defaults (no experimental functions).
var promqlParser = parser.NewParser(parser.Options{})

// BuildPromQL turns a series query into the PromQL the store runs. Builder
// mode composes the expression from the editor's fields; code mode takes
// Expr with Grafana's variables substituted. Both are parsed, narrowed by
// the ad-hoc filters and printed back, so what runs is always valid PromQL
// and the user's quoting never leaks into it.
func BuildPromQL(q Query, vars Vars) (string, error) {
	var (
		expr parser.Expr
		err  error
	)
	switch q.EditorMode {
	case ModeCode:
		expr, err = parseCode(q.Expr, vars)
	case ModeBuilder, "":
		expr, err = buildExpr(q, vars)
	default:
		return "", fmt.Errorf("unknown editor mode %q", q.EditorMode)
	}
	if err != nil {
		return "", err
	}
	if err := applyAdhocFilters(expr, q.AdhocFilters); err != nil {
		return "", err
	}
	return expr.String(), nil
}

func buildExpr(q Query, vars Vars) (parser.Expr, error) {
	if q.Metric == "" {
		return nil, errors.New("builder: choose a metric")
	}
	if !model.ValidMetricName(q.Metric) {
		return nil, fmt.Errorf("builder: %q is not a metric name", q.Metric)
	}
	ms := make([]*labels.Matcher, 0, len(q.Matchers)+1)
	ms = append(ms, labels.MustNewMatcher(labels.MatchEqual, labels.MetricName, q.Metric))
	for _, m := range q.Matchers {
		lm, err := newMatcher(m)
		if err != nil {
			return nil, fmt.Errorf("builder: %w", err)
		}
		ms = append(ms, lm)
	}
	var expr parser.Expr = &parser.VectorSelector{Name: q.Metric, LabelMatchers: ms}
	if q.Rate {
		expr = &parser.Call{
			Func: parser.Functions["rate"],
			Args: parser.Expressions{&parser.MatrixSelector{VectorSelector: expr, Range: vars.RateInterval()}},
		}
	}
	if q.Aggregation != "" {
		op, ok := aggregations[q.Aggregation]
		if !ok {
			return nil, fmt.Errorf("builder: unknown aggregation %q (sum, avg, min, max, count)", q.Aggregation)
		}
		for _, g := range q.GroupBy {
			if !model.ValidLabelName(g) {
				return nil, fmt.Errorf("builder: group by %q: not a label name", g)
			}
		}
		expr = &parser.AggregateExpr{Op: op, Expr: expr, Grouping: append([]string(nil), q.GroupBy...)}
	} else if len(q.GroupBy) > 0 {
		return nil, errors.New("builder: group by needs an aggregation")
	}
	// Print and parse again: the parser is the judge of what the engine
	// accepts, and this fills in what a hand-built AST lacks (positions).
	return promqlParser.ParseExpr(expr.String())
}

var matchTypes = map[string]labels.MatchType{
	"=": labels.MatchEqual, "!=": labels.MatchNotEqual, "=~": labels.MatchRegexp, "!~": labels.MatchNotRegexp,
}

func newMatcher(m Matcher) (*labels.Matcher, error) {
	t, ok := matchTypes[m.Op]
	if !ok {
		return nil, fmt.Errorf("label %q: operator %q is not one of = != =~ !~", m.Label, m.Op)
	}
	if !model.ValidLabelName(m.Label) {
		return nil, fmt.Errorf("%q is not a label name", m.Label)
	}
	lm, err := labels.NewMatcher(t, m.Label, m.Value)
	if err != nil {
		// Only regexes fail here.
		return nil, fmt.Errorf("label %q: bad regular expression %q: %w", m.Label, m.Value, err)
	}
	return lm, nil
}

// parseCode substitutes Grafana's variables and parses the expression,
// pointing at the place of a syntax error.
func parseCode(raw string, vars Vars) (parser.Expr, error) {
	text := substitute(raw, vars)
	if strings.TrimSpace(text) == "" {
		return nil, errors.New("code: the query is empty")
	}
	expr, err := promqlParser.ParseExpr(text)
	if err != nil {
		return nil, positionError(text, err)
	}
	return expr, nil
}

// positionError rewrites the parser's error as "line:column: message"
// followed by the offending line and a caret under the position, which the
// query editor shows as is.
func positionError(text string, err error) error {
	var perrs parser.ParseErrors
	var perr *parser.ParseErr
	switch {
	case errors.As(err, &perrs) && len(perrs) > 0:
		perr = &perrs[0]
	case errors.As(err, &perr):
	default:
		return fmt.Errorf("code: %w", err)
	}
	pos := int(perr.PositionRange.Start)
	if pos < 0 || pos > len(text) {
		return fmt.Errorf("code: %w", err)
	}
	lineStart := strings.LastIndexByte(text[:pos], '\n') + 1
	lineEnd := strings.IndexByte(text[pos:], '\n')
	if lineEnd < 0 {
		lineEnd = len(text)
	} else {
		lineEnd += pos
	}
	line := 1 + strings.Count(text[:pos], "\n")
	col := pos - lineStart + 1
	return fmt.Errorf("code: syntax error at line %d, column %d: %v\n%s\n%s^",
		line, col, perr.Err, text[lineStart:lineEnd], strings.Repeat(" ", pos-lineStart))
}

// substitute replaces Grafana's interval and range variables, in both the
// $name and ${name} spellings. Longer names come first so $__interval_ms is
// not read as $__interval followed by "_ms".
func substitute(s string, v Vars) string {
	if !strings.Contains(s, "$") {
		return s
	}
	iv := max(v.Interval, time.Millisecond)
	rate := v.RateInterval()
	pairs := []struct{ name, value string }{
		{"__rate_interval_ms", strconv.FormatInt(rate.Milliseconds(), 10)},
		{"__rate_interval", promDuration(rate)},
		{"__interval_ms", strconv.FormatInt(iv.Milliseconds(), 10)},
		{"__interval", promDuration(iv)},
		{"__range_ms", strconv.FormatInt(v.Range.Milliseconds(), 10)},
		{"__range_s", strconv.FormatInt(int64(v.Range/time.Second), 10)},
		{"__range", promDuration(max(v.Range, time.Millisecond))},
	}
	args := make([]string, 0, 4*len(pairs))
	for _, p := range pairs {
		args = append(args, "${"+p.name+"}", p.value)
	}
	for _, p := range pairs {
		args = append(args, "$"+p.name, p.value)
	}
	return strings.NewReplacer(args...).Replace(s)
}

// promDuration prints d in PromQL's duration syntax with the largest unit
// that divides it, rounded down to milliseconds.
func promDuration(d time.Duration) string {
	d = d.Truncate(time.Millisecond)
	switch {
	case d <= 0:
		return "0s"
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	case d%time.Second == 0:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	default:
		return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
	}
}

// applyAdhocFilters narrows every vector selector of expr (including those
// inside range selectors and subqueries) by the dashboard's ad-hoc filters.
func applyAdhocFilters(expr parser.Expr, filters []Matcher) error {
	if len(filters) == 0 {
		return nil
	}
	ms := make([]*labels.Matcher, 0, len(filters))
	for _, f := range filters {
		m, err := newMatcher(f)
		if err != nil {
			return fmt.Errorf("ad-hoc filter: %w", err)
		}
		ms = append(ms, m)
	}
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			vs.LabelMatchers = append(vs.LabelMatchers, ms...)
		}
		return nil
	})
	return nil
}
