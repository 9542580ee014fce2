package query

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/schema"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/util/kahansum"
)

// The fast path evaluates the range queries panels run most, a selector,
// rate() or increase() of one, optionally under sum/avg/min/max/count, by
// reading the TSDB's chunks directly. The PromQL engine evaluates every
// series at every step through buffered iterators and re-slices the rate
// window per step; here each series' chunks are decoded once (decodeXOR)
// into a scratch buffer and every step's window is found with two
// pointers, series (or, when aggregating, groups) are spread over the
// cores, and the output points come from one pooled slab. The arithmetic
// is the engine's, operation for operation and in the engine's series
// order (Prometheus v0.316.0: promql/functions.go extrapolatedRate,
// promql/engine.go vectorSelectorSingle, matrixIterSlice and aggregation),
// so results are the same; the differential tests hold both to that.
//
// Anything else (offsets, @, other functions, binary operators,
// subqueries, selectors without a metric name) goes to the engine, as does
// any query that meets a native histogram or could come near the engine's
// sample limit, so the engine keeps deciding those errors.

// errNotFast says the fast path declined before handing anything to the
// caller; the engine then runs the query.
var errNotFast = errors.New("query: not for the fast path")

// directStore is what the fast path needs beyond Store; *store.Store has it.
type directStore interface {
	WithChunkQuerier(ctx context.Context, mint, maxt int64, fn func(ctx context.Context, q storage.ChunkQuerier) error) error
	LookbackDelta() time.Duration
	MaxSamples() int
}

// rangeQuery runs expr at every step through the fast path when the store
// and the expression allow it, else through the engine. fn sees the result
// and must not keep it.
func rangeQuery(ctx context.Context, st Store, expr string, start, end time.Time, step time.Duration, fn func(promql.Matrix) error) error {
	if ds, ok := st.(directStore); ok {
		if p, ok := planFast(expr); ok {
			err := p.run(ctx, ds, start, end, step, fn)
			if !errors.Is(err, errNotFast) {
				return err
			}
		}
	}
	return st.RangeQueryFunc(ctx, expr, start, end, step, fn)
}

// rangeFunc is the function applied to the selector.
type rangeFunc uint8

const (
	fnNone rangeFunc = iota // the selector itself, instant-vector semantics
	fnRate
	fnIncrease
)

// fastPlan is an expression the fast path can evaluate.
type fastPlan struct {
	matchers []*labels.Matcher
	fn       rangeFunc
	window   time.Duration // rate/increase range
	agg      parser.ItemType
	without  bool
	// grouping is sorted and, for without, holds the metadata labels the
	// engine drops too: the engine hashes and builds groups from exactly
	// this list.
	grouping []string
}

// planFast recognises the shapes the fast path evaluates.
func planFast(expr string) (*fastPlan, bool) {
	e, err := promqlParser.ParseExpr(expr)
	if err != nil {
		return nil, false
	}
	p := &fastPlan{}
	e = unparen(e)
	if a, ok := e.(*parser.AggregateExpr); ok {
		switch a.Op {
		case parser.SUM, parser.AVG, parser.MIN, parser.MAX, parser.COUNT:
		default:
			return nil, false
		}
		if a.Param != nil {
			return nil, false
		}
		p.agg, p.without = a.Op, a.Without
		p.grouping = slices.Clone(a.Grouping)
		if a.Without {
			p.grouping = append(p.grouping, labels.MetricName, "__type__", "__unit__")
		}
		slices.Sort(p.grouping)
		e = unparen(a.Expr)
	}
	var vs *parser.VectorSelector
	switch n := e.(type) {
	case *parser.VectorSelector:
		vs = n
	case *parser.Call:
		switch n.Func.Name {
		case "rate":
			p.fn = fnRate
		case "increase":
			p.fn = fnIncrease
		default:
			return nil, false
		}
		if len(n.Args) != 1 {
			return nil, false
		}
		ms, ok := n.Args[0].(*parser.MatrixSelector)
		if !ok || ms.RangeExpr != nil || ms.Range <= 0 {
			return nil, false
		}
		if vs, ok = ms.VectorSelector.(*parser.VectorSelector); !ok {
			return nil, false
		}
		p.window = ms.Range
	default:
		return nil, false
	}
	if vs.OriginalOffset != 0 || vs.Offset != 0 || vs.OriginalOffsetExpr != nil || vs.Timestamp != nil ||
		vs.StartOrEnd != 0 || vs.Anchored || vs.Smoothed {
		return nil, false
	}
	// One metric name keeps rate's output free of duplicate label sets
	// (which the engine reports as an error) once the name is dropped.
	if !slices.ContainsFunc(vs.LabelMatchers, func(m *labels.Matcher) bool {
		return m.Name == labels.MetricName && m.Type == labels.MatchEqual
	}) {
		return nil, false
	}
	p.matchers = vs.LabelMatchers
	return p, true
}

