package intsim

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"time"
)

// Mode of the domain: INT (source, transit, sink) or postcards.
type Mode uint8

const (
	ModeINT Mode = iota
	ModePostcard
)

func (m Mode) String() string {
	if m == ModePostcard {
		return "postcard"
	}
	return "int"
}

// Drop reasons the simulated switches report. Drop reason numbering is
// vendor specific (the report formats only carry 8 bits); these follow the
// style of p4lang/switch's drop reason codes and a collector must treat
// them as opaque numbers it names from configuration.
const (
	DropSrcMACZero uint8 = 10
	DropTTLExpired uint8 = 25
	DropNoRoute    uint8 = 50
	DropQueueFull  uint8 = 71 // tail drop: the egress queue hit its limit
)

var randomDropReasons = [...]uint8{DropSrcMACZero, DropTTLExpired, DropNoRoute}

// DomainConfig describes the fabric and its traffic. Zero values take the
// defaults in brackets.
type DomainConfig struct {
	Spines, Leaves, HostsPerLeaf int      // [2, 4, 4]
	Flows                        int      // flows between hosts [64]
	Mode                         Mode     // [ModeINT]
	Encoding                     Encoding // Instructions [DefaultInstructions], MaxHopCount [8]
	// INT marker in the inner packet: the DSCP value under a mask [1/1,
	// the NX-OS flow-profile default], or, when INTPort is set, the L4
	// destination port (v0.5 only: the tail keeps the original port).
	INTDSCP, INTDSCPMask uint8
	INTPort              uint16
	IPv6Share            float64 // share of flows over IPv6 (report v1.0 only) [0]
	UDPShare, ICMPShare  float64 // [0.3, 0.1]; the rest is TCP
	WatchShare           float64 // share of flows on the watchlist [1]; negative: none
	DropRate             float64 // chance a packet is dropped at some hop [0.002]; negative: never
	LossRate             float64 // chance a report is lost (its sequence number skipped) [0.001]; negative: never
	// Congestion episodes: each egress port fills for about CongestionFor,
	// on average every CongestionEvery [10s, 1s]; negative Every: never.
	CongestionEvery, CongestionFor time.Duration
	QueueThreshold                 uint32 // cells that make a queue report [300, NX-OS queue-profile depth]
	QueueLimit                     uint32 // cells at which the queue tail-drops [2000]
	QueueQuota                     int    // queue reports per port and episode [32]
	CellNs                         uint32 // ns to drain one cell [20]
	// Spine maintenance: on average every SpineDownEvery one spine leaves
	// ECMP for SpineDownFor, so flows change path [0: never, 3s].
	SpineDownEvery, SpineDownFor time.Duration
	// WrapAfter is when the switches' 32-bit nanosecond clocks (PTP synced,
	// one value for all) first wrap [500ms]; they wrap every 4.295 s after.
	WrapAfter time.Duration
	// NoSinkLocal stops the sink's local report (for traffic arriving on a
	// fabric port) that NX-OS sends beside each INT report.
	NoSinkLocal bool
	Seed        uint64 // [1]
}

