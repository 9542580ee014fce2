package plugin

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/netlens/netlens/pkg/decode/ftd"
	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/pipeline"
	"github.com/netlens/netlens/pkg/sim/certs"
	"github.com/netlens/netlens/pkg/sim/ftdsim"
)

// BenchmarkLiveLatency measures the issue's "batch arriving to its frame
// leaving RunStream" path: a simulated FTD batch (479 metrics) is converted,
// written through the pipeline (store append, WAL, hub) and the live stream
// of a dashboard query re-evaluates and sends its frame. Ten devices stream
// so the query aggregates over real series. Reported: p50/p99 latency.
//
//	go test -run '^$' -bench LiveLatency -benchmem ./pkg/plugin
func BenchmarkLiveLatency(b *testing.B) {
	srv := testServer(b)
	ds := instance(b, srv, `{}`)
	p := pipeline.New(srv.Store, srv.Hub, srv.Board)

	const devices = 10
	// The simulator only generates batches here; it never dials, but it
	// insists on a TLS configuration as a real device would.
	pki, err := certs.NewPKI("bench", time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	clientTLS, err := pki.ClientTLS("bench")
	if err != nil {
		b.Fatal(err)
	}
	sims := make([]*ftdsim.Device, devices)
	convs := make([]*ftd.Converter, devices)
	for i := range sims {
		d, err := ftdsim.New(ftdsim.Config{Target: "127.0.0.1:1", TLS: clientTLS, UUID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), Hostname: fmt.Sprintf("firepower-%d", i), Seed: int64(i)})
		if err != nil {
			b.Fatal(err)
		}
		sims[i], convs[i] = d, ftd.NewConverter(ftd.Limits{})
	}
	ts := time.Now().Add(-10 * time.Minute)
	var buf []model.Sample
	send := func(i int) time.Time {
		resp := sims[i].Batch(ts)
		id := ftd.Identity{UUID: resp.FtdUuid, Hostname: fmt.Sprintf("firepower-%d", i)}
		start := time.Now()
		var err error
		buf, _, err = convs[i].Convert(buf, id, resp, start.UnixMilli())
		if err != nil {
			b.Fatal(err)
		}
		if err := p.Write(context.Background(), &model.Batch{Device: model.DeviceRef{Source: model.SourceFTD, ID: id.UUID}, Samples: buf, ReceivedMs: start.UnixMilli()}); err != nil {
			b.Fatal(err)
		}
		return start
	}
	for i := 0; i < devices; i++ {
		send(i)
	}

	r := queryOne(b, ds, 1, `{"metric":"ftd_interface_input_packets","rate":true,"aggregation":"sum","groupBy":["device"],"live":true}`, time.Now())
	if r.Error != nil {
		b.Fatal(r.Error)
	}
	path := r.Frames[0].Meta.Channel[len("ds/netlens/"):]
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := &capture{frames: make(chan []byte, 1)}
	go func() {
		_ = ds.RunStream(ctx, &backend.RunStreamRequest{PluginContext: backend.PluginContext{OrgID: 1}, Path: path}, backend.NewStreamSender(c))
	}()
	waitSubscribed(b, srv.Hub)

	lat := newLatencyWindow(1 << 16)
	i := 0
	for b.Loop() {
		ts = ts.Add(time.Second)
		start := send(i % devices)
		select {
		case <-c.frames:
		case <-time.After(10 * time.Second):
			b.Fatalf("no live frame for batch %d: %+v", i, srv.Board.Snapshot().Counters)
		}
		lat.observe(time.Since(start))
		i++
	}
	b.ReportMetric(float64(lat.Percentile(50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat.Percentile(99).Microseconds())/1000, "p99-ms")
}
