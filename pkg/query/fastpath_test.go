package query

import (
	"context"
	"math"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"

	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/store"
)

func TestPlanFastShapes(t *testing.T) {
	for expr, fast := range map[string]bool{
		`m`:                                    true,
		`{__name__="m", device="fw1"}`:         true,
		`rate(m[5m])`:                          true,
		`increase(m{iface!~"lo.*"}[90s])`:      true,
		`sum by (device) (rate(m[1m]))`:        true,
		`avg without (iface) (m)`:              true,
		`(count((m)))`:                         true,
		`max(increase(m[2m]))`:                 true,
		`min by (__name__) (m)`:                true,
		`m offset 5m`:                          false, // offsets and @ move the window
		`rate(m[5m] offset 1m)`:                false,
		`m @ 1700000000`:                       false,
		`irate(m[1m])`:                         false, // other functions
		`delta(m[1m])`:                         false,
		`rate(m[5m:1m])`:                       false, // subquery
		`m + 1`:                                false, // binary operators
		`sum(m) / 2`:                           false,
		`sum(sum(m))`:                          false, // nested aggregations
		`topk(3, m)`:                           false, // aggregations with a parameter
		`stddev(m)`:                            false,
		`{__name__=~"m|n"}`:                    false, // not one metric name
		`{device="fw1"}`:                       false,
		`sum by (device) (m offset 1m)`:        false,
		`sum by (device) (rate(m[1m])) > 100`:  false,
		`label_replace(m, "a", "b", "c", "d")`: false,
	} {
		if _, ok := planFast(expr); ok != fast {
			t.Errorf("planFast(%s) = %v, want %v", expr, ok, fast)
		}
	}
}

// exampleStore holds hand-made series: name, labels and (seconds after t0,
// value) pairs.
func exampleStore(t *testing.T, series ...exampleSeries) *store.Store {
	t.Helper()
	st := openStore(t)
	var samples []model.Sample
	for _, s := range series {
		for _, p := range s.points {
			samples = append(samples, model.Sample{Name: s.name, Labels: s.labels, TimestampMs: t0.Add(time.Duration(p[0] * float64(time.Second))).UnixMilli(), Value: p[1], Kind: model.KindGauge})
		}
	}
	appendAll(t, st, samples)
	return st
}

type exampleSeries struct {
	name   string
	labels model.Labels
	points [][2]float64
}

