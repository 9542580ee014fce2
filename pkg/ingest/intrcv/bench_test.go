package intrcv

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/netlens/netlens/pkg/decode/intreport"
	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/pipeline/intmap"
	"github.com/netlens/netlens/pkg/records"
	"github.com/netlens/netlens/pkg/sim/intsim"
	"github.com/netlens/netlens/pkg/status"
)

// The benchmark's switches are this test binary run again with senderEnv
// set: in a process of its own the simulator does not share the
// collector's GOMAXPROCS, as real switches would not.
const senderEnv = "NETLENS_INTRCV_BENCH_SENDER"

func TestMain(m *testing.M) {
	if spec := os.Getenv(senderEnv); spec != "" {
		os.Exit(runSender(spec))
	}
	os.Exit(m.Run())
}

// runSender floods "addr reportsPerSec count mode" (0 reports/s: as fast
// as it can) with intsim: a domain of UDP flows in postcard or INT mode,
// each of its six switches from its own loopback address, no deliberate
// loss, so every report sent must arrive or be counted dropped. In INT
// mode only the sinks report (their hop stacks: 3 hops across the spines,
// 1 within a leaf), without the local report beside each. It prints what
// it sent and how long that took.
func runSender(spec string) int {
	f := strings.Fields(spec)
	if len(f) != 4 {
		fmt.Fprintln(os.Stderr, "sender spec:", spec)
		return 2
	}
	rate, _ := strconv.ParseFloat(f[1], 64)
	count, _ := strconv.ParseUint(f[2], 10, 64)
	mode := intsim.ModePostcard
	if f[3] == "int" {
		mode = intsim.ModeINT
	}
	sim, err := intsim.New(intsim.Config{
		Target: f[0], Sources: simSources, Rate: rate, Count: count,
		Domain: intsim.DomainConfig{Mode: mode, Flows: 1024, UDPShare: 1, ICMPShare: -1,
			DropRate: -1, LossRate: -1, CongestionEvery: -1, NoSinkLocal: true},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := sim.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	tot := sim.Totals()
	fmt.Printf("sent %d %d %d\n", tot.Reports, time.Since(start).Nanoseconds(), tot.Errors)
	return 0
}

// counter is the cheapest Handler: it counts.
type counter struct{ n atomic.Uint64 }

type countWorker struct{ c *counter }

func (w countWorker) Report(model.DeviceRef, *intreport.Report, int64) { w.c.n.Add(1) }
func (w countWorker) Flush(int64)                                      {}

// discardSink takes the series; their store is not measured here.
type discardSink struct{}

func (discardSink) Write(context.Context, *model.Batch) error { return nil }

type stepResult struct {
	sent, handled, rows        uint64
	overflow, queueFull, sent0 uint64
	sendSec, totalSec, cpuSec  float64
	// unfinished: the collector had not handed on or dropped every report
	// 10 s after the sender stopped
	unfinished bool
}

// cpuTime is this process's user and system time: on a shared machine
// wall-clock rates depend on the neighbours, CPU time much less.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// ingestStep runs a collector (2 sockets, 2 workers, as the machine has
// 2 cores), has the sender process offer count reports at rate, and
// waits until each is handed on or counted dropped. With mapper, the
// workers' handlers are intmap workers writing a real int_report table.
// mode is the sender's: "postcard" or "int".
func ingestStep(b *testing.B, rate float64, count uint64, mapper, gro bool, mode string) stepResult {
	cfg := testConfig()
	cfg.QueueDatagrams, cfg.ReadBufferBytes = 16384, 32<<20
	board := status.NewBoard(nil)
	var c counter
	var table *records.Table
	newHandler := func(int) Handler { return countWorker{&c} }
	if mapper {
		table = records.NewTable(intmap.ReportTable, records.Options{MaxBytes: 512 << 20})
		m, err := intmap.New(table, discardSink{}, board, intmap.Options{})
		if err != nil {
			b.Fatal(err)
		}
		newHandler = func(int) Handler { return m.Worker() }
	}
	var opts []Option
	if !gro {
		opts = append(opts, withoutGRO())
	}
	r, err := New(cfg, nil, newHandler, board, nil, opts...)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Serve(ctx) }()

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), senderEnv+"="+fmt.Sprintf("%s %g %d %s", r.UDPAddr(), rate, count, mode), "GOMAXPROCS=1")
	cmd.Stderr = os.Stderr
	cpu0 := cpuTime()
	start := time.Now()
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("sender: %v", err)
	}
	var sent, sendNs, sendErrs uint64
	if _, err := fmt.Sscanf(string(out), "sent %d %d %d", &sent, &sendNs, &sendErrs); err != nil {
		b.Fatalf("sender said %q", out)
	}

	// The kernel tells a socket's drops with the next datagram it delivers:
	// once the queues are empty, one-byte probes carry the last counts in,
	// each from a new port so SO_REUSEPORT spreads them over the sockets.
	// They are refused as truncated and counted apart.
	probe := func() {
		c, err := net.Dial("udp", r.UDPAddr().String())
		if err != nil {
			b.Fatal(err)
		}
		c.Write([]byte{0})
		c.Close()
	}
	idle := func() bool {
		for _, w := range r.workers {
			if len(w.q) > 0 {
				return false
			}
		}
		return true
	}
	var probes uint64
	accounted := func() uint64 {
		return r.count.reports.Load() + r.count.bad.Load() + r.count.queueFull.Load() + r.count.socketOverflow.Load()
	}
	deadline := time.Now().Add(10 * time.Second)
	for accounted() < sent+probes && time.Now().Before(deadline) {
		if time.Since(start) > time.Duration(sendNs)+100*time.Millisecond && idle() {
			for range 4 {
				probe()
				probes++
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	unfinished := accounted() < sent+probes
	total := time.Since(start)
	cancel()
	<-done
	cpu := cpuTime() - cpu0
	res := stepResult{
		sent: sent, handled: r.count.reports.Load(), overflow: r.count.socketOverflow.Load(),
		queueFull: r.count.queueFull.Load(), sent0: sendErrs,
		sendSec: float64(sendNs) / 1e9, totalSec: total.Seconds(), cpuSec: cpu.Seconds(), unfinished: unfinished,
	}
	if mapper {
		st := table.Stats()
		res.rows = uint64(st.Rows + st.EvictedRows)
	}
	if bad := r.count.bad.Load(); bad > probes {
		b.Errorf("%d reports refused by the decoder", bad-probes)
	}
	return res
}

// BenchmarkUDPIngest offers simulated postcards (intsim, six switches,
// 1024 UDP flows, no loss) over loopback from another process to a
// collector with 2 sockets and 2 workers. Each step offers a fixed rate
// for 2 s ("max": as fast as the simulator goes) and reports what was
// offered, what reached the handlers, what was lost and why; it fails if
// a report is lost without a drop counted. "count" is a Handler that
// counts; "intmap" is the real mapper into an int_report records table
// (postcards joined per packet: rows are paths, not reports);
// "intmap-int" is the same mapper taking INT reports from the sinks
// (hop stacks of 3 hops, 1 within a leaf; no Joiner: a row per report). The
// simulator sends runs of equal-sized reports of a switch as one UDP
// segmentation offload send, which loopback delivers whole to a socket
// with UDP_GRO on: "count-nogro" turns UDP_GRO off, so every report is
// its own datagram in the socket's queue, as from switches whose
// datagrams no NIC coalesces.
// handled/cpu-s divides by the collector's CPU time instead of the wall
// clock. -cpu 1 gives the collector one core, -cpu 2 both (the sender
// takes one of them either way):
//
//	go test -run '^$' -bench BenchmarkUDPIngest -benchtime 1x -cpu 1,2 ./pkg/ingest/intrcv
func BenchmarkUDPIngest(b *testing.B) {
	const stepSec = 2
	for _, handler := range []string{"count", "count-nogro", "intmap", "intmap-int"} {
		for _, rate := range []float64{250_000, 500_000, 750_000, 1_000_000, 1_250_000, 1_500_000, 0} {
			name := handler + "/max"
			if rate > 0 {
				name = fmt.Sprintf("%s/offered=%dk", handler, int(rate)/1000)
			}
			b.Run(name, func(b *testing.B) {
				count := uint64(rate * stepSec)
				if rate == 0 {
					count = 2_000_000 * stepSec
				}
				var r stepResult
				for b.Loop() {
					mode := "postcard"
					if handler == "intmap-int" {
						mode = "int"
					}
					r = ingestStep(b, rate, count, strings.HasPrefix(handler, "intmap"), handler != "count-nogro", mode)
				}
				lost := r.sent - r.handled
				b.ReportMetric(float64(r.sent)/r.sendSec, "offered-rep/s")
				b.ReportMetric(float64(r.handled)/r.totalSec, "handled-rep/s")
				b.ReportMetric(100*float64(lost)/float64(max(r.sent, 1)), "lost-%")
				b.ReportMetric(float64(r.handled)/r.cpuSec, "handled-rep/cpu-s")
				b.ReportMetric(float64(r.overflow), "socket_overflow")
				b.ReportMetric(float64(r.queueFull), "queue_full")
				if strings.HasPrefix(handler, "intmap") {
					b.ReportMetric(float64(r.rows), "rows")
				}
				// The kernel counts a socket's drops in buffers: with UDP_GRO
				// one buffer holds up to 64 datagrams of a sender (the
				// simulator's segmented sends are at most 64 reports), so a
				// dropped buffer hides up to 63 more reports than it counts.
				unaccounted := int64(lost) - int64(r.overflow+r.queueFull)
				hidden := int64(0)
				if handler != "count-nogro" {
					hidden = 63 * int64(r.overflow)
				}
				if unaccounted < 0 || unaccounted > hidden {
					b.Errorf("%d reports lost without a drop counted (%d socket buffers dropped, %d queue_full, unfinished %v)", unaccounted, r.overflow, r.queueFull, r.unfinished)
				}
				b.ReportMetric(float64(unaccounted), "lost-in-dropped-buffers")
			})
		}
	}
}

// BenchmarkWorkerPath is the per-report work behind the socket, without
// the network: decode, sequence tracking, the switch's row and the
// handler, a Flush every flushEvery reports, for simulated postcards and
// INT reports from the sink. Its reports/s is one worker's ceiling on
// one core.
//
//	go test -run '^$' -bench BenchmarkWorkerPath -benchmem -cpu 1 ./pkg/ingest/intrcv
func BenchmarkWorkerPath(b *testing.B) {
	for _, mode := range []intsim.Mode{intsim.ModePostcard, intsim.ModeINT} {
		for _, handler := range []string{"count", "intmap"} {
			b.Run(fmt.Sprintf("%s/%s", mode, handler), func(b *testing.B) {
				d, err := intsim.NewDomain(intsim.DomainConfig{Mode: mode, Flows: 1024, UDPShare: 1, ICMPShare: -1, DropRate: -1, LossRate: -1, CongestionEvery: -1, NoSinkLocal: true})
				if err != nil {
					b.Fatal(err)
				}
				enc := d.Config().Encoding
				var reps [][]byte
				var from []netip.Addr
				for i := 0; len(reps) < 4096; i++ {
					for _, r := range d.Packet(uint64(i) * 1000) {
						reps = append(reps, enc.AppendReport(nil, &r))
						from = append(from, netip.AddrFrom4([4]byte{127, 0, 0, byte(11 + r.Switch)}))
					}
				}
				var c counter
				var h Handler = countWorker{&c}
				if handler == "intmap" {
					table := records.NewTable(intmap.ReportTable, records.Options{MaxBytes: 512 << 20})
					m, err := intmap.New(table, discardSink{}, status.NewBoard(nil), intmap.Options{})
					if err != nil {
						b.Fatal(err)
					}
					h = m.Worker()
				}
				cfg := testConfig()
				rc := &Receiver{cfg: cfg, board: status.NewBoard(nil), opt: options{now: time.Now}}
				w := &worker{r: rc, tab: newTable(64), dec: intreport.NewDecoder(cfg.Decode), seq: intreport.NewSeqTracker(seqSpaces), h: h}
				nowMs := time.Now().UnixMilli()
				b.ReportAllocs()
				i := 0
				bad := 0
				for b.Loop() {
					if ok, _ := w.handle(reps[i%len(reps)], from[i%len(reps)], nowMs+int64(i/1000)); !ok {
						bad++
					}
					if w.sinceFlush++; w.sinceFlush >= benchFlushEvery {
						w.flush(false)
					}
					i++
				}
				if bad > 0 {
					b.Fatalf("%d of %d reports refused", bad, i)
				}
				b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "reports/s")
			})
		}
	}
}

var benchFlushEvery = flushEvery
