package mdt

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/netlens/netlens/pkg/decode/xr"
	"github.com/netlens/netlens/pkg/proto/xrpb"
)

// kvVectors turns the pipeline's jsonpb dump of real XR key-value messages
// into binary GPB with the generated code.
func kvVectors(t testing.TB) ([]*xrpb.Telemetry, [][]byte) {
	t.Helper()
	raw, err := os.ReadFile("testdata/bigmuddy-pipeline-mdt-gpbkv-as-json.jsonkv")
	if err != nil {
		t.Fatal(err)
	}
	var msgs []json.RawMessage
	if err := json.Unmarshal(raw, &msgs); err != nil {
		t.Fatal(err)
	}
	var pbs []*xrpb.Telemetry
	var bins [][]byte
	for _, m := range msgs {
		var tm xrpb.Telemetry
		if err := protojson.Unmarshal(m, &tm); err != nil {
			t.Fatal(err)
		}
		b, err := proto.Marshal(&tm)
		if err != nil {
			t.Fatal(err)
		}
		pbs, bins = append(pbs, &tm), append(bins, b)
	}
	return pbs, bins
}

// walkGenerated is the baseline: the same rows and leaves, produced from the
// generated structs. It is written apart from the decoder so that the two
// check each other.
func walkGenerated(tm *xrpb.Telemetry) *xr.Message {
	m := &xr.Message{
		Node: tm.GetNodeIdStr(), Subscription: tm.GetSubscriptionIdStr(), Path: tm.GetEncodingPath(),
		CollectionID: tm.GetCollectionId(), MsgTimestampMs: int64(tm.GetMsgTimestamp()), Encoding: xr.EncodingGPBKV,
	}
	var walk func(out []xr.Leaf, f *xrpb.TelemetryField, prefix string) []xr.Leaf
	walk = func(out []xr.Leaf, f *xrpb.TelemetryField, prefix string) []xr.Leaf {
		name := f.GetName()
		if prefix != "" {
			name = prefix + "/" + name
		}
		l := xr.Leaf{Name: name}
		ok := true
		switch v := f.GetValueByType().(type) {
		case *xrpb.TelemetryField_BytesValue:
			l.Kind, l.S = xr.LeafBytes, string(v.BytesValue)
		case *xrpb.TelemetryField_StringValue:
			l.Kind, l.S = xr.LeafString, v.StringValue
		case *xrpb.TelemetryField_BoolValue:
			l.Kind, l.B = xr.LeafBool, v.BoolValue
		case *xrpb.TelemetryField_Uint32Value:
			l.Kind, l.U = xr.LeafUint, uint64(v.Uint32Value)
		case *xrpb.TelemetryField_Uint64Value:
			l.Kind, l.U = xr.LeafUint, v.Uint64Value
		case *xrpb.TelemetryField_Sint32Value:
			l.Kind, l.I = xr.LeafInt, int64(v.Sint32Value)
		case *xrpb.TelemetryField_Sint64Value:
			l.Kind, l.I = xr.LeafInt, v.Sint64Value
		case *xrpb.TelemetryField_DoubleValue:
			l.Kind, l.F = xr.LeafFloat, v.DoubleValue
		case *xrpb.TelemetryField_FloatValue:
			l.Kind, l.F = xr.LeafFloat, float64(v.FloatValue)
		default:
			ok = false
		}
		if ok {
			out = append(out, l)
		}
		for _, c := range f.GetFields() {
			out = walk(out, c, name)
		}
		return out
	}
	for _, r := range tm.GetDataGpbkv() {
		row := xr.Row{TimestampMs: int64(r.GetTimestamp())}
		if row.TimestampMs == 0 {
			row.TimestampMs = m.MsgTimestampMs
		}
		for _, c := range r.GetFields() {
			if c.GetName() == "keys" {
				for _, k := range c.GetFields() {
					row.Keys = walk(row.Keys, k, "")
				}
			}
		}
		for _, c := range r.GetFields() {
			switch c.GetName() {
			case "keys":
			case "content":
				for _, k := range c.GetFields() {
					row.Content = walk(row.Content, k, "")
				}
			default:
				row.Content = walk(row.Content, c, "")
			}
		}
		m.Rows = append(m.Rows, row)
	}
	return m
}

func leafValue(l xr.Leaf) any {
	switch l.Kind {
	case xr.LeafUint:
		return l.U
	case xr.LeafInt:
		return l.I
	case xr.LeafFloat:
		return l.F
	case xr.LeafBool:
		return l.B
	}
	return l.S
}

