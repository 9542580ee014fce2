package mdt

import (
	"encoding/json"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/netlens/netlens/pkg/decode/xr"
	"github.com/netlens/netlens/pkg/proto/xrpb"
)

// kvFromJSON re-encodes one real MDT JSON message as key-value GPB the way
// XR lays it out (a row field with "keys" and "content" children), using
// the generated code and encoding/json, so the two decoders can be held
// against each other on 44 real messages. JSON strings that XR uses for
// 64-bit leaves become uint64/sint64 fields, as a router sending GPB would.
func kvFromJSON(t testing.TB, msg []byte) []byte {
	t.Helper()
	var m struct {
		CollectionID string `json:"collection_id"`
		MsgTimestamp string `json:"msg_timestamp"`
		DataJSON     []struct {
			Timestamp string          `json:"timestamp"`
			Keys      json.RawMessage `json:"keys"`
			Content   json.RawMessage `json:"content"`
		} `json:"data_json"`
	}
	if err := json.Unmarshal(msg, &m); err != nil {
		t.Fatal(err)
	}
	var hdr struct {
		Node string `json:"node_id_str"`
		Sub  string `json:"subscription_id_str"`
		Path string `json:"encoding_path"`
	}
	json.Unmarshal(msg, &hdr)
	u := func(s string) uint64 { v, _ := strconv.ParseUint(s, 10, 64); return v }
	tm := &xrpb.Telemetry{
		NodeId:       &xrpb.Telemetry_NodeIdStr{NodeIdStr: hdr.Node},
		Subscription: &xrpb.Telemetry_SubscriptionIdStr{SubscriptionIdStr: hdr.Sub},
		EncodingPath: hdr.Path, CollectionId: u(m.CollectionID), MsgTimestamp: u(m.MsgTimestamp),
	}
	var conv func(name string, v any) []*xrpb.TelemetryField
	conv = func(name string, v any) []*xrpb.TelemetryField {
		switch x := v.(type) {
		case map[string]any:
			f := &xrpb.TelemetryField{Name: name}
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			// encoding/json maps lose member order; sort both sides' leaves
			// by name below instead.
			for _, k := range keys {
				f.Fields = append(f.Fields, conv(k, x[k])...)
			}
			return []*xrpb.TelemetryField{f}
		case []any:
			var out []*xrpb.TelemetryField
			for _, e := range x {
				out = append(out, conv(name, e)...)
			}
			return out
		case json.Number:
			if v, err := strconv.ParseUint(string(x), 10, 64); err == nil {
				return []*xrpb.TelemetryField{{Name: name, ValueByType: &xrpb.TelemetryField_Uint64Value{Uint64Value: v}}}
			}
			if v, err := strconv.ParseInt(string(x), 10, 64); err == nil {
				return []*xrpb.TelemetryField{{Name: name, ValueByType: &xrpb.TelemetryField_Sint64Value{Sint64Value: v}}}
			}
			f, _ := x.Float64()
			return []*xrpb.TelemetryField{{Name: name, ValueByType: &xrpb.TelemetryField_DoubleValue{DoubleValue: f}}}
		case string:
			if l := stringLeaf([]byte(x)); l.Kind == xr.LeafUint {
				return []*xrpb.TelemetryField{{Name: name, ValueByType: &xrpb.TelemetryField_Uint64Value{Uint64Value: l.U}}}
			} else if l.Kind == xr.LeafInt {
				return []*xrpb.TelemetryField{{Name: name, ValueByType: &xrpb.TelemetryField_Sint64Value{Sint64Value: l.I}}}
			}
			return []*xrpb.TelemetryField{{Name: name, ValueByType: &xrpb.TelemetryField_StringValue{StringValue: x}}}
		case bool:
			return []*xrpb.TelemetryField{{Name: name, ValueByType: &xrpb.TelemetryField_BoolValue{BoolValue: x}}}
		}
		return nil
	}
	parse := func(raw json.RawMessage) any {
		if raw == nil {
			return nil
		}
		d := json.NewDecoder(strings.NewReader(string(raw)))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, r := range m.DataJSON {
		row := &xrpb.TelemetryField{Timestamp: u(r.Timestamp)}
		if r.Keys != nil {
			keys := &xrpb.TelemetryField{Name: "keys"}
			for _, k := range parse(r.Keys).([]any) {
				keys.Fields = append(keys.Fields, conv("", k)[0].Fields...)
			}
			row.Fields = append(row.Fields, keys)
		}
		if r.Content != nil {
			c := conv("content", parse(r.Content))
			row.Fields = append(row.Fields, c...)
		}
		tm.DataGpbkv = append(tm.DataGpbkv, row)
	}
	b, err := proto.Marshal(tm)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sortedByName orders leaves by name, keeping the order of equal names
// (the elements of repeated containers).
func sortedByName(ls []xr.Leaf) []xr.Leaf {
	out := make([]xr.Leaf, 0, len(ls))
	for _, l := range ls {
		l.S = strings.Clone(l.S)
		if l.Kind == xr.LeafUint || l.Kind == xr.LeafInt {
			l.S = "" // JSON keeps the text of numeric strings; GPB has none
		}
		out = append(out, l)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func TestGPBKVAndJSONAgreeOnTheRealCapture(t *testing.T) {
	jd, gd := NewDecoder(Limits{}), NewDecoder(Limits{})
	leaves := 0
	for i, msg := range captureMessages(t) {
		kv := kvFromJSON(t, msg)
		fromJSON, err := jd.DecodeJSON(msg)
		if err != nil {
			t.Fatal(err)
		}
		fromKV, err := gd.DecodeGPBKV(kv)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if fromKV.Node != fromJSON.Node || fromKV.Path != fromJSON.Path || fromKV.CollectionID != fromJSON.CollectionID ||
			fromKV.MsgTimestampMs != fromJSON.MsgTimestampMs || len(fromKV.Rows) != len(fromJSON.Rows) {
			t.Fatalf("message %d headers differ: %+v vs %+v", i, fromKV, fromJSON)
		}
		for r := range fromKV.Rows {
			a, b := fromKV.Rows[r], fromJSON.Rows[r]
			if a.TimestampMs != b.TimestampMs || !reflect.DeepEqual(sortedByName(a.Keys), sortedByName(b.Keys)) ||
				!reflect.DeepEqual(sortedByName(a.Content), sortedByName(b.Content)) {
				t.Fatalf("message %d row %d differs:\n kv   %+v\n json %+v", i, r, a, b)
			}
			leaves += len(a.Keys) + len(a.Content)
		}
	}
	if leaves < 55027 {
		t.Errorf("%d leaves compared", leaves)
	}
}

// BenchmarkGPBKVRealCapture is the side-by-side benchmark on the 44 real
// messages re-encoded as key-value GPB (2.4 MB of JSON, 94k leaves).
func BenchmarkGPBKVRealCapture(b *testing.B) {
	var pbs []*xrpb.Telemetry
	var bins [][]byte
	for _, m := range captureMessages(b) {
		kv := kvFromJSON(b, m)
		var tm xrpb.Telemetry
		if err := proto.Unmarshal(kv, &tm); err != nil {
			b.Fatal(err)
		}
		pbs, bins = append(pbs, &tm), append(bins, kv)
	}
	size, fields := 0, 0
	for _, tm := range pbs {
		for _, r := range walkGenerated(tm).Rows {
			fields += len(r.Keys) + len(r.Content)
		}
	}
	for _, v := range bins {
		size += len(v)
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
