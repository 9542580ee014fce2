package pcap

import (
	"bytes"
	"encoding/binary"
	"io"
	"net/netip"
	"os"
	"reflect"
	"testing"
)

const captures = "../decode/ipfix/testdata/"

func TestRealCaptures(t *testing.T) {
	cases := []struct {
		file      string
		link      uint32
		datagrams int
		first     string // source of the first datagram
	}{
		{"pmacct-100-IPFIXv10-CISCO.pcap", LinkEthernet, 6, "138.187.0.13:50109 -> "},
		{"pmacct-104-IPFIXv10-IPv6-CISCO-sampling_option.pcap", LinkEthernet, 5, "[2a02:a90:4007:700::54]:50399 -> "},
		{"pmacct-112-IPFIXv10-CISCO-options-map-reassignment.pcap", LinkLinuxSLL, 21, "[2001:db8:90::1]:61853 -> "},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			ds, err := ReadFile(captures + tc.file)
			if err != nil {
				t.Fatal(err)
			}
			if len(ds) != tc.datagrams {
				t.Fatalf("datagrams %d, want %d", len(ds), tc.datagrams)
			}
			got := ds[0].Src.String() + " -> " + ds[0].Dst.String()
			if got[:len(tc.first)] != tc.first {
				t.Errorf("first datagram %s", got)
			}
			for _, d := range ds {
				// Every payload is a whole IPFIX message: its header length is its size.
				if n := int(binary.BigEndian.Uint16(d.Payload[2:])); n != len(d.Payload) || d.TimeNs == 0 {
					t.Errorf("payload of %d bytes, IPFIX length %d", len(d.Payload), n)
				}
			}
			f, _ := openReader(t, captures+tc.file)
			if f.LinkType() != tc.link {
				t.Errorf("link type %d", f.LinkType())
			}
		})
	}
	// The BGP session in sample 500 is TCP: skipped, not returned.
	f, _ := openReader(t, captures+"pmacct-500-IPFIXv10-BGP-CISCO-SRv6.pcap")
	n := 0
	for {
		_, err := f.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 40 || f.Skipped().NotUDP == 0 {
		t.Errorf("sample 500: %d datagrams, skipped %+v", n, f.Skipped())
	}
}

func openReader(t *testing.T, path string) (*Reader, []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return r, b
}

// Hand-made captures: every link type, both byte orders, nanosecond
// timestamps, VLAN tags, IPv6 extension headers, and the packets that
// must be skipped.
func TestLinkTypes(t *testing.T) {
	src4, dst4 := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	src6, dst6 := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
	payload := []byte("hello ipfix")
	v4 := ipv4(src4, dst4, 17, 0, udp(4739, 2055, payload))
	v6 := ipv6(src6, dst6, 17, udp(4740, 2056, payload))
	// Hop-by-hop options (8 bytes) before the UDP header.
	v6ext := ipv6(src6, dst6, 0, append([]byte{17, 0, 1, 4, 0, 0, 0, 0}, udp(4741, 2057, payload)...))
	tcp := ipv4(src4, dst4, 6, 0, make([]byte, 20))
	frag := ipv4(src4, dst4, 17, 0x2000, udp(1, 2, payload)) // more fragments
	eth := func(etherType uint16, tags int, ip []byte) []byte {
		b := make([]byte, 12)
		for range tags {
			b = binary.BigEndian.AppendUint16(b, 0x8100)
			b = binary.BigEndian.AppendUint16(b, 42)
		}
		return append(binary.BigEndian.AppendUint16(b, etherType), ip...)
	}
	sll := func(ip []byte, etherType uint16) []byte {
		return append(binary.BigEndian.AppendUint16(make([]byte, 14), etherType), ip...)
	}
	sll2 := func(ip []byte, etherType uint16) []byte {
		return append(append(binary.BigEndian.AppendUint16(nil, etherType), make([]byte, 18)...), ip...)
	}
	null := func(fam uint32, ip []byte) []byte { return append(binary.LittleEndian.AppendUint32(nil, fam), ip...) }

	want := []string{"192.0.2.1:4739 -> 192.0.2.2:2055", "[2001:db8::1]:4740 -> [2001:db8::2]:2056", "[2001:db8::1]:4741 -> [2001:db8::2]:2057"}
	cases := []struct {
		name  string
		link  uint32
		order binary.AppendByteOrder
		nanos bool
		pkts  [][]byte
	}{
		{"ethernet", LinkEthernet, binary.LittleEndian, false, [][]byte{eth(0x0800, 0, v4), eth(0x0806, 0, nil), eth(0x86dd, 1, v6), eth(0x0800, 0, tcp), eth(0x86dd, 2, v6ext), eth(0x0800, 0, frag)}},
		{"linux cooked", LinkLinuxSLL, binary.BigEndian, true, [][]byte{sll(v4, 0x0800), sll(v6, 0x86dd), sll(v6ext, 0x86dd)}},
		{"linux cooked v2", LinkLinuxSLL2, binary.LittleEndian, true, [][]byte{sll2(v4, 0x0800), sll2(v6, 0x86dd), sll2(v6ext, 0x86dd)}},
		{"raw", LinkRaw, binary.BigEndian, false, [][]byte{v4, v6, tcp, v6ext}},
		{"loopback", LinkNull, binary.LittleEndian, false, [][]byte{null(2, v4), null(30, v6), null(24, v6ext)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			file := capture(tc.order, tc.nanos, tc.link, tc.pkts...)
			r, err := NewReader(bytes.NewReader(file))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for {
				d, err := r.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(d.Payload, payload) || d.TimeNs != 1700000000_000000000+123000 {
					t.Errorf("payload %q time %d", d.Payload, d.TimeNs)
				}
				got = append(got, d.Src.String()+" -> "+d.Dst.String())
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %q, skipped %+v", got, r.Skipped())
			}
		})
	}
}

