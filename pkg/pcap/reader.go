// Package pcap reads classic libpcap capture files far enough to get the UDP
// datagrams out of them: enough for decoder tests and replay tools to feed
// real exporter captures (IPFIX, NetFlow, sFlow) through our code. It knows
// the link types real captures use (Ethernet with VLAN tags, Linux cooked
// v1 and v2, raw IP, BSD loopback), IPv4 and IPv6 with extension headers.
// Packets that are not complete, unfragmented UDP are skipped and counted,
// never an error: a capture mixes protocols (BGP next to IPFIX).
//
// pcapng is not read; convert with `editcap -F pcap` first.
package pcap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
)

// Link types (https://www.tcpdump.org/linktypes.html).
const (
	LinkNull      = 0   // BSD loopback: 4-byte address family in the writer's byte order
	LinkEthernet  = 1   // Ethernet II, optionally 802.1Q / 802.1ad tagged
	LinkRaw       = 101 // raw IPv4 or IPv6, version from the first nibble
	LinkLinuxSLL  = 113 // Linux cooked capture v1, 16-byte header
	LinkIPv4      = 228
	LinkIPv6      = 229
	LinkLinuxSLL2 = 276 // Linux cooked capture v2, 20-byte header
)

// MaxSnapLen bounds one packet record; a larger length means the file is
// corrupt (or not a capture), and reading it would allocate without bound.
const MaxSnapLen = 1 << 18

// Datagram is one UDP datagram found in the capture.
type Datagram struct {
	TimeNs  int64 // capture time, nanoseconds since the epoch
	Src     netip.AddrPort
	Dst     netip.AddrPort
	Payload []byte
}

// Skipped counts packets that were not returned, by why.
type Skipped struct {
	NotIP, NotUDP, Fragment, Truncated, BadHeader int
}

// Reader returns the UDP datagrams of a pcap stream in file order.
type Reader struct {
	r        io.Reader
	order    binary.ByteOrder
	nanos    bool
	linkType uint32
	snapLen  uint32
	hdr      [16]byte
	buf      []byte
	skipped  Skipped
}

// NewReader reads the file header. It accepts both byte orders and both
// microsecond and nanosecond timestamp variants.
func NewReader(r io.Reader) (*Reader, error) {
	var h [24]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, fmt.Errorf("pcap: file header: %w", err)
	}
	p := &Reader{r: r}
	switch binary.LittleEndian.Uint32(h[:4]) {
	case 0xa1b2c3d4:
		p.order = binary.LittleEndian
	case 0xa1b23c4d:
		p.order, p.nanos = binary.LittleEndian, true
	case 0xd4c3b2a1:
		p.order = binary.BigEndian
	case 0x4d3cb2a1:
		p.order, p.nanos = binary.BigEndian, true
	case 0x0a0d0d0a:
		return nil, errors.New("pcap: pcapng files are not supported, convert with editcap -F pcap")
	default:
		return nil, fmt.Errorf("pcap: unknown magic %#x", h[:4])
	}
	p.snapLen = p.order.Uint32(h[16:20])
	// The top bits of the link-type word may carry FCS information (pcap-linktype(7)).
	p.linkType = p.order.Uint32(h[20:24]) & 0x0fffffff
	switch p.linkType {
	case LinkNull, LinkEthernet, LinkRaw, LinkLinuxSLL, LinkIPv4, LinkIPv6, LinkLinuxSLL2:
	default:
		return nil, fmt.Errorf("pcap: link type %d not supported", p.linkType)
	}
	return p, nil
}

// LinkType is the capture's link type.
func (p *Reader) LinkType() uint32 { return p.linkType }

// Skipped says how many packets were passed over so far, by reason.
func (p *Reader) Skipped() Skipped { return p.skipped }

// Next returns the next UDP datagram, or io.EOF after the last packet. The
// Payload is valid until the following call; copy it to keep it.
func (p *Reader) Next() (Datagram, error) {
	for {
		ts, pkt, err := p.nextRecord()
		if err != nil {
			return Datagram{}, err
		}
		if pkt == nil {
			p.skipped.Truncated++
			continue
		}
		d, ok := p.datagram(pkt)
		if !ok {
			continue
		}
		d.TimeNs = ts
		return d, nil
	}
}

