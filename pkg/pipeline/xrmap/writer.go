package xrmap

import (
	"context"
	"fmt"

	"github.com/netlens/netlens/pkg/decode/xr"
	"github.com/netlens/netlens/pkg/model"
)

// MaxPendingSamples is how many samples a Writer holds before it writes
// them without waiting for Flush: it bounds a connection's memory (180 KB
// of samples) and how long its oldest sample waits, and is large enough
// that the store's per-commit cost (a WAL write) is shared by dozens of
// messages. 8192 measured no faster (TCP ingest benchmark, alternate runs)
// for four times the memory.
const MaxPendingSamples = 2048

// Writer groups the messages of one connection into one store commit per
// Flush. Each message is mapped at once (series, xr_state rows, catalog,
// counters, exactly as Mapper.Write does); only its samples wait in the
// pending batch. A receiver calls Flush when it has handed over everything
// one read of the socket held, before it blocks on the next read.
//
// Why this keeps the guarantee of pipeline.Sink: a batch is durable in the
// WAL when Flush (or a Write that had to flush) returns. IOS XR telemetry
// has no acknowledgement to the router, over TCP, UDP or gRPC dial-out, so
// nothing is ever promised before that; what a crash between Write and
// Flush can lose (the rest of one read) is what the kernel's socket buffer
// loses anyway. One commit per read instead of per message shares the
// commit's WAL write and bookkeeping among all of the read's messages.
//
// A Writer belongs to one goroutine (one connection); the Mapper behind it
// stays safe for any number of them.
type Writer struct {
	m          *Mapper
	sc         scratch
	dev        model.DeviceRef
	receivedMs int64
	msgs       int // pending messages that have samples
}

// NewWriter returns a Writer for one connection.
func (m *Mapper) NewWriter() *Writer {
	w := &Writer{m: m}
	if m.state != nil {
		w.sc.app = m.state.NewAppender()
	}
	return w
}

// NotStoredError says which pending messages lost their samples because
// the sink refused their batch (a failed WAL write, a cancelled context).
type NotStoredError struct {
	Device   model.DeviceRef
	Messages int // messages whose samples were in the batch
	Samples  int
	Err      error
}

func (e *NotStoredError) Error() string {
	return fmt.Sprintf("xr %s: %d samples of %d messages not stored: %v", e.Device.ID, e.Samples, e.Messages, e.Err)
}

func (e *NotStoredError) Unwrap() error { return e.Err }

// Write maps msg and adds its samples to the pending batch. The batch is
// written first when it belongs to another device (a batch names one), and
// after when it reached MaxPendingSamples; an error is then a
// *NotStoredError for the messages of the batch written.
func (w *Writer) Write(ctx context.Context, dev model.DeviceRef, msg *xr.Message, receivedMs int64) error {
	if w.msgs > 0 && dev != w.dev {
		if err := w.Flush(ctx); err != nil {
			// msg itself is still mapped below and waits for the next flush.
			w.add(dev, msg, receivedMs)
			return err
		}
	}
	w.add(dev, msg, receivedMs)
	if len(w.sc.samples) >= MaxPendingSamples {
		return w.Flush(ctx)
	}
	return nil
}

func (w *Writer) add(dev model.DeviceRef, msg *xr.Message, receivedMs int64) {
	n := len(w.sc.samples)
	w.m.mapMessage(&w.sc, dev, msg, receivedMs)
	if len(w.sc.samples) == n {
		return
	}
	if w.msgs == 0 {
		// The batch's time is its oldest message's, so the live hub's
		// latency covers the wait for the flush.
		w.dev, w.receivedMs = dev, receivedMs
	}
	w.msgs++
}

// Pending is the number of messages whose samples wait for Flush.
func (w *Writer) Pending() int { return w.msgs }

// Flush writes the pending samples as one batch and returns once the sink
// has them (in the store's WAL). Its error is a *NotStoredError.
func (w *Writer) Flush(ctx context.Context) error {
	if w.msgs == 0 {
		return nil
	}
	msgs, n := w.msgs, len(w.sc.samples)
	err := w.m.store(ctx, &w.sc, w.dev, w.receivedMs)
	dev := w.dev
	w.sc.release()
	w.msgs, w.dev = 0, model.DeviceRef{}
	if err != nil {
		return &NotStoredError{Device: dev, Messages: msgs, Samples: n, Err: err}
	}
	return nil
}
