package records

import (
	"cmp"
	"container/heap"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// MaxQueryMemory bounds what one query's quantile sketches may hold.
const MaxQueryMemory = 256 << 20

var (
	ErrUnknownColumn = errors.New("records: unknown column")
	ErrTooManyGroups = errors.New("records: too many groups")
	ErrBadQuery      = errors.New("records: bad query")
)

// partSnap is what a query copied of one partition under the read lock.
type partSnap struct {
	start      int64
	n          int
	minT, maxT int64
	cols       []colSnap // by slot
}

func (p *partSnap) chunkCount() int { return (p.n + chunkRows - 1) / chunkRows }
func (p *partSnap) chunkLen(k int) int {
	return min(chunkRows, p.n-k*chunkRows)
}

// plan is a checked query with the columns it reads (slots) and snapshots of
// the partitions in its range.
type plan struct {
	q        Query
	from, to int64
	ids      []uint16 // slot → column id; slot 0 is "time"
	types    []Type
	names    []string
	preds    []*pred
	group    []int // slots
	aggs     []aggSpec
	raw      []int // slots
	parts    []partSnap
	limit    int
	maxGroup int
}

func badQuery(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadQuery, fmt.Sprintf(format, args...))
}

func (t *Table) prepare(q Query) (*plan, error) {
	pl := &plan{q: q, from: q.FromMs, to: q.ToMs, maxGroup: t.o.MaxGroups}
	if pl.to == 0 {
		pl.to = math.MaxInt64
	}
	switch {
	case pl.to < pl.from:
		return nil, badQuery("time range ends (%d) before it starts (%d)", q.ToMs, q.FromMs)
	case q.BucketMs < 0:
		return nil, badQuery("negative bucket %d ms", q.BucketMs)
	case q.TopN < 0:
		return nil, badQuery("negative top N %d", q.TopN)
	case q.Limit < 0:
		return nil, badQuery("negative limit %d", q.Limit)
	case len(q.Aggregates) == 0 && (len(q.GroupBy) > 0 || q.BucketMs > 0 || q.TopN > 0):
		return nil, badQuery("group by, buckets and top N need an aggregate")
	}
	pl.limit = q.Limit
	if pl.limit == 0 {
		pl.limit = DefaultLimit
	}
	pl.limit = min(pl.limit, MaxLimit)

	t.mu.RLock()
	defer t.mu.RUnlock()
	slotOf := map[uint16]int{}
	slot := func(name string) (int, error) {
		id, ok := t.byName[name]
		if !ok {
			return 0, fmt.Errorf("%w %q in %s", ErrUnknownColumn, name, t.name)
		}
		if s, ok := slotOf[id]; ok {
			return s, nil
		}
		s := len(pl.ids)
		slotOf[id] = s
		pl.ids = append(pl.ids, id)
		pl.types = append(pl.types, t.cols[id].typ)
		pl.names = append(pl.names, name)
		return s, nil
	}
	_, _ = slot(TimeColumn)
	for _, f := range q.Filters {
		s, err := slot(f.Column)
		if err != nil {
			return nil, fmt.Errorf("filter: %w", err)
		}
		p, err := compileFilter(f, s, pl.types[s])
		if err != nil {
			return nil, err
		}
		pl.preds = append(pl.preds, p)
	}
	for _, g := range q.GroupBy {
		s, err := slot(g)
		if err != nil {
			return nil, fmt.Errorf("group by: %w", err)
		}
		pl.group = append(pl.group, s)
	}
	for _, a := range q.Aggregates {
		a.Func = strings.ToLower(strings.TrimSpace(a.Func))
		spec := aggSpec{Aggregate: a, slot: -1, q: quantiles[a.Func]}
		if a.Column != "" {
			s, err := slot(a.Column)
			if err != nil {
				return nil, fmt.Errorf("aggregate %s: %w", a.Name(), err)
			}
			spec.slot, spec.typ = s, pl.types[s]
		}
		if err := checkAgg(a, spec.typ, a.Column != ""); err != nil {
			return nil, err
		}
		pl.aggs = append(pl.aggs, spec)
	}
	if len(pl.aggs) == 0 {
		cols := q.Columns
		if len(cols) == 0 {
			for _, c := range t.cols {
				cols = append(cols, c.name)
			}
		}
		for _, c := range cols {
			s, err := slot(c)
			if err != nil {
				return nil, fmt.Errorf("columns: %w", err)
			}
			pl.raw = append(pl.raw, s)
		}
	}
	for _, p := range t.parts {
		if p.n == 0 || p.maxT < pl.from || p.minT > pl.to {
			continue
		}
		ps := partSnap{start: p.start, n: p.n, minT: p.minT, maxT: p.maxT, cols: make([]colSnap, len(pl.ids))}
		for s, id := range pl.ids {
			if int(id) < len(p.cols) && p.cols[id] != nil {
				ps.cols[s] = p.cols[id].snap()
			} else {
				ps.cols[s] = colSnap{typ: pl.types[s], absent: true}
			}
		}
		pl.parts = append(pl.parts, ps)
	}
	return pl, nil
}

