package records

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
)

// t0 is the start of the test data: 2026-11-25 10:00 UTC.
const t0 = 1795600800000

func fixedClock() func() int64 { return func() int64 { return t0 + 24*3_600_000 } }

// flowTable stores n generated flows over spanMs in a table with one-minute
// partitions and returns the table and a reference holding the same rows.
func flowTable(t testing.TB, n int, spanMs int64) (*Table, *refTable, []flow) {
	t.Helper()
	tab := NewTable("ipfix_flow", Options{PartitionMs: 60_000, Now: fixedClock()})
	flows := fill(t, tab, 1, n, t0, spanMs)
	return tab, refOfFlows(flows), flows
}

func TestTopTalkers(t *testing.T) {
	tab, ref, _ := flowTable(t, 10000, 600_000)
	// The five sources that sent the most bytes over the last 10 minutes,
	// everyone else folded into "other".
	q := Query{FromMs: t0, ToMs: t0 + 600_000, GroupBy: []string{"src_addr"},
		Aggregates: []Aggregate{{Func: "sum", Column: "bytes"}, {Func: "count"}}, TopN: 5, Other: true}
	res := checkQuery(t, tab, ref, q)
	if len(res.Columns) != 3 || res.Columns[0].Len() != 6 {
		t.Fatalf("want src_addr, sum(bytes), count() over 5 talkers and other, got %+v", res.Columns)
	}
	sums := res.Columns[1].Values.([]uint64)
	for i := 1; i < 5; i++ {
		if sums[i] > sums[i-1] {
			t.Errorf("talkers not ranked: %v", sums)
		}
	}
	if !res.Other[5] || res.Columns[0].Null == nil || !res.Columns[0].Null[5] {
		t.Errorf("last row should be the other group with a null address: other=%v", res.Other)
	}
	var total uint64
	for _, s := range sums {
		total += s
	}
	all := checkQuery(t, tab, ref, Query{FromMs: t0, ToMs: t0 + 600_000, Aggregates: []Aggregate{{Func: "sum", Column: "bytes"}}})
	if all.Columns[0].Values.([]uint64)[0] != total {
		t.Errorf("top 5 + other = %d bytes, all flows %d", total, all.Columns[0].Values.([]uint64)[0])
	}
}

func TestConversations(t *testing.T) {
	tab, ref, _ := flowTable(t, 10000, 600_000)
	// Top conversations by packets, TCP only, without an other row: the
	// result says it was cut.
	res := checkQuery(t, tab, ref, Query{FromMs: t0, GroupBy: []string{"src_addr", "dst_addr"},
		Filters:    []Filter{{Column: "protocol", Op: "=", Values: []string{"6"}}},
		Aggregates: []Aggregate{{Func: "sum", Column: "packets"}, {Func: "avg", Column: "rtt"}, {Func: "max", Column: "time"}}, TopN: 10})
	if res.Columns[0].Len() != 10 || !res.Truncated {
		t.Errorf("want 10 conversations and Truncated, got %d rows truncated=%v", res.Columns[0].Len(), res.Truncated)
	}
	if res.Columns[4].Type != Time || res.Columns[4].Name != "max(time)" {
		t.Errorf("max(time) column: %s %s", res.Columns[4].Name, res.Columns[4].Type)
	}
}

