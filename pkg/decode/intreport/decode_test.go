package intreport

import (
	"errors"
	"net/netip"
	"testing"
)

func decodeOK(t *testing.T, o Options, b []byte) *Report {
	t.Helper()
	var r Report
	if err := NewDecoder(o).Decode(b, &r); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return &r
}

func TestLocalReportV05(t *testing.T) {
	r := decodeOK(t, Options{}, localV05(t))
	h := r.Header
	want := Header{
		Version: V05, NProto: 2, Kind: KindFlow, Tracked: true, HwID: 5, Seq: 7, IngressTS: 0xfffffff0,
		HasSwitchID: true, SwitchID: 0xb012e345, Md: MdPorts | MdQueue | MdEgressTS,
		IngressPort: 1, EgressPort: 2, QueueID: 3, QueueOccupancy: 256, EgressTS: 0x10,
	}
	if h != want {
		t.Errorf("header\n got %+v\nwant %+v", h, want)
	}
	p := r.Inner
	wantP := Packet{
		HasEthernet: true, DstMAC: [6]byte{2, 0, 0, 0, 0, 2}, SrcMAC: [6]byte{2, 0, 0, 0, 0, 1}, EtherType: 0x0800,
		IPVersion: 4, Src: netip.MustParseAddr("10.1.10.10"), Dst: netip.MustParseAddr("10.2.2.20"),
		Protocol: ProtoUDP, TTL: 64, IPID: 0x1234, SrcPort: 40000, DstPort: 443,
	}
	if p != wantP {
		t.Errorf("inner\n got %+v\nwant %+v", p, wantP)
	}
	if r.INT.Present {
		t.Error("no INT expected without a DSCP or port marker")
	}
	// The switch's own latency crosses the 2^32 ns wrap: 0x10 - 0xfffffff0.
	if l, ok := LocalLatency(&r.Header); !ok || l != 32 {
		t.Errorf("local latency = %d, %v; want 32", l, ok)
	}
}

func TestDropReportV05WithTwoVLANs(t *testing.T) {
	r := decodeOK(t, Options{}, dropV05(t))
	h := r.Header
	if h.Kind != KindDrop || !h.Dropped || h.SwitchID != 0x0a0b0c0d || h.DropReason != 60 || h.QueueID != 2 ||
		h.IngressPort != 7 || h.EgressPort != 8 || h.Md != MdPorts|MdDrop || h.HwID != 1 || h.Seq != 256 {
		t.Errorf("header %+v", h)
	}
	p := r.Inner
	if p.NVLAN != 2 || p.VLAN != [2]uint16{100, 200} || p.EtherType != 0x0800 {
		t.Errorf("vlans %d %v ethertype %#x", p.NVLAN, p.VLAN, p.EtherType)
	}
	if p.Protocol != ProtoICMP || p.ICMPType != 8 || p.ICMPCode != 0 || p.DSCP != 46 || p.IPID != 42 || p.TTL != 63 {
		t.Errorf("inner %+v", p)
	}
}

