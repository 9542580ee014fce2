package query

import (
	"strings"
	"testing"
	"time"
)

func TestBuildPromQL(t *testing.T) {
	// A 5-minute dashboard at 15 s per point: FTD's 60 s stream makes the
	// rate window 4 minutes, not 15 s.
	vars := Vars{Interval: 15 * time.Second, Range: 6 * time.Hour}
	for _, tc := range []struct {
		name string
		q    Query
		want string
	}{
		{"metric only", Query{Metric: "ftd_cpu_utilisation"}, `ftd_cpu_utilisation`},
		{"matchers of each kind",
			Query{Metric: "ftd_cpu_utilisation", Matchers: []Matcher{
				{Label: "device", Op: "=", Value: "fw1"},
				{Label: "core", Op: "!=", Value: "0"},
				{Label: "hostname", Op: "=~", Value: "edge-.*"},
				{Label: "site", Op: "!~", Value: "lab|test"},
			}},
			`ftd_cpu_utilisation{core!="0",device="fw1",hostname=~"edge-.*",site!~"lab|test"}`},
		{"values are escaped, not spliced",
			Query{Metric: "m", Matchers: []Matcher{{Label: "descr", Op: "=", Value: `a "quoted" \ value` + "\n"}}},
			`m{descr="a \"quoted\" \\ value\n"}`},
		{"rate uses the rate interval",
			Query{Metric: "ftd_interface_bytes_in", Rate: true},
			`rate(ftd_interface_bytes_in[4m])`},
		{"aggregation with group by",
			Query{Metric: "ftd_interface_bytes_in", Rate: true, Aggregation: "sum", GroupBy: []string{"device", "interface"}},
			`sum by (device, interface) (rate(ftd_interface_bytes_in[4m]))`},
		{"aggregation without group by",
			Query{Metric: "ftd_cpu_utilisation", Aggregation: "max"},
			`max(ftd_cpu_utilisation)`},
		{"ad-hoc filters narrow the builder's selector",
			Query{Metric: "m", Rate: true, AdhocFilters: []Matcher{{Label: "device", Op: "=", Value: "fw1"}}},
			`rate(m{device="fw1"}[4m])`},
		{"code mode substitutes Grafana's variables",
			Query{EditorMode: ModeCode, Expr: `rate(m[$__rate_interval]) * $__interval_ms / ${__interval_ms} + $__range_s + avg_over_time(m[$__range]) + m offset $__interval`},
			`rate(m[4m]) * 15000 / 15000 + 21600 + avg_over_time(m[6h]) + m offset 15s`},
		{"code mode: ad-hoc filters reach every selector, inside functions and subqueries",
			Query{EditorMode: ModeCode, Expr: `sum by (device) (rate(a[5m])) / on (device) group_left max_over_time(b{x="1"}[1h:1m])`,
				AdhocFilters: []Matcher{{Label: "site", Op: "=~", Value: "par.*"}}},
			`sum by (device) (rate(a{site=~"par.*"}[5m])) / on (device) group_left () max_over_time(b{site=~"par.*",x="1"}[1h:1m])`},
		{"code mode keeps what needs no rewriting",
			Query{EditorMode: ModeCode, Expr: `  up  `},
			`up`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := BuildPromQL(tc.q, vars)
			if err != nil {
				t.Fatalf("error: %v", err)
			}
			if got != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestBuildPromQLErrors(t *testing.T) {
	vars := Vars{Interval: time.Minute}
	for _, tc := range []struct {
		name string
		q    Query
		want string // part of the error
	}{
		{"no metric", Query{}, "choose a metric"},
		{"metric name with a brace", Query{Metric: `m{a="b"}`}, "not a metric name"},
		{"label name injection", Query{Metric: "m", Matchers: []Matcher{{Label: `a="1"} or vector(1) #`, Op: "=", Value: "x"}}}, "not a label name"},
		{"unknown operator", Query{Metric: "m", Matchers: []Matcher{{Label: "a", Op: "==", Value: "x"}}}, `operator "=="`},
		{"bad regex", Query{Metric: "m", Matchers: []Matcher{{Label: "a", Op: "=~", Value: "("}}}, "bad regular expression"},
		{"unknown aggregation", Query{Metric: "m", Aggregation: "median"}, "unknown aggregation"},
		{"group by without aggregation", Query{Metric: "m", GroupBy: []string{"a"}}, "needs an aggregation"},
		{"group by a non-label", Query{Metric: "m", Aggregation: "sum", GroupBy: []string{"a b"}}, "not a label name"},
		{"bad ad-hoc filter", Query{Metric: "m", AdhocFilters: []Matcher{{Label: "a", Op: "<", Value: "1"}}}, "ad-hoc filter"},
		{"empty code", Query{EditorMode: ModeCode, Expr: "  "}, "empty"},
		{"unknown mode", Query{EditorMode: "sql"}, "unknown editor mode"},
		{"syntax error points at the position",
			Query{EditorMode: ModeCode, Expr: "sum(rate(m[5m])\n  by (device)"},
			"line 2, column"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := BuildPromQL(tc.q, vars)
			if err == nil {
				t.Fatalf("got %q, want an error containing %q", got, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestSyntaxErrorShowsTheLineAndACaret(t *testing.T) {
	_, err := BuildPromQL(Query{EditorMode: ModeCode, Expr: `rate(m[5m]) +* 2`}, Vars{})
	if err == nil {
		t.Fatal("want a syntax error")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 3 || lines[1] != `rate(m[5m]) +* 2` {
		t.Fatalf("error %q: want message, source line, caret line", err)
	}
	col := strings.Index(lines[2], "^")
	if col < 12 || col > 14 {
		t.Fatalf("caret at %d under %q, want it near the '*' at 13:\n%s", col, lines[1], err)
	}
}

func TestRateInterval(t *testing.T) {
	for _, tc := range []struct {
		v    Vars
		want time.Duration
	}{
		{Vars{Interval: 15 * time.Second}, 4 * time.Minute},                               // FTD default: 4 x 60 s
		{Vars{Interval: 10 * time.Minute}, 10 * time.Minute},                              // long ranges: one interval
		{Vars{Interval: time.Second, ScrapeInterval: 10 * time.Second}, 40 * time.Second}, // faster streams
		{Vars{Interval: time.Second, ScrapeInterval: time.Second}, MinRateInterval},       // floor
		{Vars{Interval: 2 * time.Minute, ScrapeInterval: 10 * time.Second}, 2 * time.Minute},
	} {
		if got := tc.v.RateInterval(); got != tc.want {
			t.Errorf("%+v: rate interval %s, want %s", tc.v, got, tc.want)
		}
	}
}

func TestPromDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", 1500 * time.Millisecond: "1500ms", 90 * time.Second: "90s", 2 * time.Minute: "2m",
		3 * time.Hour: "3h", 90 * time.Minute: "90m", 1234567 * time.Nanosecond: "1ms",
	} {
		if got := promDuration(d); got != want {
			t.Errorf("promDuration(%s) = %q, want %q", d, got, want)
		}
	}
}

func FuzzBuildPromQLCode(f *testing.F) {
	for _, s := range []string{`rate(m[$__rate_interval])`, `sum by (a) (m{b=~"x.*"})`, `m offset $__interval`, `(`, `{__name__="x"}`} {
		f.Add(s, "device", "fw1")
	}
	f.Fuzz(func(t *testing.T, expr, label, value string) {
		q := Query{EditorMode: ModeCode, Expr: expr, AdhocFilters: []Matcher{{Label: label, Op: "=", Value: value}}}
		out, err := BuildPromQL(q, Vars{Interval: time.Minute, Range: time.Hour})
		if err != nil {
			return
		}
		// Whatever we print must parse again: the store runs it.
		if _, err := promqlParser.ParseExpr(out); err != nil {
			t.Fatalf("printed %q does not parse: %v", out, err)
		}
	})
}

// IPFIX volume counters arrive every 10 s, so their rate windows can be
// shorter than FTD's and panels follow traffic changes sooner.
func TestRateIntervalFollowsTheSource(t *testing.T) {
	q := Query{Source: "ipfix", EditorMode: ModeCode, Expr: "rate(ipfix_bytes_total[$__rate_interval])"}
	got, err := BuildPromQL(q, Vars{Interval: 5 * time.Second, ScrapeInterval: ScrapeIntervalOf(q.Source)})
	if err != nil {
		t.Fatal(err)
	}
	if got != "rate(ipfix_bytes_total[40s])" {
		t.Errorf("ipfix: %s", got)
	}
	if d := ScrapeIntervalOf("ftd"); d != DefaultScrapeInterval {
		t.Errorf("ftd scrape interval %s", d)
	}
	// XR groups commonly send every 30 s: a two-minute window holds four.
	xr := Query{Source: "xr", Metric: "xr_generic_counters_bytes_received", Rate: true}
	got, err = BuildPromQL(xr, Vars{Interval: 5 * time.Second, ScrapeInterval: ScrapeIntervalOf(xr.Source)})
	if err != nil {
		t.Fatal(err)
	}
	if got != "rate(xr_generic_counters_bytes_received[2m])" {
		t.Errorf("xr: %s", got)
	}
}