// scanner walks the chunks of a plan's partitions, decoding columns on
// demand into buffers it reuses.
type scanner struct {
	pl      *plan
	ps      *partSnap
	k       int
	rows    int
	bufs    [][]uint64
	nbufs   [][]uint64
	views   []view
	decoded []bool
	sel     []int32
	tables  [][]bool // per pred: dictionary verdicts of the current partition
}

func newScanner(pl *plan) *scanner {
	s := &scanner{pl: pl, views: make([]view, len(pl.ids)), decoded: make([]bool, len(pl.ids)),
		tables: make([][]bool, len(pl.preds)), sel: make([]int32, 0, chunkRows)}
	for range pl.ids {
		s.bufs = append(s.bufs, make([]uint64, chunkRows))
		s.nbufs = append(s.nbufs, make([]uint64, chunkRows/64))
	}
	return s
}

func (s *scanner) view(slot int) *view {
	if !s.decoded[slot] {
		s.views[slot] = s.ps.cols[slot].chunk(s.k, s.rows, s.bufs[slot], s.nbufs[slot])
		s.decoded[slot] = true
	}
	return &s.views[slot]
}

// partition prepares the dictionary verdicts of the filters.
func (s *scanner) partition(ps *partSnap) {
	s.ps = ps
	for i, p := range s.pl.preds {
		if p.typ == String || p.typ == Addr {
			s.tables[i] = p.dictTable(&ps.cols[p.slot], s.tables[i])
		}
	}
}

// chunk selects the rows of chunk k in the time range that pass every
// filter; scanned counts the rows in range.
func (s *scanner) chunk(k int) (sel []int32, scanned int) {
	s.k, s.rows = k, s.ps.chunkLen(k)
	clear(s.decoded)
	tc := &s.ps.cols[0]
	lo, hi, _ := tc.chunkRange(k)
	tlo, thi := intRaw(lo), intRaw(hi)
	if thi < s.pl.from || tlo > s.pl.to {
		return nil, 0
	}
	sel = s.sel[:0]
	if tlo >= s.pl.from && thi <= s.pl.to {
		for i := range s.rows {
			sel = append(sel, int32(i))
		}
	} else {
		tv := s.view(0)
		from, to := rawInt(s.pl.from), rawInt(s.pl.to)
		for i, r := range tv.vals[:s.rows] {
			if r >= from && r <= to {
				sel = append(sel, int32(i))
			}
		}
	}
	scanned = len(sel)
	for i, p := range s.pl.preds {
		if len(sel) == 0 {
			break
		}
		sel = p.filter(s.view(p.slot), sel, s.tables[i])
	}
	return sel, scanned
}