func TestINTReportV05(t *testing.T) {
	r := decodeOK(t, Options{INTDSCP: 0x17, INTDSCPMask: 0x3f}, intV05(t))
	if r.Inner.Protocol != ProtoTCP || r.Inner.TCPSeq != 0x11223344 || r.Inner.TCPFlags != 0x18 || r.Inner.DSCP != 0x17 {
		t.Errorf("inner %+v", r.Inner)
	}
	in := r.INT
	want := INT{
		Present: true, ByDSCP: true, Offset: 12 + 16 + 14 + 20 + 24, ShimType: 1, ShimLen: 22,
		Instructions: 0xfc00, Items: ItemSwitchID | ItemPorts | ItemHopLatency | ItemQueue | ItemIngressTS | ItemEgressTS,
		HopWords: 6, MaxHopCnt: 8, TotalHopCnt: 3, HopCount: 3,
		HasTail: true, TailProto: 6, TailDstPort: 443, TailDSCP: 10,
	}
	if in != want {
		t.Errorf("INT\n got %+v\nwant %+v", in, want)
	}
	if r.OriginalDSCP() != 10 || r.Flow().DstPort != 443 {
		t.Errorf("original dscp %d, flow %+v", r.OriginalDSCP(), r.Flow())
	}
	all := want.Items
	// Path order: the wire's last hop (switch 1) comes first.
	wantHops := []Hop{
		{Present: all, SwitchID: 1, IngressPort: 1, EgressPort: 2, HopLatency: 0x80, QueueID: 2, QueueOccupancy: 5, IngressTS: 0x100, EgressTS: 0x180},
		{Present: all &^ ItemHopLatency, Unavailable: ItemHopLatency, SwitchID: 2, IngressPort: 3, EgressPort: 4, IngressTS: 0xffffff00, EgressTS: 0x40},
		{Present: all, SwitchID: 3, IngressPort: 5, EgressPort: 6, HopLatency: 0x100, QueueID: 1, QueueOccupancy: 0x20, IngressTS: 0x400, EgressTS: 0x500},
	}
	for i, w := range wantHops {
		if r.Hops[i] != w {
			t.Errorf("hop %d\n got %+v\nwant %+v", i, r.Hops[i], w)
		}
	}
	// Switch 2 has no latency word: it comes from its timestamps, across the wrap.
	for i, want := range []uint32{0x80, 0x140, 0x100} {
		if l, ok := HopLatency(&r.Hops[i]); !ok || l != want {
			t.Errorf("hop %d latency = %#x, %v; want %#x", i, l, ok, want)
		}
	}
	// First ingress 0x100 to last egress 0x500.
	if e, ok := EndToEnd(r); !ok || e != 0x400 {
		t.Errorf("end to end = %#x, %v; want 0x400", e, ok)
	}
}

func TestINTReportV10IPv6(t *testing.T) {
	r := decodeOK(t, Options{INTPorts: []uint16{5000}}, intV10(t))
	h := r.Header
	wantH := Header{
		Version: V10, NProto: 2, Kind: KindDrop, Dropped: true, Tracked: true, HwID: 1, RepMdBits: 0x22, Len: 6,
		Seq: 10, IngressTS: 100, HasSwitchID: true, SwitchID: 9, Md: MdPorts | MdDrop,
		IngressPort: 11, EgressPort: 12, QueueID: 4, DropReason: 5,
	}
	if h != wantH {
		t.Errorf("header\n got %+v\nwant %+v", h, wantH)
	}
	p := r.Inner
	if p.HasEthernet || p.IPVersion != 6 || p.Src != netip.MustParseAddr("2001:db8::1") || p.Dst != netip.MustParseAddr("2001:db8::2") ||
		p.DSCP != 46 || p.FlowLabel != 0x12345 || p.TTL != 5 || p.SrcPort != 50000 || p.DstPort != 5000 {
		t.Errorf("inner %+v", p)
	}
	in := r.INT
	wantI := INT{
		Present: true, ByPort: true, Offset: 24 + 40 + 8, ShimType: 1, ShimLen: 11, ShimDSCP: 46, Version: 1, MTUExceeded: true,
		Instructions: 0x8201, Items: ItemSwitchID | ItemBit6 | ItemChecksum, HopWords: 4, RemainingHopCnt: 6, HopCount: 2,
	}
	if in != wantI {
		t.Errorf("INT\n got %+v\nwant %+v", in, wantI)
	}
	wantHops := []Hop{
		{Present: ItemSwitchID | ItemChecksum, Unavailable: ItemBit6, SwitchID: 7, Checksum: 0x1234},
		{Present: ItemSwitchID | ItemBit6 | ItemChecksum, SwitchID: 8, L2IngressPort: 0x100, L2EgressPort: 0x200, Checksum: 0xabcd},
	}
	for i, w := range wantHops {
		if r.Hops[i] != w {
			t.Errorf("hop %d\n got %+v\nwant %+v", i, r.Hops[i], w)
		}
	}
	if _, ok := EndToEnd(r); ok {
		t.Error("no timestamps and no latencies: end to end must be unknown")
	}
	// Marked by port, v1.0 keeps no original port; the DSCP was not touched.
	if r.Flow().DstPort != 5000 || r.OriginalDSCP() != 46 {
		t.Errorf("flow %+v original dscp %d", r.Flow(), r.OriginalDSCP())
	}
}

