package intrcv

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/netlens/netlens/pkg/decode/intreport"
	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/sim/intsim"
	"github.com/netlens/netlens/pkg/status"
)

// countingHandler is one worker's handler: it counts reports per switch
// and type, and checks it is only ever called from one goroutine at a time.
type countingHandler struct {
	mu      sync.Mutex // for the test's reads; the worker is the only writer
	byDev   map[string]*[numTypes]uint64
	remotes map[string]map[string]bool
	flushes int
	last    int64
}

func newCountingHandler() *countingHandler {
	return &countingHandler{byDev: map[string]*[numTypes]uint64{}, remotes: map[string]map[string]bool{}}
}

func (h *countingHandler) Report(dev model.DeviceRef, r *intreport.Report, receivedMs int64) {
	h.mu.Lock()
	c := h.byDev[dev.ID]
	if c == nil {
		c = new([numTypes]uint64)
		h.byDev[dev.ID] = c
		h.remotes[dev.ID] = map[string]bool{}
	}
	c[typeOf(r)]++
	h.remotes[dev.ID][dev.Remote] = true
	if dev.Source != model.SourceINT {
		panic("device source " + dev.Source)
	}
	h.mu.Unlock()
}

func (h *countingHandler) Flush(nowMs int64) {
	h.mu.Lock()
	h.flushes++
	h.last = nowMs
	h.mu.Unlock()
}

type testRig struct {
	r        *Receiver
	handlers []*countingHandler
	board    *status.Board
	cancel   context.CancelFunc
	done     chan error
}

func testConfig() Config {
	return Config{
		ListenAddress: "127.0.0.1:0", Sockets: 2, Workers: 2, QueueDatagrams: 8192, ReadBufferBytes: 4 << 20,
		Decode: intreport.Options{INTDSCP: 1, INTDSCPMask: 1}, SwitchTimeout: time.Minute,
	}
}

func startRig(t testing.TB, cfg Config, allowed []netip.Prefix, opts ...Option) *testRig {
	t.Helper()
	rig := &testRig{board: status.NewBoard(nil), done: make(chan error, 1)}
	r, err := New(cfg, allowed, func(int) Handler {
		h := newCountingHandler()
		rig.handlers = append(rig.handlers, h)
		return h
	}, rig.board, nil, opts...)
	if err != nil {
		t.Fatal(err)
	}
	rig.r = r
	ctx, cancel := context.WithCancel(context.Background())
	rig.cancel = cancel
	go func() { rig.done <- r.Serve(ctx) }()
	t.Cleanup(func() { rig.stop(t) })
	return rig
}

// stop ends Serve and waits for it (bounded): afterwards every queued
// report has reached its handler.
func (rig *testRig) stop(t testing.TB) {
	if rig.cancel == nil {
		return
	}
	rig.cancel()
	rig.cancel = nil
	select {
	case err := <-rig.done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return within 10 s of its context ending")
	}
}

// handled sums what every worker's handler got, per device and type.
func (rig *testRig) handled() (map[string][numTypes]uint64, uint64) {
	out := map[string][numTypes]uint64{}
	var total uint64
	for _, h := range rig.handlers {
		h.mu.Lock()
		for id, c := range h.byDev {
			v := out[id]
			for i, n := range c {
				v[i] += n
				total += n
			}
			out[id] = v
		}
		h.mu.Unlock()
	}
	return out, total
}

