package store

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/netlens/netlens/pkg/model"
)

// A producer that keeps one slot per series (the XR mapper) hands it with
// every sample; the store fills it on the first append and trusts it only
// while it is the store's own entry for that very name and label set.
func TestSeriesSlotIsCheckedBeforeItIsTrusted(t *testing.T) {
	a, b := openTest(t, Options{}), openTest(t, Options{})
	var slot model.SeriesSlot
	sm := cpu("fw1", t0, 1)
	sm.Slot = &slot
	mustAppend(t, a, sm)
	cs, _ := slot.Load().(*cachedSeries)
	if cs == nil || cs.owner != a || cs.ref == 0 {
		t.Fatalf("slot after the first append: %+v, want store a's entry with its ref", cs)
	}

	// Another store never uses a's ref: it looks the series up itself and
	// takes the slot over.
	mustAppend(t, b, sm)
	if cs, _ := slot.Load().(*cachedSeries); cs == nil || cs.owner != b {
		t.Fatalf("slot after an append to store b: %+v", cs)
	}

	// A producer that changes the labels in place (or moves the slot to
	// another series) gets the series its labels say, not the slot's.
	sm.Labels = slices.Clone(sm.Labels)
	sm.Labels[0].Value = "fw9"
	sm.TimestampMs = t0.Add(time.Minute).UnixMilli()
	mustAppend(t, b, sm)
	devs, err := b.LabelValues(context.Background(), "device", t0.Add(-time.Hour), t0.Add(time.Hour))
	if err != nil || !slices.Equal(devs, []string{"fw1", "fw9"}) {
		t.Fatalf("devices %v, %v; want fw1 and fw9", devs, err)
	}
	if cs, _ := slot.Load().(*cachedSeries); cs == nil || cs.labels.Get("device") != "fw9" {
		t.Fatalf("slot not moved to the series it was last used for: %+v", cs)
	}
}

// When the head has dropped the series a slot refers to (head compaction
// after the series went silent), the append falls back on the labels and
// the slot learns the new ref.
func TestSeriesSlotWithAStaleRefFallsBackOnTheLabels(t *testing.T) {
	s := openTest(t, Options{})
	var slot model.SeriesSlot
	sm := bytesIn("fw1", t0, 1)
	sm.Slot = &slot
	mustAppend(t, s, sm)
	live := slot.Load().(*cachedSeries)
	stale := *live
	stale.ref = live.ref + 1<<40 // a ref the head does not hold
	slot.Store(&stale)

	sm.TimestampMs, sm.Value = t0.Add(time.Minute).UnixMilli(), 2
	mustAppend(t, s, sm)
	if cs := slot.Load().(*cachedSeries); cs.ref != live.ref {
		t.Fatalf("slot ref %d after the fallback, want the head's %d", cs.ref, live.ref)
	}
	v, err := s.InstantQuery(context.Background(), `count_over_time(ftd_interface_bytes_in[10m])`, t0.Add(time.Minute))
	if err != nil || len(v) != 1 || v[0].F != 2 {
		t.Fatalf("got %v %v, want both samples in one series", v, err)
	}
}

// Slots shared by concurrent appenders (two connections of one router)
// are read and replaced atomically; run with -race.
func TestSeriesSlotsUnderConcurrentAppenders(t *testing.T) {
	s := openTest(t, Options{})
	slots := make([]model.SeriesSlot, 20)
	const writers, rounds = 4, 30
	done := make(chan error, writers)
	for w := range writers {
		go func() {
			for r := range rounds {
				batch := make([]model.Sample, 0, len(slots))
				for d := range slots {
					sm := cpu("fw"+string(rune('a'+d)), t0.Add(time.Duration(r*writers+w)*time.Second), 1)
					sm.Slot = &slots[d]
					batch = append(batch, sm)
				}
				res, err := s.Append(context.Background(), batch)
				if err == nil && res.Rejected != 0 {
					err = res.FirstError
				}
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range writers {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	v, err := s.InstantQuery(context.Background(), `sum(count_over_time(ftd_cpu_utilisation[2h]))`, t0.Add(time.Hour))
	if err != nil || len(v) != 1 || int(v[0].F) != writers*rounds*len(slots) {
		t.Fatalf("got %v %v, want %d samples", v, err, writers*rounds*len(slots))
	}
}