// A Report reused for a shorter report must not keep the old hops.
func TestReuseClearsHops(t *testing.T) {
	d := NewDecoder(Options{INTDSCP: 0x17, INTDSCPMask: 0x3f})
	var r Report
	if err := d.Decode(intV05(t), &r); err != nil {
		t.Fatal(err)
	}
	if err := d.Decode(localV05(t), &r); err != nil {
		t.Fatal(err)
	}
	if r.INT.HopCount != 0 || r.Hops[0] != (Hop{}) || r.Hops[2] != (Hop{}) {
		t.Errorf("stale hops: count %d, %+v", r.INT.HopCount, r.Hops[0])
	}
}

func TestDSCPMaskSelectsABit(t *testing.T) {
	// Only bit 0x04 of the DSCP marks INT: 0x17 has it.
	r := decodeOK(t, Options{INTDSCP: 0x04, INTDSCPMask: 0x04}, intV05(t))
	if !r.INT.Present || r.INT.HopCount != 3 {
		t.Errorf("INT present %v hops %d", r.INT.Present, r.INT.HopCount)
	}
	r = decodeOK(t, Options{INTDSCP: 0x20, INTDSCPMask: 0x20}, intV05(t))
	if r.INT.Present {
		t.Error("DSCP 0x17 lacks bit 0x20: no INT")
	}
}

func reasonOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

// patch returns a copy of b with bytes at off replaced.
func patch(b []byte, off int, v ...byte) []byte {
	c := append([]byte(nil), b...)
	copy(c[off:], v)
	return c
}

func TestBadReports(t *testing.T) {
	dscp := Options{INTDSCP: 0x17, INTDSCPMask: 0x3f}
	port := Options{INTPorts: []uint16{5000}}
	v05, v10 := intV05(t), intV10(t)
	shim05 := 12 + 16 + 14 + 20 + 24 // shim offset in intV05
	shim10 := 24 + 40 + 8
	cases := []struct {
		name   string
		o      Options
		b      []byte
		reason string
	}{
		{"empty", dscp, nil, ReasonTruncated},
		{"version 2", dscp, patch(v05, 0, 0x20), ReasonBadVersion},
		{"v0.5 nproto 3", dscp, patch(v05, 0, 0x03), ReasonBadNProto},
		{"v1.0 nproto 3", port, patch(v10, 1, 0x71), ReasonBadNProto},
		{"inner ARP", dscp, patch(v05, 12+16+12, 0x08, 0x06), ReasonBadEtherType},
		{"three vlans", Options{}, patch(dropV05(t), 12+12+20, 0x81, 0x00), ReasonTooManyVLANs},
		{"ipv4 ihl 4", dscp, patch(v05, 12+16+14, 0x44), ReasonBadIP},
		{"inner gre", dscp, patch(v05, 12+16+14+9, 47), ReasonUnknownL4},
		{"tcp data offset 4", dscp, patch(v05, 12+16+14+20+12, 0x40), ReasonBadTCP},
		{"shim type 3", dscp, patch(v05, shim05, 3), ReasonBadShim},
		{"shim length 3 words", dscp, patch(v05, shim05+2, 3), ReasonBadShim},
		{"shim runs past the packet", dscp, patch(v05, shim05+2, 23), ReasonShimOverrun},
		{"v1.0 shim runs past the packet", port, patch(v10, shim10+2, 12), ReasonShimOverrun},
		{"md version 1 in v0.5", dscp, patch(v05, shim05+4, 0x10), ReasonBadINTVersion},
		{"md version 0 in v1.0", port, patch(v10, shim10+4, 0x00), ReasonBadINTVersion},
		{"reserved instruction bit", dscp, patch(v05, shim05+8, 0xfc, 0x80), ReasonBadInstruction},
		{"ins cnt 5 with 6 bits", dscp, patch(v05, shim05+5, 5), ReasonInsCntMismatch},
		{"hop ml 3 with 4 words", port, patch(v10, shim10+6, 3), ReasonInsCntMismatch},
		{"total above max", dscp, patch(v05, shim05+6, 2), ReasonTooManyHops},
		{"total above MaxHops", Options{INTDSCP: 0x17, INTDSCPMask: 0x3f, MaxHops: 2}, v05, ReasonTooManyHops},
		{"v1.0 hops above MaxHops", Options{INTPorts: []uint16{5000}, MaxHops: 1}, v10, ReasonTooManyHops},
		{"stack longer than the shim", dscp, patch(v05, shim05+7, 4), ReasonStackOverrun},
		{"stack shorter than the shim", dscp, patch(v05, shim05+7, 2), ReasonStackMismatch},
		{"v1.0 stack not whole hops", port, patch(v10, shim10+6, 3, 6, 0x82, 0x00), ReasonStackMismatch},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var r Report
			err := NewDecoder(c.o).Decode(c.b, &r)
			if got := reasonOf(err); got != c.reason {
				t.Errorf("reason %q (%v), want %q", got, err, c.reason)
			}
		})
	}
}

