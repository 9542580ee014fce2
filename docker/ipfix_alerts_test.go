package docker

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/netlens/netlens/docker/demotest"
	ipfixrcv "github.com/netlens/netlens/pkg/ingest/ipfix"
	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/query"
	"github.com/netlens/netlens/pkg/sim/ipfixsim"
)

const ipfixRulesFile = "provisioning/alerting/netlens-ipfix.yaml"

// ipfixHealthSeries is what the IPFIX receiver writes about its exporters,
// with each series' kind; the IPFIX rules may only query these.
var ipfixHealthSeries = map[string]string{
	ipfixrcv.SeriesRecords:      "counter",
	ipfixrcv.SeriesBytes:        "counter",
	ipfixrcv.SeriesLostRecords:  "counter",
	ipfixrcv.SeriesLostPackets:  "counter",
	ipfixrcv.SeriesDrops:        "counter",
	ipfixrcv.SeriesReceiverDrop: "counter",
	ipfixrcv.SeriesTemplates:    "gauge",
	ipfixrcv.SeriesHeldSets:     "gauge",
	ipfixrcv.SeriesSilence:      "gauge",
}

// ipfixRule is one provisioned IPFIX rule as the tests evaluate it: its
// query A, and the threshold C applies to B, the last value of each series.
type ipfixRule struct {
	title     string
	a         json.RawMessage
	rangeFrom time.Duration
	threshold float64
}

func readIPFIXRules(t *testing.T) map[string]ipfixRule {
	t.Helper()
	var f demotest.RuleFile
	demotest.ReadYAML(t, ipfixRulesFile, &f)
	if len(f.Groups) != 1 {
		t.Fatalf("%d groups in %s", len(f.Groups), ipfixRulesFile)
	}
	out := map[string]ipfixRule{}
	for _, r := range f.Groups[0].Rules {
		a, th := demotest.ThresholdRule(t, r.Title, r.Condition, "last", r.Data)
		raw, err := json.Marshal(a.Model)
		if err != nil {
			t.Fatal(err)
		}
		out[r.Title] = ipfixRule{title: r.Title, a: raw, rangeFrom: time.Duration(a.RelativeTimeRange.From) * time.Second, threshold: th}
	}
	return out
}

const (
	ruleLosing = "IPFIX exporter losing records"
	ruleSilent = "IPFIX exporter silent"
)

// The two IPFIX rules: their own group, severity warning, no contact point,
// queries that fit the query model and read only the receiver's health
// series, one instance per device.
func TestIPFIXAlertRulesAreProvisioned(t *testing.T) {
	var f demotest.RuleFile
	demotest.ReadYAML(t, ipfixRulesFile, &f)
	var loose struct {
		Groups []struct {
			Rules []map[string]any `yaml:"rules"`
		} `yaml:"groups"`
	}
	demotest.ReadYAML(t, ipfixRulesFile, &loose)
	if len(f.Groups) != 1 || f.Groups[0].Name != "netlens-ipfix" || f.Groups[0].Folder != "Netlens" || f.Groups[0].Interval == "" {
		t.Fatalf("groups %+v, want one netlens-ipfix group in the Netlens folder", f.Groups)
	}
	var titles []string
	for i, r := range f.Groups[0].Rules {
		titles = append(titles, r.Title)
		if r.Labels["severity"] != "warning" || len(r.Labels) != 1 {
			t.Errorf("%s: labels %v", r.Title, r.Labels)
		}
		if _, set := loose.Groups[0].Rules[i]["notification_settings"]; set {
			t.Errorf("%s names a contact point", r.Title)
		}
	}
	slices.Sort(titles)
	if !slices.Equal(titles, []string{ruleLosing, ruleSilent}) {
		t.Fatalf("rules %v", titles)
	}

	rules := readIPFIXRules(t)
	for _, title := range titles {
		r := rules[title]
		q, err := decodeTarget(r.a)
		if err != nil {
			t.Fatalf("%s: A: %v", title, err)
		}
		if q.Source != "ipfix" || q.Kind != query.KindSeries || q.EditorMode != query.ModeCode || !q.Instant {
			t.Errorf("%s: A is source %q kind %q mode %q instant %v", title, q.Source, q.Kind, q.EditorMode, q.Instant)
		}
		expr, err := parser.NewParser(parser.Options{}).ParseExpr(q.Expr)
		if err != nil {
			t.Fatalf("%s: %s: %v", title, q.Expr, err)
		}
		var names []string
		parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
			switch n := n.(type) {
			case *parser.VectorSelector:
				if _, ok := ipfixHealthSeries[n.Name]; !ok {
					t.Errorf("%s: %s is not an IPFIX health series", title, n.Name)
				}
				names = append(names, n.Name)
			case *parser.AggregateExpr:
				if n.Without || !slices.Equal(n.Grouping, []string{"device"}) {
					t.Errorf("%s: %s does not aggregate by device", title, q.Expr)
				}
			}
			return nil
		})
		switch title {
		case ruleLosing:
			if !slices.Contains(names, ipfixrcv.SeriesLostRecords) || r.threshold != 0 || r.rangeFrom < 5*time.Minute {
				t.Errorf("%s: %s > %v", title, q.Expr, r.threshold)
			}
		case ruleSilent:
			if !slices.Equal(names, []string{ipfixrcv.SeriesSilence}) || r.threshold != 300 {
				t.Errorf("%s: %s > %v", title, q.Expr, r.threshold)
			}
		}
	}
}

