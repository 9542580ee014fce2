// Package intreport decodes INT telemetry reports (P4.org Telemetry Report
// v0.5 and v1.0, carrying INT v0.5 or v1.0 metadata) into a normalized,
// caller-owned Report, without allocating.
//
// The input is the UDP payload of one telemetry report, starting at the
// report's fixed header. Decode is a pure function of those bytes and the
// Options: no sockets, clocks or globals. See README.md for the layouts and
// what is assumed about Cisco NX-OS.
package intreport

import (
	"net/netip"
	"strconv"
)

// HopLimit is the size of the fixed hop arrays: the most hops a Report or a
// joined Path can hold. Options.MaxHops may lower it, never raise it.
const HopLimit = 32

// Report versions, as carried in the fixed header's Ver field.
const (
	V05 = 0 // Telemetry Report v0.5 (INT v0.5 inside)
	V10 = 1 // Telemetry Report v1.0 (INT v1.0 inside)
)

// Kind is what a report tells about, derived from its headers and flags.
type Kind uint8

const (
	// KindFlow: a flow report (v0.5 NProto 0 or a switch-local header
	// without the Q flag; v1.0 without a drop reason and without Q). INT
	// reports from the sink are flow reports with Report.INT.Present.
	KindFlow Kind = iota
	// KindDrop: the D flag, a v0.5 drop header or a v1.0 drop-reason word.
	KindDrop
	// KindQueue: the Q flag (queue congestion), not dropped.
	KindQueue
)

