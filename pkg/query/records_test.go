package query

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/netlens/netlens/pkg/records"
)

var flowRange = backend.TimeRange{From: time.UnixMilli(1_700_000_000_000), To: time.UnixMilli(1_700_000_000_000).Add(time.Hour)}

func knownFlowFields(name string) bool {
	switch name {
	case "exporter", "time", "src_addr", "dst_addr", "protocol", "bytes", "packets", "application":
		return true
	}
	return false
}

func TestPlanRecordsRawRowsTakeColumnsLimitAndFilters(t *testing.T) {
	q := Query{RefID: "A", Kind: KindRecords, Source: "ipfix", RecordKind: "ipfix_flow",
		Columns: []string{"time", "src_addr", "", "bytes"},
		Filters: []RecordFilter{
			{Field: "src_addr", Op: OpCIDR, Values: []string{"10.0.0.0/8"}},
			{Field: "dst_addr", Op: OpEqual}, // a row being edited
		},
	}
	p, err := PlanRecords(q, flowRange, time.Second, 1000, knownFlowFields)
	if err != nil {
		t.Fatal(err)
	}
	rq := p.Query
	if rq.FromMs != flowRange.From.UnixMilli() || rq.ToMs != flowRange.To.UnixMilli() {
		t.Fatalf("range = %d..%d", rq.FromMs, rq.ToMs)
	}
	if rq.Limit != DefaultRecordLimit || len(rq.Columns) != 3 || len(rq.Filters) != 1 || rq.Filters[0].Op != OpCIDR {
		t.Fatalf("raw plan = %+v", rq)
	}

	q.Limit = 1 << 20
	p, err = PlanRecords(q, flowRange, time.Second, 1000, knownFlowFields)
	if err != nil || p.Query.Limit != MaxRecordLimit || len(p.Notices) != 1 {
		t.Fatalf("an oversized limit: %+v %v", p, err)
	}
}

func TestPlanRecordsBuckets(t *testing.T) {
	agg := []RecordAggregate{{Func: "sum", Field: "bytes"}}
	cases := []struct {
		bucket   string
		interval time.Duration
		want     time.Duration
		err      string
	}{
		{bucket: "", want: 0},
		{bucket: "auto", interval: 10 * time.Second, want: 10 * time.Second},
		{bucket: "auto", interval: 10 * time.Millisecond, want: 4 * time.Second}, // 1h / 1000 points, rounded up
		{bucket: "1m", want: time.Minute},
		{bucket: "1h", want: time.Hour},
		{bucket: "1ms", err: "shorter than 1s"},
		{bucket: "soon", err: "bucket"},
	}
	for _, c := range cases {
		q := Query{Kind: KindRecords, Aggregates: agg, Bucket: c.bucket}
		p, err := PlanRecords(q, flowRange, c.interval, 1000, knownFlowFields)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("bucket %q: err = %v, want %q", c.bucket, err, c.err)
			}
			continue
		}
		if err != nil || p.Query.BucketMs != c.want.Milliseconds() {
			t.Errorf("bucket %q interval %s: %d ms, %v; want %s", c.bucket, c.interval, p.Query.BucketMs, err, c.want)
		}
	}
	// A day in 1 s buckets would be 86,400 points a line: the bucket grows.
	day := backend.TimeRange{From: flowRange.From, To: flowRange.From.Add(24 * time.Hour)}
	p, err := PlanRecords(Query{Kind: KindRecords, Aggregates: agg, Bucket: "1s"}, day, 0, 0, nil)
	if err != nil || day.Duration()/time.Duration(p.Query.BucketMs*1e6) > MaxPointsPerSeries {
		t.Fatalf("1s over a day: bucket %d ms, %v", p.Query.BucketMs, err)
	}
}

