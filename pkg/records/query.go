package records

import (
	"cmp"
	"container/heap"
	"context"
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
	// maxGroupBytes bounds the ranking pass's group state when TopN is set
	maxGroupBytes int64
}

func badQuery(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadQuery, fmt.Sprintf(format, args...))
}

func (t *Table) prepare(q Query) (*plan, error) {
	pl := &plan{q: q, from: q.FromMs, to: q.ToMs, maxGroup: t.o.MaxGroups, maxGroupBytes: t.o.MaxGroupBytes}
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

func isDict(t Type) bool { return t == String || t == Addr }

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
