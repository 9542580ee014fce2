package intsim

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"net/netip"
)

// The encoder here is written from the published layouts
// (/work/shared/reference/protocols.md section 3), independently of
// pkg/decode/intreport, so that a decoder that gets a layout wrong fails
// against the simulator instead of agreeing with itself.

var be = binary.BigEndian

// Version of the telemetry report and INT headers.
type Version uint8

const (
	V05 Version = 0 // report v0.5 (12-byte fixed header), INT v0.5 with tail
	V10 Version = 1 // report v1.0 (switch id, RepMdBits), INT v1.0 (HopML), no tail
)

func (v Version) String() string {
	if v == V10 {
		return "1.0"
	}
	return "0.5"
}

// Instruction bits of the INT metadata header (bit 0 is the MSB).
const (
	InsSwitchID   uint16 = 0x8000
	InsPorts      uint16 = 0x4000
	InsHopLatency uint16 = 0x2000
	InsQueue      uint16 = 0x1000
	InsIngressTS  uint16 = 0x0800
	InsEgressTS   uint16 = 0x0400
	InsBit6       uint16 = 0x0200 // v0.5 queue id + congestion; v1.0 level-2 ports, 8 octets
	InsTxUtil     uint16 = 0x0100
	InsChecksum   uint16 = 0x0001 // v1.0 only: checksum complement, always last

	// DefaultInstructions is what the Nexus record collects by default plus
	// the hop latency: switch id, ports, hop latency, queue, both timestamps.
	DefaultInstructions = InsSwitchID | InsPorts | InsHopLatency | InsQueue | InsIngressTS | InsEgressTS
)

// v1.0 RepMdBits (bit 0 is the MSB of the 6-bit field).
const (
	mdPorts      uint8 = 0x20
	mdHopLatency uint8 = 0x10
	mdQueue      uint8 = 0x08
	mdEgressTS   uint8 = 0x04
	mdDrop       uint8 = 0x02
	mdTxUtil     uint8 = 0x01
)

// Unavailable is the value a hop writes for an item it cannot measure.
const Unavailable uint32 = 0xFFFFFFFF

// MaxHops bounds the INT stack a report carries.
const MaxHops = 16

// MaxReportLen bounds one encoded report (outer UDP payload).
const MaxReportLen = 1024

// Kind of report.
type Kind uint8

const (
	KindLocal    Kind = iota // local flow report (switch-local header, F)
	KindINT                  // INT report from the sink, the whole stack embedded
	KindPostcard             // postcard: a switch's own hop (switch-local header, F)
	KindDrop                 // drop report (drop header, D)
	KindQueue                // queue congestion report (switch-local header, Q)
	numKinds
)

var kindNames = [numKinds]string{"local", "int", "postcard", "drop", "queue"}

