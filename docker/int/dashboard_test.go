// The provisioned INT overview end to end: the collector configured from
// the image's grafana.ini, fed over loopback by the compose file's int-sim
// service (the simulator as that service runs it), and every target of the
// dashboard, its annotations and the INT alert rules' queries asked as
// Grafana asks them. Apart from package docker so each package's tests stay
// within their time budget on a two-core machine.

package intdemo

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/netlens/netlens/docker/demotest"
	"github.com/netlens/netlens/pkg/plugin"
	"github.com/netlens/netlens/pkg/query"
	"github.com/netlens/netlens/pkg/server"
	"github.com/netlens/netlens/pkg/sim/intsim"
)

const (
	dashboardFile = "src/dashboards/int-overview.json"
	rulesFile     = "provisioning/alerting/netlens-int.yaml"
)

// startCollector starts the process scope with the image's settings, the
// INT receiver on a loopback port of the OS' choosing and the other
// receivers off (their own tests run them).
func startCollector(t *testing.T) *server.Server {
	t.Helper()
	keys := demotest.ImageKeys(t)
	keys["data_dir"] = t.TempDir()
	for _, k := range []string{"ftd_listen_address", "ipfix_udp_listen_address", "ipfix_tcp_listen_address",
		"xr_tcp_listen_address", "xr_udp_listen_address", "xr_grpc_listen_address"} {
		keys[k] = "off"
	}
	keys["int_udp_listen_address"] = "127.0.0.1:0"
	for _, k := range []string{"xr_policy_dir", "xr_proto_dir", "ipfix_definitions_file"} {
		if local, ok := demotest.Provisioned(t, keys[k]); ok {
			keys[k] = local
		}
	}
	srv := demotest.StartCollector(t, keys, 5*time.Second)
	if srv.INT == nil || srv.INTReports == nil {
		t.Fatalf("collector did not start INT: %v", srv.Problems)
	}
	return srv
}

// composeSim reads the int-sim service's command into a simulator
// configuration the way `netlens-sim int` reads its flags
// (cmd/netlens-sim/int.go), aimed at target. A flag this test does not
// know fails it rather than being left out.
func composeSim(t *testing.T, target string) intsim.Config {
	t.Helper()
	cmd := demotest.ComposeServices(t)[simService].Command
	if len(cmd) == 0 || cmd[0] != "int" {
		t.Fatalf("docker-compose.yaml: %s runs %v, not netlens-sim int", simService, cmd)
	}
	cfg := intsim.Config{Target: target, Rate: 1000}
	d := &cfg.Domain
	// The command's "0 means none" for shares and rates is the library's
	// negative value (its 0 is "default").
	neg := func(v float64) float64 {
		if v == 0 {
			return -1
		}
		return v
	}
	for _, f := range demotest.Flags(simService, cmd[1:]) {
		switch f.Name {
		case "target", "stats":
		case "mode":
			d.Mode = map[string]intsim.Mode{"int": intsim.ModeINT, "postcard": intsim.ModePostcard}[f.Value]
		case "version":
			d.Encoding.Version = map[string]intsim.Version{"0.5": intsim.V05, "1.0": intsim.V10, "1": intsim.V10}[f.Value]
		case "spines":
			d.Spines = f.Int(t)
		case "leaves":
			d.Leaves = f.Int(t)
		case "hosts":
			d.HostsPerLeaf = f.Int(t)
		case "flows":
			d.Flows = f.Int(t)
		case "rate":
			cfg.Rate = f.Float(t)
		case "drop-rate":
			d.DropRate = neg(f.Float(t))
		case "loss-rate":
			d.LossRate = neg(f.Float(t))
		case "udp-share":
			d.UDPShare = neg(f.Float(t))
		case "icmp-share":
			d.ICMPShare = neg(f.Float(t))
		case "ipv6-share":
			d.IPv6Share = f.Float(t)
		case "congestion-every":
			if d.CongestionEvery = f.Duration(t); d.CongestionEvery == 0 {
				d.CongestionEvery = -1
			}
		case "congestion-for":
			d.CongestionFor = f.Duration(t)
		case "queue-depth":
			d.QueueThreshold = uint32(f.Int(t))
		case "queue-limit":
			d.QueueLimit = uint32(f.Int(t))
		case "queue-quota":
			d.QueueQuota = f.Int(t)
		case "spine-down-every":
			d.SpineDownEvery = f.Duration(t)
		case "spine-down-for":
			d.SpineDownFor = f.Duration(t)
		case "wrap-after":
			d.WrapAfter = f.Duration(t)
		case "seed":
			d.Seed = uint64(f.Int(t))
		case "no-sink-local":
			d.NoSinkLocal = true
		default:
			t.Fatalf("%s: flag %s: this test does not know how netlens-sim reads it", simService, f.Arg)
		}
	}
	return cfg
}

// demo is the collector with what the simulated fabric sent.
type demo struct {
	srv    *server.Server
	ds     *plugin.Datasource
	sim    *intsim.Sim
	totals intsim.Totals
	tr     backend.TimeRange
	// names is switch id ("0x%08x") → name as the simulator names it.
	names map[string]string
}

func switchID(id uint32) string { return fmt.Sprintf("0x%08x", id) }

// reportType is the receiver's and the mapper's type of a simulated
// report kind (postcards and local reports are both flow reports).
var reportType = map[intsim.Kind]string{
	intsim.KindLocal: "flow", intsim.KindPostcard: "flow", intsim.KindINT: "int",
	intsim.KindDrop: "drop", intsim.KindQueue: "queue",
}

// sentByType is what the simulator sent, as "device|type" → reports.
func (d *demo) sentByType() map[string]float64 {
	out := map[string]float64{}
	for _, sw := range d.totals.Switches {
		for k, n := range sw.Reports {
			if n > 0 {
				out[switchID(sw.ID)+"|"+reportType[intsim.Kind(k)]] += float64(n)
			}
		}
	}
	return out
}

// devices is the switches that sent anything.
func (d *demo) devices() []string {
	var out []string
	for _, sw := range d.totals.Switches {
		var n uint64
		for _, c := range sw.Reports {
			n += c
		}
		if n > 0 {
			out = append(out, switchID(sw.ID))
		}
	}
	slices.Sort(out)
	return out
}

