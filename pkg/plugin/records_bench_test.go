package plugin

import (
	"context"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/netlens/netlens/pkg/records"
	"github.com/netlens/netlens/pkg/server"
)

// BenchmarkRecordsQueryData is a records query as Grafana pays for it: the
// handler (parsing, planning, the record store's scan and aggregation,
// frames) plus the Arrow encoding of the response. The flow table holds
// 1,000,000 flows over one hour from 20 exporters, 50,000 source and 500
// destination addresses.
//
//	go test -run '^$' -bench RecordsQueryData -benchtime 5x -benchmem ./pkg/plugin
func BenchmarkRecordsQueryData(b *testing.B) {
	const n = 1_000_000
	srv := testServer(b)
	srv.Flows = records.NewTable(server.FlowTable, records.Options{MaxBytes: 1 << 30})
	w := newFlowWriter(b, srv.Flows)
	t0 := time.Now().Add(-time.Hour).Truncate(time.Minute)
	apps := []string{"http", "https", "dns", "ssh", "smtp", "ntp", "ldap", "kerberos"}
	exporters := make([]string, 20)
	for i := range exporters {
		exporters[i] = "192.0.2." + strconv.Itoa(i+1) + "/0"
	}
	for i := range n {
		w.app.Begin(t0.UnixMilli() + int64(i)*3600_000/n)
		w.app.String(w.exporter, []byte(exporters[i%len(exporters)]))
		// A skewed source: a few heavy talkers and a long tail.
		src := (i * i) % 50_000
		w.app.Addr(w.src, netip.AddrFrom4([4]byte{10, byte(src >> 16), byte(src >> 8), byte(src)}))
		w.app.Addr(w.dst, netip.AddrFrom4([4]byte{198, 51, byte(i % 2), byte(i % 250)}))
		w.app.Uint(w.proto, []uint64{6, 17, 6, 1}[i%4])
		w.app.Uint(w.bytes, uint64(64+(i*7919)%150_000))
		w.app.Uint(w.pkts, uint64(1+i%40))
		w.app.String(w.appl, []byte(apps[i%len(apps)]))
		w.app.Commit()
		if i%10_000 == 9_999 {
			w.app.Flush()
		}
	}
	w.app.Flush()
	if st := srv.Flows.Stats(); st.Rows != n {
		b.Fatalf("table holds %d rows of %d (evicted %d, refused %d)", st.Rows, n, st.EvictedRows, st.RefusedRows)
	}
	ds := instance(b, srv, `{}`)
	tr := backend.TimeRange{From: t0, To: t0.Add(time.Hour)}
	for _, tc := range []struct{ name, query string }{
		{"top10_src_by_bytes", `{"kind":"records","recordKind":"ipfix_flow","groupBy":["src_addr"],"aggregates":[{"func":"sum","field":"bytes"}],"topN":10,"other":true}`},
		{"top10_conversations_per_minute", `{"kind":"records","recordKind":"ipfix_flow","groupBy":["src_addr","dst_addr"],"aggregates":[{"func":"sum","field":"bytes"}],"topN":10,"other":true,"bucket":"1m"}`},
		{"bytes_by_app_per_10s", `{"kind":"records","recordKind":"ipfix_flow","groupBy":["application"],"aggregates":[{"func":"sum","field":"bytes"},{"func":"p95","field":"bytes"}],"bucket":"auto"}`},
		{"raw_1000_newest_tcp", `{"kind":"records","recordKind":"ipfix_flow","filters":[{"field":"protocol","op":"=","values":["6"]}],"limit":1000}`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			req := &backend.QueryDataRequest{
				PluginContext: backend.PluginContext{OrgID: 1},
				Queries:       []backend.DataQuery{{RefID: "A", JSON: []byte(tc.query), Interval: 10 * time.Second, MaxDataPoints: 1000, TimeRange: tr}},
			}
			b.ReportAllocs()
			for b.Loop() {
				res, err := ds.QueryData(context.Background(), req)
				if err != nil || res.Responses["A"].Error != nil {
					b.Fatal(err, res.Responses["A"].Error)
				}
				if _, err := backend.ToProto().QueryDataResponse(backend.DataFrameFormat_ARROW, res); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/op")
		})
	}
}
