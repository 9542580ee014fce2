package e2e

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"

	"github.com/netlens/netlens/pkg/sim/xrsim"
)

// xrRouterRun is one simulated router and what it sent of the interface
// counters path: per interface, the byte counter with its timestamps.
type xrRouterRun struct {
	r      *xrsim.Router
	device string // the device label the collector gives it
	mu     sync.Mutex
	bytes  map[string][]xrPoint // interface name → BytesReceived as sent
}

type xrPoint struct {
	ms int64
	v  float64
}

// newXRRouter configures a router to send count messages at rate to target.
func newXRRouter(t *testing.T, cfg xrsim.Config) *xrRouterRun {
	t.Helper()
	run := &xrRouterRun{bytes: map[string][]xrPoint{}}
	counters := xrsim.PathByID("counters")
	leaf := slices.IndexFunc(counters.Leaves, func(l xrsim.Leaf) bool { return l.PDT == "BytesReceived" })
	cfg.OnSent = func(s *xrsim.Sent) {
		if s.Path != counters {
			return
		}
		run.mu.Lock()
		defer run.mu.Unlock()
		for _, row := range s.Collection.Rows {
			ms := row.TimestampMs
			if cfg.Encoding == xrsim.EncCompact {
				// Compact rows carry no time of their own: the collector
				// stamps them with their header's collection end time.
				ms = s.Collection.EndMs
			}
			run.bytes[row.Keys[0]] = append(run.bytes[row.Keys[0]], xrPoint{ms, float64(row.Values[leaf].U)})
		}
	}
	r, err := xrsim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	run.r = r
	return run
}

func (x *xrRouterRun) run(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := x.r.Run(ctx); err != nil {
		t.Errorf("router %s: %v", x.r.Config().Name, err)
	}
	tot := x.r.Totals()
	if tot.Messages != x.r.Config().Count || tot.Errors != 0 {
		t.Errorf("router %s sent %d of %d messages, %d errors (%s)", x.r.Config().Name, tot.Messages, x.r.Config().Count, tot.Errors, tot.LastError)
	}
	for _, sv := range tot.Series {
		x.device = sv.Labels["device"]
		break
	}
}

// window is the span of the counter samples, the same for every interface
// (a collection's rows share its timestamp): first and last timestamp.
func (x *xrRouterRun) window(t *testing.T) (first, last int64) {
	t.Helper()
	x.mu.Lock()
	defer x.mu.Unlock()
	for name, pts := range x.bytes {
		f, l := pts[0].ms, pts[len(pts)-1].ms
		if first == 0 {
			first, last = f, l
		}
		if f != first || l != last || len(pts) < 3 {
			t.Fatalf("router %s, %s: %d samples from %d to %d, others from %d to %d", x.r.Config().Name, name, len(pts), f, l, first, last)
		}
	}
	return first, last
}

// sent is how many counter samples of an interface went out; samples of
// one millisecond count once, as the store keeps them.
func (x *xrRouterRun) sent(name string) int {
	x.mu.Lock()
	defer x.mu.Unlock()
	n := 0
	for i, pt := range x.bytes[name] {
		if i == 0 || pt.ms != x.bytes[name][i-1].ms {
			n++
		}
	}
	return n
}

// slopes are the byte rates the router's counters moved at between their
// first and last sample, per interface.
func (x *xrRouterRun) slopes() map[string]float64 {
	x.mu.Lock()
	defer x.mu.Unlock()
	out := map[string]float64{}
	for name, pts := range x.bytes {
		f, l := pts[0], pts[len(pts)-1]
		out[name] = (l.v - f.v) / (float64(l.ms-f.ms) / 1000)
	}
	return out
}

// xrPathEntry is an entry of GET xr/paths.
type xrPathEntry struct {
	Path, Policy, Group, Source string
	PeriodSeconds               int64
	Devices                     []string
}

// cell is a table cell as text, "" for null.
func cell(f *data.Field, i int) string {
	v, ok := f.ConcreteAt(i)
	if !ok {
		return ""
	}
	return fmt.Sprint(v)
}

// byLabel reads one value per frame, keyed by a label of its value field.
func byLabel(t *testing.T, res *backend.QueryDataResponse, label string) map[string]float64 {
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
			v, ok := fld.ConcreteAt(fld.Len() - 1)
			if !ok {
				continue
			}
			out[fld.Labels[label]] = v.(float64)
		}
	}
	return out
}

