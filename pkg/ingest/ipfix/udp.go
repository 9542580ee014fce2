package ipfix

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// listenUDP opens n sockets on one port with SO_REUSEPORT, so the kernel
// spreads exporters over n reader goroutines. Each asks for a receive
// buffer of rcvbuf bytes and has SO_RXQ_OVFL on, so every datagram it
// delivers carries the socket's count of datagrams dropped for want of
// buffer space. granted is what the kernel gave (see readBufferGranted).
func listenUDP(address string, n, rcvbuf int) (conns []*net.UDPConn, granted int, err error) {
	var optErr error
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		if err := c.Control(func(fd uintptr) { optErr = setUDPOptions(int(fd), rcvbuf) }); err != nil {
			return err
		}
		return optErr
	}}
	defer func() {
		if err != nil {
			for _, c := range conns {
				c.Close()
			}
			conns = nil
		}
	}()
	addr := address
	for i := range n {
		pc, err := lc.ListenPacket(context.Background(), "udp", addr)
		if err != nil {
			return conns, 0, fmt.Errorf("UDP socket %d of %d on %s: %w", i+1, n, addr, err)
		}
		c := pc.(*net.UDPConn)
		conns = append(conns, c)
		if i == 0 {
			// With port 0 the first socket chose the port; the others join it.
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return conns, 0, err
			}
			addr = net.JoinHostPort(host, strconv.Itoa(c.LocalAddr().(*net.UDPAddr).Port))
			if granted, err = readBufferGranted(c); err != nil {
				return conns, 0, err
			}
		}
	}
	return conns, granted, nil
}

func setUDPOptions(fd, rcvbuf int) error {
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
		return fmt.Errorf("SO_REUSEPORT: %w", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RXQ_OVFL, 1); err != nil {
		return fmt.Errorf("SO_RXQ_OVFL: %w", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, rcvbuf); err != nil {
		return fmt.Errorf("SO_RCVBUF: %w", err)
	}
	// SO_RCVBUF is capped at net.core.rmem_max; a process with
	// CAP_NET_ADMIN may go past it. Without the capability this fails and
	// the capped size stays, which readBufferGranted reports.
	if got, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF); err == nil && got/2 < rcvbuf {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, rcvbuf)
	}
	return nil
}

// readBufferGranted is the receive buffer the kernel gave, in the unit it
// was asked in: Linux doubles the asked size to cover its bookkeeping and
// reports the doubled figure.
func readBufferGranted(c *net.UDPConn) (int, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var got int
	var gerr error
	if err := rc.Control(func(fd uintptr) { got, gerr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF) }); err != nil {
		return 0, err
	}
	return got / 2, gerr
}

// overflowCount finds the SO_RXQ_OVFL control message: the socket's
// cumulative count of datagrams the kernel dropped. The kernel adds it
// only once the count is non-zero.
func overflowCount(oob []byte) (uint32, bool) {
	hdrLen := unix.CmsgLen(0)
	for len(oob) >= hdrLen {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := int(h.Len)
		if l < hdrLen || l > len(oob) {
			return 0, false
		}
		if h.Level == unix.SOL_SOCKET && h.Type == unix.SO_RXQ_OVFL && l >= hdrLen+4 {
			return binary.NativeEndian.Uint32(oob[hdrLen:]), true
		}
		next := unix.CmsgSpace(l - hdrLen)
		if next > len(oob) {
			return 0, false
		}
		oob = oob[next:]
	}
	return 0, false
}

// readUDP is one socket's reader: it reads, counts, checks the allow-list
// and hands a copy of each datagram to its exporter's worker. It never
// decodes.
func (s *Server) readUDP(c *net.UDPConn) {
	defer s.readersWG.Done()
	buf := make([]byte, 64<<10)
	oob := make([]byte, unix.CmsgSpace(4)*2)
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
			if d, ok := overflowCount(oob[:oobn]); ok {
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
