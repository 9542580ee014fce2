package plugin

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/netlens/netlens/pkg/model"
)

// BenchmarkQueryDataHandler is the QueryData target measured the
// way Grafana pays for it: the handler (query parsing, the device
// restriction, PromQL through the fast path, frames) plus the SDK's Arrow
// encoding of the response that goes back over gRPC. 10,000 series
// (100 devices x 100 interfaces) hold one hour at 10 s resolution.
//
//	go test -run '^$' -bench QueryDataHandler -benchtime 5x -benchmem ./pkg/plugin
func BenchmarkQueryDataHandler(b *testing.B) {
	srv := testServer(b)
	ds := instance(b, srv, `{}`)
	const devices, ifaces, points = 100, 100, 361
	t0 := time.Now().Add(-time.Hour).Truncate(time.Minute)
	batch := make([]model.Sample, 0, devices*ifaces)
	for d := range devices {
		for i := range ifaces {
			batch = append(batch, model.Sample{
				Name:   "ftd_interface_input_packets",
				Labels: model.LabelsFromPairs("device", "fw"+strconv.Itoa(d), "family", "interface", "interface", "Gi0/"+strconv.Itoa(i)),
				Kind:   model.KindCounter,
			})
		}
	}
	for p := range points {
		for j := range batch {
			batch[j].TimestampMs = t0.Add(time.Duration(p) * 10 * time.Second).UnixMilli()
			batch[j].Value = float64(p * (j%7 + 1) * 1000)
		}
		for k := 0; k < len(batch); k += 500 {
			if res, err := srv.Store.Append(context.Background(), batch[k:k+500]); err != nil || res.Rejected != 0 {
				b.Fatalf("append: %+v %v", res, err)
			}
		}
	}
	tr := backend.TimeRange{From: t0, To: t0.Add(time.Hour)}
	for _, tc := range []struct{ name, query string }{
		{"sum_rate_by_device", `{"metric":"ftd_interface_input_packets","rate":true,"aggregation":"sum","groupBy":["device"]}`},
		{"raw_10k_series", `{"metric":"ftd_interface_input_packets"}`},
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