func unparen(e parser.Expr) parser.Expr {
	for {
		pe, ok := e.(*parser.ParenExpr)
		if !ok {
			return e
		}
		e = pe.Expr
	}
}

// The engine's conversions: timestamps and durations truncate to ms.
func timeMs(t time.Time) int64       { return t.UnixNano() / int64(time.Millisecond) }
func durMs(d time.Duration) int64    { return int64(d / time.Millisecond) }
func isCounterFn(f rangeFunc) bool   { return f == fnRate || f == fnIncrease }
func needsWindow(f rangeFunc) bool   { return f != fnNone }
func (p *fastPlan) dropsName() bool  { return needsWindow(p.fn) }
func (p *fastPlan) aggregates() bool { return p.agg != 0 }

// fastEval holds one run's parameters.
type fastEval struct {
	*fastPlan
	start, step int64
	nSteps      int
	mint, maxt  int64
	lookback    int64
	windowMs    int64
	windowSec   float64
}

func (p *fastPlan) run(ctx context.Context, ds directStore, start, end time.Time, step time.Duration, fn func(promql.Matrix) error) error {
	if step <= 0 || end.Before(start) {
		return errNotFast // the engine words these errors
	}
	e := &fastEval{
		fastPlan:  p,
		start:     timeMs(start),
		step:      durMs(step),
		maxt:      timeMs(end),
		lookback:  durMs(ds.LookbackDelta()),
		windowMs:  durMs(p.window),
		windowSec: p.window.Seconds(),
	}
	if e.step <= 0 {
		return errNotFast
	}
	e.nSteps = int((e.maxt-e.start)/e.step) + 1
	// The same span the engine selects: windows and lookback are open on
	// the left.
	if needsWindow(p.fn) {
		e.mint = e.start - e.windowMs + 1
	} else {
		e.mint = e.start - e.lookback + 1
	}
	return ds.WithChunkQuerier(ctx, e.mint, e.maxt, func(ctx context.Context, q storage.ChunkQuerier) error {
		// Step stays 0: a step hint turns on the head's chunk cache, which
		// belongs to the querier and is not safe for the concurrent
		// iteration below. The cache only saves a walk over a series' few
		// head chunks.
		hints := &storage.SelectHints{Start: e.mint, End: e.maxt, Range: e.windowMs}
		// Unsorted, as the engine asks: aggregation sums in this order.
		set := q.Select(ctx, false, hints, p.matchers...)
		var series []storage.ChunkSeries
		for set.Next() {
			series = append(series, set.At())
		}
		if err := set.Err(); err != nil {
			return fmt.Errorf("fast path: select %v: %w", p.matchers, err)
		}
		// Leave queries that could approach the engine's sample limit to
		// the engine, so it alone decides when to refuse one.
		if int64(len(series))*int64(e.nSteps) > int64(ds.MaxSamples())/2 {
			return errNotFast
		}
		var (
			m    promql.Matrix
			slab *[]promql.FPoint
			err  error
		)
		if p.aggregates() {
			m, slab, err = e.aggregate(ctx, series)
		} else {
			m, slab, err = e.each(ctx, series)
		}
		if err != nil {
			return err
		}
		defer putSlab(slab)
		slices.SortFunc(m, func(a, b promql.Series) int { return labels.Compare(a.Metric, b.Metric) })
		return fn(m)
	})
}