// lastByType reads a counter's last value per device and type, leaving out zeros.
func (d *demo) lastByType(t *testing.T, metric string) map[string]float64 {
	t.Helper()
	v, err := d.srv.Store.InstantQuery(context.Background(), metric, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, s := range v {
		// The receiver writes every type of a switch, zeros too.
		if s.F != 0 {
			out[s.Metric.Get("device")+"|"+s.Metric.Get("type")] += s.F
		}
	}
	return out
}

// startDemo runs the compose file's simulated fabric at its own rate
// until it has sent drops, congestion and lost reports and the collector
// has written every health and mapper series twice (they are written every
// 10 s; rates need two points), then stops it and waits until the series
// hold its final totals.
func startDemo(t *testing.T) *demo {
	t.Helper()
	srv := startCollector(t)
	cfg := composeSim(t, srv.INT.Addr())
	sim, err := intsim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	d := &demo{srv: srv, sim: sim, names: map[string]string{}}
	for _, sw := range sim.Domain().Topo.Switches {
		d.names[switchID(sw.ID)] = sw.Name
	}

	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- sim.Run(ctx) }()
	some := func(expr string) bool {
		v, err := srv.Store.InstantQuery(context.Background(), expr, time.Now())
		return err == nil && len(v) > 0
	}
	twice := func(selector string) bool { return some("count_over_time(" + selector + "[5m]) >= 2") }
	// What has arrived is read from the store: the simulator's totals may
	// only be read once it has stopped.
	for {
		if twice("int_switch_reports_total") && twice("int_reports_total") && twice("int_queue_occupancy") &&
			twice("int_drops_total") && twice(`int_reports_total{type="queue"}`) && twice("int_switch_lost_reports_total") && some("int_switch_lost_reports_total > 0") {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("within 40 s the collector did not write drops, queue reports and lost reports twice: %+v", srv.INT.Switches())
		}
		time.Sleep(250 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil && ctx.Err() == nil {
		t.Fatal(err)
	}
	d.totals = sim.Totals()
	if d.totals.Errors > 0 {
		t.Fatalf("the simulator failed to send: %s", d.totals.LastError)
	}

	// The receiver's and the mapper's counters reach what was sent (the
	// next write, at most 10 s on).
	want := d.sentByType()
	deadline := time.Now().Add(25 * time.Second)
	for {
		rcv, mapped := d.lastByType(t, "int_switch_reports_total"), d.lastByType(t, "int_reports_total")
		if maps.Equal(rcv, want) && maps.Equal(mapped, want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("reports by switch and type:\n sent     %v\n received %v\n mapped   %v", want, rcv, mapped)
		}
		time.Sleep(250 * time.Millisecond)
	}

	d.ds = demotest.NewDatasource(t, srv)
	d.tr = demotest.LastHour(time.Now())
	return d
}

func (d *demo) run(t *testing.T, q query.Query, tr backend.TimeRange, interval time.Duration, maxDataPoints int64) backend.DataResponse {
	t.Helper()
	return demotest.Query(t, d.ds, q, tr, interval, maxDataPoints)
}

func (d *demo) panelQuery(t *testing.T, q query.Query) backend.DataResponse {
	t.Helper()
	return d.run(t, q, d.tr, demotest.PanelInterval, demotest.PanelMaxDataPoints)
}

func (d *demo) resource(t *testing.T, path string, params url.Values, out any) {
	t.Helper()
	demotest.Resource(t, d.ds, path, params, out)
}

// vars holds the dashboard's variables as Grafana would set them: $flow
// at All (every value its query lists), $switch_names its text.
type vars struct {
	flows       []string
	switchNames string
}

// interpolate does what the data source's applyTemplateVariables does: a
// filter value "$flow" becomes the values, the path query's flow one value
// or a JSON array of them (interpolateFlow), the switch names their text.
func (v vars) interpolate(t *testing.T, q query.Query) query.Query {
	t.Helper()
	for i, f := range q.Filters {
		var out []string
		for _, x := range f.Values {
			switch {
			case x == "$flow":
				out = append(out, v.flows...)
			case strings.Contains(x, "$"):
				t.Fatalf("filter value %q: this test replaces $flow as a whole value only", x)
			default:
				out = append(out, x)
			}
		}
		q.Filters[i].Values = out
	}
	switch {
	case q.Flow == "$flow" && len(v.flows) == 1:
		q.Flow = v.flows[0]
	case q.Flow == "$flow":
		js, err := json.Marshal(v.flows)
		if err != nil {
			t.Fatal(err)
		}
		q.Flow = string(js)
	}
	q.SwitchNames = strings.ReplaceAll(q.SwitchNames, "$switch_names", v.switchNames)
	if s := fmt.Sprint(q.Expr, q.Matchers, q.Filters, q.Flow, q.SwitchNames, q.GroupBy, q.Columns); strings.Contains(s, "$") {
		t.Fatalf("query %+v still holds a variable", q)
	}
	return q
}

func fieldNames(f *data.Frame) []string {
	var out []string
	for _, fl := range f.Fields {
		out = append(out, fl.Name)
	}
	return out
}

// keyOf is a row's or a series' group as "a=x,b=y".
func keyOf(names []string, value func(string) string) string {
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = n + "=" + value(n)
	}
	return strings.Join(parts, ",")
}

// The compose demo's INT side end to end: the collector with the image's
// settings, the compose file's simulated leaf-spine fabric sending at its
// own rate until it has dropped packets, congested queues and lost
// reports, then every target of the INT overview, its episode
// annotations and the INT alert rules' queries, with $flow at All.
func TestINTOverviewShowsWhatTheFabricSent(t *testing.T) {
	db := demotest.ReadLastHourDashboard(t, dashboardFile)
	d := startDemo(t)

	var v vars
	for _, x := range db.Templating.List {
		switch {
		case x.Type == "datasource":
		case x.Name == "flow" && x.Type == "query":
			var vq struct {
				Kind, RecordKind, Field string
			}
			if err := json.Unmarshal(x.Query, &vq); err != nil || vq.Kind != "records" || !x.Multi || !x.IncludeAll || x.AllValue != "" {
				t.Fatalf("variable flow (%s): this test sets a records-values variable at All without a custom all value", x.Query)
			}
			// The data source takes the values as a list (or under "values").
			var raw json.RawMessage
			d.resource(t, "records/values", url.Values{"kind": {vq.RecordKind}, "field": {vq.Field}, "limit": {"1000"},
				"from": {fmt.Sprint(d.tr.From.UnixMilli())}, "to": {fmt.Sprint(d.tr.To.UnixMilli())}}, &raw)
			if err := json.Unmarshal(raw, &v.flows); err != nil {
				var obj struct{ Values []string }
				if err := json.Unmarshal(raw, &obj); err != nil {
					t.Fatalf("records/values: %s", raw)
				}
				v.flows = obj.Values
			}
		case x.Name == "switch_names" && (x.Type == "textbox" || x.Type == "constant"):
			if err := json.Unmarshal(x.Query, &v.switchNames); err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatalf("variable %s of type %s: this test does not know how Grafana would set it", x.Name, x.Type)
		}
	}
	t.Run("variables", func(t *testing.T) { d.checkVariables(t, v) })
	if len(v.flows) == 0 {
		t.Fatal("$flow lists no flow")
	}

	var livePath *query.Query
	demotest.EachTarget(t, &db, "int", func(t *testing.T, where string, q query.Query) {
		q = v.interpolate(t, q)
		switch q.Kind {
		case query.KindSeries, "":
			d.checkSeries(t, where, q)
		case query.KindRecords:
			d.checkRecords(t, where, q, v)
		case "path":
			d.checkPath(t, where, q, v)
			if q.Live {
				livePath = &q
			}
		default:
			t.Fatalf("%s: kind %q", where, q.Kind)
		}
	})
	annotations := 0
	for _, a := range db.Annotations.List {
		if a.BuiltIn != 0 {
			continue
		}
		annotations++
		var q query.Query
		if err := json.Unmarshal(a.Target, &q); err != nil {
			t.Fatal(err)
		}
		t.Run("annotation "+a.Name, func(t *testing.T) { d.checkEpisodes(t, a.Name, v.interpolate(t, q)) })
	}
	if annotations != 2 {
		t.Errorf("%d annotations, want drop and congestion episodes", annotations)
	}
	t.Run("alerts", func(t *testing.T) { d.checkAlertRules(t) })
	if livePath == nil {
		t.Fatal("no live path target")
	}
	t.Run("live path", func(t *testing.T) { d.checkLivePath(t, *livePath, v) })
}

// packets is a stream sender that keeps what RunStream sends.
type packets chan []byte

func (p packets) Send(pk *backend.StreamPacket) error {
	select {
	case p <- append([]byte(nil), pk.Data...):
	default: // the test reads the first few only
	}
	return nil
}

// checkLivePath: the live path target's answer names a channel, and while
// the fabric sends again its stream pushes the selected flows' new
// observations as path frames.
func (d *demo) checkLivePath(t *testing.T, q query.Query, v vars) {
	r := d.panelQuery(t, q)
	if r.Error != nil || len(r.Frames) != 1 || r.Frames[0].Meta == nil || r.Frames[0].Meta.Channel == "" {
		t.Fatalf("live path: %v, %d frames, no channel", r.Error, len(r.Frames))
	}
	var newest int64
	for i := range r.Frames[0].Rows() {
		if x, ok := demotest.Number(demotest.Field(r.Frames[0], "time"), i); ok {
			newest = max(newest, int64(x))
		}
	}
	path, ok := strings.CutPrefix(r.Frames[0].Meta.Channel, "ds/netlens/")
	if !ok {
		t.Fatalf("channel %q is not the data source's", r.Frames[0].Meta.Channel)
	}
	req := backend.PluginContext{OrgID: 1}
	if s, err := d.ds.SubscribeStream(context.Background(), &backend.SubscribeStreamRequest{PluginContext: req, Path: path}); err != nil || s.Status != backend.SubscribeStreamStatusOK {
		t.Fatalf("subscribe %s: %v %+v", path, err, s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	got := make(packets, 16)
	done := make(chan error, 1)
	go func() {
		done <- d.ds.RunStream(ctx, &backend.RunStreamRequest{PluginContext: req, Path: path}, backend.NewStreamSender(got))
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil && ctx.Err() == nil {
			t.Error(err)
		}
	}()

	// The same fabric again, as after a restart of the int-sim container.
	cfg := d.sim.Config()
	cfg.Count = uint64(3 * cfg.Rate)
	sim, err := intsim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = sim.Run(ctx) }()
	select {
	case raw := <-got:
		var f data.Frame
		if err := json.Unmarshal(raw, &f); err != nil {
			t.Fatalf("live packet %s: %v", raw, err)
		}
		if names := slices.Sorted(slices.Values(fieldNames(&f))); !slices.Equal(names, slices.Sorted(slices.Values(pathFields))) {
			t.Errorf("live frame fields %v, want the path frame's", fieldNames(&f))
		}
		if f.Rows() == 0 {
			t.Error("live frame without rows")
		}
		for i := range f.Rows() {
			if fl := demotest.Cell(demotest.Field(&f, "flow"), i); !slices.Contains(v.flows, fl) {
				t.Errorf("live row %d: flow %q is none $flow names", i, fl)
			}
			if x, _ := demotest.Number(demotest.Field(&f, "time"), i); int64(x) <= newest {
				t.Errorf("live row %d at %v ms is not newer than the answer's newest %d ms", i, x, newest)
			}
		}
	case <-ctx.Done():
		t.Fatal("no live path frame while the fabric sent again")
	}
}

// checkVariables: $flow lists exactly the flows the fabric reported on,
// and the default $switch_names names exactly the simulated switches.
func (d *demo) checkVariables(t *testing.T, v vars) {
	var sent []string
	for _, f := range d.totals.Flows {
		if f.Reports > 0 {
			sent = append(sent, f.Flow)
		}
	}
	slices.Sort(sent)
	got := slices.Sorted(slices.Values(v.flows))
	if !slices.Equal(got, sent) {
		t.Errorf("$flow lists %d flows, the fabric reported on %d:\n got  %v\n sent %v", len(got), len(sent), got, sent)
	}
	named := map[string]string{}
	for _, pair := range strings.FieldsFunc(v.switchNames, func(r rune) bool { return r == ',' || r == '\n' }) {
		id, name, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok {
			t.Fatalf("$switch_names: %q is not id=name", pair)
		}
		n, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(id), "0x"), 16, 32)
		if err != nil || !strings.HasPrefix(strings.ToLower(id), "0x") {
			t.Fatalf("$switch_names: %q is not a hex switch id", id)
		}
		named[switchID(uint32(n))] = name
	}
	if !maps.Equal(named, d.names) {
		t.Errorf("$switch_names names %v, the compose fabric's switches are %v", named, d.names)
	}
}