func TestPlanRecordsAggregatesAndTopN(t *testing.T) {
	q := Query{Kind: KindRecords, GroupBy: []string{"src_addr", "dst_addr"},
		Aggregates: []RecordAggregate{{Func: "sum", Field: "bytes"}, {Func: "count"}, {Func: "p95", Field: "rtt"}},
		TopN:       10, Other: true}
	p, err := PlanRecords(q, flowRange, time.Second, 1000, knownFlowFields)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"sum(bytes)", "count()", "p95(rtt)"}
	for i, n := range want {
		if p.AggNames[i] != n {
			t.Fatalf("aggregate names = %v, want %v", p.AggNames, want)
		}
	}
	if p.Query.TopN != 10 || !p.Query.Other || p.Query.Aggregates[2].Column != "rtt" || len(p.Query.GroupBy) != 2 {
		t.Fatalf("plan = %+v", p.Query)
	}

	// Without a top N the groups are still capped; "other" needs a top N.
	q.TopN, q.Other = 0, true
	p, _ = PlanRecords(q, flowRange, time.Second, 1000, knownFlowFields)
	if p.Query.TopN != MaxRecordGroups || p.Query.Other {
		t.Fatalf("uncapped table: top %d other %v", p.Query.TopN, p.Query.Other)
	}
	q.Bucket = "1m"
	p, _ = PlanRecords(q, flowRange, time.Second, 1000, knownFlowFields)
	if p.Query.TopN != MaxRecordSeries {
		t.Fatalf("uncapped series: top %d", p.Query.TopN)
	}

	for _, bad := range []Query{
		{Kind: KindRecords, Aggregates: []RecordAggregate{{Func: "median", Field: "bytes"}}},
		{Kind: KindRecords, Aggregates: []RecordAggregate{{Func: "sum"}}},
		{Kind: KindRecords, Aggregates: []RecordAggregate{{Func: "count"}, {Func: "count"}}},
		{Kind: KindRecords, Aggregates: []RecordAggregate{{Func: "count"}}, TopN: -1},
		{Kind: KindRecords, Filters: []RecordFilter{{Field: "bytes", Op: "~", Values: []string{"1"}}}},
		{Kind: KindSeries},
	} {
		if _, err := PlanRecords(bad, flowRange, time.Second, 1000, nil); err == nil {
			t.Errorf("%+v was accepted", bad)
		}
	}
}

func TestAdhocFiltersBecomeEqualityFiltersOnKnownFields(t *testing.T) {
	q := Query{Kind: KindRecords, AdhocFilters: []Matcher{
		{Label: "device", Op: "=", Value: "192.0.2.7/0"},           // the series' name for the exporter
		{Label: "protocol", Op: "!=", Value: "17"},                 // a records field
		{Label: "application", Op: "=~", Value: `dns|http\.proxy`}, // multi-value filter
		{Label: "interface", Op: "=", Value: "Gi0/0"},              // a series label: not ours
		{Label: "src_addr", Op: "=~", Value: "10\\..*"},            // a pattern: skipped, said so
	}}
	p, err := PlanRecords(q, flowRange, time.Second, 1000, knownFlowFields)
	if err != nil {
		t.Fatal(err)
	}
	f := p.Query.Filters
	if len(f) != 3 {
		t.Fatalf("filters = %+v", f)
	}
	if f[0].Column != "exporter" || f[0].Op != OpEqual || f[0].Values[0] != "192.0.2.7/0" {
		t.Fatalf("device filter = %+v", f[0])
	}
	if f[0].Column != "exporter" || f[1].Op != OpNotEqual || f[2].Op != OpIn || len(f[2].Values) != 2 || f[2].Values[1] != "http.proxy" {
		t.Fatalf("filters = %+v", f)
	}
	if len(p.Notices) != 1 || !strings.Contains(p.Notices[0].Text, "pattern") {
		t.Fatalf("notices = %+v", p.Notices)
	}
}

