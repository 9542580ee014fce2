// Package collectortest drives Netlens's own IOS XR collector (receiver,
// gRPC dial-out server and mapper) with the simulated routers of
// pkg/sim/xrsim and compares what it stored with the simulator's totals.
// It lives apart from xrsim so that the simulator's encoders never depend
// on the collector's decoders: only this check sees both.
package collectortest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend/log"

	"github.com/netlens/netlens/pkg/config"
	ingest "github.com/netlens/netlens/pkg/ingest/xr"
	"github.com/netlens/netlens/pkg/ingest/xr/dialout"
	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/pipeline/xrmap"
	"github.com/netlens/netlens/pkg/records"
	"github.com/netlens/netlens/pkg/sim/xrsim"
	"github.com/netlens/netlens/pkg/status"
)

// sink keeps the last value of every series the mapper writes and the
// number of samples per metric.
type sink struct {
	mu       sync.Mutex
	last     map[string]float64
	perName  map[string]uint64
	received int
}

func (s *sink) Write(_ context.Context, b *model.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, smp := range b.Samples {
		labels := make(map[string]string, len(smp.Labels))
		for _, l := range smp.Labels {
			labels[l.Name] = l.Value
		}
		s.last[xrsim.SeriesKey(smp.Name, labels)] = smp.Value
		s.perName[smp.Name]++
		s.received++
	}
	return nil
}

// Every generation, encoding, framing and transport the simulator speaks,
// one router each, into one collector: every series arrives with the
// labels and last value the simulator sent, and every leaf value is
// counted once.
func TestCollectorStoresWhatRoutersSent(t *testing.T) {
	out := &sink{last: map[string]float64{}, perName: map[string]uint64{}}
	board := status.NewBoard(time.Now)
	mapper := xrmap.New(out, records.NewTable(xrmap.StateTable, records.Options{}), board,
		xrmap.Options{MaxSeriesPerRouter: 100000, StateRefresh: time.Minute})
	cfg := config.XR{
		TCPListenAddress: "127.0.0.1:0", UDPListenAddress: "127.0.0.1:0", GRPCListenAddress: "127.0.0.1:0",
		MaxMessageBytes: 16 << 20, MaxConnections: 64, MaxSeriesPerRouter: 100000, RouterTimeout: time.Minute,
		PolicyDir: "../../../../provisioning/xr/policies", ProtoDir: "../../../../provisioning/xr/protos",
	}
	rcv, err := ingest.New(cfg, nil, mapper, board, log.DefaultLogger)
	if err != nil {
		t.Fatal(err)
	}
	grpcSrv, err := dialout.New(cfg, rcv, board, log.DefaultLogger)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() { rcv.Serve(ctx) })
	wg.Go(func() { grpcSrv.Serve(ctx) })
	for rcv.TCPAddr() == nil || rcv.UDPAddr() == nil || grpcSrv.Addr() == nil {
		if ctx.Err() != nil {
			t.Fatal("listeners did not start")
		}
		time.Sleep(5 * time.Millisecond)
	}
	tcp, udp, grpcAddr := rcv.TCPAddr().String(), rcv.UDPAddr().String(), grpcSrv.Addr().String()

	routers := []xrsim.Config{
		{Name: "pdt-json", Target: tcp, Zlib: true, ResetEvery: 3},
		{Name: "pdt-json600-v1", Target: tcp, V1: true, JSONKeys: xrsim.JSON600},
		{Name: "pdt-kv", Target: tcp, Encoding: xrsim.EncGPBKV, Zlib: true, ResetEvery: 2, LocalAddr: "127.0.0.3:0"},
		{Name: "pdt-compact-udp", Target: udp, Encoding: xrsim.EncCompact, Transport: "udp", Interfaces: 40},
		{Name: "pdt-compact-tcp", Target: tcp, Encoding: xrsim.EncCompact},
		{Name: "mdt-kv", Target: tcp, Generation: xrsim.GenMDT, Encoding: xrsim.EncGPBKV},
		{Name: "mdt-json", Target: tcp, Generation: xrsim.GenMDT, Encoding: xrsim.EncJSON},
		{Name: "mdt-grpc", Target: grpcAddr, Generation: xrsim.GenMDT, Encoding: xrsim.EncGPBKV, Transport: "grpc"},
	}
	var sent xrsim.Totals
	for _, c := range routers {
		c.Rate, c.Count = 1000, 18 // each path three times
		if c.Interfaces == 0 {
			c.Interfaces = 3
		}
		r, err := xrsim.New(c)
		if err != nil {
			t.Fatal(err)
		}
		r.Run(ctx)
		tot := r.Totals()
		// Over UDP a collection split across datagrams may pass the count.
		if tot.Messages < 18 || tot.Errors != 0 {
			t.Fatalf("%s: %d messages, %d errors (%s)", c.Name, tot.Messages, tot.Errors, tot.LastError)
		}
		sent.Add(tot)
	}

	// The last datagrams and frames may still be on their way through the
	// receiver; wait until every leaf value has arrived (or the deadline).
	var want uint64
	for _, n := range sent.ByMetric {
		want += n
	}
	for {
		out.mu.Lock()
		got := out.received
		out.mu.Unlock()
		if uint64(got) >= want || ctx.Err() != nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	out.mu.Lock()
	defer out.mu.Unlock()
	if len(out.last) != len(sent.Series) {
		t.Errorf("%d series stored, %d sent", len(out.last), len(sent.Series))
	}
	bad := 0
	for k, s := range sent.Series {
		if v, ok := out.last[k]; !ok || v != s.Value {
			if bad++; bad <= 10 {
				t.Errorf("%s: sent %v, stored %v (present %v)", k, s.Value, v, ok)
			}
		}
	}
	for name, n := range sent.ByMetric {
		if out.perName[name] != n {
			t.Errorf("%s: %d values sent, %d stored", name, n, out.perName[name])
		}
	}
	for _, rt := range rcv.Routers() {
		if len(rt.Drops) > 0 || len(rt.MissingProtos) > 0 {
			t.Errorf("router %s: drops %v, missing protos %v", rt.Device, rt.Drops, rt.MissingProtos)
		}
	}
}