func TestBytesPerProtocolPerMinute(t *testing.T) {
	tab, ref, _ := flowTable(t, 10000, 600_000)
	res := checkQuery(t, tab, ref, Query{FromMs: t0, ToMs: t0 + 600_000, BucketMs: 60_000, GroupBy: []string{"protocol"},
		Aggregates: []Aggregate{{Func: "sum", Column: "bytes"}}})
	if res.Columns[0].Name != "time" || res.Columns[1].Name != "protocol" || res.Columns[2].Name != "sum(bytes)" {
		t.Fatalf("columns: %v %v %v", res.Columns[0].Name, res.Columns[1].Name, res.Columns[2].Name)
	}
	// TCP carries most bytes, so its eleven minutes come first.
	protos := res.Columns[1].Values.([]uint64)
	times := res.Columns[0].Values.([]int64)
	if protos[0] != 6 || times[0] != t0 || times[1] != t0+60_000 {
		t.Errorf("first rows: protocol %d at %d, %d", protos[0], times[0], times[1])
	}
	// Buckets of the same query through the two other protocols, top 1 and
	// other: the other rows sum UDP and ICMP per minute.
	checkQuery(t, tab, ref, Query{FromMs: t0, ToMs: t0 + 600_000, BucketMs: 60_000, GroupBy: []string{"protocol"},
		Aggregates: []Aggregate{{Func: "sum", Column: "bytes"}, {Func: "p50", Column: "packets"}}, TopN: 1, Other: true})
}

