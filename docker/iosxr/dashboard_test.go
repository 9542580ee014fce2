// Package iosxr checks the provisioned IOS XR dashboard end to end: the
// collector configured from the image's grafana.ini, fed by the compose
// file's simulated routers, and every target of every panel asked as
// Grafana asks it. It sits apart from package docker so each package's
// tests stay within their time budget on a two-core machine.
package iosxr

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/netlens/netlens/docker/demotest"
	"github.com/netlens/netlens/pkg/plugin"
	"github.com/netlens/netlens/pkg/query"
	"github.com/netlens/netlens/pkg/server"
	"github.com/netlens/netlens/pkg/sim/xrsim"
)

const dashboardFile = "src/dashboards/ios-xr.json"

// startCollector starts the process scope with the image's settings: XR
// on loopback ports of the OS' choosing, its policy and proto folders the
// repository's (the image copies provisioning/ in), the other receivers
// off (their own tests run them).
func startCollector(t *testing.T) *server.Server {
	t.Helper()
	keys := demotest.ImageKeys(t)
	keys["data_dir"] = t.TempDir()
	for _, k := range []string{"ftd_listen_address", "ipfix_udp_listen_address", "ipfix_tcp_listen_address", "int_udp_listen_address"} {
		keys[k] = "off"
	}
	for _, k := range []string{"xr_tcp_listen_address", "xr_udp_listen_address", "xr_grpc_listen_address"} {
		keys[k] = "127.0.0.1:0"
	}
	for _, k := range []string{"xr_policy_dir", "xr_proto_dir"} {
		local, ok := demotest.Provisioned(t, keys[k])
		if !ok {
			t.Fatalf("%s = %q is not under /etc/grafana/provisioning", k, keys[k])
		}
		keys[k] = local
	}
	srv := demotest.StartCollector(t, keys, 2*time.Second)
	if srv.XR == nil {
		t.Fatalf("collector did not start: %v", srv.Problems)
	}
	return srv
}

// listener is where a receiver of the collector listens.
func listener(t *testing.T, srv *server.Server, name string) string {
	t.Helper()
	for _, l := range srv.Board.Snapshot().Listeners {
		if l.Name == name && l.Error == "" {
			return l.Bound
		}
	}
	t.Fatalf("no %s listener: %+v", name, srv.Board.Snapshot().Listeners)
	return ""
}

// composeRouters reads the compose file's xr-sim services into router
// configurations the way netlens-sim xr reads its flags (one router each,
// named -name plus 1), aimed at the collector's loopback listeners, each
// from an address of its own as the compose services' containers are. A
// flag this test does not know fails it rather than being left out.
func composeRouters(t *testing.T, srv *server.Server) []xrsim.Config {
	t.Helper()
	services := demotest.ComposeServices(t)
	var out []xrsim.Config
	for _, name := range slices.Sorted(maps.Keys(services)) {
		cmd := services[name].Command
		if len(cmd) == 0 || cmd[0] != "xr" {
			continue
		}
		cfg := xrsim.Config{Transport: "tcp", Encoding: xrsim.EncJSON}
		suffix := "1"
		for _, f := range demotest.Flags(name, cmd[1:]) {
			switch f.Name {
			case "target", "stats":
			case "generation":
				cfg.Generation = map[string]xrsim.Generation{"pdt": xrsim.GenPDT, "mdt": xrsim.GenMDT}[f.Value]
			case "encoding":
				cfg.Encoding = f.Value
			case "transport":
				cfg.Transport = f.Value
			case "zlib":
				cfg.Zlib = true
			case "reset-every":
				cfg.ResetEvery = f.Int(t)
			case "name":
				cfg.Name = f.Value + suffix
			case "interfaces":
				cfg.Interfaces = f.Int(t)
			case "neighbors":
				cfg.Neighbors = f.Int(t)
			case "seed":
				cfg.Seed = uint64(f.Int(t))
			default:
				t.Fatalf("%s: flag %s: this test does not know how netlens-sim reads it", name, f.Arg)
			}
		}
		switch cfg.Transport {
		case "udp":
			cfg.Target = listener(t, srv, "xr-udp")
		case "grpc":
			cfg.Target = listener(t, srv, "xr-grpc")
		default:
			cfg.Target = listener(t, srv, "xr-tcp")
		}
		if cfg.Transport != "grpc" {
			cfg.LocalAddr = fmt.Sprintf("127.0.0.%d:0", 20+len(out))
		}
		out = append(out, cfg)
	}
	if len(out) == 0 {
		t.Fatal("docker-compose.yaml has no xr-sim service")
	}
	return out
}

