package ipfix

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/status"
)

// item is one message on its way from a socket to a worker.
type item struct {
	buf    *[]byte // pooled; nil for a close notice
	from   netip.AddrPort
	tcp    bool
	closed bool  // the TCP connection from `from` ended: forget its templates
	rcvMs  int64 // when the socket read it
}

// flushEvery bounds how many messages a busy worker decodes between two
// handler flushes, so stored rows do not wait for the queue to empty.
const flushEvery = 64

// worker decodes the messages of the exporters sharded to it, in order.
// It owns its decoders: UDP scopes share one, each TCP connection has its
// own, created on its first message and dropped when it closes.
type worker struct {
	id   int
	s    *Server
	q    chan item
	ctl  chan func(*worker)
	tab  *table
	eng  engine
	udp  decoder
	tcp  map[netip.AddrPort]decoder
	res  decodeResult
	done chan struct{} // closed when run returns
	// dirty says templates changed since the last save; the saver sets
	// it again when a write fails.
	dirty atomic.Bool

	sinceFlush int
}

func (w *worker) run(tick time.Duration) {
	defer w.s.workersWG.Done()
	defer close(w.done)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case it, ok := <-w.q:
			if !ok {
				w.flush()
				return
			}
			w.handle(it)
			w.sinceFlush++
			if len(w.q) == 0 || w.sinceFlush >= flushEvery {
				w.flush()
			}
		case fn := <-w.ctl:
			fn(w)
		case <-t.C:
			w.tick()
		}
	}
}

func (w *worker) flush() {
	if w.sinceFlush == 0 {
		return
	}
	w.sinceFlush = 0
	nowMs := w.s.nowMs()
	if err := w.eng.flush(context.Background(), nowMs); err != nil {
		w.s.board.Add(CounterFlushErrors, 1)
		w.s.logEvery("flush", "IPFIX handler flush failed", "worker", w.id, "error", err)
	}
}

func (w *worker) handle(it item) {
	if it.closed {
		w.closeTCP(it.from)
		return
	}
	msg := *it.buf
	defer putBuf(it.buf)
	if w.s.discard.Load() {
		return // shutdown deadline passed: drain without decoding
	}
	dec := w.udp
	if it.tcp {
		if dec = w.tcp[it.from]; dec == nil {
			dec = w.eng.newDecoder()
			w.tcp[it.from] = dec
		}
	}
	h, _ := peekHeader(msg)
	res := &w.res
	res.reset()
	dec.decode(msg, it.from, it.tcp, it.rcvMs, res)
	if !it.tcp && (res.templates > 0 || res.withdrawals > 0) {
		w.dirty.Store(true)
	}
	w.s.count.messages.Add(1)
	w.s.count.records.Add(uint64(res.records))

	key := exporterKey{addr: it.from, odid: h.odid, tcp: it.tcp}
	w.tab.mu.Lock()
	e := w.tab.getLocked(key, it.rcvMs)
	if h.version != 0 {
		e.version = h.version
	}
	e.lastMs = max(e.lastMs, it.rcvMs)
	e.messages++
	e.bytes += uint64(len(msg))
	e.records += uint64(res.records)
	e.optionsRecords += uint64(res.optionsRecords)
	if res.samplingRate != 0 {
		e.sampling = res.samplingRate
	}
	lost := res.lostRecords + res.lostPackets
	if lost > 0 {
		e.lostRecords += res.lostRecords
		e.lostPkts += res.lostPackets
		e.lastLossMs = it.rcvMs
	}
	for _, r := range res.malformed {
		e.drops[dropMalformedPrefix+r]++
	}
	w.tab.mu.Unlock()

	// The board is told after the table's lock is released: it has its own.
	if lost > 0 || res.droppedPending > 0 || len(res.malformed) > 0 {
		w.report(key, res, h.version)
	}
}

