package intrcv

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/netlens/netlens/pkg/decode/intreport"
	"github.com/netlens/netlens/pkg/status"
)

// item is one datagram on its way from a socket to a worker.
type item struct {
	buf   *[]byte // pooled
	from  netip.Addr
	rcvMs int64 // when the socket read it
}

// flushEvery bounds how many reports a busy worker hands on between two
// Flush calls, so the mapper's rows do not wait for the queue to empty.
const flushEvery = 256

// worker decodes the reports of the switches sharded to it, in arrival
// order, with its own Decoder, Report, SeqTracker and Handler: nothing on
// its path is shared but its table's lock.
type worker struct {
	id  int
	r   *Receiver
	q   chan item
	tab *table
	dec *intreport.Decoder
	rep intreport.Report
	seq *intreport.SeqTracker
	h   Handler

	sinceFlush int
}

func (w *worker) run(tick time.Duration) {
	defer w.r.workersWG.Done()
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case it, ok := <-w.q:
			if !ok {
				w.flush(true)
				return
			}
			w.handle(it)
			w.sinceFlush++
			if len(w.q) == 0 || w.sinceFlush >= flushEvery {
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

func (w *worker) handle(it item) {
	b := *it.buf
	defer putBuf(it.buf)
	rep := &w.rep
	err := w.dec.Decode(b, rep)
	var lost uint32
	if headerRead(b) {
		lost = w.seq.Observe(intreport.SeqKeyOf(it.from, &rep.Header), rep.Header.Seq)
	}
	key := keyOf(it.from, rep, err == nil)

	var reason string
	var tell bool
	w.tab.mu.Lock()
	e := w.tab.getLocked(key, it.rcvMs)
	e.lastMs = max(e.lastMs, it.rcvMs)
	e.bytes += uint64(len(b))
	if headerRead(b) {
		e.versions |= 1 << (b[0] >> 4)
	}
	if lost > 0 {
		e.lost += uint64(lost)
		e.lastLossMs = it.rcvMs
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
		if tell = it.rcvMs-e.errToldMs >= 60_000; tell {
			e.errToldMs = it.rcvMs
		}
	}
	ref := e.ref
	w.tab.mu.Unlock()

	if lost > 0 {
		w.r.count.lost.Add(uint64(lost))
	}
	if err != nil {
		w.r.count.bad.Add(1)
		if tell {
			// The board keeps the newest error per device; once a minute is
			// enough to show it, and a flood of bad reports costs no lock.
			w.r.board.Error(ref, status.CatInvalidArgument, fmt.Errorf("telemetry report refused (%s): %w", reason, err))
		}
		return
	}
	w.r.count.reports.Add(1)
	w.h.Report(ref, rep, it.rcvMs)
}
