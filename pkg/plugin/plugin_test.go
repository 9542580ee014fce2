package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/netlens/netlens/pkg/config"
	"github.com/netlens/netlens/pkg/live"
	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/pipeline"
	"github.com/netlens/netlens/pkg/query"
	"github.com/netlens/netlens/pkg/server"
	"github.com/netlens/netlens/pkg/status"
	"github.com/netlens/netlens/pkg/store"
)

const (
	devA = "7eb19498-2519-11ef-a8dd-b74b4d43a7e7"
	devB = "0c1f5e2a-0000-4000-8000-00000000000b"
)

// testServer is the process scope without receivers: a real store in a
// temporary directory, a hub and a board.
func testServer(t testing.TB) *server.Server {
	t.Helper()
	cfg, err := config.FromEnv(func(k string) (string, bool) {
		if k == "GF_PLUGIN_DATA_DIR" {
			return t.TempDir(), true
		}
		return "", false
	})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(store.Options{Dir: cfg.DataDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &server.Server{Config: cfg, Store: st, Hub: live.NewHub(), Board: status.NewBoard(nil)}
}

func cpuSample(dev, process string, ts time.Time, v float64) model.Sample {
	return model.Sample{
		Name:        "ftd_cpu_cpu_utilisation",
		Labels:      model.LabelsFromPairs("device", dev, "family", "cpu", "hostname", "firepower-"+dev[:4], "process", process),
		TimestampMs: ts.UnixMilli(), Value: v, Kind: model.KindGauge,
	}
}

func ifSample(dev, iface string, ts time.Time, v float64) model.Sample {
	return model.Sample{
		Name:        "ftd_interface_input_packets",
		Labels:      model.LabelsFromPairs("device", dev, "family", "interface", "interface", iface),
		TimestampMs: ts.UnixMilli(), Value: v, Kind: model.KindCounter,
	}
}

func write(t testing.TB, srv *server.Server, dev string, samples ...model.Sample) {
	t.Helper()
	p := pipeline.New(srv.Store, srv.Hub, srv.Board)
	b := &model.Batch{Device: model.DeviceRef{Source: model.SourceFTD, ID: dev}, Samples: samples, ReceivedMs: time.Now().UnixMilli()}
	if err := p.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
}

func instance(t testing.TB, srv *server.Server, jsonData string) *Datasource {
	t.Helper()
	inst, err := NewFactory(srv)(context.Background(), backend.DataSourceInstanceSettings{UID: "netlens", JSONData: []byte(jsonData)})
	if err != nil {
		t.Fatal(err)
	}
	return inst.(*Datasource)
}

func get(t *testing.T, ds *Datasource, path string, params url.Values, out any) int {
	t.Helper()
	var resp *backend.CallResourceResponse
	u := path
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	err := ds.CallResource(context.Background(), &backend.CallResourceRequest{Path: path, Method: "GET", URL: u},
		backend.CallResourceResponseSenderFunc(func(r *backend.CallResourceResponse) error { resp = r; return nil }))
	if err != nil {
		t.Fatal(err)
	}
	if out != nil && resp.Status == 200 {
		if err := json.Unmarshal(resp.Body, out); err != nil {
			t.Fatalf("%s: %v in %s", u, err, resp.Body)
		}
	}
	return resp.Status
}

func TestCatalogsAutocompleteWhatArrived(t *testing.T) {
	srv := testServer(t)
	now := time.Now()
	write(t, srv, devA, cpuSample(devA, "lina", now, 12), cpuSample(devA, "snort", now, 40), ifSample(devA, "GigabitEthernet0/0", now, 1000))
	write(t, srv, devB, cpuSample(devB, "lina", now, 7))
	ds := instance(t, srv, `{}`)

	var fam struct{ Families []string }
	get(t, ds, "catalog/families", url.Values{"source": {"ftd"}}, &fam)
	if len(fam.Families) != 2 || fam.Families[0] != "cpu" || fam.Families[1] != "interface" {
		t.Fatalf("families = %v", fam.Families)
	}

	var met struct {
		Metrics []struct{ Name, Family, Kind string }
	}
	get(t, ds, "catalog/metrics", url.Values{"source": {"ftd"}, "family": {"interface"}}, &met)
	if len(met.Metrics) != 1 || met.Metrics[0].Name != "ftd_interface_input_packets" || met.Metrics[0].Kind != "counter" {
		t.Fatalf("metrics = %+v", met.Metrics)
	}

	var lbl struct{ Labels []string }
	get(t, ds, "catalog/labels", url.Values{"metric": {"ftd_cpu_cpu_utilisation"}}, &lbl)
	want := []string{"device", "family", "hostname", "process"}
	if len(lbl.Labels) != len(want) {
		t.Fatalf("labels = %v, want %v", lbl.Labels, want)
	}

	// Values of one label narrowed by the filters already in the editor.
	var vals struct{ Values []string }
	m, _ := json.Marshal([]map[string]string{{"label": "device", "op": "=", "value": devA}})
	get(t, ds, "catalog/label-values", url.Values{"label": {"process"}, "metric": {"ftd_cpu_cpu_utilisation"}, "matchers": {string(m)}}, &vals)
	if len(vals.Values) != 2 || vals.Values[0] != "lina" || vals.Values[1] != "snort" {
		t.Fatalf("process values for devA = %v", vals.Values)
	}

	if code := get(t, ds, "catalog/label-values", url.Values{"label": {"process"}, "matchers": {"[{"}}, nil); code != 400 {
		t.Fatalf("malformed matchers gave status %d, want 400", code)
	}
	if code := get(t, ds, "catalog/families", url.Values{"source": {"snmp"}}, nil); code != 400 {
		t.Fatalf("unknown source gave status %d, want 400", code)
	}
}

func TestDeviceRestrictionAppliesToCatalogsAndQueries(t *testing.T) {
	srv := testServer(t)
	now := time.Now()
	write(t, srv, devA, cpuSample(devA, "lina", now, 12))
	write(t, srv, devB, cpuSample(devB, "lina", now, 7))
	ds := instance(t, srv, `{"devices":["`+devB+`"]}`)

	var vals struct{ Values []string }
	get(t, ds, "catalog/label-values", url.Values{"label": {"device"}}, &vals)
	if len(vals.Values) != 1 || vals.Values[0] != devB {
		t.Fatalf("devices visible = %v, want only %s", vals.Values, devB)
	}
	// Even raw PromQL cannot reach a device outside the restriction.
	res := queryOne(t, ds, 1, `{"editorMode":"code","expr":"sum(ftd_cpu_cpu_utilisation)","instant":true}`, now)
	if got := lastValue(t, res); got != 7 {
		t.Fatalf("sum over the visible device = %v, want 7", got)
	}
}

func queryOne(t testing.TB, ds *Datasource, org int64, q string, at time.Time) backend.DataResponse {
	t.Helper()
	res, err := ds.QueryData(context.Background(), &backend.QueryDataRequest{
		PluginContext: backend.PluginContext{OrgID: org},
		Queries: []backend.DataQuery{{RefID: "A", JSON: []byte(q), Interval: 10 * time.Second, MaxDataPoints: 500,
			TimeRange: backend.TimeRange{From: at.Add(-10 * time.Minute), To: at.Add(time.Second)}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return res.Responses["A"]
}

func lastValue(t testing.TB, r backend.DataResponse) float64 {
	t.Helper()
	if r.Error != nil {
		t.Fatal(r.Error)
	}
	for _, f := range r.Frames {
		for _, fld := range f.Fields {
			if fld.Type().Time() || fld.Len() == 0 {
				continue
			}
			if v, ok := fld.ConcreteAt(fld.Len() - 1); ok {
				return v.(float64)
			}
		}
	}
	t.Fatal("no value in response")
	return 0
}

func TestBadQueryIsABadRequestNotACrash(t *testing.T) {
	srv := testServer(t)
	ds := instance(t, srv, `{}`)
	for _, q := range []string{`{"editorMode":"code","expr":"sum(("}`, `not json`, `{"metric":"ftd_cpu","matchers":[{"label":"x","op":"<>","value":"1"}]}`} {
		r := queryOne(t, ds, 1, q, time.Now())
		if r.Error == nil || r.Status != backend.StatusBadRequest {
			t.Errorf("query %s: status %v error %v, want a bad request", q, r.Status, r.Error)
		}
	}
}

// capture is the RunStream sender's far end. Packets after the first may
// carry data only (the schema is sent again only when series change), so
// it keeps them raw and tests decode what they need.
type capture struct{ frames chan []byte }

func (c *capture) Send(p *backend.StreamPacket) error {
	c.frames <- append([]byte(nil), p.Data...)
	return nil
}

// decodeFull decodes a packet that carries its schema.
func decodeFull(t testing.TB, raw []byte) *data.Frame {
	t.Helper()
	var f data.Frame
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatalf("packet %s: %v", raw, err)
	}
	return &f
}

func TestLiveQueryStreamsNewBatches(t *testing.T) {
	srv := testServer(t)
	ds := instance(t, srv, `{}`)
	t0 := time.Now().Add(-time.Minute)
	write(t, srv, devA, cpuSample(devA, "lina", t0, 10))

	r := queryOne(t, ds, 1, `{"metric":"ftd_cpu_cpu_utilisation","aggregation":"max","groupBy":["device"],"live":true}`, time.Now())
	if r.Error != nil || len(r.Frames) != 1 || r.Frames[0].Meta.Channel == "" {
		t.Fatalf("live response: %+v", r)
	}
	if r.Frames[0].Meta.Type != data.FrameTypeTimeSeriesWide {
		t.Fatalf("live history frame type = %s, want a wide frame the stream can append to", r.Frames[0].Meta.Type)
	}
	path := r.Frames[0].Meta.Channel[len("ds/netlens/"):]

	if s, _ := ds.SubscribeStream(context.Background(), &backend.SubscribeStreamRequest{PluginContext: backend.PluginContext{OrgID: 2}, Path: path}); s.Status != backend.SubscribeStreamStatusPermissionDenied {
		t.Fatalf("another org subscribed: %v", s.Status)
	}
	if s, _ := ds.SubscribeStream(context.Background(), &backend.SubscribeStreamRequest{PluginContext: backend.PluginContext{OrgID: 1}, Path: "live/unknown"}); s.Status != backend.SubscribeStreamStatusNotFound {
		t.Fatalf("unknown channel: %v", s.Status)
	}
	if s, _ := ds.SubscribeStream(context.Background(), &backend.SubscribeStreamRequest{PluginContext: backend.PluginContext{OrgID: 1}, Path: path}); s.Status != backend.SubscribeStreamStatusOK {
		t.Fatalf("subscribe: %v", s.Status)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := &capture{frames: make(chan []byte, 4)}
	done := make(chan error, 1)
	go func() {
		done <- ds.RunStream(ctx, &backend.RunStreamRequest{PluginContext: backend.PluginContext{OrgID: 1}, Path: path}, backend.NewStreamSender(c))
	}()
	waitSubscribed(t, srv.Hub)

	// A batch for another metric does not wake the stream; one for CPU does.
	write(t, srv, devA, ifSample(devA, "GigabitEthernet0/0", time.Now(), 5))
	t1 := time.Now()
	write(t, srv, devA, cpuSample(devA, "lina", t1, 55))
	select {
	case raw := <-c.frames:
		f := decodeFull(t, raw)
		if f.Rows() != 1 || len(f.Fields) != 2 {
			t.Fatalf("pushed frame has %d rows and %d fields", f.Rows(), len(f.Fields))
		}
		if v, _ := f.Fields[1].ConcreteAt(0); v.(float64) != 55 {
			t.Fatalf("pushed value %v, want 55", v)
		}
		if ts := f.Fields[0].At(0).(time.Time); ts.UnixMilli() != t1.UnixMilli() {
			t.Fatalf("pushed time %v, want the batch's %v", ts, t1)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no live frame")
	}
	select {
	case raw := <-c.frames:
		t.Fatalf("unexpected second frame (woken by another metric?): %s", raw)
	default:
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("RunStream ended with %v", err)
	}
}

func waitSubscribed(t testing.TB, h *live.Hub) {
	t.Helper()
	for i := 0; i < 500 && h.Stats().Subscriptions == 0; i++ {
		time.Sleep(2 * time.Millisecond)
	}
	if h.Stats().Subscriptions == 0 {
		t.Fatal("RunStream never subscribed")
	}
}

func TestHealthNamesFailedListenersAndStartupProblems(t *testing.T) {
	srv := testServer(t)
	srv.Board.ListenerFailed("ftd", "tcp", ":50051", errors.New("bind: address already in use"))
	srv.Problems = append(srv.Problems, errors.New("configuration: [plugin.netlens-telemetry-datasource] ftd_interval: 30s is outside the range"))
	ds := instance(t, srv, `{}`)
	res, err := ds.CheckHealth(context.Background(), &backend.CheckHealthRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != backend.HealthStatusError {
		t.Fatalf("status = %v", res.Status)
	}
	for _, want := range []string{"listener ftd", "address already in use", "ftd_interval"} {
		if !strings.Contains(res.Message, want) {
			t.Errorf("health message %q does not mention %q", res.Message, want)
		}
	}
}

func TestHealthIsOKWithAStoreAndNoProblems(t *testing.T) {
	srv := testServer(t)
	srv.Board.ListenerBound("ftd", "tcp", ":50051", "[::]:50051")
	res, _ := instance(t, srv, `{}`).CheckHealth(context.Background(), &backend.CheckHealthRequest{})
	if res.Status != backend.HealthStatusOk || !strings.Contains(res.Message, "ftd listening") {
		t.Fatalf("health = %v %q", res.Status, res.Message)
	}
}

func TestInterestOfNamesTheMetricsAnExpressionReads(t *testing.T) {
	in, err := interestOf(`sum(rate(ftd_interface_input_bytes[5m])) / on() group_left sum(ftd_mem_total_bytes)`)
	if err != nil {
		t.Fatal(err)
	}
	if in.All || len(in.Names) != 2 {
		t.Fatalf("interest = %+v", in)
	}
	in, _ = interestOf(`{family="cpu"}`)
	if !in.All {
		t.Fatal("a selector without a metric name must hear every batch")
	}
}

func TestChannelRegistryIsBoundedAndStable(t *testing.T) {
	r := newChannelRegistry(2, "")
	a := r.register(liveQuery{OrgID: 1, UID: "u", Live: query.LiveQuery{Expr: "a"}})
	if again := r.register(liveQuery{OrgID: 1, UID: "u", Live: query.LiveQuery{Expr: "a"}}); again != a {
		t.Fatal("the same query must map to the same channel, so panels share one stream")
	}
	r.register(liveQuery{OrgID: 1, UID: "u", Live: query.LiveQuery{Expr: "b"}})
	r.register(liveQuery{OrgID: 1, UID: "u", Live: query.LiveQuery{Expr: "c"}})
	if len(r.entries) != 2 {
		t.Fatalf("registry holds %d entries, bound is 2", len(r.entries))
	}
}

// A device that streamed before a restart is not on the registry, but its
// data is in the store: the devices list (and so the device variable)
// still offers it, with the hostname its series carry.
func TestDevicesIncludeThoseKnownOnlyFromTheStore(t *testing.T) {
	srv := testServer(t)
	write(t, srv, devA, cpuSample(devA, "lina", time.Now(), 12))
	srv.Board.Connected(model.DeviceRef{Source: model.SourceFTD, ID: devB, Hostname: "fw-b"}, time.Minute)
	ds := instance(t, srv, `{}`)
	var body struct {
		Devices []struct{ ID, Hostname, State string }
	}
	get(t, ds, "devices", url.Values{"source": {"ftd"}}, &body)
	if len(body.Devices) != 2 {
		t.Fatalf("devices = %+v", body.Devices)
	}
	byID := map[string]string{}
	for _, d := range body.Devices {
		byID[d.ID] = d.Hostname + "/" + d.State
	}
	if byID[devB] != "fw-b/connected" || byID[devA] != "firepower-7eb1/disconnected" {
		t.Fatalf("devices = %v", byID)
	}
}

// After a plugin restart Grafana re-subscribes open dashboards to their
// channels; the registry comes back from the data directory so the
// streams resume.
func TestChannelsSurviveARestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "live-channels.json")
	r := newChannelRegistry(10, path)
	ch := r.register(liveQuery{OrgID: 1, UID: "netlens", Live: query.LiveQuery{Expr: "avg(ftd_cpu_cpu_utilisation)"}})
	again := newChannelRegistry(10, path)
	lq, ok := again.lookup(ch)
	if !ok || lq.Live.Expr != "avg(ftd_cpu_cpu_utilisation)" || lq.OrgID != 1 {
		t.Fatalf("after a restart: %+v %v", lq, ok)
	}
}

// Device events answer annotation queries: state changes in the time
// range, narrowed by type and device, with the fields Grafana's annotation
// support reads by name.
func TestEventsQueryAnswersAnnotations(t *testing.T) {
	srv := testServer(t)
	a := model.DeviceRef{Source: model.SourceFTD, ID: devA, Hostname: "fw-a"}
	b := model.DeviceRef{Source: model.SourceFTD, ID: devB, Hostname: "fw-b"}
	srv.Board.Connected(a, time.Minute)
	srv.Board.Connected(b, time.Minute)
	srv.Board.Cancelled(a, "cancelled by the device")
	ds := instance(t, srv, `{}`)

	r := queryOne(t, ds, 1, `{"kind":"events","source":"ftd","eventTypes":["cancelled","connected"],"matchers":[{"label":"hostname","op":"=~","value":"fw-a"}]}`, time.Now())
	if r.Error != nil || len(r.Frames) != 1 {
		t.Fatalf("events: %+v", r)
	}
	f := r.Frames[0]
	if f.Rows() != 2 {
		t.Fatalf("%d events, want fw-a's connect and cancel", f.Rows())
	}
	title, _ := f.FieldByName("title")
	text, _ := f.FieldByName("text")
	tags, _ := f.FieldByName("tags")
	if title.At(1) != "fw-a cancelled" || text.At(1) != "cancelled by the device" || tags.At(1) != "ftd,cancelled,fw-a" {
		t.Fatalf("event fields: %v / %v / %v", title.At(1), text.At(1), tags.At(1))
	}

	// The instance's device restriction holds for events too.
	restricted := instance(t, srv, `{"devices":["`+devB+`"]}`)
	if r := queryOne(t, restricted, 1, `{"kind":"events","source":"ftd"}`, time.Now()); r.Frames[0].Rows() != 1 {
		t.Fatalf("restricted instance sees %d events, want fw-b's one", r.Frames[0].Rows())
	}
	if r := queryOne(t, ds, 1, `{"kind":"events","matchers":[{"label":"interface","op":"=","value":"x"}]}`, time.Now()); r.Status != backend.StatusBadRequest {
		t.Fatalf("filter on interface: %v", r.Status)
	}
}

func TestViewersDoNotSeeProcessSettings(t *testing.T) {
	ds := instance(t, testServer(t), `{}`)
	for role, wantValue := range map[string]bool{"Viewer": false, "Editor": true, "Admin": true} {
		var resp *backend.CallResourceResponse
		err := ds.CallResource(context.Background(), &backend.CallResourceRequest{
			PluginContext: backend.PluginContext{User: &backend.User{Login: "u", Role: role}},
			Path:          "status", Method: "GET", URL: "status",
		}, backend.CallResourceResponseSenderFunc(func(r *backend.CallResourceResponse) error { resp = r; return nil }))
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Settings []struct{ Key, Value string }
		}
		if err := json.Unmarshal(resp.Body, &body); err != nil {
			t.Fatal(err)
		}
		for _, s := range body.Settings {
			if s.Key == "data_dir" && (s.Value != "") != wantValue {
				t.Errorf("%s sees data_dir = %q", role, s.Value)
			}
		}
	}
}

func TestCancelIsForAdminsAndNeedsTheReceiver(t *testing.T) {
	ds := instance(t, testServer(t), `{}`)
	call := func(role string) int {
		var resp *backend.CallResourceResponse
		err := ds.CallResource(context.Background(), &backend.CallResourceRequest{
			PluginContext: backend.PluginContext{User: &backend.User{Login: "u", Role: role}},
			Path:          "devices/cancel", Method: "POST", URL: "devices/cancel?id=" + devA,
		}, backend.CallResourceResponseSenderFunc(func(r *backend.CallResourceResponse) error { resp = r; return nil }))
		if err != nil {
			t.Fatal(err)
		}
		return resp.Status
	}
	if got := call("Editor"); got != 403 {
		t.Fatalf("an Editor's cancel: status %d, want 403", got)
	}
	// This server has no FTD receiver: the Admin is told so.
	if got := call("Admin"); got != 503 {
		t.Fatalf("cancel without a receiver: status %d, want 503", got)
	}
}

func TestLatencyWindowPercentilesOfTheRecentPast(t *testing.T) {
	w := newLatencyWindow(100)
	if w.Percentile(99) != 0 {
		t.Fatal("an empty window has no percentile")
	}
	for i := 1; i <= 300; i++ { // only the last 100 (201..300 ms) remain
		w.observe(time.Duration(i) * time.Millisecond)
	}
	if p50, p99 := w.Percentile(50), w.Percentile(99); p50 != 250*time.Millisecond || p99 != 299*time.Millisecond {
		t.Fatalf("p50 %v, p99 %v", p50, p99)
	}
}
