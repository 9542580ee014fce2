package plugin

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/netlens/netlens/pkg/decode/intreport"
	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/pipeline/intmap"
	"github.com/netlens/netlens/pkg/records"
	"github.com/netlens/netlens/pkg/server"
)

// fakeINT is the INT receiver as the plugin sees it: three switches, one
// of them silent, one losing reports, and drops of the receiver's own.
type fakeINT struct{ switches []server.INTSwitch }

func (f *fakeINT) Switches() []server.INTSwitch { return f.switches }
func (f *fakeINT) Addr() string                 { return "[::]:31337" }
func (f *fakeINT) ReceiverDrops() map[string]uint64 {
	return map[string]uint64{"socket_overflow": 0, "queue_full": 12, "not_allowed": 3, "truncated": 2}
}

func newFakeINT(now time.Time) *fakeINT {
	ms := now.UnixMilli()
	return &fakeINT{switches: []server.INTSwitch{
		{Device: "0x0000000d", Address: "192.0.2.13:5000", SwitchID: 0xd, HasSwitchID: true, Reports: map[string]uint64{"int": 40},
			Versions: []string{"1.0"}, FirstSeenMs: ms - 60_000, LastSeenMs: ms, State: "ok"},
		{Device: "0x0000000c", Address: "192.0.2.12:5000", SwitchID: 0xc, HasSwitchID: true, Reports: map[string]uint64{"drop": 4},
			Drops: map[string]uint64{"truncated": 2}, LostReports: 9, Versions: []string{"1.0"}, LastSeenMs: ms, State: "losing"},
		{Device: "192.0.2.7", Address: "192.0.2.7:6000", Reports: map[string]uint64{"flow": 1}, LastSeenMs: 1_700_000_000_000, State: "stopped"},
	}}
}

// intEnv is a server with INT on: a real int_report table filled through
// an intmap worker, as the server's receiver workers fill it.
type intEnv struct {
	srv *server.Server
	w   *intmap.Worker
	t0  time.Time
}