// xr_state records name their router "device", as the series do: a
// device filter stays on that column instead of becoming an exporter one.
func TestAdhocDeviceFilterKeepsATablesOwnDeviceColumn(t *testing.T) {
	known := func(c string) bool { return c == "device" || c == "leaf" || c == "value" || c == "interface_name" }
	q := Query{Kind: KindRecords, AdhocFilters: []Matcher{
		{Label: "device", Op: "=", Value: "xr-pe1"},
		{Label: "interface_name", Op: "=~", Value: `Gi0/0/0/0|Gi0/0/0/1`},
	}}
	p, err := PlanRecords(q, flowRange, time.Second, 1000, known)
	if err != nil {
		t.Fatal(err)
	}
	f := p.Query.Filters
	if len(f) != 2 || f[0].Column != "device" || f[0].Values[0] != "xr-pe1" || f[1].Column != "interface_name" || f[1].Op != OpIn {
		t.Fatalf("filters = %+v", f)
	}
}

func TestRawRowsAreATableWithTimeFirstAndTypedFields(t *testing.T) {
	res := &records.Result{RowsScanned: 3, Columns: []records.ResultColumn{
		{Name: "src_addr", Type: records.Addr, Values: []string{"10.0.0.1", "2001:db8::1"}},
		{Name: "bytes", Type: records.Uint, Values: []uint64{1500, 40}},
		{Name: "time", Type: records.Time, Values: []int64{1_700_000_001_000, 1_700_000_000_500}},
		{Name: "rtt", Type: records.Float, Values: []float64{0.5, 0}, Null: []bool{false, true}},
		{Name: "syn", Type: records.Bool, Values: []bool{true, false}},
	}}
	p, err := PlanRecords(Query{RefID: "A", Kind: KindRecords}, flowRange, time.Second, 1000, nil)
	if err != nil {
		t.Fatal(err)
	}
	frames, err := p.Frames(res)
	if err != nil {
		t.Fatal(err)
	}
	f := frames[0]
	if len(frames) != 1 || f.RefID != "A" || f.Meta.Type != data.FrameTypeTable || f.Rows() != 2 {
		t.Fatalf("frames = %d, meta %+v, rows %d", len(frames), f.Meta, f.Rows())
	}
	wantTypes := []data.FieldType{data.FieldTypeTime, data.FieldTypeString, data.FieldTypeUint64, data.FieldTypeNullableFloat64, data.FieldTypeBool}
	for i, ft := range wantTypes {
		if f.Fields[i].Type() != ft {
			t.Fatalf("field %d (%s) is %s, want %s", i, f.Fields[i].Name, f.Fields[i].Type(), ft)
		}
	}
	if f.Fields[0].At(0).(time.Time).UnixMilli() != 1_700_000_001_000 || f.Fields[3].At(1).(*float64) != nil {
		t.Fatal("values did not carry over")
	}
}

func TestGroupedAggregatesAreOneNumericLongFrame(t *testing.T) {
	q := Query{RefID: "A", Kind: KindRecords, GroupBy: []string{"protocol"}, TopN: 2, Other: true,
		Aggregates: []RecordAggregate{{Func: "sum", Field: "bytes"}, {Func: "count"}}}
	p, err := PlanRecords(q, flowRange, time.Second, 1000, nil)
	if err != nil {
		t.Fatal(err)
	}
	res := &records.Result{Columns: []records.ResultColumn{
		{Name: "protocol", Type: records.Uint, Values: []uint64{6, 17, 0}, Null: []bool{false, false, true}},
		{Name: "sum(bytes)", Type: records.Uint, Values: []uint64{9000, 300, 12}},
		{Name: "count()", Type: records.Uint, Values: []uint64{3, 2, 1}},
	}}
	frames, err := p.Frames(res)
	if err != nil {
		t.Fatal(err)
	}
	f := frames[0]
	if f.Meta.Type != data.FrameTypeNumericLong || f.Meta.TypeVersion != (data.FrameTypeVersion{0, 1}) {
		t.Fatalf("meta = %+v", f.Meta)
	}
	if f.Fields[0].Type() != data.FieldTypeString || f.Fields[0].At(1) != "17" || f.Fields[1].Name != "sum(bytes)" {
		t.Fatalf("fields = %v %v", f.Fields[0], f.Fields[1].Name)
	}
	if v := f.Fields[1].At(0).(*float64); v == nil || *v != 9000 {
		t.Fatal("sum of the first group lost")
	}
}

