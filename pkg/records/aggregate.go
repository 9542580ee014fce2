package records

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Aggregate queries run in up to two passes over the rows.
//
// The ranking pass keys every row's group and keeps, per group, only the
// first aggregate over the whole range (the rank): a key of a word or two,
// a hash slot and one accumulator cell. Groups are ranked; with TopN only
// the best TopN are kept (a bounded heap, not a sort of every group).
//
// The second pass, needed with time buckets or when the other aggregates
// would cost much per group, scans the rows again and evaluates every
// aggregate only for the kept groups, plus one "other" group that folds
// the rest: (TopN + 1) × buckets cells, instead of every group × bucket
// cell of the range.
//
// What a query may hold: without TopN, MaxGroups groups (every group is in
// the answer); with TopN, MaxGroupBytes of group state, so that a top 10
// over millions of groups works while its memory stays bounded.

// denseCells: the second pass keeps its cells in one array (kept group ×
// bucket) when there are at most this many, else in a map of the cells
// that occur. A variable only so that tests can take the map's path.
var denseCells int64 = 1 << 16

// ranked is a group and its rank value; ok is false for a null rank.
type ranked struct {
	g  int32
	v  float64
	ok bool
}

func (pl *plan) aggregate(ctx context.Context) (*Result, error) {
	q := pl.q
	var b0, nb int64 = 0, 1
	if q.BucketMs > 0 && len(pl.parts) > 0 {
		lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
		for _, p := range pl.parts {
			lo, hi = min(lo, p.minT), max(hi, p.maxT)
		}
		lo, hi = max(lo, pl.from), min(hi, pl.to)
		if hi < lo { // partitions overlap the range only through their spans
			hi = lo
		}
		b0 = floorDiv(lo, q.BucketMs)
		nb = floorDiv(hi, q.BucketMs) - b0 + 1
		if nb > MaxBuckets {
			return nil, badQuery("%d time buckets of %d ms (at most %d); use a larger bucket", nb, q.BucketMs, MaxBuckets)
		}
	}
	var mem int64
	// One pass when there are no buckets and either every group is in the
	// answer or the rank is the only aggregate: otherwise the other
	// aggregates would be held for groups that TopN drops.
	onePass := q.BucketMs == 0 && (q.TopN == 0 || len(pl.aggs) == 1)
	accs := []acc{newAcc(pl.aggs[0], &mem)}
	if onePass {
		for _, a := range pl.aggs[1:] {
			accs = append(accs, newAcc(a, &mem))
		}
	}
	k := newKeyer(pl)
	tab := newKeyTable(k.w, 0)
	s := newScanner(pl)
	res := &Result{}
	kbuf := make([]uint64, chunkRows*k.w)
	gids := make([]int32, chunkRows)
	for pi := range pl.parts {
		ps := &pl.parts[pi]
		s.partition(ps)
		k.partition(pi)
		for c := range ps.chunkCount() {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			sel, scanned := s.chunk(c)
			res.RowsScanned += scanned
			if len(sel) == 0 {
				continue
			}
			kb := kbuf[:len(sel)*k.w]
			k.keys(s, pi, sel, kb)
			ids := gids[:len(sel)]
			tab.ids(kb, ids)
			for j, a := range accs {
				a.grow(tab.n)
				a.addRows(ids, pl.aggView(s, j), sel)
			}
			if err := pl.checkGroups(tab, accs, mem); err != nil {
				return nil, err
			}
		}
	}

	ngroups := tab.n
	order := pl.rank(k, tab, accs[0])
	top := order
	if q.TopN > 0 && ngroups > q.TopN {
		top = order[:q.TopN]
		res.Truncated = !q.Other
	}
	// order may hold only the kept groups: the rest are found by key
	other := q.Other && len(top) < ngroups

	var out []int32   // result rows: cells of accs
	var outSlot []int // per row: index in top, or -1 for other
	var outBucket []int64
	if onePass {
		for i, r := range top {
			out = append(out, r.g)
			outSlot = append(outSlot, i)
		}
		if other {
			isTop := make([]bool, ngroups)
			for _, r := range top {
				isTop[r.g] = true
			}
			o := int32(ngroups)
			for _, a := range accs {
				a.grow(ngroups + 1)
			}
			for g := range int32(ngroups) {
				if !isTop[g] {
					for _, a := range accs {
						a.merge(o, g)
					}
				}
			}
			out = append(out, o)
			outSlot = append(outSlot, -1)
		}
	} else {
		var err error
		accs, out, outSlot, outBucket, err = pl.evaluate(ctx, k, tab, top, other, b0, nb, &mem)
		if err != nil {
			return nil, err
		}
	}
	if mem > MaxQueryMemory {
		return nil, badQuery("quantiles need more than %d MB; filter more or group by fewer columns", MaxQueryMemory>>20)
	}
	if other {
		res.Other = make([]bool, len(out))
		for i, sl := range outSlot {
			res.Other[i] = sl < 0
		}
	}

	if q.BucketMs > 0 {
		tb := newBuilder(Time, len(out))
		for _, b := range outBucket {
			tb.raw(rawInt(b * q.BucketMs))
		}
		res.Columns = append(res.Columns, tb.column(TimeColumn))
	}
	gbs := make([]*builder, len(pl.group))
	for j, slot := range pl.group {
		gbs[j] = newBuilder(pl.types[slot], len(out))
	}
	for _, sl := range outSlot {
		if sl < 0 {
			for _, b := range gbs {
				b.null()
			}
			continue
		}
		k.output(tab.key(top[sl].g), gbs)
	}
	for j, b := range gbs {
		res.Columns = append(res.Columns, b.column(q.GroupBy[j]))
	}
	for j, a := range accs {
		res.Columns = append(res.Columns, a.out(pl.aggs[j].Name(), out))
	}
	return res, nil
}

