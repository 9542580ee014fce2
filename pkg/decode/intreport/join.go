package intreport

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"time"
)

// Postcards: in postcard mode every switch on the path reports its own hop
// for the same packet (a report with a switch-local or drop header and a
// copy of the packet). The Joiner puts the postcards of one packet back
// together into one Path.
//
// Which postcards belong together: the same inner flow (addresses,
// protocol, ports) and the same packet identity that no switch changes,
// the IPv4 identification and the TCP sequence number where the packet has
// them, seen within Window of the first one. IPv6 UDP has no such identity:
// its packets of one flow within a window merge, and a switch reporting a
// second time starts a new path instead of overwriting its hop.
//
// Hop order: by the packet's TTL / hop limit as each switch copied it,
// highest first (every routed hop lowers it, and it is the same clock-free
// measure on every switch); equal TTLs (a bridged hop, or a switch that
// copies before decrementing) fall back to the ingress timestamps taken
// modulo 2^32 relative to the first postcard (meaningful only with
// synchronized clocks), then to arrival order.
//
// One switch, several reports of one packet: a congested switch sends a
// queue congestion report and its postcard about the same packet, and a
// switch may send a drop report beside one. These describe one hop, so a
// report from a switch already in the open path merges into that switch's
// hop when one of the two is a queue or drop report (queue id and
// occupancy from the queue report, the drop and its reason from the drop
// report, ports and timestamps from whichever has them, the postcard's
// first). Taking the queue report for the switch's postcard would make the
// real postcard look like a second visit and close the path in two pieces.
// Only a second report of a kind the hop already has is a repeat.

// FlowKey is the inner 5-tuple.
type FlowKey struct {
	Src, Dst         netip.Addr
	Protocol         uint8
	SrcPort, DstPort uint16
}

// FlowOf returns the inner packet's flow key.
func FlowOf(p *Packet) FlowKey {
	return FlowKey{Src: p.Src, Dst: p.Dst, Protocol: p.Protocol, SrcPort: p.SrcPort, DstPort: p.DstPort}
}

// PathHop is one switch's postcard in a joined Path. Hop carries the
// switch's metadata with the same Present bits as an INT hop (switch id,
// ports, queue, ingress and egress timestamps, hop latency from a v1.0
// word). When the switch also sent a queue or drop report about the packet,
// they are merged into this one hop: Kind is KindDrop if any was a drop
// report, else KindFlow if any was a postcard, else KindQueue; HwID, Seq
// and TTL are the postcard's (else the drop report's).
type PathHop struct {
	Hop
	HwID       uint8
	TTL        uint8
	Kind       Kind
	DropReason uint8 // when Kind == KindDrop
	Seq        uint32
	// kinds is the set (1 << Kind) of the reports merged into this hop.
	kinds uint8
}

// FromPostcard reports whether a flow report (the switch's postcard) is
// among the reports merged into this hop, rather than only a drop or
// queue report of that switch.
func (h *PathHop) FromPostcard() bool { return h.kinds&kindBit(KindFlow) != 0 }

// Path is the joined postcards of one packet, in hop order.
type Path struct {
	Flow   FlowKey
	IPID   uint16 // IPv4 identification, 0 otherwise
	TCPSeq uint32 // TCP sequence number, 0 otherwise
	// First and Last are the caller's times of the first and last postcard.
	First, Last time.Time
	// Dropped is true if any hop reported the packet dropped.
	Dropped  bool
	HopCount int
	Hops     [HopLimit]PathHop
}

// EndToEnd is the path's latency in ns: last hop's egress minus first
// hop's ingress timestamp modulo 2^32 (synchronized clocks assumed), else
// the sum of the hops' latencies; ok is false when neither is known.
func (p *Path) EndToEnd() (ns uint32, ok bool) {
	n := p.HopCount
	if n == 0 {
		return 0, false
	}
	first, last := &p.Hops[0].Hop, &p.Hops[n-1].Hop
	if first.Present&ItemIngressTS != 0 && last.Present&ItemEgressTS != 0 {
		return last.EgressTS - first.IngressTS, true
	}
	var sum uint32
	for i := range n {
		l, ok := HopLatency(&p.Hops[i].Hop)
		if !ok {
			return 0, false
		}
		sum += l
	}
	return sum, true
}

