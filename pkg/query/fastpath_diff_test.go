package query

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"

	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/store"
)

// The differential tests hold the fast path to the engine: the same random
// data and query through both must give the same series with the same
// points, values equal within 1e-9 relative (they are in fact computed by
// the same operations).

// source draws the choices a case is made of: a seeded generator for the
// random test, the fuzzer's bytes for the fuzz target.
type source interface{ intn(n int) int }

type randSource struct{ r *rand.Rand }

func (s randSource) intn(n int) int { return s.r.IntN(n) }

// byteSource reads choices from bytes; past their end every choice is 0.
type byteSource struct{ b []byte }

func (s *byteSource) intn(n int) int {
	if n <= 1 {
		return 0
	}
	var v uint32
	if len(s.b) >= 2 {
		v = uint32(binary.LittleEndian.Uint16(s.b))
		s.b = s.b[2:]
	} else if len(s.b) == 1 {
		v = uint32(s.b[0])
		s.b = s.b[1:]
	}
	return int(v % uint32(n))
}

// diffCase is data plus a query.
type diffCase struct {
	// id, when set, is a label on every series and a matcher of every
	// selector, so many cases can share one store.
	id         string
	samples    []model.Sample
	expr       string
	start, end time.Time
	step       time.Duration
}

func (c diffCase) String() string {
	s := fmt.Sprintf("%s from %s to %s step %s", c.expr, c.start.Format(time.TimeOnly), c.end.Format(time.TimeOnly), c.step)
	if len(c.samples) > 0 {
		s += fmt.Sprintf(" over %d samples", len(c.samples))
	}
	return s
}

// genValue picks the next sample value of a series: counters that grow by
// nothing, a little or a lot, reset to zero or to a smaller value, and
// gauges that jump anywhere including negatives and numbers near float64's
// limit (so sums overflow and averages switch to their running mean).
func genValue(src source, prev float64) float64 {
	switch src.intn(14) {
	case 0:
		return 0 // counter reset to zero
	case 1:
		return math.Floor(prev / 2) // reset to a smaller value
	case 2:
		return prev // no change
	case 3:
		return prev + float64(src.intn(1<<16))*1e12 // large step
	case 4:
		return -float64(src.intn(1000)) // a gauge below zero
	case 5:
		return float64(src.intn(9)+1) * 1e307 // near the limit
	case 6:
		return float64(src.intn(1000)) / 7 // fractional gauge
	default:
		return prev + float64(src.intn(5000))
	}
}

var (
	windows = []string{"1ms", "1s", "10s", "15s", "1m", "90s", "2m", "5m", "7m13s", "1h"}
	steps   = []time.Duration{time.Second, 7 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second, time.Minute, 137 * time.Second, 5 * time.Minute}
	groups  = []string{"device", "iface", "zone", "__name__", "nope"}
)