func TestGPBKVRealMessagesMatchGeneratedCodeAndPipeline(t *testing.T) {
	pbs, bins := kvVectors(t)
	if len(bins) != 2 {
		t.Fatalf("%d vectors, want 2", len(bins))
	}
	d := NewDecoder(Limits{})
	for i, b := range bins {
		got, err := d.DecodeGPBKV(b)
		if err != nil {
			t.Fatalf("vector %d: %v", i, err)
		}
		if want := walkGenerated(pbs[i]); !reflect.DeepEqual(got, want) {
			t.Errorf("vector %d differs from the generated code's walk:\n got %+v\nwant %+v", i, got, want)
		}
	}

	// The pipeline's own decoded rows of the same messages are the third
	// opinion: same row count, timestamps, keys and content values. It
	// suffixes repeated containers with _PIPELINE_EDIT and orders map keys.
	raw, err := os.ReadFile("testdata/bigmuddy-pipeline-mdt-decoded-rows.json")
	if err != nil {
		t.Fatal(err)
	}
	var pipe []struct {
		Rows []struct {
			Timestamp int64
			Keys      map[string]any
			Content   map[string]any
		}
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	if err := dec.Decode(&pipe); err != nil {
		t.Fatal(err)
	}
	leaves := 0
	for i, b := range bins {
		got, err := d.DecodeGPBKV(b)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Rows) != len(pipe[i].Rows) {
			t.Fatalf("vector %d: %d rows, pipeline has %d", i, len(got.Rows), len(pipe[i].Rows))
		}
		for r, row := range got.Rows {
			pr := pipe[i].Rows[r]
			if row.TimestampMs != pr.Timestamp {
				t.Errorf("vector %d row %d: timestamp %d, pipeline %d", i, r, row.TimestampMs, pr.Timestamp)
			}
			for _, part := range []struct {
				ours []xr.Leaf
				pipe map[string]any
			}{{row.Keys, pr.Keys}, {row.Content, pr.Content}} {
				want := map[string][]string{}
				flattenPipeline(want, "", part.pipe)
				have := map[string][]string{}
				for _, l := range part.ours {
					have[l.Name] = append(have[l.Name], strings.TrimSuffix(strings.TrimPrefix(jsonText(leafValue(l)), `"`), `"`))
					leaves++
				}
				if !reflect.DeepEqual(have, want) {
					t.Errorf("vector %d row %d:\n ours     %v\n pipeline %v", i, r, have, want)
				}
			}
		}
	}
	if leaves < 300 {
		t.Errorf("only %d leaves compared", leaves)
	}

	// Values checked by eye in the dump: the first row is Null0's counters,
	// and XR's "never" is 0xffffffff seconds.
	got, _ := d.DecodeGPBKV(bins[0])
	r0 := got.Rows[0]
	if r0.Keys[0] != (xr.Leaf{Name: "interface-name", Kind: xr.LeafString, S: "Null0"}) {
		t.Errorf("first key %+v", r0.Keys[0])
	}
	if l := find(r0.Content, "seconds-since-packet-received"); l.Kind != xr.LeafUint || l.U != 4294967295 {
		t.Errorf("seconds-since-packet-received %+v", l)
	}
	if l := find(r0.Content, "last-data-time"); l.U != 1471785705 {
		t.Errorf("last-data-time %+v", l)
	}
	if got.Node != "uut" || got.Subscription != "test" || got.CollectionID != 111808 || got.MsgTimestampMs != 1471785717681 ||
		got.Path != "Cisco-IOS-XR-infra-statsd-oper:infra-statistics/interfaces/interface/latest/generic-counters" {
		t.Errorf("header %+v", got)
	}
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func flattenPipeline(out map[string][]string, prefix string, v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			k = strings.TrimSuffix(k, "_PIPELINE_EDIT")
			if prefix != "" {
				k = prefix + "/" + k
			}
			flattenPipeline(out, k, c)
		}
	case []any:
		for _, c := range x {
			flattenPipeline(out, prefix, c)
		}
	case json.Number:
		out[prefix] = append(out[prefix], string(x))
	case string:
		out[prefix] = append(out[prefix], x)
	default:
		out[prefix] = append(out[prefix], jsonText(x))
	}
}