// seriesWant is what a series target must draw, by its group: exactly the
// groups listed (exact), or at least them and no device the fabric does
// not have (not exact).
func (d *demo) seriesWant(t *testing.T, where, metric string) (groups map[string]bool, exact bool) {
	t.Helper()
	groups = map[string]bool{}
	dev := func(id uint32) string { return "device=" + switchID(id) }
	switch metric {
	case "int_reports_total", "int_switch_reports_total":
		for k := range d.sentByType() {
			id, typ, _ := strings.Cut(k, "|")
			groups["device="+id+",type="+typ] = true
		}
		return groups, true
	case "int_drops_total":
		for k := range d.totals.Drops {
			groups[fmt.Sprintf("%s,port=%d,reason=%d", dev(k.Switch), k.EgressPort, k.Reason)] = true
		}
		return groups, true
	case "int_queue_occupancy":
		// Every hop of an INT stack carries its queue: many more queues
		// than the congested ones.
		for k := range d.totals.Queues {
			groups[fmt.Sprintf("%s,queue=%d", dev(k.Switch), k.Queue)] = true
		}
		return groups, false
	case "int_hop_latency_ns_max", "int_switch_lost_reports_total", "int_switch_silence_seconds":
		for _, id := range d.devices() {
			groups["device="+id] = true
		}
		return groups, metric != "int_hop_latency_ns_max"
	case "int_receiver_drops_total":
		for r := range d.srv.INT.ReceiverDrops() {
			groups["reason="+r] = true
		}
		return groups, true
	case "int_switch_drops_total":
		// The simulator sends nothing malformed, at a rate the receiver keeps up with.
		return groups, true
	}
	t.Fatalf("%s: this test does not know what %s should show", where, metric)
	return nil, false
}