func TestP95(t *testing.T) {
	tab, ref, _ := flowTable(t, 10000, 600_000)
	res := checkQuery(t, tab, ref, Query{Aggregates: []Aggregate{{Func: "p95", Column: "rtt"}, {Func: "p50", Column: "rtt"},
		{Func: "p99", Column: "bytes"}, {Func: "count", Column: "rtt"}}, GroupBy: []string{"exporter"}})
	p95 := res.Columns[1].Values.([]float64)
	p50 := res.Columns[2].Values.([]float64)
	for i := range p95 {
		if p95[i] <= p50[i] {
			t.Errorf("exporter %d: p95 %v not above p50 %v", i, p95[i], p50[i])
		}
	}
	// A small group is exact: three values, nearest rank.
	small := NewTable("t", Options{Now: fixedClock()})
	c, _ := small.Column("rtt", Float)
	a := small.NewAppender()
	for i, v := range []float64{3.5, 1.25, 2} {
		a.Begin(t0 + int64(i))
		a.Float(c, v)
		a.Commit()
	}
	a.Flush()
	r, err := small.Query(t.Context(), Query{Aggregates: []Aggregate{{Func: "p50", Column: "rtt"}, {Func: "p99", Column: "rtt"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := [2]float64{r.Columns[0].Values.([]float64)[0], r.Columns[1].Values.([]float64)[0]}; got != [2]float64{2, 3.5} {
		t.Errorf("p50, p99 of 3.5 1.25 2 = %v, want [2 3.5]", got)
	}
}

func TestCIDRFilters(t *testing.T) {
	tab, ref, flows := flowTable(t, 4000, 300_000)
	for _, f := range []Filter{
		{Column: "src_addr", Op: "cidr", Values: []string{"10.0.1.0/24"}},
		{Column: "src_addr", Op: "cidr", Values: []string{"10.0.0.0/23", "2001:db8::/120"}},
		{Column: "dst_addr", Op: "not cidr", Values: []string{"10.0.0.0/8"}},
		{Column: "src_addr", Op: "cidr", Values: []string{"2001:db8::/64"}},
		{Column: "src_addr", Op: "cidr", Values: []string{"::ffff:10.0.2.0/120"}}, // IPv4-mapped: same as 10.0.2.0/24
		{Column: "src_addr", Op: "=", Values: []string{"::ffff:10.0.0.1"}},
		{Column: "dst_addr", Op: "range", Values: []string{"10.0.0.1-10.0.3.255"}},
		{Column: "dst_addr", Op: ">=", Values: []string{"2001:db8::10"}},
	} {
		res := checkQuery(t, tab, ref, Query{Filters: []Filter{f}, Aggregates: []Aggregate{{Func: "count"}}})
		if res.Columns[0].Len() == 0 {
			t.Errorf("%v matched nothing", f)
		}
	}
	v6 := 0
	for _, f := range flows {
		if netip.MustParsePrefix("2001:db8::/64").Contains(f.src) {
			v6++
		}
	}
	res, _ := tab.Query(t.Context(), Query{Filters: []Filter{{Column: "src_addr", Op: "cidr", Values: []string{"2001:db8::/64"}}},
		Aggregates: []Aggregate{{Func: "count"}}})
	if n := res.Columns[0].Values.([]uint64)[0]; n != uint64(v6) || v6 == 0 {
		t.Errorf("IPv6 sources: %d, generated %d", n, v6)
	}
}

func TestRawRowsNewestFirst(t *testing.T) {
	tab, ref, _ := flowTable(t, 10000, 600_000)
	res := checkQuery(t, tab, ref, Query{Columns: []string{"time", "src_addr", "dst_addr", "dst_port", "bytes", "application", "rtt"}, Limit: 50,
		Filters: []Filter{{Column: "application", Op: "in", Values: []string{"app-0", "app-3"}}, {Column: "bytes", Op: ">", Values: []string{"1000"}}}})
	times := res.Columns[0].Values.([]int64)
	if len(times) != 50 || !res.Truncated || !slices.IsSortedFunc(times, func(a, b int64) int { return int(b - a) }) {
		t.Errorf("want 50 rows newest first and truncated, got %d truncated=%v", len(times), res.Truncated)
	}
	// All columns ("time" first) of the ten newest ICMP flows, which have no ports.
	res = checkQuery(t, tab, ref, Query{Filters: []Filter{{Column: "protocol", Op: "=", Values: []string{"1"}}}, Limit: 10})
	if res.Columns[0].Name != "time" || res.Columns[5].Name != "src_port" || res.Columns[5].Null == nil {
		t.Errorf("columns %s, %s null=%v", res.Columns[0].Name, res.Columns[5].Name, res.Columns[5].Null)
	}
	// A time window in the middle, every filter operator on numbers.
	for _, f := range []Filter{
		{Column: "dst_port", Op: "!=", Values: []string{"443"}},
		{Column: "dst_port", Op: "not in", Values: []string{"443", "80"}},
		{Column: "src_port", Op: "range", Values: []string{"40000-40100"}},
		{Column: "start", Op: "<", Values: []string{"2026-11-25T10:03:00Z"}},
		{Column: "rtt", Op: "<=", Values: []string{"1.5"}},
		{Column: "tcp_flags", Op: "=", Values: []string{"0x12"}},
		{Column: "exporter", Op: "=", Values: []string{"192.0.2.8/0"}},
		{Column: "application", Op: ">", Values: []string{"app-40"}},
	} {
		checkQuery(t, tab, ref, Query{FromMs: t0 + 120_000, ToMs: t0 + 300_000, Filters: []Filter{f}, Limit: 200})
	}
}

func TestQueryErrors(t *testing.T) {
	tab, _, _ := flowTable(t, 100, 600_000)
	for _, c := range []struct {
		q    Query
		want string
	}{
		{Query{Filters: []Filter{{Column: "nope", Op: "=", Values: []string{"1"}}}}, `unknown column "nope"`},
		{Query{Filters: []Filter{{Column: "dst_port", Op: "=", Values: []string{"https"}}}}, `"https" is not an unsigned integer`},
		{Query{Filters: []Filter{{Column: "src_addr", Op: "=", Values: []string{"10.0.0.300"}}}}, `is not an IP address`},
		{Query{Filters: []Filter{{Column: "src_port", Op: "cidr", Values: []string{"10.0.0.0/8"}}}}, `needs an addr column`},
		{Query{Filters: []Filter{{Column: "bytes", Op: "range", Values: []string{"10-5"}}}}, `low end above high end`},
		{Query{Filters: []Filter{{Column: "bytes", Op: "~", Values: []string{"1"}}}}, `unknown operator`},
		{Query{Filters: []Filter{{Column: "bytes", Op: "="}}}, `needs a value`},
		{Query{Aggregates: []Aggregate{{Func: "sum", Column: "application"}}}, `needs a number column`},
		{Query{Aggregates: []Aggregate{{Func: "median", Column: "bytes"}}}, `unknown function`},
		{Query{GroupBy: []string{"src_addr"}}, `need an aggregate`},
		{Query{FromMs: 10, ToMs: 5}, `ends (5) before it starts (10)`},
		{Query{BucketMs: 1, Aggregates: []Aggregate{{Func: "count"}}}, `time buckets`},
	} {
		_, err := tab.Query(t.Context(), c.q)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.q, err, c.want)
		}
	}
	small := NewTable("t", Options{MaxGroups: 10, Now: fixedClock()})
	fill(t, small, 2, 1000, t0, 60_000)
	_, err := small.Query(t.Context(), Query{GroupBy: []string{"src_port"}, Aggregates: []Aggregate{{Func: "count"}}})
	if !errors.Is(err, ErrTooManyGroups) {
		t.Errorf("grouping 1000 ports with MaxGroups 10: %v", err)
	}
}

func TestColumnsAndValues(t *testing.T) {
	tab, _, flows := flowTable(t, 5000, 300_000)
	cols := tab.Columns()
	if cols[0].Name != "time" || cols[0].Rows != 5000 {
		t.Errorf("first column %+v", cols[0])
	}
	icmp := 0
	for _, f := range flows {
		if f.proto == 1 {
			icmp++
		}
	}
	for _, c := range cols {
		if c.Name == "src_port" && c.Rows != int64(5000-icmp) {
			t.Errorf("src_port rows %d, want %d", c.Rows, 5000-icmp)
		}
	}
	if _, err := tab.Column("src_port", String); !errors.Is(err, ErrTypeClash) {
		t.Errorf("re-creating src_port as string: %v", err)
	}
	count := map[string]int{}
	for _, f := range flows {
		if strings.HasPrefix(f.app, "app-1") {
			count[f.app]++
		}
	}
	vals, err := tab.Values("application", "app-1", 0, 0, 3)
	if err != nil || len(vals) != 3 {
		t.Fatalf("values: %v %v", vals, err)
	}
	for i := 1; i < len(vals); i++ {
		if count[vals[i-1]] < count[vals[i]] {
			t.Errorf("values not most frequent first: %v (%v)", vals, count)
		}
	}
	ports, _ := tab.Values("dst_port", "44", 0, 0, 10)
	if !slices.Equal(ports, []string{"443"}) {
		t.Errorf("dst_port values with prefix 44: %v", ports)
	}
	addrs, _ := tab.Values("src_addr", "2001:db8::", 0, 0, 5)
	if len(addrs) != 5 {
		t.Errorf("v6 source values: %v", addrs)
	}
	if _, err := tab.Values("nope", "", 0, 0, 5); !errors.Is(err, ErrUnknownColumn) {
		t.Errorf("values of unknown column: %v", err)
	}
}

func TestColumnCap(t *testing.T) {
	tab := NewTable("t", Options{MaxColumns: 3})
	if _, err := tab.Column("a", Uint); err != nil {
		t.Fatal(err)
	}
	if _, err := tab.Column("b", String); err != nil {
		t.Fatal(err)
	}
	if _, err := tab.Column("c", Uint); !errors.Is(err, ErrTooManyColumns) {
		t.Errorf("fourth column (time, a, b, c) with MaxColumns 3: %v", err)
	}
	if _, err := tab.Column("a", Uint); err != nil {
		t.Errorf("existing column after the cap: %v", err)
	}
}

// Rows arriving late go to the partition of their time, even one already
// cooled; rows older than what was evicted, too old, or in the future are
// refused and counted.
func TestOutOfOrderRows(t *testing.T) {
	tab := NewTable("t", Options{PartitionMs: 60_000, Now: fixedClock()})
	c, _ := tab.Column("v", Uint)
	ref := newRef()
	ref.column("v", Uint)
	a := tab.NewAppender()
	put := func(ts int64, v uint64) {
		a.Begin(ts)
		a.Uint(c, v)
		a.Commit()
		a.Flush()
	}
	for i := range 20000 {
		ts := t0 + int64(i)*60 // 20 minutes
		put(ts, uint64(i))
		ref.add(map[string]any{"time": ts, "v": uint64(i)})
	}
	// late rows for minute 2, long cooled, and one before the first partition
	for i := range 10 {
		ts := t0 + 120_000 + int64(i)
		put(ts, 1_000_000+uint64(i))
		ref.add(map[string]any{"time": ts, "v": 1_000_000 + uint64(i)})
	}
	put(t0-30*60_000, 7)
	ref.add(map[string]any{"time": int64(t0 - 30*60_000), "v": uint64(7)})
	checkInvariants(t, tab)
	before := tab.Stats()
	put(t0-2*3_600_000, 1) // more than LateMs before the oldest partition
	put(t0+48*3_600_000, 2)
	st := tab.Stats()
	if st.RefusedRows != 2 || st.Rows != before.Rows || st.Rows != int64(len(ref.rows)) {
		t.Errorf("stats %+v, want 2 refused and %d rows", st, len(ref.rows))
	}
	if st.OldestMs != t0-30*60_000 || st.NewestMs != t0+19999*60 {
		t.Errorf("oldest %d newest %d", st.OldestMs, st.NewestMs)
	}
	// one version a flush that stored rows; the two refused rows added none
	if v := tab.Version(); v != uint64(len(ref.rows)) {
		t.Errorf("version %d after %d flushes of one row", v, len(ref.rows))
	}
	checkQuery(t, tab, ref, Query{BucketMs: 60_000, Aggregates: []Aggregate{{Func: "count"}, {Func: "sum", Column: "v"}, {Func: "p90", Column: "v"}}})
	checkQuery(t, tab, ref, Query{FromMs: t0 + 100_000, ToMs: t0 + 130_000, Limit: 100})
}

// A small cap evicts whole partitions, oldest first; the rows that remain
// are exactly the newest ones, intact.
func TestEvictionUnderSmallCap(t *testing.T) {
	tab := NewTable("ipfix_flow", Options{PartitionMs: 60_000, MaxBytes: 1 << 20, Now: fixedClock()})
	flows := fill(t, tab, 3, 50_000, t0, 40*60_000)
	checkInvariants(t, tab)
	st := tab.Stats()
	if st.EvictedPartitions == 0 || st.EvictedRows == 0 || st.Bytes > st.MaxBytes {
		t.Fatalf("stats %+v: want evictions and bytes under the cap", st)
	}
	if st.Rows+st.EvictedRows+st.RefusedRows != int64(len(flows)) {
		t.Errorf("rows %d + evicted %d + refused %d != %d appended", st.Rows, st.EvictedRows, st.RefusedRows, len(flows))
	}
	// Every row held is one that was appended, unchanged: render each
	// stored row and each appended flow the same way and match them up.
	all, err := tab.Query(t.Context(), Query{Limit: MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	ref := refOfFlows(flows)
	appended := map[string]int{}
	for _, r := range ref.rows {
		appended[renderRefRow(ref, r)]++
	}
	held := resultRows(all)
	if len(held) != int(st.Rows) {
		t.Fatalf("raw query returned %d rows, stats say %d", len(held), st.Rows)
	}
	kept := newRef()
	for _, name := range ref.names[1:] {
		kept.column(name, ref.types[name])
	}
	newest := floorDiv(st.NewestMs, 60_000) * 60_000
	inNewest := 0
	for _, row := range held {
		k := renderRefRow(ref, row)
		if appended[k] == 0 {
			t.Fatalf("row held that was never appended (or corrupted): %s", k)
		}
		appended[k]--
		kept.rows = append(kept.rows, row)
		if row.v["time"].(int64) >= newest {
			inNewest++
		}
	}
	want := 0
	for _, f := range flows {
		if f.time >= newest {
			want++
		}
	}
	if inNewest != want {
		t.Errorf("newest minute holds %d rows, %d were appended", inNewest, want)
	}
	// Aggregates over what remains agree with the reference over the same rows.
	slices.Reverse(kept.rows)
	for i := range kept.rows {
		kept.rows[i].seq = i
	}
	checkQuery(t, tab, kept, Query{GroupBy: []string{"application", "protocol"}, Aggregates: []Aggregate{{Func: "sum", Column: "bytes"},
		{Func: "min", Column: "start"}, {Func: "max", Column: "rtt"}}})
	checkQuery(t, tab, kept, Query{GroupBy: []string{"src_addr"}, BucketMs: 60_000, Aggregates: []Aggregate{{Func: "count"}}, TopN: 3, Other: true})
}

// Queries run while writers append; run with -race.
func TestConcurrentAppendAndQuery(t *testing.T) {
	tab := NewTable("ipfix_flow", Options{PartitionMs: 10_000, MaxBytes: 2 << 20, Now: fixedClock()})
	newFlowCols(t, tab)
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			fill(t, tab, uint64(10+w), 15000, t0, 10*60_000)
		})
	}
	done := make(chan struct{})
	var qerr error
	var queries int
	wg.Go(func() {
		defer close(done)
		for range 20 {
			for _, q := range []Query{
				{GroupBy: []string{"src_addr"}, Aggregates: []Aggregate{{Func: "sum", Column: "bytes"}, {Func: "p95", Column: "rtt"}}, TopN: 5, Other: true},
				{Limit: 100, Filters: []Filter{{Column: "dst_addr", Op: "cidr", Values: []string{"10.0.0.0/16"}}}},
				{BucketMs: 10_000, GroupBy: []string{"protocol"}, Aggregates: []Aggregate{{Func: "count"}}},
			} {
				if _, err := tab.Query(t.Context(), q); err != nil {
					qerr = err
					return
				}
				queries++
			}
			_, _ = tab.Values("application", "", 0, 0, 10)
			_ = tab.Stats()
		}
	})
	wg.Wait()
	<-done
	if qerr != nil {
		t.Fatal(qerr)
	}
	checkInvariants(t, tab)
	st := tab.Stats()
	if st.Rows+st.EvictedRows+st.RefusedRows != 30000 || tab.Version() == 0 {
		t.Errorf("after 30000 rows: %+v version %d", st, tab.Version())
	}
}

// Late rows reopen cooled partitions while queries read them; run with
// -race. Afterwards the table agrees with the reference over every row.
func TestConcurrentLateRowsAndQueries(t *testing.T) {
	tab := NewTable("ipfix_flow", Options{PartitionMs: 10_000, Now: fixedClock()})
	cols := newFlowCols(t, tab)
	var wg sync.WaitGroup
	var inOrder [2][]flow
	for w := range 2 {
		wg.Go(func() { inOrder[w] = fill(t, tab, uint64(20+w), 10000, t0, 10*60_000) })
	}
	var late []flow
	wg.Go(func() {
		g := newFlowGen(30)
		a := tab.NewAppender()
		for i := range 3000 {
			f := g.next(t0 + 2000 + int64(g.r.IntN(10*60_000)))
			late = append(late, f)
			cols.appendFlow(a, &f)
			if i%7 == 6 {
				a.Flush()
			}
		}
		a.Flush()
	})
	stop := make(chan struct{})
	var qwg sync.WaitGroup
	var qerr error
	qwg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			for _, q := range []Query{
				{GroupBy: []string{"application"}, Aggregates: []Aggregate{{Func: "sum", Column: "bytes"}, {Func: "max", Column: "start"}}},
				{Limit: 50, Filters: []Filter{{Column: "src_addr", Op: "cidr", Values: []string{"10.0.0.0/20"}}}},
			} {
				if _, err := tab.Query(t.Context(), q); err != nil {
					qerr = err
					return
				}
			}
		}
	})
	wg.Wait()
	close(stop)
	qwg.Wait()
	if qerr != nil {
		t.Fatal(qerr)
	}
	ref := refOfFlows(append(append(inOrder[0], inOrder[1]...), late...))
	if st := tab.Stats(); st.Rows != int64(len(ref.rows)) {
		t.Fatalf("stats %+v, appended %d", st, len(ref.rows))
	}
	checkInvariants(t, tab)
	if tab.reopened == 0 {
		t.Errorf("no late row reached a cooled partition")
	}
	checkQuery(t, tab, ref, Query{GroupBy: []string{"dst_port"}, BucketMs: 10_000, Aggregates: []Aggregate{{Func: "sum", Column: "bytes"}, {Func: "count"}, {Func: "min", Column: "rtt"}}})
	checkQuery(t, tab, ref, Query{GroupBy: []string{"src_addr", "dst_addr"}, Aggregates: []Aggregate{{Func: "sum", Column: "packets"}}, TopN: 20, Other: true})
}

