package intsim

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// received is what a minimal collector in the test made of the datagrams:
// its own reading of the layouts, to compare with the simulator's totals.
type received struct {
	mu        sync.Mutex
	reports   uint64
	bySwitch  map[uint32]map[Kind]uint64
	drops     map[DropKey]uint64
	next      map[SeqKey]uint32
	gaps      map[SeqKey]uint64
	lastPath  map[string][]Hop // by flow, from v0.5 INT reports
	bad       []string
	fromAddrs map[netip.Addr]map[uint32]bool
	lastTS    map[netip.Addr]uint32
	wraps     map[netip.Addr]int // fixed-header ingress timestamps that fell back by more than 2^31, per sender
}

func newReceived() *received {
	return &received{bySwitch: map[uint32]map[Kind]uint64{}, drops: map[DropKey]uint64{}, next: map[SeqKey]uint32{},
		gaps: map[SeqKey]uint64{}, lastPath: map[string][]Hop{}, fromAddrs: map[netip.Addr]map[uint32]bool{},
		lastTS: map[netip.Addr]uint32{}, wraps: map[netip.Addr]int{}}
}

// parse reads one report. v0.5 names the switch only in its drop or local
// header, or in the newest hop of an INT stack; v1.0 in its fixed header.
func (rc *received) parse(b []byte, from netip.Addr, mode Mode, ins uint16) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	bad := func(f string, a ...any) { rc.bad = append(rc.bad, fmt.Sprintf(f, a...)) }
	if len(b) < 12 {
		bad("short report %d", len(b))
		return
	}
	ts := be.Uint32(b[8:])
	if b[0]>>4 == 1 && len(b) >= 16 {
		ts = be.Uint32(b[12:])
	}
	// One switch's reports leave in order; several switches' batches mix.
	if last, ok := rc.lastTS[from]; ok && ts < last && last-ts > 1<<31 {
		rc.wraps[from]++
	}
	rc.lastTS[from] = ts
	var (
		kind  Kind
		sw    uint32
		hw    = b[3] & 0x3f
		seq   = be.Uint32(b[4:])
		inner int
	)
	switch ver := b[0] >> 4; ver {
	case 0:
		d, q, f := b[1]&0x80 != 0, b[1]&0x40 != 0, b[1]&0x20 != 0
		switch np := b[0] & 0x0f; {
		case np == 1 && d:
			kind, sw, inner = KindDrop, be.Uint32(b[12:]), 24
			rc.drops[DropKey{sw, be.Uint16(b[16:]), be.Uint16(b[18:]), b[21]}]++
		case np == 2 && q:
			kind, sw, inner = KindQueue, be.Uint32(b[12:]), 28
		case np == 2 && f:
			kind, sw, inner = KindLocal, be.Uint32(b[12:]), 28
			if mode == ModePostcard {
				kind = KindPostcard
			}
		case np == 0 && f:
			kind, inner = KindINT, 12
		default:
			bad("v0.5 nproto %d flags %#x", np, b[1])
			return
		}
	case 1:
		words := int(b[0] & 0x0f)
		mid := be.Uint16(b[1:])
		sw, seq = be.Uint32(b[4:]), be.Uint32(b[8:])
		md := uint8(mid>>7) & 0x3f
		inner = words * 4
		switch {
		case mid&1 != 0:
			kind = KindDrop
			rc.drops[DropKey{sw, be.Uint16(b[16:]), be.Uint16(b[18:]), b[21]}]++
			if md != 0x22 {
				bad("v1.0 drop RepMdBits %#x", md)
			}
		case b[3]&0x80 != 0:
			kind = KindQueue
		case md == 0:
			kind = KindINT
		case mode == ModePostcard:
			kind = KindPostcard
		default:
			kind = KindLocal
		}
	default:
		bad("version %d", ver)
		return
	}
	if kind == KindINT {
		hops, flow, ok := parseINT05(b[inner:], ins)
		if !ok {
			bad("INT report without a readable stack: %x", b)
			return
		}
		sw = hops[len(hops)-1].SwitchID // the sink: the newest hop
		rc.lastPath[flow] = hops
	}
	k := SeqKey{sw, hw}
	if want, ok := rc.next[k]; ok && seq != want {
		rc.gaps[k] += uint64(seq - want)
	}
	rc.next[k] = seq + 1
	if rc.bySwitch[sw] == nil {
		rc.bySwitch[sw] = map[Kind]uint64{}
	}
	rc.bySwitch[sw][kind]++
	if rc.fromAddrs[from] == nil {
		rc.fromAddrs[from] = map[uint32]bool{}
	}
	rc.fromAddrs[from][sw] = true
	rc.reports++
}

