package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"

	"github.com/netlens/netlens/pkg/pipeline/intmap"
	"github.com/netlens/netlens/pkg/sim/intsim"
)

// TestBinaryServesSimulatedINT: four simulated leaf-spine INT domains send
// to the plugin binary's INT listener on loopback, one per way switches
// can: INT mode with report v0.5 and with v1.0 (IPv6 flows too), postcard
// mode with v0.5 (its clocks wrapping inside one flow's last path) and with
// v1.0; all with drops and deliberately lost reports, the v1.0 ones with
// congestion (queue reports, tail drops). Through QueryData: int_report
// rows grouped by switch and type equal the simulators' exact totals, and
// each packet reported without an INT stack has its postcard-path row; raw
// drop rows equal the drops sent by switch, ports and reason, queue rows the
// queue reports by switch, port and queue; each flow's path is one of its
// last observations exactly (switches in order, named from the settings and
// the query, ports, hop latency, queue, end-to-end latency, the drop at its
// hop; a congested switch's queue report and postcard one hop), the
// wrapped flow's its last; top N paths; drop and congestion
// episodes add up to the drop and queue reports sent; the int_* series
// equal the totals. GET int/switches gives each switch's reports and lost
// reports. Through RunStream, a live records channel and a live path
// channel keep delivering while a fifth domain keeps sending.
func TestBinaryServesSimulatedINT(t *testing.T) {
	start := time.Now()
	dir := t.TempDir()
	p := startPlugin(t, map[string]string{
		"GF_PLUGIN_DATA_DIR":               dir,
		"GF_PLUGIN_FTD_LISTEN_ADDRESS":     "off",
		"GF_PLUGIN_INT_UDP_LISTEN_ADDRESS": "127.0.0.1:0",
		"GF_PLUGIN_RECORDS_MAX_BYTES":      "64MB",
	})
	target := p.listener(t, "int-udp")

	// Congested domains fill queues now and then (tail drops at the limit,
	// queue reports above the threshold); the others only drop at random.
	domain := func(mode intsim.Mode, v intsim.Version, seed uint64, v6 float64, congested bool) intsim.DomainConfig {
		every := time.Duration(-1)
		if congested {
			every = 300 * time.Millisecond
		}
		return intsim.DomainConfig{Spines: 2, Leaves: 4, HostsPerLeaf: 4, Flows: 16, Mode: mode, Encoding: intsim.Encoding{Version: v},
			IPv6Share: v6, DropRate: 0.02, LossRate: 0.01, CongestionEvery: every, CongestionFor: 100 * time.Millisecond, Seed: seed}
	}
	const count, rate = 3000, 6000
	runs := []*intRun{
		newINTRun(t, "int05", target, 41, domain(intsim.ModeINT, intsim.V05, 41, 0, false), count, rate, false),
		newINTRun(t, "int10", target, 42, domain(intsim.ModeINT, intsim.V10, 42, 0.3, true), count, rate, false),
		// Postcards v0.5 carry no hop latency: the collector takes it from
		// the ingress and egress timestamps modulo 2^32.
		newINTRun(t, "pc05", target, 43, domain(intsim.ModePostcard, intsim.V05, 43, 0, false), count, rate, true),
		newINTRun(t, "pc10", target, 44, domain(intsim.ModePostcard, intsim.V10, 44, 0.3, true), count, rate, false),
	}
	seen := map[uint32]string{}
	for _, r := range runs {
		for id := range r.names {
			if other, dup := seen[id]; dup {
				t.Fatalf("switch id %s is in %s and %s: pick other seeds", intDevice(id), other, r.name)
			}
			seen[id] = r.name
		}
	}

	// The first domain's switches are named in the data source's settings
	// (decimal ids); its queries rename one leaf, as a dashboard variable
	// would.
	r0 := runs[0]
	settingsNames := maps.Clone(r0.names)
	var lines []string
	for id, n := range settingsNames {
		lines = append(lines, fmt.Sprintf("%d=%s", id, n))
	}
	renamed := r0.sim.Domain().Topo.Switches[3].ID
	r0.names[renamed] = "int05-renamed"
	r0.queryNames = intDevice(renamed) + "=int05-renamed"
	jsonData, _ := json.Marshal(map[string]string{"intSwitchNames": strings.Join(lines, "\n")})
	p.pctx.DataSourceInstanceSettings.JSONData = jsonData
	p.pctx.DataSourceInstanceSettings.Updated = time.Unix(2, 0)
	if h := p.checkHealth(t); h.Status != backend.HealthStatusOk {
		t.Fatalf("health = %v: %s", h.Status, h.Message)
	}

	var wg sync.WaitGroup
	for _, r := range runs {
		wg.Go(func() { r.run(t) })
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	for _, r := range runs {
		congested := r.sim.Config().Domain.CongestionEvery > 0
		if r.tot.Kind(intsim.KindDrop) == 0 || (r.tot.Kind(intsim.KindQueue) == 0) == congested || r.tot.GapTotal() == 0 {
			t.Fatalf("%s (congested %v) sent %d drop and %d queue reports and lost %d", r.name, congested,
				r.tot.Kind(intsim.KindDrop), r.tot.Kind(intsim.KindQueue), r.tot.GapTotal())
		}
	}
	for _, r := range runs {
		r.checkReplay(t)
	}
	wr := runs[2]
	if obs := wr.observations()[wr.wrapFlow]; len(obs) == 0 || len(obs[len(obs)-1].hops) != 3 || obs[len(obs)-1].dropped ||
		obs[len(obs)-1].hops[0].EgressTS >= obs[len(obs)-1].hops[0].IngressTS || wr.tot.Wrapped == 0 {
		t.Fatalf("%s: flow %d's last path should be 3 hops with the clock wrapped in the first", wr.name, wr.wrapFlow)
	}

	from := start.Add(-time.Minute)
	to := func() time.Time { return time.Now().Add(time.Minute) }
	ask := func(t *testing.T, r *intRun, q map[string]any) *data.Frame {
		t.Helper()
		q["refId"], q["source"] = "A", "int"
		if _, ok := q["filters"]; !ok {
			q["filters"] = r.deviceFilter()
		}
		q["switchNames"] = r.queryNames
		return frameOf(t, p.queryData(t, q, from, to()))
	}

	// The grouped count by switch and type is what each switch sent
	// (postcards and local reports are both "flow").
	byType := func(t *testing.T, r *intRun) (map[string]uint64, *data.Frame) {
		f := ask(t, r, map[string]any{"kind": "records", "recordKind": "int_report",
			"groupBy": []string{"device", "type"}, "aggregates": []map[string]string{{"func": "count"}}})
		got := map[string]uint64{}
		dev, typ, n := field(t, f, "device"), field(t, f, "type"), field(t, f, "count()")
		for i := range f.Rows() {
			v, _ := num(n, i)
			got[cell(dev, i)+" "+cell(typ, i)] = uint64(v)
		}
		return got, f
	}
	// Every report is a row; a packet its switches reported by themselves
	// (postcards, local, queue and drop reports without an INT stack) is
	// one more row, postcard-path, once the joiner's window has passed (a
	// congested switch's queue report and postcard make one hop of it).
	// Such packets of a flow with a packet identity (IPv4's id, TCP's
	// sequence number) are one path each, or more when their reports reach
	// the collector further apart than its joiner's window (a loaded
	// machine: the simulators' and the receiver's sockets lag unevenly);
	// those of an IPv6 flow without TCP make one path at least (packets
	// within the window merge). Every query below waits for all of them.
	pathsByFlow := func(t *testing.T, r *intRun) map[string]uint64 {
		f := ask(t, r, map[string]any{"kind": "records", "recordKind": "int_report", "groupBy": []string{"flow"},
			"aggregates": []map[string]string{{"func": "count"}},
			"filters":    append(r.deviceFilter(), map[string]any{"field": "type", "op": "=", "values": []string{"postcard-path"}})})
		got := map[string]uint64{}
		flow, n := field(t, f, "flow"), field(t, f, "count()")
		for i := range f.Rows() {
			v, _ := num(n, i)
			got[cell(flow, i)] = uint64(v)
		}
		return got
	}
	stored := map[*intRun]*data.Frame{}
	for _, r := range runs {
		want, wantPaths := r.sentByType(), r.joinedByFlow()
		var got, paths map[string]uint64
		eventually(t, r.name+"'s reports stored", 20*time.Second, func() (bool, string) {
			got, stored[r] = byType(t, r)
			for k := range got {
				if strings.HasSuffix(k, " postcard-path") {
					delete(got, k)
				}
			}
			paths = pathsByFlow(t, r)
			all := true
			for id, n := range wantPaths {
				all = all && (paths[id] >= n || !r.hasIdentity(id) && paths[id] >= 1)
			}
			return maps.Equal(got, want) && all, fmt.Sprintf("stored %v and postcard paths by flow %v, sent %v and packets reported without INT by flow %v", got, paths, want, wantPaths)
		})
		for id, n := range paths {
			if wantPaths[id] == 0 {
				t.Errorf("%s: flow %s has %d postcard-path rows, none of its packets was reported without an INT stack", r.name, id, n)
			}
		}
	}

	t.Run("grouped rows named", func(t *testing.T) {
		for _, r := range runs {
			f := stored[r]
			sw := field(t, f, "switch")
			for i := range f.Rows() {
				id, _ := strconv.ParseUint(strings.TrimPrefix(cell(field(t, f, "device"), i), "0x"), 16, 32)
				if name := cell(sw, i); name != r.names[uint32(id)] {
					t.Errorf("%s: row of %s named %q, want %q", r.name, cell(field(t, f, "device"), i), name, r.names[uint32(id)])
				}
			}
		}
	})

	t.Run("raw drop reports", func(t *testing.T) {
		for _, r := range runs {
			f := ask(t, r, map[string]any{"kind": "records", "recordKind": "int_report", "limit": 5000,
				"columns": []string{"time", "device", "type", "ingress_port", "egress_port", "drop_reason", "flow"},
				"filters": append(r.deviceFilter(), map[string]any{"field": "type", "op": "=", "values": []string{"drop"}})})
			got := map[intsim.DropKey]uint64{}
			dev, sw, flow := field(t, f, "device"), field(t, f, "switch"), field(t, f, "flow")
			in, out, reason := field(t, f, "ingress_port"), field(t, f, "egress_port"), field(t, f, "drop_reason")
			flows := map[string]bool{}
			for i := range r.sim.Domain().Flows {
				flows[r.flowID(i)] = true
			}
			for i := range f.Rows() {
				id, _ := strconv.ParseUint(strings.TrimPrefix(cell(dev, i), "0x"), 16, 32)
				a, _ := num(in, i)
				b, _ := num(out, i)
				c, _ := num(reason, i)
				got[intsim.DropKey{Switch: uint32(id), IngressPort: uint16(a), EgressPort: uint16(b), Reason: uint8(c)}]++
				if cell(sw, i) != r.names[uint32(id)] {
					t.Errorf("%s: drop row of %s named %q", r.name, cell(dev, i), cell(sw, i))
				}
				if !flows[cell(flow, i)] {
					t.Errorf("%s: drop row of flow %q, not one the domain has", r.name, cell(flow, i))
				}
			}
			if !maps.Equal(got, r.tot.Drops) {
				t.Errorf("%s: drop rows by switch, ports and reason %v, sent %v", r.name, got, r.tot.Drops)
			}
		}
	})

	t.Run("queue reports by port and queue", func(t *testing.T) {
		for _, r := range runs {
			f := ask(t, r, map[string]any{"kind": "records", "recordKind": "int_report",
				"groupBy": []string{"device", "egress_port", "queue_id"}, "aggregates": []map[string]string{{"func": "count"}},
				"filters": append(r.deviceFilter(), map[string]any{"field": "type", "op": "=", "values": []string{"queue"}})})
			got := map[intsim.QueueKey]uint64{}
			dev, port, queue, n := field(t, f, "device"), field(t, f, "egress_port"), field(t, f, "queue_id"), field(t, f, "count()")
			for i := range f.Rows() {
				id, _ := strconv.ParseUint(strings.TrimPrefix(cell(dev, i), "0x"), 16, 32)
				pt, _ := strconv.Atoi(cell(port, i))
				q, _ := strconv.Atoi(cell(queue, i))
				v, _ := num(n, i)
				got[intsim.QueueKey{Switch: uint32(id), Port: uint16(pt), Queue: uint8(q)}] = uint64(v)
			}
			if !maps.Equal(got, r.tot.Queues) {
				t.Errorf("%s: queue rows by switch, port and queue %v, sent %v", r.name, got, r.tot.Queues)
			}
		}
	})

	t.Run("path", func(t *testing.T) {
		for _, r := range runs {
			checkINTPaths(t, r, ask)
		}
	})

	t.Run("path top N", func(t *testing.T) {
		for _, r := range runs {
			f := ask(t, r, map[string]any{"kind": "path", "topN": 5})
			flows := map[string]bool{}
			for _, o := range observations(t, f) {
				flows[o.flow] = true
			}
			if len(flows) != 5 {
				t.Errorf("%s: top 5 paths have %d flows: %v", r.name, len(flows), slices.Collect(maps.Keys(flows)))
			}
		}
	})

	t.Run("episodes", func(t *testing.T) {
		for _, r := range runs {
			f := ask(t, r, map[string]any{"kind": "episodes", "eventTypes": []string{"drop", "congestion"}})
			for _, name := range []string{"time", "timeEnd", "title", "text", "tags", "device", "switch", "type", "count"} {
				field(t, f, name)
			}
			tm, end, title, dev, sw, typ, n := field(t, f, "time"), field(t, f, "timeEnd"), field(t, f, "title"),
				field(t, f, "device"), field(t, f, "switch"), field(t, f, "type"), field(t, f, "count")
			got := map[string]uint64{}
			for i := range f.Rows() {
				id, _ := strconv.ParseUint(strings.TrimPrefix(cell(dev, i), "0x"), 16, 32)
				v, _ := num(n, i)
				got[cell(dev, i)+" "+cell(typ, i)] += uint64(v)
				a, _ := tm.ConcreteAt(i)
				b, _ := end.ConcreteAt(i)
				if cell(sw, i) != r.names[uint32(id)] || cell(title, i) == "" || b.(time.Time).Before(a.(time.Time)) {
					t.Errorf("%s: episode %d: switch %q (want %q), title %q, from %v to %v", r.name, i, cell(sw, i), r.names[uint32(id)], cell(title, i), a, b)
				}
			}
			want := map[string]uint64{}
			for k, v := range r.tot.Drops {
				want[intDevice(k.Switch)+" drop"] += v
			}
			for k, v := range r.tot.Queues {
				want[intDevice(k.Switch)+" congestion"] += v
			}
			if !maps.Equal(got, want) {
				t.Errorf("%s: episodes' reports by switch and type %v, sent %v", r.name, got, want)
			}
		}
	})

	t.Run("switches resource", func(t *testing.T) {
		var list []struct {
			Device      string
			Name        string
			Reports     map[string]uint64
			LostReports uint64
		}
		p.resource(t, "int/switches", &list)
		got := map[string]map[string]uint64{}
		lost, names := map[string]uint64{}, map[string]string{}
		for _, s := range list {
			if got[s.Device] == nil {
				got[s.Device] = map[string]uint64{}
			}
			for typ, n := range s.Reports {
				if n > 0 {
					got[s.Device][typ] += n
				}
			}
			lost[s.Device] += s.LostReports
			names[s.Device] = s.Name
		}
		for _, r := range runs {
			want := map[string]map[string]uint64{}
			for k, n := range r.sentByType() {
				dev, typ, _ := strings.Cut(k, " ")
				if want[dev] == nil {
					want[dev] = map[string]uint64{}
				}
				want[dev][typ] = n
			}
			gaps := map[string]uint64{}
			for k, n := range r.tot.Gaps {
				gaps[intDevice(k.Switch)] += n
			}
			for _, dev := range r.devices() {
				if !maps.Equal(got[dev], want[dev]) || lost[dev] != gaps[dev] {
					t.Errorf("%s: switch %s: reports %v and %d lost, sent %v and skipped %d", r.name, dev, got[dev], lost[dev], want[dev], gaps[dev])
				}
			}
		}
		for id, n := range settingsNames {
			if names[intDevice(id)] != n {
				t.Errorf("switch %s named %q on int/switches, settings say %q", intDevice(id), names[intDevice(id)], n)
			}
		}
	})

	t.Run("live", func(t *testing.T) { checkINTLive(t, p, target, ask) })

	// The series, written every 10 s: counts by type, drops by port and
	// reason, and the receiver's lost reports per switch.
	t.Run("series", func(t *testing.T) {
		var devs []string
		for _, r := range runs {
			devs = append(devs, r.devices()...)
		}
		sel := `{device=~"` + strings.Join(devs, "|") + `"}`
		wantReports, wantDrops, wantLost := map[string]float64{}, map[string]float64{}, map[string]float64{}
		for _, r := range runs {
			for k, n := range r.sentByType() {
				wantReports[k] = float64(n)
			}
			for k, n := range r.tot.Drops {
				wantDrops[fmt.Sprintf("%s %d %d", intDevice(k.Switch), k.EgressPort, k.Reason)] += float64(n)
			}
			for k, n := range r.tot.Gaps {
				wantLost[intDevice(k.Switch)] += float64(n)
			}
		}
		instant := func(expr string, labels ...string) map[string]float64 {
			res := p.queryData(t, map[string]any{"refId": "A", "source": "int", "kind": "series", "editorMode": "code",
				"expr": expr, "instant": true}, time.Now().Add(-time.Minute), time.Now())
			return seriesValues(t, res, labels...)
		}
		for _, c := range []struct {
			expr   string
			labels []string
			want   map[string]float64
		}{
			{"sum by (device, type) (int_reports_total" + sel + ")", []string{"device", "type"}, wantReports},
			{"sum by (device, port, reason) (int_drops_total" + sel + ")", []string{"device", "port", "reason"}, wantDrops},
			{"sum by (device) (int_switch_lost_reports_total" + sel + ")", []string{"device"}, wantLost},
		} {
			eventually(t, c.expr, 30*time.Second, func() (bool, string) {
				got := instant(c.expr, c.labels...)
				return maps.Equal(got, c.want), fmt.Sprintf("got %v, sent %v", got, c.want)
			})
		}
	})
}

// intRecent is how many of a flow's last observations the path query may
// show: the newest by arrival time is not always the last packet sent, as
// switches' reports reach the collector in batches of their own.
const intRecent = 8

// checkINTPaths asks for the paths of a run's flows and compares each with
// the flow's last observations as the simulator sent them: the path shown
// must be one of them exactly (switches in order with their names, ports,
// hop latency, queue, end-to-end latency, the drop at its hop); the flow
// whose clocks wrapped must show its last packet. A drop marked on an INT
// path must be one the flow had there.
func checkINTPaths(t *testing.T, r *intRun, ask func(*testing.T, *intRun, map[string]any) *data.Frame) {
	t.Helper()
	d := r.sim.Domain()
	cands := r.observations()
	var ids []string
	want := map[string]int{} // flow id → flow index
	for fi, obs := range cands {
		f := &d.Flows[fi]
		switch {
		case len(obs) == 0:
			continue
		// Switch reports (postcards, local and queue reports) of an IPv6
		// packet without a TCP sequence number have nothing that tells one
		// packet from the next of its flow: the joiner merges them within
		// its window (intreport.Joiner), so their hops need not be one
		// packet's.
		case !obs[len(obs)-1].int && f.SrcAddr.Is6() && f.Proto != 6:
			continue
		}
		ids = append(ids, r.flowID(fi))
		want[r.flowID(fi)] = fi
	}
	if len(ids) == 0 {
		return
	}
	sel, _ := json.Marshal(ids)
	fr := ask(t, r, map[string]any{"kind": "path", "flow": string(sel)})
	names := []string{"time", "flow", "src_addr", "dst_addr", "protocol", "src_port", "dst_port", "hop", "switch", "switch_id",
		"ingress_port", "egress_port", "hop_latency", "queue_id", "queue_occupancy", "e2e_latency", "dropped", "drop_reason", "path_changed"}
	if len(fr.Fields) != len(names) {
		t.Errorf("%s: path frame fields %d, want exactly %v", r.name, len(fr.Fields), names)
	}
	for _, n := range names {
		field(t, fr, n)
	}
	for _, n := range []string{"hop_latency", "e2e_latency"} {
		if c := field(t, fr, n).Config; c == nil || c.Unit != "ns" {
			t.Errorf("%s: %s has field config %+v, want unit ns", r.name, n, c)
		}
	}
	newest := newestObs(observations(t, fr))
	if len(newest) != len(ids) {
		t.Errorf("%s: paths of %d flows, %d asked for", r.name, len(newest), len(ids))
	}
	exact, drops := 0, 0
	for id, fi := range want {
		o, ok := newest[id]
		if !ok {
			t.Errorf("%s: no path for flow %s", r.name, id)
			continue
		}
		shown := pathRows(fr, o)
		obs := cands[fi]
		recent := obs[max(0, len(obs)-intRecent):]
		match := -1
		for k := len(recent) - 1; k >= 0 && match < 0; k-- {
			if r.sameObservation(shown, recent[k], fi) {
				match = k
			}
		}
		if match < 0 {
			var sent []string
			for _, w := range recent {
				sent = append(sent, w.String())
			}
			t.Errorf("%s: flow %s shows %s; its last %d observations sent were, oldest first:\n\t%s",
				r.name, id, shownString(shown), len(recent), strings.Join(sent, "\n\t"))
			continue
		}
		if fi == r.wrapFlow && match != len(recent)-1 {
			t.Errorf("%s: flow %s, whose clock wrapped in its last packet, shows an earlier one: %s", r.name, id, shownString(shown))
		}
		if match == len(recent)-1 {
			exact++
		}
		for _, h := range shown {
			if h.dropped {
				drops++
			}
		}
	}
	t.Logf("%s: %d paths as sent, %d of them the flow's last; %d drops shown at their hop", r.name, len(want), exact, drops)
}

// shownHop is one row of a path frame.
type shownHop struct {
	hop, switchID, in, out, latency, queue, occupancy, e2e int64 // -1: null
	name, reason                                           string
	dropped                                                bool
	src, dst, proto, sport, dport                          string
}

// pathRows reads observation o's rows.
func pathRows(f *data.Frame, o pathObs) []shownHop {
	v := func(name string, i int) int64 {
		fl, _ := f.FieldByName(name)
		x, ok := num(fl, i)
		if !ok {
			return -1
		}
		return int64(x)
	}
	c := func(name string, i int) string {
		fl, _ := f.FieldByName(name)
		return cell(fl, i)
	}
	var out []shownHop
	for _, i := range o.rows {
		dropped, _ := f.FieldByName("dropped")
		out = append(out, shownHop{
			hop: v("hop", i), switchID: v("switch_id", i), in: v("ingress_port", i), out: v("egress_port", i),
			latency: v("hop_latency", i), queue: v("queue_id", i), occupancy: v("queue_occupancy", i), e2e: v("e2e_latency", i),
			name: c("switch", i), reason: c("drop_reason", i), dropped: boolAt(dropped, i),
			src: c("src_addr", i), dst: c("dst_addr", i), proto: c("protocol", i), sport: c("src_port", i), dport: c("dst_port", i),
		})
	}
	return out
}

func shownString(hops []shownHop) string {
	var b strings.Builder
	for _, h := range hops {
		fmt.Fprintf(&b, "[%s in %d out %d lat %d q %d occ %d e2e %d", intDevice(uint32(h.switchID)), h.in, h.out, h.latency, h.queue, h.occupancy, h.e2e)
		if h.dropped {
			fmt.Fprintf(&b, " dropped %s", h.reason)
		}
		b.WriteString("] ")
	}
	return b.String()
}

// sameObservation reports whether the rows shown are observation w of flow
// fi as sent. An INT path may carry a drop the flow had later at one of its
// switches.
func (r *intRun) sameObservation(shown []shownHop, w intWant, fi int) bool {
	if len(shown) != len(w.hops) {
		return false
	}
	f := &r.sim.Domain().Flows[fi]
	var sport, dport string
	if f.Proto == 6 || f.Proto == 17 {
		sport, dport = strconv.Itoa(int(f.SrcPort)), strconv.Itoa(int(f.DstPort))
	}
	e2e := int64(w.hops[len(w.hops)-1].EgressTS - w.hops[0].IngressTS)
	for k, s := range shown {
		h := w.hops[k]
		got := []int64{s.hop, s.switchID, s.in, s.out, s.latency, s.queue, s.occupancy, s.e2e}
		exp := []int64{int64(k), int64(h.SwitchID), int64(h.IngressPort), int64(h.EgressPort), int64(h.HopLatency), int64(h.QueueID), int64(h.QueueOccupancy), e2e}
		// A drop report carries ports and the reason, no latency or queue;
		// without the drop hop's egress time the path has no end-to-end
		// latency.
		atDrop := w.dropped && k == len(w.hops)-1
		if w.dropped {
			got, exp = got[:7], exp[:7]
		}
		if atDrop {
			got, exp = got[:4], exp[:4]
		}
		if !slices.Equal(got, exp) || s.name != r.names[h.SwitchID] ||
			!slices.Equal([]string{s.src, s.dst, s.proto, s.sport, s.dport}, []string{f.SrcAddr.String(), f.DstAddr.String(), intmap.ProtocolName(f.Proto), sport, dport}) {
			return false
		}
		switch {
		case atDrop:
			if !s.dropped || s.reason != strconv.Itoa(int(w.reason)) {
				return false
			}
		case s.dropped:
			// A drop reported after the flow's newest path marks its switch
			// on that path: it must be a drop the flow really had there.
			if !r.droppedAt(fi, h.SwitchID, s.reason) {
				return false
			}
		case s.reason != "":
			return false
		}
	}
	return true
}

// droppedAt reports whether flow fi had a packet dropped at switch id for
// reason.
func (r *intRun) droppedAt(fi int, id uint32, reason string) bool {
	for _, p := range r.packets {
		for _, rep := range p.reports {
			if p.flow == fi && rep.Kind == intsim.KindDrop && rep.SwitchID == id && strconv.Itoa(int(rep.Reason)) == reason {
				return true
			}
		}
	}
	return false
}

// checkINTLive opens a live records channel and a live path channel on a
// fifth domain, starts it, and reads from each RunStream two pushes of
// newer data while the domain keeps sending.
func checkINTLive(t *testing.T, p *pluginProcess, target string, ask func(*testing.T, *intRun, map[string]any) *data.Frame) {
	r := newINTRun(t, "live", target, 45, intsim.DomainConfig{Spines: 2, Leaves: 4, HostsPerLeaf: 4, Flows: 4, Mode: intsim.ModeINT,
		DropRate: -1, LossRate: -1, CongestionEvery: -1, Seed: 45}, 0, 200, false)
	d := r.sim.Domain()
	fi := -1
	var wantPath []string
	for i := range d.Flows {
		f := &d.Flows[i]
		s := d.SpineFor(i, 0) // no spine goes down in this domain: the path stays
		if s < 0 || f.Proto != 6 && f.Proto != 17 {
			continue
		}
		fi = i
		wantPath = []string{intDevice(d.Topo.Switches[d.Topo.Hosts[f.Src].Leaf].ID), intDevice(d.Topo.Switches[s].ID),
			intDevice(d.Topo.Switches[d.Topo.Hosts[f.Dst].Leaf].ID)}
		break
	}
	if fi < 0 {
		t.Fatal("the live domain has no TCP or UDP flow across the fabric: pick another seed")
	}
	flow := r.flowID(fi)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	recs := p.openStream(t, ctx, ask(t, r, map[string]any{"kind": "records", "recordKind": "int_report",
		"columns": []string{"time", "device", "type", "flow"}, "limit": 100, "live": true}))
	paths := p.openStream(t, ctx, ask(t, r, map[string]any{"kind": "path", "flow": flow, "live": true}))
	time.Sleep(time.Second) // the streams subscribe to the hub

	simCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := r.sim.Run(simCtx); err != nil {
			t.Errorf("live domain: %v", err)
		}
	})
	defer func() {
		stop()
		wg.Wait()
	}()

	devices := map[string]bool{}
	for _, dev := range r.devices() {
		devices[dev] = true
	}
	var after time.Time
	for n := range 2 {
		after = recs.next(t, "live records", func(f *data.Frame) (time.Time, bool) {
			dev, tm := field(t, f, "device"), field(t, f, "time")
			var newest time.Time
			for i := range f.Rows() {
				if !devices[cell(dev, i)] {
					t.Fatalf("live records pushed a row of %s, not of the live domain", cell(dev, i))
				}
				v, _ := tm.ConcreteAt(i)
				if ts, _ := v.(time.Time); ts.After(newest) {
					newest = ts
				}
			}
			return newest, f.Rows() > 0 && (n == 0 || newest.After(after))
		})
	}

	after = time.Time{}
	for n := range 2 {
		after = paths.next(t, "live path", func(f *data.Frame) (time.Time, bool) {
			if f.Rows() == 0 {
				return time.Time{}, false
			}
			o, ok := newestObs(observations(t, f))[flow]
			if !ok {
				t.Fatalf("live path pushed flows other than %s", flow)
			}
			var got []string
			for _, i := range o.rows {
				v, _ := num(field(t, f, "switch_id"), i)
				got = append(got, intDevice(uint32(v)))
				id := uint32(v)
				if name := cell(field(t, f, "switch"), i); name != r.names[id] {
					t.Errorf("live path: switch %s named %q, want %q", intDevice(id), name, r.names[id])
				}
			}
			if !slices.Equal(got, wantPath) {
				t.Fatalf("live path of %s: %v, the flow goes %v", flow, got, wantPath)
			}
			return o.time, n == 0 || o.time.After(after)
		})
	}
}