// JoinerOptions bound a Joiner.
type JoinerOptions struct {
	// Window is how long after its first postcard a path waits for more
	// (default 100 ms).
	Window time.Duration
	// MaxPending is the most paths held at once (default 1024); when full,
	// the oldest is emitted early.
	MaxPending int
}

// JoinerStats count what the Joiner did.
type JoinerStats struct {
	Postcards uint64 // accepted by Add
	Rejected  uint64 // not postcards: no switch id, no IP, or an INT stack
	Paths     uint64 // emitted
	Evicted   uint64 // emitted before their window because MaxPending was reached
	Repeats   uint64 // emitted early because a switch reported the same packet again
	Merged    uint64 // queue or drop reports merged with another report of their switch's hop
	Full      uint64 // emitted early because they reached HopLimit hops
}

type joinKey struct {
	flow   FlowKey
	ipid   uint16
	tcpSeq uint32
}

type slot struct {
	path Path
	key  joinKey
	hash uint64 // key's, to find its index entry when it closes
	// due is First + Window: comparing it with now is cheaper than taking
	// now - First for every postcard, and says the same.
	due        time.Time
	refTS      uint32 // first postcard's ingress timestamp
	prev, next int32  // pending list, oldest first; -1 ends
}

// entry is one place of the Joiner's index: a pending path's key hash
// and slot (-1: empty). The hash is kept beside the slot so a probe
// touches a slot, and compares its whole key, only on an equal hash.
type entry struct {
	hash uint64
	slot int32
}

// Joiner joins postcards into paths. It keeps at most MaxPending paths in
// memory allocated once; time comes only from the caller. Not safe for
// concurrent use.
//
// Its index is an open-addressing table (linear probing, at most half
// full) of 64-bit key hashes rather than a Go map keyed by the flow: a
// lookup hashes a few words once and finds where a new path goes in the
// same probe. The hash is seeded per Joiner, so flows crafted to collide
// cannot make one long probe run; colliding keys are still told apart by
// comparing the whole key.
type Joiner struct {
	o          JoinerOptions
	slots      []slot
	index      []entry
	mask       uint64 // len(index) - 1
	seed       uint64
	pending    int
	free       []int32
	head, tail int32 // oldest and newest pending path
	st         JoinerStats
}

// NewJoiner returns a Joiner with its memory allocated up front.
func NewJoiner(o JoinerOptions) *Joiner {
	if o.Window <= 0 {
		o.Window = 100 * time.Millisecond
	}
	if o.MaxPending <= 0 {
		o.MaxPending = 1024
	}
	size := 8
	for size < 2*o.MaxPending {
		size <<= 1
	}
	j := &Joiner{
		o:     o,
		slots: make([]slot, o.MaxPending),
		index: make([]entry, size),
		mask:  uint64(size - 1),
		seed:  rand.Uint64(),
		free:  make([]int32, o.MaxPending),
		head:  -1,
		tail:  -1,
	}
	for i := range j.index {
		j.index[i].slot = -1
	}
	for i := range j.free {
		j.free[i] = int32(len(j.free) - 1 - i)
	}
	return j
}

// Stats returns the counters so far.
func (j *Joiner) Stats() JoinerStats { return j.st }

// Pending is the number of paths waiting for more postcards.
func (j *Joiner) Pending() int { return j.pending }

