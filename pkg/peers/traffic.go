package peers

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"time"

	"github.com/netlens/netlens/pkg/pcap"
)

// Key is a unidirectional flow's 5-tuple, the unit the exporters count by.
type Key struct {
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
	Proto            uint8
}

func (k Key) String() string {
	return fmt.Sprintf("%d %s -> %s",
		k.Proto, netip.AddrPortFrom(k.Src, k.SrcPort), netip.AddrPortFrom(k.Dst, k.DstPort))
}

// Reverse is the 5-tuple of the other direction.
func (k Key) Reverse() Key {
	return Key{Src: k.Dst, Dst: k.Src, SrcPort: k.DstPort, DstPort: k.SrcPort, Proto: k.Proto}
}

func keyCompare(a, b Key) int {
	return cmp.Or(
		a.Src.Compare(b.Src), a.Dst.Compare(b.Dst),
		cmp.Compare(a.SrcPort, b.SrcPort), cmp.Compare(a.DstPort, b.DstPort),
		cmp.Compare(a.Proto, b.Proto))
}

// Totals is what one 5-tuple holds in the generated pcap.
type Totals struct {
	Packets uint64
	Bytes   uint64 // sum of IPLen: layer 3, IP header included
	// LinkBytes is the sum of LinkPayloadLen: Bytes plus the Ethernet
	// padding of frames shorter than 60 bytes. softflowd counts this: it
	// adds the capture's original length minus the link header
	// (softflowd.c flow_cb: phdr->len - s), not the IP total length.
	LinkBytes uint64
	FirstMs   int64 // capture time of the first and last packet, unix ms
	LastMs    int64
	Flags     uint8 // TCP flags ORed over the packets
	TOS       uint8
}

// TimedPacket is a packet and the time it was captured.
type TimedPacket struct {
	Time time.Time
	Packet
}

// Traffic is a generated capture and, per 5-tuple, what it holds.
type Traffic struct {
	Packets []TimedPacket // in capture order
	Flows   map[Key]*Totals
}

// Keys returns the 5-tuples in a stable order.
func (t *Traffic) Keys() []Key {
	ks := make([]Key, 0, len(t.Flows))
	for k := range t.Flows {
		ks = append(ks, k)
	}
	slices.SortFunc(ks, keyCompare)
	return ks
}

// Conversation returns the first and last packet time (unix ms) of k
// and its reverse together. Both exporters keep one bidirectional entry
// per conversation and give each direction's record the entry's start
// and end times.
func (t *Traffic) Conversation(k Key) (firstMs, lastMs int64) {
	f := t.Flows[k]
	if f == nil {
		return 0, 0
	}
	firstMs, lastMs = f.FirstMs, f.LastMs
	if r := t.Flows[k.Reverse()]; r != nil {
		firstMs, lastMs = min(firstMs, r.FirstMs), max(lastMs, r.LastMs)
	}
	return firstMs, lastMs
}

// Sum returns the packet and byte totals over all flows.
func (t *Traffic) Sum() (packets, bytes uint64) {
	for _, f := range t.Flows {
		packets += f.Packets
		bytes += f.Bytes
	}
	return packets, bytes
}

