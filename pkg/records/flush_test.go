package records

import (
	"context"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// flushRows writes rows chosen by s into two tables: one flushed after
// every row, one flushed where s says (runs of up to ~600 rows, so blocks
// of runRows and chunks of chunkRows are crossed inside one flush). The
// rows use every type, nearly unique strings (the index grows), a column
// that first appears late, a column set twice in a row, values of the
// wrong type and rows refused for their time. It returns both tables and
// the reference of the rows.
func flushRows(t testing.TB, s *fuzzSrc, rows int) (single, runs *Table, ref *refTable) {
	clock := func() int64 { return 100_000 }
	single = NewTable("one", Options{PartitionMs: 1000, Now: clock})
	runs = NewTable("runs", Options{PartitionMs: 1000, Now: clock})
	ref = newRef()
	type colPair struct{ a, b Col }
	cols := map[string]colPair{}
	names := []string{"u", "i", "f", "t2", "s", "a", "b", "uniq", "late"}
	types := map[string]Type{"u": Uint, "i": Int, "f": Float, "t2": Time, "s": String, "a": Addr, "b": Bool, "uniq": String, "late": Uint}
	for _, name := range names {
		var p colPair
		var err error
		if p.a, err = single.Column(name, types[name]); err != nil {
			t.Fatal(err)
		}
		if p.b, err = runs.Column(name, types[name]); err != nil {
			t.Fatal(err)
		}
		cols[name] = p
		ref.column(name, types[name])
	}
	aa, ab := single.NewAppender(), runs.NewAppender()
	both := func(f func(a *Appender, c func(string) Col)) {
		f(aa, func(n string) Col { return cols[n].a })
		f(ab, func(n string) Col { return cols[n].b })
	}
	for r := range rows {
		// drifts forward over a few partitions and jumps back; sometimes
		// far back, past DefaultLateMs before the first partition: refused
		ts := 90_000 + int64(r*7) + int64(s.n(8))*200 - 800
		refused := s.n(64) == 0
		if refused {
			ts -= 5_000_000
		}
		v := map[string]any{"time": ts}
		if s.n(32) == 0 { // a row begun, given values and abandoned
			both(func(a *Appender, c func(string) Col) {
				a.Begin(ts + 1)
				a.Uint(c("u"), 99)
				a.String(c("uniq"), []byte("abandoned"))
				a.Addr(c("a"), netip.MustParseAddr("192.0.2.99"))
			})
			if s.n(2) == 0 {
				ab.Flush()
			}
		}
		both(func(a *Appender, _ func(string) Col) { a.Begin(ts) })
		nulls := s.byte()
		for k, name := range names {
			if k == 4 && s.n(16) == 0 { // a Flush inside a row keeps the row open
				ab.Flush()
			}
			if nulls>>(k%8)&1 != 0 && s.n(2) == 0 {
				continue
			}
			if name == "late" && r < rows/2 {
				continue
			}
			switch name {
			case "u", "late":
				x := pickOf(s, fzUints)
				both(func(a *Appender, c func(string) Col) { a.Uint(c(name), x) })
				v[name] = x
			case "i":
				x := pickOf(s, fzInts)
				both(func(a *Appender, c func(string) Col) { a.Int(c(name), x) })
				v[name] = x
			case "t2":
				x := pickOf(s, fzInts)
				both(func(a *Appender, c func(string) Col) { a.Time(c(name), x) })
				v[name] = x
			case "f":
				x := pickOf(s, fzFloats)
				both(func(a *Appender, c func(string) Col) { a.Float(c(name), x) })
				v[name] = x
			case "s":
				x := pickOf(s, fzStrings)
				if s.n(4) == 0 { // set twice: the last value counts
					both(func(a *Appender, c func(string) Col) { a.String(c(name), []byte("first")) })
				}
				both(func(a *Appender, c func(string) Col) { a.String(c(name), []byte(x)) })
				v[name] = x
			case "uniq":
				x := strings.Repeat("h", s.n(40)) + strconv.Itoa(r*s.n(3))
				both(func(a *Appender, c func(string) Col) { a.String(c(name), []byte(x)) })
				v[name] = x
			case "a":
				x := netip.MustParseAddr(pickOf(s, fzAddrs))
				both(func(a *Appender, c func(string) Col) { a.Addr(c(name), x) })
				v[name] = x.Unmap()
			case "b":
				x := s.n(2) == 1
				both(func(a *Appender, c func(string) Col) { a.Bool(c(name), x) })
				v[name] = x
			}
		}
		if s.n(16) == 0 { // a Flush inside a row keeps the row open
			ab.Flush()
		}
		if s.n(16) == 0 { // a value of the wrong type: dropped and counted
			both(func(a *Appender, c func(string) Col) { a.Uint(c("s"), 1) })
		}
		both(func(a *Appender, _ func(string) Col) { a.Commit() })
		if !refused {
			ref.add(v)
		}
		aa.Flush()
		if s.n(200) == 0 {
			ab.Flush()
		}
	}
	ab.Flush()
	return single, runs, ref
}

// sameStorage compares what two tables hold column by column: the same
// partitions, chunks, values, nulls, statistics and dictionaries. Both are
// cooled first: how many flushes a table saw decides which partitions are
// still hot, not what they hold.
func sameStorage(t testing.TB, x, y *Table) {
	t.Helper()
	for _, tab := range []*Table{x, y} {
		tab.mu.Lock()
		for _, p := range tab.parts {
			tab.cool(p)
		}
		tab.hot = tab.hot[:0]
		tab.mu.Unlock()
	}
	// Bytes may differ by the capacity of a partition's column list,
	// which grows in the order columns are first met; every column's own
	// bytes are compared below.
	sx, sy := x.Stats(), y.Stats()
	sx.Bytes, sy.Bytes = 0, 0
	if sx != sy {
		t.Fatalf("stats differ:\n%+v\n%+v", sx, sy)
	}
	for pi, px := range x.parts {
		py := y.parts[pi]
		// the order of present is the order columns were first met, which
		// depends on how rows were buffered
		sorted := func(ids []uint16) []uint16 { return slices.Sorted(slices.Values(ids)) }
		if px.start != py.start || px.n != py.n || px.minT != py.minT || px.maxT != py.maxT || !slices.Equal(sorted(px.present), sorted(py.present)) {
			t.Fatalf("partition %d differs: %d/%d rows, present %v / %v", pi, px.n, py.n, px.present, py.present)
		}
		for id, cx := range px.cols {
			cy := py.cols[id]
			if (cx == nil) != (cy == nil) {
				t.Fatalf("partition %d column %d present in one table only", pi, id)
			}
			if cx == nil {
				continue
			}
			where := fmt.Sprintf("partition %d column %d", pi, id)
			if cx.nonNull != cy.nonNull || len(cx.chunks) != len(cy.chunks) || !slices.Equal(cx.vals, cy.vals) ||
				!slices.Equal(cx.nulls, cy.nulls) || (len(cx.vals) > 0 && (cx.lo != cy.lo || cx.hi != cy.hi)) {
				t.Fatalf("%s: open chunks or counts differ", where)
			}
			for k := range cx.chunks {
				if !reflect.DeepEqual(cx.chunks[k], cy.chunks[k]) {
					t.Fatalf("%s chunk %d differs", where, k)
				}
			}
			if cx.bytes() != cy.bytes() {
				t.Fatalf("%s: %d bytes and %d", where, cx.bytes(), cy.bytes())
			}
			if !slices.Equal(cx.arena, cy.arena) || !slices.Equal(cx.ends, cy.ends) || !slices.Equal(cx.addrs, cy.addrs) {
				t.Fatalf("%s: dictionaries differ", where)
			}
		}
	}
}

// Rows flushed in long runs are stored exactly as rows flushed one by one,
// and both answer as the reference does.
func TestRunsStoreAsSingleRows(t *testing.T) {
	defer func(n int) { chunkRows = n }(chunkRows)
	defer func(n int) { uniqueAfter = n }(uniqueAfter)
	for _, cr := range []int{64, 4096} {
		chunkRows = cr
		uniqueAfter = []int{1 << 16, 50}[cr%3] // 64: the nearly unique column stops indexing
		for seed := range 12 {
			data := make([]byte, 40_000)
			g := newFlowGen(uint64(seed))
			for i := range data {
				data[i] = byte(g.r.Uint32())
			}
			single, runs, ref := flushRows(t, &fuzzSrc{b: data}, 1500)
			checkInvariants(t, single)
			checkInvariants(t, runs)
			sameStorage(t, single, runs)
			if st := runs.Stats(); st.Rows != int64(len(ref.rows)) || st.TypeErrors == 0 || st.RefusedRows == 0 {
				t.Fatalf("stats %+v, want %d rows, type errors and refused rows", st, len(ref.rows))
			}
			checkQuery(t, runs, ref, Query{Limit: MaxLimit})
			checkQuery(t, runs, ref, Query{GroupBy: []string{"s"}, Aggregates: []Aggregate{{Func: "count"}}})
			checkQuery(t, runs, ref, Query{Filters: []Filter{{Column: "uniq", Op: "=", Values: []string{"hhh7", "42"}}},
				Aggregates: []Aggregate{{Func: "count"}}})
		}
	}
}

// FuzzFlushRuns: whatever the rows and flush points, a table flushed in
// runs holds exactly what one flushed row by row holds.
// Run: go test -run '^$' -fuzz FuzzFlushRuns ./pkg/records
func FuzzFlushRuns(f *testing.F) {
	f.Add([]byte("seed"))
	f.Add([]byte(strings.Repeat("\x07\x91\x13\xff\x00\x42\x11", 300)))
	f.Fuzz(func(t *testing.T, data []byte) {
		defer func(n int) { chunkRows = n }(chunkRows)
		defer func(n int) { uniqueAfter = n }(uniqueAfter)
		chunkRows, uniqueAfter = 64, 50
		single, runs, _ := flushRows(t, &fuzzSrc{b: data}, 50+len(data)/4)
		checkInvariants(t, runs)
		sameStorage(t, single, runs)
	})
}

// The string index finds every value even when all hashes collide.
func TestStrIndexCollisions(t *testing.T) {
	c := &pcol{typ: String}
	c.sidx = &strIndex{}
	for i := range 1000 {
		b := []byte(strconv.Itoa(i))
		if _, ok := c.sidx.find(c, b, 7); ok {
			t.Fatalf("%s found before it was added", b)
		}
		code := uint32(len(c.ends))
		c.arena = append(c.arena, b...)
		c.ends = append(c.ends, uint32(len(c.arena)))
		c.sidx.insert(7, code)
	}
	for i := range 1000 {
		if code, ok := c.sidx.find(c, []byte(strconv.Itoa(i)), 7); !ok || code != uint32(i) {
			t.Fatalf("%d: code %d %v", i, code, ok)
		}
	}
	if c.sidx.n != 1000 || len(c.sidx.slots) < 2000 {
		t.Errorf("%d entries in %d slots", c.sidx.n, len(c.sidx.slots))
	}
}

// A nearly unique column stops indexing its values: a value seen again
// later may be stored again under a new code, yet filters, groups and
// value lists answer as if it had one; a column whose values repeat keeps
// its index.
func TestNearlyUniqueColumnKeepsNoIndex(t *testing.T) {
	defer func(n int) { uniqueAfter = n }(uniqueAfter)
	uniqueAfter = 100
	tab := NewTable("t", Options{Now: fixedClock()})
	u, _ := tab.Column("u", String)
	r, _ := tab.Column("r", String)
	a := tab.NewAppender()
	for i := range 3000 {
		a.Begin(t0 + int64(i))
		v := i
		if i >= 2000 {
			v = i % 1000 // the first thousand values again, past the recent cache
		}
		a.String(u, []byte("hops-"+strconv.Itoa(v)))
		a.String(r, []byte("dev-"+strconv.Itoa(i%7)))
		a.Commit()
		if i%256 == 0 {
			a.Flush()
		}
	}
	a.Flush()
	p := tab.parts[0]
	cu, cr := p.cols[u.id], p.cols[r.id]
	if !cu.unique || cu.sidx != nil || cr.unique || cr.sidx == nil || len(cr.ends) != 7 {
		t.Fatalf("u unique %v index %v; r unique %v, %d values", cu.unique, cu.sidx != nil, cr.unique, len(cr.ends))
	}
	if len(cu.ends) <= 2000 {
		t.Errorf("u holds %d values: the repeats should have been stored again", len(cu.ends))
	}
	ctx := context.Background()
	res, err := tab.Query(ctx, Query{Filters: []Filter{{Column: "u", Op: "=", Values: []string{"hops-5"}}}, Aggregates: []Aggregate{{Func: "count"}}})
	if err != nil || res.Columns[0].Values.([]uint64)[0] != 2 {
		t.Fatalf("count of a repeated value: %v %v", res, err)
	}
	res, err = tab.Query(ctx, Query{GroupBy: []string{"u"}, Aggregates: []Aggregate{{Func: "count"}}, TopN: 3})
	if err != nil {
		t.Fatal(err)
	}
	if n := res.Columns[1].Values.([]uint64); n[0] != 2 || n[1] != 2 || n[2] != 2 {
		t.Errorf("top groups %v %v", res.Columns[0].Values, n)
	}
	vals, err := tab.Values("u", "hops-99", 0, 0, 100)
	n := 0
	for _, v := range vals {
		if v == "hops-99" {
			n++
		}
	}
	if err != nil || n != 1 || len(vals) != 11 {
		t.Errorf("values %v %v: hops-99 listed %d times", vals, err, n)
	}
}

// The address index finds every address of a column, IPv4 and IPv6, and
// tells new ones apart.
func TestAddrIndex(t *testing.T) {
	c := &pcol{typ: Addr}
	var keys []addrKey
	for i := range 3000 {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		if i%2 == 1 {
			a = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(i >> 8), 15: byte(i)})
		}
		keys = append(keys, keyOf(a))
	}
	for i, k := range keys {
		if code := c.addrCode(k); code != uint64(i) {
			t.Fatalf("new address %d got code %d", i, code)
		}
	}
	for i := len(keys) - 1; i >= 0; i-- {
		if code := c.addrCode(keys[i]); code != uint64(i) {
			t.Fatalf("address %d found as %d", i, code)
		}
	}
	if len(c.addrs) != len(keys) || c.aidx.n != len(keys) || 2*c.aidx.n > len(c.aidx.slots) {
		t.Errorf("%d addresses, index of %d in %d slots", len(c.addrs), c.aidx.n, len(c.aidx.slots))
	}
}

