// Package peers checks the IPFIX collector against independent exporters
// and decoders from Debian: softflowd and pmacctd (nfprobe plugin) replay a
// pcap written here and export IPFIX or NetFlow v9 (over UDP, or IPFIX over
// TCP; sampled; RFC 5103 biflow, as far as each supports them: see Export)
// to the collector on loopback, and tshark decodes the same export. The
// package holds the traffic generator, the frame builder, the relays and
// the code that runs the peer programs; the tests sit in its _test files.
package peers

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// IP protocol numbers used by the generator.
const (
	ProtoTCP uint8 = 6
	ProtoUDP uint8 = 17
)

// TCP flag bits (RFC 9293) as exporters report them in tcpControlBits.
const (
	FlagFIN uint8 = 0x01
	FlagSYN uint8 = 0x02
	FlagRST uint8 = 0x04
	FlagPSH uint8 = 0x08
	FlagACK uint8 = 0x10
)

const (
	ethHeaderLen  = 14
	ipv4HeaderLen = 20
	ipv6HeaderLen = 40
	tcpHeaderLen  = 20
	udpHeaderLen  = 8
	// ethMinFrame is the shortest Ethernet frame without its FCS. Short
	// packets are padded up to it as on a real wire, so an exporter that
	// counted frame bytes instead of the IP total length would be caught.
	ethMinFrame = 60
)

// Packet is one IP packet of the generated traffic.
type Packet struct {
	Src, Dst netip.AddrPort // both IPv4 or both IPv6
	Proto    uint8          // ProtoTCP or ProtoUDP
	Flags    uint8          // TCP flags; ignored for UDP
	Payload  int            // transport payload length in bytes, filled with a pattern
	Data     []byte         // the payload itself; when set, Payload is ignored
	TOS      uint8          // IPv4 TOS / IPv6 traffic class
	TTL      uint8          // IPv4 TTL / IPv6 hop limit; 0 means 64
	Seq, Ack uint32         // TCP sequence and acknowledgement numbers
}

// IPLen is the packet's length at layer 3: the IPv4 total length, or the
// IPv6 header plus its payload length. It is what IPFIX octetDeltaCount
// counts (RFC 7012: "octets in incoming packets ... including IP header(s)
// and IP payload").
func (p Packet) IPLen() int {
	l := p.payloadLen() + udpHeaderLen
	if p.Proto == ProtoTCP {
		l = p.payloadLen() + tcpHeaderLen
	}
	if p.Src.Addr().Is4() {
		return l + ipv4HeaderLen
	}
	return l + ipv6HeaderLen
}

func (p Packet) payloadLen() int {
	if p.Data != nil {
		return len(p.Data)
	}
	return p.Payload
}

// LinkPayloadLen is what follows the Ethernet header in the packet's
// frame: the IP packet plus the padding that brings a short frame up to
// the Ethernet minimum. softflowd counts this length (see Totals).
func (p Packet) LinkPayloadLen() int {
	return max(p.IPLen(), ethMinFrame-ethHeaderLen)
}

