package e2e

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/netlens/netlens/pkg/pipeline/intmap"
	"github.com/netlens/netlens/pkg/sim/intsim"
)

// intRun is one simulated INT domain sending to the plugin. Its switches
// send from addresses of their own (report v0.5 names no switch in its
// fixed header, and a collector keeps sequence numbers per sender), and
// its seed gives switch ids no other run has.
type intRun struct {
	name  string
	sim   *intsim.Sim
	tot   intsim.Totals     // what went on the wire, after run
	names map[uint32]string // switch id → the name query answers show
	// queryNames is the switchNames text its queries carry.
	queryNames string
	// wrapFlow is the flow whose last path straddles the switches' clock
	// wrap (-1: none asked for).
	wrapFlow int
	packets  []intPacket // what Run sends, replayed (bounded runs)
}

// intStep advances the simulated clock per packet: runs are then the same
// whatever the machine's load, so the test knows which packet the clocks
// wrap in.
const intStep = time.Millisecond

// intMaxSwitches is the source addresses a run has, one per switch.
const intMaxSwitches = 8

// newINTRun builds a domain sending count reports at rate to target from
// 127.0.<subnet>.1, .2, ...; with wrap, the switches' clocks wrap inside
// the first hop of one flow's last path (see wrapInLastPath).
func newINTRun(t *testing.T, name, target string, subnet byte, dc intsim.DomainConfig, count uint64, rate float64, wrap bool) *intRun {
	t.Helper()
	cfg := intsim.Config{Target: target, Rate: rate, Count: count, TimeStep: intStep, Domain: dc}
	for i := range intMaxSwitches {
		cfg.Sources = append(cfg.Sources, fmt.Sprintf("127.0.%d.%d", subnet, i+1))
	}
	run := &intRun{name: name, wrapFlow: -1, names: map[uint32]string{}}
	if wrap {
		cfg.Domain.WrapAfter, run.wrapFlow = wrapInLastPath(t, cfg)
	}
	if count > 0 {
		run.packets = replay(t, cfg)
	}
	s, err := intsim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	run.sim = s
	for _, sw := range s.Domain().Topo.Switches {
		run.names[sw.ID] = name + "-" + sw.Name
		run.queryNames += intDevice(sw.ID) + "=" + run.names[sw.ID] + "\n"
	}
	return run
}

// run sends every report and keeps the totals.
func (r *intRun) run(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := r.sim.Run(ctx); err != nil {
		t.Errorf("%s: %v", r.name, err)
		return
	}
	r.tot = r.sim.Totals()
	if c := r.sim.Config().Count; r.tot.Reports != c || r.tot.Errors != 0 {
		t.Errorf("%s sent %d of %d reports, %d errors (%s)", r.name, r.tot.Reports, c, r.tot.Errors, r.tot.LastError)
	}
}

// devices are the run's switches as the collector names them.
func (r *intRun) devices() []string {
	var out []string
	for _, sw := range r.sim.Domain().Topo.Switches {
		out = append(out, intDevice(sw.ID))
	}
	return out
}

// flowID is flow i's name: the simulator names flows as the path frame
// and the flow column do (checkReplay holds it to intmap.FlowID).
func (r *intRun) flowID(i int) string { return r.sim.Domain().Flows[i].String() }

// sentByType is the reports each switch sent by int_report type ("device
// type" → count): postcards and local reports are both "flow".
func (r *intRun) sentByType() map[string]uint64 {
	want := map[string]uint64{}
	for _, sw := range r.tot.Switches {
		for typ, n := range map[string]uint64{
			"flow": sw.Reports[intsim.KindLocal] + sw.Reports[intsim.KindPostcard], "int": sw.Reports[intsim.KindINT],
			"drop": sw.Reports[intsim.KindDrop], "queue": sw.Reports[intsim.KindQueue],
		} {
			if n > 0 {
				want[intDevice(sw.ID)+" "+typ] = n
			}
		}
	}
	return want
}

