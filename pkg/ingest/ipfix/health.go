package ipfix

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/pipeline"
	"github.com/netlens/netlens/pkg/status"
)

// Exporter health as series: what Exporters() shows, written to a series
// store so panels can chart it and alert rules can watch it. Labels:
// `device` (address/ODID, as the flow records' exporter and the volume
// series) and, for drops, `reason`.
const (
	SeriesRecords      = "ipfix_exporter_records_total"      // counter: data records decoded
	SeriesBytes        = "ipfix_exporter_bytes_total"        // counter: IPFIX/v9 message bytes received
	SeriesLostRecords  = "ipfix_exporter_lost_records_total" // counter: IPFIX sequence gaps, in data records
	SeriesLostPackets  = "ipfix_exporter_lost_packets_total" // counter: NetFlow v9 sequence gaps, in export packets
	SeriesDrops        = "ipfix_exporter_drops_total"        // counter: per exporter, by reason
	SeriesReceiverDrop = "ipfix_receiver_drops_total"        // counter: every drop of the receiver, by reason
	SeriesTemplates    = "ipfix_exporter_templates"          // gauge: templates and options templates held
	SeriesHeldSets     = "ipfix_exporter_held_sets"          // gauge: data sets waiting for their template
	SeriesSilence      = "ipfix_exporter_silence_seconds"    // gauge: seconds since the exporter was last heard
)

// Board counters of the health series' own writes.
const (
	CounterHealthAppendErrors = "ipfix_health_append_errors"
	CounterHealthRejected     = "ipfix_health_samples_rejected"
)

// defaultHealthEvery is how often the health series are written: often
// enough for a 1 min rate, rarely enough that 10,000 exporters cost little.
const defaultHealthEvery = 10 * time.Second

// maxRetiredDevices bounds the per-device counts kept for rows that were
// forgotten between two health writes. Past it (a churn of spoofed
// sources inside the allow-list) their drops still reach
// ipfix_receiver_drops_total, without a device.
const maxRetiredDevices = 1024

// receiverReasons are always written to ipfix_receiver_drops_total, zero
// or not, so a rule over them has a series from the start. Malformed
// reasons join once seen; the decoder's reasons are a fixed set.
var receiverReasons = []string{DropSocketOverflow, DropQueueFull, DropNotAllowed, DropUnknownTemplate, DropTCPFraming}

// Option adjusts the receiver New starts.
type Option func(*options)

// WithSeries writes exporter health to a as series every 10 s (see
// Series*). The process passes the series store behind the live hub, as
// the flow pipeline's volume series.
func WithSeries(a pipeline.Appender) Option {
	return func(o *options) { o.series = a }
}

// counts are the cumulative counters of a row or a device.
type counts struct {
	records, bytes           uint64
	lostRecords, lostPackets uint64
	drops                    map[string]uint64
}

func (c *counts) empty() bool {
	return c.records == 0 && c.bytes == 0 && c.lostRecords == 0 && c.lostPackets == 0 && len(c.drops) == 0
}

func (c *counts) add(o *counts) {
	c.records += o.records
	c.bytes += o.bytes
	c.lostRecords += o.lostRecords
	c.lostPackets += o.lostPackets
	for r, n := range o.drops {
		if c.drops == nil {
			c.drops = map[string]uint64{}
		}
		c.drops[r] += n
	}
}

// takeLocked moves what e counted since it was last taken into into. Row
// counters only grow, so the device's sums only grow, whatever happens to
// the rows behind them.
func (e *exporter) takeLocked(into *counts) {
	t := &e.taken
	into.records += e.records - t.records
	into.bytes += e.bytes - t.bytes
	into.lostRecords += e.lostRecords - t.lostRecords
	into.lostPackets += e.lostPkts - t.lostPackets
	t.records, t.bytes, t.lostRecords, t.lostPackets = e.records, e.bytes, e.lostRecords, e.lostPkts
	for r, n := range e.drops {
		if d := n - t.drops[r]; d > 0 {
			if into.drops == nil {
				into.drops = map[string]uint64{}
			}
			into.drops[r] += d
			if t.drops == nil {
				t.drops = map[string]uint64{}
			}
			t.drops[r] = n
		}
	}
}

