package intreport

import (
	"net/netip"
	"testing"
)

func TestSeqTracker(t *testing.T) {
	tr := NewSeqTracker(2)
	sw := netip.MustParseAddr("192.0.2.1")
	a := SeqKeyOf(sw, &Header{Version: V05, HwID: 1, HasSwitchID: true, SwitchID: 7})
	if a != (SeqKey{Exporter: sw, HwID: 1}) {
		t.Fatalf("v0.5 key %+v: numbered per hw_id, not per switch id", a)
	}
	steps := []struct {
		seq  uint32
		lost uint32
	}{
		{0xfffffffd, 0}, // first seen
		{0xfffffffe, 0},
		{1, 2},          // 0xffffffff and 0 lost across the wrap
		{1, 0},          // duplicate
		{0, 0},          // late
		{5, 3},          // 2, 3, 4 lost
		{0x80000000, 0}, // far jump: restart, not 2^31 lost
		{0x80000001, 0},
	}
	for i, s := range steps {
		if got := tr.Observe(a, s.seq); got != s.lost {
			t.Errorf("step %d seq %#x: lost %d, want %d", i, s.seq, got, s.lost)
		}
	}
	want := SeqStats{Lost: 5, Duplicates: 1, Late: 1, Resets: 1}
	if tr.Stats() != want {
		t.Errorf("stats %+v, want %+v", tr.Stats(), want)
	}
	b := SeqKeyOf(sw, &Header{Version: V10, HwID: 1, SwitchID: 8})
	c := SeqKeyOf(sw, &Header{Version: V10, HwID: 1, SwitchID: 9})
	tr.Observe(b, 10)
	tr.Observe(c, 10) // a third space: over MaxKeys
	if tr.Len() != 2 || tr.Stats().Untracked != 1 {
		t.Errorf("len %d stats %+v", tr.Len(), tr.Stats())
	}
}

func BenchmarkSeqTracker(b *testing.B) {
	tr := NewSeqTracker(0)
	k := SeqKey{Exporter: netip.MustParseAddr("192.0.2.1"), SwitchID: 1}
	b.ReportAllocs()
	seq := uint32(0)
	for b.Loop() {
		seq += 1 + seq%7/6 // a loss every 7th
		tr.Observe(k, seq)
	}
}