// moving are the series that must show a value above zero: reports flow,
// latencies are never zero, silence grows between reports.
var moving = map[string]bool{
	"int_reports_total": true, "int_queue_occupancy": true, "int_hop_latency_ns_max": true,
}

func (d *demo) checkSeries(t *testing.T, where string, q query.Query) {
	if q.EditorMode == query.ModeCode {
		t.Fatalf("%s: this test reads builder series targets only", where)
	}
	want, exact := d.seriesWant(t, where, q.Metric)
	r := d.panelQuery(t, q)
	if r.Error != nil {
		t.Errorf("%s: %v", where, r.Error)
		return
	}
	got := map[string]bool{}
	positive := false
	for _, f := range r.Frames {
		for _, fl := range f.Fields {
			if fl.Type().Time() || fl.Len() == 0 {
				continue
			}
			names := q.GroupBy
			if q.Aggregation == "" {
				names = storedLabels(fl.Labels)
			}
			if dev, ok := fl.Labels["device"]; ok && fl.Labels["switch"] != cmp.Or(d.names[dev], dev) {
				t.Errorf("%s: series %v: switch %q, $switch_names says %q", where, fl.Labels, fl.Labels["switch"], d.names[dev])
			}
			got[keyOf(names, func(n string) string { return fl.Labels[n] })] = true
			for i := range fl.Len() {
				x, ok := demotest.Number(fl, i)
				if !ok {
					continue
				}
				if x < 0 {
					t.Errorf("%s: %v has %v", where, fl.Labels, x)
				}
				if x > 0 {
					positive = true
				}
				if q.Metric == "int_switch_silence_seconds" && i == fl.Len()-1 && x > 60 {
					t.Errorf("%s: %v silent for %v s right after it sent", where, fl.Labels, x)
				}
			}
		}
	}
	switch {
	case exact && q.Rate:
		// A rate needs two points: a group whose series were all first
		// written at the last write may be missing.
		settled := d.settledGroups(t, q)
		for k := range want {
			if !got[k] && settled[k] {
				t.Errorf("%s: %s lacks %s (drew %v)", where, q.Metric, k, slices.Sorted(maps.Keys(got)))
			}
		}
		for k := range got {
			if !want[k] {
				t.Errorf("%s: %s drew %s; want %v", where, q.Metric, k, slices.Sorted(maps.Keys(want)))
			}
		}
	case exact && !maps.Equal(got, want):
		t.Errorf("%s: %s drew %v; want %v", where, q.Metric, slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	case !exact:
		for k := range want {
			if !got[k] {
				t.Errorf("%s: %s lacks %s (drew %v)", where, q.Metric, k, slices.Sorted(maps.Keys(got)))
			}
		}
		for k := range got {
			id, _, _ := strings.Cut(strings.TrimPrefix(k, "device="), ",")
			if _, ok := d.names[id]; !ok {
				t.Errorf("%s: %s drew %s, not a switch of the fabric", where, q.Metric, k)
			}
		}
	}
	if moving[q.Metric] && !positive {
		t.Errorf("%s: %s is flat at zero", where, q.Metric)
	}
}

// settledGroups are the groups of a series target with a series written
// at least twice.
func (d *demo) settledGroups(t *testing.T, q query.Query) map[string]bool {
	t.Helper()
	v, err := d.srv.Store.InstantQuery(context.Background(), "count_over_time("+q.Metric+"[1h]) >= 2", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, s := range v {
		names := q.GroupBy
		if q.Aggregation == "" {
			names = nil
			s.Metric.Range(func(l labels.Label) {
				if l.Name != "__name__" {
					names = append(names, l.Name)
				}
			})
		}
		out[keyOf(names, s.Metric.Get)] = true
	}
	return out
}

// aggregate computes what a records query with aggregates should answer,
// from the raw rows of the same filters: each group's aggregates.
type groupRow struct {
	key    string
	values []float64
}

func (d *demo) expectedGroups(t *testing.T, where string, q query.Query) map[string][]float64 {
	t.Helper()
	cols := slices.Clone(q.GroupBy)
	for _, a := range q.Aggregates {
		if a.Field != "" && !slices.Contains(cols, a.Field) {
			cols = append(cols, a.Field)
		}
	}
	raw := q
	raw.RefID, raw.Aggregates, raw.GroupBy, raw.TopN, raw.Other, raw.Bucket = "raw", nil, nil, 0, false, ""
	raw.Columns, raw.Limit = cols, 100000
	r := d.panelQuery(t, raw)
	if r.Error != nil || len(r.Frames) != 1 {
		t.Fatalf("%s: raw rows of the same filters: %v (%d frames)", where, r.Error, len(r.Frames))
	}
	f := r.Frames[0]
	if f.Rows() >= raw.Limit {
		t.Fatalf("%s: more than %d raw rows: this test cannot aggregate them", where, raw.Limit)
	}
	type acc struct{ n, sum, maxv, count float64 }
	accs := map[string][]*acc{}
	for i := range f.Rows() {
		k := keyOf(q.GroupBy, func(n string) string { return demotest.Cell(demotest.Field(f, n), i) })
		if accs[k] == nil {
			for range q.Aggregates {
				accs[k] = append(accs[k], &acc{maxv: math.Inf(-1)})
			}
		}
		for j, a := range q.Aggregates {
			c := accs[k][j]
			if a.Func == "count" {
				c.count++
				continue
			}
			if x, ok := demotest.Number(demotest.Field(f, a.Field), i); ok {
				c.n++
				c.sum += x
				c.maxv = max(c.maxv, x)
			}
		}
	}
	out := map[string][]float64{}
	for k, as := range accs {
		for j, a := range q.Aggregates {
			c := as[j]
			switch a.Func {
			case "count":
				out[k] = append(out[k], c.count)
			case "max":
				out[k] = append(out[k], c.maxv)
			case "avg":
				out[k] = append(out[k], c.sum/c.n)
			default:
				t.Fatalf("%s: aggregate %s: this test does not compute it", where, a.Func)
			}
		}
	}
	return out
}

func near(a, b float64) bool {
	return a == b || math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b))
}

