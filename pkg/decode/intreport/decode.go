package intreport

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
)

var be = binary.BigEndian

const unavailable = 0xFFFFFFFF

// Decode decodes one telemetry report (the UDP payload, starting at the
// report's fixed header) into r, overwriting it. On error the error is an
// *Error (see Error for its lifetime) and r holds what was decoded before
// the failing header, the rest zero: with unknown_l4 or bad_ethertype, for
// instance, the report header and the inner addresses are still there for
// a caller that wants to count the report by switch.
func (d *Decoder) Decode(b []byte, r *Report) error {
	n := r.INT.HopCount
	if n < 0 || n > HopLimit {
		n = HopLimit
	}
	clear(r.Hops[:n])
	r.Header = Header{}
	r.Inner = Packet{}
	r.INT = INT{}

	if len(b) < 1 {
		return d.fail(ReasonTruncated, 0, 0)
	}
	switch b[0] >> 4 {
	case V05:
		return d.decodeV05(b, r)
	case V10:
		return d.decodeV10(b, r)
	}
	return d.fail(ReasonBadVersion, 0, int(b[0]>>4))
}

func (d *Decoder) fail(reason string, off, val int) error {
	d.err = Error{Reason: reason, Offset: off, Value: val}
	return &d.err
}

func (d *Decoder) decodeV05(b []byte, r *Report) error {
	if len(b) < 12 {
		return d.fail(ReasonTruncated, 0, len(b))
	}
	h := &r.Header
	h.Version = V05
	h.NProto = b[0] & 0x0f
	h.Dropped = b[1]&0x80 != 0
	h.Congested = b[1]&0x40 != 0
	h.Tracked = b[1]&0x20 != 0
	h.HwID = b[3] & 0x3f
	h.Seq = be.Uint32(b[4:])
	h.IngressTS = be.Uint32(b[8:])
	off := 12
	drop := false
	switch h.NProto {
	case 0:
	case 1: // drop header, 12 octets
		if len(b) < off+12 {
			return d.fail(ReasonTruncated, off, len(b))
		}
		h.HasSwitchID = true
		h.SwitchID = be.Uint32(b[off:])
		h.IngressPort = be.Uint16(b[off+4:])
		h.EgressPort = be.Uint16(b[off+6:])
		h.QueueID = b[off+8]
		h.DropReason = b[off+9]
		h.Md = MdPorts | MdDrop
		drop = true
		off += 12
	case 2: // switch-local header, 16 octets
		if len(b) < off+16 {
			return d.fail(ReasonTruncated, off, len(b))
		}
		h.HasSwitchID = true
		h.SwitchID = be.Uint32(b[off:])
		h.IngressPort = be.Uint16(b[off+4:])
		h.EgressPort = be.Uint16(b[off+6:])
		h.QueueID = b[off+8]
		h.QueueOccupancy = be.Uint32(b[off+8:]) & 0xffffff
		h.EgressTS = be.Uint32(b[off+12:])
		h.Md = MdPorts | MdQueue | MdEgressTS
		off += 16
	default:
		return d.fail(ReasonBadNProto, 0, int(h.NProto))
	}
	h.Kind = kindOf(h, drop)
	return d.decodeEthernet(b, off, r)
}

func kindOf(h *Header, drop bool) Kind {
	switch {
	case drop || h.Dropped:
		return KindDrop
	case h.Congested:
		return KindQueue
	}
	return KindFlow
}