// both runs expr through the fast path and the engine, requires the same
// result from both and returns it.
func both(t *testing.T, st *store.Store, expr string, from, to, step time.Duration) promql.Matrix {
	t.Helper()
	c := diffCase{expr: expr, start: t0.Add(from), end: t0.Add(to), step: step}
	checkSame(t, st, c)
	m, err := st.RangeQuery(context.Background(), c.expr, c.start, c.end, c.step)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// values lists a one-series result as "seconds after t0: value".
func values(t *testing.T, m promql.Matrix) map[float64]float64 {
	t.Helper()
	if len(m) != 1 {
		t.Fatalf("%d series, want 1: %v", len(m), m)
	}
	out := map[float64]float64{}
	for _, p := range m[0].Floats {
		out[time.UnixMilli(p.T).Sub(t0).Seconds()] = p.F
	}
	return out
}

func steady(name string, ls model.Labels, every, until, perStep float64) exampleSeries {
	s := exampleSeries{name: name, labels: ls}
	for x := 0.0; x <= until; x += every {
		s.points = append(s.points, [2]float64{x, x / every * perStep})
	}
	return s
}

func TestFastPathRateOfASteadyCounter(t *testing.T) {
	// +100 every 10 s is 10/s. A 1m window holds six samples spanning 50 s;
	// the first lies one interval from the window's start, close enough
	// to extrapolate the 500 seen to the whole minute.
	st := exampleStore(t, steady("bytes", model.Labels{{Name: "device", Value: "fw1"}}, 10, 600, 100))
	for at, v := range values(t, both(t, st, `rate(bytes[1m])`, 2*time.Minute, 5*time.Minute, time.Minute)) {
		if v != 10 {
			t.Errorf("rate at %vs = %v, want 10", at, v)
		}
	}
	for at, v := range values(t, both(t, st, `increase(bytes[1m])`, 2*time.Minute, 5*time.Minute, time.Minute)) {
		if v != 600 {
			t.Errorf("increase at %vs = %v, want 600", at, v)
		}
	}
}

func TestFastPathRateWindowIsOpenOnTheLeft(t *testing.T) {
	// Samples a minute apart: (t-1m, t] holds one of them, never two, so
	// rate(x[1m]) says nothing; a 2m window holds two.
	st := exampleStore(t, steady("x", nil, 60, 600, 60))
	if m := both(t, st, `rate(x[1m])`, 0, 10*time.Minute, 30*time.Second); len(m) != 0 {
		t.Errorf("rate over windows holding one sample gave %v", m)
	}
	if got := values(t, both(t, st, `rate(x[2m])`, 2*time.Minute, 2*time.Minute, time.Minute)); got[120] != 1 {
		t.Errorf("rate(x[2m]) at 120s = %v, want 1", got)
	}
}

func TestFastPathCounterReset(t *testing.T) {
	// 0, 100, 200, then a restart: 50, 150. The increase is 200 before the
	// reset plus 150 after it; the series starts at zero, so nothing is
	// extrapolated before the first sample.
	st := exampleStore(t, exampleSeries{name: "c", points: [][2]float64{{10, 0}, {20, 100}, {30, 200}, {40, 50}, {50, 150}}})
	if got := values(t, both(t, st, `increase(c[50s])`, 50*time.Second, 50*time.Second, time.Second)); got[50] != 350 {
		t.Errorf("increase = %v, want 350", got)
	}
}

func TestFastPathLookback(t *testing.T) {
	// One sample at t0: an instant selector sees it for five minutes,
	// the lookback delta, up to but not including t0+5m.
	st := exampleStore(t, exampleSeries{name: "g", points: [][2]float64{{0, 7}}})
	got := values(t, both(t, st, `g`, 0, 5*time.Minute, 150*time.Second))
	want := map[float64]float64{0: 7, 150: 7}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("g = %v, want %v", got, want)
	}
}

func TestFastPathLabels(t *testing.T) {
	var series []exampleSeries
	for d := range 2 {
		for i := range 3 {
			ls := model.Labels{{Name: "device", Value: "fw" + strconv.Itoa(d)}, {Name: "iface", Value: "if" + strconv.Itoa(i)}}
			series = append(series, steady("bytes", ls, 10, 300, float64(10*(i+1))))
		}
	}
	st := exampleStore(t, series...)
	for expr, want := range map[string][]string{
		// A selector keeps the metric name...
		`bytes{iface="if0"}`: {`{__name__="bytes", device="fw0", iface="if0"}`, `{__name__="bytes", device="fw1", iface="if0"}`},
		// ...rate drops it...
		`rate(bytes{device="fw1"}[1m])`: {`{device="fw1", iface="if0"}`, `{device="fw1", iface="if1"}`, `{device="fw1", iface="if2"}`},
		// ...an aggregation keeps only its grouping...
		`sum by (device) (rate(bytes[1m]))`: {`{device="fw0"}`, `{device="fw1"}`},
		`max(bytes)`:                        {`{}`},
		// ...and without drops the metric name too.
		`count without (device) (bytes)`: {`{iface="if0"}`, `{iface="if1"}`, `{iface="if2"}`},
	} {
		m := both(t, st, expr, time.Minute, 4*time.Minute, 30*time.Second)
		got := seriesNames(m)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: series %v, want %v", expr, got, want)
		}
	}
	// Each fw device sums 1 + 2 + 3 per second.
	for at, v := range values(t, both(t, st, `sum by (device) (rate(bytes{device="fw0"}[1m]))`, time.Minute, 4*time.Minute, time.Minute)) {
		if math.Abs(v-6) > 1e-12 {
			t.Errorf("sum of rates at %vs = %v, want 6", at, v)
		}
	}
}

