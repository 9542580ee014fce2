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

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// listenUDP opens n sockets on one port with SO_REUSEPORT so the kernel
// spreads senders over n readers. Each asks for rcvbuf bytes of receive
// buffer and turns SO_RXQ_OVFL on, so every datagram it delivers carries
// the socket's running count of datagrams dropped for want of buffer.
// granted is what the kernel gave the first socket.
func listenUDP(address string, n, rcvbuf int, gro bool) (conns []*net.UDPConn, granted int, err error) {
	var optErr error
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		if err := c.Control(func(fd uintptr) { optErr = setUDPOptions(int(fd), rcvbuf, gro) }); err != nil {
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

func setUDPOptions(fd, rcvbuf int, gro bool) error {
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
		return fmt.Errorf("SO_REUSEPORT: %w", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RXQ_OVFL, 1); err != nil {
		return fmt.Errorf("SO_RXQ_OVFL: %w", err)
	}
	// UDP_GRO lets the kernel hand over runs of same-sized datagrams from
	// one sender as one buffer (with their size in a control message), one
	// copy and one wakeup for many reports. Kernels without it deliver
	// datagrams one by one, which works the same, only slower.
	if gro {
		_ = unix.SetsockoptInt(fd, unix.IPPROTO_UDP, unix.UDP_GRO, 1)
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

// controlMessages reads what the kernel said about a received buffer:
// SO_RXQ_OVFL, the socket's cumulative count of dropped datagrams (only
// there once it is above zero), and UDP_GRO, the size of each datagram
// when the buffer holds several (the last may be shorter).
func controlMessages(oob []byte) (drops uint32, hasDrops bool, segment int) {
	hdrLen := unix.CmsgLen(0)
	for len(oob) >= hdrLen {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := int(h.Len)
		if l < hdrLen || l > len(oob) {
			return
		}
		switch {
		case h.Level == unix.SOL_SOCKET && h.Type == unix.SO_RXQ_OVFL && l >= hdrLen+4:
			drops, hasDrops = binary.NativeEndian.Uint32(oob[hdrLen:]), true
		case h.Level == unix.IPPROTO_UDP && h.Type == unix.UDP_GRO && l >= hdrLen+2:
			if l >= hdrLen+4 {
				segment = int(binary.NativeEndian.Uint32(oob[hdrLen:]))
			} else {
				segment = int(binary.NativeEndian.Uint16(oob[hdrLen:]))
			}
		}
		next := unix.CmsgSpace(l - hdrLen)
		if next > len(oob) {
			return
		}
		oob = oob[next:]
	}
	return
}

// readBatch is how many buffers one recvmmsg call may fill, and slotLen
// the room of each: the largest UDP payload, as a UDP_GRO buffer holds
// several datagrams up to that.
const (
	readBatch = 32
	slotLen   = 64 << 10
)

// batch is datagrams on their way from a socket to one worker: their
// bytes one after the other in buf, so a batch is one allocation and one
// channel send however many reports it holds.
type batch struct {
	buf []byte
	its []item
}

var batchPool = sync.Pool{New: func() any { return &batch{buf: make([]byte, 0, 32<<10), its: make([]item, 0, readBatch)} }}

func getBatch() *batch { return batchPool.Get().(*batch) }

func putBatch(b *batch) {
	if cap(b.buf) > 1<<20 {
		return // an unusual run of long datagrams: let it go
	}
	b.buf, b.its = b.buf[:0], b.its[:0]
	batchPool.Put(b)
}

func (b *batch) add(from netip.Addr, rcvMs int64, d []byte) {
	off := len(b.buf)
	b.buf = append(b.buf, d...)
	b.its = append(b.its, item{off: int32(off), n: int32(len(d)), from: from, rcvMs: rcvMs})
}

// batchReader is recvmmsg: ipv4.PacketConn and ipv6.PacketConn both have it.
type batchReader interface {
	ReadBatch(ms []ipv4.Message, flags int) (int, error)
}

func newBatchReader(c *net.UDPConn) batchReader {
	if a, ok := c.LocalAddr().(*net.UDPAddr); ok && a.IP.To4() == nil && len(a.IP) == net.IPv6len {
		return ipv6.NewPacketConn(c)
	}
	return ipv4.NewPacketConn(c)
}

// readUDP is one socket's reader: it reads up to readBatch datagrams a
// system call, counts them, checks the allow-list and queues copies to
// the workers their switch addresses are sharded to, one batch per worker
// per read. It never decodes.
func (r *Receiver) readUDP(c *net.UDPConn) {
	defer r.readersWG.Done()
	br := newBatchReader(c)
	ms := make([]ipv4.Message, readBatch)
	for i := range ms {
		ms[i].Buffers = [][]byte{make([]byte, slotLen)}
		ms[i].OOB = make([]byte, unix.CmsgSpace(4)*2)
	}
	pending := make([]*batch, len(r.workers))
	var lastDrops uint32
	for {
		n, err := br.ReadBatch(ms, 0)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			r.count.readErrors.Add(1)
			r.logEvery("udp-read", "INT UDP read failed", "error", err)
			time.Sleep(10 * time.Millisecond) // a lasting error must not spin a core
			continue
		}
		nowMs := r.nowMs()
		var bytes, datagrams, coalesced uint64
		for i := range n {
			m := &ms[i]
			segment := 0
			if m.NN > 0 {
				d, ok, seg := controlMessages(m.OOB[:m.NN])
				if ok {
					if lost := d - lastDrops; lost > 0 { // uint32 arithmetic survives the wrap
						r.count.socketOverflow.Add(uint64(lost))
					}
					lastDrops = d
				}
				segment = seg
			}
			bytes += uint64(m.N)
			ua, _ := m.Addr.(*net.UDPAddr)
			if ua == nil {
				continue
			}
			addr, _ := netip.AddrFromSlice(ua.IP)
			addr = addr.Unmap()
			data := m.Buffers[0][:m.N]
			if segment <= 0 || segment > len(data) {
				segment = len(data)
			}
			if segment < len(data) {
				coalesced++
			}
			allowed := r.allowedAddr(addr)
			wi := r.shard(addr)
			for first := true; first || len(data) > 0; first = false {
				d := data[:min(segment, len(data))]
				data = data[len(d):]
				datagrams++
				if !allowed {
					r.notAllowed(addr)
					continue
				}
				if pending[wi] == nil {
					pending[wi] = getBatch()
				}
				pending[wi].add(addr, nowMs, d)
			}
		}
		r.count.datagrams.Add(datagrams)
		r.count.coalesced.Add(coalesced)
		r.count.bytes.Add(bytes)
		for wi, b := range pending {
			if b != nil {
				r.enqueue(r.workers[wi], b)
				pending[wi] = nil
			}
		}
	}
}

// enqueue hands b to w unless w already holds QueueDatagrams datagrams:
// then what does not fit is dropped and counted on its switches' rows.
func (r *Receiver) enqueue(w *worker, b *batch) {
	room := int64(r.cfg.QueueDatagrams) - w.queued.Load()
	keep := int(min(max(room, 0), int64(len(b.its))))
	for _, it := range b.its[keep:] {
		r.queueFull(w, it.from, b.buf[it.off:it.off+it.n], it.rcvMs)
	}
	if keep == 0 {
		putBatch(b)
		return
	}
	b.its = b.its[:keep]
	w.queued.Add(int64(keep))
	select {
	case w.q <- b:
	default: // more batches than datagrams allowed: cannot happen, as each holds one at least
		w.queued.Add(-int64(keep))
		for _, it := range b.its {
			r.queueFull(w, it.from, b.buf[it.off:it.off+it.n], it.rcvMs)
		}
		putBatch(b)
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
