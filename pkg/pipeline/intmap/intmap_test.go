package intmap

import (
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/netlens/netlens/pkg/decode/intreport"
)

func TestSinkReportBecomesOneRowWithItsHops(t *testing.T) {
	e := newEnv(t, Options{})
	e.w.Report(sw, sinkReport(0xa, 0xb, 0xc), t0)
	e.w.Flush(t0)

	rows := e.rows(t)
	if len(rows) != 1 {
		t.Fatalf("%d rows, want 1: %v", len(rows), rows)
	}
	want := map[string]any{
		"time": t0, "device": "0x0000000c", "switch_id": uint64(0xc), "hw_id": uint64(1), "seq": uint64(10),
		"type": "int", "flags": "F", "src_addr": "10.1.1.10", "dst_addr": "10.2.2.20",
		"src_port": uint64(40000), "dst_port": uint64(443), "protocol": uint64(6), "dscp": uint64(0x17),
		"flow": "10.1.1.10:40000 > 10.2.2.20:443 tcp", "hop_count": uint64(3), "e2e_latency": uint64(23000), "max_hop_latency": uint64(3000),
		"path": "0x0000000a>0x0000000b>0x0000000c", "path_changed": false,
		"hops": "a,1,2,1000,0,100,0,1000,;b,2,3,2000,1,200,10000,12000,;c,3,4,3000,2,300,20000,23000,",
	}
	if !reflect.DeepEqual(rows[0], want) {
		t.Errorf("row\n got %v\nwant %v", rows[0], want)
	}

	hops, err := ExpandHops(nil, rows[0]["hops"].(string), func(id uint32) string {
		if id == 0xb {
			return "spine-1"
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	wantRows := [][]any{
		{0.0, "0x0000000a", 10.0, 1.0, 2.0, 1000.0, 0.0, 100.0, false, nil},
		{1.0, "spine-1", 11.0, 2.0, 3.0, 2000.0, 1.0, 200.0, false, nil},
		{2.0, "0x0000000c", 12.0, 3.0, 4.0, 3000.0, 2.0, 300.0, false, nil},
	}
	if len(hops) != len(wantRows) {
		t.Fatalf("%d hops, want %d", len(hops), len(wantRows))
	}
	for i := range hops {
		if got := hops[i].Values(); !reflect.DeepEqual(got, wantRows[i]) {
			t.Errorf("hop %d: %v, want %v (fields %v)", i, got, wantRows[i], HopFields)
		}
	}
}

func TestUnavailableValuesAreNullInTheFrame(t *testing.T) {
	e := newEnv(t, Options{})
	r := sinkReport(0xa, 0xb)
	// Hop 0 marked its queue unavailable and has no timestamps; hop 1
	// gives only timestamps, so its latency is derived from them.
	r.Hops[0].Present &^= intreport.ItemQueue | intreport.ItemIngressTS | intreport.ItemEgressTS
	r.Hops[0].Unavailable = intreport.ItemQueue
	r.Hops[1].Present &^= intreport.ItemHopLatency | intreport.ItemPorts
	e.w.Report(sw, r, t0)
	e.w.Flush(t0)
	row := e.rows(t)[0]
	if got, want := row["hops"], "a,1,2,1000,,,,,;b,,,2000,1,200,10000,12000,"; got != want {
		t.Errorf("hops %q, want %q", got, want)
	}
	// Hop 0 has no ingress timestamp: end-to-end is the sum of latencies.
	if got := row["e2e_latency"]; got != uint64(3000) {
		t.Errorf("e2e %v, want 3000", got)
	}
	hops, err := ExpandHops(nil, row["hops"].(string), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := hops[0].Values(), []any{0.0, "0x0000000a", 10.0, 1.0, 2.0, 1000.0, nil, nil, false, nil}; !reflect.DeepEqual(got, want) {
		t.Errorf("hop 0 %v, want %v", got, want)
	}
	if got, want := hops[1].Values(), []any{1.0, "0x0000000b", 11.0, nil, nil, 2000.0, 1.0, 200.0, false, nil}; !reflect.DeepEqual(got, want) {
		t.Errorf("hop 1 %v, want %v", got, want)
	}
}

func TestWrappedTimestamps(t *testing.T) {
	e := newEnv(t, Options{})
	r := sinkReport(0xa, 0xb)
	// The 32-bit ns clocks wrap inside the packet's journey: hop 0 enters
	// 256 ns before the wrap and leaves 256 ns after it.
	for i := range 2 {
		r.Hops[i].Present &^= intreport.ItemHopLatency
	}
	r.Hops[0].IngressTS, r.Hops[0].EgressTS = 0xFFFFFF00, 0x100
	r.Hops[1].IngressTS, r.Hops[1].EgressTS = 0x300, 0x700
	e.w.Report(sw, r, t0)
	e.w.Flush(t0)
	row := e.rows(t)[0]
	if got, want := row["hops"], "a,1,2,512,0,100,4294967040,256,;b,2,3,1024,1,200,768,1792,"; got != want {
		t.Errorf("hops %q, want %q", got, want)
	}
	if row["max_hop_latency"] != uint64(1024) || row["e2e_latency"] != uint64(0x700+0x100) {
		t.Errorf("max hop %v e2e %v, want 1024 and %d", row["max_hop_latency"], row["e2e_latency"], 0x800)
	}
}

func TestPostcardsFromThreeSwitchesJoinIntoOnePath(t *testing.T) {
	e := newEnv(t, Options{})
	// The postcards arrive out of order; TTL puts them in path order.
	e.w.Report(model0(0xb), postcard(0xb, 63, 7, 2000, 2500, 40), t0)
	e.w.Report(model0(0xa), postcard(0xa, 64, 7, 1000, 1300, 10), t0+1)
	e.w.Report(model0(0xc), postcard(0xc, 62, 7, 3000, 3900, 90), t0+2)
	e.w.Flush(t0 + 50) // inside the join window: no path yet
	if n := len(e.rows(t)); n != 3 {
		t.Fatalf("%d rows before the window passed, want the 3 postcards", n)
	}
	e.w.Flush(t0 + 200)
	rows := e.rows(t)
	if len(rows) != 4 {
		t.Fatalf("%d rows, want 3 postcards and 1 path", len(rows))
	}
	for i, want := range []string{"0x0000000b", "0x0000000a", "0x0000000c"} {
		r := rows[i]
		if r["type"] != "flow" || r["device"] != want || r["hop_count"] != uint64(1) || r["queue_occupancy"] == nil {
			t.Errorf("postcard row %d: %v", i, r)
		}
	}
	want := map[string]any{
		"time": t0 + 2, "device": "0x0000000c", "switch_id": uint64(0xc), "hw_id": uint64(2), "seq": uint64(100),
		"type": "postcard-path", "src_addr": "10.1.1.10", "dst_addr": "10.2.2.20",
		"src_port": uint64(5000), "dst_port": uint64(6000), "protocol": uint64(17),
		"flow": "10.1.1.10:5000 > 10.2.2.20:6000 udp", "hop_count": uint64(3), "e2e_latency": uint64(2900), "max_hop_latency": uint64(900),
		"path": "0x0000000a>0x0000000b>0x0000000c", "path_changed": false,
		"hops": "a,1,2,300,0,10,1000,1300,;b,1,2,500,0,40,2000,2500,;c,1,2,900,0,90,3000,3900,",
	}
	if !reflect.DeepEqual(rows[3], want) {
		t.Errorf("path row\n got %v\nwant %v", rows[3], want)
	}
	c := e.board.Snapshot().Counters
	if c[CounterReports] != 3 || c[CounterPostcardPath] != 1 || c[CounterRowsStored] != 4 {
		t.Errorf("board counters %v", c)
	}
}

func TestEveryRowOfAFlowHasItsFlowID(t *testing.T) {
	e := newEnv(t, Options{})
	// Postcards of one packet, a drop report and a sink report of other
	// flows, an ICMP report (no ports) and a queue report without an inner
	// packet.
	e.w.Report(model0(0xa), postcard(0xa, 64, 7, 1000, 1300, 10), t0)
	e.w.Report(model0(0xb), postcard(0xb, 63, 7, 2000, 2500, 40), t0+1)
	e.w.Report(model0(0xb), dropped(postcard(0xb, 63, 8, 2000, 0, 0), 7), t0+2)
	e.w.Report(sw, sinkReport(0xa, 0xb, 0xc), t0+3)
	icmp := sinkReport(0xa, 0xc)
	icmp.Inner.Protocol, icmp.Inner.SrcPort, icmp.Inner.DstPort = intreport.ProtoICMP, 0, 0
	e.w.Report(sw, icmp, t0+4)
	q := &intreport.Report{Header: intreport.Header{Version: intreport.V10, Kind: intreport.KindQueue,
		HasSwitchID: true, SwitchID: 0xc, Md: intreport.MdQueue, QueueID: 2, QueueOccupancy: 900}}
	e.w.Report(sw, q, t0+5)
	e.w.FlushAll(t0 + 500)

	got := map[string][]string{}
	for _, r := range e.rows(t) {
		f, _ := r["flow"].(string)
		got[r["type"].(string)] = append(got[r["type"].(string)], f)
		if f == "" {
			continue
		}
		// The column spells what FlowID makes of the row's own 5-tuple.
		src, dst := netipMust(r["src_addr"].(string)), netipMust(r["dst_addr"].(string))
		sp, _ := r["src_port"].(uint64)
		dp, _ := r["dst_port"].(uint64)
		if want := FlowID(src, dst, uint8(r["protocol"].(uint64)), uint16(sp), uint16(dp)); f != want {
			t.Errorf("%s row: flow %q, FlowID of its columns %q", r["type"], f, want)
		}
	}
	udp, tcp := "10.1.1.10:5000 > 10.2.2.20:6000 udp", "10.1.1.10:40000 > 10.2.2.20:443 tcp"
	want := map[string][]string{
		"flow":  {udp, udp},
		"drop":  {udp},
		"int":   {tcp, "10.1.1.10 > 10.2.2.20 icmp"},
		"queue": {""},
		// The packet with ipid 7; the dropped one (ipid 8) has only its drop
		// report, which is its own row and no path.
		"postcard-path": {udp},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("flow by type\n got %q\nwant %q", got, want)
	}
}

// More flows than the worker's cache of flow ids holds, twice over: every
// row still spells its own flow.
func TestFlowIDsPastTheCache(t *testing.T) {
	e := newEnv(t, Options{})
	n := flowTextSlots + 1000
	for i := range 2 * n {
		r := sinkReport(0xa, 0xc)
		r.Inner.SrcPort = uint16(i % n)
		r.Inner.Src = netip.AddrFrom4([4]byte{10, 1, byte(i % n >> 8), byte(i % n)})
		e.w.Report(sw, r, t0+int64(i))
	}
	e.w.Flush(t0)
	rows := e.rows(t)
	if len(rows) != 2*n {
		t.Fatalf("%d rows", len(rows))
	}
	for i, r := range rows {
		want := FlowID(netip.AddrFrom4([4]byte{10, 1, byte(i % n >> 8), byte(i % n)}), hostB, intreport.ProtoTCP, uint16(i%n), 443)
		if r["flow"] != want {
			t.Fatalf("row %d: flow %q, want %q", i, r["flow"], want)
		}
	}
}

func TestPathChangeIsDetectedPerFlow(t *testing.T) {
	e := newEnv(t, Options{})
	other := sinkReport(0xa, 0xe, 0xc)
	other.Inner.SrcPort = 40001 // another flow on the other spine: not a change of the first flow
	e.w.Report(sw, sinkReport(0xa, 0xb, 0xc), t0)
	e.w.Report(sw, other, t0+1)
	e.w.Report(sw, sinkReport(0xa, 0xb, 0xc), t0+2)
	e.w.Report(sw, sinkReport(0xa, 0xd, 0xc), t0+3) // ECMP moved the flow to spine 0xd
	e.w.Report(sw, sinkReport(0xa, 0xd, 0xc), t0+4)
	e.w.Flush(t0 + 5)
	var got []bool
	for _, r := range e.rows(t) {
		got = append(got, r["path_changed"].(bool))
	}
	if want := []bool{false, false, false, true, false}; !reflect.DeepEqual(got, want) {
		t.Errorf("path_changed %v, want %v", got, want)
	}
}

func TestPathMemoryIsBounded(t *testing.T) {
	e := newEnv(t, Options{PathFlows: 2})
	flow := func(port uint16, ids ...uint32) *intreport.Report {
		r := sinkReport(ids...)
		r.Inner.SrcPort = port
		return r
	}
	e.w.Report(sw, flow(1, 0xa, 0xb), t0)
	e.w.Report(sw, flow(2, 0xa, 0xb), t0+1)
	e.w.Report(sw, flow(3, 0xa, 0xb), t0+2) // forgets flow 1, the least recently seen
	e.w.Report(sw, flow(1, 0xa, 0xd), t0+3) // so its change is not seen
	e.w.Report(sw, flow(3, 0xa, 0xd), t0+4) // flow 3 is remembered
	e.w.Flush(t0 + 5)
	var got []bool
	for _, r := range e.rows(t) {
		got = append(got, r["path_changed"].(bool))
	}
	if want := []bool{false, false, false, false, true}; !reflect.DeepEqual(got, want) {
		t.Errorf("path_changed %v, want %v", got, want)
	}
	if n := len(e.w.paths.index); n != 2 {
		t.Errorf("%d flows remembered, want 2", n)
	}
}

func TestDropIsMarkedAtItsHop(t *testing.T) {
	t.Run("postcards", func(t *testing.T) {
		e := newEnv(t, Options{})
		e.w.Report(model0(0xa), postcard(0xa, 64, 9, 1000, 1300, 10), t0)
		e.w.Report(model0(0xb), dropped(postcard(0xb, 63, 9, 2000, 0, 0), 7), t0+1)
		e.w.Flush(t0 + 500)
		rows := e.rows(t)
		if len(rows) != 3 {
			t.Fatalf("%d rows, want 2 postcards and a path", len(rows))
		}
		r := rows[1]
		if r["type"] != "drop" || r["drop_reason"] != uint64(7) || r["flags"] != "D" || r["hops"] != nil {
			t.Errorf("drop report row %v", r)
		}
		// The drop report's own hop, from its columns.
		h := LocalHop(func(name string) (uint64, bool) { v, ok := r[name].(uint64); return v, ok }, nil)
		if got, want := h.Values(), []any{0.0, "0x0000000b", 11.0, 1.0, 2.0, nil, 0.0, nil, true, "7"}; !reflect.DeepEqual(got, want) {
			t.Errorf("local hop %v, want %v", got, want)
		}
		p := rows[2]
		if p["type"] != "postcard-path" || p["flags"] != "D" || p["drop_reason"] != uint64(7) {
			t.Errorf("path row %v", p)
		}
		hops, err := ExpandHops(nil, p["hops"].(string), nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(hops) != 2 || hops[0].Dropped || !hops[1].Dropped || hops[1].Values()[9] != "7" {
			t.Errorf("hops %+v", hops)
		}
	})
	t.Run("int stack", func(t *testing.T) {
		e := newEnv(t, Options{})
		// A v1.0 drop report from the spine carrying the stack so far.
		r := sinkReport(0xa, 0xb)
		r.Header.Kind, r.Header.Dropped = intreport.KindDrop, true
		r.Header.SwitchID = 0xb
		r.Header.Md = intreport.MdDrop
		r.Header.DropReason = 3
		e.w.Report(model0(0xb), r, t0)
		e.w.Flush(t0)
		row := e.rows(t)[0]
		if row["type"] != "drop" || row["drop_reason"] != uint64(3) || row["path"] != "0x0000000a>0x0000000b" {
			t.Errorf("row %v", row)
		}
		hops, _ := ExpandHops(nil, row["hops"].(string), nil)
		if len(hops) != 2 || hops[0].Dropped || !hops[1].Dropped || hops[1].DropReason != 3 {
			t.Errorf("hops %+v", hops)
		}
		if v, ok := e.sink.value(DropsTotal, "device", "0x0000000b", "port", "unknown", "reason", "3"); !ok || v != 1 {
			t.Errorf("drops series %v %v", v, ok)
		}
	})
}

func TestExpandHopsRejectsBadText(t *testing.T) {
	for _, s := range []string{
		"a", "a,1,2,3,4,5,6,7", "a,1,2,3,4,5,6,7,8,9", "zz,1,2,3,4,5,6,7,", "a,70000,2,3,4,5,6,7,",
		"a,1,2,3,4,5,6,7,;", "a,1,2,3,300,5,6,7,", "a,1,2,-3,4,5,6,7,",
	} {
		if _, err := ExpandHops(nil, s, nil); !errors.Is(err, ErrBadHops) {
			t.Errorf("%q: err %v, want ErrBadHops", s, err)
		}
	}
	if h, err := ExpandHops(nil, "", nil); err != nil || len(h) != 0 {
		t.Errorf("empty: %v %v", h, err)
	}
}

func TestFlowID(t *testing.T) {
	for _, c := range []struct {
		got, want string
	}{
		{FlowID(hostA, hostB, 6, 40000, 443), "10.1.1.10:40000 > 10.2.2.20:443 tcp"},
		{FlowID(hostA, hostB, 1, 0, 0), "10.1.1.10 > 10.2.2.20 icmp"},
		{FlowID(netipMust("2001:db8::1"), netipMust("2001:db8::2"), 17, 5000, 53), "[2001:db8::1]:5000 > [2001:db8::2]:53 udp"},
	} {
		if c.got != c.want {
			t.Errorf("%q, want %q", c.got, c.want)
		}
	}
}

func TestDroppedPacketsPathIsComparedAsAPrefix(t *testing.T) {
	e := newEnv(t, Options{})
	drop := func(ids ...uint32) *intreport.Report {
		r := sinkReport(ids...)
		r.Header.Kind, r.Header.Dropped, r.Header.Md, r.Header.DropReason = intreport.KindDrop, true, intreport.MdDrop, 5
		return r
	}
	e.w.Report(sw, sinkReport(0xa, 0xb, 0xc), t0)
	e.w.Report(sw, drop(0xa, 0xb), t0+1) // dropped at the spine it always took: no change
	e.w.Report(sw, drop(0xa, 0xd), t0+2) // dropped at another spine: the path changed
	e.w.Report(sw, sinkReport(0xa, 0xb, 0xc), t0+3)
	e.w.Flush(t0 + 4)
	var got []bool
	for _, r := range e.rows(t) {
		got = append(got, r["path_changed"].(bool))
	}
	// The last whole path is still a, b, c: the partial paths were not
	// remembered as the flow's path.
	if want := []bool{false, false, true, false}; !reflect.DeepEqual(got, want) {
		t.Errorf("path_changed %v, want %v", got, want)
	}
}

// The receiver gives each switch's reports to one worker, so a packet's
// postcards reach different workers: they still join into one path, and
// its path memory is the same whichever worker emits it.
func TestPostcardsThroughSeveralWorkersJoinIntoOnePath(t *testing.T) {
	e := newEnv(t, Options{})
	w2 := e.m.Worker()
	send := func(ipid uint16, spine uint32, at int64) {
		e.w.Report(model0(0xa), postcard(0xa, 64, ipid, 1000, 1300, 10), at)
		w2.Report(model0(spine), postcard(spine, 63, ipid, 2000, 2500, 40), at+1)
		e.w.Report(model0(0xc), postcard(0xc, 62, ipid, 3000, 3900, 90), at+2)
	}
	send(1, 0xb, t0)
	w2.Flush(t0 + 200) // the other worker emits the first path
	send(2, 0xd, t0+300)
	e.w.Flush(t0 + 500)
	var paths []map[string]any
	for _, r := range e.rows(t) {
		if r["type"] == TypePostcardPath {
			paths = append(paths, r)
		}
	}
	if len(paths) != 2 {
		t.Fatalf("%d paths, want 2: %v", len(paths), paths)
	}
	if paths[0]["path"] != "0x0000000a>0x0000000b>0x0000000c" || paths[0]["path_changed"] != false ||
		paths[1]["path"] != "0x0000000a>0x0000000d>0x0000000c" || paths[1]["path_changed"] != true {
		t.Errorf("paths %v", paths)
	}
}

// Workers feeding the shared joiners at once (run with -race): every
// packet's postcards become one whole path.
func TestWorkersJoinConcurrently(t *testing.T) {
	const packets = 2000
	// Room for every packet in every shard: one worker may run all its
	// postcards before the other starts, and an evicted path is partial.
	e := newEnv(t, Options{JoinPending: packets * joinShards})
	ws := []*Worker{e.w, e.m.Worker()}
	var wg sync.WaitGroup
	for wi, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range packets {
				for h, id := range []uint32{0xa, 0xb, 0xc} {
					if (h == 1) != (wi == 1) { // worker 1 has the spine, worker 0 the leaves
						continue
					}
					r := postcard(id, uint8(64-h), uint16(p), uint32(1000*h), uint32(1000*h+300), 10)
					r.Inner.SrcPort = uint16(p % 100)
					w.Report(model0(id), r, t0)
				}
				if p%256 == 255 {
					w.Flush(t0)
				}
			}
		}()
	}
	wg.Wait()
	for _, w := range ws {
		w.FlushAll(t0 + 1000)
	}
	n := 0
	for _, r := range e.rows(t) {
		if r["type"] == TypePostcardPath {
			n++
			if r["hop_count"] != uint64(3) {
				t.Fatalf("path of %v hops: %v", r["hop_count"], r)
			}
		}
	}
	if n != packets {
		t.Errorf("%d paths, want %d", n, packets)
	}
}

// In an INT fabric a spine sends only drop and queue reports about packets
// it saw; each is its own row, and none becomes a one-hop postcard path
// (it would chart the spine as a sink). A switch's lone postcard is a
// one-switch path (hosts behind one leaf), and a drop report joined to
// other switches' postcards marks the hop of the drop.
func TestLoneDropAndQueueReportsAreNoPath(t *testing.T) {
	e := newEnv(t, Options{})
	congested := postcard(0xb, 63, 21, 2000, 2500, 900)
	congested.Header.Kind, congested.Header.NProto = intreport.KindQueue, 1
	e.w.Report(model0(0xb), congested, t0)
	e.w.Report(model0(0xb), dropped(postcard(0xb, 63, 22, 3000, 0, 0), 7), t0+1)
	e.w.Report(model0(0xa), postcard(0xa, 64, 23, 1000, 1300, 10), t0+2)
	e.w.Report(model0(0xa), postcard(0xa, 64, 24, 4000, 4300, 10), t0+3)
	e.w.Report(model0(0xb), dropped(postcard(0xb, 63, 24, 4500, 0, 0), 9), t0+4)
	e.w.FlushAll(t0 + 500)

	var paths []string
	types := map[string]int{}
	for _, r := range e.rows(t) {
		types[r["type"].(string)]++
		if r["type"] == "postcard-path" {
			reason, _ := r["drop_reason"].(uint64)
			paths = append(paths, fmt.Sprintf("%s reason %d", r["path"], reason))
		}
	}
	slices.Sort(paths)
	want := []string{"0x0000000a reason 0", "0x0000000a>0x0000000b reason 9"}
	if !slices.Equal(paths, want) {
		t.Errorf("postcard paths %q, want %q", paths, want)
	}
	if types["queue"] != 1 || types["drop"] != 2 || types["flow"] != 2 {
		t.Errorf("rows by type %v", types)
	}
}
