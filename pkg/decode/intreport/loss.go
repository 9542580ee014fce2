package intreport

import "net/netip"

// Report loss from sequence numbers. The spec numbers reports per hw_id
// towards one collector in v0.5, and per (switch id, hw_id) in v1.0; the
// reporting device itself is known only by the datagram's source address,
// so the receiver passes it in.

// SeqKey is one sequence-number space.
type SeqKey struct {
	Exporter netip.Addr
	SwitchID uint32 // v1.0 only: v0.5 numbers per hw_id whatever the header
	HwID     uint8
}

// SeqKeyOf returns the sequence space of a report from exporter.
func SeqKeyOf(exporter netip.Addr, h *Header) SeqKey {
	k := SeqKey{Exporter: exporter, HwID: h.HwID}
	if h.Version == V10 {
		k.SwitchID = h.SwitchID
	}
	return k
}

// SeqStats count what a SeqTracker saw.
type SeqStats struct {
	Lost       uint64 // reports missing from forward gaps
	Duplicates uint64 // same number again
	Late       uint64 // behind the last number, within ReorderWindow
	Resets     uint64 // jumps too far either way: a restarted exporter
	Untracked  uint64 // reports of spaces beyond MaxKeys
}

// SeqTracker finds lost reports per sequence space, with bounded memory.
// Not safe for concurrent use.
type SeqTracker struct {
	maxKeys int
	last    map[SeqKey]uint32
	st      SeqStats
}

const (
	// maxGap is the largest forward jump counted as loss; a larger one
	// is taken as a restart, so one bad number cannot claim billions lost.
	maxGap = 1 << 16
	// reorderWindow is how far back a number counts as late rather than a
	// restart.
	reorderWindow = 1024
)

// NewSeqTracker tracks at most maxKeys spaces (default 4096 when <= 0).
func NewSeqTracker(maxKeys int) *SeqTracker {
	if maxKeys <= 0 {
		maxKeys = 4096
	}
	return &SeqTracker{maxKeys: maxKeys, last: make(map[SeqKey]uint32, maxKeys)}
}

// Observe records seq in space k and returns how many reports were lost
// just before it (modulo 2^32, so the wrap is no loss).
func (t *SeqTracker) Observe(k SeqKey, seq uint32) (lost uint32) {
	last, ok := t.last[k]
	if !ok {
		if len(t.last) >= t.maxKeys {
			t.st.Untracked++
			return 0
		}
		t.last[k] = seq
		return 0
	}
	d := seq - last
	switch {
	case d == 0:
		t.st.Duplicates++
		return 0
	case d <= maxGap:
		t.last[k] = seq
		t.st.Lost += uint64(d - 1)
		return d - 1
	case -d <= reorderWindow:
		t.st.Late++
		return 0
	}
	t.st.Resets++
	t.last[k] = seq
	return 0
}

// Stats returns the counters so far.
func (t *SeqTracker) Stats() SeqStats { return t.st }

// Len is the number of spaces tracked.
func (t *SeqTracker) Len() int { return len(t.last) }
