package mdt

import (
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/netlens/netlens/pkg/proto/xrpb"
)

// ingest50 is the message stream of the receiver's TCP ingest benchmark:
// one generic-counters row per message, an interface-name key cycling over
// 48 interfaces and 50 uint64 leaves, one sensor path on the connection.
func ingest50(t testing.TB, n int) [][]byte {
	const path = "Cisco-IOS-XR-infra-statsd-oper:infra-statistics/interfaces/interface/latest/generic-counters"
	out := make([][]byte, n)
	for i := range out {
		content := &xrpb.TelemetryField{Name: "content"}
		for j := range 50 {
			content.Fields = append(content.Fields, &xrpb.TelemetryField{Name: fmt.Sprintf("counter-%02d", j),
				ValueByType: &xrpb.TelemetryField_Uint64Value{Uint64Value: uint64(i*7 + j)}})
		}
		keys := &xrpb.TelemetryField{Name: "keys", Fields: []*xrpb.TelemetryField{{Name: "interface-name",
			ValueByType: &xrpb.TelemetryField_StringValue{StringValue: fmt.Sprintf("GigabitEthernet0/0/0/%d", i%48)}}}}
		tm := &xrpb.Telemetry{
			NodeId:       &xrpb.Telemetry_NodeIdStr{NodeIdStr: "bench-r1"},
			Subscription: &xrpb.Telemetry_SubscriptionIdStr{SubscriptionIdStr: "sub1"},
			EncodingPath: path, CollectionId: uint64(i), MsgTimestamp: uint64(1700000000000 + i),
			DataGpbkv: []*xrpb.TelemetryField{{Timestamp: uint64(1700000000000 + i), Fields: []*xrpb.TelemetryField{keys, content}}},
		}
		b, err := proto.Marshal(tm)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = b
	}
	return out
}

// BenchmarkGPBKVIngest50 is BenchmarkGPBKV on the ingest benchmark's
// messages: one path repeating, as on one router's connection.
func BenchmarkGPBKVIngest50(b *testing.B) {
	bins := ingest50(b, 480)
	size, fields := 0, 0
	for _, v := range bins {
		size += len(v)
		m, err := DecodeGPBKV(v)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range m.Rows {
			fields += len(r.Keys) + len(r.Content)
		}
	}
	if fields != 480*51 {
		b.Fatalf("%d fields", fields)
	}
	b.Run("ours", func(b *testing.B) {
		d := NewDecoder(Limits{})
		benchLoop(b, size, fields, func() {
			for _, v := range bins {
				if _, err := d.DecodeGPBKV(v); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("generated", func(b *testing.B) {
		benchLoop(b, size, fields, func() {
			for _, v := range bins {
				var tm xrpb.Telemetry
				if err := proto.Unmarshal(v, &tm); err != nil {
					b.Fatal(err)
				}
				walkGenerated(&tm)
			}
		})
	})
}
