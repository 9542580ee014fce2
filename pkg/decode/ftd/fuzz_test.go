package ftd

import (
	"math"
	"testing"

	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/proto/ftdpb"
	"google.golang.org/protobuf/proto"
)

// checkSample asserts what every consumer of a sample relies on: names
// Prometheus accepts, labels sorted without duplicates or empty values, a
// finite value, a known kind and a plausible timestamp.
func checkSample(t testing.TB, s model.Sample) {
	t.Helper()
	if !validMetricName(s.Name) {
		t.Fatalf("invalid metric name %q", s.Name)
	}
	for i, l := range s.Labels {
		if !validLabelName(l.Name) {
			t.Fatalf("%s: invalid label name %q", s.Name, l.Name)
		}
		if l.Value == "" {
			t.Fatalf("%s: empty value for label %q", s.Name, l.Name)
		}
		if i > 0 && s.Labels[i-1].Name >= l.Name {
			t.Fatalf("%s: labels not sorted or duplicated: %v", s.Name, s.Labels)
		}
	}
	if s.Labels.Get("device") == "" || s.Labels.Get("family") == "" {
		t.Fatalf("%s: no device or family label: %v", s.Name, s.Labels)
	}
	if math.IsNaN(s.Value) || math.IsInf(s.Value, 0) {
		t.Fatalf("%s: value %v", s.Name, s.Value)
	}
	if s.Kind != model.KindGauge && s.Kind != model.KindCounter {
		t.Fatalf("%s: kind %v", s.Name, s.Kind)
	}
	if s.TimestampMs < MinTimestampMs || s.TimestampMs > MaxTimestampMs {
		t.Fatalf("%s: timestamp %d", s.Name, s.TimestampMs)
	}
}

func validMetricName(s string) bool {
	for i, c := range []byte(s) {
		if !(c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return s != ""
}

func validLabelName(s string) bool {
	if len(s) >= 2 && s[:2] == "__" {
		return false
	}
	for i, c := range []byte(s) {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return s != ""
}

// FuzzConvert feeds arbitrary bytes through the same path as the receiver:
// protobuf decoding, then conversion. Nothing may panic and every sample
// produced must be valid.
func FuzzConvert(f *testing.F) {
	for _, r := range []*ftdpb.DataResponse{
		{FtdUuid: seedUUID, Metrics: []*ftdpb.Metric{seedCPU(), seedInterface()}},
		// Small seeds only: the fuzzer minimizes every new input, which is
		// slow for a full 479-metric batch.
		{FtdUuid: seedUUID, Metrics: realisticBatch(seedUUID, 0).Metrics[20:23]},
		{FtdUuid: seedUUID, Metrics: []*ftdpb.Metric{{MetricFamily: "x", Value: math.NaN()}, {Tags: []*ftdpb.Tag{tag("description", "d")}}}},
		{},
	} {
		b, err := proto.Marshal(r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, "")
	}
	f.Add([]byte{0x0a, 0x01, 'u', 0x12, 0x00}, seedUUID)
	c := NewConverter(Limits{MaxTags: 16, MaxKeyBytes: 64, MaxValueBytes: 128})
	var dst []model.Sample
	f.Fuzz(func(t *testing.T, data []byte, sessionUUID string) {
		var r ftdpb.DataResponse
		if err := proto.Unmarshal(data, &r); err != nil {
			return
		}
		out, sum, err := c.Convert(dst, Identity{UUID: sessionUUID, Hostname: "fw"}, &r, seedTime)
		dst = out
		if err != nil {
			if _, ok := IsBatchError(err); !ok || len(out) != 0 {
				t.Fatalf("batch error %v with %d samples", err, len(out))
			}
			return
		}
		if sum.Kept != len(out) || sum.Kept+sum.Rejected != len(r.Metrics) {
			t.Fatalf("summary %+v for %d metrics, %d samples", sum, len(r.Metrics), len(out))
		}
		total := 0
		for _, n := range sum.ByReason {
			total += n
		}
		if total != sum.Rejected || (sum.Rejected > 0) != (sum.First != nil) {
			t.Fatalf("summary %+v", sum)
		}
		for _, s := range out {
			checkSample(t, s)
			if len(s.Labels) > 3+16 {
				t.Fatalf("%d labels past the tag limit", len(s.Labels))
			}
		}
	})
}

// BenchmarkConvert converts a batch shaped like the FTD guide's 479-metric
// log line, reusing the sample slice as a receiver would.
func BenchmarkConvert(b *testing.B) {
	batch := realisticBatch(seedUUID, seedTime)
	c := NewConverter(Limits{})
	var dst []model.Sample
	run := func() {
		var err error
		dst, _, err = c.Convert(dst, seedID, batch, seedTime)
		if err != nil || len(dst) != len(batch.Metrics) {
			b.Fatalf("converted %d: %v", len(dst), err)
		}
	}
	n := 0
	for b.Loop() {
		run()
		n++
	}
	metrics := float64(n * len(batch.Metrics))
	b.ReportMetric(metrics/b.Elapsed().Seconds(), "metrics/s")
	b.ReportMetric(testing.AllocsPerRun(20, run)/float64(len(batch.Metrics)), "allocs/metric")
}
