package intsim

import (
	"slices"
	"testing"
)

// Switches' sockets flush when their own batches fill, so the totals count
// a packet's postcards in no particular order, and an older packet's
// postcard may be counted after a newer packet's. A flow's last
// observation is still its newest packet, hops in path order.
func TestLastObservationIsTheNewestPacketInPathOrder(t *testing.T) {
	d := newDomain(t, quiet(DomainConfig{Mode: ModePostcard}))
	fi := crossFlow(t, d, 6)
	first := slices.Clone(d.PacketOf(fi, 0))
	second := slices.Clone(d.PacketOf(fi, 1000))
	if len(first) != 3 || len(second) != 3 {
		t.Fatalf("%d and %d reports, want 3 postcards each", len(first), len(second))
	}
	ta := newTally(d)
	// The sink leaf flushes first, then the spine; the source leaf's batch
	// still holds the first packet's postcard when it flushes.
	for _, r := range []*Report{&second[2], &first[2], &second[1], &first[1], &first[0], &second[0]} {
		ta.add(r, 100)
	}
	last := ta.snapshot(0, 2).Flows[fi].Last
	want := []uint32{second[0].SwitchID, second[1].SwitchID, second[2].SwitchID}
	if last.PacketNo != second[0].PacketNo || !slices.Equal(last.Path(), want) {
		t.Fatalf("last observation packet %d path %#x, want packet %d path %#x", last.PacketNo, last.Path(), second[0].PacketNo, want)
	}
	for i, h := range last.Hops {
		if h != second[i].Local {
			t.Errorf("hop %d: %+v, the second packet's postcard says %+v", i, h, second[i].Local)
		}
	}

	// A third packet dropped at the spine: the drop is the news, and the
	// older packets' postcards counted after it change nothing.
	ta = newTally(d)
	drop := second[1]
	drop.Kind, drop.Reason, drop.PacketNo = KindDrop, DropNoRoute, second[1].PacketNo+1
	for _, r := range []*Report{&second[0], &drop, &second[1], &second[2]} {
		ta.add(r, 100)
	}
	last = ta.snapshot(0, 3).Flows[fi].Last
	if !last.Dropped || last.DropAt != drop.SwitchID || last.PacketNo != drop.PacketNo || len(last.Hops) != 0 {
		t.Errorf("after a newer drop: %+v", last)
	}
}
