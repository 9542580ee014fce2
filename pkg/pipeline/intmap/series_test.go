package intmap

import (
	"reflect"
	"sync"
	"testing"
)

func TestSeriesPerDevice(t *testing.T) {
	e := newEnv(t, Options{})
	e.w.Report(sw, sinkReport(0xa, 0xb, 0xc), t0)
	r := sinkReport(0xa, 0xb, 0xc)
	r.Hops[1].HopLatency, r.Hops[1].QueueOccupancy = 7000, 900
	e.w.Report(sw, r, t0+1)
	e.w.Report(model0(0xb), dropped(postcard(0xb, 63, 1, 0, 0, 0), 7), t0+2)
	q := postcard(0xb, 63, 2, 0, 500, 50)
	q.Header.Kind, q.Header.Congested, q.Header.QueueID = 2, true, 4 // a queue report
	e.w.Report(model0(0xb), q, t0+3)
	e.w.Flush(t0 + 1000)

	for _, c := range []struct {
		name string
		kv   []string
		want float64
	}{
		{ReportsTotal, []string{"device", "0x0000000c", "type", "int"}, 2},
		{ReportsTotal, []string{"device", "0x0000000b", "type", "drop"}, 1},
		{ReportsTotal, []string{"device", "0x0000000b", "type", "queue"}, 1},
		{DropsTotal, []string{"device", "0x0000000b", "port", "2", "reason", "7"}, 1},
		// Queue occupancy of spine 0xb from the INT stacks (queue 1, the
		// higher of 200 and 900) and from its own queue report (queue 4).
		{QueueOccupancy, []string{"device", "0x0000000b", "queue", "1"}, 900},
		{QueueOccupancy, []string{"device", "0x0000000b", "queue", "4"}, 50},
		{QueueOccupancy, []string{"device", "0x0000000a", "queue", "0"}, 100},
		// Hop latency per hop switch: 0xb saw 2000 and 7000 in the stacks
		// and 500 in its queue report (egress − ingress timestamp).
		{HopLatencyMax, []string{"device", "0x0000000b"}, 7000},
		{HopLatencySum, []string{"device", "0x0000000b"}, 9500},
		{HopLatencyCount, []string{"device", "0x0000000b"}, 3},
		// End-to-end belongs to the sink that reported it.
		{E2ELatencyMax, []string{"device", "0x0000000c"}, 23000},
		{E2ELatencySum, []string{"device", "0x0000000c"}, 46000},
		{E2ELatencyCount, []string{"device", "0x0000000c"}, 2},
	} {
		if v, ok := e.sink.value(c.name, c.kv...); !ok || v != c.want {
			t.Errorf("%s%v = %v (found %v), want %v", c.name, c.kv, v, ok, c.want)
		}
	}
}

func TestSeriesAtMostEveryTenSeconds(t *testing.T) {
	e := newEnv(t, Options{})
	e.w.Report(sw, sinkReport(0xa, 0xc), t0)
	e.w.Flush(t0)
	n := len(e.sink.batches)
	if n == 0 {
		t.Fatal("no series at the first flush")
	}
	r := sinkReport(0xa, 0xc)
	r.Hops[0].QueueOccupancy = 5000
	for ms := int64(100); ms < EmitIntervalMs; ms += 100 {
		e.w.Report(sw, r, t0+ms)
		e.w.Flush(t0 + ms)
	}
	if len(e.sink.batches) != n {
		t.Fatalf("%d batches within 10 s, want still %d", len(e.sink.batches), n)
	}
	e.w.Flush(t0 + EmitIntervalMs)
	if len(e.sink.batches) == n {
		t.Fatal("no series after 10 s")
	}
	if v, _ := e.sink.value(ReportsTotal, "device", "0x0000000c", "type", "int"); v != 100 {
		t.Errorf("reports %v, want 100", v)
	}
	if v, _ := e.sink.value(QueueOccupancy, "device", "0x0000000a", "queue", "0"); v != 5000 {
		t.Errorf("queue max over the interval %v, want 5000", v)
	}
	// A quiet interval: counters go on, the max gauges of nobody's
	// interval are left out rather than repeated.
	m := len(e.sink.batches)
	e.w.Flush(t0 + 2*EmitIntervalMs)
	for _, b := range e.sink.batches[m:] {
		for _, s := range b.Samples {
			if s.Name == QueueOccupancy || s.Name == HopLatencyMax || s.Name == E2ELatencyMax {
				t.Errorf("gauge %s%v written for a quiet interval", s.Name, s.Labels)
			}
		}
	}
}

func TestSeriesCardinalityIsBoundedWithOther(t *testing.T) {
	e := newEnv(t, Options{MaxPorts: 2, MaxReasons: 2, MaxQueues: 2, MaxDevices: 3})
	dev := model0(0xb)
	for i := range 5 {
		r := dropped(postcard(0xb, 63, uint16(i), 0, 0, 0), uint8(10+i))
		r.Header.EgressPort = uint16(20 + i)
		e.w.Report(dev, r, t0)
		q := postcard(0xb, 63, uint16(100+i), 0, 10, uint32(i))
		q.Header.QueueID = uint8(i)
		e.w.Report(dev, q, t0)
	}
	for i := range 5 { // more devices than MaxDevices
		e.w.Report(model0(uint32(0x100+i)), postcard(uint32(0x100+i), 64, 1, 0, 10, 1), t0)
	}
	e.w.Flush(t0)
	if got, want := e.sink.labelValues(DropsTotal, "port"), []string{"20", "21", "other"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ports %v, want %v", got, want)
	}
	if got, want := e.sink.labelValues(DropsTotal, "reason"), []string{"10", "11", "other"}; !reflect.DeepEqual(got, want) {
		t.Errorf("reasons %v, want %v", got, want)
	}
	if got, want := e.sink.labelValues(QueueOccupancy, "queue"), []string{"0", "1", "other"}; !reflect.DeepEqual(got, want) {
		t.Errorf("queues %v, want %v", got, want)
	}
	// (20, 10) and (21, 11) keep their labels; the three later drops have
	// a port and a reason past the bounds: other/other.
	if v, _ := e.sink.value(DropsTotal, "device", "0x0000000b", "port", "other", "reason", "other"); v != 3 {
		t.Errorf("other drops %v, want 3", v)
	}
	if v, _ := e.sink.value(QueueOccupancy, "device", "0x0000000b", "queue", "other"); v != 4 {
		t.Errorf("other queue max %v, want 4", v)
	}
	devs := e.sink.labelValues(ReportsTotal, "device")
	if len(devs) != 4 || devs[len(devs)-1] != "other" {
		t.Errorf("devices %v, want 3 and other", devs)
	}
}

func TestWorkersShareTheSeriesOfADevice(t *testing.T) {
	e := newEnv(t, Options{})
	w2 := e.m.Worker()
	var wg sync.WaitGroup
	for _, w := range []*Worker{e.w, w2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				w.Report(sw, sinkReport(0xa, 0xc), t0+int64(i))
				w.Flush(t0 + int64(i))
			}
		}()
	}
	wg.Wait()
	// Both workers' counts go into one cumulative counter per series.
	e.w.Flush(t0 + EmitIntervalMs)
	w2.Flush(t0 + EmitIntervalMs)
	e.w.Flush(t0 + 2*EmitIntervalMs)
	if v, _ := e.sink.value(ReportsTotal, "device", "0x0000000c", "type", "int"); v != 2000 {
		t.Errorf("reports %v, want 2000", v)
	}
	if n := e.table.Stats().Rows; n != 2000 {
		t.Errorf("%d rows, want 2000", n)
	}
}
