package ipfix

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/pipeline"
	"github.com/netlens/netlens/pkg/pipeline/flows"
	"github.com/netlens/netlens/pkg/records"
	"github.com/netlens/netlens/pkg/status"
)

// The ingest benchmark's exporter is this test binary run again with
// senderEnv set: in its own process it does not share the collector's
// GOMAXPROCS, as a real exporter would not.
const senderEnv = "NETLENS_IPFIX_BENCH_SENDER"

func TestMain(m *testing.M) {
	if spec := os.Getenv(senderEnv); spec != "" {
		os.Exit(runSender(spec))
	}
	os.Exit(m.Run())
}

// benchTemplate is a typical flow template: 5-tuple, ToS, TCP flags,
// interfaces, 64-bit counters and millisecond times, 55 bytes a record.
var benchTemplate = [][2]uint16{
	{8, 4}, {12, 4}, {7, 2}, {11, 2}, {4, 1}, {6, 1}, {5, 1}, {10, 4}, {14, 4},
	{1, 8}, {2, 8}, {152, 8}, {153, 8},
}

const benchRecordsPerMsg = 30

func benchTemplateSet(tid uint16) []byte {
	b := binary.BigEndian.AppendUint16(nil, tid)
	b = binary.BigEndian.AppendUint16(b, uint16(len(benchTemplate)))
	for _, f := range benchTemplate {
		b = binary.BigEndian.AppendUint16(b, f[0])
		b = binary.BigEndian.AppendUint16(b, f[1])
	}
	return set(2, b)
}

// benchMessages builds n messages of benchRecordsPerMsg records each,
// every record its own conversation, ending around endMs.
func benchMessages(n int, endMs int64) [][]byte {
	out := make([][]byte, n)
	for m := range n {
		var b []byte
		for r := range benchRecordsPerMsg {
			k := m*benchRecordsPerMsg + r
			b = append(b, 10, byte(k>>16), byte(k>>8), byte(k))
			b = append(b, 192, 0, 2, byte(k%250+1))
			b = binary.BigEndian.AppendUint16(b, uint16(1024+k%50000))
			b = binary.BigEndian.AppendUint16(b, []uint16{443, 80, 53, 22}[k%4])
			b = append(b, []byte{6, 17}[k%2], 0x18, 0)
			b = binary.BigEndian.AppendUint32(b, uint32(k%8+1))
			b = binary.BigEndian.AppendUint32(b, 100)
			b = binary.BigEndian.AppendUint64(b, uint64(1500*(k%20+1)))
			b = binary.BigEndian.AppendUint64(b, uint64(k%20+1))
			b = binary.BigEndian.AppendUint64(b, uint64(endMs-2000))
			b = binary.BigEndian.AppendUint64(b, uint64(endMs))
		}
		out[m] = ipfixMsg(1, 0, set(256, b))
	}
	return out
}