// Add takes one decoded postcard seen at now. It first emits the paths
// whose window has passed, and any path it must close early. emit gets a
// Path that is only valid during the call (its memory is reused); copy
// what must outlive it. Add returns false for a report that is not a
// postcard (no switch id, no inner IP packet, or an INT stack: those are
// whole paths already).
func (j *Joiner) Add(now time.Time, r *Report, emit func(*Path)) bool {
	j.Flush(now, emit)
	if !r.Header.HasSwitchID || r.Inner.IPVersion == 0 || r.INT.Present {
		j.st.Rejected++
		return false
	}
	j.st.Postcards++
	k := joinKey{flow: FlowOf(&r.Inner), ipid: r.Inner.IPID}
	if r.Inner.Protocol == ProtoTCP {
		k.tcpSeq = r.Inner.TCPSeq
	}
	h := j.hash(&k)
	i, pos := j.find(h, &k)
	if i >= 0 {
		s := &j.slots[i]
		if at := s.path.hopOf(r.Header.SwitchID); at >= 0 {
			var ph PathHop
			reportHop(r, &ph)
			if old := &s.path.Hops[at]; old.kinds&ph.kinds == 0 && (old.kinds|ph.kinds)&^kindBit(KindFlow) != 0 {
				j.st.Merged++
				merge(&ph, old)
				s.path.remove(at)
				s.insert(&ph)
				s.path.Last = now
				return true
			}
			j.st.Repeats++
			j.close(i, emit)
			i = j.open(h, -1, &k, now, r.Header.IngressTS, emit)
			s = &j.slots[i]
			s.insert(&ph)
			s.path.Last = now
			return true // one hop: not full
		}
	} else {
		i = j.open(h, int64(pos), &k, now, r.Header.IngressTS, emit)
	}
	s := &j.slots[i]
	s.add(r)
	s.path.Last = now
	if s.path.HopCount == HopLimit {
		j.st.Full++
		j.close(i, emit)
	}
	return true
}

// Flush emits, oldest first, every path whose window has passed at now.
func (j *Joiner) Flush(now time.Time, emit func(*Path)) {
	for j.head >= 0 {
		s := &j.slots[j.head]
		if now.Before(s.due) {
			return
		}
		j.close(j.head, emit)
	}
}

// FlushAll emits every pending path, as at shutdown.
func (j *Joiner) FlushAll(emit func(*Path)) {
	for j.head >= 0 {
		j.close(j.head, emit)
	}
}

// hash is k's 64-bit hash under the Joiner's seed: each word of the key
// is folded into the state by a bijective step (so two keys that differ
// in one word never meet in the state after it), then the state is
// finalized so its low bits, the index's place, depend on all of it.
func (j *Joiner) hash(k *joinKey) uint64 {
	src, dst := k.flow.Src.As16(), k.flow.Dst.As16()
	h := j.seed
	h = hashStep(h, binary.LittleEndian.Uint64(src[:8]))
	h = hashStep(h, binary.LittleEndian.Uint64(src[8:]))
	h = hashStep(h, binary.LittleEndian.Uint64(dst[:8]))
	h = hashStep(h, binary.LittleEndian.Uint64(dst[8:]))
	h = hashStep(h, uint64(k.flow.Protocol)<<48|uint64(k.flow.SrcPort)<<32|uint64(k.flow.DstPort)<<16|uint64(k.ipid))
	h = hashStep(h, uint64(k.tcpSeq))
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 29
	return h
}

func hashStep(h, w uint64) uint64 {
	h = (h ^ w) * 0x9e3779b97f4a7c15
	return h ^ h>>32
}

// find returns the slot of the pending path with key k (hash h), or -1
// and the empty index place where k goes.
func (j *Joiner) find(h uint64, k *joinKey) (slot int32, pos uint64) {
	for pos = h & j.mask; ; pos = (pos + 1) & j.mask {
		e := &j.index[pos]
		if e.slot < 0 {
			return -1, pos
		}
		if e.hash == h && j.slots[e.slot].key == *k {
			return e.slot, pos
		}
	}
}