// checkRecords checks an int_report target: raw rows are the newest of
// what was sent, each switch named; groups are the top N of the groups
// the raw rows make, and drop and congestion groups count exactly the
// reports the fabric sent.
func (d *demo) checkRecords(t *testing.T, where string, q query.Query, v vars) {
	if q.RecordKind != "int_report" {
		t.Fatalf("%s: record kind %q", where, q.RecordKind)
	}
	if q.Bucket != "" {
		d.checkBuckets(t, where, q)
		return
	}
	r := d.panelQuery(t, q)
	if r.Error != nil || len(r.Frames) != 1 {
		t.Errorf("%s: %v (%d frames)", where, r.Error, len(r.Frames))
		return
	}
	f := r.Frames[0]
	if f.Rows() == 0 {
		t.Errorf("%s: no rows", where)
		return
	}
	d.checkSwitchColumn(t, where, f)
	flows := map[string]bool{}
	for _, fl := range v.flows {
		flows[fl] = true
	}
	if fl := demotest.Field(f, "flow"); fl != nil {
		for i := range f.Rows() {
			if c := demotest.Cell(fl, i); !flows[c] {
				t.Errorf("%s: row %d: flow %q is none the fabric reported on", where, i, c)
				break
			}
		}
	}

	if len(q.Aggregates) == 0 {
		for _, c := range q.Columns {
			if demotest.Field(f, c) == nil {
				t.Errorf("%s: no column %s (columns %v)", where, c, fieldNames(f))
			}
		}
		if f.Rows() != q.Limit {
			t.Errorf("%s: %d rows, want the newest %d of thousands", where, f.Rows(), q.Limit)
		}
		tm := demotest.Field(f, "time")
		for i := 1; i < f.Rows(); i++ {
			if a, b := demotest.Cell(tm, i-1), demotest.Cell(tm, i); a < b && len(a) == len(b) {
				t.Errorf("%s: rows not newest first at %d (%s, %s)", where, i, a, b)
				break
			}
		}
		return
	}

	want := d.expectedGroups(t, where, q)
	names := make([]string, len(q.Aggregates))
	for i, a := range q.Aggregates {
		names[i] = a.Func + "(" + a.Field + ")"
	}
	var rows []groupRow
	for i := range f.Rows() {
		g := groupRow{key: keyOf(q.GroupBy, func(n string) string { return demotest.Cell(demotest.Field(f, n), i) })}
		for _, n := range names {
			x, ok := demotest.Number(demotest.Field(f, n), i)
			if !ok {
				t.Errorf("%s: group %s: no %s (columns %v)", where, g.key, n, fieldNames(f))
			}
			g.values = append(g.values, x)
		}
		rows = append(rows, g)
	}
	// Top N by the first aggregate: the values shown are the N largest.
	var firsts []float64
	for _, w := range want {
		firsts = append(firsts, w[0])
	}
	slices.Sort(firsts)
	slices.Reverse(firsts)
	n := min(q.TopN, len(firsts))
	if len(rows) != n {
		t.Errorf("%s: %d groups, want the top %d of %d", where, len(rows), n, len(want))
	}
	var shown []float64
	for _, g := range rows {
		w, ok := want[g.key]
		if !ok {
			t.Errorf("%s: group %s is none of the raw rows' groups", where, g.key)
			continue
		}
		for j := range w {
			if !near(g.values[j], w[j]) {
				t.Errorf("%s: group %s: %s %v, the raw rows give %v", where, g.key, names[j], g.values[j], w[j])
			}
		}
		shown = append(shown, g.values[0])
	}
	slices.Sort(shown)
	slices.Reverse(shown)
	if len(shown) == n && !slices.EqualFunc(shown, firsts[:n], near) {
		t.Errorf("%s: shows %s %v, the top %d are %v", where, names[0], shown, n, firsts[:n])
	}

	// Drop and queue reports: exactly what the fabric sent, by switch, port, queue and reason.
	var typ string
	for _, fl := range q.Filters {
		if fl.Field == "type" && fl.Op == "=" && len(fl.Values) == 1 {
			typ = fl.Values[0]
		}
	}
	sent := map[string]float64{}
	switch {
	case typ == "drop" && slices.Equal(q.GroupBy, []string{"device", "egress_port", "drop_reason"}):
		for k, n := range d.totals.Drops {
			sent[fmt.Sprintf("device=%s,egress_port=%d,drop_reason=%d", switchID(k.Switch), k.EgressPort, k.Reason)] += float64(n)
		}
	case typ == "queue" && slices.Equal(q.GroupBy, []string{"device", "egress_port", "queue_id"}):
		for k, n := range d.totals.Queues {
			sent[fmt.Sprintf("device=%s,egress_port=%d,queue_id=%d", switchID(k.Switch), k.Port, k.Queue)] += float64(n)
		}
	case typ != "":
		t.Fatalf("%s: this test does not know what %s reports grouped by %v should hold", where, typ, q.GroupBy)
	}
	if typ != "" {
		counted := map[string]float64{}
		for k, w := range want {
			counted[k] = w[slices.Index(names, "count()")]
		}
		if !maps.Equal(counted, sent) {
			t.Errorf("%s: %s reports by group %v; the fabric sent %v", where, typ, counted, sent)
		}
	}
}

