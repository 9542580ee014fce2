package records

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// The "Flows overview" top conversations: four group columns, top 10 with
// other, over the whole range and per minute, checked against the
// reference; both ways the second pass can hold its cells (one array, or a
// map of the cells that occur) give the same answer.
func TestTopConversationsAgreeWithReference(t *testing.T) {
	tab, ref, _ := flowTable(t, 20000, 600_000)
	conv := []string{"src_addr", "dst_addr", "protocol", "dst_port"}
	qs := []Query{
		{GroupBy: conv, Aggregates: []Aggregate{{Func: "sum", Column: "bytes"}, {Func: "count"}}, TopN: 10, Other: true},
		{GroupBy: conv, Aggregates: []Aggregate{{Func: "sum", Column: "bytes"}, {Func: "count"}}, TopN: 10},
		{GroupBy: conv, BucketMs: 60_000, Aggregates: []Aggregate{{Func: "sum", Column: "bytes"}}, TopN: 10, Other: true},
		{GroupBy: conv, BucketMs: 60_000, Aggregates: []Aggregate{{Func: "sum", Column: "bytes"}, {Func: "max", Column: "rtt"}, {Func: "count", Column: "dst_port"}}, TopN: 10, Other: true},
		{FromMs: t0 + 90_000, ToMs: t0 + 400_000, GroupBy: conv, BucketMs: 30_000, Aggregates: []Aggregate{{Func: "count"}, {Func: "sum", Column: "packets"}}, TopN: 3},
		{GroupBy: []string{"protocol", "application"}, BucketMs: 60_000, Aggregates: []Aggregate{{Func: "avg", Column: "rtt"}}, TopN: 1000, Other: true},
		{BucketMs: 60_000, Aggregates: []Aggregate{{Func: "sum", Column: "bytes"}}},
		{GroupBy: []string{"dst_port"}, BucketMs: 60_000, Aggregates: []Aggregate{{Func: "min", Column: "start"}}},
	}
	defer func(n int64) { denseCells = n }(denseCells)
	for _, dense := range []int64{1 << 16, 0} {
		denseCells = dense
		for _, q := range qs {
			res := checkQuery(t, tab, ref, q)
			if q.TopN == 10 && q.BucketMs == 0 {
				if n := res.Columns[0].Len(); n != 10+btoi(q.Other) {
					t.Errorf("%+v: %d rows", q, n)
				}
			}
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// A query with TopN is bounded by the memory of its groups, not by their
// number: past MaxGroupBytes it fails with ErrTooManyGroups and says so;
// below, it ranks more groups than MaxGroups. Without TopN every group is
// in the answer, and MaxGroups bounds them.
func TestTopNIsBoundedByGroupMemory(t *testing.T) {
	conv := []string{"src_addr", "dst_addr", "protocol", "dst_port"}
	top := Query{GroupBy: conv, Aggregates: []Aggregate{{Func: "sum", Column: "bytes"}}, TopN: 10, Other: true}

	tight := NewTable("t", Options{PartitionMs: 60_000, MaxGroups: 100, MaxGroupBytes: 4 << 10, Now: fixedClock()})
	fill(t, tight, 3, 5000, t0, 300_000)
	_, err := tight.Query(t.Context(), top)
	if !errors.Is(err, ErrTooManyGroups) || !strings.Contains(err.Error(), "MB a top 10 query may hold") {
		t.Errorf("top 10 over thousands of groups in 4 kB: %v", err)
	}

	roomy := NewTable("t", Options{PartitionMs: 60_000, MaxGroups: 100, Now: fixedClock()})
	flows := fill(t, roomy, 3, 5000, t0, 300_000)
	ref := refOfFlows(flows)
	res := checkQuery(t, roomy, ref, top)
	if res.Columns[0].Len() != 11 {
		t.Errorf("top 10 with other: %d rows", res.Columns[0].Len())
	}
	_, err = roomy.Query(t.Context(), Query{GroupBy: conv, Aggregates: []Aggregate{{Func: "count"}}})
	if !errors.Is(err, ErrTooManyGroups) || !strings.Contains(err.Error(), "more than 100 groups") {
		t.Errorf("every group without TopN, MaxGroups 100: %v", err)
	}
}

// Two address (or string) columns in one group key each number their own
// values: a source and a destination that never share a value must both
// come back, not one of them as null. (The peers' one-flow exports found it.)
func TestGroupByColumnsWithDisjointDictionaries(t *testing.T) {
	tab := NewTable("flows", Options{Now: func() int64 { return 10_000 }})
	src, _ := tab.Column("src_addr", Addr)
	dst, _ := tab.Column("dst_addr", Addr)
	exp, _ := tab.Column("exporter", String)
	app, _ := tab.Column("application", String)
	a := tab.NewAppender()
	a.Begin(5_000)
	a.Addr(src, netip.MustParseAddr("192.0.2.1"))
	a.Addr(dst, netip.MustParseAddr("2001:db8::7"))
	a.String(exp, []byte("192.0.2.254/0"))
	a.String(app, []byte("dns"))
	a.Commit()
	a.Flush()
	for _, topN := range []int{0, 10} {
		res, err := tab.Query(context.Background(), Query{ToMs: 20_000, TopN: topN,
			GroupBy: []string{"src_addr", "dst_addr", "exporter", "application"}, Aggregates: []Aggregate{{Func: "count"}}})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"192.0.2.1", "2001:db8::7", "192.0.2.254/0", "dns"}
		for i, w := range want {
			c := res.Columns[i]
			if c.Null != nil && c.Null[0] || c.Values.([]string)[0] != w {
				t.Errorf("top %d: %s = %v (null %v), want %s", topN, c.Name, c.Values, c.Null, w)
			}
		}
	}
}