// unindex takes slot i (hash h) out of the index. Linear probing without
// tombstones: the entries after it in its run move back to fill the
// hole if their home place is not between the hole and where they are.
func (j *Joiner) unindex(h uint64, i int32) {
	hole := h & j.mask
	for j.index[hole].slot != i {
		hole = (hole + 1) & j.mask
	}
	for q := (hole + 1) & j.mask; ; q = (q + 1) & j.mask {
		e := j.index[q]
		if e.slot < 0 {
			break
		}
		// e may move to the hole if its home is not cyclically in (hole, q].
		if (q-e.hash)&j.mask >= (q-hole)&j.mask {
			j.index[hole] = e
			hole = q
		}
	}
	j.index[hole] = entry{slot: -1}
}

// hopOf returns the index of switch id's hop, or -1.
func (p *Path) hopOf(id uint32) int {
	for i := range p.HopCount {
		if p.Hops[i].SwitchID == id {
			return i
		}
	}
	return -1
}

// remove takes hop i out, keeping the others in order.
func (p *Path) remove(i int) {
	copy(p.Hops[i:p.HopCount], p.Hops[i+1:p.HopCount])
	p.HopCount--
	p.Hops[p.HopCount] = PathHop{}
}

func kindBit(k Kind) uint8 { return 1 << (k & 7) }

// mergeRank orders reports by whose ports, timestamps and sequence a
// merged hop keeps: the postcard is about the packet's passage itself, a
// drop report about its end, a queue report about the queue it met.
func mergeRank(k Kind) int {
	switch k {
	case KindFlow:
		return 0
	case KindDrop:
		return 1
	}
	return 2
}

// merge folds the hop old of the same switch into the new hop nw: the
// preferred report's fields (mergeRank) stay, items only the other has are
// added, the queue comes from a queue report and the drop from a drop
// report.
func merge(nw, old *PathHop) {
	first, second := nw, old
	if mergeRank(old.Kind) < mergeRank(nw.Kind) {
		first, second = old, nw
	}
	m := *first
	copyItems(&m.Hop, &second.Hop, second.Present&^m.Present)
	for _, h := range [2]*PathHop{nw, old} {
		if h.Kind == KindQueue && h.Present&ItemQueue != 0 {
			copyItems(&m.Hop, &h.Hop, ItemQueue)
		}
		if h.Kind == KindDrop {
			m.Kind, m.DropReason = KindDrop, h.DropReason
		}
	}
	m.kinds = nw.kinds | old.kinds
	*nw = m
}

// copyItems sets the items of dst named by items to src's values.
func copyItems(dst, src *Hop, items Item) {
	items &= src.Present
	dst.Present |= items
	dst.Unavailable &^= items
	if items&ItemPorts != 0 {
		dst.IngressPort, dst.EgressPort = src.IngressPort, src.EgressPort
	}
	if items&ItemHopLatency != 0 {
		dst.HopLatency = src.HopLatency
	}
	if items&ItemQueue != 0 {
		dst.QueueID, dst.QueueOccupancy = src.QueueID, src.QueueOccupancy
	}
	if items&ItemIngressTS != 0 {
		dst.IngressTS = src.IngressTS
	}
	if items&ItemEgressTS != 0 {
		dst.EgressTS = src.EgressTS
	}
	if items&ItemTxUtil != 0 {
		dst.TxUtil = src.TxUtil
	}
}