func (c *DomainConfig) defaults() error {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.Spines, 2)
	def(&c.Leaves, 4)
	def(&c.HostsPerLeaf, 4)
	def(&c.Flows, 64)
	def(&c.QueueQuota, 32)
	if c.Encoding.Instructions == 0 {
		c.Encoding.Instructions = DefaultInstructions
	}
	if c.Encoding.MaxHopCount == 0 {
		c.Encoding.MaxHopCount = 8
	}
	if c.INTDSCP == 0 && c.INTDSCPMask == 0 {
		c.INTDSCP, c.INTDSCPMask = 1, 1
	}
	fdef := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		} else if *v < 0 {
			*v = 0
		}
	}
	fdef(&c.UDPShare, 0.3)
	fdef(&c.ICMPShare, 0.1)
	fdef(&c.WatchShare, 1)
	fdef(&c.DropRate, 0.002)
	fdef(&c.LossRate, 0.001)
	if c.CongestionEvery == 0 {
		c.CongestionEvery = 10 * time.Second
	}
	if c.CongestionFor <= 0 {
		c.CongestionFor = time.Second
	}
	if c.SpineDownFor <= 0 {
		c.SpineDownFor = 3 * time.Second
	}
	if c.QueueThreshold == 0 {
		c.QueueThreshold = 300
	}
	if c.QueueLimit == 0 {
		c.QueueLimit = 2000
	}
	if c.CellNs == 0 {
		c.CellNs = 20
	}
	if c.WrapAfter == 0 {
		c.WrapAfter = 500 * time.Millisecond
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	var problems []error
	if err := c.Encoding.Check(); err != nil {
		problems = append(problems, err)
	}
	if c.Flows < 1 || c.Flows > 1_000_000 {
		problems = append(problems, fmt.Errorf("flows %d: want 1..1000000", c.Flows))
	}
	if c.Mode != ModeINT && c.Mode != ModePostcard {
		problems = append(problems, fmt.Errorf("mode %d: want int or postcard", c.Mode))
	}
	if c.INTPort != 0 && c.Encoding.Version != V05 {
		problems = append(problems, errors.New("an INT port marker needs v0.5: v1.0 has no tail to keep the original destination port"))
	}
	if c.IPv6Share > 0 && c.Encoding.Version != V10 {
		problems = append(problems, errors.New("IPv6 inner packets need report v1.0 (NX-OS INT v0.5 is IPv4 only)"))
	}
	if c.IPv6Share > 1 || c.UDPShare+c.ICMPShare > 1 || c.WatchShare > 1 || c.DropRate > 1 || c.LossRate > 1 {
		problems = append(problems, errors.New("shares and rates must be within 0..1 (UDP and ICMP together too)"))
	}
	if c.INTDSCP&^0x3f != 0 || c.INTDSCPMask&^0x3f != 0 || c.INTDSCP&^c.INTDSCPMask != 0 {
		problems = append(problems, fmt.Errorf("INT DSCP %d/%d: want a 6-bit value inside its mask", c.INTDSCP, c.INTDSCPMask))
	}
	if c.QueueThreshold >= c.QueueLimit || c.QueueLimit > 0xffffff {
		problems = append(problems, fmt.Errorf("queue threshold %d and limit %d: want threshold < limit < 2^24", c.QueueThreshold, c.QueueLimit))
	}
	if c.WrapAfter < 0 || c.WrapAfter > 4294967295 {
		problems = append(problems, fmt.Errorf("wrap after %v: want 0..4.294967295s", c.WrapAfter))
	}
	if int(c.Encoding.MaxHopCount) < 3 || c.Encoding.MaxHopCount > MaxHops {
		problems = append(problems, fmt.Errorf("max hop count %d: want 3..%d (a leaf-spine path has 3 hops)", c.Encoding.MaxHopCount, MaxHops))
	}
	if c.Encoding.Version == V05 && c.Encoding.HopWords() > 31 {
		problems = append(problems, errors.New("too many instructions"))
	}
	return errors.Join(problems...)
}

// Flow is one conversation between two hosts, as the source host sends it.
type Flow struct {
	Src, Dst         int // host indexes
	SrcAddr, DstAddr netip.Addr
	Proto            uint8
	SrcPort, DstPort uint16
	DSCP             uint8
	TCPOptions       bool
	Watched          bool
	ipid             uint16
	seq              uint32
}

