package intrcv

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"github.com/netlens/netlens/pkg/ingest/udpsock"
)

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
		ms[i].OOB = make([]byte, udpsock.OOBLen)
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
				d, ok, seg := udpsock.ControlMessages(m.OOB[:m.NN])
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
