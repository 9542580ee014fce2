package query

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/store"
)

var t0 = time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)

// testStore holds 30 minutes of FTD-like data at 60 s: two devices' CPU and
// one interface counter growing by 6000 bytes a minute (100 B/s).
func testStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(store.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var batch []model.Sample
	for i := range 31 {
		ts := t0.Add(time.Duration(i) * time.Minute).UnixMilli()
		for _, dev := range []string{"fw1", "fw2"} {
			batch = append(batch, model.Sample{Name: "ftd_cpu_utilisation", Labels: model.Labels{{Name: "device", Value: dev}}, TimestampMs: ts, Value: float64(i), Kind: model.KindGauge})
		}
		batch = append(batch, model.Sample{Name: "ftd_interface_bytes_in", Labels: model.Labels{{Name: "device", Value: "fw1"}, {Name: "interface", Value: "outside"}}, TimestampMs: ts, Value: float64(i * 6000), Kind: model.KindCounter})
	}
	res, err := st.Append(context.Background(), batch)
	if err != nil || res.Rejected != 0 {
		t.Fatalf("append: %+v, %v", res, err)
	}
	return st
}

func TestStep(t *testing.T) {
	hour := backend.TimeRange{From: t0, To: t0.Add(time.Hour)}
	for _, tc := range []struct {
		tr       backend.TimeRange
		interval time.Duration
		maxDP    int64
		want     time.Duration
	}{
		{hour, 15 * time.Second, 1000, 15 * time.Second},
		{hour, time.Second, 100, 36 * time.Second},                                                        // range/maxDataPoints wins
		{hour, 0, 1_000_000, time.Second},                                                                 // never below 1 s
		{hour, 1500 * time.Millisecond, 0, 2 * time.Second},                                               // rounded up to whole seconds
		{backend.TimeRange{From: t0, To: t0.Add(30 * 24 * time.Hour)}, time.Second, 0, 236 * time.Second}, // 11,000 points at most
	} {
		if got := Step(tc.tr, tc.interval, tc.maxDP); got != tc.want {
			t.Errorf("Step(%s, %s, %d) = %s, want %s", tc.tr.Duration(), tc.interval, tc.maxDP, got, tc.want)
		}
	}
}

func TestExecuteTimeSeriesMulti(t *testing.T) {
	st := testStore(t)
	tr := backend.TimeRange{From: t0.Add(10 * time.Minute), To: t0.Add(30 * time.Minute)}
	q := Query{RefID: "A", Metric: "ftd_cpu_utilisation", LegendFormat: "{{device}} cpu {{missing}}"}
	frames, err := Execute(context.Background(), st, q, tr, time.Minute, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) != 2 {
		t.Fatalf("%d frames, want one per device", len(frames))
	}
	for i, dev := range []string{"fw1", "fw2"} {
		f := frames[i]
		if f.Meta.Type != data.FrameTypeTimeSeriesMulti || f.Meta.TypeVersion != (data.FrameTypeVersion{0, 1}) {
			t.Fatalf("frame meta %+v", f.Meta)
		}
		if f.Meta.ExecutedQueryString != "ftd_cpu_utilisation" {
			t.Fatalf("executed %q", f.Meta.ExecutedQueryString)
		}
		if len(f.Fields) != 2 || f.Fields[0].Type() != data.FieldTypeTime || f.Fields[1].Type() != data.FieldTypeFloat64 {
			t.Fatalf("fields %v", f.Fields)
		}
		v := f.Fields[1]
		if v.Labels["device"] != dev || v.Config.DisplayNameFromDS != dev+" cpu " {
			t.Fatalf("value field labels %v, display %q", v.Labels, v.Config.DisplayNameFromDS)
		}
		// Steps at :10 .. :30 every minute, each the sample of that minute.
		if f.Rows() != 21 || v.At(0).(float64) != 10 || v.At(20).(float64) != 30 {
			t.Fatalf("%d rows from %v to %v", f.Rows(), v.At(0), v.At(f.Rows()-1))
		}
		if got := f.Fields[0].At(0).(time.Time); !got.Equal(tr.From) {
			t.Fatalf("first time %s, want %s", got, tr.From)
		}
	}
}