// String names the flow as the path frame and the int_report flow column
// do (pkg/pipeline/intmap FlowID, whose spelling this repeats so that the
// simulator need not import the collector): "10.1.0.10:40000 >
// 10.2.0.11:443 tcp", "[fd00::1]:40000 > [fd00::2]:53 udp", "10.1.0.10 >
// 10.2.0.11 icmp", "fd00::1 > fd00::2 ipv6-icmp" (IANA's keyword for 58).
func (f *Flow) String() string {
	proto := map[uint8]string{6: "tcp", 17: "udp", 1: "icmp", 58: "ipv6-icmp"}[f.Proto]
	if f.Proto == 1 || f.Proto == 58 {
		return fmt.Sprintf("%s > %s %s", f.SrcAddr, f.DstAddr, proto)
	}
	return fmt.Sprintf("%s > %s %s", netip.AddrPortFrom(f.SrcAddr, f.SrcPort), netip.AddrPortFrom(f.DstAddr, f.DstPort), proto)
}

type queue struct {
	start, end uint64 // ns of the current or next episode
	peak       uint32
	quota      int
}

// Domain simulates packets through the fabric and yields the reports the
// switches send. It is not safe for concurrent use.
type Domain struct {
	cfg   DomainConfig
	Topo  *Topology
	Flows []Flow

	rng       *rnd
	queues    [][]queue // [switch][port]
	seq       []uint32  // [switch*hwMax+hw]
	hwMax     int
	clockBase uint64
	downSpine int
	downStart uint64
	downEnd   uint64
	packets   uint64
	out       []Report
	lost      uint64
}

// hwMax is the most line cards a switch has (sequence slots per switch).
const hwMax = 4

// NewDomain builds the fabric and its flows.
func NewDomain(cfg DomainConfig) (*Domain, error) {
	if err := cfg.defaults(); err != nil {
		return nil, fmt.Errorf("intsim: %w", err)
	}
	topo, err := NewTopology(cfg.Spines, cfg.Leaves, cfg.HostsPerLeaf, cfg.Seed)
	if err != nil {
		return nil, err
	}
	d := &Domain{cfg: cfg, Topo: topo, rng: newRand(cfg.Seed), hwMax: hwMax, downSpine: -1}
	d.clockBase = (1<<32 - uint64(cfg.WrapAfter)) & 0xffffffff
	d.queues = make([][]queue, len(topo.Switches))
	for i, sw := range topo.Switches {
		d.queues[i] = make([]queue, sw.Ports+1)
	}
	d.seq = make([]uint32, len(topo.Switches)*hwMax)
	for i := range d.seq {
		d.seq[i] = uint32(d.rng.next()) // sequences start anywhere, as after a reload
	}
	d.out = make([]Report, 0, 16)
	d.makeFlows()
	if cfg.SpineDownEvery > 0 && cfg.Spines > 1 {
		d.downStart = d.expGap(cfg.SpineDownEvery)
		d.downEnd = d.downStart + uint64(cfg.SpineDownFor)
		d.downSpine = d.rng.intn(cfg.Spines)
	}
	return d, nil
}

// Config returns the configuration with defaults filled in.
func (d *Domain) Config() DomainConfig { return d.cfg }

func (d *Domain) makeFlows() {
	c := &d.cfg
	hosts := len(d.Topo.Hosts)
	dscps := [...]uint8{0, 0, 10, 18, 26, 46}
	for range c.Flows {
		f := Flow{Src: d.rng.intn(hosts)}
		f.Dst = d.rng.intn(hosts)
		// Mostly across the fabric; a flow inside one leaf when there is
		// only one leaf, or now and then.
		for tries := 0; tries < 8 && c.Leaves > 1 && d.Topo.Hosts[f.Dst].Leaf == d.Topo.Hosts[f.Src].Leaf && d.rng.intn(10) != 0; tries++ {
			f.Dst = d.rng.intn(hosts)
		}
		if f.Dst == f.Src {
			f.Dst = (f.Src + 1) % hosts
		}
		v6 := d.rng.float() < c.IPv6Share
		if v6 {
			f.SrcAddr, f.DstAddr = d.Topo.Hosts[f.Src].Addr6, d.Topo.Hosts[f.Dst].Addr6
		} else {
			f.SrcAddr, f.DstAddr = d.Topo.Hosts[f.Src].Addr, d.Topo.Hosts[f.Dst].Addr
		}
		switch x := d.rng.float(); {
		case x < c.ICMPShare:
			f.Proto = 1
			if v6 {
				f.Proto = 58
			}
			f.SrcPort = uint16(d.rng.next()) // ICMP echo identifier
		case x < c.ICMPShare+c.UDPShare:
			f.Proto = 17
			f.SrcPort = uint16(32768 + d.rng.intn(28000))
			f.DstPort = [...]uint16{53, 123, 4789, 5201, 9000}[d.rng.intn(5)]
		default:
			f.Proto = 6
			f.SrcPort = uint16(32768 + d.rng.intn(28000))
			f.DstPort = [...]uint16{443, 80, 22, 5432, 8080, 9092}[d.rng.intn(6)]
			f.TCPOptions = d.rng.intn(2) == 0
		}
		f.DSCP = dscps[d.rng.intn(len(dscps))] &^ c.INTDSCPMask
		f.Watched = d.rng.float() < c.WatchShare
		f.ipid = uint16(d.rng.next())
		f.seq = uint32(d.rng.next())
		d.Flows = append(d.Flows, f)
	}
}

