package flows

import (
	"context"
	"testing"

	"github.com/netlens/netlens/pkg/decode/ipfix"
	"github.com/netlens/netlens/pkg/pcap"
	"github.com/netlens/netlens/pkg/records"
	"github.com/netlens/netlens/pkg/status"
)

// Real exporters' captures through the real decoder: every data record
// becomes one row, and the stored byte and packet totals are the ones
// Wireshark reads from the same packets (figures from the decoder's
// capture test), scaled where the exporter samples.
func TestCapturesThroughDecoder(t *testing.T) {
	for _, c := range []struct {
		file            string
		records         int
		octets, packets uint64
		devices         int
		rate            uint64
		column          string // a column the capture must produce
	}{
		{"pmacct-100-IPFIXv10-CISCO.pcap", 12, 34172, 34, 2, 1, "mplsTopLabelStackSection"},
		{"pmacct-500-IPFIXv10-BGP-CISCO-SRv6.pcap", 43, 53644, 558, 1, 1, "ingressVRFID"},
		// 1 in 256 packets sampled, announced in an options record (selectorId,
		// samplingPacketInterval): stored bytes are scaled, raw ones are not.
		{"pmacct-104-IPFIXv10-IPv6-CISCO-sampling_option.pcap", 3, 10632, 121, 1, 256, "flowLabelIPv6"},
		// Huawei's enterprise element nobody defined is kept, in hex.
		{"pmacct-106-IPFIXv10-HUAWEI-vrf_name.pcap", 3, 284557, 1227, 1, 1, "pen2011_232"},
	} {
		t.Run(c.file, func(t *testing.T) {
			ds, err := pcap.ReadFile("../../decode/ipfix/testdata/" + c.file)
			if err != nil {
				t.Fatal(err)
			}
			table := records.NewTable(Kind, records.Options{})
			series := &seriesStore{}
			board := status.NewBoard(nil)
			f, err := New(table, NewVolumes(series, board))
			if err != nil {
				t.Fatal(err)
			}
			d := ipfix.New(ipfix.Options{})
			ctx := context.Background()
			for i, dg := range ds {
				if _, err := d.Decode(dg.Payload, dg.Src, ipfix.UDP, nowMs+int64(i), f); err != nil {
					t.Fatalf("datagram %d: %v", i, err)
				}
				if err := f.Flush(ctx, nowMs+int64(i)*EmitIntervalMs); err != nil {
					t.Fatal(err)
				}
			}
			st := table.Stats()
			if st.Rows != int64(c.records) || st.RefusedRows != 0 {
				t.Fatalf("stats %+v, want %d rows", st, c.records)
			}
			res, err := table.Query(ctx, records.Query{Aggregates: []records.Aggregate{
				{Func: "sum", Column: ColBytesRaw}, {Func: "sum", Column: ColPacketsRaw}, {Func: "sum", Column: ColBytes}}})
			if err != nil {
				t.Fatal(err)
			}
			sum := func(i int) uint64 { return res.Columns[i].Values.([]uint64)[0] }
			if sum(0) != c.octets || sum(1) != c.packets || sum(2) != c.octets*c.rate {
				t.Fatalf("sum(bytes_raw) %d sum(packets_raw) %d sum(bytes) %d, want %d %d %d", sum(0), sum(1), sum(2), c.octets, c.packets, c.octets*c.rate)
			}
			var counted float64
			for _, v := range series.last(BytesTotal) {
				counted += v
			}
			devices := map[string]bool{}
			for _, smp := range series.batches[len(series.batches)-1] {
				devices[smp.Labels.Get("device")] = true
			}
			if len(devices) != c.devices {
				t.Fatalf("devices %v, want %d (exporter and observation domain)", devices, c.devices)
			}
			if counted != float64(c.octets*c.rate) {
				t.Fatalf("volume counters %v bytes, rows %d", counted, c.octets*c.rate)
			}
			found := false
			for _, col := range table.Columns() {
				found = found || col.Name == c.column && col.Rows > 0
			}
			if !found {
				t.Errorf("no %s column in %v", c.column, table.Columns())
			}
			if got := board.Snapshot().Counters["ipfix_flow_records"]; got != uint64(c.records) {
				t.Fatalf("board counted %d records", got)
			}
		})
	}
}