// Query runs q over the rows flushed before it started. It returns an error
// for unknown columns, bad filter values, aggregates that do not fit their
// column, and queries past the group, bucket or memory bounds.
func (t *Table) Query(ctx context.Context, q Query) (*Result, error) {
	pl, err := t.prepare(q)
	if err != nil {
		return nil, err
	}
	if len(pl.aggs) == 0 {
		return pl.rawRows(ctx)
	}
	return pl.aggregate(ctx)
}

// --- aggregates ---

type cellKey struct {
	g int32
	b int64
}

// grouper maps rows to group ids. A group's identity is one or two 64-bit
// words a column, the same in every partition: the raw word of a number,
// the 16 bytes of an address, the query-wide id of a string (partition
// dictionary codes are translated once per partition). Up to two columns
// key a map of fixed-size keys (no allocation per group); more columns key
// a map of byte strings.
type grouper struct {
	pl    *plan
	slots []int
	typs  []Type
	max   int
	n     int

	strs   []string
	strIdx map[string]uint32
	trans  [][]uint32 // per group column: partition code → string id + 1 (0: not yet)

	small   map[gkey]int32
	keys    []gkey
	big     map[string]int32
	bigKeys []string
	kbuf    []byte

	// fast paths of one column, per partition
	single []int32 // dictionary code → group id (-1: not yet)
	nullID int32
}

type gkey struct {
	w     [4]uint64
	nulls uint8
}

func newGrouper(pl *plan) *grouper {
	g := &grouper{pl: pl, slots: pl.group, max: pl.maxGroup, strIdx: map[string]uint32{}, nullID: -1}
	for _, s := range pl.group {
		g.typs = append(g.typs, pl.types[s])
	}
	g.trans = make([][]uint32, len(g.slots))
	if len(g.slots) <= 2 {
		g.small = map[gkey]int32{}
	} else {
		g.big = map[string]int32{}
	}
	return g
}

func isDict(t Type) bool { return t == String || t == Addr }

func (g *grouper) partition(ps *partSnap) {
	for j, slot := range g.slots {
		if g.typs[j] == String {
			g.trans[j] = append(g.trans[j][:0], make([]uint32, ps.cols[slot].dictLen())...)
		}
	}
	g.single = g.single[:0]
	if len(g.slots) == 1 && isDict(g.typs[0]) {
		for range ps.cols[g.slots[0]].dictLen() {
			g.single = append(g.single, -1)
		}
	}
}

// words is column j's identity for row i.
func (g *grouper) words(ps *partSnap, j int, r uint64) (uint64, uint64) {
	cs := &ps.cols[g.slots[j]]
	switch g.typs[j] {
	case Addr:
		k := cs.addrs[r]
		return k.hi, k.lo
	case String:
		t := g.trans[j][r]
		if t == 0 {
			s := cs.str(r)
			id, ok := g.strIdx[s]
			if !ok {
				id = uint32(len(g.strs))
				g.strs = append(g.strs, s)
				g.strIdx[s] = id
			}
			t = id + 1
			g.trans[j][r] = t
		}
		return uint64(t - 1), 0
	}
	return r, 0
}

func (g *grouper) add() (int32, error) {
	if g.n >= g.max {
		return 0, fmt.Errorf("%w: more than %d groups of %s; filter more or group by fewer columns", ErrTooManyGroups, g.max, strings.Join(g.pl.q.GroupBy, ", "))
	}
	g.n++
	return int32(g.n - 1), nil
}