func (d *Domain) expGap(mean time.Duration) uint64 {
	return uint64(-math.Log(1-d.rng.float()) * float64(mean))
}

// Clock is the switches' 32-bit nanosecond time at simulated time t (ns
// since the start).
func (d *Domain) Clock(t uint64) uint32 { return uint32(d.clockBase + t) }

// ecmpHash is the fabric's hash of the inner five-tuple: the same flow
// always takes the same spine while the set of spines stays the same.
func (d *Domain) ecmpHash(f *Flow) uint64 {
	h := uint64(14695981039346656037) ^ d.cfg.Seed
	mix := func(b []byte) {
		for _, c := range b {
			h ^= uint64(c)
			h *= 1099511628211
		}
	}
	s, t := f.SrcAddr.As16(), f.DstAddr.As16()
	mix(s[:])
	mix(t[:])
	mix([]byte{f.Proto, byte(f.SrcPort >> 8), byte(f.SrcPort), byte(f.DstPort >> 8), byte(f.DstPort)})
	return h
}

// SpineFor is the spine (0-based) flow i takes at simulated time t, or -1
// when source and destination share a leaf.
func (d *Domain) SpineFor(i int, t uint64) int {
	f := &d.Flows[i]
	if d.Topo.Hosts[f.Src].Leaf == d.Topo.Hosts[f.Dst].Leaf {
		return -1
	}
	d.advanceSpineDown(t)
	h := d.ecmpHash(f)
	n := uint64(d.cfg.Spines)
	s := int(h % n)
	if d.downSpine >= 0 && s == d.downSpine && t >= d.downStart && t < d.downEnd {
		// Resilient hashing: only the flows of the missing spine move.
		s = int(h / n % (n - 1))
		if s >= d.downSpine {
			s++
		}
	}
	return s
}

func (d *Domain) advanceSpineDown(t uint64) {
	for d.downSpine >= 0 && t >= d.downEnd {
		d.downStart = d.downEnd + d.expGap(d.cfg.SpineDownEvery)
		d.downEnd = d.downStart + uint64(d.cfg.SpineDownFor)
		d.downSpine = d.rng.intn(d.cfg.Spines)
	}
}

// occupancy is the egress queue depth in cells of port on switch sw at t.
func (d *Domain) occupancy(sw int, port uint16, t uint64) (occ uint32, q *queue) {
	q = &d.queues[sw][port]
	base := uint32(d.rng.intn(24))
	if d.cfg.CongestionEvery < 0 {
		return base, q
	}
	if t >= q.end {
		q.start = t + d.expGap(d.cfg.CongestionEvery)
		dur := uint64(float64(d.cfg.CongestionFor) * (0.5 + d.rng.float()))
		q.end = q.start + max(dur, 1)
		lo, hi := float64(d.cfg.QueueThreshold)*0.8, float64(d.cfg.QueueLimit)*1.2
		q.peak = uint32(lo + d.rng.float()*(hi-lo))
		q.quota = d.cfg.QueueQuota
	}
	if t < q.start {
		return base, q
	}
	frac := float64(t-q.start) / float64(q.end-q.start)
	shape := min(1, frac/0.25, (1-frac)/0.25)
	return base + uint32(float64(q.peak)*shape), q
}