// rounds is how many times each router sends every path of the demo
// policy, at messagesPerSecond: enough samples in the dashboard's rate
// window for rate() on every counter.
const (
	rounds            = 8
	messagesPerSecond = 15
)

// vars holds the multi-value variables at "All": every value the
// variable's query lists.
type vars map[string][]string

// escapeRegexInString is the data source's escapeRegexInString: a literal
// as a regex, inside a PromQL string.
func escapeRegexInString(s string) string {
	return strings.ReplaceAll(regexp.QuoteMeta(s), `\`, `\\`)
}

func regexAlt(vals []string, escape func(string) string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = escape(v)
	}
	if len(q) == 1 {
		return q[0]
	}
	return "(" + strings.Join(q, "|") + ")"
}

// interpolate does what the data source's applyTemplateVariables does.
func (v vars) interpolate(t *testing.T, q query.Query) query.Query {
	t.Helper()
	for name, vals := range v {
		ref := "$" + name
		q.Expr = strings.ReplaceAll(q.Expr, ref, regexAlt(vals, escapeRegexInString))
		for i, m := range q.Matchers {
			if strings.Contains(m.Value, ref) {
				if m.Op != "=~" && m.Op != "!~" {
					t.Fatalf("matcher %+v: this test interpolates regex matchers only", m)
				}
				q.Matchers[i].Value = strings.ReplaceAll(m.Value, ref, regexAlt(vals, regexp.QuoteMeta))
			}
		}
		for i, f := range q.Filters {
			var out []string
			for _, x := range f.Values {
				if x == ref {
					out = append(out, vals...)
				} else if strings.Contains(x, ref) {
					t.Fatalf("filter value %q: a variable inside a value", x)
				} else {
					out = append(out, x)
				}
			}
			q.Filters[i].Values = out
		}
	}
	if m := regexp.MustCompile(`\$\{?[a-z]`).FindString(q.Expr + fmt.Sprint(q.Matchers, q.Filters, q.GroupBy, q.Columns)); m != "" {
		t.Fatalf("query %+v still holds a variable (%s)", q, m)
	}
	return q
}

// demo is the collector with what the routers sent.
type demo struct {
	srv     *server.Server
	ds      *plugin.Datasource
	routers []*xrsim.Router
	totals  xrsim.Totals
	tr      backend.TimeRange
}

func (d *demo) run(t *testing.T, q query.Query) backend.DataResponse {
	t.Helper()
	return demotest.Query(t, d.ds, q, d.tr, demotest.PanelInterval, demotest.PanelMaxDataPoints)
}

func (d *demo) resource(t *testing.T, path string, params url.Values, out any) {
	t.Helper()
	demotest.Resource(t, d.ds, path, params, out)
}

func startDemo(t *testing.T) *demo {
	t.Helper()
	srv := startCollector(t)
	d := &demo{srv: srv, totals: xrsim.Totals{}}
	for _, c := range composeRouters(t, srv) {
		c.Rate = messagesPerSecond
		c.Count = uint64(rounds * len(xrsim.Paths))
		r, err := xrsim.New(c)
		if err != nil {
			t.Fatal(err)
		}
		d.routers = append(d.routers, r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, r := range d.routers {
		wg.Go(func() { r.Run(ctx) })
	}
	wg.Wait()
	sent := map[string]uint64{}
	for _, r := range d.routers {
		tot := r.Totals()
		// UDP counts datagrams, and a table may end a datagram past Count.
		if tot.Errors > 0 || tot.Messages < r.Config().Count {
			t.Fatalf("router %s sent %d of %d messages, %d errors (%s)", r.Config().Name, tot.Messages, r.Config().Count, tot.Errors, tot.LastError)
		}
		sent[r.Config().Name] = tot.Messages
		d.totals.Add(tot)
	}

	// Every message decoded, and the router health series written twice
	// with the final count (the receiver writes them every 10 s), so the
	// health panels' rates have two samples.
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok := true
		for dev, n := range sent {
			sel := fmt.Sprintf(`xr_router_messages_total{device=%q}`, dev)
			last, err1 := srv.Store.InstantQuery(context.Background(), sel, time.Now())
			count, err2 := srv.Store.InstantQuery(context.Background(), "count_over_time("+sel+"[5m])", time.Now())
			ok = ok && err1 == nil && err2 == nil && len(last) == 1 && last[0].F == float64(n) && len(count) == 1 && count[0].F >= 2
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("health series not written for %v; routers %+v", sent, srv.XR.Routers())
		}
		time.Sleep(250 * time.Millisecond)
	}
	d.ds = demotest.NewDatasource(t, srv)
	d.tr = demotest.LastHour(time.Now())
	return d
}

// groupKey is a label set (or a row's group) as "a=x,b=y"; names nil
// means every label (a query without aggregation keeps them all).
func groupKey(labels map[string]string, names []string) string {
	if names == nil {
		names = slices.Sorted(maps.Keys(labels))
	}
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = n + "=" + labels[n]
	}
	return strings.Join(parts, ",")
}

var (
	metricInExpr = regexp.MustCompile(`\b(xr_[a-z0-9_]+)\{`)
	byInExpr     = regexp.MustCompile(`by \(([^)]*)\)`)
)

// rateWords are the counters that move between any two messages (traffic
// on every interface, messages from every router): their rates must show
// somewhere above zero. BGP message counters move with keepalives, once
// a minute, and may well stand still during the test.
var rateWords = regexp.MustCompile(`^xr_generic_counters_(bytes|packets)_(received|sent)$|^xr_router_messages_total$`)

// expectedSeries lists the groups a series target must draw: for the
// routers' own metrics every group of what they sent, for the receiver's
// health series one per router (no drops: the simulated routers send
// nothing to drop) or one per group of the provisioned policy.
func (d *demo) expectedSeries(t *testing.T, metric string, by []string, keep func(map[string]string) bool) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	if by == nil {
		switch metric {
		case "xr_router_messages_total", "xr_router_bytes_total", "xr_router_silence_seconds":
			by = []string{"device"}
		case "xr_group_silence_seconds":
			by = []string{"group", "policy"}
		}
	}
	switch metric {
	case "xr_router_messages_total", "xr_router_bytes_total", "xr_router_silence_seconds":
		for _, r := range d.routers {
			out[groupKey(map[string]string{"device": r.Config().Name}, by)] = true
		}
	case "xr_router_drops_total":
	case "xr_group_silence_seconds":
		for _, g := range xrsim.Demo().Groups {
			out[groupKey(map[string]string{"policy": xrsim.Demo().Name, "group": g.Name}, by)] = true
		}
	default:
		for _, sv := range d.totals.Series {
			if sv.Metric == metric && keep(sv.Labels) {
				out[groupKey(sv.Labels, by)] = true
			}
		}
		if len(out) == 0 {
			t.Fatalf("no simulated router sends %s", metric)
		}
	}
	return out
}

func (d *demo) checkSeries(t *testing.T, where string, q query.Query, v vars) {
	metric, by := q.Metric, q.GroupBy
	if q.EditorMode == query.ModeCode {
		m := metricInExpr.FindStringSubmatch(q.Expr)
		b := byInExpr.FindStringSubmatch(q.Expr)
		if m == nil || b == nil {
			t.Fatalf("%s: this test reads code-mode targets of the form sum by (...) (f(xr_metric{...})): %s", where, q.Expr)
		}
		metric = m[1]
		by = strings.Split(strings.ReplaceAll(b[1], " ", ""), ",")
	}
	if q.Aggregation == "" && q.EditorMode != query.ModeCode {
		by = nil // every series on its own
	}
	routers, interfaces := v["router"], v["interface"]
	keep := func(l map[string]string) bool {
		if _, ok := l["interface_name"]; ok && !slices.Contains(interfaces, l["interface_name"]) {
			return false
		}
		return slices.Contains(routers, l["device"])
	}
	want := d.expectedSeries(t, metric, by, keep)
	r := d.run(t, v.interpolate(t, q))
	if r.Error != nil {
		t.Errorf("%s: %v", where, r.Error)
		return
	}
	// Without rate, the last point of each group is what the routers sent
	// last, aggregated as the target says.
	lastWant := map[string]float64{}
	if !q.Rate && q.EditorMode != query.ModeCode && !strings.HasPrefix(metric, "xr_router_") && !strings.HasPrefix(metric, "xr_group_") {
		for _, sv := range d.totals.Series {
			if sv.Metric != metric || !keep(sv.Labels) {
				continue
			}
			k := groupKey(sv.Labels, by)
			cur, seen := lastWant[k]
			switch {
			case !seen:
				lastWant[k] = sv.Value
			case q.Aggregation == "max":
				lastWant[k] = max(cur, sv.Value)
			case q.Aggregation == "min":
				lastWant[k] = min(cur, sv.Value)
			case q.Aggregation == "sum":
				lastWant[k] = cur + sv.Value
			default:
				t.Fatalf("%s: aggregation %q: this test does not compute it", where, q.Aggregation)
			}
		}
	}
	got := map[string]bool{}
	positive := false
	for _, f := range r.Frames {
		for _, fl := range f.Fields {
			if fl.Type().Time() || fl.Len() == 0 {
				continue
			}
			k := groupKey(fl.Labels, by)
			got[k] = true
			if w, ok := lastWant[k]; ok {
				if last, _ := fl.ConcreteAt(fl.Len() - 1); last != w {
					t.Errorf("%s: %s ends at %v, the routers last sent %v", where, k, last, w)
				}
			}
			for i := range fl.Len() {
				x, ok := fl.ConcreteAt(i)
				if !ok {
					continue
				}
				if f := x.(float64); math.IsNaN(f) || f < 0 {
					t.Errorf("%s: %s has %v", where, fl.Labels, f)
				} else if f > 0 {
					positive = true
				}
			}
		}
	}
	if !maps.Equal(got, want) {
		t.Errorf("%s: %s by %v drew %v; want %v", where, metric, by, slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}
	if rateWords.MatchString(metric) && len(want) > 0 && !positive {
		t.Errorf("%s: %s is flat although the routers' counters moved", where, metric)
	}
}

// statePaths are the paths a records target's path filter stands for: a
// policy path stands for its compact schema spelling too, since a router
// sending compact GPB names its tables so. A target may name more
// spellings than the simulated routers send (another YANG model of the
// same data, as other releases have it); at least one must be theirs.
func statePaths(t *testing.T, where string, values []string) []string {
	var out []string
	for _, v := range values {
		p := xrsim.PathByID(v)
		if p == nil {
			continue
		}
		if v == p.MDT {
			out = append(out, p.MDT)
		} else {
			out = append(out, p.PDT, p.Schema)
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no path of %v is one the simulated routers send", where, values)
	}
	return out
}

// checkRecords checks an xr_state target: the routers, keys and leaves it
// selects are those the routers sent, and the value each sent last is
// there (raw rows: as the newest row of its key; grouped: as a group).
func (d *demo) checkRecords(t *testing.T, where string, q query.Query, v vars) {
	q = v.interpolate(t, q)
	var paths, leaves, devices []string
	for _, f := range q.Filters {
		switch f.Field {
		case "path":
			paths = statePaths(t, where, f.Values)
		case "leaf":
			leaves = f.Values
		case "device":
			devices = f.Values
		case "interface_name":
		default:
			t.Fatalf("%s: filter on %s: this test does not know it", where, f.Field)
		}
	}
	filterValues := func(field string) []string {
		for _, f := range q.Filters {
			if f.Field == field {
				return f.Values
			}
		}
		return nil
	}
	r := d.run(t, q)
	if r.Error != nil || len(r.Frames) != 1 {
		t.Errorf("%s: %v (%d frames)", where, r.Error, len(r.Frames))
		return
	}
	f := r.Frames[0]
	col := func(name string) *data.Field {
		for _, fl := range f.Fields {
			if fl.Name == name {
				return fl
			}
		}
		return nil
	}
	cell := func(fl *data.Field, i int) string {
		if fl == nil {
			return ""
		}
		x, ok := fl.ConcreteAt(i)
		if !ok {
			return ""
		}
		return fmt.Sprint(x)
	}
	// The key column is the one grouped by or asked for besides the fixed ones.
	names := q.Columns
	if len(q.Aggregates) > 0 {
		names = q.GroupBy
	}
	var keyCol string
	for _, n := range names {
		if !slices.Contains([]string{"time", "device", "path", "policy", "subscription", "leaf", "value"}, n) {
			keyCol = n
		}
	}
	// Rows are told apart by router and key, and by leaf when the target
	// shows it (a target without it filters one leaf in its two spellings).
	dev, key, leaf, val := col("device"), col(keyCol), col("leaf"), col("value")
	rowKey := func(device, k, l string) string {
		if leaf == nil {
			return device + "|" + k
		}
		return device + "|" + k + "|" + l
	}
	want := map[string]string{} // row key → last value sent
	for _, sv := range d.totals.States {
		if !slices.Contains(paths, sv.Path) || (leaves != nil && !slices.Contains(leaves, sv.Leaf)) || !slices.Contains(devices, sv.Device) {
			continue
		}
		if ifs := filterValues("interface_name"); ifs != nil && !slices.Contains(ifs, sv.Keys["interface_name"]) {
			continue
		}
		// Inventory racks are RackName under the policy path and name
		// under the YANG path; each target groups by its own.
		if k, ok := sv.Keys[keyCol]; ok {
			want[rowKey(sv.Device, k, sv.Leaf)] = sv.Value
		}
	}
	if len(want) == 0 {
		t.Errorf("%s: nothing the routers sent matches (paths %v, leaves %v, key %s)", where, paths, leaves, keyCol)
		return
	}
	got := map[string][]string{} // row key → values, newest first for raw rows
	for i := range f.Rows() {
		k := rowKey(cell(dev, i), cell(key, i), cell(leaf, i))
		got[k] = append(got[k], cell(val, i))
	}
	// One line per router and kind of fault, with an example: a target
	// that misses a router misses it for every key.
	faults := map[string][]string{}
	for _, k := range slices.Sorted(maps.Keys(want)) {
		last, vals := want[k], got[k]
		router, _, _ := strings.Cut(k, "|")
		switch {
		case len(vals) == 0:
			faults[router+" has no rows"] = append(faults[router+" has no rows"], fmt.Sprintf("%s, last sent %q", k, last))
		case len(q.Aggregates) == 0 && vals[0] != last:
			faults[router+" shows an old value"] = append(faults[router+" shows an old value"], fmt.Sprintf("%s: %q, last sent %q", k, vals[0], last))
		case len(q.Aggregates) > 0 && !slices.Contains(vals, last):
			faults[router+" lacks the last value"] = append(faults[router+" lacks the last value"], fmt.Sprintf("%s: groups %q, last sent %q", k, vals, last))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[k]; !ok {
			faults["rows no router sent"] = append(faults["rows no router sent"], k)
		}
	}
	for _, f := range slices.Sorted(maps.Keys(faults)) {
		t.Errorf("%s: %s for %d of %d keys (paths %v), e.g. %s", where, f, len(faults[f]), len(want), paths, faults[f][0])
	}
}

// The compose demo's IOS XR side end to end: the collector with the
// image's settings, the compose file's three simulated routers (policy-
// driven JSON over TCP with zlib, policy-driven compact GPB over UDP,
// model-driven key-value GPB over gRPC) sending every path of the demo
// policy, and every target of the IOS XR dashboard asked as Grafana asks
// it with $router and $interface at All.
func TestIOSXRDashboardShowsWhatTheRoutersSent(t *testing.T) {
	db := demotest.ReadLastHourDashboard(t, dashboardFile)
	d := startDemo(t)

	v := vars{}
	for _, x := range db.Templating.List {
		switch x.Type {
		case "datasource":
		case "query":
			var vq struct {
				Type, Source, Label string
			}
			if err := json.Unmarshal(x.Query, &vq); err != nil || vq.Type != "labelValues" || !x.Multi || !x.IncludeAll || x.AllValue != "" {
				t.Fatalf("variable %s (%s): this test sets label-value variables at All without a custom all value", x.Name, x.Query)
			}
			var vals struct{ Values []string }
			d.resource(t, "catalog/label-values", url.Values{"source": {vq.Source}, "label": {vq.Label},
				"from": {fmt.Sprint(d.tr.From.UnixMilli())}, "to": {fmt.Sprint(d.tr.To.UnixMilli())}}, &vals)
			if len(vals.Values) == 0 {
				t.Fatalf("variable %s lists nothing", x.Name)
			}
			v[x.Name] = vals.Values
		default:
			t.Fatalf("variable %s of type %s: this test does not know how Grafana would set it", x.Name, x.Type)
		}
	}
	var names []string
	for _, r := range d.routers {
		names = append(names, r.Config().Name)
	}
	slices.Sort(names)
	if !slices.Equal(v["router"], names) {
		t.Fatalf("$router lists %v, the routers are %v", v["router"], names)
	}

	demotest.EachTarget(t, &db, "xr", func(t *testing.T, where string, q query.Query) {
		switch q.Kind {
		case query.KindRecords:
			d.checkRecords(t, where, q, v)
		case query.KindSeries, "":
			d.checkSeries(t, where, q, v)
		default:
			t.Fatalf("%s: kind %q", where, q.Kind)
		}
	})

	// The provisioned XR alert rules' queries, as the alerting engine
	// sends them, on the same routers: every group of the demo policy has
	// its silence (none silent: each was just sent), and nothing dropped.
	t.Run("alerts", func(t *testing.T) { d.checkAlertRules(t) })
}

func (d *demo) checkAlertRules(t *testing.T) {
	var f demotest.RuleFile
	demotest.ReadYAML(t, "provisioning/alerting/netlens-xr.yaml", &f)
	want := map[string]map[string]bool{"netlens-xr-group-silent": {}, "netlens-xr-router-drops": {}}
	for _, g := range xrsim.Demo().Groups {
		want["netlens-xr-group-silent"][groupKey(map[string]string{"policy": xrsim.Demo().Name, "group": g.Name}, []string{"policy", "group"})] = true
	}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			exp, known := want[r.UID]
			if !known {
				t.Errorf("rule %s: this test does not know what it should find", r.UID)
				continue
			}
			delete(want, r.UID)
			for _, q := range r.Data {
				if q.DatasourceUID != "netlens" {
					continue
				}
				res := d.run(t, q.Query(t))
				if res.Error != nil {
					t.Errorf("rule %s: %v", r.UID, res.Error)
					continue
				}
				got := map[string]bool{}
				for _, fr := range res.Frames {
					for _, fl := range fr.Fields {
						if fl.Type().Time() || fl.Len() == 0 {
							continue
						}
						got[groupKey(fl.Labels, []string{"policy", "group"})] = true
						if x, ok := fl.ConcreteAt(fl.Len() - 1); ok && r.UID == "netlens-xr-group-silent" && (math.IsNaN(x.(float64)) || x.(float64) >= 3) {
							t.Errorf("rule %s: %v is silent for %v periods right after it was sent", r.UID, fl.Labels, x)
						}
					}
				}
				if r.UID == "netlens-xr-router-drops" && len(got) > 0 {
					t.Errorf("rule %s: drops %v, the simulated routers send nothing to drop", r.UID, slices.Sorted(maps.Keys(got)))
				}
				if r.UID == "netlens-xr-group-silent" && !maps.Equal(got, exp) {
					t.Errorf("rule %s: series %v, want %v", r.UID, slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(exp)))
				}
			}
		}
	}
	for uid := range want {
		t.Errorf("rule %s is not provisioned", uid)
	}
}

// The XR folders grafana.ini names ship with the image (it copies
// provisioning/ to /etc/grafana/provisioning), and what is in them loads
// without a problem: a policy with a problem shows no paths before data, a
// .proto that does not compile leaves its routers' compact rows undecoded.
func TestGrafanaIniXRFoldersLoad(t *testing.T) {
	srv := startCollector(t)
	pols, protos := srv.XR.Policies(), srv.XR.Protos()
	if len(pols) == 0 || len(protos) == 0 {
		t.Fatalf("%d policy files, %d proto files", len(pols), len(protos))
	}
	for _, p := range pols {
		if len(p.Problems) > 0 || len(p.Groups) == 0 {
			t.Errorf("%s: %d groups, problems %+v", p.File, len(p.Groups), p.Problems)
		}
	}
	schema := map[string]bool{}
	for _, p := range protos {
		if len(p.Problems) > 0 {
			t.Errorf("%s: %+v", p.File, p.Problems)
		}
		for _, sp := range p.Paths {
			schema[sp.Path] = true
		}
	}
	// Every path of the demo policy has its compact row message.
	for _, g := range xrsim.Demo().Groups {
		for _, p := range g.Paths {
			if !schema[p.Schema] && !schema[p.PDT] {
				t.Errorf("no .proto describes %s", p.PDT)
			}
		}
	}
}

// The compose file publishes the ports grafana.ini has the XR receiver
// listen on (TCP and UDP for policy-driven telemetry and model-driven TCP
// dial-out, TCP for gRPC dial-out), and each xr-sim service sends to the
// one its transport uses, after Grafana is up.
func TestComposePublishesTheXRPortsTheSimulatorsUse(t *testing.T) {
	services := demotest.ComposeServices(t)
	keys := demotest.ImageKeys(t)
	port := func(k string) string {
		_, p, err := net.SplitHostPort(keys[k])
		if err != nil {
			t.Fatalf("%s = %q: %v", k, keys[k], err)
		}
		return p
	}
	tcp, udp, grpc := port("xr_tcp_listen_address"), port("xr_udp_listen_address"), port("xr_grpc_listen_address")
	ports := services["grafana"].Ports
	for _, want := range []string{tcp + ":" + tcp + "/tcp", udp + ":" + udp + "/udp", grpc + ":" + grpc + "/tcp"} {
		if !slices.Contains(ports, want) && !slices.Contains(ports, strings.TrimSuffix(want, "/tcp")) {
			t.Errorf("grafana does not publish %s (ports %v)", want, ports)
		}
	}
	sims := 0
	for name, s := range services {
		if len(s.Command) == 0 || s.Command[0] != "xr" {
			continue
		}
		sims++
		want := "-target=grafana:" + tcp
		if slices.Contains(s.Command, "-transport=udp") {
			want = "-target=grafana:" + udp
		}
		if slices.Contains(s.Command, "-transport=grpc") {
			want = "-target=grafana:" + grpc
		}
		if !slices.Contains(s.Command, want) {
			t.Errorf("%s does not send to %s: %v", name, want, s.Command)
		}
		if s.DependsOn["grafana"].Condition != "service_healthy" {
			t.Errorf("%s must wait until Grafana (and so the collector) is up", name)
		}
	}
	if sims == 0 {
		t.Error("no xr-sim service")
	}
}