// evaluate runs a rule as Grafana does (A, then the last value of each
// series, then the threshold) and returns each device's last value and
// whether its instance fires.
func (r ipfixRule) evaluate(t *testing.T, frames []*data.Field) map[string]ruleState {
	t.Helper()
	out := map[string]ruleState{}
	for _, f := range frames {
		dev := f.Labels["device"]
		if _, dup := out[dev]; dup || dev == "" {
			t.Errorf("%s: series %v: a second one for its device, or none", r.title, f.Labels)
			continue
		}
		last := math.NaN()
		for i := range f.Len() {
			if v, ok := f.ConcreteAt(i); ok && v != nil {
				switch x := v.(type) {
				case float64:
					if !math.IsNaN(x) {
						last = x
					}
				}
			}
		}
		out[dev] = ruleState{value: last, firing: last > r.threshold}
	}
	return out
}

type ruleState struct {
	value  float64
	firing bool
}

// Against a store holding a lossy, a silent and a healthy exporter's
// health series, the rules fire for the first two and only for them.
func TestIPFIXAlertRulesFireOnLossAndSilence(t *testing.T) {
	now := time.Now()
	var samples []model.Sample
	put := func(name, device string, kind model.Kind, agoSeconds int, v float64) {
		samples = append(samples, model.Sample{Name: name, Labels: model.LabelsFromPairs("device", device),
			TimestampMs: now.Add(-time.Duration(agoSeconds) * time.Second).UnixMilli(), Value: v, Kind: kind})
	}
	for _, ago := range []int{120, 110, 100, 90, 80, 70, 60, 50, 40, 30, 20, 10} {
		lossy := 0.0
		if ago <= 40 {
			lossy = 7
		}
		put(ipfixrcv.SeriesLostRecords, "192.0.2.1/0", model.KindCounter, ago, lossy)
		put(ipfixrcv.SeriesLostRecords, "192.0.2.2/0", model.KindCounter, ago, 3) // lost before these 5 minutes
		put(ipfixrcv.SeriesLostRecords, "192.0.2.3/0", model.KindCounter, ago, 0)
		put(ipfixrcv.SeriesLostPackets, "192.0.2.1/0", model.KindCounter, ago, 0)
		put(ipfixrcv.SeriesLostPackets, "192.0.2.2/0", model.KindCounter, ago, 0)
		put(ipfixrcv.SeriesLostPackets, "192.0.2.3/0", model.KindCounter, ago, float64(min(2, 120-ago))) // NetFlow v9
		put(ipfixrcv.SeriesSilence, "192.0.2.1/0", model.KindGauge, ago, 0)
		put(ipfixrcv.SeriesSilence, "192.0.2.2/0", model.KindGauge, ago, float64(400-ago))
		put(ipfixrcv.SeriesSilence, "192.0.2.3/0", model.KindGauge, ago, 5)
	}
	st := demotest.StoreWith(t, samples)

	rules := readIPFIXRules(t)
	for title, want := range map[string]map[string]bool{
		ruleLosing: {"192.0.2.1/0": true, "192.0.2.2/0": false, "192.0.2.3/0": true},
		ruleSilent: {"192.0.2.1/0": false, "192.0.2.2/0": true, "192.0.2.3/0": false},
	} {
		r := rules[title]
		q, err := decodeTarget(r.a)
		if err != nil {
			t.Fatal(err)
		}
		frames, err := query.Execute(context.Background(), st, q.Query, backend.TimeRange{From: now.Add(-r.rangeFrom), To: now}, 15*time.Second, 43200)
		if err != nil {
			t.Fatalf("%s: %v", title, err)
		}
		got := r.evaluate(t, valueFields(frames))
		if len(got) != len(want) {
			t.Errorf("%s: instances %v, want %v", title, got, want)
		}
		for dev, firing := range want {
			if s, ok := got[dev]; !ok || s.firing != firing {
				t.Errorf("%s: %s is %+v, want firing %v", title, dev, s, firing)
			}
		}
	}
}