func TestExecuteBuilderRateAndAggregation(t *testing.T) {
	st := testStore(t)
	tr := backend.TimeRange{From: t0.Add(10 * time.Minute), To: t0.Add(30 * time.Minute)}
	q := Query{RefID: "A", Metric: "ftd_interface_bytes_in", Rate: true, Aggregation: "sum", GroupBy: []string{"device"}}
	frames, err := Execute(context.Background(), st, q, tr, 15*time.Second, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) != 1 {
		t.Fatalf("%d frames, want 1", len(frames))
	}
	f := frames[0]
	if f.Meta.ExecutedQueryString != "sum by (device) (rate(ftd_interface_bytes_in[4m]))" {
		t.Fatalf("executed %q", f.Meta.ExecutedQueryString)
	}
	v := f.Fields[1]
	if v.Labels["device"] != "fw1" || len(v.Labels) != 1 {
		t.Fatalf("labels %v", v.Labels)
	}
	for i := range v.Len() {
		if got := v.At(i).(float64); math.Abs(got-100) > 1e-9 {
			t.Fatalf("row %d: rate %v, want 100 B/s", i, got)
		}
	}
}

func TestExecuteNoDataIsAnEmptyTypedFrame(t *testing.T) {
	st := testStore(t)
	tr := backend.TimeRange{From: t0, To: t0.Add(30 * time.Minute)}
	for _, q := range []Query{
		{RefID: "A", Metric: "ftd_nothing_here"},
		{RefID: "B", Metric: "ftd_nothing_here", Instant: true},
		{RefID: "C", Metric: "ftd_nothing_here", Format: FormatTable},
	} {
		frames, err := Execute(context.Background(), st, q, tr, time.Minute, 1000)
		if err != nil {
			t.Fatalf("%s: no data must not be an error: %v", q.RefID, err)
		}
		if len(frames) != 1 || frames[0].Rows() != 0 || frames[0].Meta == nil || frames[0].Meta.Type == "" {
			t.Fatalf("%s: want one empty typed frame, got %v", q.RefID, frames)
		}
	}
}

func TestExecuteDropsAllNaNSeries(t *testing.T) {
	st := testStore(t)
	tr := backend.TimeRange{From: t0.Add(10 * time.Minute), To: t0.Add(20 * time.Minute)}
	// fw1's CPU divided by itself is NaN at 0 only; a series minus itself
	// divided by zero is NaN everywhere.
	q := Query{RefID: "A", EditorMode: ModeCode, Expr: `(ftd_cpu_utilisation - ftd_cpu_utilisation) / 0 or ftd_interface_bytes_in`}
	frames, err := Execute(context.Background(), st, q, tr, time.Minute, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) != 1 || frames[0].Fields[1].Labels["interface"] != "outside" {
		t.Fatalf("want only the counter series, got %d frames: %v", len(frames), frames)
	}
}

func TestExecuteTableFormat(t *testing.T) {
	st := testStore(t)
	tr := backend.TimeRange{From: t0.Add(10 * time.Minute), To: t0.Add(12 * time.Minute)}
	q := Query{RefID: "A", EditorMode: ModeCode, Expr: `{__name__=~"ftd_.*"}`, Format: FormatTable}
	frames, err := Execute(context.Background(), st, q, tr, time.Minute, 1000)
	if err != nil {
		t.Fatal(err)
	}
	f := frames[0]
	if len(frames) != 1 || f.Meta.Type != data.FrameTypeTimeSeriesLong {
		t.Fatalf("want one timeseries-long frame, got %v", frames)
	}
	var names []string
	for _, fld := range f.Fields {
		names = append(names, fld.Name)
	}
	if want := []string{"Time", "__name__", "device", "interface", "Value"}; !equal(names, want) {
		t.Fatalf("columns %v, want %v", names, want)
	}
	// 3 series x 3 steps, sorted by time.
	if f.Rows() != 9 {
		t.Fatalf("%d rows, want 9", f.Rows())
	}
	for i := 1; i < f.Rows(); i++ {
		if f.Fields[0].At(i).(time.Time).Before(f.Fields[0].At(i - 1).(time.Time)) {
			t.Fatalf("row %d out of time order", i)
		}
	}
	if f.Fields[3].At(0).(string) != "" || f.Fields[3].At(2).(string) != "outside" {
		t.Fatalf("interface column %v %v: CPU rows have none, the counter has outside", f.Fields[3].At(0), f.Fields[3].At(2))
	}
}