func find(ls []xr.Leaf, name string) xr.Leaf {
	for _, l := range ls {
		if l.Name == name {
			return l
		}
	}
	return xr.Leaf{Name: "missing " + name}
}

// field builds a TelemetryField by hand, with the name written after the
// value to prove the decoder does not depend on field order.
func field(name string, value func([]byte) []byte, kids ...[]byte) []byte {
	var b []byte
	if value != nil {
		b = value(b)
	}
	b = protowire.AppendTag(b, fFieldName, protowire.BytesType)
	b = protowire.AppendString(b, name)
	for _, k := range kids {
		b = protowire.AppendTag(b, fFieldFields, protowire.BytesType)
		b = protowire.AppendBytes(b, k)
	}
	return b
}

func TestGPBKVEveryKindExactAndNested(t *testing.T) {
	keys := &xrpb.TelemetryField{Name: "keys", Fields: []*xrpb.TelemetryField{
		{Name: "interface-name", ValueByType: &xrpb.TelemetryField_StringValue{StringValue: "Gi0/0/0/1"}},
	}}
	content := &xrpb.TelemetryField{Name: "content", Fields: []*xrpb.TelemetryField{
		{Name: "u64", ValueByType: &xrpb.TelemetryField_Uint64Value{Uint64Value: math.MaxUint64}},
		{Name: "u53p1", ValueByType: &xrpb.TelemetryField_Uint64Value{Uint64Value: 1<<53 + 1}},
		{Name: "u32", ValueByType: &xrpb.TelemetryField_Uint32Value{Uint32Value: math.MaxUint32}},
		{Name: "s64", ValueByType: &xrpb.TelemetryField_Sint64Value{Sint64Value: math.MinInt64}},
		{Name: "s32", ValueByType: &xrpb.TelemetryField_Sint32Value{Sint32Value: -7}},
		{Name: "d", ValueByType: &xrpb.TelemetryField_DoubleValue{DoubleValue: 0.1}},
		{Name: "f", ValueByType: &xrpb.TelemetryField_FloatValue{FloatValue: 1.5}},
		{Name: "b", ValueByType: &xrpb.TelemetryField_BoolValue{BoolValue: true}},
		{Name: "raw", ValueByType: &xrpb.TelemetryField_BytesValue{BytesValue: []byte{0, 0xff}}},
		{Name: "process", Fields: []*xrpb.TelemetryField{{Name: "name", ValueByType: &xrpb.TelemetryField_StringValue{StringValue: "init"}}}},
		{Name: "process", Fields: []*xrpb.TelemetryField{{Name: "name", ValueByType: &xrpb.TelemetryField_StringValue{StringValue: "bash"}}}},
	}}
	// Content before keys on the wire; the row still lists keys apart.
	tm := &xrpb.Telemetry{
		NodeId: &xrpb.Telemetry_NodeIdStr{NodeIdStr: "r1"}, EncodingPath: "p", MsgTimestamp: 1700000000000,
		CollectionId: math.MaxUint64,
		DataGpbkv:    []*xrpb.TelemetryField{{Fields: []*xrpb.TelemetryField{content, keys}}},
	}
	b, err := proto.Marshal(tm)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeGPBKV(b)
	if err != nil {
		t.Fatal(err)
	}
	want := &xr.Message{Node: "r1", Path: "p", CollectionID: math.MaxUint64, MsgTimestampMs: 1700000000000, Encoding: xr.EncodingGPBKV,
		Rows: []xr.Row{{TimestampMs: 1700000000000,
			Keys: []xr.Leaf{{Name: "interface-name", Kind: xr.LeafString, S: "Gi0/0/0/1"}},
			Content: []xr.Leaf{
				{Name: "u64", Kind: xr.LeafUint, U: math.MaxUint64},
				{Name: "u53p1", Kind: xr.LeafUint, U: 9007199254740993},
				{Name: "u32", Kind: xr.LeafUint, U: math.MaxUint32},
				{Name: "s64", Kind: xr.LeafInt, I: math.MinInt64},
				{Name: "s32", Kind: xr.LeafInt, I: -7},
				{Name: "d", Kind: xr.LeafFloat, F: 0.1},
				{Name: "f", Kind: xr.LeafFloat, F: 1.5},
				{Name: "b", Kind: xr.LeafBool, B: true},
				{Name: "raw", Kind: xr.LeafBytes, S: "\x00\xff"},
				{Name: "process/name", Kind: xr.LeafString, S: "init"},
				{Name: "process/name", Kind: xr.LeafString, S: "bash"},
			}}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}

	// Name after value, written by hand: same leaf.
	row := field("", nil, field("content", nil, field("x", func(b []byte) []byte {
		b = protowire.AppendTag(b, fFieldUint64, protowire.VarintType)
		return protowire.AppendVarint(b, 42)
	})))
	msg := protowire.AppendTag(nil, fTelDataGPBKV, protowire.BytesType)
	msg = protowire.AppendBytes(msg, row)
	got, err = DecodeGPBKV(msg)
	if err != nil {
		t.Fatal(err)
	}
	if l := got.Rows[0].Content; len(l) != 1 || l[0] != (xr.Leaf{Name: "x", Kind: xr.LeafUint, U: 42}) {
		t.Errorf("hand-built row: %+v", got.Rows)
	}
}

func reason(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return "not an *Error: " + err.Error()
}

func TestGPBKVBadInput(t *testing.T) {
	_, bins := kvVectors(t)
	deep := field("v", func(b []byte) []byte {
		return protowire.AppendVarint(protowire.AppendTag(b, fFieldUint64, protowire.VarintType), 1)
	})
	for range 40 {
		deep = field("c", nil, deep)
	}
	deepMsg := protowire.AppendBytes(protowire.AppendTag(nil, fTelDataGPBKV, protowire.BytesType), field("", nil, field("content", nil, deep)))
	compact := protowire.AppendBytes(protowire.AppendTag(nil, fTelDataGPB, protowire.BytesType), []byte{0x0a, 0})
	for _, c := range []struct {
		name string
		lim  Limits
		in   []byte
		want string
	}{
		{"truncated", Limits{}, bins[0][:len(bins[0])-3], ReasonBadProtobuf},
		{"bad tag", Limits{}, []byte{0x00}, ReasonBadProtobuf},
		{"too large", Limits{MaxBytes: 100}, bins[0], ReasonTooLarge},
		{"too many leaves", Limits{MaxLeaves: 50}, bins[0], ReasonTooManyLeaves},
		{"too deep", Limits{}, deepMsg, ReasonTooDeep},
		{"compact rows", Limits{}, compact, ReasonCompactGPB},
		{"name too long", Limits{MaxName: 20}, bins[0], ReasonNameTooLong},
	} {
		_, err := NewDecoder(c.lim).DecodeGPBKV(c.in)
		if err == nil || reason(err) != c.want {
			t.Errorf("%s: err %v, want reason %s", c.name, err, c.want)
		}
	}
}

func FuzzGPBKV(f *testing.F) {
	// One real row per message: whole messages (up to 42 KB) slow the
	// fuzzer's mutation and minimisation to a crawl.
	pbs, _ := kvVectors(f)
	for _, tm := range pbs {
		small := proto.Clone(tm).(*xrpb.Telemetry)
		small.DataGpbkv = small.DataGpbkv[:1]
		b, err := proto.Marshal(small)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0x5a, 0x04, 0x7a, 0x02, 0x12, 0x00})
	d := NewDecoder(Limits{MaxBytes: 1 << 20, MaxLeaves: 10000})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := d.DecodeGPBKV(b)
		if err != nil {
			if reason(err) == "" || strings.HasPrefix(reason(err), "not an") {
				t.Fatalf("error without a reason: %v", err)
			}
			return
		}
		n := 0
		for _, r := range m.Rows {
			n += len(r.Keys) + len(r.Content)
		}
		if n > 10000 {
			t.Fatalf("%d leaves beyond the limit", n)
		}
	})
}

// BenchmarkGPBKV decodes the real key-value messages with our decoder and,
// as the baseline, with proto.Unmarshal into the generated types plus a walk
// producing the same leaves. allocs/field divides allocations by the
// number of leaves produced.
func BenchmarkGPBKV(b *testing.B) {
	_, bins := kvVectors(b)
	fields, size := 0, 0
	for _, v := range bins {
		m, err := DecodeGPBKV(v)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range m.Rows {
			fields += len(r.Keys) + len(r.Content)
		}
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

func benchLoop(b *testing.B, size, fields int, run func()) {
	b.SetBytes(int64(size))
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	n := 0
	for b.Loop() {
		run()
		n++
	}
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(n)/float64(fields), "allocs/field")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n)/float64(fields), "ns/field")
}