func TestFastPathSumsLikeTheEngine(t *testing.T) {
	st := exampleStore(t,
		exampleSeries{name: "g", labels: model.Labels{{Name: "k", Value: "a"}}, points: [][2]float64{{0, 1e16}}},
		exampleSeries{name: "g", labels: model.Labels{{Name: "k", Value: "b"}}, points: [][2]float64{{0, 1}}},
		exampleSeries{name: "g", labels: model.Labels{{Name: "k", Value: "c"}}, points: [][2]float64{{0, -1e16}}},
		exampleSeries{name: "h", labels: model.Labels{{Name: "k", Value: "a"}}, points: [][2]float64{{0, 1.5e308}}},
		exampleSeries{name: "h", labels: model.Labels{{Name: "k", Value: "b"}}, points: [][2]float64{{0, 1.5e308}}},
	)
	// A plain float sum loses the 1 next to 1e16; the engine's
	// compensated sum keeps it, and so must the fast path.
	if got := values(t, both(t, st, `sum(g)`, 0, 0, time.Second)); got[0] != 1 {
		t.Errorf("sum(g) = %v, want 1", got)
	}
	// The sum of two 1.5e308 overflows; the engine then switches to a
	// running mean, which does not.
	if got := values(t, both(t, st, `avg(h)`, 0, 0, time.Second)); got[0] != 1.5e308 {
		t.Errorf("avg(h) = %v, want 1.5e308", got)
	}
}

func TestExecuteFastPathFramesMatchEngine(t *testing.T) {
	st := testStore(t)
	tr := backend.TimeRange{From: t0.Add(5 * time.Minute), To: t0.Add(30 * time.Minute)}
	for _, q := range []Query{
		{RefID: "A", Metric: "ftd_cpu_utilisation", LegendFormat: "{{device}}"},
		{RefID: "B", Metric: "ftd_interface_bytes_in", Rate: true},
		{RefID: "C", Metric: "ftd_cpu_utilisation", Aggregation: "avg"},
		{RefID: "D", Metric: "ftd_cpu_utilisation", Format: FormatTable},
		{RefID: "E", Metric: "nothing_here"},
	} {
		fast, err := Execute(context.Background(), st, q, tr, time.Minute, 1000)
		if err != nil {
			t.Fatal(err)
		}
		engine, err := Execute(context.Background(), engineOnly{st}, q, tr, time.Minute, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fast, engine) {
			t.Errorf("%s: fast path frames differ from the engine's", q.RefID)
		}
	}
}

func TestFastPathStopsWithItsContext(t *testing.T) {
	st := exampleStore(t, steady("x", nil, 10, 600, 1))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p, ok := planFast(`rate(x[1m])`)
	if !ok {
		t.Fatal("not taken")
	}
	called := false
	err := p.run(ctx, st, t0, t0.Add(10*time.Minute), time.Second, func(promql.Matrix) error { called = true; return nil })
	if err == nil || called {
		t.Fatalf("cancelled query: err %v, result delivered %v", err, called)
	}
}

func TestSeriesFramesParallelKeepsOrder(t *testing.T) {
	m := make(promql.Matrix, 3*minParallelFrames+7)
	for i := range m {
		m[i] = promql.Series{
			Metric: labels.FromStrings(labels.MetricName, "m", "i", strconv.Itoa(i)),
			Floats: []promql.FPoint{{T: int64(i), F: float64(i)}, {T: int64(i) + 1, F: -float64(i)}},
		}
	}
	leg, err := newLegend("{{i}}")
	if err != nil {
		t.Fatal(err)
	}
	want := seriesFrames(m, "m", leg)
	got := seriesFramesParallel(m, "m", leg)
	if !reflect.DeepEqual(got, want) {
		t.Fatal("parallel frames differ from seriesFrames")
	}
	if len(seriesFramesParallel(nil, "m", nil)) != 1 {
		t.Fatal("an empty result must still give one empty frame")
	}
}