func (d *Decoder) decodeV10(b []byte, r *Report) error {
	if len(b) < 16 {
		return d.fail(ReasonTruncated, 0, len(b))
	}
	h := &r.Header
	h.Version = V10
	words := int(b[0] & 0x0f)
	mid := be.Uint16(b[1:])
	h.NProto = uint8(mid >> 13)
	h.RepMdBits = uint8(mid>>7) & 0x3f
	h.Dropped = mid&1 != 0
	h.Congested = b[3]&0x80 != 0
	h.Tracked = b[3]&0x40 != 0
	h.HwID = b[3] & 0x3f
	h.HasSwitchID = true
	h.SwitchID = be.Uint32(b[4:])
	h.Seq = be.Uint32(b[8:])
	h.IngressTS = be.Uint32(b[12:])
	// Len is kept but not trusted: implementations disagree on what it
	// counts (scapy layers in the wild default it to 1 or 4 whatever the
	// optional words), so RepMdBits alone says where the inner packet starts.
	h.Len = uint8(words)
	if need := 16 + 4*bits.OnesCount8(h.RepMdBits); len(b) < need {
		return d.fail(ReasonTruncated, 16, len(b))
	}
	off := 16
	drop := false
	for i := range 6 {
		if h.RepMdBits&(0x20>>i) == 0 {
			continue
		}
		w := b[off:]
		switch i {
		case 0:
			h.IngressPort = be.Uint16(w)
			h.EgressPort = be.Uint16(w[2:])
		case 1:
			h.HopLatency = be.Uint32(w)
		case 2:
			h.QueueID = w[0]
			h.QueueOccupancy = be.Uint32(w) & 0xffffff
		case 3:
			h.EgressTS = be.Uint32(w)
		case 4:
			h.QueueID = w[0]
			h.DropReason = w[1]
			drop = true
		case 5:
			h.TxUtil = be.Uint32(w)
		}
		h.Md |= 1 << i
		off += 4
	}
	h.Kind = kindOf(h, drop)
	switch h.NProto {
	case 0:
		return d.decodeEthernet(b, off, r)
	case 1:
		return d.decodeIPv4(b, off, len(b), r)
	case 2:
		return d.decodeIPv6(b, off, len(b), r)
	}
	return d.fail(ReasonBadNProto, 1, int(h.NProto))
}

func (d *Decoder) decodeEthernet(b []byte, off int, r *Report) error {
	p := &r.Inner
	if len(b) < off+14 {
		return d.fail(ReasonTruncated, off, len(b))
	}
	p.HasEthernet = true
	copy(p.DstMAC[:], b[off:off+6])
	copy(p.SrcMAC[:], b[off+6:off+12])
	et := be.Uint16(b[off+12:])
	off += 14
	for et == 0x8100 || et == 0x88a8 {
		if p.NVLAN == 2 {
			return d.fail(ReasonTooManyVLANs, off-2, int(et))
		}
		if len(b) < off+4 {
			return d.fail(ReasonTruncated, off, len(b))
		}
		p.VLAN[p.NVLAN] = be.Uint16(b[off:]) & 0x0fff
		p.NVLAN++
		et = be.Uint16(b[off+2:])
		off += 4
	}
	p.EtherType = et
	switch et {
	case 0x0800:
		return d.decodeIPv4(b, off, len(b), r)
	case 0x86dd:
		return d.decodeIPv6(b, off, len(b), r)
	}
	return d.fail(ReasonBadEtherType, off-2, int(et))
}

func (d *Decoder) decodeIPv4(b []byte, off, end int, r *Report) error {
	p := &r.Inner
	if end < off+20 {
		return d.fail(ReasonTruncated, off, end)
	}
	if b[off]>>4 != 4 {
		return d.fail(ReasonBadEtherType, off, int(b[off]>>4))
	}
	ihl := int(b[off]&0x0f) * 4
	total := int(be.Uint16(b[off+2:]))
	if ihl < 20 || total < ihl {
		return d.fail(ReasonBadIP, off, ihl)
	}
	if end < off+ihl {
		return d.fail(ReasonTruncated, off, end)
	}
	// The copy may be cut short by the switch, never longer than the
	// packet: the IP length bounds what follows (the INT stack included).
	end = min(end, off+total)
	p.IPVersion = 4
	p.DSCP = b[off+1] >> 2
	p.ECN = b[off+1] & 3
	p.IPID = be.Uint16(b[off+4:])
	p.Fragment = be.Uint16(b[off+6:])&0x1fff != 0
	p.TTL = b[off+8]
	p.Protocol = b[off+9]
	p.Src = netip.AddrFrom4([4]byte(b[off+12 : off+16]))
	p.Dst = netip.AddrFrom4([4]byte(b[off+16 : off+20]))
	if p.Fragment {
		return nil
	}
	return d.decodeL4(b, off+ihl, end, r)
}

func (d *Decoder) decodeIPv6(b []byte, off, end int, r *Report) error {
	p := &r.Inner
	if end < off+40 {
		return d.fail(ReasonTruncated, off, end)
	}
	if b[off]>>4 != 6 {
		return d.fail(ReasonBadEtherType, off, int(b[off]>>4))
	}
	w := be.Uint32(b[off:])
	p.IPVersion = 6
	p.DSCP = uint8(w>>22) & 0x3f
	p.ECN = uint8(w>>20) & 3
	p.FlowLabel = w & 0xfffff
	end = min(end, off+40+int(be.Uint16(b[off+4:])))
	p.Protocol = b[off+6]
	p.TTL = b[off+7]
	p.Src = netip.AddrFrom16([16]byte(b[off+8 : off+24]))
	p.Dst = netip.AddrFrom16([16]byte(b[off+24 : off+40]))
	return d.decodeL4(b, off+40, end, r)
}