// scratch is one worker's reusable memory.
type scratch struct {
	chunks chunks.Iterator
	it     chunkenc.Iterator
	pad    []byte  // decodeXOR's scratch
	ts     []int64 // the series' samples in the selected span
	vs     []float64
	resets []int // indices i where vs[i] < vs[i-1]
	val    []float64
	has    []bool
	acc    aggAcc
}

func (e *fastEval) newScratch() *scratch {
	return &scratch{val: make([]float64, e.nSteps), has: make([]bool, e.nSteps)}
}

// evalSeries fills sc.val and sc.has with the series' value at every step.
func (e *fastEval) evalSeries(s storage.ChunkSeries, sc *scratch) error {
	sc.ts, sc.vs = sc.ts[:0], sc.vs[:0]
	window := needsWindow(e.fn)
	last := int64(math.MinInt64)
	sc.chunks = s.Iterator(sc.chunks)
	for sc.chunks.Next() {
		meta := sc.chunks.At()
		if meta.MinTime > e.maxt {
			break // chunks come sorted by their first sample
		}
		if meta.Chunk == nil {
			return errNotFast
		}
		// Decode the chunk after the samples kept so far, then keep in
		// place those in the span.
		from := len(sc.ts)
		if err := sc.readChunk(meta.Chunk); err != nil {
			return fmt.Errorf("fast path: reading %s: %w", s.Labels(), err)
		}
		kept := from
		for i := from; i < len(sc.ts); i++ {
			t, v := sc.ts[i], sc.vs[i]
			if t < e.mint {
				continue
			}
			if t > e.maxt {
				break
			}
			if t <= last {
				// Overlapping chunks (out-of-order data not merged yet):
				// the engine's merging iterator decides which sample wins.
				return errNotFast
			}
			last = t
			// A range window skips stale markers; an instant selector
			// sees them (and then reports nothing), as in the engine.
			if window && v != v && value.IsStaleNaN(v) {
				continue
			}
			sc.ts[kept], sc.vs[kept] = t, v
			kept++
		}
		sc.ts, sc.vs = sc.ts[:kept], sc.vs[:kept]
	}
	if err := sc.chunks.Err(); err != nil {
		return fmt.Errorf("fast path: reading %s: %w", s.Labels(), err)
	}
	if window {
		e.rateSteps(sc)
	} else {
		e.instantSteps(sc)
	}
	return nil
}

// readChunk appends every sample of chk to sc.ts and sc.vs.
func (sc *scratch) readChunk(chk chunkenc.Chunk) error {
	from := len(sc.ts)
	if chk.Encoding() == chunkenc.EncXOR {
		var ok bool
		if sc.ts, sc.vs, ok = decodeXOR(chk.Bytes(), sc.ts, sc.vs, &sc.pad); ok {
			return nil
		}
	}
	// Other float encodings, and XOR bytes our decoder refuses (chunkenc
	// then says what is wrong with them).
	sc.ts, sc.vs = sc.ts[:from], sc.vs[:from]
	sc.it = chk.Iterator(sc.it)
	for vt := sc.it.Next(); vt != chunkenc.ValNone; vt = sc.it.Next() {
		if vt != chunkenc.ValFloat {
			return errNotFast // native histograms: the engine's business
		}
		t, v := sc.it.At()
		sc.ts = append(sc.ts, t)
		sc.vs = append(sc.vs, v)
	}
	return sc.it.Err()
}

// instantSteps: at each step, the newest sample in (t-lookback, t], unless
// it is a stale marker.
func (e *fastEval) instantSteps(sc *scratch) {
	ts, vs := sc.ts, sc.vs
	hi := 0
	for k := range e.nSteps {
		t := e.start + int64(k)*e.step
		for hi < len(ts) && ts[hi] <= t {
			hi++
		}
		sc.has[k] = hi > 0 && ts[hi-1] > t-e.lookback && !value.IsStaleNaN(vs[hi-1])
		if sc.has[k] {
			sc.val[k] = vs[hi-1]
		}
	}
}

