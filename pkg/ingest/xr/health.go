package xr

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/status"
)

// Router health as series (WithSeries), written every 10 s so panels can
// chart it and alert rules watch it. Labels: `device` (the router, as in the
// telemetry series), `reason`, and `group`/`policy` for group silence and period.
const (
	SeriesMessages      = "xr_router_messages_total"  // counter: messages decoded
	SeriesBytes         = "xr_router_bytes_total"     // counter: message bytes (inflated payloads)
	SeriesDrops         = "xr_router_drops_total"     // counter: per router, by reason
	SeriesReceiverDrops = "xr_receiver_drops_total"   // counter: every drop, by reason, router known or not
	SeriesGroupSilence  = "xr_group_silence_seconds"  // gauge: since any router last sent a group of a loaded policy
	SeriesSilence       = "xr_router_silence_seconds" // gauge: since the router was last heard
	SeriesGroupPeriod   = "xr_group_period_seconds"   // gauge: the collection period a loaded policy gives the group
)

// Board counter of the health series' own failed writes.
const CounterHealthWriteErrors = "xr_health_write_errors"

// healthDevice is the board device a failed health write is recorded on.
var healthDevice = model.DeviceRef{Source: model.SourceXR, ID: "health"}

// receiverReasons are always written to xr_receiver_drops_total, zero or
// not, so alert rules have a series from the start.
var receiverReasons = []string{DropNotAllowed, DropConnLimit, DropHandler, "zlib_corrupt", "zlib_too_large", "too_long", "unknown_framing"}

