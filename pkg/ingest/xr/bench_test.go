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

// progress counts what arrived (messages, or samples the sink has) and
// says when a block's last one did.
type progress struct {
	n      atomic.Int64
	target atomic.Int64
	done   chan struct{}
}

func newProgress() *progress { return &progress{done: make(chan struct{}, 1)} }

func (p *progress) add(k int64) {
	t := p.target.Load()
	if n := p.n.Add(k); n >= t && n-k < t {
		p.done <- struct{}{}
	}
}

// countDone counts messages handed to the Handler.
type countDone struct {
	next Handler // nil: count only
	p    *progress
}

func (h *countDone) Write(ctx context.Context, dev model.DeviceRef, m *xr.Message, receivedMs int64) error {
	var err error
	if h.next != nil {
		err = h.next.Write(ctx, dev, m, receivedMs)
	}
	h.p.add(1)
	return err
}

// countSink counts the samples that reached the store: a batching Handler
// has handled a block only once they all have.
type countSink struct {
	next pipeline.Sink
	p    *progress
}

func (s *countSink) Write(ctx context.Context, b *model.Batch) error {
	err := s.next.Write(ctx, b)
	s.p.add(int64(len(b.Samples)))
	return err
}

// runIngest sends one block per iteration over a new loopback TCP
// connection (a new zlib stream) and waits until the handler has seen all
// of it: socket reads, framing, inflating, decoding and the handler.
// perBlock is what p counts for one block (messages or samples).
func runIngest(b *testing.B, h Handler, p *progress, perBlock int64, block func(i int) []byte) {
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
		p.target.Add(perBlock)
		c, err := net.Dial("tcp", r.TCPAddr().String())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Write(stream); err != nil {
			b.Fatal(err)
		}
		select {
		case <-p.done:
		case <-time.After(time.Minute):
			b.Fatalf("block %d: %d of %d arrived", i, p.n.Load(), p.target.Load())
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
	p := newProgress()
	runIngest(b, &countDone{p: p}, p, benchBlock, func(int) []byte { return stream })
}

// TCP ingest with zlib into the real mapper (pkg/pipeline/xrmap) and the
// series store (pkg/store, on disk with its write-ahead log), each block
// with later timestamps than the one before. The receiver gives each
// connection an xrmap.Writer: one store commit per socket read.
func BenchmarkTCPIngestZlibMDTKV50LeavesStore(b *testing.B) {
	benchStore(b, func(m *xrmap.Mapper) Handler { return m })
}

// The same with one store commit per message (the Handler hides the
// Mapper's Writer), what group commit saves.
func BenchmarkTCPIngestZlibMDTKV50LeavesStorePerMessage(b *testing.B) {
	benchStore(b, func(m *xrmap.Mapper) Handler { return onlyHandler{m} })
}

type onlyHandler struct{ Handler }

func benchStore(b *testing.B, handler func(*xrmap.Mapper) Handler) {
	st, err := store.Open(store.Options{Dir: b.TempDir(), Logger: log.NewNullLogger()})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	board := status.NewBoard(nil)
	p := newProgress()
	sink := &countSink{next: pipeline.New(st, nil, board), p: p}
	m := xrmap.New(sink, records.NewTable(xrmap.StateTable, records.Options{}), board, xrmap.Options{MaxSeriesPerRouter: 100000})
	ts := time.Now().Add(-time.Hour).UnixMilli()
	runIngest(b, handler(m), p, benchBlock*50, func(i int) []byte {
		stream, _ := benchStream(ts + int64(i*benchBlock))
		return stream
	})
	if n := board.Snapshot().Counters["store_samples_rejected"]; n > 0 {
		b.Fatalf("store rejected %d samples", n)
	}
	if got, want := st.Stats().SamplesAppended, uint64(p.target.Load()); got != want {
		b.Fatalf("store appended %d samples, want %d", got, want)
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