// checkBuckets checks a records target over time (one max aggregate by
// device): a series per group of the raw rows, up to the top N, each
// named, whose highest bucket is the group's maximum.
func (d *demo) checkBuckets(t *testing.T, where string, q query.Query) {
	if len(q.Aggregates) != 1 || q.Aggregates[0].Func != "max" || !slices.Equal(q.GroupBy, []string{"device"}) {
		t.Fatalf("%s: this test reads bucketed records of one max by device only", where)
	}
	want := d.expectedGroups(t, where, q)
	r := d.panelQuery(t, q)
	if r.Error != nil {
		t.Errorf("%s: %v", where, r.Error)
		return
	}
	got := map[string]float64{}
	for _, f := range r.Frames {
		for _, fl := range f.Fields {
			if fl.Type().Time() {
				continue
			}
			dev := fl.Labels["device"]
			if name := fl.Labels["switch"]; name != d.names[dev] {
				t.Errorf("%s: series %v: switch %q, $switch_names says %q", where, fl.Labels, name, d.names[dev])
			}
			top := math.Inf(-1)
			for i := range fl.Len() {
				if x, ok := demotest.Number(fl, i); ok {
					top = max(top, x)
				}
			}
			got["device="+dev] = top
		}
	}
	if len(want) > q.TopN {
		t.Fatalf("%s: %d groups, more than the top %d: this test compares all", where, len(want), q.TopN)
	}
	flat := map[string]float64{}
	for k, w := range want {
		flat[k] = w[0]
	}
	if !maps.EqualFunc(got, flat, near) {
		t.Errorf("%s: highest bucket per group %v; the raw rows give %v", where, got, flat)
	}
}

// checkSwitchColumn: a frame with device has the switch's name next to it.
func (d *demo) checkSwitchColumn(t *testing.T, where string, f *data.Frame) {
	dev := demotest.Field(f, "device")
	if dev == nil {
		return
	}
	sw := demotest.Field(f, "switch")
	if sw == nil {
		t.Errorf("%s: no switch column beside device (columns %v)", where, fieldNames(f))
		return
	}
	for i := range f.Rows() {
		if id, name := demotest.Cell(dev, i), demotest.Cell(sw, i); name != d.names[id] {
			t.Errorf("%s: row %d: device %s named %q, $switch_names says %q", where, i, id, name, d.names[id])
			return
		}
	}
}

// pathFields are the path frame's fields (notes/int-contracts.md).
var pathFields = []string{"time", "flow", "src_addr", "dst_addr", "protocol", "src_port", "dst_port", "hop", "switch",
	"switch_id", "ingress_port", "egress_port", "hop_latency", "queue_id", "queue_occupancy", "e2e_latency",
	"dropped", "drop_reason", "path_changed"}

