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

func TestEventsRecordStateChangesWithoutFloods(t *testing.T) {
	now := time.Unix(1000, 0)
	b := NewBoard(func() time.Time { return now })
	d := model.DeviceRef{Source: model.SourceFTD, ID: "7eb1", Hostname: "firepower"}
	b.Connected(d, time.Minute)
	for i := 0; i < 100; i++ { // the same bad metric in every batch
		b.Error(d, CatInvalidArgument, errors.New("value is NaN"))
	}
	now = now.Add(2 * time.Minute)
	b.Error(d, CatInvalidArgument, errors.New("value is NaN"))
	b.Cancelled(d, "cancelled by the device")
	for i := 0; i < 50; i++ { // a scanner without a valid certificate
		b.Rejected(ref("peer:192.0.2.9"), CatAuth, errors.New("unknown CA"))
	}
	evs := b.Events(time.Unix(0, 0), now, nil)
	var got []string
	for _, e := range evs {
		got = append(got, e.Device+" "+string(e.Type))
	}
	want := []string{"7eb1 connected", "7eb1 error", "7eb1 error", "7eb1 cancelled", "peer:192.0.2.9 rejected"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	if evs[0].Hostname != "firepower" || evs[3].Text != "cancelled by the device" {
		t.Fatalf("events carry %+v", evs)
	}
	if n := len(b.Events(now, now, func(e *Event) bool { return e.Type == EventCancelled })); n != 1 {
		t.Fatalf("filtered to %d cancelled events", n)
	}
}

func TestEventHistoryIsBounded(t *testing.T) {
	now := time.Unix(0, 0)
	b := NewBoard(func() time.Time { return now })
	for i := 0; i < maxEvents+5; i++ {
		now = now.Add(time.Second)
		b.Connected(ref("d"), time.Minute)
	}
	evs := b.Events(time.Unix(0, 0), now, nil)
	if len(evs) != maxEvents || !evs[0].Time.Equal(time.Unix(6, 0)) || !evs[len(evs)-1].Time.Equal(now) {
		t.Fatalf("%d events from %v to %v", len(evs), evs[0].Time, evs[len(evs)-1].Time)
	}
	if b.Snapshot().Counters["events_dropped"] != 5 {
		t.Fatal("dropped events not counted")
	}
}

// A source without an interval (IPFIX) connects with an event that names none.
func TestConnectedWithoutInterval(t *testing.T) {
	b := NewBoard(func() time.Time { return time.Unix(1000, 0) })
	b.Connected(model.DeviceRef{Source: model.SourceIPFIX, ID: "192.0.2.7/0"}, 0)
	ev := b.Events(time.Unix(0, 0), time.Unix(2000, 0), nil)
	if len(ev) != 1 || ev[0].Type != EventConnected || ev[0].Text != "streaming" {
		t.Fatalf("events %+v", ev)
	}
}