// pathHop is where a packet enters and leaves one switch.
type pathHop struct {
	sw      int
	in, out uint16
	prevMAC [6]byte
}

func (d *Domain) path(fi int, t uint64, hops *[3]pathHop) int {
	f := &d.Flows[fi]
	src, dst := &d.Topo.Hosts[f.Src], &d.Topo.Hosts[f.Dst]
	s := d.SpineFor(fi, t)
	if s < 0 {
		hops[0] = pathHop{sw: src.Leaf, in: src.Port, out: dst.Port, prevMAC: src.MAC}
		return 1
	}
	spine := &d.Topo.Switches[s]
	srcLeaf := &d.Topo.Switches[src.Leaf]
	hops[0] = pathHop{sw: src.Leaf, in: src.Port, out: d.Topo.UplinkPort(s), prevMAC: src.MAC}
	hops[1] = pathHop{sw: s, in: d.Topo.SpinePort(src.Leaf), out: d.Topo.SpinePort(dst.Leaf), prevMAC: srcLeaf.MAC}
	hops[2] = pathHop{sw: dst.Leaf, in: d.Topo.UplinkPort(s), out: dst.Port, prevMAC: spine.MAC}
	return 3
}

// Lost is the number of reports generated and lost on purpose so far
// (their sequence numbers skipped).
func (d *Domain) Lost() uint64 { return d.lost }

// Packets is the number of packets simulated so far.
func (d *Domain) Packets() uint64 { return d.packets }

// Packet simulates one packet of a random flow entering the fabric at
// simulated time t (ns since the start) and returns the reports the
// switches send for it, in the order they send them. The slice and its
// reports are reused by the next call.
func (d *Domain) Packet(t uint64) []Report {
	return d.PacketOf(d.rng.intn(len(d.Flows)), t)
}

