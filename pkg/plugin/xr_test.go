package plugin

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/netlens/netlens/pkg/records"
	"github.com/netlens/netlens/pkg/server"
)

const (
	ifCounters = "RootOper.InfraStatistics.Interface(*).Latest.GenericCounters"
	ifRate     = "RootOper.InfraStatistics.Interface(*).Latest.DataRate"
	memSummary = "RootOper.MemorySummary.Node(*).Summary"
	mdtIf      = "Cisco-IOS-XR-infra-statsd-oper:infra-statistics/interfaces/interface/latest/generic-counters"
)

// fakeXR is the receiver and mapper as the plugin sees them: one policy
// file with two groups, a broken policy file, a proto file, two routers
// (a policy-driven one and a model-driven one) and what they sent.
type fakeXR struct {
	routers  []server.XRRouter
	policies []server.XRPolicyFile
	protos   []server.XRProtoFile
	silent   []server.XRSilentGroup
	paths    []server.XRDataPath
	leaves   map[string][]server.XRLeaf // by device+" "+path
}

func (f *fakeXR) Routers() []server.XRRouter                { return f.routers }
func (f *fakeXR) Policies() []server.XRPolicyFile           { return f.policies }
func (f *fakeXR) Protos() []server.XRProtoFile              { return f.protos }
func (f *fakeXR) SilentGroups(int64) []server.XRSilentGroup { return f.silent }

// Leaves merges every router's for device "", as the mapper does.
func (f *fakeXR) Leaves(dev, path string) []server.XRLeaf {
	if dev != "" {
		return f.leaves[dev+" "+path]
	}
	var out []server.XRLeaf
	for k, ls := range f.leaves {
		if strings.HasSuffix(k, " "+path) {
			for _, l := range ls {
				if !slices.ContainsFunc(out, func(o server.XRLeaf) bool { return o.Leaf == l.Leaf }) {
					out = append(out, l)
				}
			}
		}
	}
	return out
}

func (f *fakeXR) Paths(device string) []server.XRDataPath {
	var out []server.XRDataPath
	for _, p := range f.paths {
		if device == "" || p.Device == device {
			out = append(out, p)
		}
	}
	return out
}

func newFakeXR() *fakeXR {
	now := time.Now().UnixMilli()
	counter := server.XRLeaf{Leaf: "BytesReceived", Metric: "xr_generic_counters_bytes_received", Kind: "counter", Type: "uint"}
	return &fakeXR{
		routers: []server.XRRouter{
			{Device: "pe1", Remote: "192.0.2.1:40000", Transports: []string{"tcp"}, Generations: []string{"pdt-v2"}, Encodings: []string{"gpb-compact"},
				LastSeenMs: now, Messages: 40, Drops: map[string]uint64{"bad_zlib": 2}, MissingProtos: map[string]uint64{memSummary: 7}},
			{Device: "pe2", Remote: "192.0.2.2:50000", Transports: []string{"grpc"}, Generations: []string{"mdt"}, Encodings: []string{"gpbkv"}, LastSeenMs: now, Messages: 9},
			{Device: "pe4", Remote: "192.0.2.4:50000", Transports: []string{"tcp"}, Generations: []string{"mdt"}, Encodings: []string{"json"}, LastSeenMs: 1_700_000_000_000, Messages: 3, Stopped: true},
		},
		policies: []server.XRPolicyFile{
			{File: "Basic.policy", Name: "Basic", Groups: []server.XRGroup{
				{Name: "Interfaces", PeriodSeconds: 30, Paths: []string{ifCounters, ifRate}},
				{Name: "Memory", PeriodSeconds: 300, Paths: []string{memSummary}},
			}},
			{File: "Broken.policy", Problems: []server.XRProblem{{Where: "Broken.policy:4", Reason: "bad_period", Detail: "period 2 is outside 5..86400 s"}}},
		},
		protos: []server.XRProtoFile{{File: "generic_counters.proto", Paths: []server.XRSchemaPath{{Path: ifCounters, Message: "ifstatsbag_generic", Keys: []string{"InterfaceName"}, Fields: []string{"BytesReceived"}}}}},
		silent: []server.XRSilentGroup{{Router: "pe1", Policy: "Basic", Group: "Memory", PeriodSeconds: 300, LastSeenMs: now - 1_000_000, SinceMs: now - 1_000_000}},
		paths: []server.XRDataPath{
			{Device: "pe1", Path: ifCounters, Policy: "Basic", Subscription: "Interfaces", Encoding: "gpb-compact", LastSeenMs: now, Messages: 40, Rows: 4, Keys: []string{"interface_name"}, Leaves: 20},
			{Device: "pe2", Path: mdtIf, Subscription: "sub1", Encoding: "gpbkv", LastSeenMs: now, Messages: 9, Rows: 4, Keys: []string{"interface_name"}, Leaves: 22},
			// Compact tables name the schema path, without Interface(*).
			{Device: "pe3", Path: "RootOper.InfraStatistics.Interface.Latest.DataRate", Policy: "Basic", Subscription: "Interfaces", Encoding: "gpb-compact", LastSeenMs: now, Messages: 3, Rows: 4, Keys: []string{"interface_name"}, Leaves: 12},
		},
		leaves: map[string][]server.XRLeaf{
			"pe1 " + ifCounters: {counter, {Leaf: "PacketsReceived", Metric: "xr_generic_counters_packets_received", Kind: "counter", Type: "uint"}},
			"pe2 " + ifCounters: {counter, {Leaf: "LastDiscontinuityTime", Metric: "xr_generic_counters_last_discontinuity_time", Kind: "gauge", Type: "uint"}},
			"pe3 RootOper.InfraStatistics.Interface.Latest.DataRate": {{Leaf: "InputDataRate", Metric: "xr_data_rate_input_data_rate", Kind: "gauge", Type: "uint"}},
		},
	}
}