// The rules against the demo collector fed by the compose ipfix-sim
// exporters: each rule gives one series per simulated exporter, and
// neither fires for a healthy demo.
func TestIPFIXAlertQueriesGiveOneSeriesPerSimulatedExporter(t *testing.T) {
	srv, _ := startCollector(t)
	rcv, ok := srv.IPFIX.(interface{ UDPAddr() net.Addr })
	if !ok || rcv.UDPAddr() == nil {
		t.Fatal("the IPFIX receiver has no UDP listener")
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	var devices []string
	var exps []*ipfixsim.Exporter
	for _, c := range simConfigs(t, ipfixSimCommand(t), rcv.UDPAddr().String(), 1) {
		c.Count = 0 // send until the test ends, as the demo does
		e, err := ipfixsim.New(c)
		if err != nil {
			t.Fatal(err)
		}
		exps = append(exps, e)
		devices = append(devices, fmt.Sprintf("127.0.0.1/%d", c.ODID))
	}
	for _, e := range exps {
		wg.Go(func() { e.Run(ctx) })
	}
	slices.Sort(devices)

	// increase() needs two samples of each device's counter; health is
	// written every 10 s.
	deadline := time.Now().Add(40 * time.Second)
	for {
		v, err := srv.Store.InstantQuery(context.Background(), "count_over_time("+ipfixrcv.SeriesLostRecords+"[1m]) >= 2", time.Now())
		if err == nil && len(v) == len(devices) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("two health writes for each of %v did not come: %v %v", devices, v, err)
		}
		time.Sleep(200 * time.Millisecond)
	}

	d := &demo{ds: demotest.NewDatasource(t, srv)}
	for title, r := range readIPFIXRules(t) {
		end := time.Now()
		res := d.query(t, r.a, end.Add(-r.rangeFrom), end, 15*time.Second)
		if res.Error != nil {
			t.Fatalf("%s: %v", title, res.Error)
		}
		got := r.evaluate(t, valueFields(res.Frames))
		var seen []string
		for dev, s := range got {
			seen = append(seen, dev)
			if s.firing || math.IsNaN(s.value) {
				t.Errorf("%s: %s is %v, firing %v, for a healthy demo exporter", title, dev, s.value, s.firing)
			}
		}
		slices.Sort(seen)
		if !slices.Equal(seen, devices) {
			t.Errorf("%s: instances %v, want one per simulated exporter %v", title, seen, devices)
		}
	}
	for _, e := range exps {
		if tot := e.Totals(); tot.Errors > 0 {
			t.Errorf("a simulated exporter failed: %s", tot.LastError)
		}
	}
}