// rateSteps evaluates rate or increase over the window (t-w, t] at each
// step, keeping the window's ends as two pointers and the counter resets as
// a list walked in order, so every step costs the resets inside its window
// rather than all of its samples.
func (e *fastEval) rateSteps(sc *scratch) {
	ts, vs := sc.ts, sc.vs
	sc.resets = sc.resets[:0]
	for i := 1; i < len(vs); i++ {
		if vs[i] < vs[i-1] {
			sc.resets = append(sc.resets, i)
		}
	}
	resets := sc.resets
	var shape windowShape
	lo, hi, rp := 0, 0, 0
	for k := range e.nSteps {
		t := e.start + int64(k)*e.step
		for hi < len(ts) && ts[hi] <= t {
			hi++
		}
		for lo < hi && ts[lo] <= t-e.windowMs {
			lo++
		}
		// Fewer than two samples: no rate (the engine would use a start
		// timestamp here, which this store does not keep).
		if hi-lo < 2 {
			sc.has[k] = false
			continue
		}
		for rp < len(resets) && resets[rp] <= lo {
			rp++
		}
		result := vs[hi-1] - vs[lo]
		for r := rp; r < len(resets) && resets[r] < hi; r++ {
			result += vs[resets[r]-1]
		}
		toStart, toEnd, sampled := ts[lo]-(t-e.windowMs), t-ts[hi-1], ts[hi-1]-ts[lo]
		if !shape.fits(toStart, toEnd, sampled, hi-lo-1) {
			e.reshape(&shape, toStart, toEnd, sampled, hi-lo-1)
		}
		sc.val[k] = e.scale(&shape, result, vs[lo])
		sc.has[k] = true
	}
}

// windowShape is what extrapolatedRate derives from a window's sample
// times alone. Regularly scraped series give every step the same shape, so
// computing it once per change instead of once per step saves most of the
// divisions; the values are the same because the operations are.
type windowShape struct {
	// The key: distances to the window's ends, the span sampled and the
	// number of intervals in it, all in milliseconds.
	toStartMs, toEndMs, sampledMs int64
	intervals                     int
	valid                         bool

	durationToStart, durationToEnd, sampledInterval float64
	// factor applies when the counter's zero point does not cut the
	// extrapolation to the start short.
	factor float64
}

// fits reports whether the window's sample times give this shape.
func (sh *windowShape) fits(toStartMs, toEndMs, sampledMs int64, intervals int) bool {
	return sh.valid && sh.toStartMs == toStartMs && sh.toEndMs == toEndMs && sh.sampledMs == sampledMs && sh.intervals == intervals
}

// reshape computes the shape of a window: extrapolatedRate's float,
// counter, no-start-timestamp branch, the same operations in the same
// order, so the same bits.
func (e *fastEval) reshape(sh *windowShape, toStartMs, toEndMs, sampledMs int64, intervals int) {
	*sh = windowShape{toStartMs: toStartMs, toEndMs: toEndMs, sampledMs: sampledMs, intervals: intervals, valid: true}
	sh.durationToStart = float64(toStartMs) / 1000
	sh.durationToEnd = float64(toEndMs) / 1000
	sh.sampledInterval = float64(sampledMs) / 1000
	averageDurationBetweenSamples := sh.sampledInterval / float64(intervals)
	extrapolationThreshold := averageDurationBetweenSamples * 1.1
	if sh.durationToStart >= extrapolationThreshold {
		sh.durationToStart = averageDurationBetweenSamples / 2
	}
	if sh.durationToEnd >= extrapolationThreshold {
		sh.durationToEnd = averageDurationBetweenSamples / 2
	}
	sh.factor = e.factor(sh.sampledInterval, sh.durationToStart, sh.durationToEnd)
}

// scale extrapolates a window's increase. A counter does not go below
// zero: when the slope reaches zero after the window's start, the
// extrapolation to the start stops there.
func (e *fastEval) scale(sh *windowShape, result, firstV float64) float64 {
	if result > 0 && firstV >= 0 {
		if durationToZero := sh.sampledInterval * (firstV / result); durationToZero < sh.durationToStart {
			return result * e.zeroFactor(sh, durationToZero)
		}
	}
	return result * sh.factor
}

func (e *fastEval) zeroFactor(sh *windowShape, durationToZero float64) float64 {
	return e.factor(sh.sampledInterval, durationToZero, sh.durationToEnd)
}

