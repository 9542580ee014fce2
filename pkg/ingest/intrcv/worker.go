package intrcv

import (
	"fmt"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/netlens/netlens/pkg/decode/intreport"
	"github.com/netlens/netlens/pkg/status"
)

// item is one datagram of a batch.
type item struct {
	off, n int32 // in batch.buf
	from   netip.Addr
	rcvMs  int64 // when the socket read it
}

// flushEvery bounds how many reports a busy worker hands on between two
// Flush calls, so the mapper's rows do not wait for the queue to empty.
const flushEvery = 256

// worker decodes the reports of the switches sharded to it, in arrival
// order, with its own Decoder, Report, SeqTracker and Handler: nothing on
// its path is shared but its table's lock.
type worker struct {
	id int
	r  *Receiver
	q  chan *batch
	// queued is the datagrams in q: the queue is bounded in datagrams,
	// whatever the batches they came in.
	queued atomic.Int64
	tab    *table
	dec    *intreport.Decoder
	rep    intreport.Report
	seq    *intreport.SeqTracker
	h      Handler

	sinceFlush int
}

func (w *worker) run(tick time.Duration) {
	defer w.r.workersWG.Done()
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case b, ok := <-w.q:
			if !ok {
				w.flush(true)
				return
			}
			w.queued.Add(-int64(len(b.its)))
			var good, bad, lost uint64
			for _, it := range b.its {
				g, l := w.handle(b.buf[it.off:it.off+it.n], it.from, it.rcvMs)
				if g {
					good++
				} else {
					bad++
				}
				lost += uint64(l)
				w.sinceFlush++
				if w.sinceFlush >= flushEvery {
					w.flush(false)
				}
			}
			putBatch(b)
			// Counted once a batch, after the handler had them: whoever
			// sees the totals sees the reports handed on.
			w.r.count.reports.Add(good)
			w.r.count.bad.Add(bad)
			w.r.count.lost.Add(lost)
			if len(w.q) == 0 {
				w.flush(false)
			}
		case <-t.C:
			// The mapper closes postcard paths and time buckets on its
			// own clock: it hears the time even when no report comes.
			w.flush(true)
		}
	}
}

func (w *worker) flush(always bool) {
	if w.sinceFlush == 0 && !always {
		return
	}
	w.sinceFlush = 0
	w.h.Flush(w.r.nowMs())
}

// headerRead says whether b's fixed header was long enough for Decode to
// have read the sequence number, whatever failed after it: a malformed
// report still used its number, and must not also count as lost.
func headerRead(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	switch b[0] >> 4 {
	case intreport.V05:
		return len(b) >= 12
	case intreport.V10:
		return len(b) >= 16
	}
	return false
}

// keyOf names the switch of a report: the switch id of the report header
// (v1.0, v0.5 drop or local header), else, for a decoded v0.5 INT report
// from the sink, the newest hop's (the sink's own, first on the wire),
// else the sender address.
func keyOf(addr netip.Addr, rep *intreport.Report, decoded bool) switchKey {
	h := &rep.Header
	if h.HasSwitchID {
		return switchKey{addr: addr, id: h.SwitchID, hasID: true}
	}
	if decoded && rep.INT.Present && rep.INT.HopCount > 0 {
		if hop := &rep.Hops[rep.INT.HopCount-1]; hop.Present&intreport.ItemSwitchID != 0 {
			return switchKey{addr: addr, id: hop.SwitchID, hasID: true}
		}
	}
	return switchKey{addr: addr}
}

func typeOf(rep *intreport.Report) int {
	switch rep.Header.Kind {
	case intreport.KindDrop:
		return typeDrop
	case intreport.KindQueue:
		return typeQueue
	}
	if rep.INT.Present {
		return typeINT
	}
	return typeFlow
}

// handle decodes one datagram, accounts for it on its switch's row and
// hands it on; it says whether it decoded and how many reports were lost
// before it.
func (w *worker) handle(b []byte, from netip.Addr, rcvMs int64) (bool, uint32) {
	rep := &w.rep
	err := w.dec.Decode(b, rep)
	var lost uint32
	if headerRead(b) {
		lost = w.seq.Observe(intreport.SeqKeyOf(from, &rep.Header), rep.Header.Seq)
	}
	key := keyOf(from, rep, err == nil)

	var reason string
	var tell bool
	w.tab.mu.Lock()
	e := w.tab.getLocked(key, rcvMs)
	e.lastMs = max(e.lastMs, rcvMs)
	e.bytes += uint64(len(b))
	if headerRead(b) {
		e.versions |= 1 << (b[0] >> 4)
	}
	if lost > 0 {
		e.lost += uint64(lost)
		e.lastLossMs = rcvMs
	}
	if err == nil {
		e.reports[typeOf(rep)]++
	} else {
		de, _ := err.(*intreport.Error)
		reason = intreport.ReasonTruncated
		if de != nil {
			reason = de.Reason
		}
		e.drops[reason]++
		e.lastErr = err.Error()
		if tell = rcvMs-e.errToldMs >= 60_000; tell {
			e.errToldMs = rcvMs
		}
	}
	ref := e.ref
	w.tab.mu.Unlock()

	if err != nil {
		if tell {
			// The board keeps the newest error per device; once a minute is
			// enough to show it, and a flood of bad reports costs no lock.
			w.r.board.Error(ref, status.CatInvalidArgument, fmt.Errorf("telemetry report refused (%s): %w", reason, err))
		}
		return false, lost
	}
	w.h.Report(ref, rep, rcvMs)
	return true, lost
}
