package records

import (
	"fmt"
	"math"
	"slices"
	"unsafe"
)

// aggSpec is a compiled Aggregate.
type aggSpec struct {
	Aggregate
	slot int  // column slot; -1 for count()
	typ  Type // column type
	q    float64
}

var quantiles = map[string]float64{"p50": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99}

func numeric(t Type) bool { return t == Uint || t == Int || t == Float }

func checkAgg(a Aggregate, typ Type, hasCol bool) error {
	bad := func(want string) error {
		return fmt.Errorf("records: aggregate %s: needs %s, %s is %s", a.Name(), want, a.Column, typ)
	}
	switch a.Func {
	case "count":
		return nil
	case "sum", "avg":
		if !hasCol {
			return fmt.Errorf("records: aggregate %s: needs a column", a.Name())
		}
		if !numeric(typ) {
			return bad("a number column")
		}
	case "min", "max":
		if !hasCol {
			return fmt.Errorf("records: aggregate %s: needs a column", a.Name())
		}
		if !numeric(typ) && typ != Time {
			return bad("a number or time column")
		}
	default:
		if _, ok := quantiles[a.Func]; !ok {
			return fmt.Errorf("records: aggregate %q: unknown function (want sum count avg min max p50 p90 p95 p99)", a.Func)
		}
		if !hasCol {
			return fmt.Errorf("records: aggregate %s: needs a column", a.Name())
		}
		if !numeric(typ) {
			return bad("a number column")
		}
	}
	return nil
}

// toFloat converts a raw word of a numeric or time column.
func toFloat(typ Type, r uint64) float64 {
	switch typ {
	case Uint:
		return float64(r)
	case Int, Time:
		return float64(intRaw(r))
	case Float:
		return floatRaw(r)
	}
	return float64(r)
}

// acc accumulates one aggregate per cell (group × bucket).
type acc interface {
	grow(n int)
	add(cell int32, raw uint64)
	// addRows adds rows sel of a chunk view (nil for count()) to cells
	// (one per row of sel).
	addRows(cells []int32, v *view, sel []int32)
	merge(dst int32, src int32) // both cells of this acc
	// bytes is the memory of the cells' state.
	bytes() int64
	// rank is the value that orders groups; ok false when null.
	rank(cell int32) (float64, bool)
	out(name string, cells []int32) ResultColumn
}

func newAcc(a aggSpec, mem *int64) acc {
	switch a.Func {
	case "count":
		return &countAcc{}
	case "sum":
		return &sumAcc{typ: a.typ}
	case "avg":
		return &avgAcc{typ: a.typ}
	case "min", "max":
		return &minMaxAcc{typ: a.typ, max: a.Func == "max"}
	}
	return &quantAcc{typ: a.typ, q: a.q, mem: mem}
}

type countAcc struct{ n []uint64 }

func (c *countAcc) grow(n int)               { c.n = growTo(c.n, n) }
func (c *countAcc) add(cell int32, _ uint64) { c.n[cell]++ }
func (c *countAcc) merge(d, s int32)         { c.n[d] += c.n[s] }
func (c *countAcc) bytes() int64             { return 8 * int64(cap(c.n)) }
func (c *countAcc) addRows(cells []int32, v *view, sel []int32) {
	if v != nil && (v.allNull || v.nulls != nil) { // count(column): its non-null rows
		eachValue(c, cells, v, sel)
		return
	}
	for _, cell := range cells {
		c.n[cell]++
	}
}
func (c *countAcc) rank(cell int32) (float64, bool) { return float64(c.n[cell]), true }
func (c *countAcc) out(name string, cells []int32) ResultColumn {
	v := make([]uint64, len(cells))
	for i, cell := range cells {
		v[i] = c.n[cell]
	}
	return ResultColumn{Name: name, Type: Uint, Values: v}
}

// sumAcc sums in the column's own type: uint64 and int64 wrap like Go
// arithmetic, float64 rounds.
type sumAcc struct {
	typ Type
	s   []uint64 // Uint, Int: the sum's bits; Float: float64 bits
	has []bool
}

func (a *sumAcc) grow(n int) {
	a.s = growTo(a.s, n)
	a.has = growTo(a.has, n)
}

func (a *sumAcc) addRawSum(cell int32, r uint64) {
	switch a.typ {
	case Float:
		a.s[cell] = rawFloat(floatRaw(a.s[cell]) + floatRaw(r))
	default: // Uint sums r; Int sums the value, whose bits add the same way
		a.s[cell] += r
	}
	a.has[cell] = true
}

