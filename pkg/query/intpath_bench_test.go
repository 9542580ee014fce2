package query

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"sync"
	"testing"
)

// benchPathTable is 1M int_report rows: 500 flows, each with 2000 sink
// reports of 5 hops over 30 minutes (one every 0.9 s), whose path moves
// between two spines every 500 reports, and one drop report in 100 (a
// switch's drop of the flow, at its own device). Built once per process.
var benchPathTable = sync.OnceValues(func() (*intFixture, []string) {
	x, err := buildIntFixture(1 << 30)
	if err != nil {
		panic(err)
	}
	const flows, perFlow = 500, 2000
	ids := make([]string, flows)
	fs := make([]intFlow, flows)
	for i := range fs {
		src := netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)})
		fs[i] = intFlow{src: src.String(), dst: "10.2.2.20", sport: uint16(40000 + i), dport: 443, protocol: 6,
			srcAddr: src, dstAddr: netip.MustParseAddr("10.2.2.20")}
		ids[i] = fs[i].id()
	}
	span := int64(30 * 60 * 1000)
	n := 0
	for k := range perFlow {
		for i, f := range fs {
			ms := intT0 + span*int64(k*flows+i)/int64(flows*perFlow)
			spine := uint32(0xb)
			if (k/500)%2 == 1 {
				spine = 0xc
			}
			lat := uint32(500 + (k*7+i*13)%900)
			if k%100 == 99 {
				x.w.Report(switchDev(spine), f.drop(spine, 4, 7), ms)
			} else {
				x.w.Report(switchDev(0xd), f.sink(hop{0xa, lat}, hop{0x1a, lat + 10}, hop{spine, lat + 20}, hop{0x1d, lat + 30}, hop{0xd, lat + 40}), ms)
			}
			n++
			if n%4096 == 0 {
				x.w.Flush(ms)
			}
		}
	}
	x.w.FlushAll(intT0 + span)
	return x, ids
})

// BenchmarkPathQuery: the path frame of 500 flows × 5 hops (each with its
// previous path and later drops) out of 1M rows, named or as the top 500.
func BenchmarkPathQuery(b *testing.B) {
	x, ids := benchPathTable()
	if st := x.table.Stats(); st.Rows < 1_000_000 || st.EvictedRows > 0 {
		b.Fatalf("table holds %d rows, evicted %d", st.Rows, st.EvictedRows)
	}
	names, _ := ParseSwitchNames("0xa=leaf1,0xb=spine1,0xc=spine2,0xd=leaf2")
	named, _ := json.Marshal(ids)
	for _, c := range []struct {
		name  string
		q     Query
		arrow bool
	}{
		{"named500", Query{Kind: KindPath, Flow: string(named)}, false},
		{"top500", Query{Kind: KindPath, TopN: 500}, false},
		// With the Arrow encoding the SDK sends to Grafana.
		{"top500+arrow", Query{Kind: KindPath, TopN: 500}, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			req := PathRequest{Query: c.q, FromMs: intT0, ToMs: intT0 + 31*60*1000, Names: names}
			var rows int
			for b.Loop() {
				res, err := ExecutePath(context.Background(), x.table, req)
				if err != nil {
					b.Fatal(err)
				}
				rows = res.Frame.Rows()
				if c.arrow {
					if _, err := res.Frame.MarshalArrow(); err != nil {
						b.Fatal(err)
					}
				}
			}
			// 500 newest observations and 500 previous paths of 5 hops.
			if rows != 5000 {
				b.Fatalf("%d rows", rows)
			}
			b.ReportMetric(float64(rows), "rows/op")
		})
	}
}

func ExampleParseFlows() {
	fmt.Println(ParseFlows(`["10.1.1.10:40000 > 10.2.2.20:443 tcp","10.1.1.11:40001 > 10.2.2.20:443 tcp"]`))
	fmt.Println(ParseFlows(`{10.1.1.10:40000 > 10.2.2.20:443 tcp,10.1.1.11:40001 > 10.2.2.20:443 tcp}`))
	// Output:
	// [10.1.1.10:40000 > 10.2.2.20:443 tcp 10.1.1.11:40001 > 10.2.2.20:443 tcp]
	// [10.1.1.10:40000 > 10.2.2.20:443 tcp 10.1.1.11:40001 > 10.2.2.20:443 tcp]
}

// BenchmarkPathCursorNext: one live push of the 500 flows of the 1M-row
// table, each with new rows in the last seconds (a fresh cursor every
// time, so every flow has something to push).
func BenchmarkPathCursorNext(b *testing.B) {
	x, ids := benchPathTable()
	end := intT0 + 30*60*1000
	req := PathRequest{Query: Query{Kind: KindPath}}
	var rows int
	for b.Loop() {
		cur := NewPathCursor(nil, end-2000)
		f, err := cur.Next(context.Background(), x.table, req, ids, end)
		if err != nil {
			b.Fatal(err)
		}
		rows = f.Rows()
	}
	if rows < 2000 {
		b.Fatalf("pushed %d rows", rows)
	}
	b.ReportMetric(float64(rows), "rows/op")
}
