package intmap

import (
	"context"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/netlens/netlens/pkg/decode/intreport"
	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/records"
	"github.com/netlens/netlens/pkg/status"
)

const t0 = int64(1_764_072_000_000) // 2025-11-25 12:00:00 UTC

// fakeSink keeps a copy of every batch.
type fakeSink struct {
	mu      sync.Mutex
	batches []model.Batch
}

func (f *fakeSink) Write(_ context.Context, b *model.Batch) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := *b
	c.Samples = slices.Clone(b.Samples)
	f.batches = append(f.batches, c)
	return nil
}

// value finds the last written value of a series; ok false when none.
func (f *fakeSink) value(name string, kv ...string) (float64, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	want := model.LabelsFromPairs(kv...)
	var v float64
	var ok bool
	for _, b := range f.batches {
		for _, s := range b.Samples {
			if s.Name == name && slices.Equal(s.Labels, want) {
				v, ok = s.Value, true
			}
		}
	}
	return v, ok
}

// labelValues lists the distinct values of one label among a series' samples.
func (f *fakeSink) labelValues(name, label string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var vals []string
	for _, b := range f.batches {
		for _, s := range b.Samples {
			if s.Name == name && !slices.Contains(vals, s.Labels.Get(label)) {
				vals = append(vals, s.Labels.Get(label))
			}
		}
	}
	slices.Sort(vals)
	return vals
}

type env struct {
	table *records.Table
	sink  *fakeSink
	board *status.Board
	m     *Mapper
	w     *Worker
}

func newEnv(t testing.TB, o Options) *env {
	t.Helper()
	e := &env{
		table: records.NewTable(ReportTable, records.Options{Now: func() int64 { return t0 }}),
		sink:  &fakeSink{},
		board: status.NewBoard(time.Now),
	}
	m, err := New(e.table, e.sink, e.board, o)
	if err != nil {
		t.Fatal(err)
	}
	e.m, e.w = m, m.Worker()
	return e
}

// rows returns every stored row, oldest first, as column → value (absent
// when null).
func (e *env) rows(t *testing.T) []map[string]any {
	t.Helper()
	res, err := e.table.Query(context.Background(), records.Query{Limit: records.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	if len(res.Columns) > 0 {
		n = res.Columns[0].Len()
	}
	out := make([]map[string]any, n)
	for i := range out {
		row := map[string]any{}
		for _, c := range res.Columns {
			if c.Null != nil && c.Null[i] {
				continue
			}
			switch v := c.Values.(type) {
			case []uint64:
				row[c.Name] = v[i]
			case []int64:
				row[c.Name] = v[i]
			case []string:
				row[c.Name] = v[i]
			case []bool:
				row[c.Name] = v[i]
			case []float64:
				row[c.Name] = v[i]
			}
		}
		out[n-1-i] = row // the store answers newest first
	}
	return out
}

var (
	hostA = netip.MustParseAddr("10.1.1.10")
	hostB = netip.MustParseAddr("10.2.2.20")
)

// sinkReport is a v1.0 INT report from the sink with one hop per switch
// id, in path order: hop i has ports i+1 > i+2, latency 1000·(i+1) ns,
// queue i with occupancy 100·(i+1), and timestamps 10000·i and
// 10000·i + its latency.
func sinkReport(ids ...uint32) *intreport.Report {
	r := &intreport.Report{}
	r.Header = intreport.Header{Version: intreport.V10, NProto: 1, Kind: intreport.KindFlow, Tracked: true,
		HasSwitchID: true, SwitchID: ids[len(ids)-1], HwID: 1, Seq: 10}
	r.Inner = intreport.Packet{IPVersion: 4, Src: hostA, Dst: hostB, Protocol: intreport.ProtoTCP,
		SrcPort: 40000, DstPort: 443, DSCP: 0x17, TTL: 60}
	r.INT = intreport.INT{Present: true, Version: 1, HopCount: len(ids)}
	for i, id := range ids {
		lat := uint32(1000 * (i + 1))
		r.Hops[i] = intreport.Hop{
			Present: intreport.ItemSwitchID | intreport.ItemPorts | intreport.ItemHopLatency |
				intreport.ItemQueue | intreport.ItemIngressTS | intreport.ItemEgressTS,
			SwitchID: id, IngressPort: uint16(i + 1), EgressPort: uint16(i + 2), HopLatency: lat,
			QueueID: uint8(i), QueueOccupancy: uint32(100 * (i + 1)),
			IngressTS: uint32(10000 * i), EgressTS: uint32(10000*i) + lat,
		}
	}
	return r
}

// postcard is a v0.5 switch-local report of switch id about packet ipid,
// seen with the given TTL: ports 1 > 2, queue 0 with occupancy occ,
// ingress and egress timestamps.
func postcard(id uint32, ttl uint8, ipid uint16, ig, eg, occ uint32) *intreport.Report {
	r := &intreport.Report{}
	r.Header = intreport.Header{Version: intreport.V05, NProto: 2, Kind: intreport.KindFlow, HwID: 2, Seq: 100,
		HasSwitchID: true, SwitchID: id, IngressTS: ig, EgressTS: eg,
		Md: intreport.MdPorts | intreport.MdQueue | intreport.MdEgressTS, IngressPort: 1, EgressPort: 2, QueueOccupancy: occ}
	r.Inner = intreport.Packet{IPVersion: 4, Src: hostA, Dst: hostB, Protocol: intreport.ProtoUDP,
		SrcPort: 5000, DstPort: 6000, TTL: ttl, IPID: ipid}
	return r
}

// dropped turns a postcard into a drop report with reason.
func dropped(r *intreport.Report, reason uint8) *intreport.Report {
	r.Header.NProto = 1
	r.Header.Kind = intreport.KindDrop
	r.Header.Dropped = true
	r.Header.Md = intreport.MdPorts | intreport.MdDrop
	r.Header.DropReason = reason
	return r
}

var sw = model.DeviceRef{Source: model.SourceINT, ID: "0x0000000c", Remote: "192.0.2.12"}

// model0 is the receiver's device of switch id.
func model0(id uint32) model.DeviceRef {
	return model.DeviceRef{Source: model.SourceINT, ID: SwitchName(id), Remote: "192.0.2.1"}
}

func netipMust(s string) netip.Addr { return netip.MustParseAddr(s) }