// nextRecord returns the next packet record and its time; pkt is nil for a
// record cut short by the snap length. pkt is valid until the next call.
func (p *Reader) nextRecord() (ts int64, pkt []byte, err error) {
	if _, err := io.ReadFull(p.r, p.hdr[:]); err != nil {
		if err == io.EOF {
			return 0, nil, io.EOF
		}
		return 0, nil, fmt.Errorf("pcap: record header: %w", err)
	}
	sec := int64(p.order.Uint32(p.hdr[0:4]))
	frac := int64(p.order.Uint32(p.hdr[4:8]))
	capLen := p.order.Uint32(p.hdr[8:12])
	origLen := p.order.Uint32(p.hdr[12:16])
	if capLen > MaxSnapLen {
		return 0, nil, fmt.Errorf("pcap: record of %d bytes exceeds %d", capLen, MaxSnapLen)
	}
	if cap(p.buf) < int(capLen) {
		p.buf = make([]byte, capLen)
	}
	pkt = p.buf[:capLen]
	if _, err := io.ReadFull(p.r, pkt); err != nil {
		return 0, nil, fmt.Errorf("pcap: record body: %w", io.ErrUnexpectedEOF)
	}
	if !p.nanos {
		frac *= 1000
	}
	if capLen < origLen {
		return sec*1e9 + frac, nil, nil
	}
	return sec*1e9 + frac, pkt, nil
}

// datagram strips the link layer and hands the network layer on.
func (p *Reader) datagram(pkt []byte) (Datagram, bool) {
	etherType, pkt, err := NetworkLayer(p.linkType, pkt)
	switch {
	case err == ErrNotIP:
		p.skipped.NotIP++
		return Datagram{}, false
	case err != nil:
		p.skipped.BadHeader++
		return Datagram{}, false
	case etherType == 0x0800:
		return p.ipv4(pkt)
	default:
		return p.ipv6(pkt)
	}
}

func (p *Reader) ipv4(pkt []byte) (Datagram, bool) {
	if len(pkt) < 20 || pkt[0]>>4 != 4 {
		p.skipped.BadHeader++
		return Datagram{}, false
	}
	ihl := int(pkt[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(pkt[2:4]))
	if ihl < 20 || total < ihl || total > len(pkt) {
		p.skipped.BadHeader++
		return Datagram{}, false
	}
	// More-fragments set or a non-zero offset: not a whole datagram.
	if binary.BigEndian.Uint16(pkt[6:8])&0x3fff != 0 {
		p.skipped.Fragment++
		return Datagram{}, false
	}
	if pkt[9] != 17 {
		p.skipped.NotUDP++
		return Datagram{}, false
	}
	src := netip.AddrFrom4([4]byte(pkt[12:16]))
	dst := netip.AddrFrom4([4]byte(pkt[16:20]))
	return p.udp(pkt[ihl:total], src, dst)
}

func (p *Reader) ipv6(pkt []byte) (Datagram, bool) {
	if len(pkt) < 40 || pkt[0]>>4 != 6 {
		p.skipped.BadHeader++
		return Datagram{}, false
	}
	payLen := int(binary.BigEndian.Uint16(pkt[4:6]))
	if 40+payLen > len(pkt) {
		p.skipped.BadHeader++
		return Datagram{}, false
	}
	next := pkt[6]
	src := netip.AddrFrom16([16]byte(pkt[8:24]))
	dst := netip.AddrFrom16([16]byte(pkt[24:40]))
	body := pkt[40 : 40+payLen]
	// Walk the extension headers; a bounded number keeps a crafted chain cheap.
	for range 8 {
		switch next {
		case 17:
			return p.udp(body, src, dst)
		case 0, 43, 60: // hop-by-hop, routing, destination options
			if len(body) < 8 || len(body) < (int(body[1])+1)*8 {
				p.skipped.BadHeader++
				return Datagram{}, false
			}
			next, body = body[0], body[(int(body[1])+1)*8:]
		case 44: // fragment header
			if len(body) < 8 {
				p.skipped.BadHeader++
				return Datagram{}, false
			}
			if binary.BigEndian.Uint16(body[2:4])&0xfff9 != 0 {
				p.skipped.Fragment++
				return Datagram{}, false
			}
			next, body = body[0], body[8:]
		default:
			p.skipped.NotUDP++
			return Datagram{}, false
		}
	}
	p.skipped.BadHeader++
	return Datagram{}, false
}

func (p *Reader) udp(seg []byte, src, dst netip.Addr) (Datagram, bool) {
	if len(seg) < 8 {
		p.skipped.BadHeader++
		return Datagram{}, false
	}
	n := int(binary.BigEndian.Uint16(seg[4:6]))
	if n < 8 || n > len(seg) {
		p.skipped.BadHeader++
		return Datagram{}, false
	}
	return Datagram{
		Src:     netip.AddrPortFrom(src, binary.BigEndian.Uint16(seg[0:2])),
		Dst:     netip.AddrPortFrom(dst, binary.BigEndian.Uint16(seg[2:4])),
		Payload: seg[8:n],
	}, true
}

// ReadFile returns every UDP datagram of a capture file, each with its own
// copy of the payload.
func ReadFile(path string) ([]Datagram, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var out []Datagram
	for {
		d, err := r.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("%s: %w", path, err)
		}
		d.Payload = append([]byte(nil), d.Payload...)
		out = append(out, d)
	}
}
