package plugin

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netlens/netlens/pkg/decode/intreport"
	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/pipeline/intmap"
	"github.com/netlens/netlens/pkg/sim/intsim"
)

// simulate runs packets of a simulated leaf-spine domain through the
// encoder, our decoder and an intmap worker into e's table, one packet a
// millisecond from e.t0, and returns each flow's last path as the
// switches sent it (the INT report's stack, or the packet's postcards),
// and per flow the switches that sent drop reports since (with the reason).
func (e *intEnv) simulate(t *testing.T, cfg intsim.DomainConfig, packets int) (paths map[string][]string, drops map[string]map[string]uint8) {
	t.Helper()
	d, err := intsim.NewDomain(cfg)
	if err != nil {
		t.Fatal(err)
	}
	enc := d.Config().Encoding
	dec := intreport.NewDecoder(intreport.Options{INTDSCP: 1, INTDSCPMask: 1})
	want := map[string][]string{}
	drops = map[string]map[string]uint8{}
	var buf []byte
	var r intreport.Report
	for p := range packets {
		ns := uint64(p) * uint64(time.Millisecond)
		ms := e.t0.UnixMilli() + int64(p)
		var postcards []string
		flow := ""
		for _, rep := range d.Packet(ns) {
			flow = d.Flows[rep.Flow].String()
			buf = enc.AppendReport(buf[:0], &rep)
			if err := dec.Decode(buf, &r); err != nil {
				t.Fatalf("packet %d: %v", p, err)
			}
			e.w.Report(model.DeviceRef{Source: model.SourceINT, ID: intmap.SwitchName(r.Header.SwitchID), Remote: "192.0.2.1"}, &r, ms)
			switch rep.Kind {
			case intsim.KindINT:
				path := make([]string, rep.INT.Hops)
				for i := range path {
					path[i] = intmap.SwitchName(rep.INT.Stack[i].SwitchID)
				}
				want[flow] = path
				delete(drops, flow)
			case intsim.KindDrop:
				if drops[flow] == nil {
					drops[flow] = map[string]uint8{}
				}
				drops[flow][intmap.SwitchName(rep.SwitchID)] = rep.Reason
			case intsim.KindPostcard:
				postcards = append(postcards, intmap.SwitchName(rep.SwitchID))
			}
		}
		if len(postcards) > 0 {
			want[flow] = postcards
		}
		e.w.Flush(ms)
	}
	e.w.FlushAll(e.t0.UnixMilli() + int64(packets) + 1000)
	return want, drops
}

// newestPaths reads each flow's newest observation (its first rows) from
// a path frame, and the previous paths shown.
func newestPaths(t *testing.T, r []string) (newest, previous map[string][]string) {
	t.Helper()
	newest, previous = map[string][]string{}, map[string][]string{}
	newestAt := map[string]string{}
	for _, line := range r {
		c := strings.Split(line, "|") // time, flow, switch
		flow, at := c[1], c[0]
		if first, ok := newestAt[flow]; ok && first != at {
			previous[flow] = append(previous[flow], c[2])
			continue
		}
		newestAt[flow] = at
		newest[flow] = append(newest[flow], c[2])
	}
	return newest, previous
}

// Simulated INT and postcard domains (2 spines, 4 leaves, spines leaving
// ECMP now and then) through the decoder and the mapper: every flow's
// newest path is the one the switches last sent, whatever the one-hop
// paths of the sink's local reports; flows that moved show their previous
// path, different from the newest.
func TestINTPathOfSimulatedDomains(t *testing.T) {
	for _, mode := range []intsim.Mode{intsim.ModeINT, intsim.ModePostcard} {
		t.Run(mode.String(), func(t *testing.T) {
			e := newINTEnv(t)
			cfg := intsim.DomainConfig{Mode: mode, Flows: 24, ICMPShare: -1, DropRate: -1, LossRate: -1, CongestionEvery: -1,
				SpineDownEvery: 2 * time.Second, SpineDownFor: 500 * time.Millisecond, Seed: 7,
				Encoding: intsim.Encoding{Version: intsim.V10}}
			want, _ := e.simulate(t, cfg, 6000)
			ds := instance(t, e.srv, `{}`)
			r := e.query(t, ds, `{"source":"int","kind":"path","topN":100}`)
			got, previous := newestPaths(t, e.rowsText(r.Frames[0], "time", "flow", "switch"))
			if len(got) != len(want) {
				t.Fatalf("%d flows in the frame, the switches sent %d", len(got), len(want))
			}
			for flow, path := range want {
				if !slices.Equal(got[flow], path) {
					t.Errorf("flow %s: newest path %v, sent %v", flow, got[flow], path)
				}
			}
			if len(previous) == 0 {
				t.Fatal("no flow shows a previous path though spines left ECMP")
			}
			for flow, prev := range previous {
				// Same leaves, the other spine.
				if n := got[flow]; len(prev) != 3 || len(n) != 3 || prev[0] != n[0] || prev[2] != n[2] || prev[1] == n[1] {
					t.Errorf("flow %s: previous path %v, newest %v", flow, prev, n)
				}
			}
			t.Logf("%d flows, %d with a previous path", len(got), len(previous))
		})
	}
}

// INT mode with drops: a drop report newer than a flow's last INT report
// marks the switch that sent it on the flow's path, with its reason.
func TestINTPathMarksSimulatedDrops(t *testing.T) {
	e := newINTEnv(t)
	cfg := intsim.DomainConfig{Flows: 24, ICMPShare: -1, DropRate: 0.25, LossRate: -1, CongestionEvery: -1, Seed: 3,
		Encoding: intsim.Encoding{Version: intsim.V10}}
	want, drops := e.simulate(t, cfg, 4000)
	ds := instance(t, e.srv, `{}`)
	r := e.query(t, ds, `{"source":"int","kind":"path","topN":100}`)
	got := map[string]map[string]string{}
	newestAt := map[string]string{}
	for _, line := range e.rowsText(r.Frames[0], "time", "flow", "switch", "drop_reason") {
		c := strings.Split(line, "|")
		if at, ok := newestAt[c[1]]; ok && at != c[0] {
			continue // a previous path
		}
		newestAt[c[1]] = c[0]
		if c[3] != "-" {
			if got[c[1]] == nil {
				got[c[1]] = map[string]string{}
			}
			got[c[1]][c[2]] = c[3]
		}
	}
	marked := 0
	for flow := range want {
		exp := map[string]string{}
		for sw, reason := range drops[flow] {
			if slices.Contains(want[flow], sw) {
				exp[sw] = strconv.Itoa(int(reason))
			}
		}
		if !maps.Equal(got[flow], exp) {
			t.Errorf("flow %s: drops marked %v, sent since its last INT report %v", flow, got[flow], exp)
		}
		marked += len(exp)
	}
	if marked == 0 {
		t.Fatal("no flow's last packets were dropped: the test shows nothing")
	}
	t.Logf("%d drops marked", marked)
}