func xrServer(t *testing.T) (*server.Server, *fakeXR) {
	t.Helper()
	srv := testServer(t)
	x := newFakeXR()
	srv.XR = x
	srv.XRState = records.NewTable(server.XRTable, records.Options{MaxBytes: 4 << 20})
	return srv, x
}

// The editor lists a policy's paths with their cadence before any data;
// data that arrived joins its policy entry, and model-driven sensor paths
// (no policy) stand on their own.
func TestXRPathsMergePoliciesWithWhatArrived(t *testing.T) {
	srv, _ := xrServer(t)
	ds := instance(t, srv, `{}`)
	var paths []xrPath
	if code := get(t, ds, "xr/paths", nil, &paths); code != 200 {
		t.Fatalf("status %d", code)
	}
	got := map[string]xrPath{}
	for _, p := range paths {
		got[p.Policy+"|"+p.Path] = p
	}
	if len(paths) != 4 {
		t.Fatalf("paths = %+v", paths)
	}
	if p := got["Basic|"+ifCounters]; p.Source != "both" || p.Group != "Interfaces" || p.PeriodSeconds != 30 || len(p.Devices) != 1 || p.Devices[0] != "pe1" || p.Leaves != 20 || p.Keys[0] != "interface_name" {
		t.Errorf("counters = %+v", p)
	}
	if p := got["Basic|"+ifRate]; p.Source != "both" || p.PeriodSeconds != 30 || len(p.Devices) != 1 || p.Devices[0] != "pe3" || p.Leaves != 12 ||
		len(p.DataPaths) != 1 || p.DataPaths[0] != "RootOper.InfraStatistics.Interface.Latest.DataRate" {
		t.Errorf("data rate (policy, and compact data by schema path) = %+v", p)
	}
	if p := got["Basic|"+memSummary]; p.Source != "policy" || p.Group != "Memory" || p.PeriodSeconds != 300 {
		t.Errorf("memory = %+v", p)
	}
	if p := got["|"+mdtIf]; p.Source != "data" || p.Group != "sub1" || p.PeriodSeconds != 0 || p.Devices[0] != "pe2" {
		t.Errorf("model-driven path = %+v", p)
	}

	// One router: the policies' paths still show, the other router's data not.
	get(t, ds, "xr/paths", url.Values{"device": {"pe2"}}, &paths)
	for _, p := range paths {
		if (p.Path == ifCounters || p.Path == ifRate) && (p.Source != "policy" || len(p.Devices) != 0 || p.Keys == nil) {
			t.Errorf("pe2's view of %s = %+v", p.Path, p)
		}
	}
	// A restricted instance neither lists nor may name other routers.
	restricted := instance(t, srv, `{"devices":["pe2"]}`)
	get(t, restricted, "xr/paths", nil, &paths)
	for _, p := range paths {
		if len(p.Devices) > 0 && p.Devices[0] != "pe2" {
			t.Errorf("restricted instance sees %+v", p)
		}
	}
	if code := get(t, restricted, "xr/paths", url.Values{"device": {"pe1"}}, nil); code != 400 {
		t.Errorf("restricted instance asking for pe1: status %d", code)
	}
}

