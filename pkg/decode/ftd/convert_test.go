package ftd

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/proto/ftdpb"
	"github.com/netlens/netlens/pkg/status"
)

var seedID = Identity{UUID: seedUUID, Hostname: seedHostname}

func convert(t *testing.T, ms ...*ftdpb.Metric) ([]model.Sample, Summary) {
	t.Helper()
	c := NewConverter(Limits{})
	got, sum, err := c.Convert(nil, seedID, &ftdpb.DataResponse{FtdUuid: seedUUID, Metrics: ms}, seedTime+5000)
	if err != nil {
		t.Fatalf("Convert: %v", err)
	}
	return got, sum
}

func TestConvertGuideCPUExample(t *testing.T) {
	got, sum := convert(t, seedCPU())
	want := []model.Sample{{
		Name: "ftd_cpu_cpu_utilisation",
		Labels: model.Labels{
			{Name: "cpu", Value: "CPU0"},
			{Name: "device", Value: seedUUID},
			{Name: "family", Value: "cpu"},
			{Name: "hostname", Value: seedHostname},
			{Name: "process", Value: "lina"},
			{Name: "rcpu", Value: "x86_cpu0"},
		},
		TimestampMs: 1718257445000,
		Value:       0.7,
		Kind:        model.KindGauge,
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if sum.Kept != 1 || sum.Rejected != 0 || sum.First != nil {
		t.Errorf("summary %+v", sum)
	}
}

func TestConvertGuideInterfaceExample(t *testing.T) {
	got, _ := convert(t, seedInterface())
	want := []model.Sample{{
		Name: "ftd_interface_input_packets",
		Labels: model.Labels{
			{Name: "device", Value: seedUUID},
			{Name: "duplex_mode", Value: "FULL"},
			{Name: "family", Value: "interface"},
			{Name: "hostname", Value: seedHostname},
			{Name: "interface", Value: "GigabitEthernet0/0"},
			// interface_description is empty on the wire: absent here.
			{Name: "interface_name", Value: "inside interface"},
			{Name: "interface_type", Value: "GigabitEthernet"},
			{Name: "mac_address", Value: "0050.5683.0a21"},
		},
		TimestampMs: 1718257445000,
		Value:       35386,
		Kind:        model.KindCounter,
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestSanitize(t *testing.T) {
	for in, want := range map[string]string{
		"cpu":            "cpu",
		"Duplex Mode":    "duplex_mode",
		"a--b":           "a_b",
		"a__b":           "a_b",
		"if.in-octets/s": "if_in_octets_s",
		"température":    "temp_rature",
		"__x__":          "_x_",
		"ALL_CAPS_1":     "all_caps_1",
	} {
		if got := Sanitize(in); got != want {
			t.Errorf("Sanitize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLabelName(t *testing.T) {
	for in, want := range map[string]string{
		"duplex mode": "duplex_mode",
		"1st_port":    "_1st_port",
		"device":      "tag_device",
		"Hostname":    "tag_hostname",
		"family":      "tag_family",
		"__name__":    "tag_name_",
		"_private":    "_private",
		"interface":   "interface",
	} {
		got, ok := LabelName(in)
		if !ok || got != want {
			t.Errorf("LabelName(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "_", "--", "é"} {
		if got, ok := LabelName(in); ok {
			t.Errorf("LabelName(%q) = %q, want rejection", in, got)
		}
	}
}

func TestConvertNameJoinsPartsWithOneUnderscore(t *testing.T) {
	m := seedCPU()
	m.MetricFamily = "CPU Stats_"
	m.Tags[1].Value = "_Utilisation %"
	m2 := seedCPU()
	m2.MetricFamily = "_cpu"
	got, _ := convert(t, m, m2)
	if len(got) != 2 || got[1].Name != "ftd_cpu_cpu_utilisation" || got[1].Labels.Get("family") != "_cpu" {
		t.Fatalf("got %+v", got)
	}
	if got[0].Name != "ftd_cpu_stats_utilisation_" || got[0].Labels.Get("family") != "cpu_stats_" {
		t.Fatalf("got %+v", got)
	}
}

func TestConvertTagRules(t *testing.T) {
	m := seedCPU()
	m.Tags = append(m.Tags,
		tag("device", "spoofed"),  // would shadow the device label
		tag("__name__", "x"),      // Prometheus-internal
		tag("uuid", "other-uuid"), // not the device: kept as a label
		tag("process", "snort"),   // duplicate: the last one wins
		tag("9lives", "yes"),      // leading digit
		tag("empty", ""),          // empty: absent
	)
	got, _ := convert(t, m)
	if len(got) != 1 {
		t.Fatalf("got %d samples", len(got))
	}
	ls := got[0].Labels
	for name, want := range map[string]string{
		"device": seedUUID, "tag_device": "spoofed", "tag_name_": "x", "uuid": "other-uuid",
		"process": "snort", "_9lives": "yes", "empty": "",
	} {
		if v := ls.Get(name); v != want {
			t.Errorf("label %s = %q, want %q (labels %v)", name, v, want, ls)
		}
	}
}

func TestConvertTimestamps(t *testing.T) {
	now := seedTime + 5000
	for _, c := range []struct {
		name string
		ts   int64
		want int64 // 0: rejected
	}{
		{"milliseconds", seedTime, seedTime},
		{"zero means when received", 0, now},
		{"seconds", seedTime / 1000, 0},
		{"microseconds", seedTime * 1000, 0},
		{"negative", -1, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := seedCPU()
			m.Timestamp = c.ts
			got, sum := convert(t, m)
			if c.want == 0 {
				if len(got) != 0 || sum.ByReason[ReasonTimestamp] != 1 {
					t.Fatalf("want a timestamp reject, got %+v %+v", got, sum)
				}
				if !strings.Contains(sum.First.Error(), "milliseconds") {
					t.Errorf("reason does not name the unit: %v", sum.First)
				}
				return
			}
			if len(got) != 1 || got[0].TimestampMs != c.want {
				t.Fatalf("got %+v, want timestamp %d", got, c.want)
			}
		})
	}
}

func TestConvertUnknownTypeIsAGaugeAndCounted(t *testing.T) {
	m := seedCPU()
	m.MetricType = "Histogram"
	got, sum := convert(t, m, seedInterface())
	if len(got) != 2 || got[0].Kind != model.KindGauge || got[1].Kind != model.KindCounter {
		t.Fatalf("got %+v", got)
	}
	if sum.UnknownType != 1 || sum.FirstUnknownType != "Histogram" || sum.Rejected != 0 {
		t.Errorf("summary %+v", sum)
	}
}

// Every reject is per metric: the good metrics around it are kept, and the
// summary names each reason.
func TestConvertRejectsOneMetricNotTheBatch(t *testing.T) {
	mod := func(f func(*ftdpb.Metric)) *ftdpb.Metric { m := seedCPU(); f(m); return m }
	many := make([]*ftdpb.Tag, 65)
	for i := range many {
		many[i] = tag("k", "v")
	}
	cases := []struct {
		m      *ftdpb.Metric
		reason Reason
	}{
		{mod(func(m *ftdpb.Metric) { m.MetricFamily = "" }), ReasonMissingFamily},
		{mod(func(m *ftdpb.Metric) { m.Tags[1].Value = "" }), ReasonMissingDescription},
		{mod(func(m *ftdpb.Metric) { m.Tags = m.Tags[2:] }), ReasonMissingDescription},
		{mod(func(m *ftdpb.Metric) { m.Value = math.NaN() }), ReasonNonFinite},
		{mod(func(m *ftdpb.Metric) { m.Value = math.Inf(1) }), ReasonNonFinite},
		{mod(func(m *ftdpb.Metric) { m.Value = math.Inf(-1) }), ReasonNonFinite},
		{mod(func(m *ftdpb.Metric) { m.Tags = append(m.Tags, many...) }), ReasonTooManyTags},
		{mod(func(m *ftdpb.Metric) { m.Tags[0].Value = strings.Repeat("v", 2049) }), ReasonTooLong},
		{mod(func(m *ftdpb.Metric) { m.Tags[0].Key = strings.Repeat("k", 257) }), ReasonTooLong},
		{mod(func(m *ftdpb.Metric) { m.Tags[0].Key = "%%" }), ReasonInvalidLabelName},
		{mod(func(m *ftdpb.Metric) { m.MetricFamily = "***" }), ReasonInvalidLabelName},
		{mod(func(m *ftdpb.Metric) { m.Tags[0].Value = "\xff" }), ReasonInvalidUTF8},
		{mod(func(m *ftdpb.Metric) { m.MetricFamily = "cpu\xc3" }), ReasonInvalidUTF8},
		{mod(func(m *ftdpb.Metric) { m.Timestamp = 1 }), ReasonTimestamp},
		{nil, ReasonNilMetric},
	}
	for _, c := range cases {
		t.Run(c.reason.String(), func(t *testing.T) {
			got, sum := convert(t, seedInterface(), c.m, seedCPU())
			if len(got) != 2 || got[0].Name != "ftd_interface_input_packets" || got[1].Name != "ftd_cpu_cpu_utilisation" {
				t.Fatalf("the good metrics were not kept: %+v", got)
			}
			if sum.Kept != 2 || sum.Rejected != 1 || sum.ByReason[c.reason] != 1 {
				t.Fatalf("summary %+v, want one %s", sum, c.reason)
			}
			if sum.First == nil || sum.First.Index != 1 || sum.First.Reason != c.reason || sum.First.Category() != status.CatInvalidArgument {
				t.Fatalf("first error %+v", sum.First)
			}
		})
	}
}

func TestConvertBatchErrors(t *testing.T) {
	c := NewConverter(Limits{})
	_, _, err := c.Convert(nil, Identity{}, &ftdpb.DataResponse{Metrics: []*ftdpb.Metric{seedCPU()}}, seedTime)
	if !errors.Is(err, ErrNoUUID) {
		t.Fatalf("empty uuid: %v", err)
	}
	if cat, ok := IsBatchError(err); !ok || cat != status.CatSystem {
		t.Errorf("empty uuid category %q", cat)
	}
	_, _, err = c.Convert(nil, Identity{UUID: "someone-else"}, &ftdpb.DataResponse{FtdUuid: seedUUID}, seedTime)
	if cat, ok := IsBatchError(err); !ok || cat != status.CatStreaming {
		t.Errorf("uuid mismatch: %v (%q)", err, cat)
	}
	// Without a handshake identity the batch names its device itself.
	got, _, err := c.Convert(nil, Identity{}, &ftdpb.DataResponse{FtdUuid: seedUUID, Metrics: []*ftdpb.Metric{seedCPU()}}, seedTime)
	if err != nil || len(got) != 1 || got[0].Labels.Get("device") != seedUUID || got[0].Labels.Get("hostname") != "" {
		t.Errorf("got %+v, %v", got, err)
	}
}

func TestConvertReusesDstAndKeepsSamplesApart(t *testing.T) {
	c := NewConverter(Limits{})
	batch := &ftdpb.DataResponse{FtdUuid: seedUUID, Metrics: []*ftdpb.Metric{seedCPU(), seedInterface()}}
	dst := make([]model.Sample, 0, 8)
	got, _, err := c.Convert(dst, seedID, batch, seedTime)
	if err != nil || len(got) != 2 || &got[0] != &dst[:1][0] {
		t.Fatalf("dst was not reused: %v", err)
	}
	// Appending to one sample's labels must not reach into the next one's.
	before := append(model.Labels(nil), got[1].Labels...)
	_ = append(got[0].Labels, model.Label{Name: "zzz", Value: "x"})
	if !reflect.DeepEqual(got[1].Labels, before) {
		t.Errorf("labels of sample 1 changed: %v", got[1].Labels)
	}
	// A cached name gives the same result as a fresh one.
	again, _, _ := c.Convert(nil, seedID, batch, seedTime)
	fresh, _, _ := NewConverter(Limits{}).Convert(nil, seedID, batch, seedTime)
	if !reflect.DeepEqual(again, fresh) {
		t.Errorf("cached %+v\nfresh %+v", again, fresh)
	}
}

func TestConvertLimitsAreConfigurable(t *testing.T) {
	c := NewConverter(Limits{MaxTags: 3})
	_, sum, _ := c.Convert(nil, seedID, &ftdpb.DataResponse{FtdUuid: seedUUID, Metrics: []*ftdpb.Metric{seedCPU()}}, seedTime)
	if sum.ByReason[ReasonTooManyTags] != 1 {
		t.Errorf("summary %+v", sum)
	}
}

func TestConvertRealisticBatch(t *testing.T) {
	batch := realisticBatch(seedUUID, seedTime)
	got, sum, err := NewConverter(Limits{}).Convert(nil, seedID, batch, seedTime)
	if err != nil || sum.Kept != len(batch.Metrics) || len(got) != 479 {
		t.Fatalf("kept %d of %d: %v (%+v)", len(got), len(batch.Metrics), err, sum)
	}
	for _, s := range got {
		checkSample(t, s)
	}
}