func (a *sumAcc) add(cell int32, r uint64) {
	if a.typ == Int {
		r = uint64(intRaw(r))
	}
	a.addRawSum(cell, r)
}

func (a *sumAcc) bytes() int64 { return 9 * int64(cap(a.s)) }

func (a *sumAcc) addRows(cells []int32, v *view, sel []int32) {
	if a.typ != Uint {
		eachValue(a, cells, v, sel)
		return
	}
	if v.allNull {
		return
	}
	if v.nulls == nil {
		for r, i := range sel {
			a.s[cells[r]] += v.vals[i]
			a.has[cells[r]] = true
		}
		return
	}
	for r, i := range sel {
		if !v.null(i) {
			a.s[cells[r]] += v.vals[i]
			a.has[cells[r]] = true
		}
	}
}

func (a *sumAcc) merge(d, s int32) {
	if a.has[s] {
		a.addRawSum(d, a.s[s])
	}
}

func (a *sumAcc) value(cell int32) float64 {
	switch a.typ {
	case Float:
		return floatRaw(a.s[cell])
	case Int:
		return float64(int64(a.s[cell]))
	}
	return float64(a.s[cell])
}

func (a *sumAcc) rank(cell int32) (float64, bool) { return a.value(cell), a.has[cell] }

func (a *sumAcc) out(name string, cells []int32) ResultColumn {
	b := newBuilder(a.typ, len(cells))
	for _, cell := range cells {
		if !a.has[cell] {
			b.null()
			continue
		}
		switch a.typ {
		case Float:
			b.f = append(b.f, floatRaw(a.s[cell]))
		case Int:
			b.i = append(b.i, int64(a.s[cell]))
		default:
			b.u = append(b.u, a.s[cell])
		}
		b.nulls = append(b.nulls, false)
	}
	return b.column(name)
}

type avgAcc struct {
	typ Type
	s   []float64
	n   []uint64
}

func (a *avgAcc) grow(n int) {
	a.s = growTo(a.s, n)
	a.n = growTo(a.n, n)
}
func (a *avgAcc) add(cell int32, r uint64) { a.s[cell] += toFloat(a.typ, r); a.n[cell]++ }
func (a *avgAcc) merge(d, s int32)         { a.s[d] += a.s[s]; a.n[d] += a.n[s] }
func (a *avgAcc) bytes() int64             { return 16 * int64(cap(a.s)) }
func (a *avgAcc) addRows(cells []int32, v *view, sel []int32) {
	eachValue(a, cells, v, sel)
}
func (a *avgAcc) rank(cell int32) (float64, bool) {
	if a.n[cell] == 0 {
		return 0, false
	}
	return a.s[cell] / float64(a.n[cell]), true
}
func (a *avgAcc) out(name string, cells []int32) ResultColumn {
	return rankedFloats(name, cells, a.rank)
}

// rankedFloats is the float column of an aggregate whose value is its rank
// (avg, quantiles): null where a cell holds no value.
func rankedFloats(name string, cells []int32, rank func(int32) (float64, bool)) ResultColumn {
	b := newBuilder(Float, len(cells))
	for _, cell := range cells {
		if v, ok := rank(cell); ok {
			b.f = append(b.f, v)
			b.nulls = append(b.nulls, false)
		} else {
			b.null()
		}
	}
	return b.column(name)
}

// minMaxAcc keeps raw words: their unsigned order is the value order for
// Uint, Int and Time; Float compares values.
type minMaxAcc struct {
	typ Type
	max bool
	v   []uint64
	has []bool
}

func (a *minMaxAcc) grow(n int) {
	a.v = growTo(a.v, n)
	a.has = growTo(a.has, n)
}

func (a *minMaxAcc) better(r, cur uint64) bool {
	if a.typ == Float {
		x, y := floatRaw(r), floatRaw(cur)
		if math.IsNaN(y) {
			return !math.IsNaN(x)
		}
		if a.max {
			return x > y
		}
		return x < y
	}
	if a.max {
		return r > cur
	}
	return r < cur
}

func (a *minMaxAcc) add(cell int32, r uint64) {
	if !a.has[cell] || a.better(r, a.v[cell]) {
		a.v[cell], a.has[cell] = r, true
	}
}

func (a *minMaxAcc) bytes() int64 { return 9 * int64(cap(a.v)) }
func (a *minMaxAcc) addRows(cells []int32, v *view, sel []int32) {
	eachValue(a, cells, v, sel)
}