// checkPath: one path frame; for every flow the fabric last saw whole, its
// newest observation is that path, switch by switch, by name; a flow whose
// last packet was dropped is marked dropped at the switch that dropped it.
func (d *demo) checkPath(t *testing.T, where string, q query.Query, v vars) {
	r := d.panelQuery(t, q)
	if r.Error != nil || len(r.Frames) != 1 {
		t.Errorf("%s: %v (%d frames)", where, r.Error, len(r.Frames))
		return
	}
	f := r.Frames[0]
	if got := slices.Sorted(slices.Values(fieldNames(f))); !slices.Equal(got, slices.Sorted(slices.Values(pathFields))) {
		t.Errorf("%s: fields %v, want the path frame's %v", where, fieldNames(f), pathFields)
		return
	}
	for _, n := range []string{"hop_latency", "e2e_latency"} {
		if c := demotest.Field(f, n).Config; c == nil || c.Unit != "ns" {
			t.Errorf("%s: %s has config %+v, want unit ns", where, n, c)
		}
	}
	if f.Rows() == 0 {
		t.Errorf("%s: no rows", where)
		return
	}
	type hop struct {
		n       int
		name    string
		dropped bool
	}
	newest := map[string]string{} // flow → newest time
	obs := map[string]map[string][]hop{}
	for i := range f.Rows() {
		fl, tm := demotest.Cell(demotest.Field(f, "flow"), i), demotest.Cell(demotest.Field(f, "time"), i)
		if !slices.Contains(v.flows, fl) {
			t.Errorf("%s: flow %q is none $flow names", where, fl)
			return
		}
		if obs[fl] == nil {
			obs[fl] = map[string][]hop{}
		}
		h, _ := demotest.Number(demotest.Field(f, "hop"), i)
		dropped, _ := demotest.Number(demotest.Field(f, "dropped"), i)
		obs[fl][tm] = append(obs[fl][tm], hop{int(h), demotest.Cell(demotest.Field(f, "switch"), i), dropped == 1})
		if len(tm) > len(newest[fl]) || (len(tm) == len(newest[fl]) && tm > newest[fl]) {
			newest[fl] = tm
		}
	}
	checked, dropsChecked := 0, 0
	for i, ft := range d.totals.Flows {
		if ft.Reports == 0 {
			continue
		}
		if _, ok := obs[ft.Flow]; !ok {
			t.Errorf("%s: no observation of %s", where, ft.Flow)
			continue
		}
		// ICMP carries no INT: its source and sink leaves send local
		// reports, and the simulator's last observation of such a flow
		// only remembers that some packet was dropped, not when.
		if p := d.sim.Domain().Flows[i].Proto; p == 1 || p == 58 {
			continue
		}
		hops := obs[ft.Flow][newest[ft.Flow]]
		slices.SortFunc(hops, func(a, b hop) int { return a.n - b.n })
		var names []string
		var droppedAt []string
		for _, h := range hops {
			names = append(names, h.name)
			if h.dropped {
				droppedAt = append(droppedAt, h.name)
			}
		}
		last := ft.Last
		switch {
		case last.Dropped:
			dropsChecked++
			if want := d.names[switchID(last.DropAt)]; !slices.Equal(droppedAt, []string{want}) {
				t.Errorf("%s: %s: last packet dropped at %s; newest observation %v marks dropped %v", where, ft.Flow, want, names, droppedAt)
			}
		case len(last.Hops) > 0:
			checked++
			var want []string
			for _, id := range last.Path() {
				want = append(want, d.names[switchID(id)])
			}
			if !slices.Equal(names, want) || len(droppedAt) > 0 {
				t.Errorf("%s: %s: newest observation %v (dropped at %v), the fabric last sent the path %v", where, ft.Flow, names, droppedAt, want)
			}
		}
	}
	if checked == 0 {
		t.Errorf("%s: no flow with a whole INT path to compare", where)
	}
	t.Logf("%s: %d flows' newest paths and %d dropped last packets compared with what the fabric sent", where, checked, dropsChecked)
}

// checkEpisodes: the episodes of one kind account for every drop (or
// queue congestion) report the fabric sent, per switch, named.
func (d *demo) checkEpisodes(t *testing.T, where string, q query.Query) {
	if len(q.EventTypes) != 1 {
		t.Fatalf("%s: event types %v: this test checks one kind a time", where, q.EventTypes)
	}
	kind := q.EventTypes[0]
	sent := map[string]float64{}
	switch kind {
	case "drop":
		for k, n := range d.totals.Drops {
			sent[switchID(k.Switch)] += float64(n)
		}
	case "congestion":
		for k, n := range d.totals.Queues {
			sent[switchID(k.Switch)] += float64(n)
		}
	default:
		t.Fatalf("%s: episode type %q", where, kind)
	}
	r := d.panelQuery(t, q)
	if r.Error != nil || len(r.Frames) != 1 {
		t.Errorf("%s: %v (%d frames)", where, r.Error, len(r.Frames))
		return
	}
	f := r.Frames[0]
	for _, n := range []string{"time", "timeEnd", "title", "text", "tags", "device", "switch", "type", "count"} {
		if demotest.Field(f, n) == nil {
			t.Errorf("%s: no field %s (fields %v)", where, n, fieldNames(f))
			return
		}
	}
	got := map[string]float64{}
	for i := range f.Rows() {
		dev := demotest.Cell(demotest.Field(f, "device"), i)
		if typ := demotest.Cell(demotest.Field(f, "type"), i); typ != kind {
			t.Errorf("%s: episode %d of type %q", where, i, typ)
		}
		if name := demotest.Cell(demotest.Field(f, "switch"), i); name != d.names[dev] {
			t.Errorf("%s: episode %d: device %s named %q, want %q", where, i, dev, name, d.names[dev])
		}
		if !strings.Contains(demotest.Cell(demotest.Field(f, "title"), i), d.names[dev]) {
			t.Errorf("%s: episode %d: title %q does not name the switch %s", where, i, demotest.Cell(demotest.Field(f, "title"), i), d.names[dev])
		}
		start, _ := demotest.Number(demotest.Field(f, "time"), i)
		end, _ := demotest.Number(demotest.Field(f, "timeEnd"), i)
		if end < start {
			t.Errorf("%s: episode %d ends (%v) before it starts (%v)", where, i, end, start)
		}
		n, _ := demotest.Number(demotest.Field(f, "count"), i)
		got[dev] += n
	}
	if !maps.Equal(got, sent) {
		t.Errorf("%s: reports in episodes per switch %v; the fabric sent %v", where, got, sent)
	}
}

// rule is one provisioned INT rule as the tests evaluate it: its query A,
// over its range, and the threshold C applies to B, the last value of
// each series.
type rule struct {
	uid, title string
	a          query.Query
	rangeFrom  time.Duration
	threshold  float64
}

func readRules(t *testing.T) []rule {
	t.Helper()
	var f demotest.RuleFile
	demotest.ReadYAML(t, rulesFile, &f)
	if len(f.Groups) != 1 || f.Groups[0].Name != "netlens-int" || f.Groups[0].Folder != "Netlens" {
		t.Fatalf("%s: want one netlens-int group in the Netlens folder", rulesFile)
	}
	var db demotest.Dashboard
	demotest.ReadJSON(t, dashboardFile, &db)
	var out []rule
	for _, r := range f.Groups[0].Rules {
		a, th := demotest.ThresholdRule(t, r.Title, r.Condition, "last", r.Data)
		if a.DatasourceUID != "netlens" {
			t.Fatalf("%s: A asks %s", r.Title, a.DatasourceUID)
		}
		q := a.Query(t)
		if q.Source != "int" || q.Kind != query.KindSeries || q.EditorMode != query.ModeCode || !q.Instant {
			t.Errorf("%s: A is source %q kind %q mode %q instant %v", r.Title, q.Source, q.Kind, q.EditorMode, q.Instant)
		}
		if r.Labels["severity"] != "warning" || r.DashboardUID != db.UID {
			t.Errorf("%s: labels %v, dashboard %q", r.Title, r.Labels, r.DashboardUID)
		}
		if !slices.ContainsFunc(db.All(), func(p demotest.Panel) bool { return p.ID == r.PanelID && p.Type != "row" }) {
			t.Errorf("%s: links panel %d, which the INT overview does not have", r.Title, r.PanelID)
		}
		out = append(out, rule{uid: r.UID, title: r.Title, a: q, rangeFrom: time.Duration(a.RelativeTimeRange.From) * time.Second, threshold: th})
	}
	return out
}

