package query

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/netlens/netlens/pkg/decode/intreport"
	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/pipeline/intmap"
	"github.com/netlens/netlens/pkg/records"
)

const intT0 = int64(1_764_072_000_000) // 2025-11-25 12:00:00 UTC

// intFixture is an int_report table filled the way the server fills it:
// decoded reports through an intmap worker.
type intFixture struct {
	table *records.Table
	w     *intmap.Worker
}

func newIntFixture(t testing.TB) *intFixture {
	t.Helper()
	x, err := buildIntFixture(256 << 20)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func buildIntFixture(maxBytes int64) (*intFixture, error) {
	tab := records.NewTable(intmap.ReportTable, records.Options{MaxBytes: maxBytes, Now: func() int64 { return intT0 + 3_600_000 }})
	m, err := intmap.New(tab, nil, nil, intmap.Options{})
	if err != nil {
		return nil, err
	}
	return &intFixture{table: tab, w: m.Worker()}, nil
}

// intFlow is one test flow's inner packet.
type intFlow struct {
	src, dst         string
	sport, dport     uint16
	protocol         uint8
	srcAddr, dstAddr netip.Addr
}

func tcpFlow(src string, sport uint16, dst string, dport uint16) intFlow {
	return intFlow{src: src, dst: dst, sport: sport, dport: dport, protocol: intreport.ProtoTCP,
		srcAddr: netip.MustParseAddr(src), dstAddr: netip.MustParseAddr(dst)}
}

func (f intFlow) id() string {
	return intmap.FlowID(f.srcAddr, f.dstAddr, f.protocol, f.sport, f.dport)
}

func (f intFlow) packet() intreport.Packet {
	return intreport.Packet{IPVersion: 4, Src: f.srcAddr, Dst: f.dstAddr, Protocol: f.protocol, SrcPort: f.sport, DstPort: f.dport, TTL: 60}
}

// hop is one switch of an INT stack: its id and latency (ns); hop i has
// ports i+1 > i+2 and queue 0 with occupancy 10·latency/1000.
type hop struct {
	id  uint32
	lat uint32
}

// sink is the sink's INT report of a packet of f over hops (path order).
// Its end-to-end latency is the sum of the hops' (no timestamps).
func (f intFlow) sink(hops ...hop) *intreport.Report {
	r := &intreport.Report{}
	r.Header = intreport.Header{Version: intreport.V10, NProto: 1, Kind: intreport.KindFlow, Tracked: true,
		HasSwitchID: true, SwitchID: hops[len(hops)-1].id, HwID: 1}
	r.Inner = f.packet()
	r.INT = intreport.INT{Present: true, Version: 1, HopCount: len(hops)}
	for i, h := range hops {
		r.Hops[i] = intreport.Hop{
			Present:  intreport.ItemSwitchID | intreport.ItemPorts | intreport.ItemHopLatency | intreport.ItemQueue,
			SwitchID: h.id, IngressPort: uint16(i + 1), EgressPort: uint16(i + 2), HopLatency: h.lat,
			QueueID: 0, QueueOccupancy: h.lat / 100,
		}
	}
	return r
}

// drop is switch id's drop report of a packet of f, without a stack.
func (f intFlow) drop(id uint32, egress uint16, reason uint8) *intreport.Report {
	r := &intreport.Report{}
	r.Header = intreport.Header{Version: intreport.V10, NProto: 1, Kind: intreport.KindDrop, Dropped: true,
		HasSwitchID: true, SwitchID: id, HwID: 1, Md: intreport.MdPorts | intreport.MdDrop, IngressPort: 1, EgressPort: egress, DropReason: reason}
	r.Inner = f.packet()
	return r
}

// local is a v0.5 flow report without a switch id (the receiver names the
// switch by its address), with the switch's latency: the postcard joiner
// cannot take it, so the flow is seen only through such reports.
func (f intFlow) local(lat uint32) *intreport.Report {
	r := &intreport.Report{}
	r.Header = intreport.Header{Version: intreport.V05, NProto: 0, Kind: intreport.KindFlow, Tracked: true,
		Md: intreport.MdPorts | intreport.MdHopLatency, IngressPort: 7, EgressPort: 8, HopLatency: lat}
	r.Inner = f.packet()
	return r
}

func switchDev(id uint32) model.DeviceRef {
	return model.DeviceRef{Source: model.SourceINT, ID: intmap.SwitchName(id), Remote: "192.0.2.1"}
}

// add maps r as received from dev at ms, and flushes it into the table.
func (x *intFixture) add(dev model.DeviceRef, ms int64, r *intreport.Report) {
	x.w.Report(dev, r, ms)
	x.w.Flush(ms)
}

// flushAll writes every pending postcard path.
func (x *intFixture) flushAll(ms int64) { x.w.FlushAll(ms) }

const (
	leaf1, spine1, spine2, leaf2 = 0x0a, 0x0b, 0x0c, 0x0d
)

var (
	flowA = tcpFlow("10.1.1.10", 40000, "10.2.2.20", 443)
	flowB = tcpFlow("10.1.1.11", 40001, "10.2.2.20", 443)
	flowC = tcpFlow("10.1.1.12", 40002, "10.2.2.20", 443)
)

// scenario: flow A takes leaf1 > spine1 > leaf2 twice, then moves to
// spine2 and is dropped there afterwards (reason 7); flow B is seen only
// through a switch without an id; flow C has the worst latency.
func scenario(t testing.TB) *intFixture {
	x := newIntFixture(t)
	sinkDev := switchDev(leaf2)
	x.add(sinkDev, intT0+1000, flowA.sink(hop{leaf1, 1000}, hop{spine1, 2000}, hop{leaf2, 3000}))
	x.add(sinkDev, intT0+2000, flowA.sink(hop{leaf1, 1100}, hop{spine1, 2100}, hop{leaf2, 3100}))
	x.add(model.DeviceRef{Source: model.SourceINT, ID: "192.0.2.7", Remote: "192.0.2.7"}, intT0+1500, flowB.local(700))
	x.add(sinkDev, intT0+2500, flowC.sink(hop{leaf1, 9000}, hop{spine1, 9000}, hop{leaf2, 9000}))
	x.add(sinkDev, intT0+3000, flowA.sink(hop{leaf1, 1200}, hop{spine2, 2200}, hop{leaf2, 3200}))
	x.add(switchDev(spine2), intT0+4000, flowA.drop(spine2, 4, 7))
	x.flushAll(intT0 + 5000)
	return x
}

func runPath(t testing.TB, x *intFixture, q Query, names string) *PathResult {
	t.Helper()
	n, errs := ParseSwitchNames(names)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	q.Kind = KindPath
	res, err := ExecutePath(context.Background(), x.table, PathRequest{Query: q, FromMs: intT0, ToMs: intT0 + 60_000, Names: n})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// pathRowsText renders a path frame one line per row, null as "-", so a
// test reads as the table the panel gets.
func pathRowsText(t testing.TB, f *data.Frame) []string {
	t.Helper()
	var out []string
	for i := range f.Rows() {
		var cells []string
		for _, fd := range f.Fields {
			v, ok := fd.ConcreteAt(i)
			switch {
			case !ok:
				cells = append(cells, "-")
			case fd.Name == "time":
				cells = append(cells, fmt.Sprint(v.(time.Time).UnixMilli()-intT0))
			default:
				cells = append(cells, fmt.Sprint(v))
			}
		}
		out = append(out, strings.Join(cells, "|"))
	}
	return out
}

func TestPathFrameFieldsAreTheContracts(t *testing.T) {
	res := runPath(t, scenario(t), Query{Flow: flowA.id()}, "")
	var names []string
	for _, f := range res.Frame.Fields {
		names = append(names, f.Name)
	}
	want := "time flow src_addr dst_addr protocol src_port dst_port hop switch switch_id ingress_port egress_port hop_latency queue_id queue_occupancy e2e_latency dropped drop_reason path_changed"
	if strings.Join(names, " ") != want || strings.Join(PathFields, " ") != want {
		t.Fatalf("fields\n%s\nwant\n%s", strings.Join(names, " "), want)
	}
	// The per-hop fields are intmap's, in intmap's order.
	at := 0
	for _, h := range intmap.HopFields {
		i := strings.Index(want[at:], h)
		if i < 0 {
			t.Fatalf("hop field %s out of order", h)
		}
		at += i
	}
	for _, n := range []string{"hop_latency", "e2e_latency"} {
		f, _ := res.Frame.FieldByName(n)
		if f.Config == nil || f.Config.Unit != "ns" {
			t.Errorf("%s has no ns unit: %+v", n, f.Config)
		}
	}
	if res.Frame.Name != "int_path" {
		t.Errorf("frame name %q", res.Frame.Name)
	}
}

// Flow A: the newest observation (spine2) with the drop reported later
// marked on spine2, then the previous path (spine1) the panel shows as
// "was"; names from the query text, ids elsewhere.
func TestPathShowsNewestPreviousPathAndDrop(t *testing.T) {
	res := runPath(t, scenario(t), Query{Flow: flowA.id()}, "0xa=leaf1,0xc=spine2")
	got := pathRowsText(t, res.Frame)
	a := "10.1.1.10:40000 > 10.2.2.20:443 tcp|10.1.1.10|10.2.2.20|tcp|40000|443"
	want := []string{
		"3000|" + a + "|0|leaf1|10|1|2|1200|0|12|6600|false|-|true",
		"3000|" + a + "|1|spine2|12|2|3|2200|0|22|6600|true|7|true",
		"3000|" + a + "|2|0x0000000d|13|3|4|3200|0|32|6600|false|-|true",
		"2000|" + a + "|0|leaf1|10|1|2|1100|0|11|6300|false|-|false",
		"2000|" + a + "|1|0x0000000b|11|2|3|2100|0|21|6300|false|-|false",
		"2000|" + a + "|2|0x0000000d|13|3|4|3100|0|31|6300|false|-|false",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("rows\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if res.Seen[flowA.id()] != intT0+4000 {
		t.Errorf("seen %d", res.Seen[flowA.id()]-intT0)
	}
}

// A flow whose reports come from a switch without an id is shown as the
// one hop it was seen at, named by the sender address (such a report has
// no end-to-end latency).
func TestPathOfAFlowSeenOnlyInOneSwitchReports(t *testing.T) {
	res := runPath(t, scenario(t), Query{Flow: `["` + flowB.id() + `"]`}, "192.0.2.7=edge")
	got := pathRowsText(t, res.Frame)
	want := []string{"1500|10.1.1.11:40001 > 10.2.2.20:443 tcp|10.1.1.11|10.2.2.20|tcp|40001|443|0|edge|-|7|8|700|-|-|-|false|-|false"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("rows\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Without flows the worst end-to-end latency leads; flows without one
// (B) follow by their hop latency; several flows keep the order asked.
func TestPathTopNAndFlowLists(t *testing.T) {
	x := scenario(t)
	flowsOf := func(res *PathResult) string { return strings.Join(res.Flows, "; ") }
	if got := flowsOf(runPath(t, x, Query{}, "")); got != flowC.id()+"; "+flowA.id()+"; "+flowB.id() {
		t.Errorf("top flows %s", got)
	}
	if got := flowsOf(runPath(t, x, Query{TopN: 1}, "")); got != flowC.id() {
		t.Errorf("top 1 %s", got)
	}
	res := runPath(t, x, Query{Flow: "{" + flowB.id() + "," + flowA.id() + "}"}, "")
	if flowsOf(res) != flowB.id()+"; "+flowA.id() {
		t.Errorf("flows %s", flowsOf(res))
	}
	var order []string
	for i := range res.Frame.Rows() {
		f := res.Frame.Fields[1].At(i).(string)
		if len(order) == 0 || order[len(order)-1] != f {
			order = append(order, f)
		}
	}
	if strings.Join(order, "; ") != flowB.id()+"; "+flowA.id() {
		t.Errorf("rows in order %v", order)
	}
	// Filters narrow what is looked at: A's spine2 report is not in range.
	res, err := ExecutePath(context.Background(), x.table, PathRequest{Query: Query{Kind: KindPath, Flow: flowA.id()}, FromMs: intT0, ToMs: intT0 + 2500})
	if err != nil {
		t.Fatal(err)
	}
	if sw := res.Frame.Fields[8].At(1).(*string); *sw != "0x0000000b" || res.Frame.Rows() != 3 {
		t.Errorf("earlier range: %d rows, hop 1 at %s", res.Frame.Rows(), *sw)
	}
	// Unknown flows and empty tables answer an empty frame of the same fields.
	res = runPath(t, x, Query{Flow: "10.9.9.9:1 > 10.9.9.8:2 udp"}, "")
	if res.Frame.Rows() != 0 || len(res.Frame.Fields) != len(PathFields) {
		t.Errorf("unknown flow: %d rows, %d fields", res.Frame.Rows(), len(res.Frame.Fields))
	}
	res = runPath(t, newIntFixture(t), Query{}, "")
	if res.Frame.Rows() != 0 || len(res.Frame.Fields) != len(PathFields) {
		t.Errorf("empty table: %d rows, %d fields", res.Frame.Rows(), len(res.Frame.Fields))
	}
}

func TestParseFlowsReadsEveryMultiValueSpelling(t *testing.T) {
	a, b := "10.1.1.10:40000 > 10.2.2.20:443 tcp", "[2001:db8::1]:5000 > [2001:db8::2]:6000 udp"
	for in, want := range map[string][]string{
		"":                                nil,
		"$__all":                          nil,
		a:                                 {a},
		" " + b + " ":                     {b},
		`["` + a + `","` + b + `"]`:       {a, b},
		"{" + a + "," + b + "," + a + "}": {a, b},
	} {
		got := ParseFlows(in)
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("ParseFlows(%q) = %q, want %q", in, got, want)
		}
	}
}

// Paths compare as the panel compares them: a path cut short by its drop
// is the same path as far as it went.
func TestPathsDifferLikeThePanel(t *testing.T) {
	abc, ab, ax := []string{"a", "b", "c"}, []string{"a", "b"}, []string{"a", "x"}
	for _, c := range []struct {
		newest, prev         []string
		newestDrop, prevDrop bool
		want                 bool
	}{
		{abc, abc, false, false, false},
		{ab, abc, true, false, false}, // dropped at b
		{ab, abc, false, false, true}, // went elsewhere
		{ax, abc, true, false, true},  // dropped somewhere else
		{abc, ab, false, true, false}, // the previous one was dropped
		{abc, []string{"a", "x", "c"}, false, false, true},
	} {
		if got := PathsDiffer(c.newest, c.prev, c.newestDrop, c.prevDrop); got != c.want {
			t.Errorf("PathsDiffer(%v, %v, %v, %v) = %v", c.newest, c.prev, c.newestDrop, c.prevDrop, got)
		}
	}
}

// In INT mode every switch's local, queue and drop reports also become
// one-hop postcard paths: they are not the flow's path, which the sink's
// INT reports show.
func TestPathPrefersINTReportsOverOneHopPostcardPaths(t *testing.T) {
	picks := PickPaths([]PathGroup{
		{Flow: "f", Type: intmap.TypePostcardPath, Path: "0x0000000d", TimeMs: 30},
		{Flow: "f", Type: intmap.TypeINT, Path: "0x0000000a>0x0000000d", TimeMs: 20},
		{Flow: "f", Type: intmap.TypeINT, Path: "0x0000000a>0x0000000b>0x0000000d", TimeMs: 10},
		{Flow: "f", Type: intmap.TypeDrop, Device: "0x0000000d", TimeMs: 25},
		{Flow: "f", Type: intmap.TypeDrop, Device: "0x0000000d", Flags: "D", TimeMs: 24},
		{Flow: "f", Type: intmap.TypeQueue, Device: "0x0000000a", TimeMs: 40},
		{Flow: "g", Type: intmap.TypePostcardPath, Path: "0x0000000a", Flags: "D", TimeMs: 30},
		{Flow: "g", Type: intmap.TypePostcardPath, Path: "0x0000000a>0x0000000b", TimeMs: 20},
		{Flow: "g", Type: intmap.TypePostcardPath, Path: "0x0000000e>0x0000000c", TimeMs: 10},
	})
	f := picks["f"]
	if f.Newest.TimeMs != 20 || f.Previous == nil || f.Previous.TimeMs != 10 || len(f.Drops) != 1 || f.Drops[0].TimeMs != 25 {
		t.Errorf("f: %+v %+v %+v", f.Newest, f.Previous, f.Drops)
	}
	// Postcard mode: the dropped packet's partial path is the newest; the
	// path it cut short is no change, the one before it is.
	g := picks["g"]
	if g.Newest.TimeMs != 30 || g.Previous == nil || g.Previous.TimeMs != 10 {
		t.Errorf("g: %+v %+v", g.Newest, g.Previous)
	}
}

// A live path stream pushes, per flow, the newest observation that is new
// since the last push, with path_changed against the one shown before; a
// flow whose packets now die repeats its last path at the drop's time with
// the drop marked.
func TestPathCursorPushesWhatIsNew(t *testing.T) {
	x := scenario(t)
	res := runPath(t, x, Query{Flow: flowA.id()}, "")
	cur := NewPathCursor(res, intT0+5000)
	req := PathRequest{Query: Query{Kind: KindPath}}
	flows := []string{flowA.id()}
	next := func(nowMs int64) []string {
		t.Helper()
		f, err := cur.Next(context.Background(), x.table, req, flows, nowMs)
		if err != nil {
			t.Fatal(err)
		}
		if f == nil {
			return nil
		}
		var out []string
		for _, line := range pathRowsText(t, f) {
			c := strings.Split(line, "|")
			// time, hop, switch, hop_latency, dropped, drop_reason, path_changed
			out = append(out, strings.Join([]string{c[0], c[7], c[8], c[12], c[16], c[17], c[18]}, "|"))
		}
		return out
	}
	if got := next(intT0 + 5500); got != nil {
		t.Fatalf("nothing new, pushed %v", got)
	}
	sinkDev := switchDev(leaf2)
	x.add(sinkDev, intT0+6000, flowA.sink(hop{leaf1, 1300}, hop{spine1, 2300}, hop{leaf2, 3300}))
	x.add(sinkDev, intT0+6000, flowB.sink(hop{leaf1, 1300}, hop{spine1, 2300}, hop{leaf2, 3300})) // not followed
	x.flushAll(intT0 + 6000)
	sameRows(t, "back on spine1", next(intT0+6500), []string{
		"6000|0|0x0000000a|1300|false|-|true", "6000|1|0x0000000b|2300|false|-|true", "6000|2|0x0000000d|3300|false|-|true"})
	x.add(sinkDev, intT0+7000, flowA.sink(hop{leaf1, 1400}, hop{spine1, 2400}, hop{leaf2, 3400}))
	x.add(sinkDev, intT0+7100, flowA.sink(hop{leaf1, 1500}, hop{spine1, 2500}, hop{leaf2, 3500}))
	x.flushAll(intT0 + 7100)
	sameRows(t, "same path, newest of two", next(intT0+7500), []string{
		"7100|0|0x0000000a|1500|false|-|false", "7100|1|0x0000000b|2500|false|-|false", "7100|2|0x0000000d|3500|false|-|false"})
	x.add(switchDev(spine1), intT0+8000, flowA.drop(spine1, 3, 9))
	x.flushAll(intT0 + 8000)
	sameRows(t, "dropped at spine1", next(intT0+8500), []string{
		"8000|0|0x0000000a|1500|false|-|false", "8000|1|0x0000000b|2500|true|9|false", "8000|2|0x0000000d|3500|false|-|false"})
	if got := next(intT0 + 9000); got != nil {
		t.Fatalf("pushed twice: %v", got)
	}
}

func sameRows(t testing.TB, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("%s:\n%s\nwant\n%s", what, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
