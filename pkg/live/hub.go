// Package live tells live streams when the series they watch got new data.
// It carries notifications, not samples: a stream re-evaluates its own query
// against the store at the notified time, so rate(), aggregations and raw
// PromQL all stream exactly as they would query, and the hub stays ignorant
// of queries and wire formats alike.
package live

import (
	"sync"
	"sync/atomic"

	"github.com/netlens/netlens/pkg/model"
)

// Tick says that a device's batch with data for a watched metric was stored.
type Tick struct {
	// TimestampMs is the newest sample time in the batch for the watched
	// metrics: the time at which the stream should evaluate its query.
	TimestampMs int64
	Device      model.DeviceRef
	// ReceivedMs is when the receiver got the batch, to measure how long a
	// batch takes to reach a stream.
	ReceivedMs int64
}

// Interest selects the batches a subscription hears about: any batch with a
// sample whose metric name is in Names, or every batch when All is set (a
// PromQL expression whose selectors do not all name a metric).
type Interest struct {
	Names map[string]struct{}
	All   bool
}

// Subscription receives ticks on C. Its queue is bounded: when a stream
// falls behind, the oldest tick is dropped and counted, so a stalled browser
// never makes the process grow.
type Subscription struct {
	C        <-chan Tick
	c        chan Tick
	interest Interest
	hub      *Hub
	id       uint64
	dropped  atomic.Uint64
}

// Dropped is how many ticks this subscription lost to a full queue.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Close stops deliveries; C is not closed so a late Publish cannot panic.
func (s *Subscription) Close() {
	s.hub.mu.Lock()
	delete(s.hub.subs, s.id)
	s.hub.mu.Unlock()
}

// Hub fans batches out to subscriptions. Safe for concurrent use.
type Hub struct {
	mu      sync.RWMutex
	subs    map[uint64]*Subscription
	next    uint64
	dropped atomic.Uint64
	ticks   atomic.Uint64
}

// NewHub returns a hub with no subscriptions.
func NewHub() *Hub { return &Hub{subs: map[uint64]*Subscription{}} }

// Subscribe registers interest; buffer bounds the pending ticks (minimum 1).
func (h *Hub) Subscribe(in Interest, buffer int) *Subscription {
	if buffer < 1 {
		buffer = 1
	}
	c := make(chan Tick, buffer)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.next++
	s := &Subscription{C: c, c: c, interest: in, hub: h, id: h.next}
	h.subs[h.next] = s
	return s
}

// Stats are the hub's totals since start.
type Stats struct {
	Subscriptions int
	Ticks         uint64
	Dropped       uint64
}

// Stats reports the hub's counters.
func (h *Hub) Stats() Stats {
	h.mu.RLock()
	n := len(h.subs)
	h.mu.RUnlock()
	return Stats{Subscriptions: n, Ticks: h.ticks.Load(), Dropped: h.dropped.Load()}
}

// Publish implements pipeline.Publisher. It never blocks on a subscriber.
func (h *Hub) Publish(b *model.Batch) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if len(h.subs) == 0 {
		return
	}
	for _, s := range h.subs {
		ts, ok := newest(b, s.interest)
		if !ok {
			continue
		}
		h.deliver(s, Tick{TimestampMs: ts, Device: b.Device, ReceivedMs: b.ReceivedMs})
	}
}

func newest(b *model.Batch, in Interest) (int64, bool) {
	var ts int64
	found := false
	for i := range b.Samples {
		smp := &b.Samples[i]
		if !in.All {
			if _, ok := in.Names[smp.Name]; !ok {
				continue
			}
		}
		if !found || smp.TimestampMs > ts {
			ts, found = smp.TimestampMs, true
		}
	}
	return ts, found
}

func (h *Hub) deliver(s *Subscription, t Tick) {
	h.ticks.Add(1)
	for {
		select {
		case s.c <- t:
			return
		default:
		}
		// Full: make room by discarding the oldest tick. A consumer may have
		// emptied the queue meanwhile, in which case nothing is dropped.
		select {
		case <-s.c:
			s.dropped.Add(1)
			h.dropped.Add(1)
		default:
		}
	}
}