func (g *grouper) lookup(ps *partSnap, s *scanner, i int32) (int32, error) {
	if g.small != nil {
		var k gkey
		for j, slot := range g.slots {
			v := s.view(slot)
			if v.null(i) {
				k.nulls |= 1 << j
				continue
			}
			k.w[2*j], k.w[2*j+1] = g.words(ps, j, v.vals[i])
		}
		if id, ok := g.small[k]; ok {
			return id, nil
		}
		id, err := g.add()
		if err == nil {
			g.small[k] = id
			g.keys = append(g.keys, k)
		}
		return id, err
	}
	b := g.kbuf[:0]
	for j, slot := range g.slots {
		v := s.view(slot)
		if v.null(i) {
			b = append(b, 0)
			b = append(b, make([]byte, 16)...)
			continue
		}
		w0, w1 := g.words(ps, j, v.vals[i])
		b = append(b, 1)
		b = binary.LittleEndian.AppendUint64(b, w0)
		b = binary.LittleEndian.AppendUint64(b, w1)
	}
	g.kbuf = b
	if id, ok := g.big[string(b)]; ok {
		return id, nil
	}
	id, err := g.add()
	if err == nil {
		k := string(b)
		g.big[k] = id
		g.bigKeys = append(g.bigKeys, k)
	}
	return id, err
}

func (g *grouper) id(ps *partSnap, s *scanner, i int32) (int32, error) {
	if len(g.slots) == 0 {
		if g.n == 0 {
			g.n, g.keys = 1, append(g.keys, gkey{})
		}
		return 0, nil
	}
	if len(g.slots) == 1 && isDict(g.typs[0]) {
		v := s.view(g.slots[0])
		if v.null(i) {
			if g.nullID < 0 {
				id, err := g.lookup(ps, s, i)
				if err != nil {
					return 0, err
				}
				g.nullID = id
			}
			return g.nullID, nil
		}
		c := v.vals[i]
		if id := g.single[c]; id >= 0 {
			return id, nil
		}
		id, err := g.lookup(ps, s, i)
		if err == nil {
			g.single[c] = id
		}
		return id, err
	}
	return g.lookup(ps, s, i)
}

// value is group id's column j: null, then its words.
func (g *grouper) value(id int32, j int) (null bool, w0, w1 uint64) {
	if g.small != nil {
		k := &g.keys[id]
		return k.nulls&(1<<j) != 0, k.w[2*j], k.w[2*j+1]
	}
	b := g.bigKeys[id][17*j:]
	return b[0] == 0, leUint64(b[1:]), leUint64(b[9:])
}