func (k Kind) String() string {
	switch k {
	case KindFlow:
		return "flow"
	case KindDrop:
		return "drop"
	case KindQueue:
		return "queue"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Md is a set of report-level metadata items that were present in a
// report (v0.5 drop/local header, v1.0 RepMdBits words). Its bits are the
// same as the v1.0 RepMdBits order so a v1.0 header maps directly.
type Md uint8

const (
	MdPorts      Md = 1 << iota // IngressPort, EgressPort
	MdHopLatency                // HopLatency
	MdQueue                     // QueueID, QueueOccupancy
	MdEgressTS                  // EgressTS
	MdDrop                      // QueueID, DropReason
	MdTxUtil                    // TxUtil
)

// Header is the telemetry report header and the report-level metadata
// (v0.5 drop or switch-local header, v1.0 optional words).
type Header struct {
	Version uint8 // V05 or V10
	// NProto is the raw next-protocol field. v0.5: 0 Ethernet, 1 drop
	// header then Ethernet, 2 switch-local header then Ethernet. v1.0:
	// 0 Ethernet, 1 IPv4, 2 IPv6.
	NProto    uint8
	Kind      Kind
	Dropped   bool  // D
	Congested bool  // Q
	Tracked   bool  // F
	HwID      uint8 // 6 bits
	// RepMdBits is the raw v1.0 field (bit 0 = most significant of six);
	// 0 in v0.5.
	RepMdBits uint8
	// Len is the raw v1.0 header length field (not checked, see README); 0
	// in v0.5.
	Len       uint8
	Seq       uint32
	IngressTS uint32 // device-local ns, wraps every 2^32 ns

	// SwitchID is set when HasSwitchID: v1.0 always, v0.5 only with a
	// drop or switch-local header.
	HasSwitchID bool
	SwitchID    uint32

	Md             Md // which of the fields below the report carried
	IngressPort    uint16
	EgressPort     uint16
	HopLatency     uint32
	QueueID        uint8
	QueueOccupancy uint32 // 24 bits; unit is vendor-defined
	EgressTS       uint32 // device-local ns
	DropReason     uint8  // vendor-defined enum
	TxUtil         uint32
}

// Packet summarizes the inner (reported) packet's headers.
type Packet struct {
	// HasEthernet is false for v1.0 NProto 1/2, where the copy starts at IP.
	HasEthernet bool
	DstMAC      [6]byte
	SrcMAC      [6]byte
	NVLAN       uint8     // 0, 1 or 2 802.1Q/802.1ad tags
	VLAN        [2]uint16 // VLAN ids (12 bits), outer first
	EtherType   uint16    // after the tags

	IPVersion uint8 // 4 or 6
	Src, Dst  netip.Addr
	Protocol  uint8 // IPv4 protocol / IPv6 next header
	DSCP      uint8
	ECN       uint8
	TTL       uint8  // IPv4 TTL or IPv6 hop limit
	IPID      uint16 // IPv4 only
	FlowLabel uint32 // IPv6 only
	// Fragment is true for a non-first IPv4 fragment: no L4 header follows.
	Fragment bool

	SrcPort, DstPort uint16 // TCP/UDP
	TCPSeq           uint32
	TCPFlags         uint8
	ICMPType         uint8 // ICMP or ICMPv6
	ICMPCode         uint8
}

// Protocol numbers the decoder understands after IP.
const (
	ProtoICMP   = 1
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoICMPv6 = 58
)

// Item is one INT instruction, by its bitmap position: Item(1<<n) is
// instruction bit n, bit 0 being the most significant bit of the 16-bit
// instruction bitmap. A Hop's Present set uses the same bits.
type Item uint16

const (
	ItemSwitchID   Item = 1 << 0  // bit 0: switch id
	ItemPorts      Item = 1 << 1  // bit 1: ingress + egress port (16+16)
	ItemHopLatency Item = 1 << 2  // bit 2: hop latency
	ItemQueue      Item = 1 << 3  // bit 3: queue id (8) + occupancy (24)
	ItemIngressTS  Item = 1 << 4  // bit 4: ingress timestamp
	ItemEgressTS   Item = 1 << 5  // bit 5: egress timestamp
	ItemBit6       Item = 1 << 6  // bit 6: v0.5 queue id + congestion (8+24); v1.0 level-2 ports (32+32)
	ItemTxUtil     Item = 1 << 7  // bit 7: egress port tx utilization
	ItemChecksum   Item = 1 << 15 // bit 15: v1.0 checksum complement (always last)
	itemsV05       Item = 0x00ff
	itemsV10       Item = 0x80ff
)

// ItemsFromBitmap converts a wire instruction bitmap (bit 0 = MSB) to Items.
func ItemsFromBitmap(bm uint16) Item {
	var it Item
	for i := 0; i < 16; i++ {
		if bm&(0x8000>>i) != 0 {
			it |= 1 << i
		}
	}
	return it
}

// Hop is one switch's INT metadata. Present says which items it asked for
// and got; an item the switch marked unavailable (0xFFFFFFFF) is in
// Unavailable instead and its fields are zero.
type Hop struct {
	Present     Item
	Unavailable Item

	SwitchID        uint32
	IngressPort     uint16 // level 1
	EgressPort      uint16
	HopLatency      uint32
	QueueID         uint8
	QueueOccupancy  uint32 // 24 bits
	IngressTS       uint32
	EgressTS        uint32
	CongestionQueue uint8  // v0.5 bit 6: queue id
	Congestion      uint32 // v0.5 bit 6: congestion status (24 bits)
	L2IngressPort   uint32 // v1.0 bit 6
	L2EgressPort    uint32
	TxUtil          uint32
	Checksum        uint32 // v1.0 bit 15
}

// INT is the INT shim and metadata header found after the inner L4 header.
type INT struct {
	Present bool
	// ByDSCP and ByPort say which marker found it (Options).
	ByDSCP, ByPort bool
	// Offset is where the shim starts in the decoded payload.
	Offset int

	ShimType uint8 // 1 hop-by-hop, 2 destination
	ShimLen  uint8 // in 4-byte words: v0.5 counts the tail, v1.0 has none
	ShimDSCP uint8 // v1.0: the original DSCP (6 bits)

	Version        uint8 // metadata header version: 0 (v0.5) or 1 (v1.0)
	Rep            uint8
	Copy           bool
	MaxHopExceeded bool // E
	MTUExceeded    bool // M, v1.0 only

	// Instructions is the raw wire bitmap (bit 0 = MSB); Items the same
	// set as Item bits.
	Instructions uint16
	Items        Item
	// HopWords is the per-hop metadata length in 4-byte words: InsCnt in
	// v0.5 (one word per instruction), HopML in v1.0.
	HopWords uint8

	MaxHopCnt       uint8 // v0.5
	TotalHopCnt     uint8 // v0.5, counts up
	RemainingHopCnt uint8 // v1.0, counts down

	// HopCount is the number of hops in the stack, held in Report.Hops.
	HopCount int

	// Tail (v0.5 only): the original IP protocol, destination port, DSCP.
	HasTail     bool
	TailProto   uint8
	TailDstPort uint16
	TailDSCP    uint8
}

// Report is one decoded telemetry report. The zero value is ready for
// Decode, which overwrites it; only Hops[:INT.HopCount] are meaningful.
//
// Hops are in PATH ORDER: Hops[0] is the first INT switch after the source
// (the oldest entry, last on the wire), Hops[HopCount-1] the newest (first
// on the wire, normally the sink's or the last transit's).
type Report struct {
	Header Header
	Inner  Packet
	INT    INT
	Hops   [HopLimit]Hop
}

// Options configure a Decoder.
type Options struct {
	// INT presence after the inner TCP/UDP header is signalled per domain
	// by a DSCP value under a mask ((dscp & INTDSCPMask) == INTDSCP &
	// INTDSCPMask, with a non-zero mask) or by a destination port in
	// INTPorts. With neither set, inner packets are never searched for INT.
	INTDSCP, INTDSCPMask uint8
	INTPorts             []uint16
	// MaxHops rejects stacks of more hops (too_many_hops). 0 or more than
	// HopLimit means HopLimit.
	MaxHops int
}

// Decoder decodes reports with fixed Options. It holds no per-report state
// besides the last error, so one Decoder serves one goroutine.
type Decoder struct {
	o       Options
	maxHops int
	err     Error
}

// NewDecoder returns a Decoder for o. The INTPorts slice is copied.
func NewDecoder(o Options) *Decoder {
	o.INTPorts = append([]uint16(nil), o.INTPorts...)
	if o.MaxHops <= 0 || o.MaxHops > HopLimit {
		o.MaxHops = HopLimit
	}
	return &Decoder{o: o, maxHops: o.MaxHops}
}

// Error is why a report was rejected. Decode returns a pointer into the
// Decoder (so bad input allocates nothing either): it is valid until the
// next Decode; copy it to keep it.
type Error struct {
	Reason string // stable, short: the drop counter's name
	Offset int    // byte offset in the report where the problem was found
	Value  int    // the offending value, when there is one (version, count...)
}

func (e *Error) Error() string {
	return "intreport: " + e.Reason + " at offset " + strconv.Itoa(e.Offset) + " (value " + strconv.Itoa(e.Value) + ")"
}

// Reasons.
const (
	ReasonTruncated      = "truncated"        // a header runs past the end of the report
	ReasonBadVersion     = "bad_version"      // report version neither 0 (v0.5) nor 1 (v1.0)
	ReasonBadNProto      = "bad_nproto"       // next protocol not defined for the version
	ReasonBadEtherType   = "bad_ethertype"    // inner EtherType neither IPv4 nor IPv6, or IP version disagrees
	ReasonTooManyVLANs   = "too_many_vlans"   // more than two VLAN tags
	ReasonBadIP          = "bad_ip"           // IPv4 header length or total length impossible
	ReasonUnknownL4      = "unknown_l4"       // inner protocol not TCP, UDP or ICMP
	ReasonBadTCP         = "bad_tcp"          // TCP data offset below 5
	ReasonBadShim        = "bad_shim"         // shim type unknown or length below the minimum
	ReasonShimOverrun    = "shim_overrun"     // shim length runs past the inner packet
	ReasonBadINTVersion  = "bad_int_version"  // metadata header version disagrees with the report's
	ReasonBadInstruction = "bad_instruction"  // reserved instruction bit set
	ReasonInsCntMismatch = "ins_cnt_mismatch" // InsCnt / HopML disagrees with the bitmap
	ReasonTooManyHops    = "too_many_hops"    // more hops than MaxHops, or total above max hop count
	ReasonStackOverrun   = "stack_overrun"    // the stack is longer than the shim (and the packet) holds
	ReasonStackMismatch  = "stack_mismatch"   // the shim holds bytes the stack does not account for
)

var reasons = [...]string{
	ReasonTruncated, ReasonBadVersion, ReasonBadNProto, ReasonBadEtherType,
	ReasonTooManyVLANs, ReasonBadIP, ReasonUnknownL4, ReasonBadTCP, ReasonBadShim, ReasonShimOverrun,
	ReasonBadINTVersion, ReasonBadInstruction, ReasonInsCntMismatch, ReasonTooManyHops,
	ReasonStackOverrun, ReasonStackMismatch,
}

// Reasons lists every reason Decode can return, for counters created up
// front.
func Reasons() []string { return append([]string(nil), reasons[:]...) }
