package ipfix

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/pipeline"
	"github.com/netlens/netlens/pkg/sim/ipfixsim"
)

// seriesLog is the series store as the receiver sees it: it keeps every
// write.
type seriesLog struct {
	mu     sync.Mutex
	writes [][]model.Sample
}

func (l *seriesLog) Append(_ context.Context, samples []model.Sample) (pipeline.AppendResult, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writes = append(l.writes, slices.Clone(samples))
	return pipeline.AppendResult{Appended: len(samples)}, nil
}

func seriesKey(name string, ls model.Labels) string {
	var b strings.Builder
	b.WriteString(name)
	for _, l := range ls {
		fmt.Fprintf(&b, ",%s=%s", l.Name, l.Value)
	}
	return b.String()
}

// last is the latest write by series key (name,label=value,...).
func (l *seriesLog) last(t *testing.T) map[string]model.Sample {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.writes) == 0 {
		t.Fatal("no health series written")
	}
	m := map[string]model.Sample{}
	for _, s := range l.writes[len(l.writes)-1] {
		m[seriesKey(s.Name, s.Labels)] = s
	}
	return m
}

func (l *seriesLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.writes)
}

// want checks series of the latest write: key → value.
func (l *seriesLog) want(t *testing.T, want map[string]float64) {
	t.Helper()
	got := l.last(t)
	for k, v := range want {
		s, ok := got[k]
		if !ok {
			t.Errorf("no series %s", k)
			continue
		}
		if s.Value != v {
			t.Errorf("%s = %v, want %v", k, s.Value, v)
		}
		kind := model.KindCounter
		if !strings.Contains(s.Name, "_total") {
			kind = model.KindGauge
		}
		if s.Kind != kind {
			t.Errorf("%s is a %s", k, s.Kind)
		}
	}
}

// startWithSeries runs a receiver on loopback whose clock the test moves
// and whose ticks only the test runs, writing health series to a log.
func startWithSeries(t *testing.T, allowed func(netip.Addr) bool) (*env, *fakeClock, *seriesLog) {
	clock := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	log := &seriesLog{}
	e := start(t, testConfig(), allowed, "", func(o *options, _ *countingHandler) {
		o.now, o.tick, o.series = clock.now, time.Hour, log
	})
	return e, clock, log
}

// An exporter that skips 15 records in its sequence numbers shows 15 in
// ipfix_exporter_lost_records_total; its records, bytes and templates are
// counted, and its silence grows while it sends nothing.
func TestHealthSeriesCountASequenceGap(t *testing.T) {
	e, clock, log := startWithSeries(t, nil)
	a := e.exporter()
	m1 := ipfixMsg(3, 0, templateSet(256), dataSet(256, 10))
	m2 := ipfixMsg(3, 25, dataSet(256, 10)) // 10 expected, 25 came: 15 lost
	send(t, a, m1, m2)
	waitFor(t, "20 records", func() bool { return e.h.total.Load() == 20 })
	e.settle()
	dev := "device=127.0.0.1/3"
	log.want(t, map[string]float64{
		SeriesRecords + "," + dev:     20,
		SeriesBytes + "," + dev:       float64(len(m1) + len(m2)),
		SeriesLostRecords + "," + dev: 15,
		SeriesLostPackets + "," + dev: 0,
		SeriesTemplates + "," + dev:   1,
		SeriesHeldSets + "," + dev:    0,
		SeriesSilence + "," + dev:     0,
	})

	// In sequence again: the counters keep their totals.
	clock.add(10 * time.Second)
	send(t, a, ipfixMsg(3, 35, dataSet(256, 5)))
	waitFor(t, "25 records", func() bool { return e.h.total.Load() == 25 })
	e.settle()
	log.want(t, map[string]float64{SeriesRecords + "," + dev: 25, SeriesLostRecords + "," + dev: 15})

	// Five silent minutes.
	clock.add(5 * time.Minute)
	e.settle()
	log.want(t, map[string]float64{SeriesSilence + "," + dev: 300, SeriesRecords + "," + dev: 25})
}

