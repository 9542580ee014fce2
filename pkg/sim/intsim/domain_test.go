package intsim

import (
	"net/netip"
	"testing"
	"time"
)

func newDomain(t *testing.T, c DomainConfig) *Domain {
	t.Helper()
	d, err := NewDomain(c)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// crossFlow is the index of a flow whose hosts sit behind different leaves.
func crossFlow(t *testing.T, d *Domain, proto uint8) int {
	t.Helper()
	for i := range d.Flows {
		f := &d.Flows[i]
		if f.Proto == proto && f.Watched && d.Topo.Hosts[f.Src].Leaf != d.Topo.Hosts[f.Dst].Leaf {
			return i
		}
	}
	t.Fatalf("no cross-leaf flow of protocol %d", proto)
	return -1
}

func quiet(c DomainConfig) DomainConfig {
	c.DropRate, c.LossRate, c.CongestionEvery = -1, -1, -1
	return c
}

// The switches' clocks are 32-bit nanoseconds: WrapAfter after the start
// they pass 2^32 - 1 and start again at 0, then every 4.294967296 s.
func TestClocksWrapAt2To32Nanoseconds(t *testing.T) {
	d := newDomain(t, DomainConfig{WrapAfter: time.Millisecond})
	if got := d.Clock(0); got != 1<<32-1_000_000 {
		t.Fatalf("clock at start %d, want 2^32-1e6", got)
	}
	if d.Clock(999_999) != 1<<32-1 || d.Clock(1_000_000) != 0 || d.Clock(1_000_000+1<<32) != 0 {
		t.Fatalf("clock around the wrap: %d %d %d", d.Clock(999_999), d.Clock(1_000_000), d.Clock(1_000_000+1<<32))
	}
}

// A packet that enters its first switch 100 ns before the wrap leaves it
// after: the egress timestamp is below the ingress one and the hop latency
// is their difference modulo 2^32, as a collector must compute it.
func TestHopAcrossTheWrap(t *testing.T) {
	d := newDomain(t, quiet(DomainConfig{WrapAfter: time.Millisecond}))
	fi := crossFlow(t, d, 6)
	reports := d.PacketOf(fi, 1_000_000-100)
	var in *Report
	for i := range reports {
		if reports[i].Kind == KindINT {
			in = &reports[i]
		}
	}
	if in == nil || in.INT.Hops != 3 {
		t.Fatalf("no 3-hop INT report in %+v", reports)
	}
	first := in.INT.Stack[0]
	if first.IngressTS != 1<<32-100 || first.EgressTS >= first.IngressTS {
		t.Fatalf("first hop ingress %d egress %d: want ingress 2^32-100 and a wrapped egress", first.IngressTS, first.EgressTS)
	}
	for i, h := range in.INT.Stack[:in.INT.Hops] {
		if h.EgressTS-h.IngressTS != h.HopLatency {
			t.Errorf("hop %d: (egress-ingress) mod 2^32 = %d, hop latency word %d", i, h.EgressTS-h.IngressTS, h.HopLatency)
		}
		if i > 0 && h.IngressTS-in.INT.Stack[i-1].EgressTS > 1000 {
			t.Errorf("hop %d enters %d ns after hop %d left", i, h.IngressTS-in.INT.Stack[i-1].EgressTS, i-1)
		}
	}
}

// ECMP: the same flows take the same spines in two domains of one seed,
// at any time, and the flows use every spine.
func TestECMPIsDeterministic(t *testing.T) {
	a := newDomain(t, DomainConfig{Spines: 4, Flows: 200})
	b := newDomain(t, DomainConfig{Spines: 4, Flows: 200})
	used := map[int]int{}
	for i := range a.Flows {
		s := a.SpineFor(i, 0)
		for _, at := range []uint64{0, 1e9, 7e9} {
			if got := b.SpineFor(i, at); got != s {
				t.Fatalf("flow %d: spine %d in one domain, %d in the other at %d ns", i, s, got, at)
			}
		}
		used[s]++
	}
	for s := range 4 {
		if used[s] == 0 {
			t.Errorf("no flow hashed to spine %d: %v", s, used)
		}
	}
}

// While a spine is down, its flows rehash onto the others and come back
// after; the other flows keep their spine.
func TestSpineDownMovesOnlyItsFlows(t *testing.T) {
	d := newDomain(t, DomainConfig{Spines: 3, Flows: 100, SpineDownEvery: time.Second, SpineDownFor: time.Second})
	before := make([]int, len(d.Flows))
	for i := range d.Flows {
		before[i] = d.SpineFor(i, 0)
	}
	down, start, end := d.downSpine, d.downStart, d.downEnd
	if start == 0 {
		t.Fatal("the first maintenance starts at once")
	}
	mid := (start + end) / 2
	moved := 0
	for i := range d.Flows {
		got := d.SpineFor(i, mid)
		switch {
		case before[i] == down && got == down:
			t.Fatalf("flow %d still on spine %d while it is down", i, down)
		case before[i] == down:
			moved++
		case before[i] >= 0 && got != before[i]:
			t.Fatalf("flow %d left spine %d for %d though its spine is up", i, before[i], got)
		}
	}
	if moved == 0 {
		t.Fatalf("no flow was on spine %d", down)
	}
}

// An INT report's stack follows the topology: source leaf (host port to
// uplink), spine (port of the source leaf to that of the destination leaf),
// destination leaf (uplink to host port); switch ids are the switches'.
func TestINTStackFollowsThePath(t *testing.T) {
	d := newDomain(t, quiet(DomainConfig{}))
	fi := crossFlow(t, d, 17)
	f := d.Flows[fi]
	src, dst := d.Topo.Hosts[f.Src], d.Topo.Hosts[f.Dst]
	s := d.SpineFor(fi, 0)
	want := []Hop{
		{SwitchID: d.Topo.Switches[src.Leaf].ID, IngressPort: src.Port, EgressPort: d.Topo.UplinkPort(s)},
		{SwitchID: d.Topo.Switches[s].ID, IngressPort: d.Topo.SpinePort(src.Leaf), EgressPort: d.Topo.SpinePort(dst.Leaf)},
		{SwitchID: d.Topo.Switches[dst.Leaf].ID, IngressPort: d.Topo.UplinkPort(s), EgressPort: dst.Port},
	}
	reports := d.PacketOf(fi, 0)
	kinds := []Kind{}
	for _, r := range reports {
		kinds = append(kinds, r.Kind)
	}
	if len(reports) != 2 || reports[0].Kind != KindINT || reports[1].Kind != KindLocal {
		t.Fatalf("reports %v: want the sink's INT report and its local report", kinds)
	}
	in := reports[0]
	if in.Switch != dst.Leaf || in.INT.Hops != 3 {
		t.Fatalf("INT report from switch %d with %d hops, want the sink %d with 3", in.Switch, in.INT.Hops, dst.Leaf)
	}
	for i, w := range want {
		h := in.INT.Stack[i]
		if h.SwitchID != w.SwitchID || h.IngressPort != w.IngressPort || h.EgressPort != w.EgressPort {
			t.Errorf("hop %d: %#x %d->%d, want %#x %d->%d", i, h.SwitchID, h.IngressPort, h.EgressPort, w.SwitchID, w.IngressPort, w.EgressPort)
		}
	}
	if in.Packet.DSCP&1 != 1 || in.INT.OrigDSCP != f.DSCP || in.Packet.TTL != 62 {
		t.Errorf("sink copy DSCP %d (original %d), TTL %d: want the INT marker bit, the original kept, TTL 62", in.Packet.DSCP, in.INT.OrigDSCP, in.Packet.TTL)
	}
	if loc := reports[1]; loc.IngressTS != in.IngressTS || loc.Packet.DSCP != f.DSCP || loc.INT.Hops != 0 {
		t.Errorf("sink local report: ingress %d (INT report %d), DSCP %d, %d hops: want the same timestamp and the stripped packet", loc.IngressTS, in.IngressTS, loc.Packet.DSCP, loc.INT.Hops)
	}
}

// In postcard mode every switch of the path reports its own hop for the
// same packet (same IP id, TTL one less per hop); nothing is inserted.
func TestPostcardsFromEverySwitch(t *testing.T) {
	d := newDomain(t, quiet(DomainConfig{Mode: ModePostcard}))
	fi := crossFlow(t, d, 6)
	reports := d.PacketOf(fi, 0)
	if len(reports) != 3 {
		t.Fatalf("%d reports, want 3 postcards", len(reports))
	}
	for i, r := range reports {
		if r.Kind != KindPostcard || r.INT.Hops != 0 || r.Packet.DSCP != d.Flows[fi].DSCP {
			t.Errorf("report %d: kind %v, %d INT hops, DSCP %d", i, r.Kind, r.INT.Hops, r.Packet.DSCP)
		}
		if r.Packet.IPID != reports[0].Packet.IPID || r.Packet.TTL != 64-uint8(i) || r.SwitchID != r.Local.SwitchID {
			t.Errorf("report %d: IP id %d, TTL %d, switch %#x/%#x", i, r.Packet.IPID, r.Packet.TTL, r.SwitchID, r.Local.SwitchID)
		}
	}
}

// A dropped packet: the switch where it died sends a drop report with a
// reason; no switch after it reports the packet; in INT mode the copy holds
// the stack the earlier hops pushed.
func TestDropsAtTheHopWithAReason(t *testing.T) {
	for _, mode := range []Mode{ModeINT, ModePostcard} {
		d := newDomain(t, DomainConfig{Mode: mode, DropRate: 0.2, LossRate: -1, CongestionEvery: -1})
		drops := 0
		for p := range 2000 {
			reports := d.Packet(uint64(p) * 10_000)
			for i, r := range reports {
				if r.Kind != KindDrop {
					continue
				}
				drops++
				if i != len(reports)-1 {
					t.Fatalf("%v: a %v report after the drop", mode, reports[i+1].Kind)
				}
				switch r.Reason {
				case DropSrcMACZero, DropTTLExpired, DropNoRoute:
				default:
					t.Fatalf("%v: reason %d", mode, r.Reason)
				}
				hop := 64 - int(r.Packet.TTL)
				if mode == ModePostcard && d.Flows[r.Flow].Watched && i != hop {
					t.Fatalf("postcard mode: drop at hop %d after %d postcards", hop, i)
				}
				if mode == ModeINT && r.INT.Hops != 0 && r.INT.Hops != hop {
					t.Fatalf("INT mode: drop at hop %d with a stack of %d", hop, r.INT.Hops)
				}
			}
		}
		if drops < 300 || drops > 500 {
			t.Errorf("%v: %d drops in 2000 packets at 20%%", mode, drops)
		}
	}
}

// Congestion episodes: queue reports come from ports whose occupancy passed
// the threshold, at most QueueQuota per episode, and full queues tail-drop.
func TestCongestionEpisodes(t *testing.T) {
	d := newDomain(t, DomainConfig{Flows: 8, DropRate: -1, LossRate: -1,
		CongestionEvery: 20 * time.Millisecond, CongestionFor: 10 * time.Millisecond, QueueQuota: 5})
	queue, tail := 0, 0
	for p := range 20000 {
		for _, r := range d.Packet(uint64(p) * 10_000) {
			switch r.Kind {
			case KindQueue:
				queue++
				if r.Local.QueueOccupancy < 300 {
					t.Fatalf("queue report at occupancy %d", r.Local.QueueOccupancy)
				}
			case KindDrop:
				if r.Reason != DropQueueFull {
					t.Fatalf("drop reason %d with random drops off", r.Reason)
				}
				tail++
			}
		}
	}
	if queue == 0 || tail == 0 {
		t.Fatalf("%d queue reports and %d tail drops in 200 ms of episodes", queue, tail)
	}
	ports := 0
	for _, sw := range d.Topo.Switches {
		ports += sw.Ports
	}
	// 200 ms at one episode per 20+15 ms per port at most.
	if limit := ports * 5 * 10; queue > limit {
		t.Fatalf("%d queue reports, quota allows at most %d", queue, limit)
	}
}

// Loss: lost reports skip sequence numbers per switch and hw_id; the gaps
// the tally counts are those a collector computes from what it received.
func TestReportLossSkipsSequenceNumbers(t *testing.T) {
	d := newDomain(t, DomainConfig{Mode: ModePostcard, LossRate: 0.05})
	ta := newTally(d)
	last := map[SeqKey]uint32{}
	var collector uint64
	sent := 0
	for p := range 20000 {
		for i := range d.Packet(uint64(p) * 1000) {
			r := &d.out[i]
			k := SeqKey{r.SwitchID, r.HwID}
			if prev, ok := last[k]; ok {
				collector += uint64(r.Seq - prev - 1)
			}
			last[k] = r.Seq
			ta.add(r, 100)
			sent++
		}
	}
	tot := ta.snapshot(d.Lost(), d.Packets())
	if tot.GapTotal() != collector {
		t.Fatalf("tally counts %d skipped sequence numbers, the collector's way %d", tot.GapTotal(), collector)
	}
	if tot.Lost < tot.GapTotal() || tot.Lost-tot.GapTotal() > uint64(len(last)) {
		t.Fatalf("lost %d, gaps %d over %d sequences", tot.Lost, tot.GapTotal(), len(last))
	}
	if share := float64(tot.Lost) / float64(uint64(sent)+tot.Lost); share < 0.04 || share > 0.06 {
		t.Fatalf("lost share %.3f, want about 0.05", share)
	}
	spines := 0
	for k := range tot.Gaps {
		if sw, _ := d.Topo.SwitchByID(k.Switch); sw.Role == Spine && k.HwID == 1 {
			spines++
		}
	}
	if spines == 0 {
		t.Fatal("no gap on a spine's second line card: hw_id is not part of the sequence")
	}
}

func TestDomainConfigProblems(t *testing.T) {
	for _, c := range []DomainConfig{
		{INTPort: 5000, Encoding: Encoding{Version: V10}},
		{IPv6Share: 0.5},
		{INTDSCP: 3, INTDSCPMask: 1},
		{QueueThreshold: 500, QueueLimit: 400},
		{Spines: 40},
		{Encoding: Encoding{MaxHopCount: 2}},
	} {
		if _, err := NewDomain(c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

// Flows are named as the collector's flow column names them (ICMPv6 by
// IANA's keyword), so a test can look a simulated flow up by its name.
func TestFlowStringIsTheCollectorsSpelling(t *testing.T) {
	a4, b4 := netip.MustParseAddr("10.1.0.10"), netip.MustParseAddr("10.2.0.11")
	a6, b6 := netip.MustParseAddr("fd00::1"), netip.MustParseAddr("fd00::2")
	for _, c := range []struct {
		f    Flow
		want string
	}{
		{Flow{SrcAddr: a4, DstAddr: b4, Proto: 6, SrcPort: 40000, DstPort: 443}, "10.1.0.10:40000 > 10.2.0.11:443 tcp"},
		{Flow{SrcAddr: a6, DstAddr: b6, Proto: 17, SrcPort: 40000, DstPort: 53}, "[fd00::1]:40000 > [fd00::2]:53 udp"},
		{Flow{SrcAddr: a4, DstAddr: b4, Proto: 1, SrcPort: 7}, "10.1.0.10 > 10.2.0.11 icmp"},
		{Flow{SrcAddr: a6, DstAddr: b6, Proto: 58, SrcPort: 7}, "fd00::1 > fd00::2 ipv6-icmp"},
	} {
		if got := c.f.String(); got != c.want {
			t.Errorf("flow %+v named %q, want %q", c.f, got, c.want)
		}
	}
}
