package intsim

import (
	"maps"
	"slices"
)

// SeqKey names one sequence of reports: a switch's hardware subsystem.
type SeqKey struct {
	Switch uint32
	HwID   uint8
}

// DropKey names where and why packets were dropped.
type DropKey struct {
	Switch                  uint32
	IngressPort, EgressPort uint16
	Reason                  uint8
}

// QueueKey names a congested egress queue.
type QueueKey struct {
	Switch uint32
	Port   uint16
	Queue  uint8
}

// SwitchTotals are the reports one switch put on the wire, by kind.
type SwitchTotals struct {
	Name    string
	ID      uint32
	Reports [numKinds]uint64
}

// Observation is the newest path of one flow the collector was sent: of
// the flow's newest packet with a report sent (the highest PacketNo,
// whatever order the switches' sockets flushed in), the hops of its INT
// report or its postcards in path order.
type Observation struct {
	PacketNo uint64
	Hops     []Hop // path order: the postcards by the TTL each switch saw, highest first
	Dropped  bool  // the newest packet was dropped (its drop report was sent)
	DropAt   uint32
}

// Path is the switch ids of the observation in path order.
func (o *Observation) Path() []uint32 {
	ids := make([]uint32, len(o.Hops))
	for i, h := range o.Hops {
		ids[i] = h.SwitchID
	}
	return ids
}

// FlowTotals are what was sent about one flow.
type FlowTotals struct {
	Flow    string
	Reports uint64
	Last    Observation
}

// Totals are what the simulator put on the wire. Only reports in
// datagrams written whole count, so a test can compare them with what a
// collector decoded.
type Totals struct {
	Reports   uint64
	Bytes     uint64 // report octets (UDP payload)
	Datagrams uint64
	ByKind    [numKinds]uint64
	Switches  []SwitchTotals // by switch index
	Drops     map[DropKey]uint64
	Queues    map[QueueKey]uint64
	// Gaps is the sequence numbers skipped between reports that were sent,
	// per switch and hw_id: exactly the loss a collector should count.
	Gaps map[SeqKey]uint64
	// Lost is every report generated and not sent on purpose, including
	// those after the last sent report of their sequence (no collector can
	// see those).
	Lost    uint64
	Packets uint64 // simulated packets
	// Wrapped counts hops (in sent INT stacks and postcards) whose egress
	// timestamp is below the ingress one: the 32-bit clock wrapped inside.
	Wrapped uint64
	Flows   []FlowTotals // by flow index
	// Segmented is the reports that went down in segmented sends (UDP
	// segmentation offload); the collector still got one datagram each.
	Segmented uint64
	Errors    uint64
	LastError string
}

// Kind returns the count of one kind of report.
func (t *Totals) Kind(k Kind) uint64 { return t.ByKind[k] }

// GapTotal is the sum of Gaps.
func (t *Totals) GapTotal() uint64 {
	var n uint64
	for _, v := range t.Gaps {
		n += v
	}
	return n
}

// tally accumulates totals on the sending side.
type tally struct {
	t       Totals
	next    []uint32 // next expected sequence per switch*hwMax+hw
	started []bool
	flowHop [][MaxHops]Hop
	flowTTL [][MaxHops]uint8 // the TTL of each postcard in flowHop
}

func newTally(d *Domain) *tally {
	ta := &tally{}
	ta.t.Drops = map[DropKey]uint64{}
	ta.t.Queues = map[QueueKey]uint64{}
	ta.t.Gaps = map[SeqKey]uint64{}
	for _, sw := range d.Topo.Switches {
		ta.t.Switches = append(ta.t.Switches, SwitchTotals{Name: sw.Name, ID: sw.ID})
	}
	ta.t.Flows = make([]FlowTotals, len(d.Flows))
	for i := range d.Flows {
		ta.t.Flows[i].Flow = d.Flows[i].String()
	}
	ta.flowHop = make([][MaxHops]Hop, len(d.Flows))
	ta.flowTTL = make([][MaxHops]uint8, len(d.Flows))
	ta.next = make([]uint32, len(d.Topo.Switches)*hwMax)
	ta.started = make([]bool, len(ta.next))
	return ta
}

func wrapped(h *Hop) bool { return h.EgressTS < h.IngressTS }

// add counts one report sent whole in a datagram of n octets.
func (ta *tally) add(r *Report, n int) {
	t := &ta.t
	t.Reports++
	t.Bytes += uint64(n)
	t.Datagrams++
	t.ByKind[r.Kind]++
	t.Switches[r.Switch].Reports[r.Kind]++
	slot := r.Switch*hwMax + int(r.HwID)
	if ta.started[slot] && r.Seq != ta.next[slot] {
		t.Gaps[SeqKey{r.SwitchID, r.HwID}] += uint64(r.Seq - ta.next[slot])
	}
	ta.started[slot] = true
	ta.next[slot] = r.Seq + 1

	f := &t.Flows[r.Flow]
	f.Reports++
	o := &f.Last
	hops := &ta.flowHop[r.Flow]
	// Each switch's socket flushes when its batch fills, so a packet's
	// reports are counted out of path order and an older packet's may come
	// after a newer one's: the observation keeps the newest packet and
	// places its postcards by TTL.
	newer, older := r.PacketNo > o.PacketNo, r.PacketNo < o.PacketNo
	if newer && (r.Kind == KindDrop || r.Kind == KindPostcard) {
		*o = Observation{PacketNo: r.PacketNo, Hops: hops[:0]}
	}
	switch r.Kind {
	case KindDrop:
		t.Drops[DropKey{r.SwitchID, r.Local.IngressPort, r.Local.EgressPort, r.Reason}]++
		if !older {
			o.Dropped, o.DropAt = true, r.SwitchID
		}
	case KindQueue:
		t.Queues[QueueKey{r.SwitchID, r.Local.EgressPort, r.Local.QueueID}]++
	case KindINT:
		for i := range r.INT.Hops {
			if wrapped(&r.INT.Stack[i]) {
				t.Wrapped++
			}
		}
		if !older {
			copy(hops[:], r.INT.Stack[:r.INT.Hops])
			*o = Observation{PacketNo: r.PacketNo, Hops: hops[:r.INT.Hops]}
		}
	case KindPostcard:
		if wrapped(&r.Local) {
			t.Wrapped++
		}
		if !older && len(o.Hops) < MaxHops {
			ttls := &ta.flowTTL[r.Flow]
			at := len(o.Hops)
			for at > 0 && ttls[at-1] < r.Packet.TTL {
				at--
			}
			o.Hops = append(o.Hops, Hop{})
			copy(o.Hops[at+1:], o.Hops[at:])
			copy(ttls[at+1:len(o.Hops)], ttls[at:len(o.Hops)-1])
			o.Hops[at], ttls[at] = r.Local, r.Packet.TTL
		}
	}
}

func (ta *tally) snapshot(lost, packets uint64) Totals {
	c := ta.t
	c.Lost, c.Packets = lost, packets
	c.Switches = slices.Clone(ta.t.Switches)
	c.Drops = maps.Clone(ta.t.Drops)
	c.Queues = maps.Clone(ta.t.Queues)
	c.Gaps = maps.Clone(ta.t.Gaps)
	c.Flows = slices.Clone(ta.t.Flows)
	for i := range c.Flows {
		c.Flows[i].Last.Hops = slices.Clone(c.Flows[i].Last.Hops)
	}
	return c
}