// runSender sends "addr msgsPerSec count": the template, then count data
// messages paced at msgsPerSec (0: as fast as it can), with correct
// sequence numbers. It prints how many it sent and how long that took.
func runSender(spec string) int {
	f := strings.Fields(spec)
	if len(f) != 3 {
		fmt.Fprintln(os.Stderr, "sender spec:", spec)
		return 2
	}
	rate, _ := strconv.Atoi(f[1])
	count, _ := strconv.Atoi(f[2])
	c, err := net.Dial("udp", f[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	msgs := benchMessages(64, time.Now().UnixMilli())
	if _, err := c.Write(ipfixMsg(1, 0, benchTemplateSet(256))); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	time.Sleep(10 * time.Millisecond) // the template first, as exporters do
	start := time.Now()
	seq := uint32(0)
	sent := 0
	for sent < count {
		due := count
		if rate > 0 {
			due = min(count, int(time.Since(start).Seconds()*float64(rate))+1)
			if due <= sent {
				time.Sleep(100 * time.Microsecond)
				continue
			}
		}
		for ; sent < due; sent++ {
			m := msgs[sent%len(msgs)]
			binary.BigEndian.PutUint32(m[8:], seq)
			seq += benchRecordsPerMsg
			if _, err := c.Write(m); err != nil {
				// ECONNREFUSED from an earlier ICMP error, or ENOBUFS: lost like any datagram.
				continue
			}
		}
	}
	fmt.Printf("sent %d %d\n", sent, time.Since(start).Nanoseconds())
	return 0
}

// discardSeries takes the volume samples; their store is not measured here.
type discardSeries struct{}

func (discardSeries) Append(_ context.Context, s []model.Sample) (pipeline.AppendResult, error) {
	return pipeline.AppendResult{}, nil
}

type stepResult struct {
	sentRecs, decodedRecs, storedRows uint64
	overflow, queueFull               uint64
	sendSec, totalSec                 float64
	cpuSec                            float64 // the collector process's user+system time
}

// cpuTime is this process's user and system time: on a shared machine
// wall-clock rates depend on the neighbours, CPU time much less.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// ingestStep runs a collector with one socket and one worker wired to the
// flow pipeline and a record table, has the sender process send count
// messages at msgsPerSec, and waits until every datagram is decoded or
// counted as dropped.
func ingestStep(b *testing.B, msgsPerSec, count int) stepResult {
	cfg := testConfig()
	cfg.TCPListenAddress = ""
	cfg.UDPSockets, cfg.Workers, cfg.QueueDatagrams, cfg.ReadBufferBytes = 1, 1, 8192, 8<<20
	board := status.NewBoard(nil)
	table := records.NewTable("ipfix_flow", records.Options{MaxBytes: 256 << 20})
	vol := flows.NewVolumes(discardSeries{}, board)
	s, err := New(cfg, nil, nil, "", func(int) Handler {
		f, err := flows.New(table, vol)
		if err != nil {
			b.Fatal(err)
		}
		return f
	}, board, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Shutdown(context.Background())

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), senderEnv+"="+fmt.Sprintf("%s %d %d", s.UDPAddr(), msgsPerSec, count), "GOMAXPROCS=1")
	cmd.Stderr = os.Stderr
	cpu0 := cpuTime()
	start := time.Now()
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("sender: %v", err)
	}
	var sent int
	var sendNs int64
	if _, err := fmt.Sscanf(string(out), "sent %d %d", &sent, &sendNs); err != nil {
		b.Fatalf("sender said %q", out)
	}

	// The kernel reports its drops with the next datagram it delivers:
	// once the worker's queue is empty, probes (empty messages, domain 2,
	// from another socket) carry the last count in. They carry no records,
	// and the queue's drops are taken from the sender's own row (domain 1),
	// so a probe dropped on the way does not count as lost records.
	probe, err := net.Dial("udp", s.UDPAddr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer probe.Close()
	idle := func() bool {
		for _, w := range s.workers {
			if len(w.q) > 0 {
				return false
			}
		}
		return true
	}
	want := uint64(sent) + 1
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := s.count.messages.Load() + s.Drops(DropQueueFull) + s.Drops(DropSocketOverflow)
		if got >= want || time.Now().After(deadline) {
			break
		}
		if time.Since(start) > time.Duration(sendNs)+100*time.Millisecond && idle() {
			probe.Write(ipfixMsg(2, 0))
			want++
		}
		time.Sleep(10 * time.Millisecond)
	}
	total := time.Since(start)
	s.Shutdown(context.Background())
	cpu := cpuTime() - cpu0
	st := table.Stats()
	var queueFull uint64
	for _, r := range s.Exporters() {
		if r.ODID == 1 {
			queueFull += r.Drops[DropQueueFull]
		}
	}
	return stepResult{
		sentRecs: uint64(sent) * benchRecordsPerMsg, decodedRecs: s.count.records.Load(),
		storedRows: uint64(st.Rows + st.EvictedRows),
		overflow:   s.Drops(DropSocketOverflow), queueFull: queueFull,
		sendSec: float64(sendNs) / 1e9, totalSec: total.Seconds(), cpuSec: cpu.Seconds(),
	}
}