func (e *fastEval) factor(sampledInterval, durationToStart, durationToEnd float64) float64 {
	factor := 1.0
	if sampledInterval != 0 {
		factor = (sampledInterval + durationToStart + durationToEnd) / sampledInterval
	}
	if e.fn == fnRate {
		factor /= e.windowSec
	}
	return factor
}

// seriesBlock is how many series a worker takes at a time: enough to make
// the shared counter cheap, few enough to balance two cores.
const seriesBlock = 32

// each evaluates every series on its own (no aggregation).
func (e *fastEval) each(ctx context.Context, series []storage.ChunkSeries) (promql.Matrix, *[]promql.FPoint, error) {
	slab := getSlab(len(series) * e.nSteps)
	out := make(promql.Matrix, len(series))
	units := (len(series) + seriesBlock - 1) / seriesBlock
	err := parallel(ctx, units, e.newScratch, func(u int, sc *scratch) error {
		for i := u * seriesBlock; i < min((u+1)*seriesBlock, len(series)); i++ {
			if err := e.evalSeries(series[i], sc); err != nil {
				return err
			}
			pts := (*slab)[i*e.nSteps : i*e.nSteps : (i+1)*e.nSteps]
			for k, ok := range sc.has {
				if ok {
					pts = append(pts, promql.FPoint{T: e.start + int64(k)*e.step, F: sc.val[k]})
				}
			}
			if len(pts) == 0 {
				continue
			}
			ls := series[i].Labels()
			if e.dropsName() {
				ls = ls.DropReserved(schema.IsMetadataLabel)
			}
			out[i] = promql.Series{Metric: ls, Floats: pts}
		}
		return nil
	})
	if err != nil {
		putSlab(slab)
		return nil, nil, err
	}
	out = slices.DeleteFunc(out, func(s promql.Series) bool { return len(s.Floats) == 0 })
	return out, slab, nil
}

// aggregate evaluates the series group by group. A group's series are
// folded in the engine's order (the select order), so Kahan sums and
// running means round the same way; different groups run in parallel.
func (e *fastEval) aggregate(ctx context.Context, series []storage.ChunkSeries) (promql.Matrix, *[]promql.FPoint, error) {
	var (
		buf     = make([]byte, 0, 1024)
		index   = map[uint64]int{}
		groupOf = make([]int, len(series))
		out     promql.Matrix
		lb      = labels.NewBuilder(labels.EmptyLabels())
	)
	for i, s := range series {
		ls := s.Labels()
		if e.dropsName() {
			ls = ls.DropReserved(schema.IsMetadataLabel)
		}
		var key uint64
		switch {
		case e.without:
			key, buf = ls.HashWithoutLabels(buf, e.grouping...)
		case len(e.grouping) > 0:
			key, buf = ls.HashForLabels(buf, e.grouping...)
		}
		g, ok := index[key]
		if !ok {
			g = len(out)
			index[key] = g
			lb.Reset(ls)
			switch {
			case e.without:
				lb.Del(e.grouping...)
				schema.Metadata{}.SetToLabels(lb)
			case len(e.grouping) > 0:
				lb.Keep(e.grouping...)
			default:
				lb.Reset(labels.EmptyLabels())
			}
			out = append(out, promql.Series{Metric: lb.Labels()})
		}
		groupOf[i] = g
	}
	// members lists each group's series in select order.
	starts := make([]int, len(out)+1)
	for _, g := range groupOf {
		starts[g+1]++
	}
	for g := range out {
		starts[g+1] += starts[g]
	}
	members := make([]int, len(series))
	fill := slices.Clone(starts[:len(out)])
	for i, g := range groupOf {
		members[fill[g]] = i
		fill[g]++
	}

	slab := getSlab(len(out) * e.nSteps)
	err := parallel(ctx, len(out), e.newScratch, func(g int, sc *scratch) error {
		acc := &sc.acc
		acc.reset(e.nSteps)
		for _, i := range members[starts[g]:starts[g+1]] {
			if err := e.evalSeries(series[i], sc); err != nil {
				return err
			}
			acc.addSeries(e.agg, sc.val, sc.has)
		}
		pts := (*slab)[g*e.nSteps : g*e.nSteps : (g+1)*e.nSteps]
		for k, ok := range acc.seen {
			if ok {
				pts = append(pts, promql.FPoint{T: e.start + int64(k)*e.step, F: acc.result(e.agg, k)})
			}
		}
		out[g].Floats = pts
		return nil
	})
	if err != nil {
		putSlab(slab)
		return nil, nil, err
	}
	out = slices.DeleteFunc(out, func(s promql.Series) bool { return len(s.Floats) == 0 })
	return out, slab, nil
}