// genCase builds a case: up to maxSeries series of metrics m and other
// (so the name matcher has something to exclude), with irregular
// timestamps and gaps longer than the lookback delta, and a query of one
// of the fast path's shapes.
func genCase(src source, id string, maxSeries, maxSamples int) diffCase {
	c := diffCase{id: id}
	nSeries := 1 + src.intn(maxSeries)
	for i := range nSeries {
		name := "m"
		if src.intn(5) == 0 {
			name = "other"
		}
		ls := model.Labels{{Name: "device", Value: "d" + strconv.Itoa(i%4)}, {Name: "iface", Value: "i" + strconv.Itoa(i)}}
		if src.intn(3) == 0 {
			ls = append(ls, model.Label{Name: "zone", Value: "z" + strconv.Itoa(src.intn(2))})
		}
		if id != "" {
			ls = append(model.Labels{{Name: "case", Value: id}}, ls...)
		}
		ts := t0.UnixMilli() + int64(src.intn(600_000))
		v := float64(src.intn(100))
		for range src.intn(maxSamples + 1) {
			c.samples = append(c.samples, model.Sample{Name: name, Labels: ls, TimestampMs: ts, Value: v, Kind: model.KindCounter})
			switch src.intn(12) {
			case 0: // a gap longer than the lookback delta
				ts += int64(300_000 + src.intn(1_200_000))
			case 1: // samples a millisecond apart
				ts++
			default: // a scrape interval with jitter
				ts += int64(1000 + src.intn(90_000))
			}
			v = genValue(src, v)
		}
	}

	sel := "m"
	switch src.intn(6) {
	case 0:
		sel = `m{device="d1"}`
	case 1:
		sel = `m{iface!="i2"}`
	case 2:
		sel = `m{device=~"d[02]"}`
	case 3:
		sel = `{__name__="m",iface!~"i1.*"}`
	}
	expr := sel
	switch src.intn(3) {
	case 1:
		expr = "rate(" + sel + "[" + windows[src.intn(len(windows))] + "])"
	case 2:
		expr = "increase(" + sel + "[" + windows[src.intn(len(windows))] + "])"
	}
	if op := []string{"", "sum", "avg", "min", "max", "count"}[src.intn(6)]; op != "" {
		var g []string
		for _, l := range groups {
			if src.intn(3) == 0 {
				g = append(g, l)
			}
		}
		switch src.intn(3) {
		case 0:
			expr = op + "(" + expr + ")"
		case 1:
			expr = op + " by (" + strings.Join(g, ", ") + ") (" + expr + ")"
		default:
			expr = op + " without (" + strings.Join(g, ", ") + ") (" + expr + ")"
		}
	}
	c.expr = expr
	if id != "" {
		e, err := promqlParser.ParseExpr(expr)
		if err != nil {
			panic(fmt.Sprintf("generated %q: %v", expr, err))
		}
		if err := applyAdhocFilters(e, []Matcher{{Label: "case", Op: "=", Value: id}}); err != nil {
			panic(err)
		}
		c.expr = e.String()
	}
	c.step = steps[src.intn(len(steps))]
	c.start = t0.Add(time.Duration(src.intn(7200)-600) * time.Second).Add(time.Duration(src.intn(1000)) * time.Millisecond)
	c.end = c.start.Add(time.Duration(src.intn(7200)) * time.Second)
	return c
}

func openStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(store.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// appendAll stores samples in time order, so cases that share a store do
// not push each other's samples out of the out-of-order window.
func appendAll(t testing.TB, st *store.Store, samples []model.Sample) {
	t.Helper()
	slices.SortStableFunc(samples, func(a, b model.Sample) int { return cmp.Compare(a.TimestampMs, b.TimestampMs) })
	for len(samples) > 0 {
		n := min(len(samples), 5000)
		res, err := st.Append(context.Background(), samples[:n])
		if err != nil || res.Rejected != 0 {
			t.Fatalf("append: %+v %v", res, err)
		}
		samples = samples[n:]
	}
}

// checkSame runs the case's query through the engine and the fast path and
// fails on any difference.
func checkSame(t testing.TB, st *store.Store, c diffCase) {
	t.Helper()
	ctx := context.Background()
	want, err := st.RangeQuery(ctx, c.expr, c.start, c.end, c.step)
	if err != nil {
		t.Fatalf("%s: engine: %v", c, err)
	}
	p, ok := planFast(c.expr)
	if !ok {
		t.Fatalf("%s: the fast path does not take it", c)
	}
	var got promql.Matrix
	err = p.run(ctx, st, c.start, c.end, c.step, func(m promql.Matrix) error {
		got = deepCopy(m)
		return nil
	})
	if err != nil {
		t.Fatalf("%s: fast path: %v", c, err)
	}
	if diff := matrixDiff(want, got); diff != "" {
		t.Fatalf("%s: fast path differs from the engine: %s", c, diff)
	}
}

func deepCopy(m promql.Matrix) promql.Matrix {
	out := make(promql.Matrix, len(m))
	for i, s := range m {
		out[i] = promql.Series{Metric: s.Metric, Floats: append([]promql.FPoint(nil), s.Floats...)}
	}
	return out
}

// matrixDiff describes the first difference between two results.
func matrixDiff(want, got promql.Matrix) string {
	if len(want) != len(got) {
		return fmt.Sprintf("%d series, engine has %d (engine %v, fast %v)", len(got), len(want), seriesNames(want), seriesNames(got))
	}
	for i := range want {
		w, g := want[i], got[i]
		if !labels.Equal(w.Metric, g.Metric) {
			return fmt.Sprintf("series %d is %s, engine has %s", i, g.Metric, w.Metric)
		}
		if len(w.Floats) != len(g.Floats) {
			return fmt.Sprintf("%s: %d points, engine has %d (engine %v, fast %v)", w.Metric, len(g.Floats), len(w.Floats), w.Floats, g.Floats)
		}
		for j := range w.Floats {
			wp, gp := w.Floats[j], g.Floats[j]
			if wp.T != gp.T || !sameFloat(wp.F, gp.F) {
				return fmt.Sprintf("%s point %d: %v@%d, engine has %v@%d", w.Metric, j, gp.F, gp.T, wp.F, wp.T)
			}
		}
	}
	return ""
}

func seriesNames(m promql.Matrix) []string {
	out := make([]string, len(m))
	for i, s := range m {
		out[i] = s.Metric.String()
	}
	return out
}

func sameFloat(a, b float64) bool {
	switch {
	case math.IsNaN(a) || math.IsNaN(b):
		return math.IsNaN(a) && math.IsNaN(b)
	case a == b: // also equal infinities
		return true
	case math.IsInf(a, 0) || math.IsInf(b, 0):
		return false
	}
	return math.Abs(a-b) <= 1e-9*max(math.Abs(a), math.Abs(b))
}

func TestFastPathMatchesEngine(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 0x6e65746c656e73))
	cases := make([]diffCase, 400)
	var all []model.Sample
	for i := range cases {
		cases[i] = genCase(randSource{r}, strconv.Itoa(i), 30, 400)
		all = append(all, cases[i].samples...)
	}
	st := openStore(t)
	appendAll(t, st, all)
	for i, c := range cases {
		t.Run(strconv.Itoa(i), func(t *testing.T) { checkSame(t, st, c) })
	}
}

func FuzzFastPath(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("sum by (device) (rate(m[1m]))"))
	f.Add([]byte{3, 0, 9, 0, 1, 0, 0, 0, 200, 1, 7, 0, 13, 0, 2, 0, 1, 0, 1, 0, 5, 0, 4, 0, 1, 0})
	r := rand.New(rand.NewPCG(1, 2))
	for range 8 {
		b := make([]byte, 512)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		f.Add(b)
	}
	// One store for every input (opening a TSDB costs more than a case):
	// each input gets its own case label and its own two days, later than
	// the last input's, so it neither sees nor pushes out another's data.
	st := openStore(f)
	var inputs atomic.Int64
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 4096 {
			return // bounds the data one input makes
		}
		k := inputs.Add(1)
		c := genCase(&byteSource{b: b}, strconv.FormatInt(k, 10), 8, 64).shift(k * 2 * 86_400_000)
		appendAll(t, st, c.samples)
		checkSame(t, st, c)
	})
}

// shift moves the case's data and query ms milliseconds later (in
// milliseconds, not a Duration: long fuzzing runs shift past 292 years).
func (c diffCase) shift(ms int64) diffCase {
	for i := range c.samples {
		c.samples[i].TimestampMs += ms
	}
	c.start = time.UnixMilli(c.start.UnixMilli() + ms)
	c.end = time.UnixMilli(c.end.UnixMilli() + ms)
	return c
}
