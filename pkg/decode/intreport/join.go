package intreport

import (
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
// word).
type PathHop struct {
	Hop
	HwID       uint8
	TTL        uint8
	Kind       Kind
	DropReason uint8 // when Kind == KindDrop
	Seq        uint32
}

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
	Full      uint64 // emitted early because they reached HopLimit hops
}

type joinKey struct {
	flow   FlowKey
	ipid   uint16
	tcpSeq uint32
}

type slot struct {
	path       Path
	key        joinKey
	refTS      uint32 // first postcard's ingress timestamp
	prev, next int32  // pending list, oldest first; -1 ends
}

// Joiner joins postcards into paths. It keeps at most MaxPending paths in
// memory allocated once; time comes only from the caller. Not safe for
// concurrent use.
type Joiner struct {
	o          JoinerOptions
	slots      []slot
	index      map[joinKey]int32
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
	j := &Joiner{
		o:     o,
		slots: make([]slot, o.MaxPending),
		index: make(map[joinKey]int32, o.MaxPending),
		free:  make([]int32, o.MaxPending),
		head:  -1,
		tail:  -1,
	}
	for i := range j.free {
		j.free[i] = int32(len(j.free) - 1 - i)
	}
	return j
}

// Stats returns the counters so far.
func (j *Joiner) Stats() JoinerStats { return j.st }

// Pending is the number of paths waiting for more postcards.
func (j *Joiner) Pending() int { return len(j.index) }

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
	i, ok := j.index[k]
	if ok && j.hasSwitch(&j.slots[i].path, r.Header.SwitchID) {
		j.st.Repeats++
		j.close(i, emit)
		ok = false
	}
	if !ok {
		i = j.open(k, now, r.Header.IngressTS, emit)
	}
	s := &j.slots[i]
	j.insert(s, r)
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
		if now.Sub(s.path.First) < j.o.Window {
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

func (j *Joiner) hasSwitch(p *Path, id uint32) bool {
	for i := range p.HopCount {
		if p.Hops[i].SwitchID == id {
			return true
		}
	}
	return false
}

func (j *Joiner) open(k joinKey, now time.Time, ts uint32, emit func(*Path)) int32 {
	if len(j.free) == 0 {
		j.st.Evicted++
		j.close(j.head, emit)
	}
	i := j.free[len(j.free)-1]
	j.free = j.free[:len(j.free)-1]
	s := &j.slots[i]
	p := &s.path
	clear(p.Hops[:p.HopCount])
	p.HopCount, p.Dropped = 0, false
	p.Flow, p.IPID, p.TCPSeq = k.flow, k.ipid, k.tcpSeq
	p.First, p.Last = now, now
	s.key = k
	s.refTS = ts
	s.prev, s.next = j.tail, -1
	if j.tail >= 0 {
		j.slots[j.tail].next = i
	} else {
		j.head = i
	}
	j.tail = i
	j.index[k] = i
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
	delete(j.index, s.key)
	j.free = append(j.free, i)
	j.st.Paths++
	if emit != nil {
		emit(&s.path)
	}
}

// insert places r's hop in s's path by TTL, then ingress time.
func (j *Joiner) insert(s *slot, r *Report) {
	h := &r.Header
	var ph PathHop
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
	p := &s.path
	if h.Kind == KindDrop {
		p.Dropped = true
	}
	rel := int32(h.IngressTS - s.refTS)
	at := p.HopCount
	for at > 0 {
		prev := &p.Hops[at-1]
		if prev.TTL > ph.TTL || prev.TTL == ph.TTL && int32(prev.IngressTS-s.refTS) <= rel {
			break
		}
		p.Hops[at] = *prev
		at--
	}
	p.Hops[at] = ph
	p.HopCount++
}