// retired is what rows forgotten since the last health write had counted
// and not yet handed over, so a forgotten row's last counts are not lost.
type retired struct {
	devs     map[string]*retiredDev
	overflow counts // past maxRetiredDevices: kept for the receiver-wide drops only
}

type retiredDev struct {
	counts
	lastMs int64
}

// retireLocked keeps a row's untaken counts as it leaves the table. Only
// tables of a receiver that writes health series keep them.
func (t *table) retireLocked(e *exporter) {
	if t.gone == nil {
		return
	}
	id := e.key.device()
	d := t.gone.devs[id]
	if d == nil {
		if len(t.gone.devs) >= maxRetiredDevices {
			e.takeLocked(&t.gone.overflow)
			return
		}
		d = &retiredDev{}
		t.gone.devs[id] = d
	}
	e.takeLocked(&d.counts)
	d.lastMs = max(d.lastMs, e.lastMs)
}

// devHealth is one device's account across the receiver's lifetime, as
// long as it is remembered: while any row of it is in a table, and then
// until it has been silent for forgetRowAfterMs (or the ledger needs room).
// A device forgotten and heard again starts from zero: a counter reset.
type devHealth struct {
	counts
	lastMs          int64 // last heard, over all its rows
	templates, held int   // gauges, from this write's rows
	rows            bool  // it has rows in a table now
}

// health is the ledger behind the series. Only tick uses it, under tickMu.
type health struct {
	devs     map[string]*devHealth
	receiver map[string]uint64 // drops by reason, other than the receiver-wide atomics
	lastMs   int64             // last write
}

// round is one health write being gathered: each table's rows and
// retired counts, per device.
type round struct {
	cur  map[string]*devHealth
	gone []*retired
}

// healthRound starts a round when a write is due; nil otherwise.
func (s *Server) healthRound(nowMs int64, force bool) *round {
	if s.opt.series == nil {
		return nil
	}
	if !force && s.health.lastMs != 0 && nowMs-s.health.lastMs < s.opt.healthEvery.Milliseconds() {
		return nil
	}
	if nowMs <= s.health.lastMs {
		return nil // one sample per series and millisecond
	}
	return &round{cur: map[string]*devHealth{}}
}

// rowLocked adds one row, under its table's lock.
func (r *round) rowLocked(e *exporter) {
	id := e.key.device()
	d := r.cur[id]
	if d == nil {
		d = &devHealth{rows: true}
		r.cur[id] = d
	}
	e.takeLocked(&d.counts)
	d.templates += len(e.templates) + len(e.optTemplates)
	d.held += e.heldSets
	d.lastMs = max(d.lastMs, e.lastMs)
}

// tableLocked takes the counts of the table's forgotten rows.
func (r *round) tableLocked(t *table) {
	if t.gone == nil || (len(t.gone.devs) == 0 && t.gone.overflow.empty()) {
		return
	}
	r.gone = append(r.gone, t.gone)
	t.gone = &retired{devs: map[string]*retiredDev{}}
}

// writeHealth folds the round into the ledger and appends the series.
func (s *Server) writeHealth(r *round, nowMs int64) {
	h := &s.health
	h.lastMs = nowMs
	for _, d := range h.devs {
		d.templates, d.held, d.rows = 0, 0, false
	}
	addReceiver := func(c *counts) {
		for reason, n := range c.drops {
			switch reason {
			case DropSocketOverflow, DropQueueFull, DropNotAllowed: // counted receiver-wide as they happen
			default:
				h.receiver[reason] += n
			}
		}
	}
	for id, c := range r.cur {
		d := h.devs[id]
		if d == nil {
			d = &devHealth{}
			h.devs[id] = d
		}
		d.counts.add(&c.counts)
		d.templates, d.held, d.rows = c.templates, c.held, true
		d.lastMs = max(d.lastMs, c.lastMs)
		addReceiver(&c.counts)
	}
	for _, g := range r.gone {
		for id, c := range g.devs {
			addReceiver(&c.counts)
			d := h.devs[id]
			if d == nil {
				if len(h.devs) >= maxExporters {
					continue // no room: its drops are in the receiver's
				}
				d = &devHealth{}
				h.devs[id] = d
			}
			d.counts.add(&c.counts)
			d.lastMs = max(d.lastMs, c.lastMs)
		}
		addReceiver(&g.overflow)
	}
	h.forget(nowMs)
	s.appendHealth(nowMs)
}