func TestExecuteInstant(t *testing.T) {
	st := testStore(t)
	tr := backend.TimeRange{From: t0, To: t0.Add(30 * time.Minute)}
	q := Query{RefID: "A", Metric: "ftd_cpu_utilisation", Instant: true, LegendFormat: "{{device}}"}
	frames, err := Execute(context.Background(), st, q, tr, time.Minute, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) != 2 || frames[0].Meta.Type != data.FrameTypeNumericMulti {
		t.Fatalf("want two numeric-multi frames, got %v", frames)
	}
	if v := frames[1].Fields[1]; v.At(0).(float64) != 30 || v.Config.DisplayNameFromDS != "fw2" {
		t.Fatalf("fw2 at the end of the range: %v %q", v.At(0), v.Config.DisplayNameFromDS)
	}

	q.Format = FormatTable
	frames, err = Execute(context.Background(), st, q, tr, time.Minute, 1000)
	if err != nil || len(frames) != 1 || frames[0].Meta.Type != data.FrameTypeNumericLong || frames[0].Rows() != 2 {
		t.Fatalf("instant table: %v, %v", frames, err)
	}
}

func TestExecuteRejectsRecordsAndBadQueries(t *testing.T) {
	st := testStore(t)
	tr := backend.TimeRange{From: t0, To: t0.Add(30 * time.Minute)}
	for _, q := range []Query{
		{RefID: "A", Kind: KindRecords},
		{RefID: "B", EditorMode: ModeCode, Expr: `rate(`},
		{RefID: "C", EditorMode: ModeCode, Expr: `ftd_cpu_utilisation[5m]`}, // a range vector cannot be graphed
	} {
		if _, err := Execute(context.Background(), st, q, tr, time.Minute, 1000); err == nil {
			t.Errorf("%s: want an error", q.RefID)
		}
	}
}

func TestLiveHistoryAndRowsShareOneSchema(t *testing.T) {
	st := testStore(t)
	q := Query{RefID: "A", Metric: "ftd_cpu_utilisation", LegendFormat: "{{device}}"}
	tr := backend.TimeRange{From: t0, To: t0.Add(30 * time.Minute)}
	hist, lq, err := LiveHistory(context.Background(), st, q, tr, time.Minute, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if hist.Meta.Type != data.FrameTypeTimeSeriesWide || len(hist.Fields) != 3 || hist.Rows() < 2 {
		t.Fatalf("want a wide history with time and two series, got %v", hist)
	}
	row, err := LiveRows(context.Background(), st, lq, t0.Add(30*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if row.Meta.Type != data.FrameTypeTimeSeriesWide || row.Rows() != 1 || !SameSchema(hist, row) {
		t.Fatalf("the pushed row does not line up with the history: %v", row)
	}
	for i, dev := range []string{"fw1", "fw2"} {
		v := row.Fields[i+1]
		if got, _ := v.ConcreteAt(0); v.Labels["device"] != dev || got.(float64) != 30 || v.Config.DisplayNameFromDS != dev {
			t.Fatalf("field %d: %v %v %q", i+1, v.Labels, got, v.Config.DisplayNameFromDS)
		}
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
