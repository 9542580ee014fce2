package pcap

import (
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"
	"os"
)

// Limits of TCP reassembly: a capture is test input, but a corrupt or
// hostile one must still not take unbounded memory.
const (
	MaxStreamBytes   = 1 << 28 // bytes kept per direction of a connection
	MaxPendingChunks = 1 << 14 // out-of-order segments held per direction
)

// Stream is the reassembled payload of one direction of one TCP connection.
type Stream struct {
	Src, Dst netip.AddrPort
	FirstNs  int64  // capture time of the first packet of the connection seen
	Data     []byte // payload in sequence order, up to the first hole
	// Retransmitted counts payload bytes dropped because they had been seen
	// already; Missing is true when a hole (a segment never captured) cut the
	// stream short, so Data ends before the sender's last byte.
	Retransmitted int
	Missing       bool

	next    uint32 // next expected sequence number
	started bool
	pending []chunk
}

type chunk struct {
	seq  uint32
	data []byte
}

// TCPSkipped counts packets that did not contribute to a stream.
type TCPSkipped struct {
	NotIP, NotTCP, Fragment, Truncated, BadHeader, Overflow int
}

// TCPStreams reads a whole capture and returns every TCP connection
// direction that carried payload, in the order their first packet appears.
// A SYN on a 4-tuple that already carried data starts a new Stream (the
// port pair was reused). Retransmitted and overlapping bytes keep the first
// copy seen; segments beyond a hole wait until it is filled, and a hole never
// filled ends Data there (Missing).
func TCPStreams(r io.Reader) ([]*Stream, TCPSkipped, error) {
	var sk TCPSkipped
	p, err := NewReader(r)
	if err != nil {
		return nil, sk, err
	}
	var all []*Stream
	open := map[[2]netip.AddrPort]*Stream{}
	for {
		ts, pkt, err := p.nextRecord()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, sk, err
		}
		if pkt == nil {
			sk.Truncated++
			continue
		}
		seg, ok := parseTCP(p.linkType, pkt, &sk)
		if !ok {
			continue
		}
		key := [2]netip.AddrPort{seg.src, seg.dst}
		s := open[key]
		if seg.syn && s != nil && len(s.Data) > 0 {
			s.finish()
			s = nil
		}
		if s == nil {
			s = &Stream{Src: seg.src, Dst: seg.dst, FirstNs: ts}
			open[key] = s
			all = append(all, s)
		}
		if err := s.add(seg); err != nil {
			sk.Overflow++
			return nil, sk, err
		}
	}
	out := all[:0]
	for _, s := range all {
		s.finish()
		if len(s.Data) > 0 {
			out = append(out, s)
		}
	}
	return out, sk, nil
}

// ReadTCPFile is TCPStreams on a file.
func ReadTCPFile(path string) ([]*Stream, TCPSkipped, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, TCPSkipped{}, err
	}
	defer f.Close()
	return TCPStreams(f)
}

func (s *Stream) add(seg tcpSegment) error {
	if seg.syn {
		// The SYN consumes one sequence number before the first payload byte.
		s.next, s.started = seg.seq+1, true
		s.pending = s.pending[:0]
		if len(seg.payload) == 0 {
			return nil
		}
		seg.seq++
	}
	if len(seg.payload) == 0 {
		return nil
	}
	if !s.started {
		// Capture began mid-connection: the first payload seen starts it.
		s.next, s.started = seg.seq, true
	}
	if int32(seg.seq-s.next) > 0 {
		if len(s.pending) >= MaxPendingChunks {
			return fmt.Errorf("pcap: tcp %v -> %v: more than %d out-of-order segments", s.Src, s.Dst, MaxPendingChunks)
		}
		s.pending = append(s.pending, chunk{seq: seg.seq, data: append([]byte(nil), seg.payload...)})
		return nil
	}
	if err := s.appendAt(seg.seq, seg.payload); err != nil {
		return err
	}
	// A segment that arrived early may now be next; repeat until none fits.
	for progressed := true; progressed; {
		progressed = false
		for i := 0; i < len(s.pending); i++ {
			c := s.pending[i]
			if int32(c.seq-s.next) > 0 {
				continue
			}
			s.pending = append(s.pending[:i], s.pending[i+1:]...)
			i--
			if err := s.appendAt(c.seq, c.data); err != nil {
				return err
			}
			progressed = true
		}
	}
	return nil
}

