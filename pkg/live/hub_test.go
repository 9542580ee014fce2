package live

import (
	"testing"

	"github.com/netlens/netlens/pkg/model"
)

func batch(ts int64, names ...string) *model.Batch {
	b := &model.Batch{Device: model.DeviceRef{Source: model.SourceFTD, ID: "d1"}}
	for _, n := range names {
		b.Samples = append(b.Samples, model.Sample{Name: n, TimestampMs: ts})
	}
	return b
}

func TestSubscriptionHearsOnlyItsMetrics(t *testing.T) {
	h := NewHub()
	cpu := h.Subscribe(Interest{Names: map[string]struct{}{"ftd_cpu_cpu_utilisation": {}}}, 4)
	all := h.Subscribe(Interest{All: true}, 4)
	h.Publish(batch(1000, "ftd_mem_used_percentage"))
	h.Publish(batch(2000, "ftd_cpu_cpu_utilisation", "ftd_mem_used_percentage"))
	if got := len(cpu.C); got != 1 {
		t.Fatalf("cpu subscription got %d ticks, want 1", got)
	}
	if tk := <-cpu.C; tk.TimestampMs != 2000 || tk.Device.ID != "d1" {
		t.Fatalf("tick = %+v", tk)
	}
	if got := len(all.C); got != 2 {
		t.Fatalf("catch-all subscription got %d ticks, want 2", got)
	}
}

func TestSlowSubscriptionDropsOldestAndCounts(t *testing.T) {
	h := NewHub()
	s := h.Subscribe(Interest{All: true}, 2)
	for ts := int64(1); ts <= 5; ts++ {
		h.Publish(batch(ts, "m"))
	}
	if s.Dropped() != 3 || h.Stats().Dropped != 3 {
		t.Fatalf("dropped = %d (hub %d), want 3", s.Dropped(), h.Stats().Dropped)
	}
	if a, b := (<-s.C).TimestampMs, (<-s.C).TimestampMs; a != 4 || b != 5 {
		t.Fatalf("kept ticks %d, %d; want the newest 4, 5", a, b)
	}
}

func TestClosedSubscriptionGetsNothing(t *testing.T) {
	h := NewHub()
	s := h.Subscribe(Interest{All: true}, 1)
	s.Close()
	h.Publish(batch(1, "m"))
	if len(s.C) != 0 || h.Stats().Subscriptions != 0 {
		t.Fatal("closed subscription still receives")
	}
}

func BenchmarkPublish480Samples10Subscribers(b *testing.B) {
	h := NewHub()
	names := make([]string, 480)
	for i := range names {
		names[i] = "ftd_interface_input_packets"
	}
	bt := batch(1, names...)
	for i := 0; i < 10; i++ {
		s := h.Subscribe(Interest{Names: map[string]struct{}{"ftd_cpu_cpu_utilisation": {}}}, 1)
		defer s.Close()
	}
	for b.Loop() {
		h.Publish(bt)
	}
}