func (k Kind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Hop is one switch's metadata for one packet.
type Hop struct {
	SwitchID                uint32
	IngressPort, EgressPort uint16
	HopLatency              uint32 // ns; Unavailable allowed
	QueueID                 uint8
	QueueOccupancy          uint32 // cells, 24 bits
	IngressTS, EgressTS     uint32 // ns, device-local, wrap at 2^32
	TxUtil                  uint32 // Unavailable allowed
	CongestionPct           uint32 // v0.5 bit 6: share of the queue limit in use, 0..100
}

// Packet is the inner (original) packet as the reporting switch saw it.
type Packet struct {
	SrcMAC, DstMAC   [6]byte
	Src, Dst         netip.Addr
	Proto            uint8 // 6, 17, 1 or 58
	DSCP             uint8 // as on the wire (INT marker included when INT is carried)
	TTL              uint8
	IPID             uint16
	SrcPort, DstPort uint16 // on the wire (the INT port marker replaces DstPort)
	TCPSeq           uint32
	TCPOptions       bool // 12 octets of options (NOP, NOP, timestamps) before any INT shim
	ICMPType         uint8
	ICMPID, ICMPSeq  uint16
	PayloadLen       int // L4 payload of the original packet (not copied into the report)
}

// INT is the INT header a packet carries in the report's copy.
type INT struct {
	Hops     int          // 0: no INT header
	Stack    [MaxHops]Hop // path order: Stack[0] is the source's hop
	OrigDSCP uint8        // v0.5 tail / v1.0 shim
	OrigPort uint16       // v0.5 tail: the original destination port
}

// Report is one telemetry report before encoding.
type Report struct {
	Kind      Kind
	Switch    int // index in the domain
	SwitchID  uint32
	HwID      uint8
	Seq       uint32
	IngressTS uint32
	Local     Hop   // the reporting switch's own metadata (drop, local, postcard, queue)
	Reason    uint8 // drop reason
	Packet    Packet
	INT       INT
	PacketNo  uint64 // the simulated packet this report is about
	Flow      int    // index of the flow
}

// Encoding is what every switch of a domain agrees on.
type Encoding struct {
	Version      Version
	Instructions uint16
	MaxHopCount  uint8
	// InnerIP (v1.0 only): the report carries the inner packet from its IP
	// header (NProt 1 or 2) instead of from Ethernet (NProt 0).
	InnerIP bool
}

// ErrInstructions reports a bitmap the version cannot carry.
var ErrInstructions = errors.New("intsim: instruction bitmap")

// Check validates the encoding.
func (e *Encoding) Check() error {
	allowed := uint16(0xFF00)
	if e.Version == V10 {
		allowed |= InsChecksum
	}
	if e.Version != V05 && e.Version != V10 {
		return fmt.Errorf("intsim: version %d: want 0 (v0.5) or 1 (v1.0)", e.Version)
	}
	if e.Instructions&^allowed != 0 {
		return fmt.Errorf("%w %#04x: bits %#04x are reserved in v%s", ErrInstructions, e.Instructions, e.Instructions&^allowed, e.Version)
	}
	if e.Instructions == 0 {
		return fmt.Errorf("%w: empty", ErrInstructions)
	}
	if e.InnerIP && e.Version != V10 {
		return errors.New("intsim: inner packets without Ethernet need report v1.0")
	}
	return nil
}

// HopWords is the per-hop metadata length in 4-octet words.
func (e *Encoding) HopWords() int {
	w := bits.OnesCount16(e.Instructions)
	if e.Version == V10 && e.Instructions&InsBit6 != 0 {
		w++
	}
	return w
}

// INTLen is the length of the INT header (shim, metadata header, stack and
// the v0.5 tail) for a stack of hops.
func (e *Encoding) INTLen(hops int) int {
	n := 4 + 8 + hops*e.HopWords()*4
	if e.Version == V05 {
		n += 4
	}
	return n
}

// AppendReport appends r, encoded, to b. It does not allocate when b has
// MaxReportLen octets of room.
func (e *Encoding) AppendReport(b []byte, r *Report) []byte {
	if e.Version == V10 {
		return e.appendV10(b, r)
	}
	return e.appendV05(b, r)
}

func flags(r *Report) (d, q, f bool) {
	switch r.Kind {
	case KindDrop:
		return true, false, r.INT.Hops > 0
	case KindQueue:
		return false, true, false
	}
	return false, false, true
}

func (e *Encoding) appendV05(b []byte, r *Report) []byte {
	var nproto byte
	switch r.Kind {
	case KindDrop:
		nproto = 1
	case KindLocal, KindPostcard, KindQueue:
		nproto = 2
	}
	d, q, f := flags(r)
	var fl byte
	if d {
		fl |= 0x80
	}
	if q {
		fl |= 0x40
	}
	if f {
		fl |= 0x20
	}
	b = append(b, 0<<4|nproto, fl, 0, r.HwID&0x3f)
	b = be.AppendUint32(b, r.Seq)
	b = be.AppendUint32(b, r.IngressTS)
	h := &r.Local
	switch nproto {
	case 1:
		b = be.AppendUint32(b, r.SwitchID)
		b = be.AppendUint16(b, h.IngressPort)
		b = be.AppendUint16(b, h.EgressPort)
		b = append(b, h.QueueID, r.Reason, 0, 0)
	case 2:
		b = be.AppendUint32(b, r.SwitchID)
		b = be.AppendUint16(b, h.IngressPort)
		b = be.AppendUint16(b, h.EgressPort)
		b = be.AppendUint32(b, uint32(h.QueueID)<<24|h.QueueOccupancy&0xffffff)
		b = be.AppendUint32(b, h.EgressTS)
	}
	return e.appendEthernet(b, r)
}

func (e *Encoding) appendV10(b []byte, r *Report) []byte {
	var md uint8
	switch r.Kind {
	case KindDrop:
		md = mdPorts | mdDrop
	case KindLocal, KindPostcard, KindQueue:
		md = mdPorts | mdHopLatency | mdQueue | mdEgressTS
	}
	var nprot uint16
	if e.InnerIP {
		nprot = 1
		if r.Packet.Src.Is6() {
			nprot = 2
		}
	}
	d, q, f := flags(r)
	words := 4 + bits.OnesCount8(md)
	mid := nprot<<13 | uint16(md)<<7
	if d {
		mid |= 1
	}
	b3 := r.HwID & 0x3f
	if q {
		b3 |= 0x80
	}
	if f {
		b3 |= 0x40
	}
	b = append(b, 1<<4|byte(words))
	b = be.AppendUint16(b, mid)
	b = append(b, b3)
	b = be.AppendUint32(b, r.SwitchID)
	b = be.AppendUint32(b, r.Seq)
	b = be.AppendUint32(b, r.IngressTS)
	h := &r.Local
	if md&mdPorts != 0 {
		b = be.AppendUint16(b, h.IngressPort)
		b = be.AppendUint16(b, h.EgressPort)
	}
	if md&mdHopLatency != 0 {
		b = be.AppendUint32(b, h.HopLatency)
	}
	if md&mdQueue != 0 {
		b = be.AppendUint32(b, uint32(h.QueueID)<<24|h.QueueOccupancy&0xffffff)
	}
	if md&mdEgressTS != 0 {
		b = be.AppendUint32(b, h.EgressTS)
	}
	if md&mdDrop != 0 {
		b = append(b, h.QueueID, r.Reason, 0, 0)
	}
	if e.InnerIP {
		return e.appendIP(b, r)
	}
	return e.appendEthernet(b, r)
}

func (e *Encoding) appendEthernet(b []byte, r *Report) []byte {
	p := &r.Packet
	b = append(b, p.DstMAC[:]...)
	b = append(b, p.SrcMAC[:]...)
	if p.Src.Is6() {
		b = append(b, 0x86, 0xdd)
	} else {
		b = append(b, 0x08, 0x00)
	}
	return e.appendIP(b, r)
}

// l4Len is the L4 header length (options included) of p.
func l4Len(p *Packet) int {
	switch p.Proto {
	case 6:
		if p.TCPOptions {
			return 32
		}
		return 20
	case 17:
		return 8
	}
	return 8 // ICMP echo header
}

func (e *Encoding) appendIP(b []byte, r *Report) []byte {
	p := &r.Packet
	intLen := 0
	if r.INT.Hops > 0 {
		intLen = e.INTLen(r.INT.Hops)
	}
	l4 := l4Len(p) + intLen + p.PayloadLen
	if p.Src.Is6() {
		// version 6, traffic class = DSCP<<2, flow label from the ports
		w := 6<<28 | uint32(p.DSCP)<<22 | (uint32(p.SrcPort)^uint32(p.DstPort)<<4)&0xfffff
		b = be.AppendUint32(b, w)
		b = be.AppendUint16(b, uint16(l4))
		b = append(b, p.Proto, p.TTL)
		s, d := p.Src.As16(), p.Dst.As16()
		b = append(b, s[:]...)
		b = append(b, d[:]...)
	} else {
		start := len(b)
		b = append(b, 0x45, p.DSCP<<2)
		b = be.AppendUint16(b, uint16(20+l4))
		b = be.AppendUint16(b, p.IPID)
		b = append(b, 0x40, 0, p.TTL, p.Proto, 0, 0) // DF, checksum below
		s, d := p.Src.As4(), p.Dst.As4()
		b = append(b, s[:]...)
		b = append(b, d[:]...)
		be.PutUint16(b[start+10:], ipChecksum(b[start:start+20]))
	}
	switch p.Proto {
	case 6:
		b = be.AppendUint16(b, p.SrcPort)
		b = be.AppendUint16(b, p.DstPort)
		b = be.AppendUint32(b, p.TCPSeq)
		b = be.AppendUint32(b, 0) // ack
		off := byte(5)
		if p.TCPOptions {
			off = 8
		}
		b = append(b, off<<4, 0x10) // ACK
		b = be.AppendUint16(b, 64240)
		b = append(b, 0, 0, 0, 0) // checksum (the copy is truncated: not checkable), urgent
		if p.TCPOptions {
			b = append(b, 1, 1, 8, 10)
			b = be.AppendUint32(b, p.TCPSeq^0x5a5a5a5a)
			b = be.AppendUint32(b, 0)
		}
	case 17:
		b = be.AppendUint16(b, p.SrcPort)
		b = be.AppendUint16(b, p.DstPort)
		b = be.AppendUint16(b, uint16(l4))
		b = append(b, 0, 0)
	default: // ICMP / ICMPv6 echo: no INT after it
		b = append(b, p.ICMPType, 0, 0, 0)
		b = be.AppendUint16(b, p.ICMPID)
		b = be.AppendUint16(b, p.ICMPSeq)
		return b
	}
	if r.INT.Hops > 0 {
		b = e.appendINT(b, &r.INT, intLen, p.Proto)
	}
	return b
}

func (e *Encoding) appendINT(b []byte, t *INT, intLen int, proto uint8) []byte {
	words := e.HopWords()
	if e.Version == V05 {
		b = append(b, 1, 0, byte(intLen/4), 0)
		ins := byte(bits.OnesCount16(e.Instructions))
		b = append(b, 0<<4, ins&0x1f, e.MaxHopCount, byte(t.Hops))
	} else {
		b = append(b, 1, 0, byte(intLen/4), t.OrigDSCP<<2)
		b = append(b, 1<<4, 0, byte(words)&0x1f, e.MaxHopCount-byte(t.Hops))
	}
	b = be.AppendUint16(b, e.Instructions)
	b = append(b, 0, 0)
	// Each hop pushed its words in front of the older ones: newest first.
	for i := t.Hops - 1; i >= 0; i-- {
		b = e.appendHop(b, &t.Stack[i])
	}
	if e.Version == V05 {
		b = append(b, proto)
		b = be.AppendUint16(b, t.OrigPort)
		b = append(b, t.OrigDSCP&0x3f)
	}
	return b
}

func (e *Encoding) appendHop(b []byte, h *Hop) []byte {
	ins := e.Instructions
	if ins&InsSwitchID != 0 {
		b = be.AppendUint32(b, h.SwitchID)
	}
	if ins&InsPorts != 0 {
		b = be.AppendUint16(b, h.IngressPort)
		b = be.AppendUint16(b, h.EgressPort)
	}
	if ins&InsHopLatency != 0 {
		b = be.AppendUint32(b, h.HopLatency)
	}
	if ins&InsQueue != 0 {
		b = be.AppendUint32(b, uint32(h.QueueID)<<24|h.QueueOccupancy&0xffffff)
	}
	if ins&InsIngressTS != 0 {
		b = be.AppendUint32(b, h.IngressTS)
	}
	if ins&InsEgressTS != 0 {
		b = be.AppendUint32(b, h.EgressTS)
	}
	if ins&InsBit6 != 0 {
		if e.Version == V10 {
			// No logical (level 2) ports in this fabric.
			b = be.AppendUint32(b, Unavailable)
			b = be.AppendUint32(b, Unavailable)
		} else {
			b = be.AppendUint32(b, uint32(h.QueueID)<<24|h.CongestionPct&0xffffff)
		}
	}
	if ins&InsTxUtil != 0 {
		b = be.AppendUint32(b, h.TxUtil)
	}
	if ins&InsChecksum != 0 {
		b = be.AppendUint32(b, 0)
	}
	return b
}

func ipChecksum(h []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(h); i += 2 {
		s += uint32(h[i])<<8 | uint32(h[i+1])
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}
