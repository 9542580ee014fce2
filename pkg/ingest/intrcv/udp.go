package intrcv

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// listenUDP opens n sockets on one port with SO_REUSEPORT so the kernel
// spreads senders over n readers. Each asks for rcvbuf bytes of receive
// buffer and turns SO_RXQ_OVFL on, so every datagram it delivers carries
// the socket's running count of datagrams dropped for want of buffer.
// granted is what the kernel gave the first socket.
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
			// With port 0 the first socket picked the port: the others join it.
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
	// SO_RCVBUF stops at net.core.rmem_max; with CAP_NET_ADMIN the forced
	// variant goes past it. Without the capability it fails and the capped
	// size stays, which readBufferGranted tells.
	if got, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF); err == nil && got/2 < rcvbuf {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, rcvbuf)
	}
	return nil
}

// readBufferGranted is the receive buffer in the unit it was asked in:
// Linux doubles the asked size for its bookkeeping and reports the double.
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
// cumulative count of dropped datagrams. The kernel only adds it once the
// count is above zero.
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

// pooledLen is the size of pooled datagram buffers: reports are a few
// hundred bytes (headers, a packet's first bytes, an INT stack); longer
// ones get a buffer of their own.
const pooledLen = 2048

var bufPool = sync.Pool{New: func() any { b := make([]byte, pooledLen); return &b }}

func getBuf(n int) *[]byte {
	if n > pooledLen {
		b := make([]byte, n)
		return &b
	}
	p := bufPool.Get().(*[]byte)
	*p = (*p)[:n]
	return p
}

func putBuf(p *[]byte) {
	if cap(*p) == pooledLen {
		bufPool.Put(p)
	}
}

// readUDP is one socket's reader: it reads, counts, checks the
// allow-list and queues a copy of each datagram to its switch's worker.
// It never decodes.
func (r *Receiver) readUDP(c *net.UDPConn) {
	defer r.readersWG.Done()
	buf := make([]byte, 64<<10)
	oob := make([]byte, unix.CmsgSpace(4)*2)
	var lastDrops uint32
	for {
		n, oobn, _, from, err := c.ReadMsgUDPAddrPort(buf, oob)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			r.count.readErrors.Add(1)
			r.logEvery("udp-read", "INT UDP read failed", "error", err)
			time.Sleep(10 * time.Millisecond) // a lasting error must not spin a core
			continue
		}
		if oobn > 0 {
			if d, ok := overflowCount(oob[:oobn]); ok {
				if lost := d - lastDrops; lost > 0 { // uint32 arithmetic survives the wrap
					r.count.socketOverflow.Add(uint64(lost))
				}
				lastDrops = d
			}
		}
		addr := from.Addr().Unmap()
		r.count.datagrams.Add(1)
		r.count.bytes.Add(uint64(n))
		if !r.allowedAddr(addr) {
			r.notAllowed(addr)
			continue
		}
		nowMs := r.nowMs()
		w := r.workers[r.shard(addr)]
		if len(w.q) == cap(w.q) { // overloaded: drop before paying for a copy
			r.queueFull(w, addr, buf[:n], nowMs)
			continue
		}
		p := getBuf(n)
		copy(*p, buf[:n])
		select {
		case w.q <- item{buf: p, from: addr, rcvMs: nowMs}:
		default:
			putBuf(p)
			r.queueFull(w, addr, buf[:n], nowMs)
		}
	}
}

// shard is the worker of a switch address (FNV-1a). The port is left out
// on purpose: a switch's reports must meet one SeqTracker whatever source
// port its line cards use.
func (r *Receiver) shard(a netip.Addr) int {
	if len(r.workers) == 1 {
		return 0
	}
	b := a.As16()
	h := uint32(2166136261)
	for _, x := range b {
		h = (h ^ uint32(x)) * 16777619
	}
	return int(h % uint32(len(r.workers)))
}

// peekSwitch reads the switch id a report's fixed part names without
// decoding the rest: v1.0 always has one, v0.5 only in a drop or
// switch-local header. It names queue_full drops.
func peekSwitch(b []byte) (uint32, bool) {
	if len(b) == 0 {
		return 0, false
	}
	switch b[0] >> 4 {
	case 1:
		if len(b) >= 8 {
			return binary.BigEndian.Uint32(b[4:]), true
		}
	case 0:
		if np := b[0] & 0x0f; (np == 1 || np == 2) && len(b) >= 16 {
			return binary.BigEndian.Uint32(b[12:]), true
		}
	}
	return 0, false
}
