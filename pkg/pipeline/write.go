package pipeline

import (
	"context"
	"fmt"

	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/status"
)

// Pipeline is the Sink every receiver writes to: store first (so an
// acknowledgement means durable), then the live hub.
type Pipeline struct {
	store Appender
	live  Publisher
	board *status.Board
}

// New wires a pipeline. live may be nil when nothing streams.
func New(store Appender, live Publisher, board *status.Board) *Pipeline {
	return &Pipeline{store: store, live: live, board: board}
}

// Write appends the batch and tells the live hub. Samples the store rejects
// are recorded on the device's record; they do not fail the batch, because
// refusing a whole batch for one bad series would make the device resend
// the good ones forever.
func (p *Pipeline) Write(ctx context.Context, b *model.Batch) error {
	if len(b.Samples) == 0 {
		return nil
	}
	res, err := p.store.Append(ctx, b.Samples)
	if err != nil {
		p.board.Error(b.Device, status.CatBuffer, fmt.Errorf("store: %w", err))
		return err
	}
	if res.Rejected > 0 {
		p.board.Add("store_samples_rejected", uint64(res.Rejected))
		if res.FirstError != nil {
			p.board.Error(b.Device, status.CatBuffer, fmt.Errorf("store rejected %d of %d samples: %w", res.Rejected, len(b.Samples), res.FirstError))
		}
	}
	p.board.Add("store_samples_appended", uint64(res.Appended))
	if p.live != nil && res.Appended > 0 {
		p.live.Publish(b)
	}
	return nil
}