// tick moves counters to the board, tells it of routers that started or
// stopped sending, and every 10 s (or when force) writes the health series.
func (r *Receiver) tick(force bool) {
	r.tickMu.Lock()
	defer r.tickMu.Unlock()
	nowMs := r.nowMs()
	r.publishCounters()

	type row struct {
		ref              model.DeviceRef
		up               bool
		messages, drops  uint64
		dropsBy          map[string]uint64
		total, bytes     uint64
		lastMs           int64
		messagesAll      uint64
		remote           string
		stoppedAfterSecs float64
	}
	var rows []row
	t := &r.routers
	t.mu.Lock()
	for _, x := range t.m {
		rw := row{
			ref: model.DeviceRef{Source: model.SourceXR, ID: x.device, Remote: x.remote},
			up:  nowMs-x.lastMs <= x.timeout(r.cfg.RouterTimeout), messages: x.messages - x.toldMessages,
			drops: x.dropTotal - x.toldDrops, lastMs: x.lastMs, messagesAll: x.messages, bytes: x.bytes,
			stoppedAfterSecs: float64(x.timeout(r.cfg.RouterTimeout)) / 1000,
		}
		if r.opt.series != nil {
			rw.dropsBy = maps.Clone(x.drops)
		}
		x.toldMessages, x.toldDrops = x.messages, x.dropTotal
		rows = append(rows, rw)
	}
	t.mu.Unlock()

	seen := map[string]bool{}
	for _, rw := range rows {
		id := rw.ref.ID
		seen[id] = true
		if rw.messages > 0 || rw.drops > 0 {
			r.board.Batch(rw.ref, int(rw.messages), int(rw.drops))
		}
		was := r.devices[id]
		switch {
		case rw.up && !was:
			r.board.Connected(rw.ref, 0)
		case !rw.up && was:
			r.board.Disconnected(rw.ref, fmt.Sprintf("silent for more than %.0f s", rw.stoppedAfterSecs))
		}
		r.devices[id] = rw.up
	}
	for id := range r.devices {
		if !seen[id] {
			delete(r.devices, id)
		}
	}

	if r.opt.series == nil || (!force && nowMs-r.healthLast < r.opt.healthEvery.Milliseconds()) || nowMs <= r.healthLast {
		return
	}
	r.healthLast = nowMs
	samples := make([]model.Sample, 0, len(rows)*5+16)
	counter := func(name, help string, ls model.Labels, v uint64) {
		samples = append(samples, model.Sample{Name: name, Labels: ls, TimestampMs: nowMs, Value: float64(v), Kind: model.KindCounter, Help: help})
	}
	gauge := func(name, help string, ls model.Labels, v float64) {
		samples = append(samples, model.Sample{Name: name, Labels: ls, TimestampMs: nowMs, Value: v, Kind: model.KindGauge, Help: help})
	}
	slices.SortFunc(rows, func(a, b row) int {
		if a.ref.ID < b.ref.ID {
			return -1
		}
		if a.ref.ID > b.ref.ID {
			return 1
		}
		return 0
	})
	for _, rw := range rows {
		ls := model.Labels{{Name: "device", Value: rw.ref.ID}}
		counter(SeriesMessages, "IOS XR telemetry messages decoded, per router", ls, rw.messagesAll)
		counter(SeriesBytes, "IOS XR telemetry message bytes (inflated payloads), per router", ls, rw.bytes)
		for _, reason := range slices.Sorted(maps.Keys(rw.dropsBy)) {
			counter(SeriesDrops, "what the IOS XR receiver dropped of one router, by reason (messages, or connections for framing and zlib reasons)",
				model.Labels{{Name: "device", Value: rw.ref.ID}, {Name: "reason", Value: reason}}, rw.dropsBy[reason])
		}
		gauge(SeriesSilence, "seconds since the IOS XR receiver last heard from the router", ls, max(0, float64(nowMs-rw.lastMs)/1000))
	}
	r.dropMu.Lock()
	recv := maps.Clone(r.drops)
	r.dropMu.Unlock()
	for _, reason := range receiverReasons {
		recv[reason] += 0
	}
	for _, reason := range slices.Sorted(maps.Keys(recv)) {
		counter(SeriesReceiverDrops, "everything the IOS XR receiver dropped, by reason, whether or not a router can be named",
			model.Labels{{Name: "reason", Value: reason}}, recv[reason])
	}
	sil := r.groupSilence(nowMs)
	keys := slices.SortedFunc(maps.Keys(sil), func(a, b pgKey) int {
		if a.policy != b.policy {
			if a.policy < b.policy {
				return -1
			}
			return 1
		}
		if a.group < b.group {
			return -1
		}
		if a.group > b.group {
			return 1
		}
		return 0
	})
	for _, k := range keys {
		// Labels in name order: the store refuses unsorted ones.
		ls := model.Labels{{Name: "group", Value: k.group}, {Name: "policy", Value: k.policy}}
		gauge(SeriesGroupSilence, "seconds since any router last sent this collection group of a loaded .policy (since the policy was loaded when none did)", ls, sil[k].silence)
		gauge(SeriesGroupPeriod, "collection period of this group in its loaded .policy; silence over three periods is what health reports", ls, sil[k].period)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.opt.series.Write(ctx, &model.Batch{Device: healthDevice, Samples: samples, ReceivedMs: nowMs}); err != nil {
		r.board.Add(CounterHealthWriteErrors, 1)
		r.board.Error(healthDevice, status.CatBuffer, fmt.Errorf("router health series not written: %w", err))
		r.logEvery("health-write", "IOS XR router health series not written", "samples", len(samples), "error", err)
	}
}

func (r *Receiver) publishCounters() {
	c := &r.count
	vals := map[string]uint64{
		CounterTCPAccepted: c.accepted.Load(), CounterTCPRefusedLimit: c.refusedLimit.Load(), CounterTCPIdleClosed: c.idleClosed.Load(),
		CounterTCPBytes: c.tcpBytes.Load(), CounterUDPDatagrams: c.udpDatagrams.Load(), CounterUDPBytes: c.udpBytes.Load(),
		CounterUDPReadErrors: c.udpReadErrors.Load(), CounterMessages: c.messages.Load(), CounterResets: c.resets.Load(),
		CounterHeartbeats: c.heartbeats.Load(), CounterMissingProto: c.missingProto.Load(),
	}
	r.dropMu.Lock()
	for reason, n := range r.drops {
		vals[CounterDropPrefix+boardReason(reason)] += n
	}
	r.dropMu.Unlock()
	for name, v := range vals {
		if d := v - r.told[name]; d > 0 {
			r.board.Add(name, d)
			r.told[name] = v
		}
	}
}
