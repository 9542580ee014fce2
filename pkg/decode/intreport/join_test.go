package intreport

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// postcard is what a switch-local report about one TCP packet decodes to.
func postcard(sw uint32, ttl uint8, ig, eg uint32) *Report {
	r := &Report{}
	r.Header = Header{
		Version: V05, NProto: 2, Kind: KindFlow, Tracked: true, HasSwitchID: true, SwitchID: sw,
		IngressTS: ig, EgressTS: eg, Md: MdPorts | MdQueue | MdEgressTS, IngressPort: 1, EgressPort: 2,
		QueueID: 0, QueueOccupancy: 10 * sw,
	}
	r.Inner = Packet{
		IPVersion: 4, Src: netip.MustParseAddr("10.1.1.10"), Dst: netip.MustParseAddr("10.2.2.20"),
		Protocol: ProtoTCP, SrcPort: 40000, DstPort: 443, IPID: 7, TCPSeq: 1000, TTL: ttl,
	}
	return r
}

type collected struct{ paths []Path }

func (c *collected) emit(p *Path) { c.paths = append(c.paths, *p) }

func switches(p *Path) []uint32 {
	var s []uint32
	for i := range p.HopCount {
		s = append(s, p.Hops[i].SwitchID)
	}
	return s
}

func pathSwitches(ps []Path) [][]uint32 {
	var out [][]uint32
	for i := range ps {
		out = append(out, switches(&ps[i]))
	}
	return out
}

func TestJoinerOrdersPostcardsByTTL(t *testing.T) {
	j := NewJoiner(JoinerOptions{Window: 50 * time.Millisecond})
	var c collected
	// The spine's postcard arrives first, the source leaf's last. Their
	// clocks disagree, and the spine's ingress time has wrapped.
	j.Add(t0, postcard(20, 63, 0x00000100, 0x00000300), c.emit)
	j.Add(t0.Add(time.Millisecond), postcard(30, 62, 0x00000400, 0x00000500), c.emit)
	j.Add(t0.Add(2*time.Millisecond), postcard(10, 64, 0xffffff00, 0x00000050), c.emit)
	j.Flush(t0.Add(49*time.Millisecond), c.emit)
	if len(c.paths) != 0 || j.Pending() != 1 {
		t.Fatalf("emitted %d before the window, pending %d", len(c.paths), j.Pending())
	}
	j.Flush(t0.Add(50*time.Millisecond), c.emit)
	if len(c.paths) != 1 {
		t.Fatalf("emitted %d paths, want 1", len(c.paths))
	}
	p := &c.paths[0]
	if got := switches(p); len(got) != 3 || got[0] != 10 || got[1] != 20 || got[2] != 30 {
		t.Errorf("path %v, want [10 20 30]", got)
	}
	if p.Flow.Src != netip.MustParseAddr("10.1.1.10") || p.IPID != 7 || p.TCPSeq != 1000 || !p.First.Equal(t0) || !p.Last.Equal(t0.Add(2*time.Millisecond)) {
		t.Errorf("path %+v", p)
	}
	if l, ok := HopLatency(&p.Hops[0].Hop); !ok || l != 0x150 {
		t.Errorf("first hop latency %#x, %v; want 0x150 across the wrap", l, ok)
	}
	if p.Hops[2].QueueOccupancy != 300 || p.Hops[2].Present&ItemQueue == 0 {
		t.Errorf("last hop queue %+v", p.Hops[2])
	}
	// Egress of switch 30 (0x500) minus ingress of switch 10 (0xffffff00).
	if e, ok := p.EndToEnd(); !ok || e != 0x600 {
		t.Errorf("end to end %#x, %v; want 0x600", e, ok)
	}
	if st := j.Stats(); st.Postcards != 3 || st.Paths != 1 || j.Pending() != 0 {
		t.Errorf("stats %+v pending %d", st, j.Pending())
	}
}

func TestJoinerSeparatesPacketsAndFlows(t *testing.T) {
	j := NewJoiner(JoinerOptions{Window: 10 * time.Millisecond})
	var c collected
	a := postcard(10, 64, 100, 200)
	b := postcard(10, 64, 300, 400)
	b.Inner.TCPSeq = 2000 // the flow's next packet
	other := postcard(10, 64, 100, 200)
	other.Inner.DstPort = 80
	for _, r := range []*Report{a, b, other} {
		j.Add(t0, r, c.emit)
	}
	if j.Pending() != 3 {
		t.Fatalf("pending %d, want 3 paths", j.Pending())
	}
	j.FlushAll(c.emit)
	if len(c.paths) != 3 || c.paths[1].TCPSeq != 2000 || c.paths[2].Flow.DstPort != 80 {
		t.Errorf("paths %d, emitted oldest first", len(c.paths))
	}
}

