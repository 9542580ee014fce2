package records

import (
	"fmt"
	"net/netip"
	"runtime"
	"strconv"
	"testing"
)

// stream appends n generated flows spread over spanMs without keeping them,
// flushing every 30 rows (one export packet).
func stream(tb testing.TB, t *Table, seed uint64, n int, t0, spanMs int64) {
	streamFrom(tb, t, newFlowGen(seed), n, t0, spanMs)
}

func streamFrom(tb testing.TB, t *Table, g *flowGen, n int, t0, spanMs int64) {
	c := newFlowCols(tb, t)
	a := t.NewAppender()
	for i := range n {
		f := g.next(t0 + 2000 + int64(i)*spanMs/int64(n))
		c.appendFlow(a, &f)
		if i%30 == 29 {
			a.Flush()
		}
	}
	a.Flush()
}

func heapInuse() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// measure stores n flows over spanMs and returns bytes per record by the
// table's own accounting and by the heap (HeapInuse growth after GC).
func measure(tb testing.TB, n int, spanMs, partitionMs int64, addrs int, uniform bool) (own, heap float64, st Stats) {
	g := newFlowGenAddrs(7, addrs)
	g.uniform = uniform
	before := heapInuse()
	tab := NewTable("ipfix_flow", Options{PartitionMs: partitionMs, MaxBytes: 4 << 30, Now: fixedClock()})
	streamFrom(tb, tab, g, n, t0, spanMs)
	after := heapInuse()
	st = tab.Stats()
	runtime.KeepAlive(tab)
	runtime.KeepAlive(g) // allocated before the first reading: must not be freed before the second
	return float64(st.Bytes) / float64(st.Rows), (float64(after) - float64(before)) / float64(st.Rows), st
}

// The memory target: at most 120 bytes per stored flow record, by the
// table's accounting and by the Go heap.
func TestBytesPerRecord(t *testing.T) {
	own, heap, st := measure(t, 100_000, 600_000, 60_000, 3000, false)
	t.Logf("100k flows over 10 min, 1-minute partitions: %.1f B/record accounted, %.1f B/record heap, %d partitions", own, heap, st.Partitions)
	if own > 120 || heap > 120 {
		t.Errorf("bytes per record: accounted %.1f, heap %.1f; want ≤ 120", own, heap)
	}
	if heap > own*1.25+8 || own > heap*1.25+8 {
		t.Errorf("accounting %.1f B/record is off the heap's %.1f by more than 25%%", own, heap)
	}
}

// go test -run '^$' -bench BytesPerRecord -benchtime 1x ./pkg/records
func BenchmarkBytesPerRecord(b *testing.B) {
	for _, c := range []struct {
		name            string
		span, partition int64
		addrs           int
		uniform         bool
	}{{"1M_over_1h_1min_partitions", 3_600_000, 60_000, 3000, false}, {"1M_over_10min_1min_partitions", 600_000, 60_000, 3000, false},
		{"1M_over_1h_5min_partitions", 3_600_000, 300_000, 3000, false},
		// a long tail of addresses (many clients)
		{"1M_over_1h_1min_partitions_200k_addresses", 3_600_000, 60_000, 200_000, false},
		// the worst case: addresses drawn uniformly from 1M (a scan)
		{"1M_over_1h_1min_partitions_uniform_1M_addresses", 3_600_000, 60_000, 1_000_000, true}} {
		b.Run(c.name, func(b *testing.B) {
			var own, heap float64
			for b.Loop() {
				own, heap, _ = measure(b, 1_000_000, c.span, c.partition, c.addrs, c.uniform)
			}
			b.ReportMetric(own, "B/record-accounted")
			b.ReportMetric(heap, "B/record-heap")
		})
	}
}