// openStream subscribes to the channel a live query answered with and runs
// its stream, as Grafana does for a browser.
func (p *pluginProcess) openStream(t *testing.T, ctx context.Context, hist *data.Frame) *liveStream {
	t.Helper()
	if hist.Meta == nil || !strings.HasPrefix(hist.Meta.Channel, "ds/netlens/") {
		t.Fatalf("live query gave no channel: %+v", hist.Meta)
	}
	path := hist.Meta.Channel[len("ds/netlens/"):]
	sub, err := p.stream.SubscribeStream(ctx, backend.ToProto().SubscribeStreamRequest(&backend.SubscribeStreamRequest{PluginContext: p.pctx, Path: path}))
	if err != nil || sub.Status != pluginv2.SubscribeStreamResponse_OK {
		t.Fatalf("SubscribeStream %s: %v %v", path, sub, err)
	}
	rs, err := p.stream.RunStream(ctx, backend.ToProto().RunStreamRequest(&backend.RunStreamRequest{PluginContext: p.pctx, Path: path}))
	if err != nil {
		t.Fatal(err)
	}
	return &liveStream{rs: rs}
}

// liveStream reads a RunStream as Grafana does: a push carries the frame's
// schema only when it changed, else only its values.
type liveStream struct {
	rs     pluginv2.Stream_RunStreamClient
	schema json.RawMessage
}

