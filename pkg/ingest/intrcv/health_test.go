package intrcv

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/netlens/netlens/pkg/decode/intreport"
	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/sim/intsim"
)

type captureSink struct {
	mu      sync.Mutex
	batches []model.Batch
}

func (s *captureSink) Write(_ context.Context, b *model.Batch) error {
	s.mu.Lock()
	s.batches = append(s.batches, *b)
	s.mu.Unlock()
	return nil
}

// last returns the newest value of each series of the newest batch, by
// name and labels.
func (s *captureSink) last() (map[string]float64, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]float64{}
	if len(s.batches) == 0 {
		return out, 0
	}
	b := s.batches[len(s.batches)-1]
	for _, smp := range b.Samples {
		out[smp.Name+fmt.Sprint(smp.Labels)] = smp.Value
	}
	return out, len(s.batches)
}

// The health series say, per switch, what Switches says: reports by type,
// drops by reason, lost reports and silence; receiver drops by reason,
// every decoder reason present from the start.
func TestHealthSeries(t *testing.T) {
	sink := &captureSink{}
	rig := startRig(t, testConfig(), nil, WithSeries(sink), withHealthEvery(50*time.Millisecond))
	reps, kinds, ids := simReports(t, intsim.ModeINT, intsim.V05, 10)
	send(t, "127.0.0.51", rig.r.UDPAddr(), reps...)
	send(t, "127.0.0.51", rig.r.UDPAddr(), reps[0][:5])
	rig.waitDatagrams(uint64(len(reps)+1), 5*time.Second)
	time.Sleep(300 * time.Millisecond) // a few health rounds, with traffic done
	_, rounds := sink.last()
	rig.stop(t)
	got, _ := sink.last()
	if rounds < 2 {
		t.Errorf("%d health writes in 300 ms at one per 50 ms", rounds)
	}
	want := map[string]uint64{}
	for i, k := range kinds {
		if k == intsim.KindINT || k == intsim.KindLocal {
			ty := TypeFlow
			if k == intsim.KindINT {
				ty = TypeINT
			}
			want[fmt.Sprint(model.Labels{{Name: "device", Value: fmt.Sprintf("0x%08x", ids[i])}, {Name: "type", Value: ty}})]++
		}
	}
	if len(want) == 0 {
		t.Fatal("nothing simulated")
	}
	for ls, n := range want {
		if v := got[SeriesReports+ls]; v != float64(n) {
			t.Errorf("%s%s = %v, want %d", SeriesReports, ls, v, n)
		}
	}
	dev := model.Labels{{Name: "device", Value: "127.0.0.51"}, {Name: "reason", Value: intreport.ReasonTruncated}}
	if v := got[SeriesDrops+fmt.Sprint(dev)]; v != 1 {
		t.Errorf("truncated drop series %v", v)
	}
	for _, reason := range append(intreport.Reasons(), DropQueueFull, DropSocketOverflow, DropNotAllowed) {
		if _, ok := got[SeriesReceiverDrops+fmt.Sprint(model.Labels{{Name: "reason", Value: reason}})]; !ok {
			t.Errorf("no receiver drop series for %s", reason)
		}
	}
	if v := got[SeriesReceiverDrops+fmt.Sprint(model.Labels{{Name: "reason", Value: intreport.ReasonTruncated}})]; v != 1 {
		t.Errorf("receiver truncated %v", v)
	}
	silence, ok := got[SeriesSilence+fmt.Sprint(model.Labels{{Name: "device", Value: fmt.Sprintf("0x%08x", ids[0])}})]
	if !ok || silence < 0.1 || silence > 10 {
		t.Errorf("silence %v (present %v), want about 0.3 s", silence, ok)
	}
}

// With no traffic at all the handlers still hear the time every 100 ms,
// so the mapper can close postcard paths and buckets.
func TestIdleFlush(t *testing.T) {
	rig := startRig(t, testConfig(), nil)
	time.Sleep(600 * time.Millisecond)
	for i, h := range rig.handlers {
		h.mu.Lock()
		n, last := h.flushes, h.last
		h.mu.Unlock()
		// 6 ticks are due; a loaded machine may delay some.
		if n < 3 || time.Since(time.UnixMilli(last)) > 400*time.Millisecond {
			t.Errorf("worker %d: %d flushes in 600 ms, last at %v", i, n, time.UnixMilli(last))
		}
	}
}