// WritePcap writes the packets as an Ethernet capture.
func (t *Traffic) WritePcap(w io.Writer) error {
	bw := bufio.NewWriter(w)
	pw, err := pcap.NewWriter(bw, pcap.LinkEthernet)
	if err != nil {
		return err
	}
	for _, p := range t.Packets {
		f, err := p.Frame()
		if err != nil {
			return err
		}
		if err := pw.WritePacket(p.Time, f); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// conversation describes traffic between a client and a server: a TCP
// connection (handshake, data both ways, optionally a FIN close) or UDP
// datagrams each way.
type conversation struct {
	client, server netip.AddrPort
	proto          uint8
	tos            uint8
	startMs        int64 // offset from the capture start
	gapMs          int64 // between consecutive packets
	up, down       []int // payload sizes client->server and server->client, alternating where both remain
	close          bool  // TCP: end with FIN from both sides and a last ACK
}

// Generate builds the test traffic: IPv4 and IPv6, TCP connections that
// open with SYN and close with FIN, one TCP connection left open (so an
// exporter must expire it when the capture ends), and UDP request/response
// and one-way streams. Conversations overlap in time. All counts follow
// from the packets generated, never from constants.
func Generate(start time.Time) *Traffic {
	ap := netip.MustParseAddrPort
	rep := func(n, size int) []int {
		s := make([]int, n)
		for i := range s {
			s[i] = size
		}
		return s
	}
	convs := []conversation{
		{client: ap("10.0.1.1:40001"), server: ap("10.0.2.1:443"), proto: ProtoTCP, tos: 0x00,
			startMs: 0, gapMs: 7, up: []int{517, 126, 300, 58}, down: []int{1400, 1400, 1400, 987, 45}, close: true},
		{client: ap("10.0.1.2:40002"), server: ap("10.0.2.1:80"), proto: ProtoTCP, tos: 0x28,
			startMs: 40, gapMs: 11, up: []int{310}, down: []int{1448, 1448, 600}, close: true},
		{client: ap("10.0.1.3:40003"), server: ap("10.0.2.2:22"), proto: ProtoTCP, tos: 0x10,
			startMs: 15, gapMs: 13, up: rep(12, 36), down: rep(9, 84), close: false},
		{client: ap("[2001:db8:1::1]:40004"), server: ap("[2001:db8:2::1]:443"), proto: ProtoTCP, tos: 0x00,
			startMs: 25, gapMs: 9, up: []int{583, 80}, down: []int{1220, 1220, 1220, 310}, close: true},
		{client: ap("[2001:db8:1::2]:40005"), server: ap("[2001:db8:2::2]:8080"), proto: ProtoTCP, tos: 0xb8,
			startMs: 60, gapMs: 5, up: rep(6, 200), down: rep(3, 900), close: false},
		{client: ap("10.0.1.1:5353"), server: ap("10.0.2.53:53"), proto: ProtoUDP,
			startMs: 5, gapMs: 17, up: []int{33, 41, 29, 37}, down: []int{97, 145, 61, 233}},
		{client: ap("10.0.1.4:9999"), server: ap("10.0.2.3:4789"), proto: ProtoUDP, tos: 0x20,
			startMs: 10, gapMs: 3, up: rep(50, 1000)},
		{client: ap("[2001:db8:1::3]:123"), server: ap("[2001:db8:2::123]:123"), proto: ProtoUDP,
			startMs: 30, gapMs: 19, up: rep(3, 48), down: rep(3, 48)},
		{client: ap("[2001:db8:1::4]:50000"), server: ap("[2001:db8:2::4]:5004"), proto: ProtoUDP, tos: 0x88,
			startMs: 50, gapMs: 4, up: rep(30, 172)},
		// The client's address is above the server's: an exporter that
		// orders a conversation by address (softflowd's biflow records)
		// names the server first here, unlike in every other conversation.
		{client: ap("10.0.9.9:40010"), server: ap("10.0.0.5:8443"), proto: ProtoTCP, tos: 0x48,
			startMs: 35, gapMs: 6, up: []int{220, 90}, down: []int{1100, 640, 12}, close: true},
	}

	t := &Traffic{Flows: map[Key]*Totals{}}
	for _, c := range convs {
		for _, tp := range c.packets(start) {
			t.add(tp)
		}
	}
	// A stable sort keeps each conversation's own order where two
	// packets share a millisecond.
	slices.SortStableFunc(t.Packets, func(a, b TimedPacket) int { return a.Time.Compare(b.Time) })
	return t
}

// Sample returns the traffic made of the packets whose index in capture
// order (from 0) keep accepts, with its own totals.
func (t *Traffic) Sample(keep func(i int) bool) *Traffic {
	s := &Traffic{Flows: map[Key]*Totals{}}
	for i, p := range t.Packets {
		if keep(i) {
			s.add(p)
		}
	}
	return s
}

// Sizes returns the layer-3 lengths (IPLen) of k's packets.
func (t *Traffic) Sizes(k Key) []uint64 {
	var out []uint64
	for _, p := range t.Packets {
		if p.key() == k {
			out = append(out, uint64(p.IPLen()))
		}
	}
	return out
}

func (p Packet) key() Key {
	return Key{Src: p.Src.Addr(), Dst: p.Dst.Addr(), SrcPort: p.Src.Port(), DstPort: p.Dst.Port(), Proto: p.Proto}
}

func (t *Traffic) add(tp TimedPacket) {
	t.Packets = append(t.Packets, tp)
	k := tp.key()
	f := t.Flows[k]
	ms := tp.Time.UnixMilli()
	if f == nil {
		f = &Totals{FirstMs: ms, TOS: tp.TOS}
		t.Flows[k] = f
	}
	f.Packets++
	f.Bytes += uint64(tp.IPLen())
	f.LinkBytes += uint64(tp.LinkPayloadLen())
	f.LastMs = ms
	if tp.Proto == ProtoTCP {
		f.Flags |= tp.Flags
	}
}

func (c conversation) packets(start time.Time) []TimedPacket {
	var out []TimedPacket
	at := start.Add(time.Duration(c.startMs) * time.Millisecond)
	emit := func(up bool, flags uint8, payload int, seq, ack uint32) {
		p := Packet{Src: c.client, Dst: c.server, Proto: c.proto, Flags: flags, Payload: payload,
			TOS: c.tos, Seq: seq, Ack: ack}
		if !up {
			p.Src, p.Dst = c.server, c.client
		}
		out = append(out, TimedPacket{Time: at, Packet: p})
		at = at.Add(time.Duration(c.gapMs) * time.Millisecond)
	}
	if c.proto == ProtoUDP {
		for i := 0; i < max(len(c.up), len(c.down)); i++ {
			if i < len(c.up) {
				emit(true, 0, c.up[i], 0, 0)
			}
			if i < len(c.down) {
				emit(false, 0, c.down[i], 0, 0)
			}
		}
		return out
	}

	// TCP: sequence numbers advance with the data so tshark sees a sane
	// connection; the exporters only count packets, bytes and flags.
	cseq, sseq := uint32(1000), uint32(5000)
	emit(true, FlagSYN, 0, cseq, 0)
	emit(false, FlagSYN|FlagACK, 0, sseq, cseq+1)
	cseq++
	sseq++
	emit(true, FlagACK, 0, cseq, sseq)
	for i := 0; i < max(len(c.up), len(c.down)); i++ {
		if i < len(c.up) {
			emit(true, FlagPSH|FlagACK, c.up[i], cseq, sseq)
			cseq += uint32(c.up[i])
		}
		if i < len(c.down) {
			emit(false, FlagPSH|FlagACK, c.down[i], sseq, cseq)
			sseq += uint32(c.down[i])
		}
	}
	if c.close {
		emit(true, FlagFIN|FlagACK, 0, cseq, sseq)
		cseq++
		emit(false, FlagFIN|FlagACK, 0, sseq, cseq)
		sseq++
		emit(true, FlagACK, 0, cseq, sseq)
	}
	return out
}
