// Package pipeline takes decoded batches from the receivers and hands them
// to the store and the live hub, counting what each keeps and rejects on the
// status board. Receivers depend on Sink only.
package pipeline

import (
	"context"

	"github.com/netlens/netlens/pkg/model"
)

// Sink accepts decoded batches. Write returns once the batch's samples are
// in the store's write-ahead log, so a receiver that acknowledges a batch to
// its device after Write returns never acknowledges data a restart loses.
type Sink interface {
	Write(ctx context.Context, b *model.Batch) error
}

// AppendResult says how many samples the store kept and rejected.
type AppendResult struct {
	Appended int
	Rejected int
	// FirstError describes the first rejected sample, for the device's record.
	FirstError error
}

// Appender is the write side of the series store.
type Appender interface {
	Append(ctx context.Context, samples []model.Sample) (AppendResult, error)
}

// Publisher is the write side of the live hub: it learns which series got
// new data and when, so live streams can re-evaluate their queries.
type Publisher interface {
	Publish(b *model.Batch)
}
