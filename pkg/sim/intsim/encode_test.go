package intsim

import (
	"bytes"
	"encoding/hex"
	"net/netip"
	"strings"
	"testing"
)

// hx turns a hex dump with spaces, newlines and "|" separators into bytes.
func hx(t *testing.T, s string) []byte {
	t.Helper()
	s = strings.NewReplacer(" ", "", "\n", "", "\t", "", "|", "").Replace(s)
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex in test: %v", err)
	}
	return b
}

func sameBytes(t *testing.T, got, want []byte) {
	t.Helper()
	if bytes.Equal(got, want) {
		return
	}
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			t.Fatalf("octet %d: got %#02x, want %#02x\ngot  %x\nwant %x", i, got[i], want[i], got, want)
		}
	}
	t.Fatalf("length %d, want %d\ngot  %x\nwant %x", len(got), len(want), got, want)
}

var (
	hostMAC   = [6]byte{0x02, 0x00, 0x0a, 0x01, 0x00, 0x01}
	switchMAC = [6]byte{0xb0, 0x12, 0x80, 0x8f, 0xe3, 0x45}
	src4      = netip.MustParseAddr("10.1.0.10")
	dst4      = netip.MustParseAddr("10.2.0.11")
)

// The seed's example: VDC MAC b0:12:80:8f:e3:45 gives switch id 0xB012E345.
func TestSwitchIDFromMACIsBytes0145(t *testing.T) {
	if got := SwitchIDFromMAC(switchMAC); got != 0xB012E345 {
		t.Fatalf("switch id %#x, want 0xb012e345", got)
	}
}

// A v0.5 drop report: 12-octet fixed header with NProto 1 and D, the
// 12-octet drop header, then the dropped packet from its Ethernet header.
func TestV05DropReportBytes(t *testing.T) {
	e := Encoding{Version: V05, Instructions: DefaultInstructions, MaxHopCount: 8}
	r := Report{
		Kind: KindDrop, SwitchID: 0xB012E345, HwID: 5, Seq: 0x01020304, IngressTS: 0xFFFFFFF0,
		Local:  Hop{IngressPort: 3, EgressPort: 0x31, QueueID: 2},
		Reason: DropQueueFull,
		Packet: Packet{SrcMAC: hostMAC, DstMAC: switchMAC, Src: src4, Dst: dst4, Proto: 17, DSCP: 10, TTL: 64,
			IPID: 0x1234, SrcPort: 40000, DstPort: 53, PayloadLen: 100},
	}
	want := hx(t, `
		01 80 00 05 | 01 02 03 04 | ff ff ff f0
		b0 12 e3 45 | 00 03 00 31 | 02 47 00 00
		b0 12 80 8f e3 45 | 02 00 0a 01 00 01 | 08 00
		45 28 00 80 | 12 34 40 00 | 40 11 13 fa | 0a 01 00 0a | 0a 02 00 0b
		9c 40 00 35 | 00 6c 00 00`)
	sameBytes(t, e.AppendReport(nil, &r), want)
}

// A v0.5 queue congestion report: NProto 2 and Q, the 16-octet switch
// local header with a 24-bit occupancy and the egress timestamp.
func TestV05QueueReportBytes(t *testing.T) {
	e := Encoding{Version: V05, Instructions: DefaultInstructions, MaxHopCount: 8}
	r := Report{
		Kind: KindQueue, SwitchID: 0x01020304, HwID: 0x3f, Seq: 9, IngressTS: 0x11111111,
		Local: Hop{IngressPort: 0x0102, EgressPort: 0x0304, QueueID: 5, QueueOccupancy: 0x00abcdef, EgressTS: 0x22222222},
		Packet: Packet{SrcMAC: hostMAC, DstMAC: switchMAC, Src: src4, Dst: dst4, Proto: 17, DSCP: 10, TTL: 64,
			IPID: 0x1234, SrcPort: 40000, DstPort: 53, PayloadLen: 100},
	}
	want := hx(t, `
		02 40 00 3f | 00 00 00 09 | 11 11 11 11
		01 02 03 04 | 01 02 03 04 | 05 ab cd ef | 22 22 22 22
		b0 12 80 8f e3 45 | 02 00 0a 01 00 01 | 08 00
		45 28 00 80 | 12 34 40 00 | 40 11 13 fa | 0a 01 00 0a | 0a 02 00 0b
		9c 40 00 35 | 00 6c 00 00`)
	sameBytes(t, e.AppendReport(nil, &r), want)
}