// Every prefix of every good report is an error with a reason, never a
// panic and never a silent success past the end.
func TestEveryTruncationIsAnError(t *testing.T) {
	o := Options{INTDSCP: 0x17, INTDSCPMask: 0x3f, INTPorts: []uint16{5000}}
	d := NewDecoder(o)
	var r Report
	// The drop report's ICMP echo carries 4 bytes past the ICMP header the
	// decoder needs; cuts there are still whole reports.
	for name, c := range map[string]struct {
		b     []byte
		extra int
	}{"local": {localV05(t), 0}, "drop": {dropV05(t), 4}, "int05": {intV05(t), 0}, "int10": {intV10(t), 0}} {
		b := c.b
		for n := range len(b) - c.extra {
			err := d.Decode(b[:n], &r)
			if err == nil {
				t.Fatalf("%s cut at %d decoded", name, n)
			}
			if reasonOf(err) == "" {
				t.Fatalf("%s cut at %d: %v has no reason", name, n, err)
			}
		}
	}
}

func TestReasonsListed(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Reasons() {
		if seen[r] {
			t.Errorf("duplicate reason %q", r)
		}
		seen[r] = true
	}
	for _, r := range []string{ReasonTruncated, ReasonStackOverrun, ReasonInsCntMismatch} {
		if !seen[r] {
			t.Errorf("reason %q missing from Reasons()", r)
		}
	}
}

// A report about a packet the model does not cover still tells who sent it.
func TestUnknownL4KeepsHeaderAndAddresses(t *testing.T) {
	var r Report
	err := NewDecoder(Options{}).Decode(patch(localV05(t), 12+16+14+9, 47), &r)
	if reasonOf(err) != ReasonUnknownL4 {
		t.Fatalf("err %v", err)
	}
	if r.Header.SwitchID != 0xb012e345 || r.Inner.Protocol != 47 || r.Inner.Src != netip.MustParseAddr("10.1.10.10") || r.Inner.SrcPort != 0 {
		t.Errorf("header %+v inner %+v", r.Header, r.Inner)
	}
}

// The v1.0 Len field is recorded, not trusted: a report claiming 1 word
// (a common scapy default) still decodes by its RepMdBits.
func TestV10LenNotTrusted(t *testing.T) {
	r := decodeOK(t, Options{INTPorts: []uint16{5000}}, patch(intV10(t), 0, 0x11))
	if r.Header.Len != 1 || r.Header.DropReason != 5 || r.INT.HopCount != 2 {
		t.Errorf("len %d drop reason %d hops %d", r.Header.Len, r.Header.DropReason, r.INT.HopCount)
	}
}