func TestXRLeavesRoutersAndFiles(t *testing.T) {
	srv, _ := xrServer(t)
	ds := instance(t, srv, `{}`)
	if code := get(t, ds, "xr/leaves", nil, nil); code != 400 {
		t.Fatalf("leaves without a path: status %d", code)
	}
	var leaves []server.XRLeaf
	get(t, ds, "xr/leaves", url.Values{"path": {ifCounters}, "device": {"pe1"}}, &leaves)
	if len(leaves) != 2 || leaves[0].Leaf != "BytesReceived" || leaves[0].Kind != "counter" || leaves[1].Metric != "xr_generic_counters_packets_received" {
		t.Fatalf("pe1 leaves = %+v", leaves)
	}
	// A policy path finds the leaves that came under its compact spelling.
	get(t, ds, "xr/leaves", url.Values{"path": {ifRate}}, &leaves)
	if len(leaves) != 1 || leaves[0].Metric != "xr_data_rate_input_data_rate" {
		t.Fatalf("leaves of %s = %+v", ifRate, leaves)
	}
	// A restricted instance gets the union over its own routers only.
	restricted := instance(t, srv, `{"devices":["pe1","pe2"]}`)
	get(t, restricted, "xr/leaves", url.Values{"path": {ifCounters}}, &leaves)
	if len(leaves) != 3 {
		t.Fatalf("union leaves = %+v", leaves)
	}

	var routers []server.XRRouter
	get(t, instance(t, srv, `{"devices":["pe2"]}`), "xr/routers", nil, &routers)
	if len(routers) != 1 || routers[0].Device != "pe2" || routers[0].Drops == nil || routers[0].MissingProtos == nil {
		t.Fatalf("routers = %+v", routers)
	}
	var pols []server.XRPolicyFile
	get(t, ds, "xr/policies", nil, &pols)
	if len(pols) != 2 || pols[1].Groups == nil || pols[1].Problems[0].Reason != "bad_period" {
		t.Fatalf("policies = %+v", pols)
	}
	var protos []server.XRProtoFile
	get(t, ds, "xr/protos", nil, &protos)
	if len(protos) != 1 || protos[0].Paths[0].Path != ifCounters || protos[0].Problems == nil {
		t.Fatalf("protos = %+v", protos)
	}

	off := instance(t, testServer(t), `{}`)
	for _, r := range []string{"xr/routers", "xr/paths", "xr/policies", "xr/protos"} {
		if code := get(t, off, r, nil, nil); code != 503 {
			t.Errorf("%s with XR off: status %d", r, code)
		}
	}
}

// Health names each kind of XR trouble, as warnings: data still flows.
func TestXRHealthWarnings(t *testing.T) {
	srv, x := xrServer(t)
	res := health(t, instance(t, srv, `{}`))
	if res.Status != backend.HealthStatusOk {
		t.Fatalf("status %v: %s", res.Status, res.Message)
	}
	for _, want := range []string{
		"IOS XR router pe1 (192.0.2.1:40000): the receiver dropped; dropped 2 bad_zlib",
		"compact GPB for " + memSummary + ", which no .proto in xr_proto_dir describes: 7 rows skipped",
		"IOS XR policy file Broken.policy:4: bad_period: period 2 is outside 5..86400 s",
		"IOS XR policy Basic group Memory (every 300s): router pe1 silent since",
		"IOS XR router pe4 (192.0.2.4:50000) stopped sending; last seen 2023-11-14T22:13:20Z",
	} {
		if !strings.Contains(res.Message, want) {
			t.Errorf("health lacks %q:\n%s", want, res.Message)
		}
	}
	if notes := instance(t, srv, `{}`).health(time.Now()).Notes; !slices.Contains(notes, "2 of 3 IOS XR routers sending, 2 policy files, 1 proto files") {
		t.Errorf("notes = %q", notes)
	}
	if strings.Contains(res.Message, "router pe2") {
		t.Errorf("pe2 has no trouble: %s", res.Message)
	}

	// The status page's XR section sums what health names one by one.
	var st struct {
		XR struct {
			Enabled          bool
			Routers          []server.XRRouter
			Drops            uint64
			MissingProtoRows uint64
			FileProblems     int
			SilentGroups     []server.XRSilentGroup
			State            struct{ MaxBytes int64 }
		} `json:"xr"`
	}
	get(t, instance(t, srv, `{}`), "status", nil, &st)
	if x := st.XR; !x.Enabled || len(x.Routers) != 3 || x.Drops != 2 || x.MissingProtoRows != 7 || x.FileProblems != 1 || len(x.SilentGroups) != 1 || x.State.MaxBytes != 4<<20 {
		t.Fatalf("status xr = %+v", st.XR)
	}

	// Many paths without a .proto: ten lines and a count of the rest.
	x.routers[0].MissingProtos = map[string]uint64{}
	for i := range 25 {
		x.routers[0].MissingProtos[memSummary+strings.Repeat("x", i)] = 1
	}
	res = health(t, instance(t, srv, `{}`))
	if n := strings.Count(res.Message, "rows skipped"); n != maxXRHealthLines || !strings.Contains(res.Message, "15 more paths without a .proto") {
		t.Fatalf("%d missing-proto lines: %s", n, res.Message)
	}
}

