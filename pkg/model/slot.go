package model

import "sync/atomic"

// SeriesSlot lets a producer that sends the same series again and again
// keep, beside its own entry for the series, what the store found for it
// the first time, so later appends skip the store's lookup by name and
// labels (a hash of every label and a shared, locked cache). The producer
// only allocates one slot per series and points its samples at it; the
// store fills it and, on every use, checks cheaply that what it holds is
// its own and for the same name and labels, so a stale or mismatched slot
// only costs the ordinary lookup. Safe for concurrent use.
type SeriesSlot struct{ v atomic.Value }

// Load returns what the store last kept, or nil.
func (s *SeriesSlot) Load() any { return s.v.Load() }

// Store keeps v (always the same concrete type for one store).
func (s *SeriesSlot) Store(v any) { s.v.Store(v) }
