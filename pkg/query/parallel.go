package query

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/prometheus/prometheus/promql"
)

// parallel runs work(0..units-1) on up to GOMAXPROCS goroutines, each with
// its own scratch, and returns the first error. It stops handing out work
// once one fails or ctx ends.
func parallel[S any](ctx context.Context, units int, newScratch func() S, work func(u int, sc S) error) error {
	workers := min(runtime.GOMAXPROCS(0), units)
	if workers <= 0 {
		return nil
	}
	var (
		next    atomic.Int64
		failed  atomic.Bool
		errOnce sync.Once
		first   error
		wg      sync.WaitGroup
	)
	fail := func(err error) {
		failed.Store(true)
		errOnce.Do(func() { first = err })
	}
	run := func() {
		sc := newScratch()
		for !failed.Load() {
			u := int(next.Add(1) - 1)
			if u >= units {
				return
			}
			if err := ctx.Err(); err != nil {
				fail(fmt.Errorf("query evaluation: %w", err))
				return
			}
			if err := work(u, sc); err != nil {
				fail(err)
				return
			}
		}
	}
	for range workers - 1 {
		wg.Go(run)
	}
	run() // the caller's goroutine works too
	wg.Wait()
	return first
}

// minParallelFrames is the series count below which frames are built on
// one goroutine: under it, starting goroutines costs more than it saves.
const minParallelFrames = 512

// seriesFramesParallel is seriesFrames spread over the cores: a large
// result (10,000 series) spends as long copying points into frames as
// evaluating them. Frames come back in m's order.
func seriesFramesParallel(m promql.Matrix, expr string, legend *legend) data.Frames {
	workers := runtime.GOMAXPROCS(0)
	if len(m) < minParallelFrames || workers == 1 {
		return seriesFrames(m, expr, legend)
	}
	units := 4 * workers // smaller pieces balance uneven series
	size := (len(m) + units - 1) / units
	parts := make([]data.Frames, units)
	_ = parallel(context.Background(), units, func() struct{} { return struct{}{} }, func(u int, _ struct{}) error {
		lo, hi := u*size, min((u+1)*size, len(m))
		if lo < hi {
			parts[u] = seriesFrames(m[lo:hi], expr, legend)
		}
		return nil
	})
	frames := make(data.Frames, 0, len(m))
	for _, p := range parts {
		frames = append(frames, p...)
	}
	return frames
}