// next reads frames until accept takes one; the stream's context bounds
// the wait.
func (l *liveStream) next(t *testing.T, what string, accept func(*data.Frame) (time.Time, bool)) time.Time {
	t.Helper()
	for {
		pkt, err := l.rs.Recv()
		if err != nil {
			t.Fatalf("%s: RunStream delivered nothing more: %v", what, err)
		}
		var parts struct {
			Schema json.RawMessage `json:"schema"`
			Data   json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(pkt.Data, &parts); err != nil {
			t.Fatalf("%s: pushed packet is not JSON: %v", what, err)
		}
		if parts.Schema != nil {
			l.schema = parts.Schema
		}
		if l.schema == nil {
			t.Fatalf("%s: a push without a schema came first: %s", what, pkt.Data)
		}
		// The SDK reads a frame's schema before its data.
		whole := append(append([]byte(`{"schema":`), l.schema...), '}')
		if parts.Data != nil {
			whole = append(append(append(whole[:len(whole)-1], `,"data":`...), parts.Data...), '}')
		}
		var f data.Frame
		if err := f.UnmarshalJSON(whole); err != nil {
			t.Fatalf("%s: pushed packet is not a frame: %v: %.300s", what, err, pkt.Data)
		}
		if ts, ok := accept(&f); ok {
			return ts
		}
	}
}

// eventually polls cond until it holds; after timeout it fails with cond's
// last word on why not.
func eventually(t *testing.T, what string, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s, %s: %s", timeout, what, why)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// seriesValues reads an instant query's series into their last values,
// keyed by the given labels' values joined with spaces; zeros are left out.
func seriesValues(t *testing.T, res *backend.QueryDataResponse, labels ...string) map[string]float64 {
	t.Helper()
	r := res.Responses["A"]
	if r.Error != nil {
		t.Fatalf("query error: %v", r.Error)
	}
	out := map[string]float64{}
	for _, f := range r.Frames {
		for _, fld := range f.Fields {
			if fld.Type().Time() || fld.Len() == 0 {
				continue
			}
			v, ok := num(fld, fld.Len()-1)
			if !ok || v == 0 {
				continue
			}
			var key []string
			for _, l := range labels {
				key = append(key, fld.Labels[l])
			}
			out[strings.Join(key, " ")] = v
		}
	}
	return out
}
