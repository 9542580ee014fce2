package intreport

import (
	"net/netip"
	"testing"
)

// A v0.5 queue-congestion report whose inner UDP packet (with IPv4
// options) is marked INT by its destination port and asks for the two
// instructions the other tests lack: bit 6 (queue congestion) and bit 7
// (tx utilization).
func TestQueueReportV05INTBits6And7(t *testing.T) {
	b := hexb(t,
		"02 40 00 02", // ver 0, nproto 2, Q, hw_id 2
		"00 00 00 02", "00 00 00 00",
		"00 00 00 0b", "00 01 00 02", "07 00 80 00", "00 00 00 00", // switch 11, queue 7 occupancy 0x8000
		"02 00 00 00 00 02  02 00 00 00 00 01  08 00",
		"46 00 00 38  00 01 00 00  40 11 00 00", // ihl 6, len 56, udp
		"0a 00 00 01  0a 00 00 02",
		"01 01 01 00",              // options: NOP NOP NOP EOL
		"c3 50 13 88  00 20 00 00", // udp 50000 > 5000
		"01 00 06 00",              // shim: 6 words
		"00 02 04 01",              // ins cnt 2, max 4, total 1
		"03 00 00 00",              // bitmap bits 6, 7
		"05 00 01 23",              // bit 6: queue 5, congestion status 0x123
		"00 00 00 42",              // bit 7: tx utilization
		"11 00 35 00",              // tail: udp, original dport 53, dscp 0
	)
	r := decodeOK(t, Options{INTPorts: []uint16{4789, 5000}}, b)
	if r.Header.Kind != KindQueue || r.Header.QueueID != 7 || r.Header.QueueOccupancy != 0x8000 {
		t.Errorf("header %+v", r.Header)
	}
	if r.Inner.Dst != netip.MustParseAddr("10.0.0.2") || r.Inner.DstPort != 5000 {
		t.Errorf("inner %+v", r.Inner)
	}
	want := Hop{Present: ItemBit6 | ItemTxUtil, CongestionQueue: 5, Congestion: 0x123, TxUtil: 0x42}
	if r.INT.HopCount != 1 || r.Hops[0] != want {
		t.Errorf("hop %+v (count %d), want %+v", r.Hops[0], r.INT.HopCount, want)
	}
	// The source replaced port 53 by the INT port 5000 and kept it in the tail.
	if r.INT.TailProto != ProtoUDP || r.INT.TailDstPort != 53 || !r.INT.ByPort || r.INT.ByDSCP || r.Flow().DstPort != 53 {
		t.Errorf("tail %+v flow %+v", r.INT, r.Flow())
	}
	if _, ok := HopLatency(&r.Hops[0]); ok {
		t.Error("no latency word and no timestamps: latency unknown")
	}
}

// A v1.0 queue report about an ICMPv6 packet behind a VLAN tag (NProt 0:
// Ethernet), with the report-level hop latency, queue, egress timestamp and
// tx utilization words.
func TestQueueReportV10EthernetIPv6(t *testing.T) {
	b := hexb(t,
		"18 0e 80 83", // ver 1, len 8; nprot 0, repmd 0b011101; Q, hw_id 3
		"00 00 00 21", // switch 33
		"00 00 00 05", // seq 5
		"ff ff ff ff", // ingress ts (a time, not "unavailable", in the report header)
		"00 00 03 e8", // bit 1: hop latency 1000
		"01 00 20 00", // bit 2: queue 1, occupancy 0x2000
		"00 00 03 e7", // bit 3: egress ts 999
		"00 00 00 63", // bit 5: tx utilization 99
		"02 00 00 00 00 02  02 00 00 00 00 01",
		"81 00 00 0a  86 dd",       // vlan 10, IPv6
		"60 00 00 00  00 08 3a 40", // plen 8, icmpv6, hop limit 64
		"fe 80 00 00 00 00 00 00 00 00 00 00 00 00 00 01",
		"ff 02 00 00 00 00 00 00 00 00 00 00 00 00 00 01",
		"80 00 00 00  00 00 00 00", // echo request
	)
	r := decodeOK(t, Options{INTDSCP: 0, INTDSCPMask: 0x3f}, b)
	want := Header{
		Version: V10, NProto: 0, Kind: KindQueue, Congested: true, HwID: 3, RepMdBits: 0x1d, Len: 8, Seq: 5, IngressTS: 0xffffffff,
		HasSwitchID: true, SwitchID: 33, Md: MdHopLatency | MdQueue | MdEgressTS | MdTxUtil,
		HopLatency: 1000, QueueID: 1, QueueOccupancy: 0x2000, EgressTS: 999, TxUtil: 99,
	}
	if r.Header != want {
		t.Errorf("header\n got %+v\nwant %+v", r.Header, want)
	}
	p := r.Inner
	if !p.HasEthernet || p.NVLAN != 1 || p.VLAN[0] != 10 || p.EtherType != 0x86dd || p.IPVersion != 6 ||
		p.Src != netip.MustParseAddr("fe80::1") || p.Protocol != ProtoICMPv6 || p.ICMPType != 128 || p.TTL != 64 {
		t.Errorf("inner %+v", p)
	}
	// DSCP 0 matches the marker, but ICMP never carries INT.
	if r.INT.Present {
		t.Error("INT after ICMP")
	}
	if l, ok := EndToEnd(r); !ok || l != 1000 {
		t.Errorf("end to end %d, %v; want the hop-latency word 1000", l, ok)
	}
}

// A non-first IPv4 fragment has no L4 header: any protocol is fine.
func TestFragmentHasNoL4(t *testing.T) {
	b := patch(localV05(t), 12+16+14+6, 0x00, 0x10, 0x40, 47)
	r := decodeOK(t, Options{}, b)
	if !r.Inner.Fragment || r.Inner.Protocol != 47 || r.Inner.SrcPort != 0 {
		t.Errorf("inner %+v", r.Inner)
	}
}

func TestFiveHopStackInPathOrder(t *testing.T) {
	r := decodeOK(t, Options{INTDSCP: 0x17, INTDSCPMask: 0x3f}, int5V05(t))
	if r.INT.HopCount != 5 {
		t.Fatalf("hops %d", r.INT.HopCount)
	}
	for i := range 5 {
		h := &r.Hops[i]
		// The wire lists switches 5..1; the path is 1..5, latency 0x50..0x10.
		if h.SwitchID != uint32(i+1) || h.HopLatency != uint32(0x50-0x10*i) || h.QueueOccupancy != uint32(5-i) {
			t.Errorf("hop %d: %+v", i, h)
		}
	}
	if e, ok := EndToEnd(r); !ok || e != 0x510-0x100 {
		t.Errorf("end to end %#x, %v", e, ok)
	}
}