func (w *worker) report(key exporterKey, res *decodeResult, version uint16) {
	b := w.s.board
	ref := model.DeviceRef{Source: model.SourceIPFIX, ID: key.device(), Remote: key.addr.String()}
	if res.lostRecords > 0 {
		b.Add(CounterLostRecords, res.lostRecords)
		b.Error(ref, status.CatStreaming, fmt.Errorf("sequence gap: %d data records lost between exporter and collector", res.lostRecords))
	}
	if res.lostPackets > 0 {
		b.Add(CounterLostPackets, res.lostPackets)
		b.Error(ref, status.CatStreaming, fmt.Errorf("NetFlow v9 sequence gap: %d export packets lost", res.lostPackets))
	}
	if res.droppedPending > 0 {
		// Counted by the tick from the decoder's totals, which also
		// include held sets that expired.
		b.Error(ref, status.CatBuffer, fmt.Errorf("%d records dropped: their template never arrived in time", res.droppedPending))
	}
	for _, r := range res.malformed {
		b.Add(CounterDropPrefix+boardReason(dropMalformedPrefix+r), 1)
	}
	if len(res.malformed) > 0 {
		err := res.lastErr
		if err == nil {
			err = fmt.Errorf("malformed message: %s", res.malformed[len(res.malformed)-1])
		}
		b.Error(ref, status.CatInvalidArgument, fmt.Errorf("version %d message: %w", version, err))
	}
}

// closeTCP forgets a closed connection's templates; its rows show stopped.
func (w *worker) closeTCP(from netip.AddrPort) {
	if d := w.tcp[from]; d != nil {
		w.syncScopes(d, true) // its last drops
		delete(w.tcp, from)
	}
	w.tab.mu.Lock()
	for k, e := range w.tab.m {
		if k.tcp && k.addr == from {
			e.closed = true
			e.templates, e.optTemplates, e.heldSets, e.heldBytes = nil, nil, 0, 0
		}
	}
	w.tab.mu.Unlock()
}

// syncScopes copies a decoder's view of its scopes into the table: the
// templates in use, what is held, and the held sets it dropped.
func (w *worker) syncScopes(d decoder, tcp bool) {
	var dropped uint64
	w.tab.mu.Lock()
	d.scopes(func(si scopeInfo) {
		e := w.tab.m[exporterKey{addr: si.exporter, odid: si.odid, tcp: tcp}]
		if e == nil {
			return // restored from disk and not heard from yet
		}
		e.templates = append(e.templates[:0], si.templates...)
		e.optTemplates = append(e.optTemplates[:0], si.optionsTemplates...)
		e.heldSets, e.heldBytes = si.heldSets, si.heldBytes
		// The decoder's total restarts when it forgets a scope.
		n := si.droppedPending
		if n >= e.seenDropped {
			n -= e.seenDropped
		}
		e.seenDropped = si.droppedPending
		if n > 0 {
			e.drops[DropUnknownTemplate] += n
			dropped += n
		}
	})
	w.tab.mu.Unlock()
	if dropped > 0 {
		w.s.board.Add(CounterDropPrefix+DropUnknownTemplate, dropped)
	}
}

// tick expires templates and held records, flushes the handler (it emits
// volume samples on its own schedule), and copies the decoders' view of
// each scope and the rate samples into the table.
func (w *worker) tick() {
	nowMs := w.s.nowMs()
	w.udp.expire(nowMs)
	for _, d := range w.tcp {
		d.expire(nowMs)
	}
	w.sinceFlush++
	w.flush()

	w.syncScopes(w.udp, false)
	for _, d := range w.tcp {
		w.syncScopes(d, true)
	}
	timeoutMs := w.s.cfg.ExporterTimeout.Milliseconds()
	w.tab.mu.Lock()
	for k, e := range w.tab.m {
		// A closed connection's row stays to be seen stopped for a
		// timeout; any row silent for a day goes. Each connection is a new
		// port, so without this short ones would fill the table.
		if silent := nowMs - e.lastMs; (e.closed && silent > timeoutMs) || silent > forgetRowAfterMs {
			w.tab.retireLocked(e)
			delete(w.tab.m, k)
			continue
		}
		e.sample(nowMs)
	}
	w.tab.mu.Unlock()
}

// forgetRowAfterMs is how long a silent exporter's row stays in the table.
const forgetRowAfterMs = 24 * 3600 * 1000

// snapshot runs in the worker: the decoder is not safe for concurrent use.
func (w *worker) snapshot() (json.RawMessage, bool, error) {
	dirty := w.dirty.Swap(false)
	raw, err := w.udp.snapshot()
	return raw, dirty, err
}

func (w *worker) redirty() { w.dirty.Store(true) }