func TestBucketedAggregatesAreTimeSeriesPerGroupOnAFullGrid(t *testing.T) {
	q := Query{RefID: "B", Kind: KindRecords, GroupBy: []string{"application"}, Bucket: "10m",
		Aggregates: []RecordAggregate{{Func: "sum", Field: "bytes"}, {Func: "avg", Field: "rtt"}}, TopN: 1, Other: true}
	p, err := PlanRecords(q, flowRange, time.Second, 1000, nil)
	if err != nil {
		t.Fatal(err)
	}
	t0 := flowRange.From.UnixMilli() // aligned to 10 min
	res := &records.Result{Columns: []records.ResultColumn{
		{Name: "time", Type: records.Time, Values: []int64{t0, t0, t0 + 30*60_000}},
		{Name: "application", Type: records.String, Values: []string{"dns", "", "dns"}, Null: []bool{false, true, false}},
		{Name: "sum(bytes)", Type: records.Float, Values: []float64{100, 7, 250}},
		{Name: "avg(rtt)", Type: records.Float, Values: []float64{1.5, 2, 3}},
	}, Other: []bool{false, true, false}}
	frames, err := p.Frames(res)
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) != 4 { // two groups times two aggregates
		t.Fatalf("%d frames", len(frames))
	}
	dns := frames[0]
	if dns.Meta.Type != data.FrameTypeTimeSeriesMulti || dns.Fields[1].Labels["application"] != "dns" || dns.Fields[1].Name != "sum(bytes)" {
		t.Fatalf("first frame: %+v %v", dns.Meta, dns.Fields[1].Labels)
	}
	if dns.Rows() != 7 { // 0, 10, ... 60 minutes
		t.Fatalf("grid has %d buckets", dns.Rows())
	}
	at := func(f *data.Frame, i int) float64 {
		v := f.Fields[1].At(i).(*float64)
		if v == nil {
			return math.NaN()
		}
		return *v
	}
	if at(dns, 0) != 100 || at(dns, 1) != 0 || at(dns, 3) != 250 {
		t.Fatalf("sum(bytes) of dns = %v %v %v", at(dns, 0), at(dns, 1), at(dns, 3))
	}
	if !math.IsNaN(at(frames[1], 1)) || at(frames[1], 3) != 3 {
		t.Fatal("an empty bucket's average must be null, not 0")
	}
	if frames[2].Fields[1].Labels["application"] != "other" {
		t.Fatalf("other group: %v", frames[2].Fields[1].Labels)
	}

	// Nothing matched: one empty frame of the right type, so alerts see no data.
	empty, err := p.Frames(&records.Result{Columns: []records.ResultColumn{
		{Name: "time", Type: records.Time, Values: []int64{}},
		{Name: "application", Type: records.String, Values: []string{}},
		{Name: "sum(bytes)", Type: records.Float, Values: []float64{}},
		{Name: "avg(rtt)", Type: records.Float, Values: []float64{}},
	}})
	if err != nil || len(empty) != 1 || empty[0].Meta.Type != data.FrameTypeTimeSeriesMulti {
		t.Fatalf("empty answer: %v %v", empty, err)
	}
}

func TestLiteralAlternatives(t *testing.T) {
	for re, want := range map[string]string{
		`a|b`:            "a,b",
		`10\.0\.0\.1`:    "10.0.0.1",
		`x\|y`:           "x|y",
		`192\.0\.2\.7/0`: "192.0.2.7/0",
	} {
		got, ok := literalAlternatives(re)
		if !ok || strings.Join(got, ",") != want {
			t.Errorf("%q: %v %v, want %s", re, got, ok, want)
		}
	}
	for _, re := range []string{`a.*`, `(a|b)`, `\d+`, `^a$`} {
		if _, ok := literalAlternatives(re); ok {
			t.Errorf("%q taken for literals", re)
		}
	}
}