// open starts a path for key k (hash h) in a free slot, emitting the
// oldest path first when none is free. pos is k's empty index place from
// find, or -1 when the index may have changed since.
func (j *Joiner) open(h uint64, pos int64, k *joinKey, now time.Time, ts uint32, emit func(*Path)) int32 {
	if len(j.free) == 0 {
		j.st.Evicted++
		j.close(j.head, emit)
		pos = -1
	}
	if pos < 0 {
		_, p := j.find(h, k)
		pos = int64(p)
	}
	i := j.free[len(j.free)-1]
	j.free = j.free[:len(j.free)-1]
	s := &j.slots[i]
	p := &s.path
	clear(p.Hops[:p.HopCount])
	p.HopCount, p.Dropped = 0, false
	p.Flow, p.IPID, p.TCPSeq = k.flow, k.ipid, k.tcpSeq
	p.First, p.Last = now, now
	s.due = now.Add(j.o.Window)
	s.key = *k
	s.hash = h
	s.refTS = ts
	s.prev, s.next = j.tail, -1
	if j.tail >= 0 {
		j.slots[j.tail].next = i
	} else {
		j.head = i
	}
	j.tail = i
	j.index[pos] = entry{hash: h, slot: i}
	j.pending++
	return i
}

func (j *Joiner) close(i int32, emit func(*Path)) {
	s := &j.slots[i]
	if s.prev >= 0 {
		j.slots[s.prev].next = s.next
	} else {
		j.head = s.next
	}
	if s.next >= 0 {
		j.slots[s.next].prev = s.prev
	} else {
		j.tail = s.prev
	}
	j.unindex(s.hash, i)
	j.pending--
	j.free = append(j.free, i)
	j.st.Paths++
	if emit != nil {
		emit(&s.path)
	}
}

// reportHop makes the hop of postcard r.
func reportHop(r *Report, ph *PathHop) {
	h := &r.Header
	ph.SwitchID = h.SwitchID
	ph.Present = ItemSwitchID | ItemIngressTS
	ph.IngressTS = h.IngressTS
	if h.Md&MdPorts != 0 {
		ph.Present |= ItemPorts
		ph.IngressPort, ph.EgressPort = h.IngressPort, h.EgressPort
	}
	if h.Md&MdHopLatency != 0 {
		ph.Present |= ItemHopLatency
		ph.HopLatency = h.HopLatency
	}
	if h.Md&MdQueue != 0 {
		ph.Present |= ItemQueue
		ph.QueueID, ph.QueueOccupancy = h.QueueID, h.QueueOccupancy
	}
	if h.Md&MdEgressTS != 0 {
		ph.Present |= ItemEgressTS
		ph.EgressTS = h.EgressTS
	}
	if h.Md&MdTxUtil != 0 {
		ph.Present |= ItemTxUtil
		ph.TxUtil = h.TxUtil
	}
	ph.HwID = h.HwID
	ph.TTL = r.Inner.TTL
	ph.Kind = h.Kind
	ph.DropReason = h.DropReason
	ph.Seq = h.Seq
	ph.kinds = kindBit(h.Kind)
}

// insert places hop ph in s's path by TTL, then ingress time.
func (s *slot) insert(ph *PathHop) {
	p := &s.path
	if ph.Kind == KindDrop {
		p.Dropped = true
	}
	rel := int32(ph.IngressTS - s.refTS)
	at := p.HopCount
	for at > 0 {
		prev := &p.Hops[at-1]
		if prev.TTL > ph.TTL || prev.TTL == ph.TTL && int32(prev.IngressTS-s.refTS) <= rel {
			break
		}
		p.Hops[at] = *prev
		at--
	}
	p.Hops[at] = *ph
	p.HopCount++
}

// add places postcard r's hop in s's path as insert does, built in its
// place rather than copied there.
func (s *slot) add(r *Report) {
	p := &s.path
	ttl := r.Inner.TTL
	rel := int32(r.Header.IngressTS - s.refTS)
	at := p.HopCount
	for at > 0 {
		prev := &p.Hops[at-1]
		if prev.TTL > ttl || prev.TTL == ttl && int32(prev.IngressTS-s.refTS) <= rel {
			break
		}
		p.Hops[at] = *prev
		at--
	}
	ph := &p.Hops[at]
	*ph = PathHop{}
	reportHop(r, ph)
	if ph.Kind == KindDrop {
		p.Dropped = true
	}
	p.HopCount++
}
