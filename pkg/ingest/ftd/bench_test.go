package ftd

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/proto/ftdpb"
)

// countingSink stands in for the store: it counts samples and keeps nothing.
type countingSink struct{ samples atomic.Int64 }

func (c *countingSink) Write(_ context.Context, b *model.Batch) error {
	c.samples.Add(int64(len(b.Samples)))
	return nil
}

// preEncoded is a message the device side marshalled once, so that the
// benchmark's CPU goes to the receiver and not to a device's encoding.
type preEncoded struct{ b []byte }

// passCodec sends preEncoded bytes as they are and handles everything else
// as protobuf. Its name is "proto", so the receiver sees ordinary traffic.
type passCodec struct{}

func (passCodec) Marshal(v any) ([]byte, error) {
	if p, ok := v.(*preEncoded); ok {
		return p.b, nil
	}
	return proto.Marshal(v.(proto.Message))
}
func (passCodec) Unmarshal(data []byte, v any) error { return proto.Unmarshal(data, v.(proto.Message)) }
func (passCodec) Name() string                       { return "proto" }

// benchDevice is one device connection that completed its handshake and
// sends the same pre-encoded batch over and over, waiting for each ack as
// an FTD does.
type benchDevice struct {
	data    grpc.BidiStreamingClient[ftdpb.DataResponse, ftdpb.DataRequest]
	payload *preEncoded
	metrics int
}

func (e *testEnv) benchDevice(b *testing.B, uuid string) *benchDevice {
	b.Helper()
	sim := e.device(uuid, "bench-fw", nil)
	batch := sim.Batch(time.Now())
	raw, err := proto.Marshal(batch)
	if err != nil {
		b.Fatal(err)
	}
	r := e.raw(nil)
	if _, err := r.hello(helloFor(uuid)); err != nil {
		b.Fatal(err)
	}
	data, err := r.client.DataStream(r.ctx, grpc.ForceCodec(passCodec{}))
	if err != nil {
		b.Fatal(err)
	}
	d := &benchDevice{data: data, payload: &preEncoded{raw}, metrics: len(batch.Metrics)}
	d.roundTrip(b) // warm the connection and the converter's caches
	return d
}

func (d *benchDevice) roundTrip(b *testing.B) {
	if err := d.data.SendMsg(d.payload); err != nil {
		b.Fatal(err)
	}
	ack, err := d.data.Recv()
	if err != nil || !ack.GetAck() {
		b.Fatalf("ack %v, %v", ack, err)
	}
}

// BenchmarkIngest measures the receiver over real gRPC with mutual TLS on
// loopback: ftdsim's 479-metric batches are unmarshalled, converted, written
// to a counting sink and acknowledged. "devices=1" is one FTD waiting for
// each ack before the next batch (latency-bound); "devices=8" is eight such
// FTDs at once, the receiver's throughput. Allocations are counted for the
// whole process, the device side included.
func BenchmarkIngest(b *testing.B) {
	for _, devices := range []int{1, 8} {
		b.Run(fmt.Sprintf("devices=%d", devices), func(b *testing.B) {
			sink := &countingSink{}
			e := newEnvWithSink(b, nil, nil, sink)
			pool := make(chan *benchDevice, devices)
			for i := range devices {
				pool <- e.benchDevice(b, fmt.Sprintf("7eb19498-2519-11ef-a8dd-%012d", i))
			}
			perBatch := 0
			var sent atomic.Int64
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			if devices == 1 {
				d := <-pool
				perBatch = d.metrics
				for b.Loop() {
					d.roundTrip(b)
					sent.Add(1)
				}
			} else {
				// RunParallel starts GOMAXPROCS × parallelism goroutines.
				b.SetParallelism((devices + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
				b.RunParallel(func(pb *testing.PB) {
					var d *benchDevice
					select {
					case d = <-pool:
					default:
						return // more goroutines than devices
					}
					for pb.Next() {
						d.roundTrip(b)
						sent.Add(1)
					}
				})
			}
			elapsed := time.Since(start)
			runtime.ReadMemStats(&after)
			if perBatch == 0 {
				perBatch = 479
			}
			metrics := float64(sent.Load()) * float64(perBatch)
			b.ReportMetric(metrics/elapsed.Seconds(), "metrics/s")
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/metrics, "allocs/metric")
			if got, want := sink.samples.Load(), (sent.Load()+int64(devices))*int64(perBatch); got != want {
				b.Fatalf("sink counted %d samples, want %d", got, want)
			}
		})
	}
}