// forget drops devices without rows that have been silent for a day, and
// past maxExporters those silent the longest, so the series written stay
// bounded by the exporter table's bound.
func (h *health) forget(nowMs int64) {
	var idle []string
	for id, d := range h.devs {
		if d.rows {
			continue
		}
		if nowMs-d.lastMs > forgetRowAfterMs {
			delete(h.devs, id)
			continue
		}
		idle = append(idle, id)
	}
	if over := len(h.devs) - maxExporters; over > 0 {
		slices.SortFunc(idle, func(a, b string) int { return cmp.Compare(h.devs[a].lastMs, h.devs[b].lastMs) })
		for _, id := range idle[:min(over, len(idle))] {
			delete(h.devs, id)
		}
	}
}

func (s *Server) appendHealth(nowMs int64) {
	h := &s.health
	samples := make([]model.Sample, 0, len(h.devs)*9+len(receiverReasons)+len(h.receiver))
	counter := func(name, help string, ls model.Labels, v uint64) {
		samples = append(samples, model.Sample{Name: name, Labels: ls, TimestampMs: nowMs, Value: float64(v), Kind: model.KindCounter, Help: help})
	}
	gauge := func(name, help string, ls model.Labels, v float64) {
		samples = append(samples, model.Sample{Name: name, Labels: ls, TimestampMs: nowMs, Value: v, Kind: model.KindGauge, Help: help})
	}
	for _, id := range slices.Sorted(maps.Keys(h.devs)) {
		d := h.devs[id]
		ls := model.Labels{{Name: "device", Value: id}}
		counter(SeriesRecords, "IPFIX and NetFlow v9 data records decoded, per exporter address and observation domain", ls, d.records)
		counter(SeriesBytes, "IPFIX and NetFlow v9 message bytes received, per exporter address and observation domain", ls, d.bytes)
		counter(SeriesLostRecords, "IPFIX data records missing from the exporter's sequence numbers (records lost between exporter and collector)", ls, d.lostRecords)
		counter(SeriesLostPackets, "NetFlow v9 export packets missing from the exporter's sequence numbers", ls, d.lostPackets)
		for _, reason := range slices.Sorted(maps.Keys(d.drops)) {
			counter(SeriesDrops, "what the IPFIX receiver dropped of one exporter, by reason (datagrams, data sets, errors or connections; see the receiver's README)",
				model.Labels{{Name: "device", Value: id}, {Name: "reason", Value: reason}}, d.drops[reason])
		}
		gauge(SeriesTemplates, "templates and options templates the IPFIX receiver holds for the exporter", ls, float64(d.templates))
		gauge(SeriesHeldSets, "IPFIX data sets held while their template is unknown", ls, float64(d.held))
		gauge(SeriesSilence, "seconds since the IPFIX receiver last heard from the exporter", ls, max(0, float64(nowMs-d.lastMs)/1000))
	}
	recv := maps.Clone(h.receiver)
	recv[DropSocketOverflow] = s.count.socketOverflow.Load()
	recv[DropQueueFull] = s.count.queueFull.Load()
	recv[DropNotAllowed] = s.count.notAllowed.Load()
	for _, reason := range receiverReasons {
		recv[reason] += 0
	}
	for _, reason := range slices.Sorted(maps.Keys(recv)) {
		counter(SeriesReceiverDrop, "everything the IPFIX receiver dropped, by reason, whether or not an exporter can be named",
			model.Labels{{Name: "reason", Value: reason}}, recv[reason])
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := s.opt.series.Append(ctx, samples)
	if err != nil {
		s.board.Add(CounterHealthAppendErrors, 1)
		s.logEvery("health-append", "IPFIX exporter health series not written", "samples", len(samples), "error", err)
		return
	}
	if res.Rejected > 0 {
		s.board.Add(CounterHealthRejected, uint64(res.Rejected))
		if res.FirstError != nil {
			s.board.Error(model.DeviceRef{Source: model.SourceIPFIX, ID: "health"}, status.CatBuffer,
				fmt.Errorf("series store rejected %d of %d exporter health samples: %w", res.Rejected, len(samples), res.FirstError))
		}
	}
}
