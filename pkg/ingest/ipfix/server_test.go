package ipfix

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netlens/netlens/pkg/config"
	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/status"
)

func testConfig() config.IPFIX {
	return config.IPFIX{
		UDPListenAddress: "127.0.0.1:0", TCPListenAddress: "127.0.0.1:0",
		UDPSockets: 2, Workers: 2, QueueDatagrams: 1024, ReadBufferBytes: 1 << 20,
		TemplateLifetime: 30 * time.Minute, MaxTemplates: 4096, ExporterTimeout: time.Minute,
	}
}

type env struct {
	t     testing.TB
	s     *Server
	board *status.Board
	h     *countingHandler
	dir   string
}

// start runs a server on loopback with the real decoder and a counting
// handler; tweak adjusts its options before anything starts.
func start(t testing.TB, cfg config.IPFIX, allowed func(netip.Addr) bool, dir string, tweak func(*options, *countingHandler)) *env {
	t.Helper()
	e := &env{t: t, board: status.NewBoard(nil), h: &countingHandler{}, dir: dir}
	o := defaultOptions()
	o.engine = testEngine(cfg, e.h)
	if tweak != nil {
		tweak(&o, e.h)
	}
	s, err := newServer(cfg, allowed, dir, e.board, nil, o)
	if err != nil {
		t.Fatal(err)
	}
	e.s = s
	t.Cleanup(func() { e.stop() })
	return e
}

func (e *env) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.s.Shutdown(ctx); err != nil {
		e.t.Error(err)
	}
}

// settle waits until each worker has finished the message it is on (and
// ticked), then ticks the server: rows and the board are then up to date
// with what the handler has seen.
func (e *env) settle() {
	e.tickWorkers()
	e.s.tick()
}

