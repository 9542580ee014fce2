package intrcv

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/netlens/netlens/pkg/decode/intreport"
	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/status"
)

// Switch health as series, written every healthEvery to the Sink given
// WithSeries, so panels can chart it and alert rules watch it. `device`
// is the DeviceRef.ID of the switch ("0x%08x" or its address).
const (
	SeriesReports       = "int_switch_reports_total"      // counter: decoded reports, by device and type
	SeriesDrops         = "int_switch_drops_total"        // counter: reports dropped, by device and reason
	SeriesLostReports   = "int_switch_lost_reports_total" // counter: sequence gaps, by device
	SeriesReceiverDrops = "int_receiver_drops_total"      // counter: every drop of the receiver, by reason
	SeriesSilence       = "int_switch_silence_seconds"    // gauge: seconds since the switch was last heard
)

// CounterHealthWriteErrors counts health writes the Sink refused.
const CounterHealthWriteErrors = "int_health_write_errors"

// healthEvery: often enough for a 1 min rate, rarely enough that
// thousands of switches cost little.
const healthEvery = 10 * time.Second

// healthDevice is the board device a failed health write is recorded on.
var healthDevice = model.DeviceRef{Source: model.SourceINT, ID: "health"}

// devCounts sums a device's rows (one switch id seen from several
// addresses is one device).
type devCounts struct {
	reports [numTypes]uint64
	drops   map[string]uint64
	lost    uint64
	lastMs  int64
}

// writeHealth writes the cumulative counts of the rows in the table. A
// forgotten row's counts leave its device's sums: the counter goes down,
// which rate() takes as a reset.
func (r *Receiver) writeHealth(nowMs int64) {
	devs := map[string]*devCounts{}
	recv := map[string]uint64{
		DropSocketOverflow: r.count.socketOverflow.Load(),
		DropQueueFull:      r.count.queueFull.Load(),
		DropNotAllowed:     r.count.notAllowed.Load(),
	}
	for _, reason := range intreport.Reasons() {
		recv[reason] += 0 // every reason has a series from the start
	}
	for _, w := range r.workers {
		w.tab.mu.Lock()
		for _, e := range w.tab.m {
			d := devs[e.ref.ID]
			if d == nil {
				d = &devCounts{drops: map[string]uint64{}}
				devs[e.ref.ID] = d
			}
			for i, n := range e.reports {
				d.reports[i] += n
			}
			for reason, n := range e.drops {
				d.drops[reason] += n
				if reason != DropQueueFull {
					recv[reason] += n
				}
			}
			d.lost += e.lost
			d.lastMs = max(d.lastMs, e.lastMs)
		}
		w.tab.mu.Unlock()
	}
	var samples []model.Sample
	add := func(name, help string, kind model.Kind, ls model.Labels, v float64) {
		samples = append(samples, model.Sample{Name: name, Help: help, Kind: kind, Labels: ls, TimestampMs: nowMs, Value: v})
	}
	for _, id := range slices.Sorted(maps.Keys(devs)) {
		d := devs[id]
		for i, n := range d.reports {
			add(SeriesReports, "INT telemetry reports decoded from the switch, by type (flow, drop, queue, int)", model.KindCounter,
				model.Labels{{Name: "device", Value: id}, {Name: "type", Value: typeNames[i]}}, float64(n))
		}
		for _, reason := range slices.Sorted(maps.Keys(d.drops)) {
			add(SeriesDrops, "INT telemetry reports from the switch the receiver dropped, by reason", model.KindCounter,
				model.Labels{{Name: "device", Value: id}, {Name: "reason", Value: reason}}, float64(d.drops[reason]))
		}
		add(SeriesLostReports, "INT telemetry reports lost between the switch and the receiver (sequence gaps)", model.KindCounter,
			model.Labels{{Name: "device", Value: id}}, float64(d.lost))
		add(SeriesSilence, "seconds since the switch's last report", model.KindGauge,
			model.Labels{{Name: "device", Value: id}}, float64(max(nowMs-d.lastMs, 0))/1000)
	}
	for _, reason := range slices.Sorted(maps.Keys(recv)) {
		add(SeriesReceiverDrops, "everything the INT receiver dropped, by reason, whether or not a switch can be named", model.KindCounter,
			model.Labels{{Name: "reason", Value: reason}}, float64(recv[reason]))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.opt.series.Write(ctx, &model.Batch{Device: healthDevice, Samples: samples, ReceivedMs: nowMs}); err != nil {
		r.board.Add(CounterHealthWriteErrors, 1)
		r.board.Error(healthDevice, status.CatBuffer, fmt.Errorf("INT switch health series not written: %w", err))
		r.logEvery("health-write", "INT switch health series not written", "samples", len(samples), "error", err)
	}
}