// parseINT05 walks Ethernet, IPv4, TCP or UDP and a v0.5 INT header with the
// switch id, ports and hop latency first in each hop.
func parseINT05(b []byte, ins uint16) (hops []Hop, flow string, ok bool) {
	if len(b) < 34 || be.Uint16(b[12:]) != 0x0800 {
		return nil, "", false
	}
	ip := b[14:]
	ihl := int(ip[0]&0x0f) * 4
	src, dst := netip.AddrFrom4([4]byte(ip[12:16])), netip.AddrFrom4([4]byte(ip[16:20]))
	l4 := ip[ihl:]
	proto := ip[9]
	var n int
	var name string
	switch proto {
	case 6:
		n, name = int(l4[12]>>4)*4, "tcp"
	case 17:
		n, name = 8, "udp"
	default:
		return nil, "", false
	}
	shim := l4[n:]
	if shim[0] != 1 || len(shim) < int(shim[2])*4 {
		return nil, "", false
	}
	insCnt, total := int(shim[5]&0x1f), int(shim[7])
	if be.Uint16(shim[8:]) != ins || int(shim[2])*4 != 12+insCnt*4*total+4 {
		return nil, "", false
	}
	tail := shim[12+insCnt*4*total:]
	dport := be.Uint16(tail[1:])
	flow = fmt.Sprintf("%s > %s %s", netip.AddrPortFrom(src, be.Uint16(l4)), netip.AddrPortFrom(dst, dport), name)
	hops = make([]Hop, total)
	for i := range total {
		w := shim[12+i*insCnt*4:]
		h := &hops[total-1-i] // newest first on the wire
		h.SwitchID = be.Uint32(w)
		h.IngressPort, h.EgressPort = be.Uint16(w[4:]), be.Uint16(w[6:])
		h.HopLatency = be.Uint32(w[8:])
	}
	return hops, flow, true
}

func listen(t *testing.T) (*net.UDPConn, *received, func(Mode, uint16), *sync.WaitGroup) {
	t.Helper()
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	_ = pc.SetReadBuffer(8 << 20)
	rc := newReceived()
	var wg sync.WaitGroup
	start := func(mode Mode, ins uint16) {
		wg.Go(func() {
			buf := make([]byte, 65536)
			for {
				n, from, err := pc.ReadFromUDPAddrPort(buf)
				if err != nil {
					return
				}
				rc.parse(buf[:n], from.Addr(), mode, ins)
			}
		})
	}
	return pc, rc, start, &wg
}