// tickWorkers runs every worker's tick in its goroutine and waits for it.
func (e *env) tickWorkers() {
	for _, w := range e.s.workers {
		done := make(chan struct{})
		w.ctl <- func(w *worker) { w.tick(); close(done) }
		<-done
	}
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// exporter dials the server's UDP port from its own socket, as one exporter.
func (e *env) exporter() *net.UDPConn {
	e.t.Helper()
	c, err := net.DialUDP("udp", nil, e.s.UDPAddr().(*net.UDPAddr))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	return c
}

func send(t testing.TB, c net.Conn, msgs ...[]byte) {
	t.Helper()
	for _, m := range msgs {
		if _, err := c.Write(m); err != nil {
			t.Fatal(err)
		}
	}
}

func local(c net.Conn) netip.AddrPort {
	switch a := c.LocalAddr().(type) {
	case *net.UDPAddr:
		return a.AddrPort()
	case *net.TCPAddr:
		return a.AddrPort()
	}
	panic("not an IP connection")
}

func (e *env) row(from netip.AddrPort, odid uint32, transport string) (ExporterStatus, bool) {
	for _, x := range e.s.Exporters() {
		if x.Address == from.String() && x.ODID == odid && x.Transport == transport {
			return x, true
		}
	}
	return ExporterStatus{}, false
}

func (e *env) device(id string) (status.Device, bool) {
	for _, d := range e.board.Snapshot().Devices {
		if d.Source == model.SourceIPFIX && d.ID == id {
			return d, true
		}
	}
	return status.Device{}, false
}

// Two exporters send a template and data over UDP: every record reaches
// the handler, each exporter's row says what it sent, and the board knows
// both as connected devices.
func TestUDPDeliveryAndExporterStatus(t *testing.T) {
	e := start(t, testConfig(), nil, "", nil)
	a, b := e.exporter(), e.exporter()
	send(t, a, ipfixMsg(1, 0, templateSet(256), dataSet(256, 30)), ipfixMsg(1, 30, dataSet(256, 30)))
	send(t, b, ipfixMsg(7, 0, templateSet(300), dataSet(300, 5)))
	waitFor(t, "65 records", func() bool { return e.h.total.Load() == 65 })
	if e.h.from(local(a)) != 60 || e.h.from(local(b)) != 5 {
		t.Fatalf("records by exporter: %v", e.h.by)
	}
	e.settle()
	ra, ok := e.row(local(a), 1, "udp")
	if !ok {
		t.Fatalf("no row for %s: %+v", local(a), e.s.Exporters())
	}
	if ra.Device != "127.0.0.1/1" || ra.Records != 60 || ra.Messages != 2 || ra.Version != 10 || ra.State != StateOK ||
		ra.LostRecords != 0 || ra.SamplingRate != 1 || len(ra.Templates) != 1 || ra.Templates[0] != 256 {
		t.Errorf("row a: %+v", ra)
	}
	if want := uint64(2*ipfixHeaderLen + len(templateSet(256)) + 2*len(dataSet(256, 30))); ra.Bytes != want {
		t.Errorf("row a bytes %d, want %d", ra.Bytes, want)
	}
	if d, ok := e.device("127.0.0.1/7"); !ok || d.State != status.StateConnected || d.Samples != 5 {
		t.Errorf("board device b: %+v", d)
	}
	if c := e.board.Snapshot().Counters; c[CounterRecords] != 65 || c[CounterUDPDatagrams] != 3 {
		t.Errorf("counters %v", c)
	}
}

// A sequence number that skips ahead shows as lost records, the exporter
// as losing, and a streaming error on its device.
func TestSequenceGapMakesExporterLosing(t *testing.T) {
	e := start(t, testConfig(), nil, "", nil)
	a := e.exporter()
	send(t, a, ipfixMsg(0, 0, templateSet(256), dataSet(256, 10)), ipfixMsg(0, 25, dataSet(256, 10)))
	waitFor(t, "20 records", func() bool { return e.h.total.Load() == 20 })
	e.settle()
	r, _ := e.row(local(a), 0, "udp")
	if r.LostRecords != 15 || r.State != StateLosing {
		t.Fatalf("row %+v", r)
	}
	d, _ := e.device("127.0.0.1/0")
	if d.Errors[status.CatStreaming] == nil || !strings.Contains(d.Errors[status.CatStreaming].Last, "15 data records lost") {
		t.Errorf("device errors %+v", d.Errors)
	}
}

// Traffic from outside the allow-list is dropped before anything else,
// UDP and TCP alike, counted, and its address recorded as rejected.
func TestAllowListDropsBeforeDecoding(t *testing.T) {
	deny := func(a netip.Addr) bool { return a != netip.MustParseAddr("127.0.0.1") }
	e := start(t, testConfig(), deny, "", nil)
	send(t, e.exporter(), ipfixMsg(0, 0, templateSet(256), dataSet(256, 3)))
	c, err := net.Dial("tcp", e.s.TCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("refused TCP connection read %v, want EOF", err)
	}
	waitFor(t, "two refusals", func() bool { return e.s.Drops(DropNotAllowed) == 2 })
	if e.h.total.Load() != 0 || len(e.s.Exporters()) != 0 {
		t.Errorf("refused traffic reached a worker: %d records, rows %+v", e.h.total.Load(), e.s.Exporters())
	}
	if d, ok := e.device("peer:127.0.0.1"); !ok || d.State != status.StateRejected || d.Errors[status.CatAuth] == nil {
		t.Errorf("board record %+v", d)
	}
	e.s.tick()
	if n := e.board.Snapshot().Counters[CounterDropPrefix+DropNotAllowed]; n != 2 {
		t.Errorf("board counter %d", n)
	}
}

// A worker that cannot keep up: its queue fills, the rest is dropped and
// counted, and every datagram sent is either decoded or counted as dropped.
func TestFullQueueDropsAndCounts(t *testing.T) {
	cfg := testConfig()
	cfg.UDPSockets, cfg.Workers, cfg.QueueDatagrams = 1, 1, 16
	gate := make(chan struct{})
	e := start(t, cfg, nil, "", func(_ *options, h *countingHandler) { h.gate = gate })
	a := e.exporter()
	const sent = 200
	send(t, a, ipfixMsg(0, 0, templateSet(256)))
	for i := 1; i < sent; i++ {
		send(t, a, ipfixMsg(0, uint32(i-1), dataSet(256, 1)))
	}
	waitFor(t, "queue_full drops", func() bool {
		return e.s.Drops(DropQueueFull)+e.s.Drops(DropSocketOverflow) >= uint64(sent-1-cfg.QueueDatagrams-1)
	})
	close(gate)
	waitFor(t, "decoded plus dropped to equal sent", func() bool {
		return uint64(e.h.total.Load())+1+e.s.Drops(DropQueueFull)+e.s.Drops(DropSocketOverflow) == sent
	})
	e.settle()
	r, _ := e.row(local(a), 0, "udp")
	if r.Drops[DropQueueFull] != e.s.Drops(DropQueueFull) || r.Drops[DropQueueFull] == 0 {
		t.Errorf("row drops %v, receiver %d", r.Drops, e.s.Drops(DropQueueFull))
	}
	d, _ := e.device("127.0.0.1/0")
	if d.Errors[status.CatBuffer] == nil {
		t.Errorf("no buffer error on the device: %+v", d.Errors)
	}
}

// Datagrams the kernel drops because nobody reads the socket are counted
// from SO_RXQ_OVFL once reading resumes.
func TestKernelDropsCountedFromRXQOverflow(t *testing.T) {
	cfg := testConfig()
	cfg.UDPSockets, cfg.Workers, cfg.ReadBufferBytes = 1, 1, 4096
	gate := make(chan struct{})
	e := start(t, cfg, nil, "", func(o *options, _ *countingHandler) { o.readGate = gate })
	a := e.exporter()
	send(t, a, ipfixMsg(0, 0, templateSet(256)))
	const sent = 400
	for i := 1; i < sent; i++ {
		send(t, a, ipfixMsg(0, uint32(i-1), dataSet(256, 20)))
	}
	close(gate)
	// The count arrives with a datagram read after the drops: send one more.
	time.Sleep(50 * time.Millisecond)
	send(t, a, ipfixMsg(0, sent-1, dataSet(256, 20)))
	waitFor(t, "every datagram decoded or counted", func() bool {
		return e.s.count.messages.Load()+e.s.Drops(DropSocketOverflow) == sent+1
	})
	if e.s.Drops(DropSocketOverflow) == 0 {
		t.Fatal("no socket_overflow counted")
	}
	e.s.tick()
	if e.board.Snapshot().Counters[CounterDropPrefix+DropSocketOverflow] != e.s.Drops(DropSocketOverflow) {
		t.Errorf("board counters %v", e.board.Snapshot().Counters)
	}
}

func dialTCP(t testing.TB, e *env) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", e.s.TCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Messages over TCP arrive split at arbitrary points and are framed by
// their length; templates belong to the connection, so a second connection
// cannot use the first one's, and closing a connection stops its row.
func TestTCPFramingAndTemplatesPerConnection(t *testing.T) {
	e := start(t, testConfig(), nil, "", nil)
	c1 := dialTCP(t, e)
	stream := append(ipfixMsg(5, 0, templateSet(256), dataSet(256, 4)), ipfixMsg(5, 4, dataSet(256, 6))...)
	for i := 0; i < len(stream); i += 7 { // trickle: framing must not depend on reads
		send(t, c1, stream[i:min(i+7, len(stream))])
	}
	waitFor(t, "10 records over TCP", func() bool { return e.h.total.Load() == 10 })

	c2 := dialTCP(t, e)
	send(t, c2, ipfixMsg(5, 0, dataSet(256, 3)))
	waitFor(t, "the second connection's message", func() bool {
		r, _ := e.row(local(c2), 5, "tcp")
		return r.Messages == 1
	})
	if e.h.from(local(c2)) != 0 {
		t.Fatal("a connection decoded data with another connection's template")
	}

	c1.Close()
	waitFor(t, "the first connection's row to stop", func() bool {
		r, _ := e.row(local(c1), 5, "tcp")
		return r.State == StateStopped
	})
	r, _ := e.row(local(c1), 5, "tcp")
	if r.Records != 10 || len(r.Templates) != 0 {
		t.Errorf("closed connection's row %+v", r)
	}
}

// A stream that loses framing (not IPFIX, NetFlow v9, a length shorter than
// a header) is closed by the collector and counted on the exporter.
func TestTCPFramingLossClosesAndCounts(t *testing.T) {
	v9 := make([]byte, 20)
	v9[1] = 9
	short := ipfixMsg(3, 0)
	short[2], short[3] = 0, 8
	for name, bad := range map[string][]byte{
		"garbage":      []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
		"netflow v9":   v9,
		"short length": short,
	} {
		t.Run(name, func(t *testing.T) {
			e := start(t, testConfig(), nil, "", nil)
			c := dialTCP(t, e)
			send(t, c, ipfixMsg(3, 0, templateSet(256), dataSet(256, 2)), bad)
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !errors.Is(err, syscallReset) {
				t.Fatalf("read after bad framing: %v, want the connection closed", err)
			}
			waitFor(t, "tcp_framing counted", func() bool { return e.s.Drops(DropTCPFraming) == 1 })
			waitFor(t, "the 2 records before the bad message", func() bool { return e.h.total.Load() == 2 })
			odid := uint32(0)
			if name == "short length" {
				odid = 3
			}
			r, _ := e.row(local(c), odid, "tcp")
			if r.Drops[DropTCPFraming] != 1 {
				t.Errorf("rows %+v", e.s.Exporters())
			}
			d, _ := e.device("127.0.0.1/" + map[bool]string{true: "3", false: "0"}[odid == 3])
			if d.Errors[status.CatStreaming] == nil || !strings.Contains(d.Errors[status.CatStreaming].Last, "lost framing") {
				t.Errorf("device %+v", d)
			}
		})
	}
}

// Connections past the limit are closed at once and counted.
func TestTCPConnectionLimit(t *testing.T) {
	e := start(t, testConfig(), nil, "", func(o *options, _ *countingHandler) { o.maxTCPConns = 2 })
	c1, c2 := dialTCP(t, e), dialTCP(t, e)
	send(t, c1, ipfixMsg(0, 0))
	send(t, c2, ipfixMsg(0, 0))
	waitFor(t, "two connections served", func() bool { return e.s.count.tcpMessages.Load() == 2 })
	c3 := dialTCP(t, e)
	c3.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c3.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !errors.Is(err, syscallReset) {
		t.Fatalf("third connection read %v, want closed", err)
	}
	waitFor(t, "refusal counted", func() bool { return e.board.Snapshot().Counters[CounterTCPRefusedLimit] == 1 })
}

// Templates learnt in one run decode data in the next: the first run sees
// only the template, the second only data.
func TestRestartKeepsTemplates(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig()
	// The exporter keeps its socket (address and port scope templates)
	// while the collector restarts on another port.
	exp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer exp.Close()
	sendTo := func(e *env, m []byte) {
		if _, err := exp.WriteTo(m, e.s.UDPAddr()); err != nil {
			t.Fatal(err)
		}
	}

	first := start(t, cfg, nil, dir, nil)
	sendTo(first, ipfixMsg(9, 0, templateSet(256)))
	waitFor(t, "the template", func() bool {
		r, _ := first.row(local(exp), 9, "udp")
		return r.Messages == 1
	})
	first.stop()
	if _, err := os.Stat(filepath.Join(dir, TemplatesFile)); err != nil {
		t.Fatal(err)
	}

	// A different worker count: each worker restores what is now sharded to it.
	cfg.Workers = 3
	second := start(t, cfg, nil, dir, nil)
	sendTo(second, ipfixMsg(9, 0, dataSet(256, 12)))
	waitFor(t, "12 records decoded with the saved template", func() bool { return second.h.total.Load() == 12 })
}

// Changed templates are saved while running, not only at shutdown.
func TestTemplatesSavedPeriodically(t *testing.T) {
	dir := t.TempDir()
	e := start(t, testConfig(), nil, dir, func(o *options, _ *countingHandler) { o.saveEvery = 20 * time.Millisecond })
	send(t, e.exporter(), ipfixMsg(0, 0, templateSet(256)))
	path := filepath.Join(dir, TemplatesFile)
	waitFor(t, "the templates file", func() bool { _, err := os.Stat(path); return err == nil })
	waitFor(t, "a save counted", func() bool { return e.board.Snapshot().Counters[CounterTemplateSaves] >= 1 })
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// An exporter silent for longer than ExporterTimeout shows as stopped, and
// its device as disconnected; a new message brings it back.
func TestExporterStopsAfterTimeout(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	cfg := testConfig()
	e := start(t, cfg, nil, "", func(o *options, _ *countingHandler) { o.now = clock.now; o.tick = time.Hour })
	a := e.exporter()
	send(t, a, ipfixMsg(2, 0, templateSet(256), dataSet(256, 1)))
	waitFor(t, "a record", func() bool { return e.h.total.Load() == 1 })
	e.settle()
	if d, _ := e.device("127.0.0.1/2"); d.State != status.StateConnected {
		t.Fatalf("device %+v", d)
	}

	clock.add(cfg.ExporterTimeout + time.Second)
	if r, _ := e.row(local(a), 2, "udp"); r.State != StateStopped || r.RecordsPerSec != 0 {
		t.Fatalf("row after the timeout %+v", r)
	}
	e.settle()
	d, _ := e.device("127.0.0.1/2")
	if d.State != status.StateDisconnected || !strings.Contains(d.StateReason, "silent") {
		t.Fatalf("device after the timeout %+v", d)
	}

	send(t, a, ipfixMsg(2, 1, dataSet(256, 1)))
	waitFor(t, "the second record", func() bool { return e.h.total.Load() == 2 })
	e.settle()
	if r, _ := e.row(local(a), 2, "udp"); r.State != StateOK {
		t.Errorf("row after it came back %+v", r)
	}
	if d, _ := e.device("127.0.0.1/2"); d.State != status.StateConnected {
		t.Errorf("device after it came back %+v", d)
	}

	clock.add(25 * time.Hour)
	e.tickWorkers()
	if rows := e.s.Exporters(); len(rows) != 0 {
		t.Errorf("rows silent for a day are kept: %+v", rows)
	}
}

// Shutdown decodes what is queued before it returns.
func TestShutdownDrainsQueues(t *testing.T) {
	cfg := testConfig()
	cfg.UDPSockets, cfg.Workers = 1, 1
	gate := make(chan struct{})
	e := start(t, cfg, nil, "", func(_ *options, h *countingHandler) { h.gate = gate })
	a := e.exporter()
	send(t, a, ipfixMsg(0, 0, templateSet(256), dataSet(256, 1)))
	for i := 1; i <= 5; i++ {
		send(t, a, ipfixMsg(0, uint32(i), dataSet(256, 1)))
	}
	waitFor(t, "six datagrams read", func() bool { return e.s.count.udpDatagrams.Load() == 6 })
	go func() { time.Sleep(50 * time.Millisecond); close(gate) }()
	e.stop()
	if e.h.total.Load() != 6 {
		t.Fatalf("%d records after shutdown, want 6", e.h.total.Load())
	}
}

// A set whose length runs past the message is counted as malformed on its
// exporter and as an invalid_argument error on its device; the sets before
// it still decode.
func TestMalformedMessageCountedPerExporter(t *testing.T) {
	e := start(t, testConfig(), nil, "", nil)
	a := e.exporter()
	m := ipfixMsg(4, 0, templateSet(256), dataSet(256, 2))
	data := ipfixHeaderLen + len(templateSet(256))
	m[data+2], m[data+3] = 0x7f, 0xff // the data set claims 32767 bytes
	send(t, a, m)
	waitFor(t, "the malformed drop", func() bool { return e.s.Drops("malformed:bad_set_length") == 1 })
	e.settle()
	r, _ := e.row(local(a), 4, "udp")
	if len(r.Templates) != 1 || r.Records != 0 {
		t.Errorf("row %+v", r)
	}
	d, _ := e.device("127.0.0.1/4")
	if d.Errors[status.CatInvalidArgument] == nil || !strings.Contains(d.Errors[status.CatInvalidArgument].Last, "bad_set_length") {
		t.Errorf("device %+v", d)
	}
	if n := e.board.Snapshot().Counters[CounterDropPrefix+"malformed_bad_set_length"]; n != 1 {
		t.Errorf("board counters %v", e.board.Snapshot().Counters)
	}

	// Two errors in one message count under their own reasons.
	m = ipfixMsg(4, 0, templateSet(100), templateSet(256), dataSet(256, 1))
	data = ipfixHeaderLen + 2*len(templateSet(256))
	m[data+2], m[data+3] = 0x7f, 0xff
	send(t, a, m)
	waitFor(t, "both errors", func() bool {
		return e.s.Drops("malformed:bad_set_length") == 2 && e.s.Drops("malformed:template_id_reserved") == 1
	})
}

// Data whose template never comes is held, then dropped when it has waited
// too long, and counted as unknown_template.
func TestHeldDataExpiresAsUnknownTemplate(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	e := start(t, testConfig(), nil, "", func(o *options, _ *countingHandler) { o.now = clock.now; o.tick = time.Hour })
	a := e.exporter()
	send(t, a, ipfixMsg(0, 0, dataSet(256, 3)))
	waitFor(t, "the held set", func() bool {
		e.tickWorkers()
		r, _ := e.row(local(a), 0, "udp")
		return r.HeldRecords == 1
	})
	clock.add(2 * time.Minute)
	e.tickWorkers()
	r, _ := e.row(local(a), 0, "udp")
	if r.HeldRecords != 0 || r.Drops[DropUnknownTemplate] != 1 || e.h.total.Load() != 0 {
		t.Fatalf("row %+v", r)
	}
	if n := e.board.Snapshot().Counters[CounterDropPrefix+DropUnknownTemplate]; n != 1 {
		t.Errorf("board counter %d", n)
	}
}

// New, the constructor the process uses, on IPv6 loopback: a template and
// data arrive over UDP and TCP and reach the handler with their values.
func TestNewOnIPv6Loopback(t *testing.T) {
	cfg := testConfig()
	cfg.UDPListenAddress, cfg.TCPListenAddress = "[::1]:0", "[::1]:0"
	h := &countingHandler{}
	board := status.NewBoard(nil)
	s, err := New(cfg, nil, nil, t.TempDir(), func(int) Handler { return h }, board, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	u, err := net.Dial("udp", s.UDPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	c, err := net.Dial("tcp", s.TCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	send(t, u, ipfixMsg(1, 0, templateSet(256), dataSet(256, 3)))
	send(t, c, ipfixMsg(1, 0, templateSet(256), dataSet(256, 4)))
	waitFor(t, "7 records", func() bool { return h.total.Load() == 7 })
	if got := h.octets.Load(); got != 1+2+3+1+2+3+4 {
		t.Errorf("octets %d", got)
	}
	if asked, granted := s.ReadBuffer(); asked != cfg.ReadBufferBytes || granted <= 0 {
		t.Errorf("read buffer asked %d granted %d", asked, granted)
	}
	rows := s.Exporters()
	if len(rows) != 2 || rows[0].Device != "::1/1" {
		t.Errorf("rows %+v", rows)
	}
}

// NetFlow v9 over UDP goes the same way, its source id as the domain; a
// skipped packet sequence number counts lost packets.
func TestNetFlow9OverUDP(t *testing.T) {
	e := start(t, testConfig(), nil, "", nil)
	a := e.exporter()
	send(t, a, netflow9Msg(42, 0, 4, v9TemplateFlowset(260), dataSet(260, 3)), netflow9Msg(42, 3, 2, dataSet(260, 2)))
	waitFor(t, "5 records", func() bool { return e.h.total.Load() == 5 })
	e.settle()
	r, _ := e.row(local(a), 42, "udp")
	if r.Version != 9 || r.Device != "127.0.0.1/42" || r.LostPackets != 2 || r.State != StateLosing {
		t.Errorf("row %+v", r)
	}
}

// A connection that sends nothing is closed after the idle timeout; one
// that stops inside a message after the body deadline, as lost framing.
func TestTCPDeadlines(t *testing.T) {
	e := start(t, testConfig(), nil, "", func(o *options, _ *countingHandler) {
		o.tcpIdle, o.tcpBody = 100*time.Millisecond, 100*time.Millisecond
	})
	idle := dialTCP(t, e)
	idle.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := idle.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("idle connection read %v, want EOF", err)
	}
	waitFor(t, "the idle close counted", func() bool { return e.board.Snapshot().Counters[CounterTCPIdleClosed] == 1 })

	slow := dialTCP(t, e)
	send(t, slow, ipfixMsg(0, 0, templateSet(256))[:20]) // header and 4 bytes of 40
	slow.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := slow.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("trickling connection read %v, want EOF", err)
	}
	waitFor(t, "tcp_framing counted", func() bool { return e.s.Drops(DropTCPFraming) == 1 })
}

// A full table forgets the row silent the longest and counts it.
func TestExporterTableIsBounded(t *testing.T) {
	tab := newTable(2)
	k := func(port uint16) exporterKey {
		return exporterKey{addr: netip.AddrPortFrom(netip.MustParseAddr("192.0.2.1"), port)}
	}
	tab.drop(k(1), DropQueueFull, 1, 100)
	tab.drop(k(2), DropQueueFull, 1, 50)
	tab.drop(k(3), DropQueueFull, 1, 200)
	if len(tab.m) != 2 || tab.m[k(2)] != nil || tab.m[k(1)] == nil || tab.evicted != 1 {
		t.Fatalf("rows %v, evicted %d", tab.m, tab.evicted)
	}
}