// waitReports waits (bounded) until n datagrams were decoded or refused.
func (rig *testRig) waitDatagrams(n uint64, within time.Duration) {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		c := &rig.r.count
		if c.reports.Load()+c.bad.Load()+c.queueFull.Load()+c.notAllowed.Load() >= n {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var simSources = []string{"127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14", "127.0.0.15", "127.0.0.16"}

// Reports of a simulated leaf-spine domain, in INT and postcard mode and
// both versions, each switch from its own loopback address: every report
// reaches a handler under its switch id, per type as many as the
// simulator sent, and the loss the receiver counts per switch is exactly
// the sequence numbers the simulator skipped on purpose.
func TestSimulatedDomainArrives(t *testing.T) {
	for _, c := range []struct {
		name    string
		mode    intsim.Mode
		ver     intsim.Version
		uniform bool // UDP flows only: most postcards have one size and go down as segmented sends
		noGRO   bool
	}{
		{"v0.5 int", intsim.ModeINT, intsim.V05, false, false},
		{"v1.0 int", intsim.ModeINT, intsim.V10, false, false},
		{"v0.5 postcard", intsim.ModePostcard, intsim.V05, false, false},
		{"v1.0 postcard", intsim.ModePostcard, intsim.V10, false, false},
		// The kernel hands runs of one sender's equal-sized datagrams over
		// as one buffer (UDP_GRO): the reader splits them.
		{"v0.5 postcard uniform", intsim.ModePostcard, intsim.V05, true, false},
		{"v0.5 postcard uniform without GRO", intsim.ModePostcard, intsim.V05, true, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			var opts []Option
			if c.noGRO {
				opts = append(opts, withoutGRO())
			}
			var udp, icmp float64
			if c.uniform {
				udp, icmp = 1, -1
			}
			rig := startRig(t, testConfig(), nil, opts...)
			sim, err := intsim.New(intsim.Config{
				Target: rig.r.UDPAddr().String(), Sources: simSources,
				Rate: 40000, Count: 4000, Batch: 16, TimeStep: time.Millisecond,
				Domain: intsim.DomainConfig{Mode: c.mode, Encoding: intsim.Encoding{Version: c.ver}, Flows: 16, UDPShare: udp, ICMPShare: icmp,
					DropRate: 0.02, LossRate: 0.01, CongestionEvery: 300 * time.Millisecond, CongestionFor: 100 * time.Millisecond},
			})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := sim.Run(ctx); err != nil {
				t.Fatal(err)
			}
			tot := sim.Totals()
			if tot.Errors != 0 || tot.Reports != 4000 {
				t.Fatalf("simulator sent %d reports with %d errors (%s)", tot.Reports, tot.Errors, tot.LastError)
			}
			if c.uniform && tot.Segmented < tot.Reports/2 {
				t.Fatalf("only %d of %d reports went down in segmented sends", tot.Segmented, tot.Reports)
			}
			rig.waitDatagrams(tot.Reports, 5*time.Second)
			rig.stop(t)

			if o, q := rig.r.Drops(DropSocketOverflow), rig.r.Drops(DropQueueFull); o+q != 0 {
				t.Fatalf("dropped on the way: %d socket overflow, %d queue full", o, q)
			}
			got, total := rig.handled()
			if total != tot.Reports {
				t.Errorf("handlers got %d reports, simulator sent %d", total, tot.Reports)
			}
			gaps := map[uint32]uint64{}
			for k, n := range tot.Gaps {
				gaps[k.Switch] += n
			}
			lost := map[string]uint64{}
			for _, s := range rig.r.Switches() {
				lost[s.Device] += s.LostReports
				if len(s.Drops) != 0 {
					t.Errorf("%s: drops %v", s.Device, s.Drops)
				}
				if want := fmt.Sprint([]string{c.ver.String()}); fmt.Sprint(s.Versions) != want {
					t.Errorf("%s: versions %v, want %s", s.Device, s.Versions, want)
				}
			}
			for _, sw := range tot.Switches {
				id := fmt.Sprintf("0x%08x", sw.ID)
				want := [numTypes]uint64{
					typeFlow:  sw.Reports[intsim.KindLocal] + sw.Reports[intsim.KindPostcard],
					typeINT:   sw.Reports[intsim.KindINT],
					typeDrop:  sw.Reports[intsim.KindDrop],
					typeQueue: sw.Reports[intsim.KindQueue],
				}
				if got[id] != want {
					t.Errorf("%s (%s): handled %v by type %v, sent %v", sw.Name, id, got[id], typeNames, want)
				}
				if lost[id] != gaps[sw.ID] {
					t.Errorf("%s: %d reports lost counted, %d skipped by the simulator", sw.Name, lost[id], gaps[sw.ID])
				}
			}
			if d := rig.r.count.datagrams.Load(); d != tot.Reports {
				t.Errorf("read %d datagrams, %d sent", d, tot.Reports)
			}
			if co := rig.r.count.coalesced.Load(); c.uniform && (co == 0) != c.noGRO {
				t.Errorf("%d reads brought several datagrams (UDP_GRO off: %v)", co, c.noGRO)
			}
			if len(got) != len(tot.Switches) {
				t.Errorf("handlers saw %d devices %v, the domain has %d switches", len(got), got, len(tot.Switches))
			}
			if tot.GapTotal() == 0 || rig.r.count.lost.Load() != tot.GapTotal() {
				t.Errorf("lost %d, simulator gaps %d (want equal and non-zero)", rig.r.count.lost.Load(), tot.GapTotal())
			}
			// Each switch sent from its own address: its reports name it
			// by id, with that address as Remote.
			for _, h := range rig.handlers {
				for id, rem := range h.remotes {
					if len(rem) != 1 {
						t.Errorf("%s arrived from %v", id, rem)
					}
				}
			}
		})
	}
}

// send writes each datagram from a socket bound to from.
func send(t *testing.T, from string, to net.Addr, datagrams ...[]byte) {
	t.Helper()
	c, err := net.DialUDP("udp", &net.UDPAddr{IP: net.ParseIP(from)}, to.(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, d := range datagrams {
		if _, err := c.Write(d); err != nil {
			t.Fatal(err)
		}
	}
}

// simReports encodes the reports of n packets of a small domain.
func simReports(t *testing.T, mode intsim.Mode, ver intsim.Version, n int) (out [][]byte, kinds []intsim.Kind, ids []uint32) {
	t.Helper()
	d, err := intsim.NewDomain(intsim.DomainConfig{Mode: mode, Encoding: intsim.Encoding{Version: ver}, Flows: 8, UDPShare: 1, ICMPShare: -1, DropRate: -1, LossRate: -1})
	if err != nil {
		t.Fatal(err)
	}
	enc := d.Config().Encoding
	for i := range n {
		for _, r := range d.Packet(uint64(i) * 1000) {
			out = append(out, enc.AppendReport(nil, &r))
			kinds = append(kinds, r.Kind)
			ids = append(ids, r.SwitchID)
		}
	}
	return out, kinds, ids
}

// Bad datagrams are counted per switch with the decoder's reason and
// never reach the handler: a truncated header and an unknown version name
// the sender's address (no switch id can be read), an INT shim running
// past the packet names the switch its header gives. The report numbers
// they used are not counted lost.
func TestBadReportsCountedPerSwitch(t *testing.T) {
	rig := startRig(t, testConfig(), nil)
	reps, kinds, ids := simReports(t, intsim.ModeINT, intsim.V10, 20)
	var overrun []byte
	var overrunID uint32
	dec := intreport.NewDecoder(testConfig().Decode)
	var r intreport.Report
	var good [][]byte
	for i, b := range reps {
		if kinds[i] == intsim.KindINT && overrun == nil {
			if err := dec.Decode(b, &r); err != nil || !r.INT.Present {
				t.Fatalf("simulated INT report: %v (INT present %v)", err, r.INT.Present)
			}
			overrun = append([]byte(nil), b...)
			overrun[r.INT.Offset+2] = 0xff // shim length in words, far past the packet
			overrunID = ids[i]
			continue
		}
		good = append(good, b)
	}
	if overrun == nil {
		t.Fatal("no INT report simulated")
	}
	truncated := good[0][:10]
	badVersion := append([]byte{0x20}, good[0][1:]...)
	send(t, "127.0.0.21", rig.r.UDPAddr(), truncated, badVersion, truncated)
	// One socket, as a switch sends from one: three sends from three
	// source ports may land on different SO_REUSEPORT sockets, whose
	// readers can hand them on out of order, and a late report is a
	// sequence gap counted lost.
	send(t, "127.0.0.22", rig.r.UDPAddr(), slices.Concat(good[:5], [][]byte{overrun}, good[5:10])...)
	rig.waitDatagrams(14, 5*time.Second)
	rig.stop(t)

	rows := map[string]SwitchStatus{}
	for _, s := range rig.r.Switches() {
		rows[s.Device] = s
	}
	bad := rows["127.0.0.21"]
	if bad.Drops[intreport.ReasonTruncated] != 2 || bad.Drops[intreport.ReasonBadVersion] != 1 || bad.HasSwitchID {
		t.Errorf("127.0.0.21: %+v; want 2 truncated, 1 bad_version, named by address", bad)
	}
	sw := rows[fmt.Sprintf("0x%08x", overrunID)]
	if sw.Drops[intreport.ReasonShimOverrun] != 1 || sw.Address != "127.0.0.22" || sw.LastError == "" {
		t.Errorf("switch 0x%08x: %+v; want one shim_overrun from 127.0.0.22", overrunID, sw)
	}
	if got := rig.r.Drops(intreport.ReasonShimOverrun); got != 1 {
		t.Errorf("receiver-wide shim_overrun %d", got)
	}
	_, total := rig.handled()
	if total != 10 {
		t.Errorf("handlers got %d reports, want the 10 good ones", total)
	}
	if l := rig.r.count.lost.Load(); l != 0 {
		t.Errorf("%d reports counted lost; the refused one used its number", l)
	}
	if snap := rig.board.Snapshot(); snap.Counters[CounterDropPrefix+intreport.ReasonTruncated] != 2 {
		t.Errorf("board counters %v", snap.Counters)
	}
}

// An allow-list refuses senders outside it: counted, no switch row, no
// report handed on; a sender inside is served.
func TestAllowListRefuses(t *testing.T) {
	cfg := testConfig()
	cfg.AllowedNetworks = []netip.Prefix{netip.MustParsePrefix("127.0.0.32/30")}
	// The receiver's own list narrows the process-wide one.
	rig := startRig(t, cfg, []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")})
	reps, _, _ := simReports(t, intsim.ModePostcard, intsim.V05, 3)
	send(t, "127.0.0.31", rig.r.UDPAddr(), reps...)
	send(t, "127.0.0.33", rig.r.UDPAddr(), reps...)
	rig.waitDatagrams(uint64(2*len(reps)), 5*time.Second)
	rig.stop(t)
	if n := rig.r.Drops(DropNotAllowed); n != uint64(len(reps)) {
		t.Errorf("not_allowed %d, want %d", n, len(reps))
	}
	if _, total := rig.handled(); total != uint64(len(reps)) {
		t.Errorf("handled %d, want %d", total, len(reps))
	}
	for _, s := range rig.r.Switches() {
		if s.Address != "127.0.0.33" {
			t.Errorf("row for a refused sender: %+v", s)
		}
	}
}

// blockingHandler holds its worker until released, so the queue fills.
type blockingHandler struct {
	countingHandler
	gate chan struct{}
}

func (h *blockingHandler) Report(dev model.DeviceRef, r *intreport.Report, ms int64) {
	<-h.gate
	h.countingHandler.Report(dev, r, ms)
}

// A worker that cannot keep up: what its queue cannot hold is dropped and
// counted as queue_full on the switch its header names; everything else
// is handed on once the worker moves again.
func TestQueueFullCounted(t *testing.T) {
	cfg := testConfig()
	cfg.Sockets, cfg.Workers, cfg.QueueDatagrams = 1, 1, 8
	gate := make(chan struct{})
	h := &blockingHandler{countingHandler: *newCountingHandler(), gate: gate}
	board := status.NewBoard(nil)
	r, err := New(cfg, nil, func(int) Handler { return h }, board, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Serve(ctx) }()
	reps, _, _ := simReports(t, intsim.ModePostcard, intsim.V10, 20) // 60 postcards
	send(t, "127.0.0.41", r.UDPAddr(), reps...)
	deadline := time.Now().Add(5 * time.Second)
	for r.count.datagrams.Load() < uint64(len(reps)) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	close(gate)
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not stop")
	}
	full := r.Drops(DropQueueFull)
	h.mu.Lock()
	var handled uint64
	for _, c := range h.byDev {
		for _, n := range c {
			handled += n
		}
	}
	h.mu.Unlock()
	if full == 0 || full+handled != uint64(len(reps)) {
		t.Errorf("queue_full %d + handled %d, want %d with some dropped", full, handled, len(reps))
	}
	var rows uint64
	for _, s := range r.Switches() {
		if !s.HasSwitchID {
			t.Errorf("queue_full on an unnamed row: %+v", s)
		}
		rows += s.Drops[DropQueueFull]
	}
	if rows != full {
		t.Errorf("rows count %d queue_full, receiver %d", rows, full)
	}
}

// Serve returns once its context ends, with the sockets closed, and
// refuses a second run.
func TestServeStopsWithContext(t *testing.T) {
	rig := startRig(t, testConfig(), nil)
	addr := rig.r.UDPAddr().String()
	rig.stop(t)
	if err := rig.r.Serve(context.Background()); err == nil {
		t.Error("a second Serve ran")
	}
	c, err := net.ListenPacket("udp", addr) // the port is free again
	if err != nil {
		t.Fatalf("port still held: %v", err)
	}
	c.Close()
	for _, h := range rig.handlers {
		if h.flushes == 0 {
			t.Error("a handler was never flushed")
		}
	}
}
