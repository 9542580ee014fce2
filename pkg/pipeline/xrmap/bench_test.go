package xrmap

import (
	"context"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/netlens/netlens/pkg/decode/xr"
	"github.com/netlens/netlens/pkg/live"
	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/pipeline"
	"github.com/netlens/netlens/pkg/records"
	"github.com/netlens/netlens/pkg/status"
	"github.com/netlens/netlens/pkg/store"
)

// cpuTime is the process's CPU time (every thread: GC included). The
// machine the benchmarks run on is shared, so next to wall time per
// operation they report CPU time per operation, which other processes do
// not inflate.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, start time.Duration, perOp int, unit string) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N*perOp), unit)
}

// discardSink drops batches, to measure the mapping alone.
type discardSink struct{ n atomic.Int64 }

func (d *discardSink) Write(_ context.Context, b *model.Batch) error {
	d.n.Add(int64(len(b.Samples)))
	return nil
}

// genericCounters50 are the leaves of one interface's
// RootOper.InfraStatistics.Interface(*).Latest.GenericCounters, padded to
// 50 as the speed target counts them.
var genericCounters50 = func() []string {
	names := []string{"PacketsReceived", "BytesReceived", "PacketsSent", "BytesSent", "MulticastPacketsReceived",
		"BroadcastPacketsReceived", "MulticastPacketsSent", "BroadcastPacketsSent", "OutputDrops", "OutputQueueDrops",
		"InputDrops", "InputQueueDrops", "RuntPacketsReceived", "GiantPacketsReceived", "ThrottledPacketsReceived",
		"ParityPacketsReceived", "UnknownProtocolPacketsReceived", "InputErrors", "CRCErrors", "InputOverruns",
		"FramingErrorsReceived", "InputIgnoredPackets", "InputAborts", "OutputErrors", "OutputUnderruns",
		"OutputBufferFailures", "OutputBuffersSwappedOut", "Applique", "Resets", "CarrierTransitions",
		"AvailabilityFlag", "LastDataTime", "SecondsSinceLastClearCounters", "LastDiscontinuityTime", "SecondsSincePacketReceived",
		"SecondsSincePacketSent"}
	for i := len(names); i < 50; i++ {
		names = append(names, "ExtraCounter"+strconv.Itoa(i))
	}
	return names
}()

func message50(node string, iface int) *xr.Message {
	m := &xr.Message{Node: node, Policy: "NetlensDemo", Subscription: "GenericCounters", Encoding: xr.EncodingGPBKV,
		Path: "RootOper.InfraStatistics.Interface(*).Latest.GenericCounters"}
	row := xr.Row{TimestampMs: t0, Keys: []xr.Leaf{{Name: "InterfaceName", Kind: xr.LeafString, S: "GigabitEthernet0/0/0/" + strconv.Itoa(iface)}}}
	for i, n := range genericCounters50 {
		row.Content = append(row.Content, xr.Leaf{Name: n, Kind: xr.LeafUint, U: uint64(i) * 1000})
	}
	m.Rows = []xr.Row{row}
	return m
}

// BenchmarkWrite50 maps a message of one row of 50 numeric leaves into a
// sink that drops it: the mapping's own cost per message.
//
//	go test -run '^$' -bench 'Write50' -benchmem -cpu 1 ./pkg/pipeline/xrmap
func BenchmarkWrite50Discard(b *testing.B) {
	sink := &discardSink{}
	m := New(sink, records.NewTable(StateTable, records.Options{}), status.NewBoard(nil), Options{})
	msg := message50("r1", 0)
	ctx := context.Background()
	now := time.Now().UnixMilli()
	cpu := cpuTime()
	for b.Loop() {
		now += 10_000
		msg.Rows[0].TimestampMs = now
		if err := m.Write(ctx, router, msg, now); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu, 1, "cpu-ns/msg")
}

// The same from every core, one router per goroutine: what the per-router
// locks and the shared board cost when connections write at once.
func BenchmarkWrite50DiscardParallel(b *testing.B) {
	sink := &discardSink{}
	m := New(sink, records.NewTable(StateTable, records.Options{}), status.NewBoard(nil), Options{})
	var id atomic.Int64
	ctx := context.Background()
	b.RunParallel(func(pb *testing.PB) {
		msg := message50("r"+strconv.FormatInt(id.Add(1), 10), 0)
		now := time.Now().UnixMilli()
		for pb.Next() {
			now += 10_000
			msg.Rows[0].TimestampMs = now
			if err := m.Write(ctx, router, msg, now); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkWrite50Store maps the same message into the real pipeline: the
// TSDB store (WAL included) and the live hub, each message one appender
// commit. Timestamps move 10 s a message so every sample is a real append.
//
//	go test -run '^$' -bench 'Write50Store' -benchmem -cpu 1 ./pkg/pipeline/xrmap
func BenchmarkWrite50Store(b *testing.B) {
	st, err := store.Open(store.Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	board := status.NewBoard(nil)
	m := New(pipeline.New(st, live.NewHub(), board), records.NewTable(StateTable, records.Options{}), board, Options{})
	// 100 interfaces, as a router's policy group sends them: 5,000 series.
	msgs := make([]*xr.Message, 100)
	for i := range msgs {
		msgs[i] = message50("r1", i)
	}
	ctx := context.Background()
	now := time.Now().Add(time.Minute).UnixMilli()
	sent := 0
	cpu := cpuTime()
	for b.Loop() {
		msg := msgs[sent%len(msgs)]
		if sent%len(msgs) == 0 {
			now += 10_000
		}
		msg.Rows[0].TimestampMs = now
		if err := m.Write(ctx, router, msg, now); err != nil {
			b.Fatal(err)
		}
		sent++
	}
	reportCPU(b, cpu, 1, "cpu-ns/msg")
	b.ReportMetric(float64(sent)/b.Elapsed().Seconds(), "msgs/s")
	if s := st.Stats(); s.Rejected.Total() != 0 || s.SamplesAppended != uint64(sent*50) {
		b.Fatalf("store appended %d, rejected %+v; want %d appended", s.SamplesAppended, s.Rejected, sent*50)
	}
}

// BenchmarkRealCapture maps the 44 messages of the real IOS XR 24.4
// capture (61,459 numeric and 17,663 string leaf values; 16 paths) per
// operation, into a discarding sink.
func BenchmarkRealCapture(b *testing.B) {
	msgs := captureMessages(b)
	sink := &discardSink{}
	m := New(sink, records.NewTable(StateTable, records.Options{}), status.NewBoard(nil), Options{})
	ctx := context.Background()
	now := int64(1728034880000)
	leaves := 0
	for _, msg := range msgs {
		for _, r := range msg.Rows {
			leaves += len(r.Content)
		}
	}
	cpu := cpuTime()
	for b.Loop() {
		now += 10_000
		for _, msg := range msgs {
			if err := m.Write(ctx, router, msg, now); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*leaves), "ns/leaf")
	reportCPU(b, cpu, leaves, "cpu-ns/leaf")
}
