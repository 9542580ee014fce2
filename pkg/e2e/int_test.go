package e2e

import (
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/netlens/netlens/pkg/sim/intsim"
)

// TestBinaryServesSimulatedINT: four simulated leaf-spine INT domains send
// to the plugin binary's INT listener on loopback, one per way switches
// can: INT mode with report v0.5 and with v1.0 (IPv6 flows too), postcard
// mode with v0.5 (its clocks wrapping inside one flow's last path) and
// with v1.0; all with drops, congestion and deliberately lost reports.
// Through QueryData, the int_* series equal what the simulators sent:
// reports by switch and type, drops by switch, port and reason, and the
// sequence numbers each switch skipped as its lost reports.
func TestBinaryServesSimulatedINT(t *testing.T) {
	dir := t.TempDir()
	p := startPlugin(t, map[string]string{
		"GF_PLUGIN_DATA_DIR":               dir,
		"GF_PLUGIN_FTD_LISTEN_ADDRESS":     "off",
		"GF_PLUGIN_INT_UDP_LISTEN_ADDRESS": "127.0.0.1:0",
		"GF_PLUGIN_RECORDS_MAX_BYTES":      "64MB",
	})
	target := p.listener(t, "int-udp")

	domain := func(mode intsim.Mode, v intsim.Version, seed uint64, v6 float64) intsim.DomainConfig {
		return intsim.DomainConfig{Spines: 2, Leaves: 4, HostsPerLeaf: 4, Flows: 16, Mode: mode, Encoding: intsim.Encoding{Version: v},
			IPv6Share: v6, DropRate: 0.02, LossRate: 0.01, CongestionEvery: 300 * time.Millisecond, CongestionFor: 100 * time.Millisecond, Seed: seed}
	}
	const count, rate = 3000, 6000
	runs := []*intRun{
		newINTRun(t, "int05", target, 41, domain(intsim.ModeINT, intsim.V05, 41, 0), count, rate, false),
		newINTRun(t, "int10", target, 42, domain(intsim.ModeINT, intsim.V10, 42, 0.3), count, rate, false),
		// Postcards v0.5 carry no hop latency: the collector takes it from
		// the ingress and egress timestamps modulo 2^32.
		newINTRun(t, "pc05", target, 43, domain(intsim.ModePostcard, intsim.V05, 43, 0), count, rate, true),
		newINTRun(t, "pc10", target, 44, domain(intsim.ModePostcard, intsim.V10, 44, 0.3), count, rate, false),
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
		if r.tot.Kind(intsim.KindDrop) == 0 || r.tot.Kind(intsim.KindQueue) == 0 || r.tot.GapTotal() == 0 {
			t.Fatalf("%s sent %d drop and %d queue reports and lost %d: the test needs all three", r.name,
				r.tot.Kind(intsim.KindDrop), r.tot.Kind(intsim.KindQueue), r.tot.GapTotal())
		}
	}
	for _, r := range runs {
		r.checkReplay(t)
	}
	wr := runs[2]
	if w := wr.lastPaths()[wr.wrapFlow]; len(w.hops) != 3 || w.dropped || w.hops[0].EgressTS >= w.hops[0].IngressTS || wr.tot.Wrapped == 0 {
		t.Fatalf("%s: flow %d's last path should be 3 hops with the clock wrapped in the first: %+v", wr.name, wr.wrapFlow, w)
	}

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