// appendAt appends the part of data (starting at seq, seq <= next) that
// lies beyond next; what is before next was seen already.
func (s *Stream) appendAt(seq uint32, data []byte) error {
	dup := int(s.next - seq)
	if dup >= len(data) {
		s.Retransmitted += len(data)
		return nil
	}
	s.Retransmitted += dup
	data = data[dup:]
	if len(s.Data)+len(data) > MaxStreamBytes {
		return fmt.Errorf("pcap: tcp %v -> %v: stream exceeds %d bytes", s.Src, s.Dst, MaxStreamBytes)
	}
	s.Data = append(s.Data, data...)
	s.next += uint32(len(data))
	return nil
}

func (s *Stream) finish() {
	if len(s.pending) > 0 {
		s.Missing = true
		s.pending = nil
	}
}

type tcpSegment struct {
	src, dst netip.AddrPort
	seq      uint32
	syn      bool
	payload  []byte
}

func parseTCP(linkType uint32, pkt []byte, sk *TCPSkipped) (tcpSegment, bool) {
	et, pkt, err := NetworkLayer(linkType, pkt)
	if err == ErrNotIP {
		sk.NotIP++
		return tcpSegment{}, false
	}
	if err != nil {
		sk.BadHeader++
		return tcpSegment{}, false
	}
	var src, dst netip.Addr
	var body []byte
	if et == 0x0800 {
		if len(pkt) < 20 || pkt[0]>>4 != 4 {
			sk.BadHeader++
			return tcpSegment{}, false
		}
		ihl := int(pkt[0]&0x0f) * 4
		total := int(binary.BigEndian.Uint16(pkt[2:4]))
		if ihl < 20 || total < ihl || total > len(pkt) {
			sk.BadHeader++
			return tcpSegment{}, false
		}
		if binary.BigEndian.Uint16(pkt[6:8])&0x3fff != 0 {
			sk.Fragment++
			return tcpSegment{}, false
		}
		if pkt[9] != 6 {
			sk.NotTCP++
			return tcpSegment{}, false
		}
		src, dst = netip.AddrFrom4([4]byte(pkt[12:16])), netip.AddrFrom4([4]byte(pkt[16:20]))
		body = pkt[ihl:total]
	} else {
		if len(pkt) < 40 || pkt[0]>>4 != 6 {
			sk.BadHeader++
			return tcpSegment{}, false
		}
		payLen := int(binary.BigEndian.Uint16(pkt[4:6]))
		if 40+payLen > len(pkt) {
			sk.BadHeader++
			return tcpSegment{}, false
		}
		next := pkt[6]
		src, dst = netip.AddrFrom16([16]byte(pkt[8:24])), netip.AddrFrom16([16]byte(pkt[24:40]))
		body = pkt[40 : 40+payLen]
		for i := 0; next != 6; i++ {
			switch {
			case i == 8:
				sk.BadHeader++
				return tcpSegment{}, false
			case next == 0 || next == 43 || next == 60:
				if len(body) < 8 || len(body) < (int(body[1])+1)*8 {
					sk.BadHeader++
					return tcpSegment{}, false
				}
				next, body = body[0], body[(int(body[1])+1)*8:]
			case next == 44:
				if len(body) < 8 {
					sk.BadHeader++
					return tcpSegment{}, false
				}
				if binary.BigEndian.Uint16(body[2:4])&0xfff9 != 0 {
					sk.Fragment++
					return tcpSegment{}, false
				}
				next, body = body[0], body[8:]
			default:
				sk.NotTCP++
				return tcpSegment{}, false
			}
		}
	}
	if len(body) < 20 {
		sk.BadHeader++
		return tcpSegment{}, false
	}
	off := int(body[12]>>4) * 4
	if off < 20 || off > len(body) {
		sk.BadHeader++
		return tcpSegment{}, false
	}
	return tcpSegment{
		src:     netip.AddrPortFrom(src, binary.BigEndian.Uint16(body[0:2])),
		dst:     netip.AddrPortFrom(dst, binary.BigEndian.Uint16(body[2:4])),
		seq:     binary.BigEndian.Uint32(body[4:8]),
		syn:     body[13]&0x02 != 0,
		payload: body[off:],
	}, true
}
