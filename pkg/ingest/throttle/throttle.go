// Package throttle says when something keyed may be told again: a refused
// sender put on the status board, a log line about a flood. The receivers
// tell each at most once an interval per key, so a scan or a flood of bad
// datagrams cannot flood the board or the log, and remember a bounded
// number of keys, so a scan from many addresses cannot grow the memory.
package throttle

import "sync"

// Keyed allows each key once per interval. Past Max keys it forgets them
// all: the cost is one early repeat per key, never unbounded memory.
type Keyed[K comparable] struct {
	everyMs int64
	max     int

	mu   sync.Mutex
	last map[K]int64
}

// New allows each key once every everyMs, remembering at most max keys.
func New[K comparable](everyMs int64, max int) *Keyed[K] {
	return &Keyed[K]{everyMs: everyMs, max: max, last: map[K]int64{}}
}

// Allow reports whether key may be told at nowMs, and if so notes it.
func (t *Keyed[K]) Allow(key K, nowMs int64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if last, ok := t.last[key]; ok && nowMs-last < t.everyMs {
		return false
	}
	if len(t.last) >= t.max {
		clear(t.last)
	}
	t.last[key] = nowMs
	return true
}