// storedLabels are a series' label names but "switch", which the plugin
// adds beside "device" from the switch names (the id without one).
func storedLabels(ls data.Labels) []string {
	return slices.DeleteFunc(slices.Sorted(maps.Keys(ls)), func(n string) bool { return n == "switch" })
}

// lastValues is a rule's step B: each series' last value (NaN and null
// left out, as reduce's dropNN does), by its labels.
func lastValues(frames data.Frames) map[string]float64 {
	last := map[string]float64{}
	for _, f := range frames {
		for _, fl := range f.Fields {
			if fl.Type().Time() || fl.Len() == 0 {
				continue
			}
			for i := fl.Len() - 1; i >= 0; i-- {
				if x, ok := demotest.Number(fl, i); ok {
					names := storedLabels(fl.Labels)
					last[keyOf(names, func(n string) string { return fl.Labels[n] })] = x
					break
				}
			}
		}
	}
	return last
}

// The INT rules' queries on the demo, as the alerting engine sends them:
//   - drops: one instance per switch and reason the fabric dropped with,
//     valued at exactly its drop reports (every counter is younger than the
//     5 minutes, so counted whole), all above the threshold;
//   - congestion: every queue the fabric sent congestion reports for is
//     there, above the queue-profile depth it reports past;
//   - report loss: an instance per leaf (and per spine whose counters
//     moved), a share in [0, 100], zero for a switch whose sequence
//     numbers never skipped;
//   - silence: one instance per switch that sends flow reports, none silent.
func (d *demo) checkAlertRules(t *testing.T) {
	drops := map[string]float64{}
	for k, n := range d.totals.Drops {
		drops[fmt.Sprintf("device=%s,reason=%d", switchID(k.Switch), k.Reason)] += float64(n)
	}
	queues := map[string]bool{}
	for k := range d.totals.Queues {
		queues[fmt.Sprintf("device=%s,queue=%d", switchID(k.Switch), k.Queue)] = true
	}
	gaps := map[string]uint64{}
	for k, n := range d.totals.Gaps {
		gaps["device="+switchID(k.Switch)] += n
	}
	devices := map[string]bool{}
	for _, id := range d.devices() {
		devices["device="+id] = true
	}
	depth := float64(d.sim.Config().Domain.QueueThreshold)

	seen := map[string]bool{}
	for _, r := range readRules(t) {
		seen[r.uid] = true
		end := time.Now()
		res := d.run(t, r.a, backend.TimeRange{From: end.Add(-r.rangeFrom), To: end}, 15*time.Second, 43200)
		if res.Error != nil {
			t.Errorf("%s: %v", r.title, res.Error)
			continue
		}
		last := lastValues(res.Frames)
		switch r.uid {
		case "netlens-int-drops":
			if !maps.Equal(last, drops) {
				t.Errorf("%s: %v; the fabric dropped %v", r.title, last, drops)
			}
			for k, x := range last {
				if !(x > r.threshold) {
					t.Errorf("%s: %s at %v does not fire", r.title, k, x)
				}
			}
		case "netlens-int-queue-congested":
			for k := range queues {
				if x, ok := last[k]; !ok || x <= depth {
					t.Errorf("%s: congested %s is %v (present %v), want above the depth %v", r.title, k, x, ok, depth)
				}
			}
			for k := range last {
				dev, _, _ := strings.Cut(k, ",")
				if !devices[dev] {
					t.Errorf("%s: %s is no switch of the fabric", r.title, k)
				}
			}
		case "netlens-int-report-loss":
			// A switch whose counters moved only between their first
			// writes has no increase yet (0/0, which the reduce step drops):
			// a spine reporting only drops and congestion, in a demo
			// younger than the rule's 5 minutes. Leaves report all along.
			for _, sw := range d.totals.Switches {
				if k := "device=" + switchID(sw.ID); sw.Reports[intsim.KindINT] > 0 {
					if _, ok := last[k]; !ok {
						t.Errorf("%s: no instance for leaf %s", r.title, k)
					}
				}
			}
			for k, x := range last {
				if !devices[k] {
					t.Errorf("%s: %s is no switch of the fabric", r.title, k)
				}
				if x < 0 || x > 100 || (gaps[k] == 0 && x != 0) {
					t.Errorf("%s: %s lost %v %% (%d sequence numbers skipped)", r.title, k, x, gaps[k])
				}
			}
		case "netlens-int-switch-silent":
			// Switches that send flow reports: the leaves (local and INT
			// reports); spines in INT mode send only drops and congestion.
			var flowing []string
			for _, sw := range d.totals.Switches {
				if sw.Reports[intsim.KindLocal]+sw.Reports[intsim.KindINT]+sw.Reports[intsim.KindPostcard] > 0 {
					flowing = append(flowing, "device="+switchID(sw.ID))
				}
			}
			slices.Sort(flowing)
			if got := slices.Sorted(maps.Keys(last)); !slices.Equal(got, flowing) {
				t.Errorf("%s: instances %v, want one per switch sending flow reports %v", r.title, got, flowing)
			}
			for k, x := range last {
				if x > r.threshold {
					t.Errorf("%s: %s silent for %v s right after it sent", r.title, k, x)
				}
			}
		default:
			t.Errorf("rule %s: this test does not know what it should find", r.uid)
		}
	}
	for _, uid := range []string{"netlens-int-drops", "netlens-int-queue-congested", "netlens-int-report-loss", "netlens-int-switch-silent"} {
		if !seen[uid] {
			t.Errorf("rule %s is not provisioned", uid)
		}
	}
}