func TestTypeErrorsAreCounted(t *testing.T) {
	tab := NewTable("t", Options{Now: fixedClock()})
	u, _ := tab.Column("u", Uint)
	s, _ := tab.Column("s", String)
	other := NewTable("o", Options{})
	oc, _ := other.Column("x", Float)
	oc2, _ := other.Column("y", String)
	a := tab.NewAppender()
	a.Begin(t0)
	a.String(u, []byte("x")) // wrong method
	a.Uint(s, 1)             // wrong method
	a.Float(oc, 1)           // a column of another table
	a.String(oc2, []byte("y"))
	a.Uint(u, 5)
	a.Commit()
	if n := a.Flush(); n != 1 {
		t.Fatalf("flushed %d", n)
	}
	if st := tab.Stats(); st.TypeErrors != 4 {
		t.Errorf("type errors %d, want 4", st.TypeErrors)
	}
	res, _ := tab.Query(t.Context(), Query{})
	if got := res.Columns[1].Values.([]uint64)[0]; got != 5 || res.Columns[2].Null == nil || !res.Columns[2].Null[0] {
		t.Errorf("row: u=%d s=%v", got, res.Columns[2])
	}
}

// At a rate where one time span outgrows the cap, the span is cut into
// siblings and the oldest go first: the newest rows are always kept.
func TestHighRateWithinOneSpan(t *testing.T) {
	tab := NewTable("ipfix_flow", Options{PartitionMs: 300_000, MaxBytes: 2 << 20, Now: fixedClock()})
	flows := fill(t, tab, 5, 100_000, t0, 60_000)
	checkInvariants(t, tab)
	st := tab.Stats()
	if st.EvictedPartitions == 0 || st.Rows == 0 || st.Bytes > st.MaxBytes || st.RefusedRows != 0 {
		t.Fatalf("stats %+v: want siblings evicted, none refused, bytes under the cap", st)
	}
	// The rows held are the last ones appended, in order.
	kept := flows[len(flows)-int(st.Rows):]
	checkQuery(t, tab, refOfFlows(kept), Query{Limit: 500})
	checkQuery(t, tab, refOfFlows(kept), Query{GroupBy: []string{"application"}, Aggregates: []Aggregate{{Func: "sum", Column: "bytes"}}})
}

