package ipfix

import (
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/netlens/netlens/pkg/ingest/udpsock"
)

// readUDP is one socket's reader: it reads, counts, checks the allow-list
// and hands a copy of each datagram to its exporter's worker. It never
// decodes.
func (s *Server) readUDP(c *net.UDPConn) {
	defer s.readersWG.Done()
	buf := make([]byte, 64<<10)
	oob := make([]byte, udpsock.OOBLen)
	var lastDrops uint32
	if s.opt.readGate != nil {
		select {
		case <-s.opt.readGate:
		case <-s.quit:
		}
	}
	for {
		n, oobn, _, from, err := c.ReadMsgUDPAddrPort(buf, oob)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.board.Add(CounterUDPReadErrors, 1)
			s.logEvery("udp-read", "IPFIX UDP read failed", "error", err)
			time.Sleep(10 * time.Millisecond) // a persistent error must not spin a core
			continue
		}
		if oobn > 0 {
			if d, ok, _ := udpsock.ControlMessages(oob[:oobn]); ok {
				if lost := d - lastDrops; lost > 0 { // uint32 arithmetic survives the wrap
					s.count.socketOverflow.Add(uint64(lost))
				}
				lastDrops = d
			}
		}
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		s.count.udpDatagrams.Add(1)
		s.count.udpBytes.Add(uint64(n))
		if s.allowed != nil && !s.allowed(from.Addr()) {
			s.notAllowed(from.Addr())
			continue
		}
		nowMs := s.nowMs()
		w := s.workers[s.shard(from)]
		if len(w.q) == cap(w.q) { // overloaded: drop before paying for a copy
			s.queueFull(w, from, buf[:n], nowMs)
			continue
		}
		p := getBuf(n)
		copy(*p, buf[:n])
		select {
		case w.q <- item{buf: p, from: from, rcvMs: nowMs}:
		default:
			putBuf(p)
			s.queueFull(w, from, buf[:n], nowMs)
		}
	}
}