// deviceFilter narrows a query on int_report to the run's switches.
func (r *intRun) deviceFilter() []map[string]any {
	return []map[string]any{{"field": "device", "op": "in", "values": r.devices()}}
}

func intDevice(id uint32) string { return fmt.Sprintf("0x%08x", id) }

// intPacket is one simulated packet of a run and the reports of it that
// go on the wire, in the order the switches made them (path order; a
// switch's queue report before its postcard).
type intPacket struct {
	flow    int
	reports []intsim.Report
}

// replay returns the packets Run will send with cfg. With a TimeStep, Run
// sends exactly the packets of a domain built from the same configuration,
// advanced by that step, until Count reports (the last packet possibly cut
// short), and nothing of that draws on the wall clock: a second domain
// replays the run. The test checks the replay against the run's totals,
// each flow's last observation included.
//
// The replay, beside Totals.Flows, gives each flow's earlier observations
// (the collector may show one of its last few, see intRecent) and, before
// the run, the packet to wrap the clocks in.
func replay(t *testing.T, cfg intsim.Config) []intPacket {
	t.Helper()
	d, err := intsim.NewDomain(cfg.Domain)
	if err != nil {
		t.Fatal(err)
	}
	var pkts []intPacket
	for sent := uint64(0); sent < cfg.Count; {
		reps := d.Packet(uint64(len(pkts)) * uint64(cfg.TimeStep))
		n := min(uint64(len(reps)), cfg.Count-sent)
		sent += n
		p := intPacket{flow: -1, reports: slices.Clone(reps[:n])}
		if n > 0 {
			p.flow = reps[0].Flow
		}
		pkts = append(pkts, p)
	}
	return pkts
}

// wrapInLastPath returns a WrapAfter that makes the switches' 32-bit
// clocks wrap 200 ns into the first hop of the newest packet that is the
// last its flow sends and whose three postcards all go out (no loss, drop
// or queue report), and that flow. The caller checks that the run's hop
// did wrap.
func wrapInLastPath(t *testing.T, cfg intsim.Config) (time.Duration, int) {
	t.Helper()
	pkts := replay(t, cfg)
	last := map[int]int{} // flow → its last packet with a report sent
	for k, p := range pkts {
		if p.flow >= 0 {
			last[p.flow] = k
		}
	}
	for k := len(pkts) - 1; k >= 0; k-- {
		p := pkts[k]
		clean := p.flow >= 0 && last[p.flow] == k && len(p.reports) == 3
		for _, r := range p.reports {
			clean = clean && r.Kind == intsim.KindPostcard
		}
		if clean {
			at := time.Duration(k)*cfg.TimeStep + 200*time.Nanosecond
			if at > 4294967295*time.Nanosecond {
				break
			}
			return at, p.flow
		}
	}
	t.Fatalf("no flow of %d packets ends with a whole 3-hop postcard path", len(pkts))
	return 0, 0
}

// intWant is one observation of a flow as the collector should show it:
// its hops in path order and, when the packet was dropped, where and why.
type intWant struct {
	hops    []intsim.Hop
	int     bool // the stack of an INT report (else joined switch reports)
	dropped bool // at the last hop
	reason  uint8
}

func (w intWant) String() string {
	var b strings.Builder
	for i, h := range w.hops {
		fmt.Fprintf(&b, "[%s in %d out %d lat %d q %d occ %d", intDevice(h.SwitchID), h.IngressPort, h.EgressPort, h.HopLatency, h.QueueID, h.QueueOccupancy)
		if w.dropped && i == len(w.hops)-1 {
			fmt.Fprintf(&b, " dropped %d", w.reason)
		}
		b.WriteString("] ")
	}
	if len(w.hops) > 0 {
		fmt.Fprintf(&b, "e2e %d", w.hops[len(w.hops)-1].EgressTS-w.hops[0].IngressTS)
	}
	return b.String()
}