// aggView is the chunk view aggregate j reads (nil for count()).
func (pl *plan) aggView(s *scanner, j int) *view {
	if pl.aggs[j].slot < 0 {
		return nil
	}
	return s.view(pl.aggs[j].slot)
}

// checkGroups enforces the group bound of the ranking pass.
func (pl *plan) checkGroups(tab *keyTable, accs []acc, mem int64) error {
	if pl.q.TopN == 0 {
		if tab.n > pl.maxGroup {
			return fmt.Errorf("%w: more than %d groups of %s; filter more or group by fewer columns", ErrTooManyGroups, pl.maxGroup, strings.Join(pl.q.GroupBy, ", "))
		}
	} else {
		b := tab.bytes()
		for _, a := range accs {
			b += a.bytes()
		}
		if b > pl.maxGroupBytes {
			return fmt.Errorf("%w: %d groups of %s need more than the %d MB a top %d query may hold; filter more or group by fewer columns",
				ErrTooManyGroups, tab.n, strings.Join(pl.q.GroupBy, ", "), pl.maxGroupBytes>>20, pl.q.TopN)
		}
	}
	if mem > MaxQueryMemory {
		return badQuery("quantiles need more than %d MB; filter more or group by fewer columns", MaxQueryMemory>>20)
	}
	return nil
}

