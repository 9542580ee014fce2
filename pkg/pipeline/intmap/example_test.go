package intmap_test

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/netlens/netlens/pkg/decode/intreport"
	"github.com/netlens/netlens/pkg/ingest/intrcv"
	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/pipeline/intmap"
	"github.com/netlens/netlens/pkg/records"
	"github.com/netlens/netlens/pkg/status"
)

// The receiver takes one handler per worker.
var _ intrcv.Handler = (*intmap.Worker)(nil)

type discardSink struct{}

func (discardSink) Write(_ context.Context, b *model.Batch) error { return nil }

func Example() {
	table := records.NewTable(intmap.ReportTable, records.Options{})
	m, err := intmap.New(table, discardSink{}, status.NewBoard(time.Now), intmap.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	w := m.Worker()

	// A sink's report with the stack of two switches (normally from
	// intreport.Decoder.Decode into a Report reused by the worker).
	var r intreport.Report
	r.Header = intreport.Header{Version: intreport.V10, HasSwitchID: true, SwitchID: 0xb012e346}
	r.Inner = intreport.Packet{IPVersion: 4, Src: netip.MustParseAddr("10.1.1.10"), Dst: netip.MustParseAddr("10.2.2.20"),
		Protocol: intreport.ProtoTCP, SrcPort: 40000, DstPort: 443}
	r.INT = intreport.INT{Present: true, HopCount: 2}
	all := intreport.ItemSwitchID | intreport.ItemPorts | intreport.ItemIngressTS | intreport.ItemEgressTS
	r.Hops[0] = intreport.Hop{Present: all, SwitchID: 0xb012e345, IngressPort: 1, EgressPort: 49, IngressTS: 0xffffff00, EgressTS: 0x100}
	r.Hops[1] = intreport.Hop{Present: all, SwitchID: 0xb012e346, IngressPort: 3, EgressPort: 7, IngressTS: 0x400, EgressTS: 0x800}

	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC).UnixMilli()
	dev := model.DeviceRef{Source: model.SourceINT, ID: intmap.SwitchName(0xb012e346)}
	w.Report(dev, &r, now)
	w.Flush(now)

	res, _ := table.Query(context.Background(), records.Query{Columns: []string{"type", "path", "e2e_latency", "hops"}})
	for _, c := range res.Columns {
		fmt.Printf("%s: %v\n", c.Name, c.Values)
	}
	hops, _ := intmap.ExpandHops(nil, res.Columns[3].Values.([]string)[0], nil)
	fmt.Println(intmap.HopFields)
	for _, h := range hops {
		fmt.Println(h.Values())
	}
	// Output:
	// type: [int]
	// path: [0xb012e345>0xb012e346]
	// e2e_latency: [2304]
	// hops: [b012e345,1,49,512,,,4294967040,256,;b012e346,3,7,1024,,,1024,2048,]
	// [hop switch switch_id ingress_port egress_port hop_latency queue_id queue_occupancy dropped drop_reason]
	// [0 0xb012e345 2.954027845e+09 1 49 512 <nil> <nil> false <nil>]
	// [1 0xb012e346 2.954027846e+09 3 7 1024 <nil> <nil> false <nil>]
}
