package intdemo

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/netlens/netlens/docker/demotest"
	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/query"
)

// Against a store holding the series of switches in every situation the
// rules' descriptions name, each rule fires for exactly the instances it
// describes, with the values its summary shows.
func TestINTAlertRulesFireOnWhatTheyDescribe(t *testing.T) {
	now := time.Now()
	var samples []model.Sample
	// put writes one series every 10 s from 10 minutes ago to now, value(ago)
	// in seconds before now; NaN leaves a time out (the series is not born yet).
	put := func(name string, kind model.Kind, value func(ago int) (float64, bool), labels ...string) {
		for ago := 600; ago >= 0; ago -= 10 {
			if v, ok := value(ago); ok {
				samples = append(samples, model.Sample{Name: name, Labels: model.LabelsFromPairs(labels...),
					TimestampMs: now.Add(-time.Duration(ago) * time.Second).UnixMilli(), Value: v, Kind: kind})
			}
		}
	}
	always := func(v float64) func(int) (float64, bool) { return func(int) (float64, bool) { return v, true } }
	steps := func(before, after float64, at int) func(int) (float64, bool) {
		return func(ago int) (float64, bool) {
			if ago > at {
				return before, true
			}
			return after, true
		}
	}
	growing := func(perStep float64) func(int) (float64, bool) {
		return func(ago int) (float64, bool) { return perStep * float64((600-ago)/10), true }
	}

	// Drops: a switch whose drops are all older than 5 minutes, one that
	// dropped 3 more 2 minutes ago, one whose first drop report came a
	// minute ago (its counter born at 4 inside the window).
	put("int_drops_total", model.KindCounter, always(5), "device", "0x0000000a", "port", "1", "reason", "25")
	put("int_drops_total", model.KindCounter, steps(5, 8, 120), "device", "0x0000000b", "port", "3", "reason", "10")
	put("int_drops_total", model.KindCounter, func(ago int) (float64, bool) { return 4, ago <= 60 },
		"device", "0x0000000c", "port", "1", "reason", "50")
	// Queues: steady and low; above 300 cells half a minute ago; above it
	// two minutes ago only.
	put("int_queue_occupancy", model.KindGauge, always(50), "device", "0x0000000a", "queue", "0")
	put("int_queue_occupancy", model.KindGauge, func(ago int) (float64, bool) {
		if ago == 30 {
			return 1200, true
		}
		return 100, true
	}, "device", "0x0000000a", "queue", "3")
	put("int_queue_occupancy", model.KindGauge, func(ago int) (float64, bool) {
		if ago == 120 {
			return 900, true
		}
		return 100, true
	}, "device", "0x0000000b", "queue", "0")
	// Loss: 2 of every 102 reports lost (1.96 %); 1 of 1001 (0.1 %); a
	// switch that sent nothing in the window (0/0: no instance), and only
	// drop reports before.
	put("int_switch_reports_total", model.KindCounter, growing(100), "device", "0x0000000a", "type", "int")
	put("int_switch_lost_reports_total", model.KindCounter, growing(2), "device", "0x0000000a")
	put("int_switch_reports_total", model.KindCounter, growing(1000), "device", "0x0000000b", "type", "flow")
	put("int_switch_lost_reports_total", model.KindCounter, growing(1), "device", "0x0000000b")
	put("int_switch_reports_total", model.KindCounter, always(70), "device", "0x0000000c", "type", "drop")
	put("int_switch_lost_reports_total", model.KindCounter, always(3), "device", "0x0000000c")
	// Silence: a switch quiet for 400 s and one heard 5 s ago, both of
	// which sent flow reports before; a transit switch that sent only drop
	// reports, quiet for 400 s.
	silent := func(ago int) (float64, bool) { return float64(400 - ago), ago <= 400 }
	put("int_switch_silence_seconds", model.KindGauge, silent, "device", "0x0000000a")
	put("int_switch_silence_seconds", model.KindGauge, always(5), "device", "0x0000000b")
	put("int_switch_silence_seconds", model.KindGauge, silent, "device", "0x0000000c")
	st := demotest.StoreWith(t, samples)

	// Instance → [low, high] of its value and whether it fires.
	type want struct {
		low, high float64
		fires     bool
	}
	wants := map[string]map[string]want{
		"netlens-int-drops": {
			"device=0x0000000a,reason=25": {0, 0, false},
			"device=0x0000000b,reason=10": {3, 3.5, true}, // increase() extrapolates to the window's edges
			"device=0x0000000c,reason=50": {4, 4, true},
		},
		"netlens-int-queue-congested": {
			"device=0x0000000a,queue=0": {50, 50, false},
			"device=0x0000000a,queue=3": {1200, 1200, true},
			"device=0x0000000b,queue=0": {100, 100, false},
		},
		"netlens-int-report-loss": {
			"device=0x0000000a": {1.96, 1.97, true},
			"device=0x0000000b": {0.09, 0.11, false},
		},
		"netlens-int-switch-silent": {
			"device=0x0000000a": {400, 400, true},
			"device=0x0000000b": {5, 5, false},
		},
	}
	for _, r := range readRules(t) {
		w, ok := wants[r.uid]
		if !ok {
			t.Errorf("rule %s: this test does not know when it should fire", r.uid)
			continue
		}
		delete(wants, r.uid)
		frames, err := query.Execute(context.Background(), st, r.a, backend.TimeRange{From: now.Add(-r.rangeFrom), To: now}, 15*time.Second, 43200)
		if err != nil {
			t.Fatalf("%s: %v", r.title, err)
		}
		last := lastValues(frames)
		if got := slices.Sorted(maps.Keys(last)); !slices.Equal(got, slices.Sorted(maps.Keys(w))) {
			t.Errorf("%s: instances %v, want %v", r.title, last, slices.Sorted(maps.Keys(w)))
		}
		for k, x := range last {
			if e, ok := w[k]; ok && (x < e.low || x > e.high || (x > r.threshold) != e.fires) {
				t.Errorf("%s: %s is %v (fires %v), want %v..%v, fires %v", r.title, k, x, x > r.threshold, e.low, e.high, e.fires)
			}
		}
	}
	for uid := range wants {
		t.Errorf("rule %s is not provisioned", uid)
	}
}