// A v0.5 INT report from the sink: NProto 0 and F, the inner TCP packet
// with 12 octets of options, then the shim (length counts the tail), the
// metadata header (InsCnt 2 for the seed's bitmap 1001 0000 ...), the stack
// newest hop first, and the tail with the original protocol, port and DSCP.
func TestV05INTReportBytes(t *testing.T) {
	e := Encoding{Version: V05, Instructions: InsSwitchID | InsQueue, MaxHopCount: 8}
	r := Report{
		Kind: KindINT, SwitchID: 0x55555555, Seq: 7, IngressTS: 0x10,
		Packet: Packet{SrcMAC: hostMAC, DstMAC: switchMAC, Src: src4, Dst: dst4, Proto: 6, DSCP: 47, TTL: 62,
			IPID: 1, SrcPort: 40000, DstPort: 443, TCPSeq: 0xdeadbeef, TCPOptions: true, PayloadLen: 10},
		INT: INT{Hops: 2, OrigDSCP: 46, OrigPort: 443},
	}
	r.INT.Stack[0] = Hop{SwitchID: 0x0a0b0c0d, QueueID: 1, QueueOccupancy: 0x123}
	r.INT.Stack[1] = Hop{SwitchID: 0x11223344, QueueID: 1, QueueOccupancy: 0xabcdef}
	want := hx(t, `
		00 20 00 00 | 00 00 00 07 | 00 00 00 10
		b0 12 80 8f e3 45 | 02 00 0a 01 00 01 | 08 00
		45 bc 00 5e | 00 01 40 00 | 3e 06 27 c6 | 0a 01 00 0a | 0a 02 00 0b
		9c 40 01 bb | de ad be ef | 00 00 00 00 | 80 10 fa f0 | 00 00 00 00
		01 01 08 0a | 84 f7 e4 b5 | 00 00 00 00
		01 00 08 00
		00 02 08 02 | 90 00 00 00
		11 22 33 44 | 01 ab cd ef
		0a 0b 0c 0d | 01 00 01 23
		06 01 bb 2e`)
	sameBytes(t, e.AppendReport(nil, &r), want)
}

// A v1.0 drop report: Ver 1, Len 6 words (4 fixed + ports + drop), NProt 0,
// RepMdBits 100010, D in the last bit of the middle, then switch id,
// sequence and timestamp, the two metadata words, and Ethernet.
func TestV10DropReportBytes(t *testing.T) {
	e := Encoding{Version: V10, Instructions: DefaultInstructions, MaxHopCount: 8}
	r := Report{
		Kind: KindDrop, SwitchID: 0xB012E345, HwID: 1, Seq: 0xfffffffe, IngressTS: 0x0badf00d,
		Local:  Hop{IngressPort: 3, EgressPort: 7, QueueID: 2},
		Reason: DropNoRoute,
		Packet: Packet{SrcMAC: hostMAC, DstMAC: switchMAC, Src: src4, Dst: dst4, Proto: 17, DSCP: 10, TTL: 64,
			IPID: 0x1234, SrcPort: 40000, DstPort: 53, PayloadLen: 100},
	}
	want := hx(t, `
		16 11 01 01 | b0 12 e3 45 | ff ff ff fe | 0b ad f0 0d
		00 03 00 07 | 02 32 00 00
		b0 12 80 8f e3 45 | 02 00 0a 01 00 01 | 08 00
		45 28 00 80 | 12 34 40 00 | 40 11 13 fa | 0a 01 00 0a | 0a 02 00 0b
		9c 40 00 35 | 00 6c 00 00`)
	sameBytes(t, e.AppendReport(nil, &r), want)
}