func TestJoinerRepeatedSwitchStartsNewPath(t *testing.T) {
	j := NewJoiner(JoinerOptions{Window: time.Second})
	var c collected
	j.Add(t0, postcard(10, 64, 100, 200), c.emit)
	j.Add(t0, postcard(20, 63, 300, 400), c.emit)
	// Switch 10 again with the same identity: a retransmission, not a hop.
	j.Add(t0.Add(time.Millisecond), postcard(10, 64, 900, 950), c.emit)
	if len(c.paths) != 1 || c.paths[0].HopCount != 2 || j.Stats().Repeats != 1 || j.Pending() != 1 {
		t.Fatalf("emitted %d (hops %v), stats %+v", len(c.paths), c.paths, j.Stats())
	}
}

func TestJoinerMarksDropsAndRejectsNonPostcards(t *testing.T) {
	j := NewJoiner(JoinerOptions{})
	var c collected
	d := postcard(20, 63, 100, 0)
	d.Header.Kind, d.Header.Dropped, d.Header.DropReason = KindDrop, true, 60
	d.Header.Md = MdPorts | MdDrop
	j.Add(t0, postcard(10, 64, 50, 90), c.emit)
	j.Add(t0, d, c.emit)
	noSwitch := postcard(30, 62, 0, 0)
	noSwitch.Header.HasSwitchID = false
	withStack := postcard(30, 62, 0, 0)
	withStack.INT.Present = true
	if j.Add(t0, noSwitch, c.emit) || j.Add(t0, withStack, c.emit) {
		t.Error("a report without switch id or with an INT stack is not a postcard")
	}
	j.FlushAll(c.emit)
	p := &c.paths[0]
	if !p.Dropped || p.Hops[1].Kind != KindDrop || p.Hops[1].DropReason != 60 || p.Hops[1].Present&ItemEgressTS != 0 {
		t.Errorf("drop hop %+v", p.Hops[1])
	}
	if _, ok := p.EndToEnd(); ok {
		t.Error("a dropped packet has no egress at its last hop: no end to end")
	}
	if st := j.Stats(); st.Rejected != 2 || st.Postcards != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestJoinerBoundsMemory(t *testing.T) {
	j := NewJoiner(JoinerOptions{MaxPending: 4, Window: time.Hour})
	var c collected
	for i := range 10 {
		r := postcard(10, 64, 0, 0)
		r.Inner.IPID = uint16(i)
		j.Add(t0, r, c.emit)
	}
	if j.Pending() != 4 || len(c.paths) != 6 || j.Stats().Evicted != 6 {
		t.Fatalf("pending %d emitted %d stats %+v", j.Pending(), len(c.paths), j.Stats())
	}
	for i, p := range c.paths {
		if p.IPID != uint16(i) {
			t.Errorf("evicted %d has IP id %d: oldest must go first", i, p.IPID)
		}
	}
}

func TestJoinerClosesFullPath(t *testing.T) {
	j := NewJoiner(JoinerOptions{})
	var c collected
	for i := range HopLimit {
		j.Add(t0, postcard(uint32(i+1), uint8(200-i), uint32(i*10), uint32(i*10+5)), c.emit)
	}
	if len(c.paths) != 1 || c.paths[0].HopCount != HopLimit || j.Stats().Full != 1 || j.Pending() != 0 {
		t.Fatalf("emitted %d, stats %+v", len(c.paths), j.Stats())
	}
	if c.paths[0].Hops[HopLimit-1].SwitchID != HopLimit {
		t.Errorf("last hop %d", c.paths[0].Hops[HopLimit-1].SwitchID)
	}
}

// queueReport is what a congested switch's queue congestion report about
// the packet of postcard(sw, ttl, ...) decodes to: a switch-local header
// with Q and the occupancy that crossed the threshold.
func queueReport(sw uint32, ttl uint8, ig, eg, occ uint32) *Report {
	r := postcard(sw, ttl, ig, eg)
	r.Header.Kind, r.Header.Congested, r.Header.Tracked = KindQueue, true, false
	r.Header.QueueID, r.Header.QueueOccupancy = 3, occ
	r.Header.Seq = 900
	return r
}

// The spine is congested: it sends its queue report and then its postcard
// about the same packet. Both are the spine's one hop; the path is whole.
func TestJoinerMergesQueueReportIntoItsSwitchHop(t *testing.T) {
	for _, queueFirst := range []bool{true, false} {
		j := NewJoiner(JoinerOptions{Window: time.Second})
		var c collected
		pc := postcard(20, 63, 300, 1300)
		pc.Header.Seq, pc.Header.HwID = 41, 1
		pc.Header.QueueOccupancy = 1848
		q := queueReport(20, 63, 300, 1300, 1849)
		j.Add(t0, postcard(10, 64, 100, 200), c.emit)
		if queueFirst {
			j.Add(t0, q, c.emit)
			j.Add(t0, pc, c.emit)
		} else {
			j.Add(t0, pc, c.emit)
			j.Add(t0, q, c.emit)
		}
		j.Add(t0, postcard(30, 62, 1500, 1600), c.emit)
		j.FlushAll(c.emit)
		if len(c.paths) != 1 {
			t.Fatalf("queue report first %v: %d paths, want 1: %v", queueFirst, len(c.paths), pathSwitches(c.paths))
		}
		p := &c.paths[0]
		if got := switches(p); len(got) != 3 || got[0] != 10 || got[1] != 20 || got[2] != 30 {
			t.Fatalf("queue report first %v: path %v, want [10 20 30]", queueFirst, got)
		}
		h := &p.Hops[1]
		if h.Kind != KindFlow || h.Seq != 41 || h.HwID != 1 || h.QueueID != 3 || h.QueueOccupancy != 1849 || p.Dropped {
			t.Errorf("queue report first %v: spine hop %+v: want the postcard's kind, seq and hw id, the queue report's queue", queueFirst, h)
		}
		if l, ok := HopLatency(&h.Hop); !ok || l != 1000 {
			t.Errorf("queue report first %v: spine hop latency %d %v", queueFirst, l, ok)
		}
		if e, ok := p.EndToEnd(); !ok || e != 1500 {
			t.Errorf("queue report first %v: end to end %d %v, want 1500", queueFirst, e, ok)
		}
		if st := j.Stats(); st.Merged != 1 || st.Repeats != 0 || st.Postcards != 4 || st.Paths != 1 {
			t.Errorf("queue report first %v: stats %+v", queueFirst, st)
		}
	}
}

// A drop report fills what the queue report of the same switch lacks and
// marks the hop dropped; ports and timestamps come from whichever has
// them, the postcard's first.
func TestJoinerMergesDropReportIntoItsSwitchHop(t *testing.T) {
	j := NewJoiner(JoinerOptions{Window: time.Second})
	var c collected
	q := queueReport(20, 63, 300, 1300, 2100)
	q.Header.Md = MdQueue // no ports
	d := postcard(20, 63, 301, 0)
	d.Header.Kind, d.Header.Dropped, d.Header.DropReason = KindDrop, true, 71
	d.Header.Md = MdPorts | MdDrop
	d.Header.IngressPort, d.Header.EgressPort = 5, 6
	j.Add(t0, postcard(10, 64, 100, 200), c.emit)
	j.Add(t0, q, c.emit)
	j.Add(t0, d, c.emit)
	j.FlushAll(c.emit)
	if len(c.paths) != 1 || c.paths[0].HopCount != 2 {
		t.Fatalf("%d paths, want one of 2 hops: %v", len(c.paths), pathSwitches(c.paths))
	}
	p := &c.paths[0]
	h := &p.Hops[1]
	if !p.Dropped || h.Kind != KindDrop || h.DropReason != 71 || h.IngressPort != 5 || h.EgressPort != 6 ||
		h.QueueID != 3 || h.QueueOccupancy != 2100 || h.IngressTS != 301 || h.Present&(ItemPorts|ItemQueue) != ItemPorts|ItemQueue {
		t.Errorf("drop hop %+v", h)
	}
}

// Two reports of the same kind from one switch are two packets (or a
// retransmission), merged or not: the second closes the path.
func TestJoinerSecondReportOfAKindIsARepeat(t *testing.T) {
	j := NewJoiner(JoinerOptions{Window: time.Second})
	var c collected
	j.Add(t0, postcard(10, 64, 100, 200), c.emit)
	j.Add(t0, queueReport(10, 64, 100, 200, 500), c.emit)
	j.Add(t0, queueReport(10, 64, 900, 950, 600), c.emit)
	if len(c.paths) != 1 || c.paths[0].HopCount != 1 || c.paths[0].Hops[0].QueueOccupancy != 500 {
		t.Fatalf("emitted %v, want the first packet's one hop with its queue report", pathSwitches(c.paths))
	}
	if st := j.Stats(); st.Repeats != 1 || st.Merged != 1 || j.Pending() != 1 {
		t.Errorf("stats %+v pending %d", st, j.Pending())
	}
}

// The index keys paths by a 64-bit hash; keys with equal hashes are
// still different packets. An IPv4 address and its IPv4-mapped IPv6 form
// hash alike (the same 16 bytes), and two IPv6 sources can be made to
// give the same hash under the Joiner's seed: each must stay its own path.
func TestJoinerKeepsCollidingKeysApart(t *testing.T) {
	j := NewJoiner(JoinerOptions{Window: time.Second, MaxPending: 8})
	v4 := postcard(10, 64, 100, 200)
	mapped := postcard(10, 64, 100, 200)
	mapped.Inner.Src = netip.AddrFrom16(v4.Inner.Src.As16())

	// The hash folds the source's two 8-byte words one after the other:
	// pick a second word that undoes a changed first word.
	a := postcard(10, 64, 100, 200)
	a.Inner.IPVersion, a.Inner.Src = 6, netip.MustParseAddr("2001:db8::10")
	src := a.Inner.Src.As16()
	w0, w1 := binary.LittleEndian.Uint64(src[:8]), binary.LittleEndian.Uint64(src[8:])
	w0b := w0 ^ 0xff00
	w1b := hashStep(j.seed, w0) ^ w1 ^ hashStep(j.seed, w0b)
	binary.LittleEndian.PutUint64(src[:8], w0b)
	binary.LittleEndian.PutUint64(src[8:], w1b)
	b := postcard(10, 64, 100, 200)
	b.Inner.IPVersion, b.Inner.Src = 6, netip.AddrFrom16(src)

	pairs := [][2]*Report{{v4, mapped}, {a, b}}
	for _, p := range pairs {
		k0, k1 := joinKey{flow: FlowOf(&p[0].Inner), ipid: 7, tcpSeq: 1000}, joinKey{flow: FlowOf(&p[1].Inner), ipid: 7, tcpSeq: 1000}
		if k0 == k1 || j.hash(&k0) != j.hash(&k1) {
			t.Fatalf("%v and %v: keys equal %v, hashes %#x %#x: want different keys, one hash", p[0].Inner.Src, p[1].Inner.Src, k0 == k1, j.hash(&k0), j.hash(&k1))
		}
	}
	var c collected
	for _, p := range pairs {
		j.Add(t0, p[0], c.emit)
		j.Add(t0, p[1], c.emit) // the same switch: were the keys taken as one, a repeat
		second := *p[1]
		second.Header.SwitchID, second.Inner.TTL = 20, 63
		j.Add(t0, &second, c.emit)
	}
	if st := j.Stats(); j.Pending() != 4 || len(c.paths) != 0 || st.Repeats != 0 {
		t.Fatalf("pending %d, emitted %d, stats %+v: want 4 paths open", j.Pending(), len(c.paths), st)
	}
	j.FlushAll(c.emit)
	want := []netip.Addr{v4.Inner.Src, mapped.Inner.Src, a.Inner.Src, b.Inner.Src}
	for i, p := range c.paths {
		// Only the second of each pair got switch 20's postcard.
		if p.Flow.Src != want[i] || p.HopCount != 1+i%2 {
			t.Errorf("path %d from %v with %d hops, want from %v with %d", i, p.Flow.Src, p.HopCount, want[i], 1+i%2)
		}
	}
}

// Paths open and close in any order (expiry, repeats, eviction) while
// the index moves entries back over the places closed paths left: every
// pending path stays findable, and the index holds nothing else.
func TestJoinerIndexSurvivesChurn(t *testing.T) {
	j := NewJoiner(JoinerOptions{Window: 20 * time.Millisecond, MaxPending: 48})
	rng := rand.New(rand.NewPCG(1, 2))
	now := t0
	emitted := 0
	for n := range 20000 {
		r := postcard(uint32(rng.IntN(4)), uint8(64-rng.IntN(4)), uint32(n), uint32(n))
		r.Inner.SrcPort = uint16(rng.IntN(40))
		r.Inner.IPID = uint16(rng.IntN(3))
		now = now.Add(time.Duration(rng.IntN(300)) * time.Microsecond)
		j.Add(now, r, func(*Path) { emitted++ })
		used := 0
		for _, e := range j.index {
			if e.slot >= 0 {
				used++
			}
		}
		seen := 0
		for i := j.head; i >= 0; i = j.slots[i].next {
			s := &j.slots[i]
			if got, _ := j.find(s.hash, &s.key); got != i {
				t.Fatalf("postcard %d: pending slot %d found as %d", n, i, got)
			}
			seen++
		}
		if used != j.Pending() || seen != j.Pending() {
			t.Fatalf("postcard %d: %d index entries, %d listed, %d pending", n, used, seen, j.Pending())
		}
	}
	if st := j.Stats(); st.Repeats == 0 || st.Evicted == 0 || emitted == 0 || uint64(emitted) != st.Paths {
		t.Errorf("stats %+v, emitted %d: want expiry, repeats and evictions all exercised", st, emitted)
	}
}
