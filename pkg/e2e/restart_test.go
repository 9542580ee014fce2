package e2e

import (
	"context"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"

	"github.com/netlens/netlens/pkg/proto/ftdpb"
	"github.com/netlens/netlens/pkg/sim/ftdsim"
)

// TestBinaryCrashLosesNoAcknowledgedSample kills the backend with SIGKILL
// while a device streams, starts it again on the same data directory, and
// finds every value of every batch the device had seen acknowledged. The
// receiver acknowledges only after the store's write-ahead log has the
// batch, so a crash can cost the device a resend, never acknowledged data.
func TestBinaryCrashLosesNoAcknowledgedSample(t *testing.T) {
	setup := newFTDSetup(t)
	env := setup.env
	p := startPlugin(t, env)
	target := p.ftdTarget(t)

	clientTLS, err := setup.pki.ClientTLS("firepower-e2e")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var sent []*ftdpb.DataResponse
	dev, err := ftdsim.New(ftdsim.Config{
		Target: target, TLS: clientTLS, UUID: "7eb19498-2519-11ef-a8dd-b74b4d43a7e7", Hostname: "firepower-e2e",
		SpeedUp: 600, Seed: 2, RetryAfter: time.Hour,
		OnBatchSent: func(b *ftdpb.DataResponse) { mu.Lock(); sent = append(sent, b); mu.Unlock() },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- dev.Run(ctx) }()
	waitFor(t, "five acknowledged batches", 60*time.Second, func() bool { return dev.Stats().BatchesAcked >= 5 })

	// A dashboard has a live panel open when the process dies.
	live := p.queryData(t, map[string]any{"refId": "A", "metric": "ftd_cpu_cpu_utilisation", "aggregation": "avg", "live": true},
		time.Now().Add(-time.Minute), time.Now())
	if r := live.Responses["A"]; r.Error != nil || len(r.Frames) == 0 || r.Frames[0].Meta == nil || r.Frames[0].Meta.Channel == "" {
		t.Fatalf("live query: %+v", r)
	}
	channelPath := live.Responses["A"].Frames[0].Meta.Channel[len("ds/netlens/"):]

	// Crash: no shutdown, no store close.
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_, _ = p.cmd.Process.Wait()
	acked := dev.Stats().BatchesAcked
	cancel()
	<-done
	mu.Lock()
	batches := append([]*ftdpb.DataResponse(nil), sent[:acked]...)
	mu.Unlock()

	p2 := startPlugin(t, env)
	// Grafana re-subscribes the open panel to its channel on the new process.
	sub, err := p2.stream.SubscribeStream(context.Background(), backend.ToProto().SubscribeStreamRequest(&backend.SubscribeStreamRequest{PluginContext: p2.pctx, Path: channelPath}))
	if err != nil || sub.Status != pluginv2.SubscribeStreamResponse_OK {
		t.Fatalf("re-subscribing %s after the restart: %v %v", channelPath, sub, err)
	}
	for i, b := range batches {
		var m *ftdpb.Metric
		for _, x := range b.Metrics {
			if x.MetricFamily == "mem" {
				m = x
				break
			}
		}
		if m == nil {
			t.Fatalf("batch %d has no mem metric", i)
		}
		matchers := []map[string]string{{"label": "device", "op": "=", "value": "7eb19498-2519-11ef-a8dd-b74b4d43a7e7"}}
		desc := ""
		for _, tag := range m.Tags {
			switch tag.Key {
			case "description":
				desc = tag.Value
			case "process":
				matchers = append(matchers, map[string]string{"label": "process", "op": "=", "value": tag.Value})
			}
		}
		ts := time.UnixMilli(m.Timestamp)
		res := p2.queryData(t, map[string]any{
			"refId": "A", "metric": "ftd_mem_" + desc, "matchers": matchers, "instant": true,
		}, ts.Add(-time.Second), ts)
		if got := firstValue(t, res); math.Abs(got-m.Value) > 1e-9 {
			t.Fatalf("acknowledged batch %d of %d: after the crash the store returns %v, the device sent %v", i+1, acked, got, m.Value)
		}
	}
}