// observations lists each flow's observations in the order the switches
// made them. An INT report from the sink is one (its stack); otherwise the
// reports a packet's switches sent about it by themselves (postcards, local
// reports of flows INT does not cover, queue reports, the drop report at
// the hop where the packet died) join into one, a switch's queue report
// and postcard into its one hop. A drop report carrying an INT stack is
// not an observation: the packet's path was not whole; nor is one switch's
// lone drop or queue report.
func (r *intRun) observations() map[int][]intWant {
	out := map[int][]intWant{}
	for _, p := range r.packets {
		if p.flow < 0 {
			continue
		}
		var w intWant
		postcard := false
		// hop adds a switch's report as its hop; a congested switch's queue
		// report and its postcard carry the same hop.
		hop := func(h intsim.Hop) {
			if !w.int && !slices.ContainsFunc(w.hops, func(x intsim.Hop) bool { return x.SwitchID == h.SwitchID }) {
				w.hops = append(w.hops, h)
			}
		}
		for _, rep := range p.reports {
			switch rep.Kind {
			case intsim.KindINT:
				w = intWant{hops: slices.Clone(rep.INT.Stack[:rep.INT.Hops]), int: true}
			case intsim.KindPostcard, intsim.KindLocal:
				hop(rep.Local)
				postcard = true
			case intsim.KindQueue:
				hop(rep.Local)
			case intsim.KindDrop:
				if rep.INT.Hops == 0 {
					hop(rep.Local)
					w.dropped, w.reason = true, rep.Reason
				}
			}
		}
		// A lone drop or queue report is no path (the collector keeps it
		// as its own row; a drop then marks the flow's previous path).
		if len(w.hops) > 1 || len(w.hops) == 1 && (w.int || postcard) {
			out[p.flow] = append(out[p.flow], w)
		}
	}
	return out
}

// joinedByFlow is, by flow id, the packets with reports the joiner takes
// (a switch id and no INT stack: postcards, local, queue and drop reports
// without one) that make a postcard path: a postcard or local report among
// them, or reports of more than one switch. A lone drop or queue report is
// its own row only.
func (r *intRun) joinedByFlow() map[string]uint64 {
	out := map[string]uint64{}
	for _, p := range r.packets {
		switches := map[int]bool{}
		postcard := false
		for _, rep := range p.reports {
			if rep.Kind == intsim.KindINT || rep.Kind == intsim.KindDrop && rep.INT.Hops > 0 {
				continue
			}
			switches[rep.Switch] = true
			postcard = postcard || rep.Kind == intsim.KindPostcard || rep.Kind == intsim.KindLocal
		}
		if postcard || len(switches) > 1 {
			out[r.flowID(p.flow)]++
		}
	}
	return out
}

// hasIdentity reports whether the packets of flow id differ in something
// no switch changes that the joiner keys on: IPv4's identification or
// TCP's sequence number.
func (r *intRun) hasIdentity(id string) bool {
	for i := range r.sim.Domain().Flows {
		if f := &r.sim.Domain().Flows[i]; r.flowID(i) == id {
			return f.SrcAddr.Is4() || f.Proto == 6
		}
	}
	return false
}