// A v1.0 INT report over IPv6: Len 4 (no report metadata), F; the shim
// carries the original DSCP in its top six bits and its length excludes any
// tail (there is none); HopML counts bit 6 as two words (level-2 ports,
// unavailable here); RemainingHopCnt counts down from MaxHopCount.
func TestV10INTReportIPv6Bytes(t *testing.T) {
	e := Encoding{Version: V10, Instructions: InsSwitchID | InsPorts | InsBit6, MaxHopCount: 8}
	r := Report{
		Kind: KindINT, SwitchID: 0x01020304, HwID: 2, Seq: 1, IngressTS: 2,
		Packet: Packet{SrcMAC: hostMAC, DstMAC: switchMAC,
			Src: netip.MustParseAddr("2001:db8:1::a"), Dst: netip.MustParseAddr("2001:db8:2::b"),
			Proto: 6, DSCP: 47, TTL: 62, SrcPort: 40000, DstPort: 443, TCPSeq: 1, PayloadLen: 10},
		INT: INT{Hops: 1, OrigDSCP: 46},
	}
	r.INT.Stack[0] = Hop{SwitchID: 0xa1a2a3a4, IngressPort: 1, EgressPort: 5}
	want := hx(t, `
		14 00 00 42 | 01 02 03 04 | 00 00 00 01 | 00 00 00 02
		b0 12 80 8f e3 45 | 02 00 0a 01 00 01 | 86 dd
		6b c0 87 f0 | 00 3a 06 3e
		20 01 0d b8 00 01 00 00 00 00 00 00 00 00 00 0a
		20 01 0d b8 00 02 00 00 00 00 00 00 00 00 00 0b
		9c 40 01 bb | 00 00 00 01 | 00 00 00 00 | 50 10 fa f0 | 00 00 00 00
		01 00 07 b8
		10 00 04 07 | c2 00 00 00
		a1 a2 a3 a4 | 00 01 00 05 | ff ff ff ff | ff ff ff ff`)
	sameBytes(t, e.AppendReport(nil, &r), want)
}

// A v1.0 postcard with the inner packet from its IPv4 header (NProt 1):
// Len 8, RepMdBits 111100 (ports, hop latency, queue, egress timestamp).
func TestV10PostcardInnerIPv4Bytes(t *testing.T) {
	e := Encoding{Version: V10, Instructions: DefaultInstructions, MaxHopCount: 8, InnerIP: true}
	r := Report{
		Kind: KindPostcard, SwitchID: 0xB012E345, HwID: 0, Seq: 3, IngressTS: 0xfffffff0,
		Local: Hop{IngressPort: 1, EgressPort: 6, HopLatency: 0x30, QueueID: 0, QueueOccupancy: 12, EgressTS: 0x20},
		Packet: Packet{SrcMAC: hostMAC, DstMAC: switchMAC, Src: src4, Dst: dst4, Proto: 1, TTL: 63,
			IPID: 0x0203, ICMPType: 8, ICMPID: 0x77, ICMPSeq: 0x0203, PayloadLen: 56},
	}
	want := hx(t, `
		18 3e 00 40 | b0 12 e3 45 | 00 00 00 03 | ff ff ff f0
		00 01 00 06 | 00 00 00 30 | 00 00 00 0c | 00 00 00 20
		45 00 00 54 | 02 03 40 00 | 3f 01 25 8f | 0a 01 00 0a | 0a 02 00 0b
		08 00 00 00 | 00 77 02 03`)
	sameBytes(t, e.AppendReport(nil, &r), want)
}

func TestEncodingRefusesWhatTheVersionCannotCarry(t *testing.T) {
	for _, e := range []Encoding{
		{Version: V05, Instructions: InsSwitchID | InsChecksum},
		{Version: V10, Instructions: InsSwitchID | 0x0002},
		{Version: V05, Instructions: 0},
		{Version: V05, Instructions: InsSwitchID, InnerIP: true},
		{Version: 2, Instructions: InsSwitchID},
	} {
		if err := e.Check(); err == nil {
			t.Errorf("%+v: accepted", e)
		}
	}
}

func TestAppendReportDoesNotAllocate(t *testing.T) {
	d, err := NewDomain(DomainConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var reports []Report
	for i := uint64(0); len(reports) == 0 || reports[0].INT.Hops == 0; i++ {
		reports = d.Packet(i * 1000)
	}
	e := d.Config().Encoding
	buf := make([]byte, 0, MaxReportLen)
	if n := testing.AllocsPerRun(100, func() { buf = e.AppendReport(buf[:0], &reports[0]) }); n != 0 {
		t.Fatalf("%v allocations per report", n)
	}
}
