package xr

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend/log"

	"github.com/netlens/netlens/pkg/decode/xr"
	"github.com/netlens/netlens/pkg/decode/xr/wire"
	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/pipeline"
	"github.com/netlens/netlens/pkg/pipeline/xrmap"
	"github.com/netlens/netlens/pkg/records"
	"github.com/netlens/netlens/pkg/status"
	"github.com/netlens/netlens/pkg/store"
)

// benchBlock is how many messages one connection of the benchmark carries.
const benchBlock = 2000

// benchStream is one connection's worth of zlib-compressed MDT key-value
// GPB messages (telemetry.proto data_gpbkv, encap 1, compression flag),
// one zlib stream sync-flushed after each message as a router sends it.
// Each message is one generic-counters row of one of 48 interfaces: an
// interface-name key and 50 uint64 leaves. Timestamps start at tsMs and
// step 1 ms per message, so every series' samples move forward.
func benchStream(tsMs int64) (stream []byte, plain int) {
	const path = "Cisco-IOS-XR-infra-statsd-oper:infra-statistics/interfaces/interface/latest/generic-counters"
	var z zrouter
	for i := range benchBlock {
		ts := tsMs + int64(i)
		msg := mdtKV("bench-r1", "sub1", path, uint64(ts), mdtRow(fmt.Sprintf("GigabitEthernet0/0/0/%d", i%48), 50, uint64(ts)*7))
		plain += len(msg)
		stream = append(stream, mdtFrame(1, 1, wire.FlagZlib, z.compress(msg))...)
	}
	return stream, plain
}

// countDone counts messages and says when a block's last one arrived.
type countDone struct {
	next   Handler // nil: count only
	n      atomic.Int64
	target atomic.Int64
	done   chan struct{}
}

func (h *countDone) Write(ctx context.Context, dev model.DeviceRef, m *xr.Message, receivedMs int64) error {
	var err error
	if h.next != nil {
		err = h.next.Write(ctx, dev, m, receivedMs)
	}
	if h.n.Add(1) == h.target.Load() {
		h.done <- struct{}{}
	}
	return err
}

// runIngest sends one block per iteration over a new loopback TCP
// connection (a new zlib stream) and waits until the handler has seen all
// of it: socket reads, framing, inflating, decoding and the handler.
func runIngest(b *testing.B, next Handler, block func(i int) []byte) {
	h := &countDone{next: next, done: make(chan struct{}, 1)}
	cfg := loopbackConfig()
	cfg.UDPListenAddress = ""
	r, err := New(cfg, nil, h, status.NewBoard(nil), log.NewNullLogger())
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { r.Serve(ctx); close(served) }()
	defer func() { cancel(); <-served }()

	var stream []byte
	i := 0
	var cpu time.Duration // process CPU (user+system, every thread) while timed
	b.ReportAllocs()
	cpu -= processCPU()
	for b.Loop() {
		b.StopTimer()
		cpu += processCPU()
		stream = block(i)
		i++
		cpu -= processCPU()
		b.StartTimer()
		h.target.Add(benchBlock)
		c, err := net.Dial("tcp", r.TCPAddr().String())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Write(stream); err != nil {
			b.Fatal(err)
		}
		select {
		case <-h.done:
		case <-time.After(time.Minute):
			b.Fatalf("block %d: %d of %d messages arrived", i, h.n.Load(), h.target.Load())
		}
		c.Close()
	}
	if d := r.Drops("handler"); d > 0 {
		b.Fatalf("handler refused %d messages", d)
	}
	cpu += processCPU()
	b.ReportMetric(float64(benchBlock*b.N)/b.Elapsed().Seconds(), "msgs/s")
	// On a machine other processes load, wall time says little; messages
	// per second of this process's own CPU time (sender, kernel loopback
	// and GC included) is what one core would do.
	b.ReportMetric(float64(benchBlock*b.N)/cpu.Seconds(), "msgs/cpu-s")
}

// TCP ingest with zlib into a handler that only counts.
func BenchmarkTCPIngestZlibMDTKV50Leaves(b *testing.B) {
	stream, _ := benchStream(1_700_000_000_000)
	runIngest(b, nil, func(int) []byte { return stream })
}

// TCP ingest with zlib into the real mapper (pkg/pipeline/xrmap) and the
// series store (pkg/store, on disk with its write-ahead log), each block
// with later timestamps than the one before.
func BenchmarkTCPIngestZlibMDTKV50LeavesStore(b *testing.B) {
	st, err := store.Open(store.Options{Dir: b.TempDir(), Logger: log.NewNullLogger()})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	board := status.NewBoard(nil)
	m := xrmap.New(pipeline.New(st, nil, board), records.NewTable(xrmap.StateTable, records.Options{}), board, xrmap.Options{MaxSeriesPerRouter: 100000})
	ts := time.Now().Add(-time.Hour).UnixMilli()
	runIngest(b, m, func(i int) []byte {
		stream, _ := benchStream(ts + int64(i*benchBlock))
		return stream
	})
	if n := board.Snapshot().Counters["store_samples_rejected"]; n > 0 {
		b.Fatalf("store rejected %d samples", n)
	}
}

// processCPU is the user and system time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
