package intsim

import (
	"net/netip"
	"testing"
)

// FuzzAppendReport: whatever the report and encoding, the encoder stays
// within MaxReportLen, and every length it writes agrees with what it
// wrote: the report header, the inner IP length, and the INT shim length.
func FuzzAppendReport(f *testing.F) {
	f.Add(uint8(0), uint8(KindINT), uint16(DefaultInstructions), uint8(3), uint8(6), false, true, false, uint16(100))
	f.Add(uint8(1), uint8(KindDrop), uint16(0xFF01), uint8(2), uint8(17), true, false, true, uint16(0))
	f.Add(uint8(1), uint8(KindPostcard), uint16(InsBit6), uint8(0), uint8(58), true, false, false, uint16(1400))
	f.Fuzz(func(t *testing.T, ver, kind uint8, ins uint16, hops, proto uint8, v6, opts, innerIP bool, payload uint16) {
		e := Encoding{Version: Version(ver % 2), Instructions: ins, MaxHopCount: MaxHops, InnerIP: innerIP}
		if e.Check() != nil {
			return
		}
		r := Report{Kind: Kind(kind % uint8(numKinds)), SwitchID: 1, Seq: 2, IngressTS: 3}
		r.Packet = Packet{Src: src4, Dst: dst4, Proto: []uint8{6, 17, 1}[proto%3], TTL: 64, SrcPort: 1, DstPort: 2,
			TCPOptions: opts, PayloadLen: int(payload % 9000)}
		if v6 {
			r.Packet.Src, r.Packet.Dst = netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
			if r.Packet.Proto == 1 {
				r.Packet.Proto = 58
			}
		}
		if r.Packet.Proto != 1 && r.Packet.Proto != 58 {
			r.INT.Hops = int(hops % (MaxHops + 1))
		}
		b := e.AppendReport(make([]byte, 0, MaxReportLen), &r)
		if len(b) > MaxReportLen {
			t.Fatalf("%d octets", len(b))
		}
		// Report header: v0.5 fixed 12 + drop 12 or local 16; v1.0 Len words.
		off := 12
		if e.Version == V10 {
			off = int(b[0]&0x0f) * 4
		} else if np := b[0] & 0x0f; np == 1 {
			off += 12
		} else if np == 2 {
			off += 16
		}
		if !innerIP {
			off += 14
		}
		ip := b[off:]
		var l4 int
		if v6 {
			l4 = int(be.Uint16(ip[4:]))
			ip = ip[40:]
		} else {
			if total := int(be.Uint16(ip[2:])); total-20 < 0 {
				t.Fatalf("IPv4 total length %d", total)
			} else {
				l4 = total - 20
			}
			ip = ip[20:]
		}
		wantL4 := l4Len(&r.Packet) + r.Packet.PayloadLen
		if r.INT.Hops > 0 {
			wantL4 += e.INTLen(r.INT.Hops)
			shim := ip[l4Len(&r.Packet):]
			if int(shim[2])*4 != e.INTLen(r.INT.Hops) || len(shim) != e.INTLen(r.INT.Hops) {
				t.Fatalf("shim length %d words, INT header %d octets, %d written", shim[2], e.INTLen(r.INT.Hops), len(shim))
			}
		} else if len(ip) != l4Len(&r.Packet) {
			t.Fatalf("L4 header %d octets written, want %d", len(ip), l4Len(&r.Packet))
		}
		if uint16(l4) != uint16(wantL4) {
			t.Fatalf("IP says %d octets after it, want %d", l4, wantL4)
		}
	})
}
