package store

import (
	"context"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/netlens/netlens/pkg/model"
)

// t0 is a fixed, minute-aligned time so results are easy to read.
var t0 = time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)

func openTest(t testing.TB, opts Options) *Store {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	s, err := Open(opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func cpu(device string, ts time.Time, v float64) model.Sample {
	return model.Sample{
		Name:        "ftd_cpu_utilisation",
		Labels:      model.Labels{{Name: "device", Value: device}, {Name: "family", Value: "cpu"}},
		TimestampMs: ts.UnixMilli(),
		Value:       v,
		Kind:        model.KindGauge,
		Help:        "CPU utilisation in percent",
	}
}

func bytesIn(device string, ts time.Time, v float64) model.Sample {
	return model.Sample{
		Name:        "ftd_interface_bytes_in",
		Labels:      model.Labels{{Name: "device", Value: device}, {Name: "family", Value: "interface"}, {Name: "interface", Value: "outside"}},
		TimestampMs: ts.UnixMilli(),
		Value:       v,
		Kind:        model.KindCounter,
	}
}

func mustAppend(t testing.TB, s *Store, samples ...model.Sample) {
	t.Helper()
	res, err := s.Append(context.Background(), samples)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	if res.Rejected != 0 || res.Appended != len(samples) {
		t.Fatalf("Append kept %d, rejected %d (%v); want all %d kept", res.Appended, res.Rejected, res.FirstError, len(samples))
	}
}

func TestAppendThenQueryRangeAndInstant(t *testing.T) {
	s := openTest(t, Options{})
	for i := range 10 {
		ts := t0.Add(time.Duration(i) * time.Minute)
		mustAppend(t, s, cpu("fw1", ts, float64(10+i)), cpu("fw2", ts, 50), bytesIn("fw1", ts, float64(i*6000)))
	}
	ctx := context.Background()

	m, err := s.RangeQuery(ctx, `ftd_cpu_utilisation{device="fw1"}`, t0, t0.Add(9*time.Minute), 3*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 1 || m[0].Metric.Get("device") != "fw1" {
		t.Fatalf("got %v, want the fw1 series only", m)
	}
	var got []float64
	for _, p := range m[0].Floats {
		got = append(got, p.F)
	}
	if want := []float64{10, 13, 16, 19}; !slices.Equal(got, want) {
		t.Fatalf("values %v, want %v", got, want)
	}

	// 6000 bytes a minute is 100 bytes per second.
	v, err := s.InstantQuery(ctx, `rate(ftd_interface_bytes_in[5m])`, t0.Add(9*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(v) != 1 || math.Abs(v[0].F-100) > 1e-9 {
		t.Fatalf("rate = %v, want one series at 100", v)
	}

	v, err = s.InstantQuery(ctx, `sum(ftd_cpu_utilisation)`, t0.Add(9*time.Minute))
	if err != nil || len(v) != 1 || v[0].F != 19+50 {
		t.Fatalf("sum = %v, %v; want 69", v, err)
	}

	// Scalars come back as a one-sample vector without labels.
	v, err = s.InstantQuery(ctx, `1 + 1`, t0)
	if err != nil || len(v) != 1 || v[0].F != 2 || v[0].Metric.Len() != 0 {
		t.Fatalf("1 + 1 = %v, %v", v, err)
	}

	if _, err := s.InstantQuery(ctx, `ftd_cpu_utilisation[5m]`, t0); err == nil {
		t.Fatal("a range vector at the top level of an instant query must be an error")
	}
	if _, err := s.RangeQuery(ctx, `sum(`, t0, t0.Add(time.Minute), time.Second); err == nil {
		t.Fatal("a syntax error must be reported")
	}
}

func TestLabelsAndMetricsForEditors(t *testing.T) {
	s := openTest(t, Options{})
	mustAppend(t, s, cpu("fw1", t0, 1), cpu("fw2", t0, 2), bytesIn("fw3", t0, 3))
	ctx := context.Background()
	start, end := t0.Add(-time.Hour), t0.Add(time.Hour)

	names, err := s.LabelNames(ctx, start, end)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"__name__", "device", "family", "interface"}; !slices.Equal(names, want) {
		t.Fatalf("label names %v, want %v", names, want)
	}

	onlyCPU := labels.MustNewMatcher(labels.MatchEqual, "__name__", "ftd_cpu_utilisation")
	devs, err := s.LabelValues(ctx, "device", start, end, onlyCPU)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"fw1", "fw2"}; !slices.Equal(devs, want) {
		t.Fatalf("devices %v, want %v", devs, want)
	}

	ms, err := s.Metrics(ctx, start, end)
	if err != nil {
		t.Fatal(err)
	}
	want := []MetricInfo{
		{Name: "ftd_cpu_utilisation", Family: "cpu", Kind: model.KindGauge, Help: "CPU utilisation in percent"},
		{Name: "ftd_interface_bytes_in", Family: "interface", Kind: model.KindCounter},
	}
	if !slices.Equal(ms, want) {
		t.Fatalf("metrics %+v, want %+v", ms, want)
	}

	// Outside the time range there is nothing to offer.
	ms, err = s.Metrics(ctx, t0.Add(2*time.Hour), t0.Add(3*time.Hour))
	if err != nil || len(ms) != 0 {
		t.Fatalf("metrics outside the data = %v, %v; want none", ms, err)
	}
}

func TestAppendRejectsPerSampleAndCountsReasons(t *testing.T) {
	s := openTest(t, Options{OutOfOrderWindow: 10 * time.Minute})
	mustAppend(t, s, cpu("fw1", t0, 1))

	bad := []model.Sample{
		cpu("fw1", t0.Add(time.Minute), 2),      // kept
		cpu("fw1", t0, 99),                      // same time, other value
		cpu("fw1", t0.Add(-time.Hour), 3),       // older than the out-of-order window
		{Name: "", TimestampMs: t0.UnixMilli()}, // empty name
		{Name: "9lives", TimestampMs: t0.UnixMilli()},
		{Name: "ok", Labels: model.Labels{{Name: "bad-label", Value: "x"}}, TimestampMs: t0.UnixMilli()},
		{Name: "ok", Labels: model.Labels{{Name: "b", Value: "1"}, {Name: "a", Value: "2"}}, TimestampMs: t0.UnixMilli()},
		{Name: "ok", Labels: model.Labels{{Name: "__name__", Value: "x"}}, TimestampMs: t0.UnixMilli()},
		{Name: "ok", Labels: model.Labels{{Name: "a", Value: ""}}, TimestampMs: t0.UnixMilli()},
		{Name: "ok", Labels: model.Labels{{Name: "a", Value: "\xff"}}, TimestampMs: t0.UnixMilli()},
		{Name: "ok", TimestampMs: t0.UnixMilli(), Value: math.NaN()},
		{Name: "ok", TimestampMs: t0.UnixMilli(), Value: math.Inf(1)},
		cpu("fw1", t0.Add(-5*time.Minute), 4), // late but inside the window: kept
	}
	res, err := s.Append(context.Background(), bad)
	if err != nil {
		t.Fatalf("a batch with bad samples must not fail as a whole: %v", err)
	}
	if res.Appended != 2 || res.Rejected != len(bad)-2 {
		t.Fatalf("kept %d rejected %d, want 2 and %d", res.Appended, res.Rejected, len(bad)-2)
	}
	if res.FirstError == nil || !strings.Contains(res.FirstError.Error(), `ftd_cpu_utilisation{device="fw1",family="cpu"}`) {
		t.Fatalf("first error %v must name the series", res.FirstError)
	}

	// A known series with a bad value is still caught (the cache skips
	// name checks, not value checks).
	nan := cpu("fw1", t0.Add(2*time.Minute), math.NaN())
	if res, _ := s.Append(context.Background(), []model.Sample{nan}); res.Rejected != 1 {
		t.Fatalf("NaN on a known series: %+v", res)
	}

	got := s.Stats().Rejected
	want := Rejections{Duplicate: 1, TooOld: 1, Invalid: 10}
	if got != want {
		t.Fatalf("rejections %+v, want %+v", got, want)
	}
	if st := s.Stats(); st.SamplesAppended != 3 || st.HeadSeries != 1 {
		t.Fatalf("stats %+v, want 3 samples in 1 series", st)
	}
}

func TestOutOfOrderOffRejectsLateSamples(t *testing.T) {
	s := openTest(t, Options{OutOfOrderWindow: -1})
	mustAppend(t, s, cpu("fw1", t0, 1))
	res, _ := s.Append(context.Background(), []model.Sample{cpu("fw1", t0.Add(-time.Second), 2)})
	if res.Rejected != 1 || s.Stats().Rejected.OutOfOrder != 1 {
		t.Fatalf("result %+v, stats %+v: want one out-of-order rejection", res, s.Stats().Rejected)
	}
}

func TestAppendCancelledContext(t *testing.T) {
	s := openTest(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := s.Append(ctx, []model.Sample{cpu("fw1", t0, 1)})
	if !errors.Is(err, context.Canceled) || res.Rejected != 1 {
		t.Fatalf("got %+v, %v; want the batch rejected with context.Canceled", res, err)
	}
}

func TestCallerMayReuseItsBatch(t *testing.T) {
	s := openTest(t, Options{})
	batch := []model.Sample{cpu("fw1", t0, 1)}
	mustAppend(t, s, batch...)
	// A decoder that reuses its label slice must not corrupt the cache.
	batch[0].Labels[0].Value = "fw9"
	batch[0].TimestampMs = t0.Add(time.Minute).UnixMilli()
	mustAppend(t, s, batch...)
	devs, err := s.LabelValues(context.Background(), "device", t0.Add(-time.Hour), t0.Add(time.Hour))
	if err != nil || !slices.Equal(devs, []string{"fw1", "fw9"}) {
		t.Fatalf("devices %v, %v; want fw1 and fw9", devs, err)
	}
}

func TestSeriesCacheIsBoundedAndEvictionIsHarmless(t *testing.T) {
	s := openTest(t, Options{})
	s.cacheLimit = 4
	for round := range 3 {
		var batch []model.Sample
		for d := range 10 {
			batch = append(batch, cpu("fw"+string(rune('a'+d)), t0.Add(time.Duration(round)*time.Minute), float64(round)))
		}
		mustAppend(t, s, batch...)
		if n := s.Stats().CachedSeries; n > 4 {
			t.Fatalf("cache holds %d series, limit 4", n)
		}
	}
	v, err := s.InstantQuery(context.Background(), `count(count_over_time(ftd_cpu_utilisation[10m]) == 3)`, t0.Add(2*time.Minute))
	if err != nil || len(v) != 1 || v[0].F != 10 {
		t.Fatalf("every series must hold its 3 samples whether cached or not: %v %v", v, err)
	}
}

func TestQueriesBeyondTheConcurrencyLimitWaitForTheirContext(t *testing.T) {
	s := openTest(t, Options{MaxConcurrentQueries: 1})
	mustAppend(t, s, cpu("fw1", t0, 1))
	release, err := s.acquire(context.Background()) // a query that is still running
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.InstantQuery(ctx, `ftd_cpu_utilisation`, t0); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want the query to give up with its context", err)
	}
	release()
	if v, err := s.InstantQuery(context.Background(), `ftd_cpu_utilisation`, t0); err != nil || len(v) != 1 {
		t.Fatalf("after the slot is free: %v %v", v, err)
	}
}

func TestConcurrentAppendersShareSeries(t *testing.T) {
	s := openTest(t, Options{})
	const writers, rounds = 4, 50
	errs := make(chan error, writers)
	for w := range writers {
		go func() {
			for r := range rounds {
				// Every writer touches the same 20 series, each writer at
				// its own timestamps.
				batch := make([]model.Sample, 0, 20)
				for d := range 20 {
					batch = append(batch, cpu("fw"+strconv.Itoa(d), t0.Add(time.Duration(r*writers+w)*time.Second), 1))
				}
				res, err := s.Append(context.Background(), batch)
				if err == nil && res.Rejected != 0 {
					err = res.FirstError
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range writers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	v, err := s.InstantQuery(context.Background(), `sum(count_over_time(ftd_cpu_utilisation[2h]))`, t0.Add(time.Hour))
	if err != nil || len(v) != 1 || v[0].F != writers*rounds*20 {
		t.Fatalf("got %v %v, want %d samples", v, err, writers*rounds*20)
	}
}

func TestCatalogFollowsKindAndFirstHelp(t *testing.T) {
	s := openTest(t, Options{})
	m := cpu("fw1", t0, 1)
	m.Kind, m.Help = model.KindUnknown, ""
	mustAppend(t, s, m)
	if got, _ := s.Metric(m.Name); got.Kind != model.KindUnknown || got.Family != "cpu" {
		t.Fatalf("first sight: %+v", got)
	}
	m.TimestampMs += 60_000
	m.Kind, m.Help = model.KindGauge, "CPU"
	mustAppend(t, s, m)
	// A later sample without kind or help does not erase them.
	m.TimestampMs += 60_000
	m.Kind, m.Help = model.KindUnknown, ""
	mustAppend(t, s, m)
	if got, _ := s.Metric(m.Name); got.Kind != model.KindGauge || got.Help != "CPU" {
		t.Fatalf("after kind and help arrived: %+v", got)
	}
}