func TestBadFiles(t *testing.T) {
	if _, err := NewReader(bytes.NewReader([]byte{1, 2, 3})); err == nil {
		t.Error("short header accepted")
	}
	if _, err := NewReader(bytes.NewReader(append([]byte{0x0a, 0x0d, 0x0d, 0x0a}, make([]byte, 20)...))); err == nil {
		t.Error("pcapng accepted")
	}
	if _, err := NewReader(bytes.NewReader(capture(binary.LittleEndian, false, 147))); err == nil {
		t.Error("unknown link type accepted")
	}
	// A record claiming more than MaxSnapLen, and one cut short.
	huge := capture(binary.LittleEndian, false, LinkRaw)
	huge = binary.LittleEndian.AppendUint32(append(huge, make([]byte, 8)...), MaxSnapLen+1)
	huge = binary.LittleEndian.AppendUint32(huge, MaxSnapLen+1)
	r, _ := NewReader(bytes.NewReader(huge))
	if _, err := r.Next(); err == nil || err == io.EOF {
		t.Errorf("oversized record: %v", err)
	}
	cut := capture(binary.LittleEndian, false, LinkRaw, make([]byte, 40))
	r, _ = NewReader(bytes.NewReader(cut[:len(cut)-5]))
	if _, err := r.Next(); err == nil || err == io.EOF {
		t.Errorf("cut record: %v", err)
	}
	// Garbage packets are skipped and counted, never returned.
	r, _ = NewReader(bytes.NewReader(capture(binary.LittleEndian, false, LinkRaw, []byte{0x45, 0}, []byte{0x60}, make([]byte, 3))))
	if _, err := r.Next(); err != io.EOF || r.Skipped().BadHeader+r.Skipped().NotIP != 3 {
		t.Errorf("%v %+v", err, r.Skipped())
	}
}

func capture(order binary.AppendByteOrder, nanos bool, link uint32, pkts ...[]byte) []byte {
	magic := uint32(0xa1b2c3d4)
	frac := uint32(123)
	if nanos {
		magic, frac = 0xa1b23c4d, 123000
	}
	b := order.AppendUint32(nil, magic)
	b = order.AppendUint16(b, 2)
	b = order.AppendUint16(b, 4)
	b = append(b, make([]byte, 8)...)
	b = order.AppendUint32(b, 65535)
	b = order.AppendUint32(b, link)
	for _, p := range pkts {
		b = order.AppendUint32(b, 1700000000)
		b = order.AppendUint32(b, frac)
		b = order.AppendUint32(b, uint32(len(p)))
		b = order.AppendUint32(b, uint32(len(p)))
		b = append(b, p...)
	}
	return b
}

func udp(sport, dport uint16, payload []byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, sport)
	b = binary.BigEndian.AppendUint16(b, dport)
	b = binary.BigEndian.AppendUint16(b, uint16(8+len(payload)))
	return append(binary.BigEndian.AppendUint16(b, 0), payload...)
}

func ipv4(src, dst netip.Addr, proto uint8, flags uint16, body []byte) []byte {
	b := []byte{0x45, 0}
	b = binary.BigEndian.AppendUint16(b, uint16(20+len(body)))
	b = append(b, 0, 0)
	b = binary.BigEndian.AppendUint16(b, flags)
	b = append(b, 64, proto, 0, 0)
	b = append(b, src.AsSlice()...)
	b = append(b, dst.AsSlice()...)
	return append(b, body...)
}

func ipv6(src, dst netip.Addr, next uint8, body []byte) []byte {
	b := []byte{0x60, 0, 0, 0}
	b = binary.BigEndian.AppendUint16(b, uint16(len(body)))
	b = append(b, next, 64)
	b = append(b, src.AsSlice()...)
	b = append(b, dst.AsSlice()...)
	return append(b, body...)
}

// FuzzReader: no capture file, however broken, panics the reader or makes
// it return a datagram that is not inside the packet.
func FuzzReader(f *testing.F) {
	for _, name := range []string{"pmacct-100-IPFIXv10-CISCO.pcap", "pmacct-112-IPFIXv10-CISCO-options-map-reassignment.pcap"} {
		b, err := os.ReadFile(captures + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b[:min(len(b), 600)])
	}
	f.Add(capture(binary.BigEndian, true, LinkNull, []byte{0, 0, 0, 30}))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := NewReader(bytes.NewReader(b))
		if err != nil {
			return
		}
		for range 1000 {
			d, err := r.Next()
			if err != nil {
				return
			}
			if len(d.Payload) > len(b) || !d.Src.IsValid() || !d.Dst.IsValid() {
				t.Fatalf("datagram %+v", d)
			}
		}
	})
}
