package ipfix

import (
	"context"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/netlens/netlens/pkg/config"
	dec "github.com/netlens/netlens/pkg/decode/ipfix"
)

// countingHandler counts records by exporter and flushes; gate, when set,
// holds every record until it is closed (to fill the queues).
type countingHandler struct {
	gate    chan struct{}
	mu      sync.Mutex
	by      map[netip.AddrPort]int
	octets  atomic.Uint64
	total   atomic.Int64
	options atomic.Int64
	flushes atomic.Int64
}

func (h *countingHandler) Record(r *dec.Record) {
	if h.gate != nil {
		<-h.gate
	}
	for _, f := range r.Fields {
		if f.Elem.PEN == 0 && f.Elem.ID == 1 { // octetDeltaCount
			h.octets.Add(f.Uint())
		}
	}
	h.mu.Lock()
	if h.by == nil {
		h.by = map[netip.AddrPort]int{}
	}
	h.by[r.Scope.Exporter]++
	h.mu.Unlock()
	h.total.Add(1)
}

func (h *countingHandler) Options(*dec.Record) { h.options.Add(1) }

func (h *countingHandler) Flush(context.Context, int64) error {
	h.flushes.Add(1)
	return nil
}

func (h *countingHandler) from(ap netip.AddrPort) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.by[ap]
}

// testEngine is the real decoder handing records to h, for every worker.
func testEngine(cfg config.IPFIX, h *countingHandler) func(int) engine {
	return decoderEngine(cfg, nil, func(int) Handler { return h })
}