// rank orders the groups by their rank value, largest first, nulls (and
// NaN) last, equal ranks by the group values. With a TopN well below the
// number of groups only the best TopN come back, from a bounded heap.
func (pl *plan) rank(k *keyer, tab *keyTable, a acc) []ranked {
	before := func(x, y ranked) int {
		if x.ok != y.ok {
			if x.ok {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(y.v, x.v); c != 0 {
			return c
		}
		return k.compare(tab.key(x.g), tab.key(y.g))
	}
	at := func(g int32) ranked {
		v, ok := a.rank(g)
		return ranked{g, v, ok && !math.IsNaN(v)}
	}
	n, keep := tab.n, pl.q.TopN
	if keep == 0 || keep >= n/4 {
		order := make([]ranked, n)
		for g := range order {
			order[g] = at(int32(g))
		}
		slices.SortFunc(order, before)
		return order
	}
	// A heap of the best keep groups so far, the worst of them at the root.
	h := make([]ranked, 0, keep)
	worse := func(i, j int) bool { return before(h[i], h[j]) > 0 }
	down := func(i int) {
		for {
			l := 2*i + 1
			if l >= len(h) {
				return
			}
			m := l
			if r := l + 1; r < len(h) && worse(r, l) {
				m = r
			}
			if !worse(m, i) {
				return
			}
			h[i], h[m] = h[m], h[i]
			i = m
		}
	}
	for g := range int32(n) {
		r := at(g)
		if len(h) < keep {
			h = append(h, r)
			for i := len(h) - 1; i > 0; {
				p := (i - 1) / 2
				if !worse(i, p) {
					break
				}
				h[i], h[p] = h[p], h[i]
				i = p
			}
			continue
		}
		if before(r, h[0]) < 0 {
			h[0] = r
			down(0)
		}
	}
	slices.SortFunc(h, before)
	return h
}

// evaluate is the second pass: every aggregate for the kept groups (top,
// in rank order) and, when other is set, for the rest folded into one
// group, per bucket. It returns the accumulators and, per result row, its
// cell, its index in top (-1: other) and its bucket.
func (pl *plan) evaluate(ctx context.Context, k *keyer, tab *keyTable, top []ranked, other bool, b0, nb int64, mem *int64) (accs []acc, out []int32, outSlot []int, outBucket []int64, err error) {
	q := pl.q
	nslots := len(top)
	otherSlot := int32(-1)
	if other {
		otherSlot = int32(nslots)
		nslots++
	}
	// slotOf: group key → index in top. When every group is kept, the
	// ranking pass's table answers (id → index); otherwise a small table
	// of the kept keys (its ids are the indexes).
	var find func(key []uint64) int32
	if len(top) == tab.n {
		idx := make([]int32, tab.n)
		for i, r := range top {
			idx[r.g] = int32(i)
		}
		find = func(key []uint64) int32 { return idx[tab.find(key)] }
	} else {
		small := newKeyTable(k.w, len(top))
		kb := make([]uint64, 0, k.w*len(top))
		for _, r := range top {
			kb = append(kb, tab.key(r.g)...)
		}
		small.ids(kb, make([]int32, len(top)))
		find = small.find
	}
	dense := int64(nslots)*nb <= denseCells || q.BucketMs == 0
	for _, a := range pl.aggs {
		accs = append(accs, newAcc(a, mem))
	}
	var seen []bool
	var cells []cellKey // sparse: cell → (slot, bucket)
	cellOf := map[cellKey]int32{}
	if dense {
		seen = make([]bool, int64(nslots)*nb)
		for _, a := range accs {
			a.grow(len(seen))
		}
	}
	s := newScanner(pl)
	kbuf := make([]uint64, chunkRows*k.w)
	rowCells := make([]int32, chunkRows)
	rows := make([]int32, chunkRows)
	for pi := range pl.parts {
		ps := &pl.parts[pi]
		s.partition(ps)
		k.partition(pi)
		for c := range ps.chunkCount() {
			if err := ctx.Err(); err != nil {
				return nil, nil, nil, nil, err
			}
			sel, _ := s.chunk(c)
			if len(sel) == 0 {
				continue
			}
			kb := kbuf[:len(sel)*k.w]
			k.keys(s, pi, sel, kb)
			var tv *view
			if q.BucketMs > 0 {
				tv = s.view(0)
			}
			n := 0
			for r, i := range sel {
				slot := find(kb[r*k.w : (r+1)*k.w])
				if slot < 0 {
					if otherSlot < 0 {
						continue
					}
					slot = otherSlot
				}
				var b int64
				if tv != nil {
					b = floorDiv(intRaw(tv.vals[i]), q.BucketMs) - b0
				}
				var cell int32
				if dense {
					cell = slot*int32(nb) + int32(b)
					seen[cell] = true
				} else {
					ck := cellKey{slot, b}
					var ok bool
					if cell, ok = cellOf[ck]; !ok {
						if len(cells) >= MaxCells {
							return nil, nil, nil, nil, fmt.Errorf("%w: more than %d group × bucket cells; use larger buckets or top N over fewer groups", ErrTooManyGroups, MaxCells)
						}
						cell = int32(len(cells))
						cells = append(cells, ck)
						cellOf[ck] = cell
						for _, a := range accs {
							a.grow(len(cells))
						}
					}
				}
				rows[n], rowCells[n] = i, cell
				n++
			}
			for j, a := range accs {
				a.addRows(rowCells[:n], pl.aggView(s, j), rows[:n])
			}
			if *mem > MaxQueryMemory {
				return nil, nil, nil, nil, badQuery("quantiles need more than %d MB; filter more or group by fewer columns", MaxQueryMemory>>20)
			}
		}
	}
	emit := func(cell int32, slot int32, b int64) {
		out = append(out, cell)
		if slot == otherSlot {
			outSlot = append(outSlot, -1)
		} else {
			outSlot = append(outSlot, int(slot))
		}
		outBucket = append(outBucket, b0+b)
	}
	if dense {
		for slot := range int32(nslots) {
			for b := range nb {
				if cell := slot*int32(nb) + int32(b); seen[cell] {
					emit(cell, slot, b)
				}
			}
		}
		return accs, out, outSlot, outBucket, nil
	}
	order := make([]int32, len(cells))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(x, y int32) int {
		return cmp.Or(cmp.Compare(cells[x].g, cells[y].g), cmp.Compare(cells[x].b, cells[y].b))
	})
	for _, cell := range order {
		emit(cell, cells[cell].g, cells[cell].b)
	}
	return accs, out, outSlot, outBucket, nil
}
