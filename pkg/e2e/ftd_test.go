package e2e

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"

	"github.com/netlens/netlens/pkg/proto/ftdpb"
	"github.com/netlens/netlens/pkg/sim/ftdsim"
)

// TestBinaryServesSimulatedFTD is the whole product path in one process
// tree: a simulated FTD dials the plugin binary over gRPC with mutual TLS,
// its values come back through QueryData, and a live channel pushes new
// points through RunStream.
func TestBinaryServesSimulatedFTD(t *testing.T) {
	setup := newFTDSetup(t)
	p := startPlugin(t, setup.env)
	target := p.ftdTarget(t)

	health := p.checkHealth(t)
	if health.Status != backend.HealthStatusOk {
		t.Fatalf("health = %v: %s", health.Status, health.Message)
	}

	clientTLS, err := setup.pki.ClientTLS("firepower-e2e")
	if err != nil {
		t.Fatal(err)
	}
	sent := make(chan *ftdpb.DataResponse, 64)
	dev, err := ftdsim.New(ftdsim.Config{
		Target: target, TLS: clientTLS,
		UUID: "7eb19498-2519-11ef-a8dd-b74b4d43a7e7", Hostname: "firepower-e2e",
		SpeedUp: 120, // the negotiated 60 s becomes 0.5 s
		Seed:    1,
		OnBatchSent: func(b *ftdpb.DataResponse) {
			select {
			case sent <- b:
			default:
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- dev.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	var first *ftdpb.DataResponse
	select {
	case first = <-sent:
	case <-time.After(30 * time.Second):
		t.Fatalf("the simulator sent no batch: %+v", dev.Stats())
	}
	waitFor(t, "the first batch to be acknowledged", 30*time.Second, func() bool { return dev.Stats().BatchesAcked > 0 })

	// One CPU value the simulator sent must come back from the store.
	var want *ftdpb.Metric
	for _, m := range first.Metrics {
		if m.MetricFamily == "cpu" {
			want = m
			break
		}
	}
	if want == nil {
		t.Fatal("the simulator's batch has no cpu metric")
	}
	matchers := []map[string]string{{"label": "device", "op": "=", "value": "7eb19498-2519-11ef-a8dd-b74b4d43a7e7"}}
	for _, tag := range want.Tags {
		if tag.Key == "process" || tag.Key == "rcpu" {
			matchers = append(matchers, map[string]string{"label": tag.Key, "op": "=", "value": tag.Value})
		}
	}
	ts := time.UnixMilli(want.Timestamp)
	res := p.queryData(t, map[string]any{
		"refId": "A", "source": "ftd", "kind": "series", "editorMode": "builder",
		"metric": "ftd_cpu_cpu_utilisation", "matchers": matchers, "instant": true,
	}, ts.Add(-time.Minute), ts)
	got := firstValue(t, res)
	if math.Abs(got-want.Value) > 1e-9 {
		t.Fatalf("QueryData returned %v, the simulator sent %v", got, want.Value)
	}

	// Live: QueryData hands out a channel, and RunStream pushes frames as
	// new batches arrive.
	live := p.queryData(t, map[string]any{
		"refId": "A", "source": "ftd", "kind": "series", "editorMode": "builder",
		"metric": "ftd_cpu_cpu_utilisation", "aggregation": "avg", "groupBy": []string{"device"}, "live": true,
	}, time.Now().Add(-5*time.Minute), time.Now())
	r := live.Responses["A"]
	if r.Error != nil || len(r.Frames) == 0 || r.Frames[0].Meta == nil || r.Frames[0].Meta.Channel == "" {
		t.Fatalf("live query gave no channel: %+v", r)
	}
	channel := r.Frames[0].Meta.Channel // ds/<uid>/<path>
	path := channel[len("ds/netlens/"):]
	sub, err := p.stream.SubscribeStream(context.Background(), backend.ToProto().SubscribeStreamRequest(&backend.SubscribeStreamRequest{PluginContext: p.pctx, Path: path}))
	if err != nil || sub.Status != pluginv2.SubscribeStreamResponse_OK {
		t.Fatalf("SubscribeStream %s: %v %v", path, sub, err)
	}
	sctx, scancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer scancel()
	rs, err := p.stream.RunStream(sctx, backend.ToProto().RunStreamRequest(&backend.RunStreamRequest{PluginContext: p.pctx, Path: path}))
	if err != nil {
		t.Fatal(err)
	}
	pkt, err := rs.Recv()
	if err != nil {
		t.Fatalf("RunStream delivered nothing: %v", err)
	}
	var frame data.Frame
	if err := frame.UnmarshalJSON(pkt.Data); err != nil {
		t.Fatalf("live packet is not a frame: %v", err)
	}
	if len(frame.Fields) < 2 || frame.Rows() != 1 {
		t.Fatalf("live frame has %d fields and %d rows, want a time and a value field with one row", len(frame.Fields), frame.Rows())
	}

	// The device is on the registry as connected, with batches counted.
	var st statusBody
	p.resource(t, "status", &st)
	ok := false
	for _, d := range st.Devices {
		ok = ok || (d.ID == "7eb19498-2519-11ef-a8dd-b74b4d43a7e7" && d.State == "connected" && d.Batches > 0)
	}
	if !ok {
		t.Fatalf("device not connected on the status board: %+v", st.Devices)
	}

	// An Admin cancels the device's stream from Grafana: the collector sends
	// the cancellation, the device acknowledges and stops.
	var cancelled map[string]string
	p.call(t, "POST", "devices/cancel?id=7eb19498-2519-11ef-a8dd-b74b4d43a7e7", &cancelled)
	waitFor(t, "the device to see the collector's cancel", 10*time.Second, func() bool { return dev.Stats().Cancels > 0 })
	p.resource(t, "status", &st)
	for _, d := range st.Devices {
		if d.ID == "7eb19498-2519-11ef-a8dd-b74b4d43a7e7" && d.State != "disconnected" {
			t.Fatalf("after the cancel the device is %s", d.State)
		}
	}
}

func firstValue(t *testing.T, res *backend.QueryDataResponse) float64 {
	t.Helper()
	r := res.Responses["A"]
	if r.Error != nil {
		t.Fatalf("query error: %v", r.Error)
	}
	for _, f := range r.Frames {
		for _, fld := range f.Fields {
			if fld.Type().Time() || fld.Len() == 0 {
				continue
			}
			if v, ok := fld.ConcreteAt(fld.Len() - 1); ok {
				if x, ok := v.(float64); ok {
					return x
				}
			}
		}
	}
	t.Fatalf("no value in %d frames", len(r.Frames))
	return 0
}

// TestBinaryRefusesOutOfRangeInterval: a setting FTD devices would reject
// keeps the receiver off, and health says which key and why.
func TestBinaryRefusesOutOfRangeInterval(t *testing.T) {
	dir := t.TempDir()
	p := startPlugin(t, map[string]string{
		"GF_PLUGIN_DATA_DIR":           filepath.Join(dir, "data"),
		"GF_PLUGIN_FTD_LISTEN_ADDRESS": "127.0.0.1:0",
		"GF_PLUGIN_FTD_INTERVAL":       "30s",
	})
	h := p.checkHealth(t)
	if h.Status != backend.HealthStatusError || !strings.Contains(h.Message, "ftd_interval") {
		t.Fatalf("health = %v %q, want an error naming ftd_interval", h.Status, h.Message)
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); err != nil {
		t.Fatalf("the store should still open with a bad receiver setting: %v", err)
	}
}