// BenchmarkUDPIngest sends pre-built 30-record messages over loopback
// from another process to a collector with one UDP socket and one worker,
// through the decoder and the flow pipeline into the record store. Each
// sub-benchmark offers a fixed rate for 2 s ("max": as fast as the sender
// goes) and reports what was offered, what was stored, and what was lost
// and why; the benchmark fails if a record is lost without a drop counted.
// stored-rec/cpu-s divides by the collector process's CPU time instead of
// the wall clock: what one core does when nothing else wants it (the
// machine this was written on is shared). Run it with -cpu 1 for the
// one-core figure:
//
//	go test -run '^$' -bench BenchmarkUDPIngest -benchtime 1x -cpu 1 ./pkg/ingest/ipfix
func BenchmarkUDPIngest(b *testing.B) {
	const stepSec = 2
	for _, recsPerSec := range []int{250_000, 500_000, 750_000, 1_000_000, 1_250_000, 1_500_000, 2_000_000, 0} {
		name := "max"
		if recsPerSec > 0 {
			name = fmt.Sprintf("offered=%dk", recsPerSec/1000)
		}
		b.Run(name, func(b *testing.B) {
			msgsPerSec := recsPerSec / benchRecordsPerMsg
			count := msgsPerSec * stepSec
			if recsPerSec == 0 {
				count = 2_000_000 * stepSec / benchRecordsPerMsg
			}
			var r stepResult
			for b.Loop() {
				r = ingestStep(b, msgsPerSec, count)
			}
			lost := r.sentRecs - r.storedRows
			b.ReportMetric(float64(r.sentRecs)/r.sendSec, "offered-rec/s")
			b.ReportMetric(float64(r.storedRows)/r.totalSec, "stored-rec/s")
			b.ReportMetric(100*float64(lost)/float64(r.sentRecs), "lost-%")
			b.ReportMetric(float64(r.storedRows)/r.cpuSec, "stored-rec/cpu-s")
			b.ReportMetric(float64(r.overflow*benchRecordsPerMsg), "socket_overflow-rec")
			b.ReportMetric(float64(r.queueFull*benchRecordsPerMsg), "queue_full-rec")
			if r.decodedRecs != r.storedRows {
				b.Errorf("decoded %d records but the store has %d", r.decodedRecs, r.storedRows)
			}
			if unaccounted := int64(lost) - int64((r.overflow+r.queueFull)*benchRecordsPerMsg); unaccounted != 0 {
				b.Errorf("%d records lost without a drop counted", unaccounted)
			}
		})
	}
}

// BenchmarkWorkerPath is the per-message work behind the socket, without
// the network: copy into a pooled buffer, decode, the flow pipeline and
// the record store, the exporter's row, a flush every flushEvery
// messages. Its records/s is the ceiling of one worker on one core.
//
//	go test -run '^$' -bench BenchmarkWorkerPath -benchmem -cpu 1 ./pkg/ingest/ipfix
func BenchmarkWorkerPath(b *testing.B) {
	board := status.NewBoard(nil)
	table := records.NewTable("ipfix_flow", records.Options{MaxBytes: 256 << 20})
	f, err := flows.New(table, flows.NewVolumes(discardSeries{}, board))
	if err != nil {
		b.Fatal(err)
	}
	cfg := testConfig()
	s := &Server{cfg: cfg, board: board, opt: defaultOptions(), log: nil}
	eng := decoderEngine(cfg, nil, func(int) Handler { return f })(0)
	w := &worker{s: s, tab: newTable(16), eng: eng, udp: eng.newDecoder(), tcp: map[netip.AddrPort]decoder{}}
	from := netip.MustParseAddrPort("192.0.2.7:50000")
	nowMs := time.Now().UnixMilli()
	msgs := benchMessages(64, nowMs)
	feed := func(m []byte) {
		p := getBuf(len(m))
		copy(*p, m)
		w.handle(item{buf: p, from: from, rcvMs: nowMs})
		if w.sinceFlush++; w.sinceFlush >= flushEvery {
			w.flush()
		}
	}
	feed(ipfixMsg(1, 0, benchTemplateSet(256)))
	seq := uint32(0)
	i := 0
	cpu0 := cpuTime()
	for b.Loop() {
		m := msgs[i%len(msgs)]
		binary.BigEndian.PutUint32(m[8:], seq)
		seq += benchRecordsPerMsg
		feed(m)
		i++
	}
	w.flush()
	b.ReportMetric(float64(i*benchRecordsPerMsg)/b.Elapsed().Seconds(), "rec/s")
	b.ReportMetric(float64(i*benchRecordsPerMsg)/(cpuTime()-cpu0).Seconds(), "rec/cpu-s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(i*benchRecordsPerMsg), "ns/rec")
	if got := s.count.records.Load(); got != uint64(i*benchRecordsPerMsg) {
		b.Fatalf("decoded %d records of %d", got, i*benchRecordsPerMsg)
	}
}
