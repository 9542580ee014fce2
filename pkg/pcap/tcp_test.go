package pcap

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"os"
	"testing"
	"time"
)

// tcpFrame builds an Ethernet + IPv4 (or IPv6) + TCP frame.
func tcpFrame(src, dst netip.AddrPort, seq uint32, flags byte, payload []byte) []byte {
	seg := make([]byte, 20, 20+len(payload))
	binary.BigEndian.PutUint16(seg[0:], src.Port())
	binary.BigEndian.PutUint16(seg[2:], dst.Port())
	binary.BigEndian.PutUint32(seg[4:], seq)
	seg[12] = 5 << 4
	seg[13] = flags
	seg = append(seg, payload...)
	eth := make([]byte, 12, 14)
	if src.Addr().Is4() {
		eth = binary.BigEndian.AppendUint16(eth, 0x0800)
		return append(eth, ipv4(src.Addr(), dst.Addr(), 6, 0, seg)...)
	}
	eth = binary.BigEndian.AppendUint16(eth, 0x86dd)
	return append(eth, ipv6(src.Addr(), dst.Addr(), 6, seg)...)
}

const (
	flagSYN = 0x02
	flagACK = 0x10
	flagFIN = 0x01
)

func writeCapture(t *testing.T, frames ...[]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, LinkEthernet)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range frames {
		if err := w.WritePacket(time.Unix(1700000000, int64(i)*1000), f); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func TestTCPStreamsReorderRetransmitOverlapAndReuse(t *testing.T) {
	a := netip.MustParseAddrPort("192.0.2.1:40000")
	b := netip.MustParseAddrPort("192.0.2.2:57500")
	v6a := netip.MustParseAddrPort("[2001:db8::1]:50845")
	v6b := netip.MustParseAddrPort("[2001:db8::2]:10005")
	var isn uint32 = 0xfffffff0 // sequence numbers wrap inside the stream
	frames := [][]byte{
		tcpFrame(a, b, isn, flagSYN, nil),
		tcpFrame(b, a, 77, flagSYN|flagACK, nil),
		tcpFrame(a, b, isn+1, flagACK, []byte("hello ")),
		tcpFrame(a, b, isn+11, flagACK, []byte("world")),  // early: waits for the hole
		tcpFrame(a, b, isn+1, flagACK, []byte("hello ")),  // retransmission
		tcpFrame(a, b, isn+4, flagACK, []byte("lo big ")), // overlaps "lo " then fills "big "
		tcpFrame(b, a, 78, flagACK, []byte("ok")),
		tcpFrame(v6a, v6b, 5000, flagACK, []byte("mid-capture")), // no SYN seen
		tcpFrame(a, b, isn+16, flagFIN|flagACK, nil),
		// Same 4-tuple, new connection.
		tcpFrame(a, b, 100, flagSYN, nil),
		tcpFrame(a, b, 101, flagACK, []byte("again")),
		tcpFrame(a, b, 200, flagACK, []byte("after a hole")),
	}
	got, sk, err := TCPStreams(bytes.NewReader(writeCapture(t, frames...)))
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		src, dst netip.AddrPort
		data     string
		retrans  int
		missing  bool
	}
	wants := []want{
		{a, b, "hello big world", 6 + 3, false},
		{b, a, "ok", 0, false},
		{v6a, v6b, "mid-capture", 0, false},
		{a, b, "again", 0, true},
	}
	if len(got) != len(wants) {
		t.Fatalf("%d streams, want %d", len(got), len(wants))
	}
	for i, w := range wants {
		g := got[i]
		if g.Src != w.src || g.Dst != w.dst || string(g.Data) != w.data || g.Retransmitted != w.retrans || g.Missing != w.missing {
			t.Errorf("stream %d: %v -> %v %q retrans %d missing %v; want %+v", i, g.Src, g.Dst, g.Data, g.Retransmitted, g.Missing, w)
		}
	}
	if sk != (TCPSkipped{}) {
		t.Errorf("skipped %+v", sk)
	}
}

func TestTCPStreamsSkipsOtherTraffic(t *testing.T) {
	a := netip.MustParseAddrPort("192.0.2.1:40000")
	b := netip.MustParseAddrPort("192.0.2.2:57500")
	arp := append(make([]byte, 12), 0x08, 0x06, 1, 2, 3)
	frames := [][]byte{
		append(append(make([]byte, 12), 0x08, 0x00), ipv4(a.Addr(), b.Addr(), 17, 0, udp(1, 2, []byte("x")))...),
		arp,
		append(append(make([]byte, 12), 0x08, 0x00), ipv4(a.Addr(), b.Addr(), 6, 0, []byte{1, 2, 3})...), // short TCP header
		tcpFrame(a, b, 1, flagACK, []byte("data")),
	}
	got, sk, err := TCPStreams(bytes.NewReader(writeCapture(t, frames...)))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || string(got[0].Data) != "data" {
		t.Fatalf("streams %+v", got)
	}
	if sk.NotTCP != 1 || sk.NotIP != 1 || sk.BadHeader != 1 {
		t.Errorf("skipped %+v", sk)
	}
}

// The pmacct IOS XR capture is one IPv6 connection of 1125 frames; its
// payload, reassembled independently (a script ordering segments by
// sequence number), is 2,376,128 bytes starting with an MDT header.
func TestTCPStreamsRealCapture(t *testing.T) {
	path := "../decode/xr/mdt/testdata/pmacct-801-iosxr-24.4-mdt-tcp-json.pcap"
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	got, _, err := ReadTCPFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("%d streams, want 1", len(got))
	}
	s := got[0]
	if s.Src.Port() != 50845 || s.Dst.Port() != 10005 || len(s.Data) != 2376128 || s.Missing {
		t.Errorf("%v -> %v, %d bytes, missing %v", s.Src, s.Dst, len(s.Data), s.Missing)
	}
	// MDT header: type 1, encap 2 (JSON), version 1, flags 0.
	if !bytes.Equal(s.Data[:8], []byte{0, 1, 0, 2, 0, 1, 0, 0}) {
		t.Errorf("stream starts % x", s.Data[:12])
	}
}

func FuzzTCPStreams(f *testing.F) {
	a := netip.MustParseAddrPort("192.0.2.1:40000")
	b := netip.MustParseAddrPort("[2001:db8::2]:57500")
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, LinkEthernet)
	w.WritePacket(time.Unix(1, 0), tcpFrame(a, netip.MustParseAddrPort("192.0.2.2:1"), 1, flagSYN, nil))
	w.WritePacket(time.Unix(1, 0), tcpFrame(netip.MustParseAddrPort("[2001:db8::1]:1"), b, 9, flagACK, []byte("abc")))
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, in []byte) {
		streams, _, err := TCPStreams(bytes.NewReader(in))
		if err != nil {
			return
		}
		for _, s := range streams {
			if len(s.Data) == 0 || len(s.Data) > MaxStreamBytes {
				t.Fatalf("stream of %d bytes", len(s.Data))
			}
		}
	})
}
