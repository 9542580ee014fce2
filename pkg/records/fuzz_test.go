package records

import (
	"cmp"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// fuzzSrc turns fuzz input into choices; past the end it yields zeros.
type fuzzSrc struct {
	b []byte
	i int
}

func (s *fuzzSrc) byte() byte {
	if s.i >= len(s.b) {
		return 0
	}
	s.i++
	return s.b[s.i-1]
}

func (s *fuzzSrc) n(k int) int { return int(s.byte()) % k }

func pickOf[T any](s *fuzzSrc, v []T) T { return v[s.n(len(v))] }

var (
	fzUints   = []uint64{0, 1, 2, 7, 255, 256, 65535, 70000, 1 << 40, math.MaxUint64}
	fzInts    = []int64{0, -1, 1, -300, 300, math.MinInt64, math.MaxInt64, 1 << 33}
	fzFloats  = []float64{0, 0.25, -0.25, 1.5, -8, 8, 3.75, math.NaN()}
	fzStrings = []string{"", "a", "b", "a-b", "tcp", "udp", "zz"}
	fzAddrs   = []string{"10.0.0.1", "10.0.0.2", "10.0.1.9", "192.0.2.1", "::ffff:10.0.0.2", "2001:db8::1", "2001:db8::ff", "2001:db8:1::1", "::"}
	fzCols    = []string{"u", "i", "f", "t2", "s", "a", "b"}
	fzTypes   = map[string]Type{"u": Uint, "i": Int, "f": Float, "t2": Time, "s": String, "a": Addr, "b": Bool}
	fzOps     = []string{"=", "!=", "in", "not in", "cidr", "not cidr", "range", "<", "<=", ">", ">=", "~"}
	fzFuncs   = []string{"sum", "count", "avg", "min", "max", "p50", "p90", "p95", "p99", "count", "sum", "median"}
)

// fzValue is a filter value for a column: mostly one that occurs, sometimes
// garbage.
func fzValue(s *fuzzSrc, col, op string) string {
	if s.n(40) == 0 {
		return pickOf(s, []string{"x", "1-", "-", "10.0.0.0/33", "", " 7 ", "0x10", "2026-11-25T10:00:00Z", "-5--1"})
	}
	if op == "range" {
		return fzValue(s, col, "=") + "-" + fzValue(s, col, "=")
	}
	switch fzTypes[col] {
	case Uint:
		return strconv.FormatUint(pickOf(s, fzUints), 10)
	case Int, Time:
		return strconv.FormatInt(pickOf(s, fzInts), 10)
	case Float:
		return strconv.FormatFloat(pickOf(s, fzFloats), 'g', -1, 64)
	case String:
		return pickOf(s, fzStrings)
	case Addr:
		a := pickOf(s, fzAddrs)
		if op == "cidr" || op == "not cidr" {
			bits := []int{8, 16, 24, 32, 0, 64, 120, 128, 104}[s.n(9)]
			if netip.MustParseAddr(a).Is4() {
				bits = min(bits, 32)
			}
			return a + "/" + strconv.Itoa(bits)
		}
		return a
	}
	return pickOf(s, []string{"true", "false"})
}

// fuzzData fills a table and its reference from s: up to 400 rows over a
// few one-second partitions, out of order, with nulls, flushed in small
// batches so partitions cool and reopen.
func fuzzData(t testing.TB, s *fuzzSrc) (*Table, *refTable) {
	tab := NewTable("fz", Options{PartitionMs: 1000, Now: func() int64 { return 100_000 }})
	ref := newRef()
	cols := map[string]Col{}
	for _, name := range fzCols {
		c, err := tab.Column(name, fzTypes[name])
		if err != nil {
			t.Fatal(err)
		}
		cols[name] = c
		ref.column(name, fzTypes[name])
	}
	a := tab.NewAppender()
	rows := s.n(256) + s.n(2)*144
	for r := range rows {
		ts := int64(r*25) + int64(s.n(8))*300 - 600 // drifts forward, jumps back up to 0.6 s
		v := map[string]any{"time": ts}
		a.Begin(ts)
		nulls := s.byte()
		for k, name := range fzCols {
			if nulls>>k&1 != 0 && s.n(2) == 0 {
				continue
			}
			switch c := cols[name]; fzTypes[name] {
			case Uint:
				x := pickOf(s, fzUints)
				a.Uint(c, x)
				v[name] = x
			case Int:
				x := pickOf(s, fzInts)
				a.Int(c, x)
				v[name] = x
			case Time:
				x := pickOf(s, fzInts)
				a.Time(c, x)
				v[name] = x
			case Float:
				x := pickOf(s, fzFloats)
				a.Float(c, x)
				v[name] = x
			case String:
				x := pickOf(s, fzStrings)
				a.String(c, []byte(x))
				v[name] = x
			case Addr:
				x := netip.MustParseAddr(pickOf(s, fzAddrs))
				a.Addr(c, x)
				v[name] = x.Unmap()
			case Bool:
				x := s.n(2) == 1
				a.Bool(c, x)
				v[name] = x
			}
		}
		a.Commit()
		ref.add(v)
		if s.n(4) == 0 {
			a.Flush()
		}
	}
	a.Flush()
	checkInvariants(t, tab)
	if st := tab.Stats(); st.Rows != int64(len(ref.rows)) {
		t.Fatalf("stored %d rows of %d (%+v)", st.Rows, len(ref.rows), st)
	}
	return tab, ref
}

func fuzzQuery(s *fuzzSrc) Query {
	var q Query
	switch s.n(4) {
	case 1:
		q.FromMs, q.ToMs = int64(s.n(40))*100, int64(s.n(120))*100
	case 2:
		q.FromMs = int64(s.n(40)) * 250
	}
	for range s.n(4) {
		col := fzCols[s.n(len(fzCols)+1)%len(fzCols)]
		if s.n(20) == 0 {
			col = "nope"
		}
		op := pickOf(s, fzOps)
		if s.n(4) != 0 { // mostly an operator the column takes
			switch fzTypes[col] {
			case Addr:
			case String:
				op = pickOf(s, []string{"=", "!=", "in", "not in", "<", ">="})
			case Bool:
				op = pickOf(s, []string{"=", "!=", "in", "not in"})
			default:
				op = pickOf(s, fzOps[:len(fzOps)-1])
				if op == "cidr" || op == "not cidr" {
					op = "range"
				}
			}
		}
		f := Filter{Column: col, Op: op}
		nv := 1
		if op == "=" || op == "in" || op == "!=" || op == "not in" || op == "cidr" || op == "not cidr" {
			nv += s.n(3)
		}
		if s.n(30) == 0 {
			nv = s.n(3) * 2 // none, or two where one is wanted
		}
		for range nv {
			f.Values = append(f.Values, fzValue(s, col, op))
		}
		q.Filters = append(q.Filters, f)
	}
	for range s.n(4) + s.n(2) {
		fn := pickOf(s, fzFuncs)
		col := ""
		if fn != "count" || s.n(2) == 0 {
			col = pickOf(s, fzCols)
			if s.n(8) != 0 && fn != "count" { // mostly a column the function takes
				col = pickOf(s, []string{"u", "i", "f"})
				if (fn == "min" || fn == "max") && s.n(3) == 0 {
					col = "t2"
				}
			}
		}
		q.Aggregates = append(q.Aggregates, Aggregate{Func: fn, Column: col})
	}
	if len(q.Aggregates) > 0 || s.n(10) == 0 {
		for range s.n(4) {
			q.GroupBy = append(q.GroupBy, pickOf(s, fzCols))
		}
		q.BucketMs = []int64{0, 0, 1000, 2500, 333}[s.n(5)]
		q.TopN = s.n(4)
		q.Other = s.n(2) == 0
	} else {
		for range s.n(4) {
			q.Columns = append(q.Columns, pickOf(s, append(fzCols, "time")))
		}
		q.Limit = s.n(60)
	}
	return q
}

// sortRows orders a result's rows by their rendering: results whose group
// order depends on approximate quantiles are compared as sets.
func sortRows(r *Result) {
	if len(r.Columns) == 0 {
		return
	}
	n := r.Columns[0].Len()
	keys := make([]string, n)
	for i := range n {
		var b strings.Builder
		for _, c := range r.Columns {
			if strings.Contains(c.Name, "(") {
				break
			}
			null := c.Null != nil && c.Null[i]
			fmt.Fprintf(&b, "%v|%v|", null, rowOf(c, i))
		}
		if r.Other != nil {
			fmt.Fprintf(&b, "%v", r.Other[i])
		}
		keys[i] = b.String()
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(keys[a], keys[b]) })
	for i, c := range r.Columns {
		r.Columns[i] = permute(c, order)
	}
	if r.Other != nil {
		r.Other = pick(r.Other, order)
	}
}