func (a *minMaxAcc) merge(d, s int32) {
	if a.has[s] {
		a.add(d, a.v[s])
	}
}

func (a *minMaxAcc) rank(cell int32) (float64, bool) {
	return toFloat(a.typ, a.v[cell]), a.has[cell]
}

func (a *minMaxAcc) out(name string, cells []int32) ResultColumn {
	b := newBuilder(a.typ, len(cells))
	for _, cell := range cells {
		if !a.has[cell] {
			b.null()
			continue
		}
		b.raw(a.v[cell])
	}
	return b.column(name)
}

type quantAcc struct {
	typ Type
	q   float64
	sk  []sketch
	mem *int64
}

func (a *quantAcc) grow(n int) { a.sk = growTo(a.sk, n) }
func (a *quantAcc) add(cell int32, r uint64) {
	*a.mem += a.sk[cell].add(toFloat(a.typ, r))
}
func (a *quantAcc) merge(d, s int32) { *a.mem += a.sk[d].merge(&a.sk[s]) }

// bytes counts the cells' fixed part; what the sketches hold is counted
// against MaxQueryMemory.
func (a *quantAcc) bytes() int64 { return int64(unsafe.Sizeof(sketch{})) * int64(cap(a.sk)) }
func (a *quantAcc) addRows(cells []int32, v *view, sel []int32) {
	eachValue(a, cells, v, sel)
}
func (a *quantAcc) rank(cell int32) (float64, bool) {
	return a.sk[cell].quantile(a.q)
}
func (a *quantAcc) out(name string, cells []int32) ResultColumn {
	return rankedFloats(name, cells, a.rank)
}

// Quantile sketch: exact while a cell holds at most sketchExact values;
// past that, logarithmic buckets of ratio sketchGamma, so that a bucket's
// representative value is within (γ-1)/(γ+1) < 1% of every value in it
// (the DDSketch construction). Buckets are kept in a dense window of at most
// sketchMaxKeys keys per sign; a wider spread folds the smallest magnitudes
// together, which only degrades the lowest quantiles of data spanning more
// than ~35 orders of magnitude.
const (
	sketchExact   = 64
	sketchGamma   = 1.02
	sketchMaxKeys = 4096
	sketchMinMag  = 1e-12
)

// SketchRelativeError is the quantile error bound past sketchExact values.
const SketchRelativeError = (sketchGamma - 1) / (sketchGamma + 1)

var lnGamma = math.Log(sketchGamma)

type sketch struct {
	n     uint64
	exact []float64
	dense bool
	zero  uint64
	pos   bstore
	neg   bstore
	nan   uint64
}

type bstore struct {
	off    int32
	counts []uint32
}

func sketchKey(mag float64) int32 {
	mag = min(mag, 1e300)
	return int32(math.Ceil(math.Log(mag) / lnGamma))
}

func sketchValue(k int32) float64 {
	return 2 * math.Pow(sketchGamma, float64(k)) / (sketchGamma + 1)
}

// add returns the bytes it allocated.
func (b *bstore) add(k int32, c uint32) int64 {
	if len(b.counts) == 0 {
		b.off = k
		b.counts = make([]uint32, 1, 16)
		b.counts[0] = c
		return 64
	}
	var grown int64
	if k < b.off {
		if int(b.off-k)+len(b.counts) > sketchMaxKeys {
			// fold the smallest magnitudes into the lowest kept key
			k = max(k, b.off-int32(sketchMaxKeys-len(b.counts)))
			if k < b.off {
				grown += b.prepend(b.off - k)
			}
			b.counts[0] += c
			return grown
		}
		grown += b.prepend(b.off - k)
	}
	i := int(k - b.off)
	if i >= len(b.counts) {
		if i >= sketchMaxKeys {
			// the window slides up: fold the bottom keys into the new bottom
			shift := i - sketchMaxKeys + 1
			var folded uint32
			for j := 0; j < shift && j < len(b.counts); j++ {
				folded += b.counts[j]
			}
			if shift >= len(b.counts) {
				b.counts = b.counts[:0]
			} else {
				b.counts = append(b.counts[:0], b.counts[shift:]...)
			}
			b.off += int32(shift)
			i -= shift
			if len(b.counts) == 0 {
				b.counts = append(b.counts, 0)
			}
			b.counts[0] += folded
		}
		old := cap(b.counts)
		for len(b.counts) <= i {
			b.counts = append(b.counts, 0)
		}
		grown += 4 * int64(cap(b.counts)-old)
	}
	b.counts[i] += c
	return grown
}