// aggAcc is one group's state at every step, the engine's
// groupedAggregation for floats.
type aggAcc struct {
	seen, incMean     []bool
	val, kahanC, mean []float64
	count             []float64
}

func (a *aggAcc) reset(n int) {
	if cap(a.seen) < n {
		*a = aggAcc{
			seen: make([]bool, n), incMean: make([]bool, n),
			val: make([]float64, n), kahanC: make([]float64, n), mean: make([]float64, n), count: make([]float64, n),
		}
		return
	}
	a.seen, a.incMean = a.seen[:n], a.incMean[:n]
	a.val, a.kahanC, a.mean, a.count = a.val[:n], a.kahanC[:n], a.mean[:n], a.count[:n]
	clear(a.seen)
}

// addSeries folds one series' values into the group. Sums, the common
// case, skip the per-value dispatch.
func (a *aggAcc) addSeries(op parser.ItemType, val []float64, has []bool) {
	if op != parser.SUM {
		for k, ok := range has {
			if ok {
				a.add(op, k, val[k])
			}
		}
		return
	}
	for k, ok := range has {
		if !ok {
			continue
		}
		if !a.seen[k] {
			a.first(k, val[k])
			continue
		}
		a.val[k], a.kahanC[k] = kahansum.Inc(val[k], a.val[k], a.kahanC[k])
	}
}

func (a *aggAcc) first(k int, f float64) {
	a.seen[k], a.incMean[k] = true, false
	a.val[k], a.mean[k], a.kahanC[k], a.count[k] = f, f, 0, 1
}

func (a *aggAcc) add(op parser.ItemType, k int, f float64) {
	if !a.seen[k] {
		a.first(k, f)
		return
	}
	switch op {
	case parser.SUM:
		a.val[k], a.kahanC[k] = kahansum.Inc(f, a.val[k], a.kahanC[k])
	case parser.AVG:
		a.count[k]++
		if !a.incMean[k] {
			v, c := kahansum.Inc(f, a.val[k], a.kahanC[k])
			if !math.IsInf(v, 0) {
				a.val[k], a.kahanC[k] = v, c
				return
			}
			// The running sum would overflow: continue as a running mean.
			a.incMean[k] = true
			a.mean[k] = a.val[k] / (a.count[k] - 1)
			a.kahanC[k] /= a.count[k] - 1
		}
		q := (a.count[k] - 1) / a.count[k]
		a.mean[k], a.kahanC[k] = kahansum.Inc(f/a.count[k], q*a.mean[k], q*a.kahanC[k])
	case parser.MAX:
		if a.val[k] < f || math.IsNaN(a.val[k]) {
			a.val[k] = f
		}
	case parser.MIN:
		if a.val[k] > f || math.IsNaN(a.val[k]) {
			a.val[k] = f
		}
	case parser.COUNT:
		a.count[k]++
	}
}

func (a *aggAcc) result(op parser.ItemType, k int) float64 {
	switch op {
	case parser.SUM:
		return a.val[k] + a.kahanC[k]
	case parser.AVG:
		if a.incMean[k] {
			return a.mean[k] + a.kahanC[k]
		}
		return a.val[k]/a.count[k] + a.kahanC[k]/a.count[k]
	case parser.COUNT:
		return a.count[k]
	default:
		return a.val[k]
	}
}

// slabPool keeps output point slabs between queries: the result is only
// lent to the caller's fn, so the points can be reused by the next query.
var slabPool sync.Pool

func getSlab(n int) *[]promql.FPoint {
	if p, ok := slabPool.Get().(*[]promql.FPoint); ok && cap(*p) >= n {
		*p = (*p)[:n]
		return p
	}
	s := make([]promql.FPoint, n)
	return &s
}

func putSlab(p *[]promql.FPoint) {
	if p != nil {
		slabPool.Put(p)
	}
}