func TestCancelledQueryStops(t *testing.T) {
	tab, _, _ := flowTable(t, 5000, 60_000)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := tab.Query(ctx, Query{GroupBy: []string{"src_addr"}, Aggregates: []Aggregate{{Func: "count"}}}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled query: %v", err)
	}
}

// An Appender never holds more than maxBufferedRows rows: past that it
// flushes by itself, and Flush still reports every row it stored.
func TestAppenderBoundsItsBuffer(t *testing.T) {
	tab := NewTable("t", Options{Now: fixedClock()})
	c, _ := tab.Column("v", Uint)
	a := tab.NewAppender()
	n := maxBufferedRows*2 + 10
	for i := range n {
		a.Begin(t0 + int64(i))
		a.Uint(c, uint64(i))
		a.Commit()
		if a.n > maxBufferedRows {
			t.Fatalf("%d rows buffered", a.n)
		}
	}
	if tab.Stats().Rows != maxBufferedRows*2 {
		t.Errorf("before Flush the table holds %d rows", tab.Stats().Rows)
	}
	if got := a.Flush(); got != n {
		t.Errorf("Flush reported %d rows, want %d", got, n)
	}
	// A row begun and not committed is not stored.
	a.Begin(t0)
	a.Uint(c, 1)
	if a.Flush() != 0 || tab.Stats().Rows != int64(n) {
		t.Errorf("an uncommitted row was stored")
	}
}