// compare orders groups by their values, column by column, nulls first:
// the tie-break between groups of equal rank.
func (g *grouper) compare(a, b int32) int {
	for j, typ := range g.typs {
		an, a0, a1 := g.value(a, j)
		bn, b0, b1 := g.value(b, j)
		if an || bn {
			if an != bn {
				if an {
					return -1
				}
				return 1
			}
			continue
		}
		var c int
		switch typ {
		case String:
			c = strings.Compare(g.strs[a0], g.strs[b0])
		case Float:
			c = cmp.Compare(floatRaw(a0), floatRaw(b0))
		case Addr:
			c = cmp.Or(cmp.Compare(a0, b0), cmp.Compare(a1, b1))
		default:
			c = cmp.Compare(a0, b0)
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

// output appends group id's values to the builders.
func (g *grouper) output(id int32, bs []*builder) {
	for j, typ := range g.typs {
		null, w0, w1 := g.value(id, j)
		switch {
		case null:
			bs[j].null()
		case typ == String:
			bs[j].str(g.strs[w0])
		case typ == Addr:
			bs[j].str(addrKey{w0, w1}.addr().String())
		default:
			bs[j].raw(w0)
		}
	}
}

func (pl *plan) aggregate(ctx context.Context) (*Result, error) {
	q := pl.q
	if q.BucketMs > 0 && len(pl.parts) > 0 {
		lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
		for _, p := range pl.parts {
			lo, hi = min(lo, p.minT), max(hi, p.maxT)
		}
		lo, hi = max(lo, pl.from), min(hi, pl.to)
		if n := floorDiv(hi, q.BucketMs) - floorDiv(lo, q.BucketMs) + 1; n > MaxBuckets {
			return nil, badQuery("%d time buckets of %d ms (at most %d); use a larger bucket", n, q.BucketMs, MaxBuckets)
		}
	}
	var mem int64
	accs := make([]acc, len(pl.aggs))
	for i, a := range pl.aggs {
		accs[i] = newAcc(a, &mem)
	}
	g := newGrouper(pl)
	s := newScanner(pl)
	res := &Result{}
	var cells []cellKey
	cellOf := map[cellKey]int32{}
	last := cellKey{g: -1}
	lastCell := int32(-1)
	for pi := range pl.parts {
		ps := &pl.parts[pi]
		s.partition(ps)
		g.partition(ps)
		for k := range ps.chunkCount() {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			sel, scanned := s.chunk(k)
			res.RowsScanned += scanned
			if len(sel) == 0 {
				continue
			}
			var tv *view
			if q.BucketMs > 0 {
				tv = s.view(0)
			}
			for _, i := range sel {
				gid, err := g.id(ps, s, i)
				if err != nil {
					return nil, err
				}
				cell := gid
				if q.BucketMs > 0 {
					ck := cellKey{gid, floorDiv(intRaw(tv.vals[i]), q.BucketMs)}
					if ck == last {
						cell = lastCell
					} else {
						c, ok := cellOf[ck]
						if !ok {
							if len(cells) >= MaxCells {
								return nil, fmt.Errorf("%w: more than %d group × bucket cells; use larger buckets or top N over fewer groups", ErrTooManyGroups, MaxCells)
							}
							c = int32(len(cells))
							cells = append(cells, ck)
							cellOf[ck] = c
							for _, a := range accs {
								a.grow(len(cells))
							}
						}
						cell, last, lastCell = c, ck, c
					}
				} else if int(gid) >= len(cells) {
					cells = append(cells, cellKey{g: gid})
					for _, a := range accs {
						a.grow(len(cells))
					}
				}
				for j, a := range pl.aggs {
					if a.slot < 0 {
						accs[j].add(cell, 0)
						continue
					}
					v := s.view(a.slot)
					if v.null(i) {
						continue
					}
					accs[j].add(cell, v.vals[i])
				}
			}
			if mem > MaxQueryMemory {
				return nil, badQuery("quantiles need more than %d MB; filter more or group by fewer columns", MaxQueryMemory>>20)
			}
		}
	}

	// Rank groups by the first aggregate over the whole range.
	ngroups := g.n
	// byGroup(g) lists group g's cells: one flat array cut by offsets
	off := make([]int32, ngroups+1)
	for _, ck := range cells {
		off[ck.g+1]++
	}
	for gi := range ngroups {
		off[gi+1] += off[gi]
	}
	flat := make([]int32, len(cells))
	fill := slices.Clone(off[:ngroups])
	for c, ck := range cells {
		flat[fill[ck.g]] = int32(c)
		fill[ck.g]++
	}
	byGroup := func(g int32) []int32 { return flat[off[g]:off[g+1]] }
	rankAcc := accs[0]
	rankCell := make([]int32, ngroups)
	if q.BucketMs > 0 {
		rankAcc = newAcc(pl.aggs[0], &mem)
		rankAcc.grow(ngroups)
		for gi := range ngroups {
			rankCell[gi] = int32(gi)
			for _, c := range byGroup(int32(gi)) {
				mergeInto(rankAcc, accs[0], int32(gi), c)
			}
		}
	} else {
		for gi := range rankCell {
			rankCell[gi] = int32(gi)
		}
	}
	type ranked struct {
		g  int32
		v  float64
		ok bool
	}
	order := make([]ranked, ngroups)
	for gi := range order {
		v, ok := rankAcc.rank(rankCell[gi])
		if math.IsNaN(v) {
			ok = false
		}
		order[gi] = ranked{int32(gi), v, ok}
	}
	slices.SortFunc(order, func(a, b ranked) int {
		if a.ok != b.ok {
			if a.ok {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(b.v, a.v); c != 0 {
			return c
		}
		return g.compare(a.g, b.g)
	})
	top, rest := order, []ranked(nil)
	if q.TopN > 0 && len(order) > q.TopN {
		top, rest = order[:q.TopN], order[q.TopN:]
		res.Truncated = !q.Other
	}
	byBucket := func(a, b int32) int { return cmp.Compare(cells[a].b, cells[b].b) }
	var out []int32
	var outGroup []int32
	for _, r := range top {
		cs := byGroup(r.g)
		slices.SortFunc(cs, byBucket)
		for _, c := range cs {
			out = append(out, c)
			outGroup = append(outGroup, r.g)
		}
	}
	var otherBuckets []int64
	if q.Other && len(rest) > 0 {
		// the other group's cells follow the real ones in every acc
		base := len(cells)
		slot := map[int64]int32{}
		for _, r := range rest {
			for _, c := range byGroup(r.g) {
				b := cells[c].b
				o, ok := slot[b]
				if !ok {
					o = int32(base + len(otherBuckets))
					slot[b] = o
					otherBuckets = append(otherBuckets, b)
					for _, a := range accs {
						a.grow(int(o) + 1)
					}
				}
				for _, a := range accs {
					a.merge(o, c)
				}
			}
		}
		idx := make([]int, len(otherBuckets))
		for i := range idx {
			idx[i] = i
		}
		slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(otherBuckets[a], otherBuckets[b]) })
		for _, i := range idx {
			out = append(out, int32(base+i))
			outGroup = append(outGroup, -1)
		}
		res.Other = make([]bool, len(out))
		for i, gid := range outGroup {
			res.Other[i] = gid < 0
		}
	}
	if mem > MaxQueryMemory {
		return nil, badQuery("quantiles need more than %d MB; filter more or group by fewer columns", MaxQueryMemory>>20)
	}

	if q.BucketMs > 0 {
		tb := newBuilder(Time, len(out))
		for _, c := range out {
			var b int64
			if int(c) < len(cells) {
				b = cells[c].b
			} else {
				b = otherBuckets[int(c)-len(cells)]
			}
			tb.raw(rawInt(b * q.BucketMs))
		}
		res.Columns = append(res.Columns, tb.column(TimeColumn))
	}
	gbs := make([]*builder, len(pl.group))
	for j, slot := range pl.group {
		gbs[j] = newBuilder(pl.types[slot], len(out))
	}
	for _, gid := range outGroup {
		if gid < 0 {
			for _, b := range gbs {
				b.null()
			}
			continue
		}
		g.output(gid, gbs)
	}
	for j, b := range gbs {
		res.Columns = append(res.Columns, b.column(pl.q.GroupBy[j]))
	}
	for j, a := range accs {
		res.Columns = append(res.Columns, a.out(pl.aggs[j].Name(), out))
	}
	return res, nil
}

// mergeInto merges cell c of src into cell d of dst, an acc of the same
// aggregate.
func mergeInto(dst, src acc, d, c int32) {
	switch s := src.(type) {
	case *countAcc:
		dst.(*countAcc).n[d] += s.n[c]
	case *sumAcc:
		if s.has[c] {
			dst.(*sumAcc).addRawSum(d, s.s[c])
		}
	case *avgAcc:
		da := dst.(*avgAcc)
		da.s[d] += s.s[c]
		da.n[d] += s.n[c]
	case *minMaxAcc:
		if s.has[c] {
			dst.(*minMaxAcc).add(d, s.v[c])
		}
	case *quantAcc:
		da := dst.(*quantAcc)
		*da.mem += da.sk[d].merge(&s.sk[c])
	}
}

// --- raw rows ---

type rowHit struct {
	t   int64
	seq uint64 // partition index << 32 | row: later rows of equal time first
}

func (a rowHit) less(b rowHit) bool { return a.t < b.t || a.t == b.t && a.seq < b.seq }

type hitHeap []rowHit

func (h hitHeap) Len() int           { return len(h) }
func (h hitHeap) Less(i, j int) bool { return h[i].less(h[j]) }
func (h hitHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *hitHeap) Push(x any)        { *h = append(*h, x.(rowHit)) }
func (h *hitHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func (pl *plan) rawRows(ctx context.Context) (*Result, error) {
	res := &Result{}
	s := newScanner(pl)
	h := make(hitHeap, 0, min(pl.limit, 1024))
	matched, skipped := 0, false
	for pi := len(pl.parts) - 1; pi >= 0; pi-- {
		ps := &pl.parts[pi]
		if len(h) == pl.limit && ps.maxT < h[0].t {
			// every row of this partition is older than the rows kept
			skipped = true
			continue
		}
		s.partition(ps)
		for k := range ps.chunkCount() {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			sel, scanned := s.chunk(k)
			res.RowsScanned += scanned
			if len(sel) == 0 {
				continue
			}
			tv := s.view(0)
			matched += len(sel)
			for _, i := range sel {
				hit := rowHit{t: intRaw(tv.vals[i]), seq: uint64(pi)<<32 | uint64(k*chunkRows+int(i))}
				if len(h) < pl.limit {
					heap.Push(&h, hit)
				} else if h[0].less(hit) {
					h[0] = hit
					heap.Fix(&h, 0)
				}
			}
		}
	}
	res.Truncated = matched > len(h) || skipped
	hits := []rowHit(h)
	slices.SortFunc(hits, func(a, b rowHit) int {
		if b.less(a) {
			return -1
		}
		if a.less(b) {
			return 1
		}
		return 0
	})
	// Materialise chunk by chunk: visit hits in storage order.
	pos := make([]int, len(hits))
	for i := range pos {
		pos[i] = i
	}
	slices.SortFunc(pos, func(a, b int) int { return cmp.Compare(hits[a].seq, hits[b].seq) })
	cur, curK := -1, -1
	staging := make([]*builder, len(pl.raw))
	for j, slot := range pl.raw {
		staging[j] = newBuilder(pl.types[slot], len(hits))
	}
	for _, hi := range pos {
		hit := hits[hi]
		pi, row := int(hit.seq>>32), int(hit.seq&0xffffffff)
		if k := row / chunkRows; pi != cur || k != curK {
			cur, curK = pi, k
			s.ps = &pl.parts[pi]
			s.k, s.rows = k, s.ps.chunkLen(k)
			clear(s.decoded)
		}
		for j, slot := range pl.raw {
			staging[j].value(&s.ps.cols[slot], s.view(slot), int32(row%chunkRows))
		}
	}
	// staging row n holds hits[pos[n]]; output row r is hits[r]
	inv := make([]int, len(pos))
	for n, hi := range pos {
		inv[hi] = n
	}
	for j := range pl.raw {
		res.Columns = append(res.Columns, permute(staging[j].column(pl.names[pl.raw[j]]), inv))
	}
	return res, nil
}

// permute returns c with row r taken from row order[r].
func permute(c ResultColumn, order []int) ResultColumn {
	switch v := c.Values.(type) {
	case []uint64:
		c.Values = pick(v, order)
	case []int64:
		c.Values = pick(v, order)
	case []float64:
		c.Values = pick(v, order)
	case []string:
		c.Values = pick(v, order)
	case []bool:
		c.Values = pick(v, order)
	}
	if c.Null != nil {
		c.Null = pick(c.Null, order)
	}
	return c
}

func pick[T any](v []T, order []int) []T {
	out := make([]T, len(order))
	for r, i := range order {
		out[r] = v[i]
	}
	return out
}

func leUint64(s string) uint64 {
	_ = s[7]
	var v uint64
	for i := 7; i >= 0; i-- {
		v = v<<8 | uint64(s[i])
	}
	return v
}