// checkReplay compares the replayed packets with what the run sent.
func (r *intRun) checkReplay(t *testing.T) {
	t.Helper()
	got := map[[2]uint32]uint64{}
	for _, p := range r.packets {
		for _, rep := range p.reports {
			got[[2]uint32{rep.SwitchID, uint32(rep.Kind)}]++
		}
	}
	want := map[[2]uint32]uint64{}
	for _, sw := range r.tot.Switches {
		for k, n := range sw.Reports {
			if n > 0 {
				want[[2]uint32{sw.ID, uint32(k)}] = n
			}
		}
	}
	if !maps.Equal(got, want) {
		t.Fatalf("%s: the replay's reports by switch and kind %v differ from the run's %v", r.name, got, want)
	}
	// Each flow's last observation in the totals is the replay's newest
	// packet with a postcard, INT or drop report sent, hops in path order;
	// its name is the collector's.
	last := map[int]intsim.Observation{}
	for _, p := range r.packets {
		for _, rep := range p.reports {
			o := last[p.flow]
			if o.PacketNo != rep.PacketNo && (rep.Kind == intsim.KindPostcard || rep.Kind == intsim.KindINT || rep.Kind == intsim.KindDrop) {
				o = intsim.Observation{PacketNo: rep.PacketNo}
			}
			switch rep.Kind {
			case intsim.KindPostcard:
				o.Hops = append(o.Hops, rep.Local)
			case intsim.KindINT:
				o.Hops = slices.Clone(rep.INT.Stack[:rep.INT.Hops])
			case intsim.KindDrop:
				o.Dropped, o.DropAt = true, rep.SwitchID
			}
			last[p.flow] = o
		}
	}
	for fi, ft := range r.tot.Flows {
		f := &r.sim.Domain().Flows[fi]
		if id := intmap.FlowID(f.SrcAddr, f.DstAddr, f.Proto, f.SrcPort, f.DstPort); ft.Flow != id {
			t.Errorf("%s: the simulator names flow %d %q, the collector %q", r.name, fi, ft.Flow, id)
		}
		w := last[fi]
		if got := ft.Last; got.PacketNo != w.PacketNo || !slices.Equal(got.Hops, w.Hops) || got.Dropped != w.Dropped || got.DropAt != w.DropAt {
			t.Errorf("%s: flow %s: the totals' last observation is packet %d %#x dropped %v at %#x, the replay's packet %d %#x dropped %v at %#x",
				r.name, ft.Flow, got.PacketNo, got.Path(), got.Dropped, got.DropAt, w.PacketNo, w.Path(), w.Dropped, w.DropAt)
		}
	}
}

// field returns a frame's field by name or fails.
func field(t *testing.T, f *data.Frame, name string) *data.Field {
	t.Helper()
	fld, _ := f.FieldByName(name)
	if fld == nil {
		var names []string
		for _, x := range f.Fields {
			names = append(names, x.Name)
		}
		t.Fatalf("frame %q has no field %q (fields %v)", f.Name, name, names)
	}
	return fld
}

// num reads a numeric cell of any Go number type; ok is false for null.
func num(f *data.Field, i int) (float64, bool) {
	v, ok := f.ConcreteAt(i)
	if !ok {
		return 0, false
	}
	switch x := reflect.ValueOf(v); x.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(x.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return float64(x.Uint()), true
	case reflect.Float32, reflect.Float64:
		return x.Float(), true
	}
	return 0, false
}

// boolAt reads a boolean cell; null is false.
func boolAt(f *data.Field, i int) bool {
	v, ok := f.ConcreteAt(i)
	b, _ := v.(bool)
	return ok && b
}

// pathObs is one flow observation of a path frame: its rows in hop order.
type pathObs struct {
	flow string
	time time.Time
	rows []int
}

// observations splits a path frame into observations: a flow's rows with
// rising hop numbers, as the frame lists one observation's hops together.
func observations(t *testing.T, f *data.Frame) []pathObs {
	t.Helper()
	flow, hop, tm := field(t, f, "flow"), field(t, f, "hop"), field(t, f, "time")
	var out []pathObs
	prevHop := -1.0
	for i := range f.Rows() {
		h, _ := num(hop, i)
		fl := cell(flow, i)
		if len(out) == 0 || out[len(out)-1].flow != fl || h <= prevHop {
			ts, _ := tm.ConcreteAt(i)
			tt, _ := ts.(time.Time)
			out = append(out, pathObs{flow: fl, time: tt})
		}
		out[len(out)-1].rows = append(out[len(out)-1].rows, i)
		prevHop = h
	}
	return out
}

// newestObs is each flow's newest observation (the first listed of equal
// times).
func newestObs(obs []pathObs) map[string]pathObs {
	out := map[string]pathObs{}
	for _, o := range obs {
		if cur, ok := out[o.flow]; !ok || o.time.After(cur.time) {
			out[o.flow] = o
		}
	}
	return out
}
