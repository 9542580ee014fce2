package store

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/prometheus/storage"
)

// WithChunkQuerier runs fn with a chunk querier over [mint, maxt] (Unix
// milliseconds) under the rules a PromQL query runs by: it waits for a
// query slot and ctx carries the engine's query timeout. Callers that evaluate common PromQL
// shapes themselves (pkg/query's fast path) use it so they neither overrun
// the store's concurrency bound nor outlive the timeout. The querier, and
// every series, chunk and iterator it hands out, are only valid while fn
// runs. Chunks rather than samples let the caller decode each series the
// way it needs.
func (s *Store) WithChunkQuerier(ctx context.Context, mint, maxt int64, fn func(ctx context.Context, q storage.ChunkQuerier) error) error {
	release, err := s.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	ctx, cancel := context.WithTimeout(ctx, s.opts.QueryTimeout)
	defer cancel()
	q, err := s.db.ChunkQuerier(mint, maxt)
	if err != nil {
		return fmt.Errorf("chunk querier: %w", err)
	}
	defer q.Close()
	return fn(ctx, q)
}

// LookbackDelta is how far back the engine's instant selectors look for a
// sample; evaluating a selector outside the engine must use the same.
func (s *Store) LookbackDelta() time.Duration { return DefaultLookbackDelta }

// MaxSamples is the engine's bound on the samples one query may hold.
func (s *Store) MaxSamples() int { return s.opts.MaxSamples }
