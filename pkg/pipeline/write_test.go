package pipeline

import (
	"context"
	"errors"
	"testing"

	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/status"
)

type fakeStore struct {
	res AppendResult
	err error
	got int
}

func (f *fakeStore) Append(_ context.Context, s []model.Sample) (AppendResult, error) {
	f.got += len(s)
	return f.res, f.err
}

type fakeHub struct{ n int }

func (h *fakeHub) Publish(*model.Batch) { h.n++ }

var dev = model.DeviceRef{Source: model.SourceFTD, ID: "7eb19498-2519-11ef-a8dd-b74b4d43a7e7"}

func TestWriteStoresThenPublishes(t *testing.T) {
	st, hub, board := &fakeStore{res: AppendResult{Appended: 2}}, &fakeHub{}, status.NewBoard(nil)
	p := New(st, hub, board)
	if err := p.Write(context.Background(), &model.Batch{Device: dev, Samples: make([]model.Sample, 2)}); err != nil {
		t.Fatal(err)
	}
	if st.got != 2 || hub.n != 1 {
		t.Fatalf("store got %d samples, hub %d publishes", st.got, hub.n)
	}
	if c := board.Snapshot().Counters["store_samples_appended"]; c != 2 {
		t.Fatalf("appended counter = %d", c)
	}
}

func TestRejectedSamplesLandOnTheDeviceRecord(t *testing.T) {
	st := &fakeStore{res: AppendResult{Appended: 1, Rejected: 1, FirstError: errors.New("out of bounds: ftd_cpu_cpu_utilisation")}}
	board := status.NewBoard(nil)
	if err := New(st, nil, board).Write(context.Background(), &model.Batch{Device: dev, Samples: make([]model.Sample, 2)}); err != nil {
		t.Fatal(err)
	}
	devs := board.Snapshot().Devices
	if len(devs) != 1 || devs[0].Errors[status.CatBuffer] == nil || devs[0].Errors[status.CatBuffer].Count != 1 {
		t.Fatalf("want one buffer error on the device, got %+v", devs)
	}
}

func TestStoreFailureIsReturnedAndNotPublished(t *testing.T) {
	st, hub := &fakeStore{err: errors.New("disk full")}, &fakeHub{}
	if err := New(st, hub, status.NewBoard(nil)).Write(context.Background(), &model.Batch{Device: dev, Samples: make([]model.Sample, 1)}); err == nil {
		t.Fatal("want the store's error")
	}
	if hub.n != 0 {
		t.Fatal("a batch the store refused must not reach live streams")
	}
}
