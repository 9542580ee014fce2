package store

import (
	"context"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/netlens/netlens/pkg/model"
)

const (
	benchSeries = 10_000
	benchBatch  = 500
)

// benchBatches spreads 10k FTD-like series (100 devices x 100 interface
// counters) over 500-sample batches, as a receiver hands them over.
func benchBatches() [][]model.Sample {
	all := make([]model.Sample, 0, benchSeries)
	for d := range 100 {
		for i := range 100 {
			all = append(all, model.Sample{
				Name: "ftd_interface_bytes_in",
				Labels: model.Labels{
					{Name: "device", Value: "fw" + strconv.Itoa(d)},
					{Name: "family", Value: "interface"},
					{Name: "interface", Value: "Ethernet1/" + strconv.Itoa(i)},
				},
				Kind: model.KindCounter,
			})
		}
	}
	var out [][]model.Sample
	for len(all) > 0 {
		n := min(benchBatch, len(all))
		out = append(out, all[:n:n])
		all = all[n:]
	}
	return out
}

// BenchmarkAppend measures steady-state ingest: every series is known, each
// op is one 500-sample Append (one commit). Run it with
//
//	go test -run '^$' -bench BenchmarkAppend -benchmem ./pkg/store/
func BenchmarkAppend(b *testing.B) { benchAppend(b, false) }

// BenchmarkAppendSlots is the same with a producer-owned slot per series
// (model.SeriesSlot, as the XR mapper keeps them): no hash, no cache lock.
func BenchmarkAppendSlots(b *testing.B) { benchAppend(b, true) }

func benchAppend(b *testing.B, slots bool) {
	s := openTest(b, Options{})
	batches := benchBatches()
	if slots {
		for _, batch := range batches {
			for i := range batch {
				batch[i].Slot = new(model.SeriesSlot)
			}
		}
	}
	ctx := context.Background()
	ts := t0.UnixMilli()
	round := func() {
		ts += 10_000
		for _, batch := range batches {
			for i := range batch {
				batch[i].TimestampMs = ts
				batch[i].Value += 1000
			}
		}
	}
	// Create every series first: the benchmark is about the hot path.
	round()
	for _, batch := range batches {
		if res, err := s.Append(ctx, batch); err != nil || res.Rejected != 0 {
			b.Fatalf("warm-up: %+v %v", res, err)
		}
	}

	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		if n%len(batches) == 0 {
			round()
		}
		res, err := s.Append(ctx, batches[n%len(batches)])
		if err != nil || res.Rejected != 0 {
			b.Fatalf("append: %+v %v", res, err)
		}
		n++
	}
	runtime.ReadMemStats(&ms1)
	samples := float64(n * benchBatch)
	b.ReportMetric(samples/b.Elapsed().Seconds(), "samples/s")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/samples, "allocs/sample")
}

// BenchmarkAppendNewSeries measures the cold path: every sample starts a
// series (validation, label building, head series creation). A device that
// connects for the first time pays this once per series.
func BenchmarkAppendNewSeries(b *testing.B) {
	s := openTest(b, Options{})
	ctx := context.Background()
	batch := make([]model.Sample, benchBatch)
	n := 0
	for b.Loop() {
		for i := range batch {
			batch[i] = model.Sample{
				Name:        "ftd_interface_bytes_in",
				Labels:      model.Labels{{Name: "device", Value: "fw"}, {Name: "interface", Value: strconv.Itoa(n*benchBatch + i)}},
				TimestampMs: t0.Add(time.Duration(n) * time.Second).UnixMilli(),
				Kind:        model.KindCounter,
			}
		}
		if res, err := s.Append(ctx, batch); err != nil || res.Rejected != 0 {
			b.Fatalf("append: %+v %v", res, err)
		}
		n++
	}
	b.ReportMetric(float64(n*benchBatch)/b.Elapsed().Seconds(), "samples/s")
}