// PacketOf is Packet for flow fi.
func (d *Domain) PacketOf(fi int, t uint64) []Report {
	c := &d.cfg
	d.out = d.out[:0]
	d.packets++
	f := &d.Flows[fi]
	var hops [3]pathHop
	n := d.path(fi, t, &hops)

	payload := 64 + d.rng.intn(1400)
	p := Packet{
		Src: f.SrcAddr, Dst: f.DstAddr, Proto: f.Proto, DSCP: f.DSCP, TTL: 64, IPID: f.ipid,
		SrcPort: f.SrcPort, DstPort: f.DstPort, TCPSeq: f.seq, TCPOptions: f.TCPOptions, PayloadLen: payload,
	}
	if f.Proto == 1 || f.Proto == 58 {
		p.ICMPType = 8
		if f.Proto == 58 {
			p.ICMPType = 128
		}
		p.ICMPID, p.ICMPSeq = f.SrcPort, f.ipid
		p.SrcPort, p.DstPort = 0, 0
	}
	f.ipid++
	f.seq += uint32(payload)

	carriesINT := c.Mode == ModeINT && f.Watched && (f.Proto == 6 || f.Proto == 17)
	var stack INT
	// Where the packet is dropped, if at all: a tail drop at a full queue
	// or, rarely, one of the other reasons at a random hop.
	dropAt, reason := -1, uint8(0)
	if c.DropRate > 0 && d.rng.float() < c.DropRate {
		dropAt, reason = d.rng.intn(n), randomDropReasons[d.rng.intn(len(randomDropReasons))]
	}
	qid := f.DSCP >> 3
	cur := t
	for i := range n {
		ph := &hops[i]
		sw := &d.Topo.Switches[ph.sw]
		in := p
		in.TTL = 64 - uint8(i)
		in.SrcMAC, in.DstMAC = ph.prevMAC, sw.MAC
		occ, q := d.occupancy(ph.sw, ph.out, cur)
		if occ >= c.QueueLimit && dropAt < 0 {
			dropAt, reason = i, DropQueueFull
		}
		var lat uint32
		if sw.Role == Spine {
			lat = 480
		} else {
			lat = 760
		}
		lat += uint32(d.rng.intn(64)) + min(occ, c.QueueLimit)*c.CellNs
		h := Hop{
			SwitchID: sw.ID, IngressPort: ph.in, EgressPort: ph.out, HopLatency: lat,
			QueueID: qid, QueueOccupancy: min(occ, 0xffffff),
			IngressTS: d.Clock(cur), EgressTS: d.Clock(cur + uint64(lat)),
			CongestionPct: min(100, occ*100/c.QueueLimit),
		}
		if sw.Role == Spine {
			h.TxUtil = Unavailable // this spine's ASIC does not measure it
		} else {
			h.TxUtil = min(10000, 1500+occ*4) // hundredths of a percent
		}
		hw := sw.hwIDOf(ph.in)

		if i == dropAt {
			r := d.report(KindDrop, sw, hw, &h, &in, fi)
			r.Reason = reason
			if carriesINT && stack.Hops > 0 {
				d.markINT(r, &stack, f)
			}
			break
		}
		if occ >= c.QueueThreshold && q.quota > 0 {
			q.quota--
			d.report(KindQueue, sw, hw, &h, &in, fi)
		}
		if carriesINT {
			if stack.Hops < int(c.Encoding.MaxHopCount) && stack.Hops < MaxHops {
				stack.Stack[stack.Hops] = h
				stack.Hops++
			}
		}
		switch {
		case c.Mode == ModePostcard && f.Watched:
			d.report(KindPostcard, sw, hw, &h, &in, fi)
		case c.Mode == ModeINT && f.Watched && !carriesINT && (i == 0 || i == n-1):
			// No INT after ICMP: the source and the sink report locally.
			d.report(KindLocal, sw, hw, &h, &in, fi)
		case carriesINT && i == n-1:
			r := d.report(KindINT, sw, hw, &h, &in, fi)
			r.Local = Hop{}
			d.markINT(r, &stack, f)
			if n > 1 && !c.NoSinkLocal {
				d.report(KindLocal, sw, hw, &h, &in, fi)
			}
		}
		cur += uint64(lat) + 150 + uint64(d.rng.intn(40)) // link: serialisation and cable
	}
	// Loss: the switch used the sequence number, the collector never gets
	// the report.
	if c.LossRate > 0 {
		kept := d.out[:0]
		for _, r := range d.out {
			if d.rng.float() < c.LossRate {
				d.lost++
				continue
			}
			kept = append(kept, r)
		}
		d.out = kept
	}
	return d.out
}

// markINT puts the INT header as it is on the wire into r's copy of the
// packet: the marker in the DSCP or destination port, the stack so far.
func (d *Domain) markINT(r *Report, stack *INT, f *Flow) {
	c := &d.cfg
	r.INT = *stack
	r.INT.OrigDSCP = f.DSCP
	r.INT.OrigPort = f.DstPort
	if c.INTPort != 0 {
		r.Packet.DstPort = c.INTPort
	} else {
		r.Packet.DSCP = f.DSCP&^c.INTDSCPMask | c.INTDSCP
	}
}

func (d *Domain) report(k Kind, sw *Switch, hw uint8, h *Hop, p *Packet, fi int) *Report {
	d.out = append(d.out, Report{})
	r := &d.out[len(d.out)-1]
	slot := sw.Index*d.hwMax + int(hw)
	r.Kind = k
	r.Switch = sw.Index
	r.SwitchID = sw.ID
	r.HwID = hw
	r.Seq = d.seq[slot]
	d.seq[slot]++
	r.IngressTS = h.IngressTS
	r.Local = *h
	r.Packet = *p
	r.PacketNo = d.packets
	r.Flow = fi
	return r
}