// xrStateWriter appends xr_state records as the mapper does: long format,
// one record per row and string leaf, keys as columns.
func writeXRState(t *testing.T, tab *records.Table, at time.Time, device, iface, leaf, value string) {
	t.Helper()
	app := tab.NewAppender()
	app.Begin(at.UnixMilli())
	for _, c := range [][2]string{{"device", device}, {"path", ifCounters}, {"policy", "Basic"}, {"leaf", leaf}, {"value", value}, {"interface_name", iface}} {
		col, err := tab.Column(c[0], records.String)
		if err != nil {
			t.Fatal(err)
		}
		app.String(col, []byte(c[1]))
	}
	app.Commit()
	app.Flush()
}

// String leaves are records of kind xr_state: raw rows for a state table,
// filtered by leaf and key, restricted to the instance's routers (their
// column is device, as in the series), with fields and values for the
// editor.
func TestXRStateRecords(t *testing.T) {
	srv, _ := xrServer(t)
	now := time.Now()
	writeXRState(t, srv.XRState, now.Add(-2*time.Minute), "pe1", "Gi0/0/0/0", "State", "up")
	writeXRState(t, srv.XRState, now.Add(-time.Minute), "pe1", "Gi0/0/0/0", "State", "down")
	writeXRState(t, srv.XRState, now.Add(-time.Minute), "pe2", "Gi0/0/0/1", "State", "up")
	writeXRState(t, srv.XRState, now.Add(-time.Minute), "pe1", "Gi0/0/0/0", "Description", "to core")
	ds := instance(t, srv, `{}`)

	r := recordsQuery(t, ds, `{"kind":"records","source":"xr","recordKind":"xr_state","columns":["time","device","interface_name","value"],
		"filters":[{"field":"leaf","op":"=","values":["State"]}]}`, now.Add(-time.Hour), now, time.Second)
	f := r.Frames[0]
	if f.Rows() != 3 {
		t.Fatalf("%d state rows", f.Rows())
	}
	if v, _ := f.FieldByName("value"); v.At(0) != "down" && v.At(0) != "up" {
		t.Fatalf("newest value %v", v.At(0))
	}

	// The source alone names the table.
	r = recordsQuery(t, ds, `{"kind":"records","source":"xr","aggregates":[{"func":"count"}],"groupBy":["leaf"]}`, now.Add(-time.Hour), now, time.Second)
	if r.Frames[0].Rows() != 2 {
		t.Fatalf("leaves counted: %d rows", r.Frames[0].Rows())
	}

	restricted := instance(t, srv, `{"devices":["pe2"]}`)
	r = recordsQuery(t, restricted, `{"kind":"records","recordKind":"xr_state","columns":["device"],"adhocFilters":[{"label":"device","op":"!=","value":"x"}]}`, now.Add(-time.Hour), now, time.Second)
	if dev, _ := r.Frames[0].FieldByName("device"); r.Frames[0].Rows() != 1 || dev.At(0) != "pe2" {
		t.Fatalf("restricted instance sees %d rows", r.Frames[0].Rows())
	}
	var vals []string
	get(t, restricted, "records/values", url.Values{"kind": {"xr_state"}, "field": {"interface_name"}}, &vals)
	if len(vals) != 1 || vals[0] != "Gi0/0/0/1" {
		t.Fatalf("restricted values = %v", vals)
	}
	var fields []recordField
	get(t, ds, "records/fields", url.Values{"source": {"xr"}}, &fields)
	names := map[string]bool{}
	for _, fl := range fields {
		names[fl.Name] = true
	}
	if !names["leaf"] || !names["value"] || !names["interface_name"] || names["exporter"] {
		t.Fatalf("fields = %+v", fields)
	}

	// Wrong pairs and XR off are the caller's to hear about.
	off := instance(t, testServer(t), `{}`)
	res, _ := off.QueryData(t.Context(), &backend.QueryDataRequest{Queries: []backend.DataQuery{{RefID: "A",
		JSON: []byte(`{"kind":"records","recordKind":"xr_state"}`), TimeRange: backend.TimeRange{From: now.Add(-time.Hour), To: now}}}})
	if e := res.Responses["A"]; e.Error == nil || !strings.Contains(e.Error.Error(), "IOS XR receiver is off") {
		t.Fatalf("xr_state with XR off: %v", e.Error)
	}
	res, _ = ds.QueryData(t.Context(), &backend.QueryDataRequest{Queries: []backend.DataQuery{{RefID: "A",
		JSON: []byte(`{"kind":"records","source":"ipfix","recordKind":"xr_state"}`), TimeRange: backend.TimeRange{From: now.Add(-time.Hour), To: now}}}})
	if e := res.Responses["A"]; e.Error == nil || e.Status != backend.StatusBadRequest {
		t.Fatalf("xr_state from source ipfix: %v", e.Error)
	}
}