func (b *bstore) prepend(n int32) int64 {
	old := cap(b.counts)
	nc := make([]uint32, int(n)+len(b.counts), int(n)+len(b.counts)+16)
	copy(nc[n:], b.counts)
	b.counts = nc
	b.off -= n
	return 4 * int64(cap(nc)-old)
}

func (s *sketch) add(v float64) int64 {
	s.n++
	if !s.dense {
		old := cap(s.exact)
		s.exact = append(s.exact, v)
		grown := 8 * int64(cap(s.exact)-old)
		if len(s.exact) > sketchExact {
			grown += s.densify()
		}
		return grown
	}
	return s.addDense(v, 1)
}

func (s *sketch) addDense(v float64, c uint32) int64 {
	switch {
	case math.IsNaN(v):
		s.nan += uint64(c)
	case math.Abs(v) < sketchMinMag:
		s.zero += uint64(c)
	case v > 0:
		return s.pos.add(sketchKey(v), c)
	default:
		return s.neg.add(sketchKey(-v), c)
	}
	return 0
}

func (s *sketch) densify() int64 {
	s.dense = true
	var grown int64 = -8 * int64(cap(s.exact))
	for _, v := range s.exact {
		grown += s.addDense(v, 1)
	}
	s.exact = nil
	return grown
}

func (s *sketch) merge(o *sketch) int64 {
	if o.n == 0 {
		return 0
	}
	var grown int64
	if !o.dense && !s.dense && len(s.exact)+len(o.exact) <= sketchExact {
		old := cap(s.exact)
		s.exact = append(s.exact, o.exact...)
		s.n += o.n
		return 8 * int64(cap(s.exact)-old)
	}
	if !s.dense {
		grown += s.densify()
	}
	s.n += o.n
	if !o.dense {
		for _, v := range o.exact {
			grown += s.addDense(v, 1)
		}
		return grown
	}
	s.zero += o.zero
	s.nan += o.nan
	for i, c := range o.pos.counts {
		if c != 0 {
			grown += s.pos.add(o.pos.off+int32(i), c)
		}
	}
	for i, c := range o.neg.counts {
		if c != 0 {
			grown += s.neg.add(o.neg.off+int32(i), c)
		}
	}
	return grown
}

// rankIndex is the nearest-rank position of quantile q among n values.
func rankIndex(q float64, n uint64) uint64 {
	idx := uint64(math.Ceil(q*float64(n))) - 1
	if math.Ceil(q*float64(n)) < 1 {
		idx = 0
	}
	return min(idx, n-1)
}

// quantile is the nearest-rank quantile; NaN values sort last.
func (s *sketch) quantile(q float64) (float64, bool) {
	if s.n == 0 {
		return 0, false
	}
	idx := rankIndex(q, s.n)
	if !s.dense {
		v := slices.Clone(s.exact)
		slices.SortFunc(v, cmpNaNLast)
		return v[idx], true
	}
	var seen uint64
	for i := len(s.neg.counts) - 1; i >= 0; i-- {
		seen += uint64(s.neg.counts[i])
		if seen > idx {
			return -sketchValue(s.neg.off + int32(i)), true
		}
	}
	seen += s.zero
	if seen > idx {
		return 0, true
	}
	for i, c := range s.pos.counts {
		seen += uint64(c)
		if seen > idx {
			return sketchValue(s.pos.off + int32(i)), true
		}
	}
	return math.NaN(), true
}

func cmpNaNLast(a, b float64) int {
	an, bn := math.IsNaN(a), math.IsNaN(b)
	switch {
	case an && bn:
		return 0
	case an:
		return 1
	case bn:
		return -1
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// eachValue adds the non-null rows of sel one by one.
func eachValue(a acc, cells []int32, v *view, sel []int32) {
	if v.allNull {
		return
	}
	for r, i := range sel {
		if v.nulls == nil || !v.null(i) {
			a.add(cells[r], v.vals[i])
		}
	}
}

// growTo extends v with zero values to length n (amortised: cells are
// added one at a time).
func growTo[T any](v []T, n int) []T {
	if n <= len(v) {
		return v
	}
	if n <= cap(v) {
		return v[:n]
	}
	nv := make([]T, n, max(2*cap(v), n, 16))
	copy(nv, v)
	return nv
}
