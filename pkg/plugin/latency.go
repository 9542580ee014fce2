package plugin

import (
	"sort"
	"sync"
	"time"
)

// latencyWindow keeps the most recent batch-to-frame latencies of live
// streams so the status page and the benchmarks can report percentiles.
type latencyWindow struct {
	mu   sync.Mutex
	buf  []time.Duration
	next int
	full bool
}

func newLatencyWindow(n int) *latencyWindow { return &latencyWindow{buf: make([]time.Duration, n)} }

func (w *latencyWindow) observe(d time.Duration) {
	w.mu.Lock()
	w.buf[w.next] = d
	w.next++
	if w.next == len(w.buf) {
		w.next, w.full = 0, true
	}
	w.mu.Unlock()
}

// Percentile returns the p-th percentile (0..100) of the window, or 0.
func (w *latencyWindow) Percentile(p float64) time.Duration {
	w.mu.Lock()
	n := w.next
	if w.full {
		n = len(w.buf)
	}
	s := append([]time.Duration(nil), w.buf[:n]...)
	w.mu.Unlock()
	if len(s) == 0 {
		return 0
	}
	sort.Slice(s, func(a, b int) bool { return s[a] < s[b] })
	i := int(p / 100 * float64(len(s)-1))
	return s[i]
}