func newINTEnv(t testing.TB) *intEnv {
	t.Helper()
	srv := testServer(t)
	srv.INTReports = records.NewTable(server.INTTable, records.Options{MaxBytes: 64 << 20})
	m, err := intmap.New(srv.INTReports, nil, nil, intmap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	srv.INT = newFakeINT(now)
	return &intEnv{srv: srv, w: m.Worker(), t0: now.Add(-10 * time.Minute).Truncate(time.Second)}
}

// at is t0 plus ms.
func (e *intEnv) at(ms int64) time.Time { return e.t0.Add(time.Duration(ms) * time.Millisecond) }

func (e *intEnv) add(dev string, ms int64, r *intreport.Report) {
	ref := model.DeviceRef{Source: model.SourceINT, ID: dev, Remote: "192.0.2.1"}
	e.w.Report(ref, r, e.at(ms).UnixMilli())
	e.w.FlushAll(e.at(ms).UnixMilli())
}

type tflow struct {
	src, dst     netip.Addr
	sport, dport uint16
}

func newTFlow(src string, sport uint16) tflow {
	return tflow{netip.MustParseAddr(src), netip.MustParseAddr("10.2.2.20"), sport, 443}
}

func (f tflow) id() string { return intmap.FlowID(f.src, f.dst, intreport.ProtoTCP, f.sport, f.dport) }

func (f tflow) packet() intreport.Packet {
	return intreport.Packet{IPVersion: 4, Src: f.src, Dst: f.dst, Protocol: intreport.ProtoTCP, SrcPort: f.sport, DstPort: f.dport, TTL: 60}
}

// sink is the sink's INT report over switches ids, hop i with latency
// lat·(i+1) ns, ports i+1 > i+2 and queue 0 at lat/100·(i+1).
func (f tflow) sink(lat uint32, ids ...uint32) *intreport.Report {
	r := &intreport.Report{Inner: f.packet()}
	r.Header = intreport.Header{Version: intreport.V10, NProto: 1, Kind: intreport.KindFlow, Tracked: true, HasSwitchID: true, SwitchID: ids[len(ids)-1], HwID: 1}
	r.INT = intreport.INT{Present: true, Version: 1, HopCount: len(ids)}
	for i, id := range ids {
		l := lat * uint32(i+1)
		r.Hops[i] = intreport.Hop{Present: intreport.ItemSwitchID | intreport.ItemPorts | intreport.ItemHopLatency | intreport.ItemQueue,
			SwitchID: id, IngressPort: uint16(i + 1), EgressPort: uint16(i + 2), HopLatency: l, QueueOccupancy: l / 100}
	}
	return r
}

// drop is switch id's drop report (no stack) for a packet of f.
func (f tflow) drop(id uint32, port uint16, reason uint8) *intreport.Report {
	r := &intreport.Report{Inner: f.packet()}
	r.Header = intreport.Header{Version: intreport.V10, NProto: 1, Kind: intreport.KindDrop, Dropped: true, HasSwitchID: true, SwitchID: id,
		HwID: 1, Md: intreport.MdPorts | intreport.MdDrop, IngressPort: 1, EgressPort: port, DropReason: reason}
	return r
}

// queue is switch id's congestion report of queue q at occupancy occ.
func (f tflow) queue(id uint32, q uint8, occ uint32) *intreport.Report {
	r := &intreport.Report{Inner: f.packet()}
	r.Header = intreport.Header{Version: intreport.V10, NProto: 1, Kind: intreport.KindQueue, Congested: true, HasSwitchID: true, SwitchID: id,
		HwID: 1, Md: intreport.MdPorts | intreport.MdQueue, IngressPort: 1, EgressPort: 2, QueueID: q, QueueOccupancy: occ}
	return r
}

var (
	tfA = newTFlow("10.1.1.10", 40000)
	tfB = newTFlow("10.1.1.11", 40001)
)

// fill: flow A over leaf1 > spine1 > leaf2, then over spine2, then dropped
// at spine2; flow B (slower) over spine1; queue reports of spine1.
func (e *intEnv) fill() {
	e.add("0x0000000d", 1000, tfA.sink(1000, 0xa, 0xb, 0xd))
	e.add("0x0000000d", 2000, tfB.sink(5000, 0xa, 0xb, 0xd))
	e.add("0x0000000d", 3000, tfA.sink(1100, 0xa, 0xc, 0xd))
	e.add("0x0000000c", 4000, tfA.drop(0xc, 4, 7))
	e.add("0x0000000b", 5000, tfB.queue(0xb, 3, 9000))
	e.add("0x0000000b", 6000, tfB.queue(0xb, 3, 12000))
}

func (e *intEnv) query(t testing.TB, ds *Datasource, q string) backend.DataResponse {
	t.Helper()
	return recordsQuery(t, ds, q, e.t0, e.at(60_000), time.Second)
}

// rowsText renders frame rows one line each ("-" for null), times as ms
// after t0.
func (e *intEnv) rowsText(f *data.Frame, fields ...string) []string {
	var out []string
	for i := range f.Rows() {
		var cells []string
		for _, fd := range f.Fields {
			if len(fields) > 0 && !slices.Contains(fields, fd.Name) {
				continue
			}
			v, ok := fd.ConcreteAt(i)
			switch {
			case !ok:
				cells = append(cells, "-")
			case fd.Type().Time():
				cells = append(cells, fmt.Sprint(v.(time.Time).Sub(e.t0).Milliseconds()))
			default:
				cells = append(cells, fmt.Sprint(v))
			}
		}
		out = append(out, strings.Join(cells, "|"))
	}
	return out
}

func fieldNames(f *data.Frame) string {
	var n []string
	for _, fd := range f.Fields {
		n = append(n, fd.Name)
	}
	return strings.Join(n, " ")
}

func sameLines(t testing.TB, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("%s:\n%s\nwant\n%s", what, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// The network path panel's query: flow A's newest path (spine2, where it
// was then dropped with reason 7) and its previous one (spine1), named by
// the data source's settings and, per id, by the query's own names.
func TestINTPathQueryThroughQueryData(t *testing.T) {
	e := newINTEnv(t)
	e.fill()
	ds := instance(t, e.srv, `{"intSwitchNames":"0xa=leaf1\n0xb=spine1\n0xc=spine2\n0xd=leaf2"}`)
	r := e.query(t, ds, `{"source":"int","kind":"path","flow":"`+tfA.id()+`","switchNames":"0xd=sink"}`)
	f := r.Frames[0]
	if got := fieldNames(f); got != "time flow src_addr dst_addr protocol src_port dst_port hop switch switch_id ingress_port egress_port hop_latency queue_id queue_occupancy e2e_latency dropped drop_reason path_changed" {
		t.Fatalf("fields %s", got)
	}
	sameLines(t, "flow A", e.rowsText(f, "time", "hop", "switch", "hop_latency", "e2e_latency", "dropped", "drop_reason", "path_changed"), []string{
		"3000|0|leaf1|1100|6600|false|-|true",
		"3000|1|spine2|2200|6600|true|7|true",
		"3000|2|sink|3300|6600|false|-|true",
		"1000|0|leaf1|1000|6000|false|-|false",
		"1000|1|spine1|2000|6000|false|-|false",
		"1000|2|sink|3000|6000|false|-|false",
	})
	// Without a flow: the worst end-to-end latency first (B: 30 µs).
	r = e.query(t, ds, `{"source":"int","kind":"path","topN":2}`)
	flows := e.rowsText(r.Frames[0], "flow")
	if len(flows) != 9 || flows[0] != tfB.id() || flows[3] != tfA.id() {
		t.Fatalf("top 2 flows: %v", flows)
	}
	// A query on INT while INT is off says so.
	e.srv.INTReports, e.srv.INT = nil, nil
	res := queryOne(t, instance(t, e.srv, `{}`), 1, `{"source":"int","kind":"path"}`, time.Now())
	if res.Error == nil || !strings.Contains(res.Error.Error(), "INT receiver is off") || res.Status != backend.StatusBadRequest {
		t.Fatalf("INT off: %v %v", res.Status, res.Error)
	}
}

// Drop and congestion episodes as annotations: spine2's drops of flow A
// (one report) and spine1's two queue reports a second apart, one run.
func TestINTEpisodesAreAnnotations(t *testing.T) {
	e := newINTEnv(t)
	e.fill()
	e.add("0x0000000c", 4500, tfB.drop(0xc, 4, 7))  // same run as A's drop
	e.add("0x0000000c", 40000, tfB.drop(0xc, 4, 7)) // 35.5 s later: a run of its own
	ds := instance(t, e.srv, `{"intSwitchNames":"0xb=spine1,0xc=spine2"}`)
	r := e.query(t, ds, `{"source":"int","kind":"episodes","eventTypes":["drop","congestion"]}`)
	f := r.Frames[0]
	if got := fieldNames(f); got != "time timeEnd title text tags device switch type count" {
		t.Fatalf("fields %s", got)
	}
	sameLines(t, "episodes", e.rowsText(f), []string{
		"40000|40000|spine2 drops on port 4, reason 7|1 drop reports over 0s|int,drop,spine2|0x0000000c|spine2|drop|1",
		"5000|6000|spine1 congestion on queue 3|2 queue reports over 1s, deepest queue 12000|int,congestion,spine1|0x0000000b|spine1|congestion|2",
		"4000|4500|spine2 drops on port 4, reason 7|2 drop reports over 500ms|int,drop,spine2|0x0000000c|spine2|drop|2",
	})
	r = e.query(t, ds, `{"source":"int","kind":"episodes","eventTypes":["congestion"],"filters":[{"field":"queue_id","op":"=","values":["4"]}]}`)
	if r.Frames[0].Rows() != 0 {
		t.Fatalf("filtered to queue 4: %v", e.rowsText(r.Frames[0]))
	}
	res := queryOne(t, ds, 1, `{"source":"int","kind":"episodes","eventTypes":["loss"]}`, time.Now())
	if res.Error == nil || !strings.Contains(res.Error.Error(), `unknown episode type "loss"`) {
		t.Fatalf("unknown type: %v", res.Error)
	}
}

// int_report is a records table like the others: raw rows with the switch
// name beside the device, aggregates, variable values of flow, and a
// restricted instance sees only its switches' reports.
func TestINTReportRecords(t *testing.T) {
	e := newINTEnv(t)
	e.fill()
	ds := instance(t, e.srv, `{"intSwitchNames":"0xc=spine2"}`)
	r := e.query(t, ds, `{"source":"int","kind":"records","recordKind":"int_report","columns":["time","device","type","flow"],"filters":[{"field":"type","op":"=","values":["drop","queue"]}]}`)
	f := r.Frames[0]
	if got := fieldNames(f); got != "time device switch type flow" {
		t.Fatalf("raw fields %s", got)
	}
	sameLines(t, "raw", e.rowsText(f), []string{
		"6000|0x0000000b|0x0000000b|queue|" + tfB.id(),
		"5000|0x0000000b|0x0000000b|queue|" + tfB.id(),
		"4000|0x0000000c|spine2|drop|" + tfA.id(),
	})
	r = e.query(t, ds, `{"source":"int","kind":"records","recordKind":"int_report","aggregates":[{"func":"max","field":"e2e_latency"}],"groupBy":["device","flow"],"topN":5,"switchNames":"0xd=leaf2"}`)
	sameLines(t, "aggregated", e.rowsText(r.Frames[0]), []string{
		"0x0000000d|leaf2|" + tfB.id() + "|30000",
		"0x0000000d|leaf2|" + tfA.id() + "|6600",
		// The one-hop postcard paths of the queue and drop reports.
		"0x0000000b|0x0000000b|" + tfB.id() + "|-",
		"0x0000000c|spine2|" + tfA.id() + "|-",
	})
	r = e.query(t, ds, `{"source":"int","kind":"records","recordKind":"int_report","aggregates":[{"func":"count"}],"groupBy":["device"],"bucket":"10s","switchNames":"0xd=leaf2"}`)
	var labels []string
	for _, fr := range r.Frames {
		labels = append(labels, fr.Fields[1].Labels.String())
	}
	slices.Sort(labels)
	if strings.Join(labels, " ") != "device=0x0000000b, switch=0x0000000b device=0x0000000c, switch=spine2 device=0x0000000d, switch=leaf2" {
		t.Fatalf("bucketed labels %v", labels)
	}
	r = e.query(t, ds, `{"kind":"records","recordKind":"int_report","field":"flow"}`)
	if got := e.rowsText(r.Frames[0]); len(got) != 2 || !slices.Contains(got, tfA.id()) || !slices.Contains(got, tfB.id()) {
		t.Fatalf("flow values %v", got)
	}
	restricted := instance(t, e.srv, `{"devices":["0x0000000c"]}`)
	r = e.query(t, restricted, `{"source":"int","kind":"records","columns":["device"]}`)
	// Its drop report (a lone drop report makes no postcard path).
	if got := e.rowsText(r.Frames[0], "device"); strings.Join(got, " ") != "0x0000000c" {
		t.Fatalf("restricted rows %v", got)
	}
}

// The editor and status page resources: switches with their names, flows
// by reports, 503 while INT is off.
func TestINTResources(t *testing.T) {
	e := newINTEnv(t)
	e.fill()
	ds := instance(t, e.srv, `{"intSwitchNames":"0xc=spine2, 192.0.2.7=edge"}`)
	var sws []intSwitch
	if code := get(t, ds, "int/switches", nil, &sws); code != 200 {
		t.Fatalf("int/switches status %d", code)
	}
	var got []string
	for _, s := range sws {
		got = append(got, s.Device+"="+s.Name+"/"+s.State)
	}
	if strings.Join(got, " ") != "0x0000000c=spine2/losing 0x0000000d=/ok 192.0.2.7=edge/stopped" {
		t.Fatalf("switches %v", got)
	}
	if sws[2].Drops == nil || sws[2].Versions == nil {
		t.Fatal("empty maps and lists must be {} and [], not null")
	}
	restricted := instance(t, e.srv, `{"devices":["0x0000000d"]}`)
	if get(t, restricted, "int/switches", nil, &sws); len(sws) != 1 || sws[0].Device != "0x0000000d" {
		t.Fatalf("restricted switches %v", sws)
	}

	var flows []intFlow
	params := url.Values{"from": {fmt.Sprint(e.t0.UnixMilli())}, "to": {fmt.Sprint(e.at(60_000).UnixMilli())}}
	if code := get(t, ds, "int/flows", params, &flows); code != 200 {
		t.Fatalf("int/flows status %d", code)
	}
	// A: two INT reports, a drop; B: one INT report, two queue reports.
	if len(flows) != 2 || !slices.Contains(flows, intFlow{tfB.id(), 3}) || !slices.Contains(flows, intFlow{tfA.id(), 3}) {
		t.Fatalf("flows %+v", flows)
	}
	params.Set("limit", "1")
	if get(t, ds, "int/flows", params, &flows); len(flows) != 1 {
		t.Fatalf("limit 1: %+v", flows)
	}
	params.Set("limit", "x")
	if code := get(t, ds, "int/flows", params, nil); code != 400 {
		t.Fatalf("bad limit: status %d", code)
	}

	e.srv.INTReports, e.srv.INT = nil, nil
	off := instance(t, e.srv, `{}`)
	for _, p := range []string{"int/switches", "int/flows"} {
		if code := get(t, off, p, nil, nil); code != 503 {
			t.Errorf("%s with INT off: status %d", p, code)
		}
	}
}

func TestINTHealthAndStatus(t *testing.T) {
	e := newINTEnv(t)
	ds := instance(t, e.srv, `{"intSwitchNames":"0xc=spine2,nonsense"}`)
	h := ds.health(time.Now())
	for _, want := range []string{
		`intSwitchNames: switch names: "nonsense" is not id=name`,
		"INT switch spine2 (0x0000000c) at 192.0.2.12:5000 is losing reports: 9 missing by sequence numbers; dropped 2 truncated",
		"INT switch 192.0.2.7 at 192.0.2.7:6000 stopped sending; last seen 2023-11-14T22:13:20Z",
		"INT receiver dropped datagrams: 12 queue_full, 3 not_allowed",
	} {
		if !slices.Contains(h.Warnings, want) {
			t.Errorf("warnings %q lack %q", h.Warnings, want)
		}
	}
	if !slices.Contains(h.Notes, "INT receiver on [::]:31337/udp: 2 of 3 switches sending") {
		t.Errorf("notes %q", h.Notes)
	}
	st := ds.intStatus()
	if st["enabled"] != true || st["address"] != "[::]:31337" || st["lostReports"] != uint64(9) {
		t.Errorf("status %v", st)
	}
	e.srv.INT = nil
	if h := instance(t, e.srv, `{}`).health(time.Now()); slices.ContainsFunc(append(h.Warnings, h.Notes...), func(s string) bool { return strings.Contains(s, "INT") }) {
		t.Errorf("INT off still reports %v %v", h.Warnings, h.Notes)
	}
}

// A live path panel gets flow A's next observation (back on spine1, a
// path change against what it shows) within a push, and nothing twice.
func TestINTLivePath(t *testing.T) {
	e := newINTEnv(t)
	e.fill()
	ds := instance(t, e.srv, `{"intSwitchNames":"0xb=spine1"}`)
	r := recordsQuery(t, ds, `{"source":"int","kind":"path","flow":"`+tfA.id()+`","live":true}`, e.t0, time.Now(), time.Second)
	hist := r.Frames[0]
	if hist.Meta.Channel == "" || hist.Rows() != 6 {
		t.Fatalf("live history: channel %q, %d rows", hist.Meta.Channel, hist.Rows())
	}
	c, cancel, done := subscribeAndRun(t, ds, hist.Meta.Channel)
	defer cancel()
	// The stream starts by learning what the panel shows, up to its
	// start: a report stamped a little ahead is new to it whenever the
	// goroutine gets there.
	now := time.Now().Add(2 * time.Second)
	e.w.Report(model.DeviceRef{Source: model.SourceINT, ID: "0x0000000d"}, tfA.sink(1300, 0xa, 0xb, 0xd), now.UnixMilli())
	e.w.Report(model.DeviceRef{Source: model.SourceINT, ID: "0x0000000d"}, tfB.sink(1300, 0xa, 0xb, 0xd), now.UnixMilli()) // not this panel's flow
	e.w.FlushAll(now.UnixMilli())
	select {
	case raw := <-c.frames:
		f := decodeFull(t, raw)
		if fieldNames(f) != fieldNames(hist) {
			t.Fatalf("pushed fields %s", fieldNames(f))
		}
		got := e.rowsText(f, "flow", "hop", "switch", "hop_latency", "path_changed")
		a := tfA.id()
		sameLines(t, "pushed", got, []string{a + "|0|0x0000000a|1300|true", a + "|1|spine1|2600|true", a + "|2|0x0000000d|3900|true"})
	case <-time.After(5 * time.Second):
		t.Fatal("no live frame for a new observation")
	}
	select {
	case raw := <-c.frames:
		t.Fatalf("pushed again: %s", raw)
	case <-time.After(2500 * time.Millisecond):
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// INT series are ordinary series of source int, and the metric catalog
// lists them for that source.
func TestINTSeries(t *testing.T) {
	e := newINTEnv(t)
	now := time.Now()
	write(t, e.srv, "0x0000000c",
		model.Sample{Name: "int_drops_total", Labels: model.LabelsFromPairs("device", "0x0000000c", "port", "4", "reason", "7"), TimestampMs: now.Add(-time.Minute).UnixMilli(), Value: 10, Kind: model.KindCounter},
		model.Sample{Name: "int_drops_total", Labels: model.LabelsFromPairs("device", "0x0000000c", "port", "4", "reason", "7"), TimestampMs: now.UnixMilli(), Value: 70, Kind: model.KindCounter})
	ds := instance(t, e.srv, `{}`)
	var m struct{ Metrics []struct{ Name, Kind string } }
	get(t, ds, "catalog/metrics", url.Values{"source": {"int"}}, &m)
	if len(m.Metrics) != 1 || m.Metrics[0].Name != "int_drops_total" || m.Metrics[0].Kind != "counter" {
		t.Fatalf("int metrics %v", m.Metrics)
	}
	res := queryOne(t, ds, 1, `{"source":"int","metric":"int_drops_total","matchers":[{"label":"reason","op":"=","value":"7"}],"instant":true}`, now)
	if got := lastValue(t, res); got != 70 {
		t.Fatalf("int_drops_total = %v", got)
	}
}

// INT series name their switch: a "switch" label beside "device" from the
// data source's names, overridden by the query's, which a legend can use.
func TestINTSeriesNameTheirSwitch(t *testing.T) {
	e := newINTEnv(t)
	now := time.Now()
	for _, dev := range []string{"0x0000000c", "0x0000000d"} {
		write(t, e.srv, dev, model.Sample{Name: "int_drops_total", Labels: model.LabelsFromPairs("device", dev, "port", "4", "reason", "7"),
			TimestampMs: now.UnixMilli(), Value: 5, Kind: model.KindCounter})
	}
	ds := instance(t, e.srv, `{"intSwitchNames":"0xc=spine1\n0xd=spine2"}`)
	res := queryOne(t, ds, 1, `{"source":"int","metric":"int_drops_total","legendFormat":"{{switch}} port {{port}}","switchNames":"0xd=spine-b","instant":true}`, now)
	if res.Error != nil {
		t.Fatal(res.Error)
	}
	var got []string
	for _, f := range res.Frames {
		for _, fd := range f.Fields {
			if dev, ok := fd.Labels["device"]; ok {
				got = append(got, dev+" "+fd.Labels["switch"]+" "+fd.Config.DisplayNameFromDS)
			}
		}
	}
	slices.Sort(got)
	sameLines(t, "series", got, []string{"0x0000000c spine1 spine1 port 4", "0x0000000d spine-b spine-b port 4"})
}

// A live top N panel opened before any report follows the flows that
// arrive, and pushes them whole since it showed nothing.
func TestINTLivePathTopNBeforeTheFirstReport(t *testing.T) {
	old := pathReselect
	pathReselect = time.Second
	defer func() { pathReselect = old }()
	e := newINTEnv(t)
	ds := instance(t, e.srv, `{}`)
	r := recordsQuery(t, ds, `{"source":"int","kind":"path","topN":5,"live":true}`, time.Now().Add(-time.Hour), time.Now(), time.Second)
	hist := r.Frames[0]
	if hist.Meta.Channel == "" || hist.Rows() != 0 || len(hist.Fields) != 19 {
		t.Fatalf("live history: channel %q, %d rows, %d fields", hist.Meta.Channel, hist.Rows(), len(hist.Fields))
	}
	c, cancel, done := subscribeAndRun(t, ds, hist.Meta.Channel)
	defer cancel()
	now := time.Now()
	e.w.Report(model.DeviceRef{Source: model.SourceINT, ID: "0x0000000d"}, tfA.sink(1000, 0xa, 0xb, 0xd), now.UnixMilli())
	e.w.FlushAll(now.UnixMilli())
	select {
	case raw := <-c.frames:
		f := decodeFull(t, raw)
		sameLines(t, "pushed", e.rowsText(f, "flow", "hop", "switch"), []string{
			tfA.id() + "|0|0x0000000a", tfA.id() + "|1|0x0000000b", tfA.id() + "|2|0x0000000d"})
	case <-time.After(5 * time.Second):
		t.Fatal("no live frame for the first flow")
	}
	// Its next observation follows as any other (a later millisecond: a
	// stream takes a flow's rows after the newest time it pushed).
	now = now.Add(50 * time.Millisecond)
	e.w.Report(model.DeviceRef{Source: model.SourceINT, ID: "0x0000000d"}, tfA.sink(1000, 0xa, 0xc, 0xd), now.UnixMilli())
	e.w.FlushAll(now.UnixMilli())
	select {
	case raw := <-c.frames:
		// Same fields as the first push: data only.
		var p struct {
			Schema *json.RawMessage
			Data   struct{ Values [][]any }
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			t.Fatal(err)
		}
		if p.Schema != nil || len(p.Data.Values) != 19 || len(p.Data.Values[0]) != 3 {
			t.Fatalf("second push: %s", raw)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no live frame for the next observation")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// Live raw int_report rows carry the switch names in the history and in
// every push alike, so the panel's buffer keeps one schema.
func TestINTLiveRecordsKeepTheSwitchColumn(t *testing.T) {
	e := newINTEnv(t)
	e.fill()
	ds := instance(t, e.srv, `{"intSwitchNames":"0xc=spine2"}`)
	q := `{"source":"int","kind":"records","recordKind":"int_report","columns":["time","device","type"],"filters":[{"field":"type","op":"=","values":["drop"]}],"live":true}`
	r := recordsQuery(t, ds, q, e.t0, time.Now(), time.Second)
	hist := r.Frames[0]
	if fieldNames(hist) != "time device switch type" || hist.Rows() != 1 || hist.Meta.Channel == "" {
		t.Fatalf("history: %s, %d rows", fieldNames(hist), hist.Rows())
	}
	c, cancel, done := subscribeAndRun(t, ds, hist.Meta.Channel)
	defer cancel()
	time.Sleep(2 * recordsPoll)
	now := time.Now()
	e.w.Report(model.DeviceRef{Source: model.SourceINT, ID: "0x0000000c"}, tfB.drop(0xc, 4, 9), now.UnixMilli())
	e.w.FlushAll(now.UnixMilli())
	select {
	case raw := <-c.frames:
		f := decodeFull(t, raw)
		sameLines(t, "pushed", e.rowsText(f, "device", "switch", "type"), []string{"0x0000000c|spine2|drop"})
		if fieldNames(f) != fieldNames(hist) {
			t.Fatalf("pushed fields %s", fieldNames(f))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no live frame for a new drop report")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