// TestBinaryServesSimulatedXR: four simulated IOS XR routers send to the
// plugin binary on loopback, one per way a router can: policy-driven JSON
// over TCP with zlib and compressor resets, policy-driven compact GPB over
// UDP (rows decoded with the provisioned .proto files), model-driven
// key-value GPB over the TCP dial-out header, and model-driven gRPC
// dial-out. Their interface byte counters come back through QueryData as
// rates per interface equal to the rates the simulators' counters moved
// at, and as last values equal to what they sent; interface states come
// back as xr_state records; the editor's resources list the routers and
// the policy's paths; a live query's RunStream pushes a later router's
// points.
func TestBinaryServesSimulatedXR(t *testing.T) {
	dir := t.TempDir()
	prov := filepath.Join("..", "..", "provisioning", "xr")
	// The provisioned .proto files but the memory summary's, as an
	// operator who forgot one: that router's memory tables are skipped,
	// counted, and named in health, and the rest of its data flows.
	protos := filepath.Join(dir, "protos")
	if err := os.CopyFS(protos, os.DirFS(filepath.Join(prov, "protos"))); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(protos, xrsim.PathByID("memory").ProtoFile)); err != nil {
		t.Fatal(err)
	}
	p := startPlugin(t, map[string]string{
		"GF_PLUGIN_DATA_DIR":               filepath.Join(dir, "data"),
		"GF_PLUGIN_FTD_LISTEN_ADDRESS":     "off",
		"GF_PLUGIN_XR_TCP_LISTEN_ADDRESS":  "127.0.0.1:0",
		"GF_PLUGIN_XR_UDP_LISTEN_ADDRESS":  "127.0.0.1:0",
		"GF_PLUGIN_XR_GRPC_LISTEN_ADDRESS": "127.0.0.1:0",
		"GF_PLUGIN_XR_POLICY_DIR":          filepath.Join(prov, "policies"),
		"GF_PLUGIN_XR_PROTO_DIR":           protos,
	})
	tcp, udp, grpc := p.listener(t, "xr-tcp"), p.listener(t, "xr-udp"), p.listener(t, "xr-grpc")
	if h := p.checkHealth(t); h.Status != backend.HealthStatusOk {
		t.Fatalf("health = %v: %s", h.Status, h.Message)
	}

	// The policy's paths are in the editor before any router sends.
	var paths []xrPathEntry
	p.resource(t, "xr/paths", &paths)
	counters := xrsim.PathByID("counters")
	if !slices.ContainsFunc(paths, func(x xrPathEntry) bool {
		return x.Path == counters.PDT && x.Source == "policy" && x.PeriodSeconds == 10
	}) {
		t.Fatalf("policy paths before data: %+v", paths)
	}

	// Six paths in turn at 60 messages a second: a counters message every
	// 100 ms, some twenty per router. Each router sends from an address of
	// its own, as routers do (the receiver knows a router by its address
	// until a message names it); the gRPC client dials from 127.0.0.1.
	const rate, count = 60, 120
	routers := []*xrRouterRun{
		newXRRouter(t, xrsim.Config{Name: "pe-json", Target: tcp, Generation: xrsim.GenPDT, Encoding: xrsim.EncJSON, Zlib: true, ResetEvery: 25, Rate: rate, Count: count, Seed: 1, LocalAddr: "127.0.0.11:0"}),
		newXRRouter(t, xrsim.Config{Name: "pe-compact", Target: udp, Transport: "udp", Generation: xrsim.GenPDT, Encoding: xrsim.EncCompact, Rate: rate, Count: count, Seed: 2, LocalAddr: "127.0.0.12:0"}),
		newXRRouter(t, xrsim.Config{Name: "pe-kv", Target: tcp, Generation: xrsim.GenMDT, Encoding: xrsim.EncGPBKV, Rate: rate, Count: count, Seed: 3, LocalAddr: "127.0.0.13:0"}),
		newXRRouter(t, xrsim.Config{Name: "pe-grpc", Target: grpc, Transport: "grpc", Generation: xrsim.GenMDT, Encoding: xrsim.EncGPBKV, Rate: rate, Count: count, Seed: 4}),
	}
	var wg sync.WaitGroup
	for _, r := range routers {
		wg.Go(func() { r.run(t) })
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	for _, r := range routers {
		first, last := r.window(t)
		sel := fmt.Sprintf(`xr_generic_counters_bytes_received{device=%q}`, r.device)
		// Every counter sample stored: the newest one is the last sent.
		waitFor(t, "router "+r.device+"'s last counters", 20*time.Second, func() bool {
			res := p.queryData(t, map[string]any{"refId": "A", "source": "xr", "editorMode": "code", "instant": true,
				"expr": "max(timestamp(" + sel + "))"}, time.UnixMilli(last).Add(-time.Minute), time.UnixMilli(last))
			v := byLabel(t, res, "")
			return len(v) == 1 && int64(math.Round(v[""]*1000)) == last
		})

		// The rate per interface, over a window from just before the first
		// sample to the last: PromQL extrapolates the window's 1 ms edge
		// in full, so its rate is the counter's own slope.
		window := fmt.Sprintf("[%dms]", last-first+1)
		// Every sample sent is in that window, no other.
		res := p.queryData(t, map[string]any{"refId": "A", "source": "xr", "editorMode": "code", "instant": true,
			"expr": "count_over_time(" + sel + window + ")"}, time.UnixMilli(first), time.UnixMilli(last))
		for name, n := range byLabel(t, res, "interface_name") {
			if int(n) != r.sent(name) {
				t.Errorf("router %s, %s: %v samples stored, %d sent", r.device, name, n, r.sent(name))
			}
		}
		res = p.queryData(t, map[string]any{"refId": "A", "source": "xr", "editorMode": "code", "instant": true,
			"expr": "sum by (interface_name) (rate(" + sel + window + "))"}, time.UnixMilli(first), time.UnixMilli(last))
		got, want := byLabel(t, res, "interface_name"), r.slopes()
		if len(got) != len(want) {
			t.Fatalf("router %s: %d interfaces' rates, the simulator sent %d", r.device, len(got), len(want))
		}
		for name, w := range want {
			if g, ok := got[name]; !ok || math.Abs(g-w) > 1e-9*math.Abs(w) {
				t.Errorf("router %s, %s: rate %v, the counter moved at %v bytes/s", r.device, name, g, w)
			}
		}

		// The last values of every series of the path, as sent.
		res = p.queryData(t, map[string]any{"refId": "A", "source": "xr", "kind": "series", "editorMode": "builder",
			"metric": "xr_generic_counters_bytes_received", "instant": true,
			"matchers": []map[string]string{{"label": "device", "op": "=", "value": r.device}}}, time.UnixMilli(first), time.UnixMilli(last))
		stored := byLabel(t, res, "interface_name")
		n := 0
		for _, sv := range r.r.Totals().Series {
			if sv.Metric != "xr_generic_counters_bytes_received" {
				continue
			}
			n++
			if stored[sv.Labels["interface_name"]] != sv.Value {
				t.Errorf("router %s, %s: stored %v, sent %v", r.device, sv.Labels["interface_name"], stored[sv.Labels["interface_name"]], sv.Value)
			}
		}
		if n == 0 || len(stored) != n {
			t.Errorf("router %s: %d series stored, %d sent", r.device, len(stored), n)
		}

		// Interface states as xr_state records: the newest per interface is
		// the last the router sent.
		states := xrsim.PathByID("interfaces")
		res = p.queryData(t, map[string]any{"refId": "A", "kind": "records", "source": "xr", "recordKind": "xr_state",
			"columns": []string{"time", "device", "path", "interface_name", "leaf", "value"}, "limit": 1000,
			"filters": []map[string]any{{"field": "device", "op": "=", "values": []string{r.device}}}}, time.UnixMilli(first).Add(-time.Minute), time.Now().Add(time.Minute))
		f := frameOf(t, res)
		newest := map[string]string{}
		for i := range f.Rows() {
			k := cell(f.Fields[3], i) + "|" + cell(f.Fields[4], i) + "|" + cell(f.Fields[2], i)
			if _, seen := newest[k]; !seen {
				newest[k] = cell(f.Fields[5], i)
			}
		}
		checked := 0
		for _, sv := range r.r.Totals().States {
			if sv.Path != states.PDT && sv.Path != states.Schema && sv.Path != states.MDT {
				continue
			}
			checked++
			k := sv.Keys["interface_name"] + "|" + sv.Leaf + "|" + sv.Path
			if newest[k] != sv.Value {
				t.Errorf("router %s, %s: newest xr_state %q, sent %q", r.device, k, newest[k], sv.Value)
			}
		}
		if checked == 0 {
			t.Errorf("router %s sent no interface states", r.device)
		}
	}

	// The policy's counters path now has data from both policy-driven
	// routers, the compact one's schema path included.
	var merged []xrPathEntry
	p.resource(t, "xr/paths", &merged)
	i := slices.IndexFunc(merged, func(x xrPathEntry) bool { return x.Path == counters.PDT })
	if i < 0 || merged[i].Source != "both" || strings.Join(merged[i].Devices, ",") != "pe-compact,pe-json" {
		t.Errorf("counters path after data: %+v", merged)
	}

	// The routers are on the resource the editor lists them from, each
	// with its transport.
	var listed []struct {
		Device        string
		Transports    []string
		Messages      uint64
		MissingProtos map[string]uint64
	}
	p.resource(t, "xr/routers", &listed)
	transports := map[string]string{}
	for _, l := range listed {
		transports[l.Device] = strings.Join(l.Transports, ",")
	}
	for _, r := range routers {
		want := r.r.Config().Transport
		if transports[r.device] != want {
			t.Errorf("router %s listed with transports %q, want %q (%+v)", r.device, transports[r.device], want, listed)
		}
	}

	// Live: a channel on the counters of a router yet to come; RunStream
	// pushes its points as they arrive.
	live := p.queryData(t, map[string]any{"refId": "A", "source": "xr", "kind": "series", "editorMode": "builder",
		"metric": "xr_generic_counters_bytes_received", "rate": false, "aggregation": "sum", "groupBy": []string{"device"},
		"matchers": []map[string]string{{"label": "device", "op": "=", "value": "pe-live"}}, "live": true},
		time.Now().Add(-5*time.Minute), time.Now())
	hist := frameOf(t, live)
	if hist.Meta == nil || hist.Meta.Channel == "" {
		t.Fatalf("live query gave no channel: %+v", hist.Meta)
	}
	path := hist.Meta.Channel[len("ds/netlens/"):]
	sub, err := p.stream.SubscribeStream(context.Background(), backend.ToProto().SubscribeStreamRequest(&backend.SubscribeStreamRequest{PluginContext: p.pctx, Path: path}))
	if err != nil || sub.Status != pluginv2.SubscribeStreamResponse_OK {
		t.Fatalf("SubscribeStream %s: %v %v", path, sub, err)
	}
	sctx, scancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer scancel()
	rs, err := p.stream.RunStream(sctx, backend.ToProto().RunStreamRequest(&backend.RunStreamRequest{PluginContext: p.pctx, Path: path}))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // the stream subscribes to the hub
	later := newXRRouter(t, xrsim.Config{Name: "pe-live", Target: tcp, Generation: xrsim.GenMDT, Encoding: xrsim.EncJSON, Rate: rate, Count: 12, Seed: 5, LocalAddr: "127.0.0.15:0"})
	later.run(t)
	pkt, err := rs.Recv()
	if err != nil {
		t.Fatalf("RunStream delivered nothing: %v", err)
	}
	var pushed data.Frame
	if err := pushed.UnmarshalJSON(pkt.Data); err != nil {
		t.Fatalf("live packet is not a frame: %v", err)
	}
	if len(pushed.Fields) < 2 || pushed.Rows() != 1 {
		t.Fatalf("live frame has %d fields and %d rows, want a time and pe-live's sum", len(pushed.Fields), pushed.Rows())
	}
	if v, ok := pushed.Fields[1].ConcreteAt(0); !ok || v.(float64) <= 0 {
		t.Fatalf("pushed %v", pushed.Fields[1].At(0))
	}
	memory := xrsim.PathByID("memory").Schema
	h := p.checkHealth(t)
	if h.Status != backend.HealthStatusOk || !strings.Contains(h.Message, "IOS XR router pe-compact sends compact GPB for "+memory+", which no .proto in xr_proto_dir describes") {
		t.Fatalf("health after the routers = %v: %s", h.Status, h.Message)
	}
	for _, l := range listed {
		if (l.MissingProtos[memory] > 0) != (l.Device == "pe-compact") {
			t.Errorf("router %s: missing protos %v", l.Device, l.MissingProtos)
		}
	}
}
