package status

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/netlens/netlens/pkg/model"
)

func ref(id string) model.DeviceRef { return model.DeviceRef{Source: model.SourceFTD, ID: id} }

func TestDeviceLifecycleAndErrorsByCategory(t *testing.T) {
	now := time.Unix(1000, 0)
	b := NewBoard(func() time.Time { return now })
	d := model.DeviceRef{Source: model.SourceFTD, ID: "7eb1", Hostname: "firepower", Remote: "192.0.2.1:40000"}
	b.Connected(d, time.Minute)
	b.Batch(ref("7eb1"), 479, 1)
	b.Error(ref("7eb1"), CatInvalidArgument, errors.New("metric 3: value is NaN"))
	b.Error(ref("7eb1"), CatInvalidArgument, errors.New("metric 9: value is +Inf"))
	now = now.Add(time.Second)
	b.Disconnected(ref("7eb1"), "connection reset")

	s := b.Snapshot()
	if len(s.Devices) != 1 {
		t.Fatalf("devices = %+v", s.Devices)
	}
	got := s.Devices[0]
	if got.State != StateDisconnected || got.StateReason != "connection reset" || got.Hostname != "firepower" || got.IntervalSec != 60 {
		t.Fatalf("device = %+v", got)
	}
	if got.Batches != 1 || got.Samples != 479 || got.Rejected != 1 {
		t.Fatalf("counts = %+v", got)
	}
	e := got.Errors[CatInvalidArgument]
	if e == nil || e.Count != 2 || e.Last != "metric 9: value is +Inf" {
		t.Fatalf("invalid_argument errors = %+v", e)
	}
	if s.Counters["ftd_errors_invalid_argument"] != 2 {
		t.Fatalf("counters = %v", s.Counters)
	}
}

func TestSnapshotIsACopy(t *testing.T) {
	b := NewBoard(nil)
	b.Error(ref("a"), CatAuth, errors.New("bad certificate"))
	s := b.Snapshot()
	s.Devices[0].Errors[CatAuth].Count = 99
	if b.Snapshot().Devices[0].Errors[CatAuth].Count != 1 {
		t.Fatal("changing a snapshot changed the board")
	}
}

func TestRegistryIsBoundedAndKeepsConnectedDevices(t *testing.T) {
	b := NewBoard(nil)
	b.Connected(ref("streaming"), time.Minute)
	for i := 0; i < maxDevices+10; i++ {
		b.Rejected(ref(fmt.Sprintf("peer:%d", i)), CatAuth, errors.New("unknown CA"))
	}
	s := b.Snapshot()
	if len(s.Devices) > maxDevices {
		t.Fatalf("%d devices, bound is %d", len(s.Devices), maxDevices)
	}
	found := false
	for _, d := range s.Devices {
		found = found || d.ID == "streaming"
	}
	if !found || s.Counters["devices_evicted"] == 0 {
		t.Fatalf("connected device evicted (%v) or no eviction counted (%d)", !found, s.Counters["devices_evicted"])
	}
}

func TestListeners(t *testing.T) {
	b := NewBoard(nil)
	b.ListenerBound("ftd", "tcp", ":50051", "[::]:50051")
	b.ListenerFailed("xr", "tcp", ":57500", errors.New("address already in use"))
	s := b.Snapshot()
	if len(s.Listeners) != 2 || s.Listeners[0].Name != "ftd" || s.Listeners[1].Error == "" {
		t.Fatalf("listeners = %+v", s.Listeners)
	}
}