func (d *Decoder) decodeL4(b []byte, off, end int, r *Report) error {
	p := &r.Inner
	switch p.Protocol {
	case ProtoTCP:
		if end < off+20 {
			return d.fail(ReasonTruncated, off, end)
		}
		p.SrcPort = be.Uint16(b[off:])
		p.DstPort = be.Uint16(b[off+2:])
		p.TCPSeq = be.Uint32(b[off+4:])
		doff := int(b[off+12]>>4) * 4
		p.TCPFlags = b[off+13]
		if doff < 20 {
			return d.fail(ReasonBadTCP, off+12, doff)
		}
		if end < off+doff {
			return d.fail(ReasonTruncated, off, end)
		}
		off += doff
	case ProtoUDP:
		if end < off+8 {
			return d.fail(ReasonTruncated, off, end)
		}
		p.SrcPort = be.Uint16(b[off:])
		p.DstPort = be.Uint16(b[off+2:])
		off += 8
	case ProtoICMP, ProtoICMPv6:
		if end < off+4 {
			return d.fail(ReasonTruncated, off, end)
		}
		p.ICMPType = b[off]
		p.ICMPCode = b[off+1]
		return nil
	default:
		return d.fail(ReasonUnknownL4, off, int(p.Protocol))
	}
	byDSCP, byPort := d.marked(p)
	if !byDSCP && !byPort {
		return nil
	}
	r.INT.ByDSCP, r.INT.ByPort = byDSCP, byPort
	if r.Header.Version == V05 {
		return d.decodeINT05(b, off, end, r)
	}
	return d.decodeINT10(b, off, end, r)
}

// marked says whether the inner packet carries the domain's INT marker,
// by DSCP and by destination port.
func (d *Decoder) marked(p *Packet) (byDSCP, byPort bool) {
	if m := d.o.INTDSCPMask; m != 0 && p.DSCP&m == d.o.INTDSCP&m {
		byDSCP = true
	}
	for _, port := range d.o.INTPorts {
		if p.DstPort == port {
			byPort = true
			break
		}
	}
	return byDSCP, byPort
}

// shim reads the 4-byte shim common to both versions and checks that the
// length it claims (at least min words) fits the packet.
func (d *Decoder) shim(b []byte, off, end, minWords int, r *Report) (int, error) {
	if end < off+4 {
		return 0, d.fail(ReasonTruncated, off, end)
	}
	t := &r.INT
	t.Present = true
	t.Offset = off
	t.ShimType = b[off]
	t.ShimLen = b[off+2]
	if t.ShimType != 1 && t.ShimType != 2 {
		return 0, d.fail(ReasonBadShim, off, int(t.ShimType))
	}
	n := int(t.ShimLen) * 4
	if int(t.ShimLen) < minWords {
		return 0, d.fail(ReasonBadShim, off+2, int(t.ShimLen))
	}
	if end < off+n {
		return 0, d.fail(ReasonShimOverrun, off+2, int(t.ShimLen))
	}
	return n, nil
}

func (d *Decoder) decodeINT05(b []byte, off, end int, r *Report) error {
	// shim + metadata header + tail, and no hop at all
	n, err := d.shim(b, off, end, 4, r)
	if err != nil {
		return err
	}
	t := &r.INT
	m := off + 4
	t.Version = b[m] >> 4
	if t.Version != 0 {
		return d.fail(ReasonBadINTVersion, m, int(t.Version))
	}
	t.Rep = b[m] >> 2 & 3
	t.Copy = b[m]&2 != 0
	t.MaxHopExceeded = b[m]&1 != 0
	t.HopWords = b[m+1] & 0x1f
	t.MaxHopCnt = b[m+2]
	t.TotalHopCnt = b[m+3]
	t.Instructions = be.Uint16(b[m+4:])
	t.Items = ItemsFromBitmap(t.Instructions)
	if t.Items&^itemsV05 != 0 {
		return d.fail(ReasonBadInstruction, m+4, int(t.Instructions))
	}
	if bits.OnesCount16(t.Instructions) != int(t.HopWords) {
		return d.fail(ReasonInsCntMismatch, m+1, int(t.HopWords))
	}
	if t.TotalHopCnt > t.MaxHopCnt || int(t.TotalHopCnt) > d.maxHops {
		return d.fail(ReasonTooManyHops, m+3, int(t.TotalHopCnt))
	}
	stack := int(t.HopWords) * 4 * int(t.TotalHopCnt)
	area := n - 16
	switch {
	case stack > area:
		return d.fail(ReasonStackOverrun, m+8, stack)
	case stack < area:
		return d.fail(ReasonStackMismatch, m+8, stack)
	}
	d.hops(b[m+8:m+8+stack], int(t.TotalHopCnt), int(t.HopWords)*4, V05, r)
	tail := m + 8 + stack
	t.HasTail = true
	t.TailProto = b[tail]
	t.TailDstPort = be.Uint16(b[tail+1:])
	t.TailDSCP = b[tail+3]
	return nil
}