// A live state table: new xr_state records reach RunStream.
func TestXRStateLive(t *testing.T) {
	srv, _ := xrServer(t)
	now := time.Now()
	writeXRState(t, srv.XRState, now.Add(-time.Minute), "pe1", "Gi0/0/0/0", "State", "up")
	ds := instance(t, srv, `{}`)
	r := recordsQuery(t, ds, `{"kind":"records","recordKind":"xr_state","columns":["time","interface_name","value"],"live":true}`, now.Add(-time.Hour), now, time.Second)
	hist := r.Frames[0]
	if hist.Meta.Channel == "" || hist.Rows() != 1 {
		t.Fatalf("live history: channel %q, %d rows", hist.Meta.Channel, hist.Rows())
	}
	c, cancel, done := subscribeAndRun(t, ds, hist.Meta.Channel)
	defer cancel()
	time.Sleep(2 * recordsPoll)
	writeXRState(t, srv.XRState, time.Now(), "pe1", "Gi0/0/0/0", "State", "down")
	select {
	case raw := <-c.frames:
		f := decodeFull(t, raw)
		if v, _ := f.FieldByName("value"); f.Rows() != 1 || v.At(0) != "down" {
			t.Fatalf("pushed %d rows", f.Rows())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no live frame for a state change")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// The editor asks xr/paths whenever the router picker changes: a fleet
// of 200 routers, each sending the 50 paths of 5 policies, merged with
// those policies' paths.
func BenchmarkXRPaths(b *testing.B) {
	x := &fakeXR{}
	for pi := range 5 {
		pf := server.XRPolicyFile{File: fmt.Sprintf("P%d.policy", pi), Name: fmt.Sprintf("P%d", pi)}
		for gi := range 2 {
			g := server.XRGroup{Name: fmt.Sprintf("G%d", gi), PeriodSeconds: 30}
			for k := range 5 {
				g.Paths = append(g.Paths, fmt.Sprintf("RootOper.Bench%d.Item(*).Leaf%d", pi*10+gi*5+k, k))
			}
			pf.Groups = append(pf.Groups, g)
		}
		x.policies = append(x.policies, pf)
	}
	for r := range 200 {
		for _, pf := range x.policies {
			for _, g := range pf.Groups {
				for _, p := range g.Paths {
					x.paths = append(x.paths, server.XRDataPath{Device: fmt.Sprintf("pe%03d", r), Path: p, Policy: pf.Name, Subscription: g.Name,
						LastSeenMs: int64(r), Keys: []string{"item_name"}, Leaves: 20})
				}
			}
		}
	}
	ds := &Datasource{}
	var out []xrPath
	for b.Loop() {
		out = ds.xrPaths(x, "")
	}
	if len(out) != 50 || len(out[0].Devices) != 200 {
		b.Fatalf("%d paths, %d devices", len(out), len(out[0].Devices))
	}
}