// Frame builds the packet as an Ethernet II frame with valid IP, TCP and
// UDP checksums, padded to the Ethernet minimum.
func (p Packet) Frame() ([]byte, error) {
	v4 := p.Src.Addr().Is4()
	if v4 != p.Dst.Addr().Is4() || !p.Src.Addr().IsValid() || !p.Dst.Addr().IsValid() {
		return nil, fmt.Errorf("peers: packet %s -> %s mixes address families", p.Src, p.Dst)
	}
	if p.Proto != ProtoTCP && p.Proto != ProtoUDP {
		return nil, fmt.Errorf("peers: protocol %d not generated", p.Proto)
	}
	if p.payloadLen() < 0 || p.IPLen() > 65535 {
		return nil, fmt.Errorf("peers: payload of %d bytes does not fit one IP packet", p.payloadLen())
	}
	ipLen := p.IPLen()
	n := max(ethHeaderLen+ipLen, ethMinFrame)
	f := make([]byte, n)

	// Locally administered MACs; the exporters do not look at them.
	copy(f[0:6], []byte{0x02, 0, 0, 0, 0, 0x02})
	copy(f[6:12], []byte{0x02, 0, 0, 0, 0, 0x01})
	ttl := p.TTL
	if ttl == 0 {
		ttl = 64
	}
	ip := f[ethHeaderLen : ethHeaderLen+ipLen]
	var l4 []byte
	if v4 {
		binary.BigEndian.PutUint16(f[12:], 0x0800)
		ip[0] = 0x45
		ip[1] = p.TOS
		binary.BigEndian.PutUint16(ip[2:], uint16(ipLen))
		binary.BigEndian.PutUint16(ip[6:], 0x4000) // DF, no fragments
		ip[8] = ttl
		ip[9] = p.Proto
		s, d := p.Src.Addr().As4(), p.Dst.Addr().As4()
		copy(ip[12:16], s[:])
		copy(ip[16:20], d[:])
		binary.BigEndian.PutUint16(ip[10:], checksum(0, ip[:ipv4HeaderLen]))
		l4 = ip[ipv4HeaderLen:]
	} else {
		binary.BigEndian.PutUint16(f[12:], 0x86dd)
		binary.BigEndian.PutUint32(ip[0:], 6<<28|uint32(p.TOS)<<20)
		binary.BigEndian.PutUint16(ip[4:], uint16(ipLen-ipv6HeaderLen))
		ip[6] = p.Proto
		ip[7] = ttl
		s, d := p.Src.Addr().As16(), p.Dst.Addr().As16()
		copy(ip[8:24], s[:])
		copy(ip[24:40], d[:])
		l4 = ip[ipv6HeaderLen:]
	}

	binary.BigEndian.PutUint16(l4[0:], p.Src.Port())
	binary.BigEndian.PutUint16(l4[2:], p.Dst.Port())
	var payload []byte
	csumAt := 0
	if p.Proto == ProtoTCP {
		binary.BigEndian.PutUint32(l4[4:], p.Seq)
		binary.BigEndian.PutUint32(l4[8:], p.Ack)
		l4[12] = (tcpHeaderLen / 4) << 4
		l4[13] = p.Flags
		binary.BigEndian.PutUint16(l4[14:], 65535) // window
		payload = l4[tcpHeaderLen:]
		csumAt = 16
	} else {
		binary.BigEndian.PutUint16(l4[4:], uint16(len(l4)))
		payload = l4[udpHeaderLen:]
		csumAt = 6
	}
	if p.Data != nil {
		copy(payload, p.Data)
	} else {
		for i := range payload {
			payload[i] = byte(i)
		}
	}
	sum := checksum(pseudoHeaderSum(p, len(l4)), l4)
	if p.Proto == ProtoUDP && sum == 0 {
		sum = 0xffff // RFC 768: a computed zero is sent as all ones
	}
	binary.BigEndian.PutUint16(l4[csumAt:], sum)
	return f, nil
}

// pseudoHeaderSum is the unfolded one's complement sum of the TCP/UDP
// pseudo-header (RFC 9293 §3.1, RFC 8200 §8.1).
func pseudoHeaderSum(p Packet, l4Len int) uint32 {
	var s uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			s += uint32(binary.BigEndian.Uint16(b[i:]))
		}
	}
	if p.Src.Addr().Is4() {
		a, b := p.Src.Addr().As4(), p.Dst.Addr().As4()
		add(a[:])
		add(b[:])
	} else {
		a, b := p.Src.Addr().As16(), p.Dst.Addr().As16()
		add(a[:])
		add(b[:])
	}
	s += uint32(p.Proto) + uint32(l4Len)
	return s
}

// checksum folds the Internet checksum (RFC 1071) of b on top of an
// initial unfolded sum.
func checksum(initial uint32, b []byte) uint16 {
	s := initial
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return ^uint16(s)
}
