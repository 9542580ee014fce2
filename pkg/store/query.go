package store

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
)

// RangeQuery evaluates expr at every step from start to end. A scalar
// expression comes back as one series without labels, as PromQL does for
// range queries. The result is the caller's to keep.
func (s *Store) RangeQuery(ctx context.Context, expr string, start, end time.Time, step time.Duration) (promql.Matrix, error) {
	var out promql.Matrix
	err := s.RangeQueryFunc(ctx, expr, start, end, step, func(m promql.Matrix) error {
		out = copyMatrix(m)
		return nil
	})
	return out, err
}

// RangeQueryFunc is RangeQuery without the copy: fn sees the engine's own
// result, which goes back to the engine's pools when fn returns, so fn must
// not keep it (or any of its point slices). Frame building uses it to save
// a copy of every point of a large result.
func (s *Store) RangeQueryFunc(ctx context.Context, expr string, start, end time.Time, step time.Duration, fn func(promql.Matrix) error) error {
	if step <= 0 {
		return fmt.Errorf("range query: step %s must be positive", step)
	}
	if end.Before(start) {
		return fmt.Errorf("range query: end %s before start %s", end, start)
	}
	release, err := s.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	q, err := s.engine.NewRangeQuery(ctx, s.db, nil, expr, start, end, step)
	if err != nil {
		return err
	}
	defer q.Close()
	res := q.Exec(ctx)
	if res.Err != nil {
		return fmt.Errorf("range query %q: %w", expr, res.Err)
	}
	m, err := res.Matrix()
	if err != nil {
		return fmt.Errorf("range query %q: %w", expr, err)
	}
	return fn(m)
}

// InstantQuery evaluates expr once at ts. It returns a Vector for every
// numeric result: a scalar expression (such as "1 + 1") becomes one sample
// without labels, so callers handle one shape. String results are an error.
func (s *Store) InstantQuery(ctx context.Context, expr string, ts time.Time) (promql.Vector, error) {
	release, err := s.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	q, err := s.engine.NewInstantQuery(ctx, s.db, nil, expr, ts)
	if err != nil {
		return nil, err
	}
	defer q.Close()
	res := q.Exec(ctx)
	if res.Err != nil {
		return nil, fmt.Errorf("instant query %q: %w", expr, res.Err)
	}
	switch v := res.Value.(type) {
	case promql.Vector:
		out := make(promql.Vector, 0, len(v))
		for _, smp := range v {
			if smp.H != nil {
				continue // the store holds floats only
			}
			out = append(out, smp)
		}
		return out, nil
	case promql.Scalar:
		return promql.Vector{{T: v.T, F: v.V, Metric: labels.EmptyLabels()}}, nil
	case promql.Matrix:
		// A range selector at the top level ("m[5m]") has no single value
		// per series at ts.
		return nil, fmt.Errorf("instant query %q: result is a range vector; wrap it in a function such as rate()", expr)
	default:
		return nil, fmt.Errorf("instant query %q: unsupported result type %s", expr, res.Value.Type())
	}
}

// acquire waits for a query slot or the end of ctx.
func (s *Store) acquire(ctx context.Context) (release func(), err error) {
	select {
	case s.querySlots <- struct{}{}:
		return func() { <-s.querySlots }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for a query slot (%d running): %w", cap(s.querySlots), ctx.Err())
	}
}

// copyMatrix detaches the result from the engine's pools (released by
// q.Close) and drops histogram-only series, which the store never writes.
func copyMatrix(m promql.Matrix) promql.Matrix {
	out := make(promql.Matrix, 0, len(m))
	for _, ser := range m {
		if len(ser.Floats) == 0 {
			continue
		}
		ser.Floats = append([]promql.FPoint(nil), ser.Floats...)
		ser.Histograms = nil
		out = append(out, ser)
	}
	return out
}

// LabelNames lists the label names of series with data between start and
// end that match all matchers (all series when there are none).
func (s *Store) LabelNames(ctx context.Context, start, end time.Time, matchers ...*labels.Matcher) ([]string, error) {
	q, err := s.db.Querier(start.UnixMilli(), end.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("label names: %w", err)
	}
	defer q.Close()
	names, _, err := q.LabelNames(ctx, nil, matchers...)
	if err != nil {
		return nil, fmt.Errorf("label names: %w", err)
	}
	return append([]string(nil), names...), nil
}

// LabelValues lists the values of label name among series with data
// between start and end that match all matchers.
func (s *Store) LabelValues(ctx context.Context, name string, start, end time.Time, matchers ...*labels.Matcher) ([]string, error) {
	q, err := s.db.Querier(start.UnixMilli(), end.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("label values of %s: %w", name, err)
	}
	defer q.Close()
	vals, _, err := q.LabelValues(ctx, name, nil, matchers...)
	if err != nil {
		return nil, fmt.Errorf("label values of %s: %w", name, err)
	}
	return append([]string(nil), vals...), nil
}

// Metrics lists the metric names with data between start and end that match
// all matchers, with the kind, family and help the catalog holds for them.
func (s *Store) Metrics(ctx context.Context, start, end time.Time, matchers ...*labels.Matcher) ([]MetricInfo, error) {
	names, err := s.LabelValues(ctx, labels.MetricName, start, end, matchers...)
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	return s.cat.list(names), nil
}

// Metric returns what the catalog knows about one metric name.
func (s *Store) Metric(name string) (MetricInfo, bool) { return s.cat.get(name) }

// ParseExpr parses PromQL the way the store's engine does, so callers can
// check and rewrite expressions before running them.
func ParseExpr(expr string) (parser.Expr, error) { return promqlParser.ParseExpr(expr) }

var promqlParser = parser.NewParser(parser.Options{})
