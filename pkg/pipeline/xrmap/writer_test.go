package xrmap

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"

	"github.com/netlens/netlens/pkg/decode/xr"
	"github.com/netlens/netlens/pkg/model"
)

func counterMsg(node string, iface int, ts int64, leaves int) *xr.Message {
	row := xr.Row{TimestampMs: ts, Keys: []xr.Leaf{{Name: "interface-name", Kind: xr.LeafString, S: "Gi0/" + strconv.Itoa(iface)}}}
	for i := range leaves {
		row.Content = append(row.Content, xr.Leaf{Name: "packets-" + strconv.Itoa(i), Kind: xr.LeafUint, U: uint64(ts)})
	}
	row.Content = append(row.Content, xr.Leaf{Name: "state", Kind: xr.LeafString, S: "up"})
	return &xr.Message{Node: node, Path: "m:a/b", Rows: []xr.Row{row}}
}

// A Writer maps each message at once (xr_state rows, catalog, counters)
// and writes the samples of everything since the last Flush as one batch.
func TestWriterGroupsMessagesIntoOneBatchPerFlush(t *testing.T) {
	e := newEnv(t, Options{})
	w := e.m.NewWriter()
	ctx := context.Background()
	for i := range 3 {
		if err := w.Write(ctx, router, counterMsg("r1", i, t0, 2), t0); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(e.sink.batches); n != 0 || w.Pending() != 3 {
		t.Fatalf("%d batches written, %d pending before Flush; want 0 and 3", n, w.Pending())
	}
	if rows := len(e.state(t)); rows != 3 {
		t.Fatalf("%d xr_state rows before Flush, want 3: string leaves do not wait", rows)
	}
	if c := counter(e.board, CounterSamples); c != 0 {
		t.Fatalf("%s = %d before the samples are stored", CounterSamples, c)
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if len(e.sink.batches) != 1 || len(e.sink.batches[0].Samples) != 6 || e.sink.batches[0].Device != router {
		t.Fatalf("batches %+v, want one of 6 samples for %v", e.sink.batches, router)
	}
	if c := counter(e.board, CounterSamples); c != 6 {
		t.Fatalf("%s = %d, want 6", CounterSamples, c)
	}
	if err := w.Flush(ctx); err != nil || len(e.sink.batches) != 1 {
		t.Fatalf("an empty Flush wrote something: %v, %d batches", err, len(e.sink.batches))
	}
}

// A batch names one device: a message of another one writes what is
// pending first. A batch past MaxPendingSamples is written without
// waiting for Flush.
func TestWriterFlushesOnDeviceChangeAndSize(t *testing.T) {
	e := newEnv(t, Options{})
	w := e.m.NewWriter()
	ctx := context.Background()
	other := model.DeviceRef{Source: model.SourceXR, ID: "192.0.2.2", Remote: "192.0.2.2:40000"}
	if err := w.Write(ctx, router, counterMsg("r1", 0, t0, 2), t0); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, other, counterMsg("r2", 0, t0, 2), t0); err != nil {
		t.Fatal(err)
	}
	if len(e.sink.batches) != 1 || e.sink.batches[0].Device != router || w.Pending() != 1 {
		t.Fatalf("after a second device: %d batches, pending %d", len(e.sink.batches), w.Pending())
	}
	const per = 1000
	msgs := MaxPendingSamples/per + 1 // the one that crosses the bound
	for i := range msgs {
		if len(e.sink.batches) != 1 {
			t.Fatalf("written after %d messages, before the bound", i)
		}
		if err := w.Write(ctx, other, counterMsg("r2", 1+i, t0, per), t0); err != nil {
			t.Fatal(err)
		}
	}
	if len(e.sink.batches) != 2 || len(e.sink.batches[1].Samples) != 2+msgs*per || w.Pending() != 0 {
		t.Fatalf("past MaxPendingSamples: %d batches, pending %d", len(e.sink.batches), w.Pending())
	}
}

// A refused batch is a *NotStoredError naming its device and how many
// messages lost their samples, which the receiver counts as drops.
func TestWriterReportsTheMessagesOfARefusedBatch(t *testing.T) {
	e := newEnv(t, Options{})
	w := e.m.NewWriter()
	ctx := context.Background()
	e.sink.err = errors.New("wal full")
	for i := range 4 {
		if err := w.Write(ctx, router, counterMsg("r1", i, t0, 1), t0); err != nil {
			t.Fatal(err)
		}
	}
	var ns *NotStoredError
	if err := w.Flush(ctx); !errors.As(err, &ns) || ns.Messages != 4 || ns.Samples != 4 || ns.Device != router || !errors.Is(err, e.sink.err) {
		t.Fatalf("Flush: %v (%+v), want 4 messages of %v not stored", err, ns, router)
	}
	if c := counter(e.board, CounterSamples); c != 0 {
		t.Fatalf("%s = %d after a refused batch", CounterSamples, c)
	}
	// The failed batch is gone; the writer goes on.
	e.sink.err = nil
	if err := w.Write(ctx, router, counterMsg("r1", 0, t0+1000, 1), t0); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(ctx); err != nil || len(e.sink.samples()) != 1 {
		t.Fatalf("after recovery: %v, %d samples", err, len(e.sink.samples()))
	}
}

// Writers of many connections share one Mapper (run with -race).
func TestWritersOfManyConnections(t *testing.T) {
	e := newEnv(t, Options{})
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Go(func() {
			w := e.m.NewWriter()
			node := "r" + indexText(int32(g%2))
			for i := range 100 {
				if err := w.Write(context.Background(), router, counterMsg(node, i%5, t0+int64(i), 3), t0+int64(i)); err != nil {
					t.Error(err)
					return
				}
				if i%7 == 0 {
					if err := w.Flush(context.Background()); err != nil {
						t.Error(err)
						return
					}
				}
			}
			if err := w.Flush(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := len(e.sink.samples()); n != 6*100*3 {
		t.Fatalf("%d samples, want %d", n, 6*100*3)
	}
}
