package ftd

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/proto/ftdpb"
	"github.com/netlens/netlens/pkg/status"
)

func marshal(t testing.TB, r *ftdpb.DataResponse) []byte {
	t.Helper()
	b, err := proto.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sameSamples compares two results, a nil slice being equal to an empty one.
func sameSamples(a, b []model.Sample) bool {
	return len(a) == len(b) && (len(a) == 0 || reflect.DeepEqual(a, b))
}

// sameAsConvert checks that converting the bytes gives what unmarshalling
// and converting the message gives, and returns the samples.
func sameAsConvert(t *testing.T, id Identity, r *ftdpb.DataResponse) []model.Sample {
	t.Helper()
	want, wsum, werr := NewConverter(Limits{}).Convert(nil, id, r, seedTime)
	got, gsum, gerr := NewConverter(Limits{}).ConvertWire(nil, id, marshal(t, r), seedTime)
	if (werr == nil) != (gerr == nil) || werr != nil && werr.Error() != gerr.Error() {
		t.Fatalf("errors differ: Convert %v, ConvertWire %v", werr, gerr)
	}
	if !sameSamples(got, want) {
		t.Fatalf("samples differ:\nwire    %+v\nmessage %+v", got, want)
	}
	if !reflect.DeepEqual(gsum, wsum) {
		t.Fatalf("summaries differ:\nwire    %+v\nmessage %+v", gsum, wsum)
	}
	return got
}

func TestConvertWireGuideExamples(t *testing.T) {
	got := sameAsConvert(t, seedID, &ftdpb.DataResponse{FtdUuid: seedUUID, Metrics: []*ftdpb.Metric{seedCPU(), seedInterface()}})
	if len(got) != 2 || got[0].Name != "ftd_cpu_cpu_utilisation" || got[1].Name != "ftd_interface_input_packets" {
		t.Fatalf("got %+v", got)
	}
	sameAsConvert(t, seedID, realisticBatch(seedUUID, seedTime))
	sameAsConvert(t, Identity{}, realisticBatch(seedUUID, 0))
}

func TestConvertWireRejectsLikeConvert(t *testing.T) {
	m := func(f func(*ftdpb.Metric)) *ftdpb.Metric { x := seedCPU(); f(x); return x }
	many := make([]*ftdpb.Tag, 100)
	for i := range many {
		many[i] = tag("k", "v")
	}
	sameAsConvert(t, seedID, &ftdpb.DataResponse{FtdUuid: seedUUID, Metrics: []*ftdpb.Metric{
		seedInterface(),
		m(func(x *ftdpb.Metric) { x.MetricFamily = "" }),
		m(func(x *ftdpb.Metric) { x.Value = math.NaN() }),
		m(func(x *ftdpb.Metric) { x.Tags = append(x.Tags, many...) }),
		m(func(x *ftdpb.Metric) { x.Timestamp = 1718257445 }),
		m(func(x *ftdpb.Metric) { x.Tags[0].Key = "!!" }),
		m(func(x *ftdpb.Metric) { x.MetricType = "Summary" }),
		{},
		seedCPU(),
	}})
	sameAsConvert(t, Identity{}, &ftdpb.DataResponse{Metrics: []*ftdpb.Metric{seedCPU()}})
	sameAsConvert(t, Identity{UUID: "other"}, &ftdpb.DataResponse{FtdUuid: seedUUID})
}

func TestConvertWireRefusesMalformedInput(t *testing.T) {
	good := marshal(t, &ftdpb.DataResponse{FtdUuid: seedUUID, Metrics: []*ftdpb.Metric{seedCPU()}})
	badUTF8 := protowire.AppendTag(nil, fieldResponseUUID, protowire.BytesType)
	badUTF8 = protowire.AppendString(badUTF8, "\xff")
	badTag := protowire.AppendTag(nil, fieldResponseMetrics, protowire.BytesType)
	inner := protowire.AppendTag(nil, fieldMetricTags, protowire.BytesType)
	inner = protowire.AppendBytes(inner, []byte{0x0a, 0x05, 'a'}) // key longer than its message
	badTag = protowire.AppendBytes(badTag, inner)
	for name, data := range map[string][]byte{
		"truncated":         good[:len(good)-3],
		"invalid UTF-8":     badUTF8,
		"broken nested tag": append(append([]byte{}, good...), badTag...),
		"field number 0":    {0x02, 0x00},
	} {
		t.Run(name, func(t *testing.T) {
			var r ftdpb.DataResponse
			if proto.Unmarshal(data, &r) == nil {
				t.Fatal("proto.Unmarshal accepts this input; the test is wrong")
			}
			got, _, err := NewConverter(Limits{}).ConvertWire(nil, seedID, data, seedTime)
			if err == nil || len(got) != 0 || !IsMalformed(err) {
				t.Fatalf("got %d samples, %v", len(got), err)
			}
			if cat, _ := IsBatchError(err); cat != status.CatInvalidArgument {
				t.Errorf("category %q", cat)
			}
		})
	}
}

// Samples must not point into the input: the receiver reuses its buffer.
func TestConvertWireSamplesDoNotAliasTheInput(t *testing.T) {
	data := marshal(t, realisticBatch(seedUUID, seedTime))
	c := NewConverter(Limits{})
	got, _, err := c.ConvertWire(nil, Identity{}, data, seedTime)
	if err != nil {
		t.Fatal(err)
	}
	want, _, _ := NewConverter(Limits{}).Convert(nil, Identity{}, realisticBatch(seedUUID, seedTime), seedTime)
	for i := range data {
		data[i] = 'X'
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatal("samples changed when the input buffer was overwritten")
	}
	for _, s := range got {
		if strings.Contains(s.Name, "X") || strings.Contains(s.Labels.Get("device"), "X") {
			t.Fatalf("sample %+v", s)
		}
	}
}

func TestBatchUUID(t *testing.T) {
	data := marshal(t, &ftdpb.DataResponse{FtdUuid: seedUUID, Metrics: []*ftdpb.Metric{seedCPU()}})
	if u, err := BatchUUID(data); err != nil || u != seedUUID {
		t.Fatalf("BatchUUID = %q, %v", u, err)
	}
	if _, err := BatchUUID(data[:5]); err == nil {
		t.Error("truncated batch accepted")
	}
}

// FuzzConvertWire holds ConvertWire to its promise: for any bytes, the
// same result as proto.Unmarshal followed by Convert, and nothing that
// points into the input.
func FuzzConvertWire(f *testing.F) {
	for _, r := range []*ftdpb.DataResponse{
		{FtdUuid: seedUUID, Metrics: []*ftdpb.Metric{seedCPU(), seedInterface()}},
		{FtdUuid: seedUUID, Metrics: realisticBatch(seedUUID, 0).Metrics[100:103]},
		{FtdUuid: seedUUID, Metrics: []*ftdpb.Metric{{MetricFamily: "x", Value: math.Inf(1)}, {Tags: []*ftdpb.Tag{tag("description", "d")}}}},
		{},
	} {
		f.Add(marshal(f, r), "")
	}
	f.Add([]byte{0x0a, 0x01, 'u', 0x12, 0x00, 0x1a, 0x00}, "u")
	f.Add([]byte{0x12, 0x04, 0x22, 0x02, 0x0a, 0x00}, "")
	limits := Limits{MaxTags: 4, MaxKeyBytes: 32, MaxValueBytes: 64}
	wire, msg := NewConverter(limits), NewConverter(limits)
	f.Fuzz(func(t *testing.T, data []byte, sessionUUID string) {
		id := Identity{UUID: sessionUUID, Hostname: "fw"}
		got, gsum, gerr := wire.ConvertWire(nil, id, data, seedTime)
		var r ftdpb.DataResponse
		if uerr := proto.Unmarshal(data, &r); uerr != nil {
			if gerr == nil || len(got) != 0 {
				t.Fatalf("proto.Unmarshal refused the input (%v) but ConvertWire gave %d samples, %v", uerr, len(got), gerr)
			}
			return
		}
		want, wsum, werr := msg.Convert(nil, id, &r, seedTime)
		if (werr == nil) != (gerr == nil) || werr != nil && werr.Error() != gerr.Error() {
			t.Fatalf("errors differ: Convert %v, ConvertWire %v", werr, gerr)
		}
		if !sameSamples(got, want) || !reflect.DeepEqual(gsum, wsum) {
			t.Fatalf("results differ:\nwire    %+v %+v\nmessage %+v %+v", got, gsum, want, wsum)
		}
		for i := range data {
			data[i] ^= 0xff
		}
		if !sameSamples(got, want) {
			t.Fatal("samples point into the input")
		}
		for _, s := range got {
			checkSample(t, s)
		}
	})
}

// BenchmarkConvertWire converts the encoded 479-metric batch straight from
// its bytes, as the receiver does.
func BenchmarkConvertWire(b *testing.B) {
	data := marshal(b, realisticBatch(seedUUID, seedTime))
	c := NewConverter(Limits{})
	var dst []model.Sample
	n := 0
	run := func() {
		var err error
		dst, _, err = c.ConvertWire(dst[:0], seedID, data, seedTime)
		if err != nil || len(dst) != 479 {
			b.Fatalf("converted %d: %v", len(dst), err)
		}
	}
	for b.Loop() {
		run()
		n++
	}
	b.ReportMetric(float64(n*479)/b.Elapsed().Seconds(), "metrics/s")
	b.ReportMetric(testing.AllocsPerRun(20, run)/479, "allocs/metric")
}

// BenchmarkUnmarshalConvert is the path ConvertWire replaces: protobuf
// decoding into messages, then Convert. For comparison only.
func BenchmarkUnmarshalConvert(b *testing.B) {
	data := marshal(b, realisticBatch(seedUUID, seedTime))
	c := NewConverter(Limits{})
	var dst []model.Sample
	n := 0
	run := func() {
		var r ftdpb.DataResponse
		if err := proto.Unmarshal(data, &r); err != nil {
			b.Fatal(err)
		}
		var err error
		dst, _, err = c.Convert(dst[:0], seedID, &r, seedTime)
		if err != nil || len(dst) != 479 {
			b.Fatalf("converted %d: %v", len(dst), err)
		}
	}
	for b.Loop() {
		run()
		n++
	}
	b.ReportMetric(float64(n*479)/b.Elapsed().Seconds(), "metrics/s")
	b.ReportMetric(testing.AllocsPerRun(20, run)/479, "allocs/metric")
}

// A batch of a hundred thousand empty metrics (200 kB) must not make the
// converter reserve memory for samples it cannot produce.
func TestConvertWireBoundsMemoryByInputSize(t *testing.T) {
	data := protowire.AppendTag(nil, fieldResponseUUID, protowire.BytesType)
	data = protowire.AppendString(data, seedUUID)
	for range 100000 {
		data = protowire.AppendTag(data, fieldResponseMetrics, protowire.BytesType)
		data = protowire.AppendBytes(data, nil)
	}
	c := NewConverter(Limits{})
	var got []model.Sample
	var sum Summary
	allocated := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			got, sum, _ = c.ConvertWire(nil, seedID, data, seedTime)
		}
	}).AllocedBytesPerOp()
	if len(got) != 0 || sum.Rejected != 100000 || sum.ByReason[ReasonMissingFamily] != 100000 {
		t.Fatalf("got %d samples, summary %+v", len(got), sum)
	}
	// Sized by the metric count alone, it was over 200 bytes per input byte.
	if allocated > int64(10*len(data)) {
		t.Errorf("allocated %d bytes for a %d-byte batch", allocated, len(data))
	}
}