// waitFor polls until the collector has n reports or the time is up.
func waitFor(rc *received, n uint64, d time.Duration) uint64 {
	deadline := time.Now().Add(d)
	for {
		rc.mu.Lock()
		got := rc.reports
		rc.mu.Unlock()
		if got >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A bounded run over loopback, each switch from its own 127.0.0.x address:
// what the collector read matches the totals report for report, per switch
// and kind, drop by drop, gap by gap, and the last path of every flow.
func TestLoopbackRunMatchesTotals(t *testing.T) {
	for _, c := range []struct {
		name string
		mode Mode
		enc  Encoding
	}{
		{"v0.5 int", ModeINT, Encoding{Version: V05}},
		{"v1.0 postcard", ModePostcard, Encoding{Version: V10}},
		// UDP flows only: nearly all postcards have one length, so most go
		// down as segmented sends the kernel cuts into datagrams.
		{"v0.5 postcard uniform", ModePostcard, Encoding{Version: V05}},
	} {
		t.Run(c.name, func(t *testing.T) {
			pc, rc, start, wg := listen(t)
			var udp, icmp float64
			if strings.HasSuffix(c.name, "uniform") {
				udp, icmp = 1, -1
			}
			sim, err := New(Config{
				Target:   pc.LocalAddr().String(),
				Sources:  []string{"127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14", "127.0.0.15", "127.0.0.16"},
				Rate:     50000,
				Count:    6000,
				Batch:    16,
				TimeStep: time.Millisecond, // the clocks wrap 0.5 s into fabric time
				Domain: DomainConfig{Mode: c.mode, Encoding: c.enc, Flows: 16, DropRate: 0.02, LossRate: 0.01, UDPShare: udp, ICMPShare: icmp,
					CongestionEvery: 300 * time.Millisecond, CongestionFor: 100 * time.Millisecond},
			})
			if err != nil {
				t.Fatal(err)
			}
			ins := sim.Config().Domain.Encoding.Instructions
			start(c.mode, ins)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := sim.Run(ctx); err != nil {
				t.Fatal(err)
			}
			tot := sim.Totals()
			got := waitFor(rc, tot.Reports, 5*time.Second)
			pc.Close()
			wg.Wait()
			if tot.Reports != 6000 || got != 6000 || tot.Errors != 0 {
				t.Fatalf("sent %d (errors %d, %s), received %d; want 6000", tot.Reports, tot.Errors, tot.LastError, got)
			}
			if len(rc.bad) > 0 {
				t.Fatalf("%d unreadable reports, first: %s", len(rc.bad), rc.bad[0])
			}
			for _, sw := range tot.Switches {
				for k := range numKinds {
					if g := rc.bySwitch[sw.ID][k]; g != sw.Reports[k] {
						t.Errorf("%s %v reports: sent %d, received %d", sw.Name, k, sw.Reports[k], g)
					}
				}
			}
			if fmt.Sprint(rc.drops) != fmt.Sprint(tot.Drops) || len(tot.Drops) == 0 {
				t.Errorf("drops: sent %v, received %v", tot.Drops, rc.drops)
			}
			if tot.GapTotal() > tot.Lost {
				t.Errorf("%d sequence numbers skipped, only %d reports lost on purpose", tot.GapTotal(), tot.Lost)
			}
			if fmt.Sprint(rc.gaps) != fmt.Sprint(tot.Gaps) || tot.GapTotal() == 0 {
				t.Errorf("gaps: sent %v, received %v", tot.Gaps, rc.gaps)
			}
			// Fabric time ran packets × 1 ms: past the first wrap at 0.5 s,
			// short of the second at 4.79 s. Every switch saw its clock wrap once.
			if ft := time.Duration(tot.Packets) * time.Millisecond; ft < time.Second || ft > 4*time.Second {
				t.Fatalf("fabric time %v", ft)
			}
			for addr, n := range rc.wraps {
				if n != 1 {
					t.Errorf("%v: clock wrapped %d times, want 1", addr, n)
				}
			}
			if len(rc.wraps) != len(tot.Switches) || tot.Kind(KindQueue) == 0 {
				t.Errorf("wraps seen from %d switches of %d; %d queue reports", len(rc.wraps), len(tot.Switches), tot.Kind(KindQueue))
			}
			if strings.HasSuffix(c.name, "uniform") && gsoAvailable && tot.Segmented < tot.Reports/2 {
				t.Errorf("%d of %d reports in segmented sends: want most", tot.Segmented, tot.Reports)
			}
			// Every switch from its own address.
			for addr, sws := range rc.fromAddrs {
				if len(sws) != 1 {
					t.Errorf("%v sent for %d switches", addr, len(sws))
				}
			}
			if c.mode != ModeINT {
				return
			}
			paths := 0
			for _, f := range tot.Flows {
				hops, ok := rc.lastPath[f.Flow]
				if f.Last.Dropped || len(f.Last.Hops) == 0 {
					continue
				}
				if !ok {
					t.Errorf("flow %s: no INT report received", f.Flow)
					continue
				}
				paths++
				if len(hops) != len(f.Last.Hops) {
					t.Errorf("flow %s: path %v sent, %d hops received", f.Flow, f.Last.Path(), len(hops))
					continue
				}
				for i, h := range hops {
					w := f.Last.Hops[i]
					if h.SwitchID != w.SwitchID || h.HopLatency != w.HopLatency || h.IngressPort != w.IngressPort || h.EgressPort != w.EgressPort {
						t.Errorf("flow %s hop %d: received %+v, sent %+v", f.Flow, i, h, w)
					}
				}
			}
			if paths == 0 {
				t.Error("no flow path compared")
			}
		})
	}
}

// The collector not listening: writes fail (ICMP port unreachable on
// loopback), are counted, and the run still ends at its deadline.
func TestRunWithoutCollectorCountsErrors(t *testing.T) {
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	target := pc.LocalAddr().String()
	pc.Close()
	sim, err := New(Config{Target: target, Rate: 2000, Batch: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := sim.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if tot := sim.Totals(); tot.Errors == 0 || tot.Reports+tot.Errors < 100 {
		t.Fatalf("%d reports, %d errors: want failed writes counted", tot.Reports, tot.Errors)
	}
}

// Totals may be read while Run sends (netlens-sim prints them every few
// seconds): under -race this fails if the two share any counter unlocked.
func TestTotalsWhileRunning(t *testing.T) {
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	sim, err := New(Config{Target: pc.LocalAddr().String(), Rate: 20000, Batch: 8})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- sim.Run(ctx) }()
	var last Totals
	for ctx.Err() == nil {
		last = sim.Totals()
		time.Sleep(time.Millisecond)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if end := sim.Totals(); end.Reports < last.Reports || end.Packets == 0 {
		t.Fatalf("totals went from %d to %d reports (%d packets)", last.Reports, end.Reports, end.Packets)
	}
}