// FuzzQuery stores rows chosen by the input, runs a query chosen by the
// input, and checks it against the naive reference: same error or not, same
// rows. Run: go test -run '^$' -fuzz FuzzQuery ./pkg/records
func FuzzQuery(f *testing.F) {
	f.Add([]byte("seed"))
	f.Add([]byte{200, 1, 0, 3, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20})
	f.Add([]byte(strings.Repeat("\x07\x91\x13\xff\x00\x42", 200)))
	f.Add([]byte(strings.Repeat("\x01\x02\x03\x04\x05\x06\x07\x08\x09", 150)))
	f.Fuzz(func(t *testing.T, data []byte) {
		defer func(n int) { chunkRows = n }(chunkRows)
		defer func(n int64) { denseCells = n }(denseCells)
		chunkRows = 64
		s := &fuzzSrc{b: data}
		tab, ref := fuzzData(t, s)
		for range 4 {
			// the second pass's cells in one array, or in a map
			denseCells = []int64{1 << 16, 0}[s.n(2)]
			checkOrSet(t, tab, ref, fuzzQuery(s))
		}
	})
}

func quantileFunc(fn string) bool { _, ok := quantiles[fn]; return ok }

// The fuzz target's inputs as a plain test, so `go test` covers the paths
// (chunk boundaries, cooled and reopened partitions) on every run.
func TestQueryAgreesWithReference(t *testing.T) {
	defer func(n int) { chunkRows = n }(chunkRows)
	defer func(n int64) { denseCells = n }(denseCells)
	chunkRows = 64
	for seed := range 150 {
		data := make([]byte, 3000)
		g := newFlowGen(uint64(seed))
		for i := range data {
			data[i] = byte(g.r.Uint32())
		}
		s := &fuzzSrc{b: data}
		tab, ref := fuzzData(t, s)
		for i := range 6 {
			denseCells = []int64{1 << 16, 0}[i%2]
			q := fuzzQuery(s)
			checkOrSet(t, tab, ref, q)
		}
	}
}

func checkOrSet(t *testing.T, tab *Table, ref *refTable, q Query) {
	t.Helper()
	got, err := tab.Query(t.Context(), q)
	want, werr := ref.query(q)
	if (err != nil) != (werr != nil) {
		t.Fatalf("query %+v: error %v, reference error %v", q, err, werr)
	}
	if err != nil {
		return
	}
	if len(q.Aggregates) > 0 && quantileFunc(q.Aggregates[0].Func) {
		if q.TopN > 0 {
			return
		}
		sortRows(got)
		sortRows(want)
	}
	if d := sameResult(q, got, want); d != "" {
		t.Fatalf("query %+v: %s", q, d)
	}
}