func TestValuesInTimeRange(t *testing.T) {
	tab := NewTable("t", Options{PartitionMs: 1000, Now: fixedClock()})
	c, _ := tab.Column("app", String)
	a := tab.NewAppender()
	for i, app := range []string{"dns", "dns", "http", "ssh", "ssh", "ssh"} {
		a.Begin(t0 + int64(i)*1000)
		a.String(c, []byte(app))
		a.Commit()
	}
	a.Flush()
	all, _ := tab.Values("app", "", 0, 0, 0)
	early, _ := tab.Values("app", "", t0, t0+2000, 0)
	if !slices.Equal(all, []string{"ssh", "dns", "http"}) || !slices.Equal(early, []string{"dns", "http"}) {
		t.Errorf("all %v, first three seconds %v", all, early)
	}
}

// checkInvariants verifies the storage layout: every column of a partition
// holds its rows in chunks of exactly chunkRows (the last one may be
// shorter), open chunks never outgrow chunkRows, and the byte and row
// counts add up.
func checkInvariants(t testing.TB, tab *Table) {
	t.Helper()
	tab.mu.RLock()
	defer tab.mu.RUnlock()
	var bytes, rows int64
	for pi, p := range tab.parts {
		if pi > 0 && p.start < tab.parts[pi-1].start {
			t.Fatalf("partitions out of order at %d", pi)
		}
		for id, c := range p.cols {
			if c == nil {
				continue
			}
			if c.rows() != p.n {
				t.Fatalf("partition %d column %d holds %d rows of %d", pi, id, c.rows(), p.n)
			}
			for k, ch := range c.chunks {
				if int(ch.n) != chunkRows && (k != len(c.chunks)-1 || len(c.vals) > 0) {
					t.Fatalf("partition %d column %d chunk %d has %d rows", pi, id, k, ch.n)
				}
			}
			if len(c.vals) >= chunkRows || cap(c.vals) > chunkRows || c.nulls != nil && len(c.nulls) != len(c.vals) {
				t.Fatalf("partition %d column %d open chunk len %d cap %d nulls %d", pi, id, len(c.vals), cap(c.vals), len(c.nulls))
			}
		}
		if p.bytes != p.size() {
			t.Fatalf("partition %d counted %d bytes, holds %d", pi, p.bytes, p.size())
		}
		bytes += p.bytes
		rows += int64(p.n)
	}
	if bytes != tab.bytes || rows != tab.rows || tab.bytes > tab.o.MaxBytes {
		t.Fatalf("table counts %d bytes %d rows, partitions %d bytes %d rows, cap %d", tab.bytes, tab.rows, bytes, rows, tab.o.MaxBytes)
	}
}

// A busy partition's first chunk grows from small; it must still seal at
// exactly chunkRows rows, as every later chunk does.
func TestChunksSealAtChunkRows(t *testing.T) {
	tab := NewTable("t", Options{Now: fixedClock()})
	fill(t, tab, 4, 3*chunkRows+100, t0, 50_000)
	checkInvariants(t, tab)
	if p := tab.parts[0]; p.n != 3*chunkRows+100 || len(p.cols[0].chunks) != 3 {
		t.Errorf("one partition of %d rows in %d chunks", p.n, len(p.cols[0].chunks))
	}
}