// Rows per second through Appender and Flush (30 rows a flush).
func BenchmarkAppend(b *testing.B) {
	g := newFlowGen(9)
	flows := make([]flow, 1<<16)
	for i := range flows {
		flows[i] = g.next(t0 + 2000 + int64(i)*10)
	}
	tab := NewTable("ipfix_flow", Options{PartitionMs: 60_000, MaxBytes: 256 << 20, Now: fixedClock()})
	c := newFlowCols(b, tab)
	a := tab.NewAppender()
	i := 0
	shift := int64(0)
	for b.Loop() {
		f := flows[i]
		f.time += shift
		f.start += shift
		c.appendFlow(a, &f)
		i++
		if i%30 == 0 {
			a.Flush()
		}
		if i == len(flows) {
			i = 0
			shift += int64(len(flows)) * 10
		}
	}
	a.Flush()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

var oneMillion *Table

func millionFlows(b *testing.B) *Table {
	if oneMillion == nil {
		oneMillion = NewTable("ipfix_flow", Options{PartitionMs: 60_000, MaxBytes: 4 << 30, MaxGroups: 1_000_000, Now: fixedClock()})
		stream(b, oneMillion, 7, 1_000_000, t0, 3_600_000)
	}
	return oneMillion
}

// Queries over 1M flows (one hour, 60 partitions). MaxGroups is raised to
// 1M for queries without TopN; with TopN the bound is MaxGroupBytes (the
// conversations of 1M flows among 3500 addresses are 383k groups).
func BenchmarkQuery1M(b *testing.B) {
	tab := millionFlows(b)
	b.ResetTimer()
	for _, c := range []struct {
		name string
		q    Query
	}{
		{"top10_src_addr_sum_bytes_other", Query{GroupBy: []string{"src_addr"}, Aggregates: []Aggregate{{Func: "sum", Column: "bytes"}}, TopN: 10, Other: true}},
		{"top10_conversations", Query{GroupBy: []string{"src_addr", "dst_addr"}, Aggregates: []Aggregate{{Func: "sum", Column: "bytes"}, {Func: "count"}}, TopN: 10}},
		{"bytes_per_protocol_per_minute", Query{BucketMs: 60_000, GroupBy: []string{"protocol"}, Aggregates: []Aggregate{{Func: "sum", Column: "bytes"}}}},
		{"p95_rtt_per_application", Query{GroupBy: []string{"application"}, Aggregates: []Aggregate{{Func: "p95", Column: "rtt"}}}},
		{"cidr_filter_count", Query{Filters: []Filter{{Column: "src_addr", Op: "cidr", Values: []string{"10.0.4.0/22"}}}, Aggregates: []Aggregate{{Func: "count"}}}},
		{"raw_100_newest_filtered", Query{Limit: 100, Filters: []Filter{{Column: "dst_port", Op: "=", Values: []string{"22"}}}}},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := tab.Query(b.Context(), c.q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// The "Flows overview" dashboard's top conversations over 1M flows (674k
// groups of src_addr, dst_addr, protocol, dst_port; 383k of the address
// pairs alone): over the whole range
// and per minute bucket, top 10 with "other".
//
//	go test -run '^$' -bench TopConversations -benchmem ./pkg/records
func BenchmarkTopConversations(b *testing.B) {
	tab := millionFlows(b)
	conv := []string{"src_addr", "dst_addr", "protocol", "dst_port"}
	for _, c := range []struct {
		name string
		q    Query
	}{
		{"whole_range", Query{GroupBy: conv, Aggregates: []Aggregate{{Func: "sum", Column: "bytes"}, {Func: "count"}}, TopN: 10, Other: true}},
		{"per_minute", Query{GroupBy: conv, BucketMs: 60_000, Aggregates: []Aggregate{{Func: "sum", Column: "bytes"}}, TopN: 10, Other: true}},
		{"per_minute_two_aggregates", Query{GroupBy: conv, BucketMs: 60_000, Aggregates: []Aggregate{{Func: "sum", Column: "bytes"}, {Func: "sum", Column: "packets"}}, TopN: 10, Other: true}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tab.Query(b.Context(), c.q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Rows shaped like INT reports (pkg/pipeline/intmap's int_report: 24
// columns, six of them strings, one nearly unique per row like its hops
// text, 1024 flows), flushed every 256 rows as an INT worker does.
//
//	go test -run '^$' -bench AppendINTRows -benchmem ./pkg/records
func BenchmarkAppendINTRows(b *testing.B) {
	tab := NewTable("int_report", Options{PartitionMs: 60_000, MaxBytes: 256 << 20, Now: fixedClock()})
	col := func(name string, typ Type) Col {
		c, err := tab.Column(name, typ)
		if err != nil {
			b.Fatal(err)
		}
		return c
	}
	device, typ, flags, flow, path, hops := col("device", String), col("type", String), col("flags", String),
		col("flow", String), col("path", String), col("hops", String)
	src, dst := col("src_addr", Addr), col("dst_addr", Addr)
	var nums []Col
	for _, n := range []string{"switch_id", "hw_id", "seq", "src_port", "dst_port", "protocol", "dscp", "ingress_port",
		"egress_port", "queue_id", "queue_occupancy", "hop_count", "e2e_latency", "max_hop_latency"} {
		nums = append(nums, col(n, Uint))
	}
	changed := col("path_changed", Bool)
	devices := [][]byte{[]byte("0x0000000a"), []byte("0x0000000b"), []byte("0x0000000c")}
	var flows [1024][]byte
	for i := range flows {
		flows[i] = fmt.Appendf(nil, "10.1.%d.%d:%d > 10.2.2.20:443 tcp", i>>8, i&255, 30000+i)
	}
	a := tab.NewAppender()
	var text []byte
	i := 0
	for b.Loop() {
		f := i & 1023
		a.Begin(t0 + 2000 + int64(i)/1000)
		a.String(device, devices[i%3])
		a.String(typ, []byte("int"))
		a.String(flags, []byte("F"))
		a.String(flow, flows[f])
		a.String(path, []byte("0x0000000a>0x0000000b>0x0000000c"))
		text = append(text[:0], "a,1,2,1000,0,100,"...)
		text = strconv.AppendUint(text, uint64(i)*7, 10) // unique per row
		text = append(text, ",1000,;b,2,3,2000,1,200,10000,12000,;c,3,4,3000,2,300,20000,23000,"...)
		a.String(hops, text)
		a.Addr(src, netip.AddrFrom4([4]byte{10, 1, byte(f >> 8), byte(f)}))
		a.Addr(dst, netip.AddrFrom4([4]byte{10, 2, 2, 20}))
		for k, c := range nums {
			a.Uint(c, uint64(i%(k+2)+k*1000))
		}
		a.Bool(changed, i%1000 == 0)
		a.Commit()
		i++
		if i%256 == 0 {
			a.Flush()
		}
	}
	a.Flush()
	st := tab.Stats()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(st.Bytes)/float64(st.Rows), "B/row-held")
}