func (d *Decoder) decodeINT10(b []byte, off, end int, r *Report) error {
	n, err := d.shim(b, off, end, 3, r)
	if err != nil {
		return err
	}
	t := &r.INT
	t.ShimDSCP = b[off+3] >> 2
	m := off + 4
	t.Version = b[m] >> 4
	if t.Version != 1 {
		return d.fail(ReasonBadINTVersion, m, int(t.Version))
	}
	t.Rep = b[m] >> 2 & 3
	t.Copy = b[m]&2 != 0
	t.MaxHopExceeded = b[m]&1 != 0
	t.MTUExceeded = b[m+1]&0x80 != 0
	t.HopWords = b[m+2] & 0x1f
	t.RemainingHopCnt = b[m+3]
	t.Instructions = be.Uint16(b[m+4:])
	t.Items = ItemsFromBitmap(t.Instructions)
	if t.Items&^itemsV10 != 0 {
		return d.fail(ReasonBadInstruction, m+4, int(t.Instructions))
	}
	if words := hopWords10(t.Items); words != int(t.HopWords) {
		return d.fail(ReasonInsCntMismatch, m+2, int(t.HopWords))
	}
	area := n - 12
	size := int(t.HopWords) * 4
	hops := 0
	if size == 0 {
		if area != 0 {
			return d.fail(ReasonStackMismatch, m+8, area)
		}
	} else {
		if area%size != 0 {
			return d.fail(ReasonStackMismatch, m+8, area)
		}
		hops = area / size
	}
	if hops > d.maxHops {
		return d.fail(ReasonTooManyHops, m+8, hops)
	}
	d.hops(b[m+8:m+8+area], hops, size, V10, r)
	return nil
}

// hopWords10 is the per-hop length in words a v1.0 bitmap implies: one per
// item, two for the level-2 ports of bit 6.
func hopWords10(it Item) int {
	w := bits.OnesCount16(uint16(it))
	if it&ItemBit6 != 0 {
		w++
	}
	return w
}

// hops decodes count hops of size bytes each from the stack, newest first
// on the wire, into r.Hops in path order (oldest first).
func (d *Decoder) hops(stack []byte, count, size int, version uint8, r *Report) {
	items := r.INT.Items
	r.INT.HopCount = count
	for i := range count {
		h := &r.Hops[count-1-i]
		w := stack[i*size : (i+1)*size]
		for rest := items; rest != 0; rest &= rest - 1 {
			it := rest & -rest // lowest instruction bit left: wire order
			v := be.Uint32(w)
			if it == ItemBit6 && version == V10 {
				v2 := be.Uint32(w[4:])
				w = w[8:]
				if v == unavailable && v2 == unavailable {
					h.Unavailable |= it
					continue
				}
				h.Present |= it
				h.L2IngressPort, h.L2EgressPort = v, v2
				continue
			}
			w = w[4:]
			if v == unavailable {
				h.Unavailable |= it
				continue
			}
			h.Present |= it
			switch it {
			case ItemSwitchID:
				h.SwitchID = v
			case ItemPorts:
				h.IngressPort, h.EgressPort = uint16(v>>16), uint16(v)
			case ItemHopLatency:
				h.HopLatency = v
			case ItemQueue:
				h.QueueID, h.QueueOccupancy = uint8(v>>24), v&0xffffff
			case ItemIngressTS:
				h.IngressTS = v
			case ItemEgressTS:
				h.EgressTS = v
			case ItemBit6:
				h.CongestionQueue, h.Congestion = uint8(v>>24), v&0xffffff
			case ItemTxUtil:
				h.TxUtil = v
			case ItemChecksum:
				h.Checksum = v
			}
		}
	}
}