// A cooled partition drops its index; a late row rebuilds it and finds the
// values stored before, so a value keeps one code.
func TestStringIndexRebuiltOnReopen(t *testing.T) {
	tab := NewTable("t", Options{PartitionMs: 1000, Now: func() int64 { return 1_000_000 }})
	s, _ := tab.Column("s", String)
	a := tab.NewAppender()
	put := func(ts int64, v string) {
		a.Begin(ts)
		a.String(s, []byte(v))
		a.Commit()
		a.Flush()
	}
	put(1000, "x")
	put(1001, "y")
	for i := range coolAfter + 1 { // newer partitions until the first cools
		put(int64(5000+1000*i), "z")
	}
	p := tab.parts[0]
	if p.hot || p.cols[s.id].sidx != nil {
		t.Fatal("first partition did not cool")
	}
	put(1002, "x") // not the last value appended: found through the index
	c := p.cols[s.id]
	if len(c.ends) != 2 || c.sidx == nil || c.sidx.n != 2 {
		t.Fatalf("dictionary of %d values, index %+v", len(c.ends), c.sidx)
	}
	res, err := tab.Query(context.Background(), Query{ToMs: 1999, GroupBy: []string{"s"}, Aggregates: []Aggregate{{Func: "count"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Columns[0].Values.([]string); !slices.Equal(got, []string{"x", "y"}) {
		t.Errorf("groups %v", got)
	}
}