// The simulator, whose encoder is not ours, skips 7 records in its
// sequence numbers once: the series count exactly that gap, and the
// records and bytes it put on the wire.
func TestHealthSeriesOfASimulatedExporterWithAGap(t *testing.T) {
	log := &seriesLog{}
	e := start(t, testConfig(), nil, "", func(o *options, _ *countingHandler) { o.tick, o.series = time.Hour, log })
	const n = 3000
	sim, err := ipfixsim.New(ipfixsim.Config{
		Target: e.s.UDPAddr().String(), Transport: "udp", LocalAddr: "127.0.0.1:0", ODID: 21,
		Rate: 100_000, Count: n, GapAfter: 5, GapRecords: 7, Seed: 3,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := sim.Run(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every simulated record", func() bool { return e.h.total.Load() == n })
	e.settle()
	tot := sim.Totals()
	if tot.SkippedRecords != 7 {
		t.Fatalf("the simulator skipped %d records", tot.SkippedRecords)
	}
	dev := ",device=127.0.0.1/21"
	log.want(t, map[string]float64{
		SeriesLostRecords + dev: 7,
		SeriesRecords + dev:     float64(tot.Flows.Records),
		SeriesBytes + dev:       float64(tot.WireBytes),
		SeriesLostPackets + dev: 0,
	})
	// The clock is real here: silence is however long settling took.
	if s := log.last(t)[SeriesSilence+dev]; s.Value > 5 {
		t.Errorf("silence %v s right after the exporter sent", s.Value)
	}
	for k := range log.last(t) {
		if strings.HasPrefix(k, SeriesDrops+",") {
			t.Errorf("a healthy exporter has drops: %s", k)
		}
	}
}

// NetFlow v9 counts export packets in its sequence numbers: a gap of two
// packets shows in ipfix_exporter_lost_packets_total.
func TestHealthSeriesCountNetFlow9LostPackets(t *testing.T) {
	e, _, log := startWithSeries(t, nil)
	a := e.exporter()
	send(t, a, netflow9Msg(42, 0, 4, v9TemplateFlowset(260), dataSet(260, 3)), netflow9Msg(42, 3, 2, dataSet(260, 2)))
	waitFor(t, "5 records", func() bool { return e.h.total.Load() == 5 })
	e.settle()
	log.want(t, map[string]float64{
		SeriesLostPackets + ",device=127.0.0.1/42": 2,
		SeriesLostRecords + ",device=127.0.0.1/42": 0,
		SeriesRecords + ",device=127.0.0.1/42":     5,
	})
}

// Drops are counted per exporter and reason, and receiver-wide by reason;
// the receiver-wide reasons are written from the start, at zero.
func TestHealthSeriesCountDropsByReason(t *testing.T) {
	e, clock, log := startWithSeries(t, nil)
	e.settle()
	log.want(t, map[string]float64{
		SeriesReceiverDrop + ",reason=socket_overflow":  0,
		SeriesReceiverDrop + ",reason=queue_full":       0,
		SeriesReceiverDrop + ",reason=not_allowed":      0,
		SeriesReceiverDrop + ",reason=unknown_template": 0,
		SeriesReceiverDrop + ",reason=tcp_framing":      0,
	})

	a := e.exporter()
	bad := ipfixMsg(4, 0, templateSet(256), dataSet(256, 2))
	data := ipfixHeaderLen + len(templateSet(256))
	bad[data+2], bad[data+3] = 0x7f, 0xff // the data set claims 32767 bytes
	send(t, a, bad, bad)
	b := e.exporter()
	send(t, b, ipfixMsg(5, 0, dataSet(300, 3))) // its template never comes
	waitFor(t, "two malformed messages", func() bool { return e.s.Drops("malformed:bad_set_length") == 2 })
	waitFor(t, "the held set", func() bool {
		e.tickWorkers()
		r, _ := e.row(local(b), 5, "udp")
		return r.HeldRecords == 1
	})
	clock.add(10 * time.Second)
	e.settle()
	log.want(t, map[string]float64{SeriesHeldSets + ",device=127.0.0.1/5": 1})

	clock.add(2 * time.Minute) // past the decoder's hold
	e.settle()
	log.want(t, map[string]float64{
		SeriesDrops + ",device=127.0.0.1/4,reason=malformed:bad_set_length": 2,
		SeriesDrops + ",device=127.0.0.1/5,reason=unknown_template":         1,
		SeriesHeldSets + ",device=127.0.0.1/5":                              0,
		SeriesReceiverDrop + ",reason=malformed:bad_set_length":             2,
		SeriesReceiverDrop + ",reason=unknown_template":                     1,
		SeriesReceiverDrop + ",reason=queue_full":                           0,
	})
	if _, ok := log.last(t)[SeriesDrops+",device=127.0.0.1/4,reason=unknown_template"]; ok {
		t.Error("a reason that never happened to an exporter has a series for it")
	}
}

// Traffic from outside the allow-list has no exporter to name: it counts
// receiver-wide only.
func TestHealthSeriesCountRefusedTrafficReceiverWide(t *testing.T) {
	e, _, log := startWithSeries(t, func(netip.Addr) bool { return false })
	send(t, e.exporter(), ipfixMsg(0, 0, templateSet(256), dataSet(256, 3)))
	waitFor(t, "the refusal", func() bool { return e.s.Drops(DropNotAllowed) == 1 })
	e.settle()
	log.want(t, map[string]float64{SeriesReceiverDrop + ",reason=not_allowed": 1})
	for k := range log.last(t) {
		if strings.Contains(k, "device=") {
			t.Errorf("refused traffic has an exporter series: %s", k)
		}
	}
}

// A device's counters keep growing when the rows behind them go: here a
// TCP connection closes, its row is forgotten before the next write, and a
// new connection from another port continues the same device. After a day
// of silence the device is forgotten, and coming back starts it from zero
// (a counter reset, which rate() and increase() handle).
func TestHealthCountersOutliveTheirRows(t *testing.T) {
	e, clock, log := startWithSeries(t, nil)
	dev := ",device=127.0.0.1/6"
	c1 := dialTCP(t, e)
	send(t, c1, ipfixMsg(6, 0, templateSet(256), dataSet(256, 2)))
	waitFor(t, "2 records", func() bool { return e.h.total.Load() == 2 })
	e.settle()
	log.want(t, map[string]float64{SeriesRecords + dev: 2})

	send(t, c1, ipfixMsg(6, 2, dataSet(256, 3)))
	waitFor(t, "5 records", func() bool { return e.h.total.Load() == 5 })
	c1.Close()
	waitFor(t, "the first connection's row to stop", func() bool {
		e.tickWorkers()
		r, ok := e.row(local(c1), 6, "tcp")
		return ok && r.State == StateStopped && r.Records == 5
	})
	clock.add(testConfig().ExporterTimeout + time.Second)
	e.tickWorkers()
	if _, ok := e.row(local(c1), 6, "tcp"); ok {
		t.Fatal("the closed connection's row is still there")
	}
	writes := log.count()
	e.s.tick()
	if log.count() != writes+1 {
		t.Fatal("no health write after the row went")
	}
	log.want(t, map[string]float64{SeriesRecords + dev: 5, SeriesTemplates + dev: 0, SeriesSilence + dev: 61})

	clock.add(10 * time.Second)
	c2 := dialTCP(t, e)
	send(t, c2, ipfixMsg(6, 5, templateSet(256), dataSet(256, 3)))
	waitFor(t, "8 records", func() bool { return e.h.total.Load() == 8 })
	e.settle()
	log.want(t, map[string]float64{SeriesRecords + dev: 8, SeriesTemplates + dev: 1, SeriesSilence + dev: 0})

	c2.Close()
	waitFor(t, "the second connection's row to stop", func() bool {
		e.tickWorkers()
		r, ok := e.row(local(c2), 6, "tcp")
		return ok && r.State == StateStopped
	})
	clock.add(25 * time.Hour)
	e.settle()
	if _, ok := log.last(t)[SeriesRecords+dev]; ok {
		t.Fatal("a device silent for a day is still written")
	}
	clock.add(10 * time.Second)
	c3 := dialTCP(t, e)
	send(t, c3, ipfixMsg(6, 8, templateSet(256), dataSet(256, 1)))
	waitFor(t, "9 records", func() bool { return e.h.total.Load() == 9 })
	e.settle()
	log.want(t, map[string]float64{SeriesRecords + dev: 1})
}

// A write is due every healthEvery, not every tick.
func TestHealthSeriesWrittenEveryTenSeconds(t *testing.T) {
	e, clock, log := startWithSeries(t, nil)
	e.s.tick()
	if log.count() != 1 {
		t.Fatalf("%d writes at the first tick", log.count())
	}
	for range 9 {
		clock.add(time.Second)
		e.s.tick()
	}
	if log.count() != 1 {
		t.Fatalf("%d writes within 9 s", log.count())
	}
	clock.add(time.Second)
	e.s.tick()
	if log.count() != 2 {
		t.Fatalf("%d writes after 10 s", log.count())
	}
}

// The ledger stays within the exporter table's bound, forgetting the
// devices without rows silent the longest; forgotten rows of more devices
// than a write keeps count for the receiver only.
func TestHealthLedgerIsBounded(t *testing.T) {
	h := health{devs: map[string]*devHealth{}, receiver: map[string]uint64{}}
	const extra = 50
	for i := range maxExporters + extra {
		h.devs[fmt.Sprintf("192.0.2.1/%d", i)] = &devHealth{lastMs: int64(1_000_000 + i)}
	}
	h.devs["192.0.2.1/0"].rows = true // oldest, but still in a table
	h.forget(2_000_000)
	if len(h.devs) != maxExporters {
		t.Fatalf("%d devices kept", len(h.devs))
	}
	if h.devs["192.0.2.1/0"] == nil || h.devs["192.0.2.1/1"] != nil || h.devs[fmt.Sprintf("192.0.2.1/%d", extra)] != nil ||
		h.devs[fmt.Sprintf("192.0.2.1/%d", extra+1)] == nil {
		t.Error("did not forget the devices silent the longest")
	}

	tab := newTable(4)
	tab.gone = &retired{devs: map[string]*retiredDev{}}
	for i := range maxRetiredDevices + 10 {
		k := exporterKey{addr: netip.AddrPortFrom(netip.MustParseAddr("192.0.2.1"), 2055), odid: uint32(i)}
		tab.drop(k, DropQueueFull, 1, int64(i))
	}
	if len(tab.gone.devs) != maxRetiredDevices || tab.gone.overflow.drops[DropQueueFull] != uint64(maxRetiredDevices+10-4-len(tab.gone.devs)) {
		t.Errorf("%d retired devices, overflow %v", len(tab.gone.devs), tab.gone.overflow)
	}
}
