package docker

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"net"
	"net/netip"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/netlens/netlens/docker/demotest"
	ipfixdec "github.com/netlens/netlens/pkg/decode/ipfix"
	ipfixrcv "github.com/netlens/netlens/pkg/ingest/ipfix"
	"github.com/netlens/netlens/pkg/pipeline/flows"
	"github.com/netlens/netlens/pkg/plugin"
	"github.com/netlens/netlens/pkg/query"
	"github.com/netlens/netlens/pkg/records"
	"github.com/netlens/netlens/pkg/server"
	"github.com/netlens/netlens/pkg/sim/ipfixsim"
)

const flowsDashboardFile = "src/dashboards/flows-overview.json"

// simSeconds is how long the simulated exporters send at the compose rate.
// The collector appends its volume counters at most every
// flows.EmitIntervalMs, and rate() needs two samples of a series: sending
// past one emission interval gives every series a sample during the run and
// another once the last records are counted.
const simSeconds = 12

// ipfixSimCommand is the compose ipfix-sim service's command line, without
// the "ipfix" command word.
func ipfixSimCommand(t *testing.T) []string {
	t.Helper()
	var c composeFile
	demotest.ReadYAML(t, "docker-compose.yaml", &c)
	s, ok := c.Services["ipfix-sim"]
	if !ok || len(s.Command) == 0 || s.Command[0] != "ipfix" {
		t.Fatalf("no ipfix-sim service running netlens-sim ipfix (command %v)", s.Command)
	}
	return s.Command[1:]
}

// simConfigs applies the compose arguments to the simulator library the way
// netlens-sim ipfix does: the rate shared among the exporters, observation
// domains counting up from 1, the sampling rates in turn, seeds counting up
// from 1. It knows the flags compose passes; another one fails here rather
// than being left out. The exporters send to target (the collector's
// loopback port) instead of grafana:4739, each its seconds' worth of
// records. TestComposeIPFIXSimArgumentsAreAcceptedByNetlensSim checks this
// reading against the real command's.
func simConfigs(t *testing.T, args []string, target string, seconds float64) []ipfixsim.Config {
	t.Helper()
	fs := flag.NewFlagSet("ipfix-sim", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.String("target", "", "replaced by the collector's loopback address")
	transport := fs.String("transport", "", "")
	rate := fs.Float64("rate", 0, "")
	exporters := fs.Int("exporters", 0, "")
	sampling := fs.String("sampling", "", "")
	mode := fs.String("sampling-mode", "cisco", "")
	refresh := fs.Duration("template-refresh", 0, "")
	fs.Duration("stats", 0, "logging only")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		t.Fatalf("compose passes ipfix-sim %v, which this test does not know how to give its simulators (%v)", args, err)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, name := range []string{"transport", "rate", "exporters", "sampling", "template-refresh"} {
		if !set[name] {
			t.Fatalf("compose leaves -%s at netlens-sim's default; this test reads it from compose", name)
		}
	}
	m, err := ipfixsim.ParseSamplingMode(*mode)
	if err != nil {
		t.Fatal(err)
	}
	if *exporters < 1 || *rate <= 0 {
		t.Fatalf("-exporters %d -rate %v", *exporters, *rate)
	}
	var rates []uint32
	for _, s := range strings.Split(*sampling, ",") {
		n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 32)
		if err != nil {
			t.Fatalf("-sampling %q: %v", *sampling, err)
		}
		rates = append(rates, uint32(n))
	}
	per := *rate / float64(*exporters)
	cfgs := make([]ipfixsim.Config, *exporters)
	for i := range cfgs {
		cfgs[i] = ipfixsim.Config{
			Target: target, Transport: *transport,
			ODID: uint32(1 + i), Rate: per, Count: uint64(per * seconds),
			SamplingRate: rates[i%len(rates)], SamplingMode: m,
			TemplateRefresh: *refresh,
			Seed:            uint64(1 + i),
		}
	}
	return cfgs
}

// sentFlow is one flow record a simulated exporter put on the wire, with
// what the collector should make of it.
type sentFlow struct {
	ipfixsim.Flow
	device string // the exporter's device name, as the records and series call it
	rate   uint64 // the sampling rate it announced
}

func (f *sentFlow) bytes() uint64   { return f.Bytes * f.rate }
func (f *sentFlow) packets() uint64 { return f.Packets * f.rate }

// Volume series count both directions of a biflow.
func (f *sentFlow) volBytes() uint64   { return (f.Bytes + f.ReverseBytes) * f.rate }
func (f *sentFlow) volPackets() uint64 { return (f.Packets + f.ReversePackets) * f.rate }

// protoLabel is the series' protocol label: the IANA keyword of the
// protocols the simulator sends.
func (f *sentFlow) protoLabel() string {
	return map[uint8]string{ipfixsim.ProtoICMP: "icmp", ipfixsim.ProtoTCP: "tcp", ipfixsim.ProtoUDP: "udp", ipfixsim.ProtoICMPv6: "ipv6-icmp"}[f.Proto]
}

// appLabel is the application as the collector names it: the exporter's
// application table, or for an id missing from it the RFC 6759 id as
// "engine:selector".
func (f *sentFlow) appLabel() string {
	if f.App.Unlisted {
		return fmt.Sprintf("%d:%d", f.App.Engine, f.App.Selector)
	}
	return f.App.Name
}

// flowsDemo is the compose demo's IPFIX half in one process: the collector
// configured from the image's grafana.ini, fed by simulated exporters
// configured from the compose ipfix-sim service, and a data source instance
// to query it.
type flowsDemo struct {
	srv       *server.Server
	ds        *plugin.Datasource
	exporters map[string]ipfixsim.Config // by device
	totals    map[string]ipfixsim.Totals // by device
	flows     []sentFlow

	// What the exporter health panels are checked against, by device:
	// the template ids each exporter announced, when it last sent, and
	// the one exporter whose sequence numbers jump (gapRecords).
	templates  map[string]map[uint16]bool
	lastSentMs map[string]int64
	gapped     string
}

// gapRecords is the sequence gap the first simulated exporter makes, as
// if one of its messages carrying that many records were lost: the only
// loss the lost-records panel may show. The compose service makes none;
// the test adds it to see the panel report it.
const gapRecords = 37

// gapShare is how far into its run the exporter makes the gap, as a share
// of its data messages. Late in the run, so the exporter's first health
// write (10 s in) has counted 0 lost records and rate() sees the counter
// grow rather than start at the gap.
const gapShare = 0.9

// templateIDs lists the template and options template ids an IPFIX
// message defines (sets 2 and 3, RFC 7011 §3.4), to know how many
// templates the collector must hold per exporter.
func templateIDs(msg []byte) ([]uint16, error) {
	if len(msg) < 16 || binary.BigEndian.Uint16(msg) != 10 {
		return nil, fmt.Errorf("not an IPFIX message")
	}
	var ids []uint16
	for b := msg[16:]; len(b) >= 4; {
		setID, n := binary.BigEndian.Uint16(b), int(binary.BigEndian.Uint16(b[2:]))
		if n < 4 || n > len(b) {
			return nil, fmt.Errorf("set %d of length %d in %d bytes", setID, n, len(b))
		}
		recs := b[4:n]
		b = b[n:]
		if setID != 2 && setID != 3 {
			continue
		}
		for len(recs) >= 4 {
			id, fields := binary.BigEndian.Uint16(recs), int(binary.BigEndian.Uint16(recs[2:]))
			head := 4
			if setID == 3 {
				head = 6
			}
			if id < 256 || len(recs) < head {
				break // padding
			}
			recs = recs[head:]
			for range fields {
				if len(recs) < 4 {
					return nil, fmt.Errorf("template %d runs past its set", id)
				}
				spec := 4
				if binary.BigEndian.Uint16(recs)&0x8000 != 0 {
					spec = 8
				}
				if len(recs) < spec {
					return nil, fmt.Errorf("template %d runs past its set", id)
				}
				recs = recs[spec:]
			}
			ids = append(ids, id)
		}
	}
	return ids, nil
}

func startFlowsDemo(t *testing.T) *flowsDemo {
	t.Helper()
	srv, _ := startCollector(t)
	rcv, ok := srv.IPFIX.(interface{ UDPAddr() net.Addr })
	if !ok || rcv.UDPAddr() == nil {
		t.Fatal("the IPFIX receiver has no UDP listener")
	}
	d := &flowsDemo{srv: srv, exporters: map[string]ipfixsim.Config{}, totals: map[string]ipfixsim.Totals{},
		templates: map[string]map[uint16]bool{}, lastSentMs: map[string]int64{}}
	var mu sync.Mutex
	var exps []*ipfixsim.Exporter
	var devices []string
	for i, c := range simConfigs(t, ipfixSimCommand(t), rcv.UDPAddr().String(), simSeconds) {
		// Unbound exporter sockets send to the loopback collector from the
		// loopback address.
		dev := ipfixdec.Scope{Exporter: netip.MustParseAddrPort("127.0.0.1:0"), ODID: c.ODID}.Device()
		if i == 0 {
			c.GapAfterRecords, c.GapRecords = uint64(gapShare*float64(c.Count)), gapRecords
			d.gapped = dev
		}
		d.templates[dev] = map[uint16]bool{}
		var rate uint64
		c.OnMessageSent = func(m *ipfixsim.SentMessage) {
			mu.Lock()
			defer mu.Unlock()
			for _, f := range m.Flows {
				d.flows = append(d.flows, sentFlow{Flow: f, device: dev, rate: rate})
			}
			d.lastSentMs[dev] = time.Now().UnixMilli()
			if m.Templates > 0 {
				ids, err := templateIDs(m.Data)
				if err != nil || len(ids) != m.Templates {
					t.Errorf("exporter %s sent %d templates; this test read %v (%v)", dev, m.Templates, ids, err)
				}
				for _, id := range ids {
					d.templates[dev][id] = true
				}
			}
		}
		e, err := ipfixsim.New(c)
		if err != nil {
			t.Fatal(err)
		}
		rate = e.SamplingRate()
		exps = append(exps, e)
		devices = append(devices, dev)
		d.exporters[dev] = e.Config()
	}
	ctx, cancel := context.WithTimeout(context.Background(), (simSeconds+20)*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, e := range exps {
		wg.Go(func() { e.Run(ctx) })
	}
	wg.Wait()
	var want uint64
	for i, e := range exps {
		tot := e.Totals()
		if tot.Errors > 0 || tot.Flows.Records != e.Config().Count {
			t.Fatalf("exporter %s sent %d of %d records, %d errors (%s)", devices[i], tot.Flows.Records, e.Config().Count, tot.Errors, tot.LastError)
		}
		if want := map[bool]uint64{true: gapRecords}[devices[i] == d.gapped]; tot.SkippedRecords != want {
			t.Fatalf("exporter %s skipped %d sequence numbers, want %d (gap after %d records)", devices[i], tot.SkippedRecords, want, e.Config().GapAfterRecords)
		}
		d.totals[devices[i]] = tot
		want += tot.Flows.Records
	}

	// Every record stored, and counted in the volume series and the
	// exporter health series: the receiver ticks every second, appends
	// volume counters every flows.EmitIntervalMs and health every 10 s.
	deadline := time.Now().Add(time.Duration(flows.EmitIntervalMs)*time.Millisecond + 10*time.Second)
	for {
		rows := srv.Flows.Stats().Rows
		sum := func(metric string) float64 {
			if v, err := srv.Store.InstantQuery(context.Background(), "sum("+metric+")", time.Now()); err == nil && len(v) == 1 {
				return v[0].F
			}
			return -1
		}
		counted, decoded := sum("ipfix_flows_total"), sum(ipfixrcv.SeriesRecords)
		if rows == int64(want) && counted == float64(want) && decoded == float64(want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the collector stored %d of %d records, counted %v in ipfix_flows_total and %v in %s; board: %v",
				rows, want, counted, decoded, ipfixrcv.SeriesRecords, srv.Board.Snapshot())
		}
		time.Sleep(200 * time.Millisecond)
	}

	// Series queries evaluate at steps aligned to the panel's interval: the
	// last counters show from the first step after they were appended, as
	// on the dashboard's next refresh.
	step := query.Step(backend.TimeRange{From: time.Now().Add(-time.Hour), To: time.Now()}, demotest.PanelInterval, demotest.PanelMaxDataPoints)
	time.Sleep(time.Until(time.Now().Truncate(step).Add(step + 50*time.Millisecond)))

	d.ds = demotest.NewDatasource(t, srv)
	return d
}

// The Flows overview as this test reads it: what decides which data each
// panel asks for and whether the panel can draw the answer.
type flowsDashboard struct {
	Time struct {
		From string `json:"from"`
		To   string `json:"to"`
	} `json:"time"`
	Templating struct {
		List []flowsVariable `json:"list"`
	} `json:"templating"`
	Panels []flowsPanel `json:"panels"`
}

type flowsVariable struct {
	Type       string          `json:"type"`
	Name       string          `json:"name"`
	Query      json.RawMessage `json:"query"`
	Multi      bool            `json:"multi"`
	IncludeAll bool            `json:"includeAll"`
	AllValue   string          `json:"allValue"`
	Current    struct {
		Value json.RawMessage `json:"value"`
	} `json:"current"`
}

type flowsPanel struct {
	ID          int               `json:"id"`
	Type        string            `json:"type"`
	Title       string            `json:"title"`
	Targets     []json.RawMessage `json:"targets"`
	FieldConfig struct {
		Defaults struct {
			DisplayName string `json:"displayName"`
		} `json:"defaults"`
		Overrides []struct {
			Matcher struct {
				ID      string `json:"id"`
				Options string `json:"options"`
			} `json:"matcher"`
			Properties []struct {
				ID    string          `json:"id"`
				Value json.RawMessage `json:"value"`
			} `json:"properties"`
		} `json:"overrides"`
	} `json:"fieldConfig"`
	Options struct {
		ReduceOptions *struct {
			Fields string `json:"fields"`
			Values bool   `json:"values"`
		} `json:"reduceOptions"`
		SortBy []struct {
			DisplayName string `json:"displayName"`
		} `json:"sortBy"`
	} `json:"options"`
	Transformations []struct {
		ID      string `json:"id"`
		Options struct {
			RenameByName map[string]string `json:"renameByName"`
		} `json:"options"`
	} `json:"transformations"`
}

// dashRange is the dashboard's default time range ("now-1h" to "now").
func (db *flowsDashboard) dashRange(t *testing.T, now time.Time) backend.TimeRange {
	t.Helper()
	ago, ok := strings.CutPrefix(db.Time.From, "now-")
	d, err := time.ParseDuration(ago)
	if !ok || err != nil || db.Time.To != "now" {
		t.Fatalf("dashboard time %s to %s: this test reads now-<duration> to now", db.Time.From, db.Time.To)
	}
	return backend.TimeRange{From: now.Add(-d), To: now}
}

// dashVars are the dashboard's variables as Grafana holds them for one
// view: text values, and the chosen values of multi-value variables.
type dashVars struct {
	text  map[string]string
	multi map[string][]string
	adhoc []query.Matcher // the ad-hoc filters, as the data source sends them
}

// newDashVars sets every variable of the dashboard: the data source is the
// provisioned one, text boxes keep their defaults, the exporter variable
// takes exporters and the ad-hoc filter variable adhoc (the data source's
// adhocToMatcher of what the user picked). A variable type this test
// cannot set fails it, so a new one gets handled here.
func newDashVars(t *testing.T, db *flowsDashboard, exporters []string, adhoc []query.Matcher) dashVars {
	t.Helper()
	v := dashVars{text: map[string]string{}, multi: map[string][]string{}}
	for _, x := range db.Templating.List {
		switch {
		case x.Type == "datasource":
			v.text[x.Name] = "netlens"
		case x.Type == "textbox":
			var s string
			if err := json.Unmarshal(x.Query, &s); err != nil || s == "" {
				t.Fatalf("text box %s has no default (%s)", x.Name, x.Query)
			}
			v.text[x.Name] = s
		case x.Type == "query" && x.Name == "exporter":
			if x.AllValue != "" {
				t.Fatalf("$exporter has a custom all value %q; records filters need the exporters themselves", x.AllValue)
			}
			v.multi[x.Name] = exporters
		case x.Type == "adhoc":
			if v.adhoc != nil {
				t.Fatalf("a second ad-hoc variable %s: Grafana hands a query the filters of one", x.Name)
			}
			v.adhoc = append([]query.Matcher{}, adhoc...)
		default:
			t.Fatalf("variable %s of type %s: this test does not know how Grafana would set it", x.Name, x.Type)
		}
	}
	return v
}

// names lists the variable names, longest first, so $a_b is not read as $a.
func (v dashVars) names() []string {
	var ns []string
	for n := range v.text {
		ns = append(ns, n)
	}
	for n := range v.multi {
		ns = append(ns, n)
	}
	slices.SortFunc(ns, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	return ns
}

// replace substitutes variables in a text place (a field name, a column, a
// metric); format says how several values of a multi-value variable read.
func (v dashVars) replace(t *testing.T, s string, format func([]string) string) string {
	t.Helper()
	for _, n := range v.names() {
		for _, ref := range []string{"${" + n + "}", "$" + n} {
			if !strings.Contains(s, ref) {
				continue
			}
			if vals, ok := v.multi[n]; ok {
				if format == nil {
					t.Fatalf("%q uses the multi-value $%s where one text value belongs", s, n)
				}
				s = strings.ReplaceAll(s, ref, format(vals))
			} else {
				s = strings.ReplaceAll(s, ref, v.text[n])
			}
		}
	}
	return s
}

// regexFormat is the data source's formatForRegex (src/datasource/
// datasource.ts): escaped literals, several as an alternation. QuoteMeta
// escapes the characters its escapeRegex does.
func regexFormat(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = regexp.QuoteMeta(v)
	}
	if len(q) == 1 {
		return q[0]
	}
	return "(" + strings.Join(q, "|") + ")"
}

// interpolate does what the data source's applyTemplateVariables does to a
// panel's target before Grafana sends it to the backend.
func (v dashVars) interpolate(t *testing.T, q query.Query) query.Query {
	t.Helper()
	text := func(s string) string { return v.replace(t, s, nil) }
	csv := func(in []string) []string {
		var out []string
		for _, s := range in {
			for _, p := range strings.Split(v.replace(t, s, func(vals []string) string { return strings.Join(vals, ",") }), ",") {
				if p != "" {
					out = append(out, p)
				}
			}
		}
		return out
	}
	q.Metric, q.Family, q.LegendFormat, q.Bucket = text(q.Metric), text(q.Family), text(q.LegendFormat), text(q.Bucket)
	if strings.Contains(q.Expr, "$") {
		t.Fatalf("code-mode expression %q: this test does not interpolate PromQL text", q.Expr)
	}
	q.GroupBy, q.Columns = csv(q.GroupBy), csv(q.Columns)
	for i, m := range q.Matchers {
		several := false
		m.Value = v.replace(t, m.Value, func(vals []string) string {
			several = several || len(vals) > 1
			return regexFormat(vals)
		})
		if several && (m.Op == "=" || m.Op == "!=") {
			m.Op += "~"
		}
		q.Matchers[i] = m
	}
	for i, f := range q.Filters {
		var vals []string
		for _, x := range f.Values {
			if x == "" {
				continue
			}
			vals = append(vals, strings.Split(v.replace(t, x, func(vs []string) string { return strings.Join(vs, "\x1f") }), "\x1f")...)
		}
		f.Field, f.Values = text(f.Field), vals
		if len(vals) > 1 && (f.Op == "=" || f.Op == "!=") {
			f.Op = map[string]string{"=": query.OpIn, "!=": query.OpNotIn}[f.Op]
		}
		q.Filters[i] = f
	}
	for i, a := range q.Aggregates {
		q.Aggregates[i].Field = text(a.Field)
	}
	q.AdhocFilters = adhocFor(q, v.adhoc)
	return q
}

// ipfixSeriesLabels are the labels IPFIX series carry: the volume series'
// device, protocol and application, and the drop series' reason.
var ipfixSeriesLabels = []string{"device", "protocol", "application", "reason"}

// adhocFor is what the data source's applyTemplateVariables sends of the
// ad-hoc filters with a query: all of them with records queries (the
// backend applies those on fields the records have); with IPFIX series
// queries an exporter filter as the device label, and only filters on
// labels those series carry, since a matcher on a label a series lacks
// would leave the panel empty.
func adhocFor(q query.Query, adhoc []query.Matcher) []query.Matcher {
	var out []query.Matcher
	for _, m := range adhoc {
		if q.Kind == query.KindSeries && q.Source == "ipfix" {
			if m.Label == query.ExporterColumn {
				m.Label = "device"
			}
			if !slices.Contains(ipfixSeriesLabels, m.Label) {
				continue
			}
		}
		out = append(out, m)
	}
	return out
}

// recordFilters are a records query's filters with its ad-hoc filters, as
// the backend applies them (pkg/query/records.go): equality on the field,
// device read as the exporter column.
func recordFilters(t *testing.T, q query.Query) []query.RecordFilter {
	t.Helper()
	out := slices.Clone(q.Filters)
	for _, m := range q.AdhocFilters {
		if m.Op != "=" {
			t.Fatalf("ad-hoc filter %+v: this test checks equality", m)
		}
		f := m.Label
		if f == "device" {
			f = query.ExporterColumn
		}
		out = append(out, query.RecordFilter{Field: f, Op: query.OpEqual, Values: []string{m.Value}})
	}
	return out
}

// unresolved finds a dashboard variable left in a query Grafana would send;
// $__interval and its kin are the backend's to substitute.
var unresolved = regexp.MustCompile(`\$\{?[A-Za-z][A-Za-z0-9_]*`)

func (d *flowsDemo) run(t *testing.T, q query.Query, tr backend.TimeRange) backend.DataResponse {
	t.Helper()
	js, err := json.Marshal(q)
	if err != nil {
		t.Fatal(err)
	}
	if m := unresolved.Find(js); m != nil {
		t.Fatalf("query %s still holds %s", js, m)
	}
	res, err := d.ds.QueryData(context.Background(), &backend.QueryDataRequest{
		PluginContext: backend.PluginContext{OrgID: 1, DataSourceInstanceSettings: &backend.DataSourceInstanceSettings{UID: "netlens"}},
		Queries: []backend.DataQuery{{
			RefID: q.RefID, JSON: js, TimeRange: tr, Interval: demotest.PanelInterval, MaxDataPoints: demotest.PanelMaxDataPoints,
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return res.Responses[q.RefID]
}

func (d *flowsDemo) resource(t *testing.T, p string, params url.Values) []byte {
	t.Helper()
	var body []byte
	status := 0
	err := d.ds.CallResource(context.Background(), &backend.CallResourceRequest{
		PluginContext: backend.PluginContext{OrgID: 1, DataSourceInstanceSettings: &backend.DataSourceInstanceSettings{UID: "netlens"}},
		Path:          p, Method: "GET", URL: p + "?" + params.Encode(),
	}, backend.CallResourceResponseSenderFunc(func(res *backend.CallResourceResponse) error {
		status, body = res.Status, append(body, res.Body...)
		return nil
	}))
	if err != nil || status != 200 {
		t.Fatalf("%s?%s: %d %s %v", p, params.Encode(), status, body, err)
	}
	return body
}

// The rest is a reference of what each query should answer, computed from
// the flows the simulators sent: record fields, filters, aggregates, top N
// with "other", buckets, and the volume series.

// Columns named by the definitions file (provisioning/ipfix/definitions.
// example.json) for the Flowmon elements the simulator fills.
const (
	rttColumn = "flowmonNpmRoundTripTime"
	srtColumn = "flowmonNpmServerResponseTime"
)

// field is a flow's value of a record column, as text (numbers in
// decimal, times in milliseconds) and, for numbers, as a number.
func (f *sentFlow) field(t *testing.T, name string) (string, float64) {
	t.Helper()
	num := func(v uint64) (string, float64) { return strconv.FormatUint(v, 10), float64(v) }
	switch name {
	case "exporter":
		return f.device, math.NaN()
	case "time":
		return num(uint64(f.EndMs))
	case "start":
		return num(uint64(f.StartMs))
	case "src_addr":
		return f.Src.String(), math.NaN()
	case "dst_addr":
		return f.Dst.String(), math.NaN()
	case "src_port":
		return num(uint64(f.SrcPort))
	case "dst_port":
		return num(uint64(f.DstPort))
	case "protocol":
		return num(uint64(f.Proto))
	case "bytes":
		return num(f.bytes())
	case "packets":
		return num(f.packets())
	case "bytes_raw":
		return num(f.Bytes)
	case "packets_raw":
		return num(f.Packets)
	case "sampling_rate":
		return num(f.rate)
	case "tcp_flags":
		return num(uint64(f.TCPFlags))
	case "application":
		return f.appLabel(), math.NaN()
	case rttColumn:
		return num(uint64(f.RTTMicros))
	case srtColumn:
		return num(uint64(f.SRTMicros))
	}
	t.Fatalf("this test does not know what the simulator sends as %s", name)
	return "", 0
}

// keep applies a records query's filters to the flows.
func keep(t *testing.T, fl []sentFlow, filters []query.RecordFilter) []sentFlow {
	t.Helper()
	var out []sentFlow
	for i := range fl {
		f := &fl[i]
		ok := true
		for _, flt := range filters {
			s, n := f.field(t, flt.Field)
			switch flt.Op {
			case query.OpIn, query.OpEqual:
				ok = ok && slices.Contains(flt.Values, s)
			case query.OpGreater, query.OpGreatEq, query.OpLess, query.OpLessEq:
				x, err := strconv.ParseFloat(flt.Values[0], 64)
				if err != nil || len(flt.Values) != 1 {
					t.Fatalf("filter %+v", flt)
				}
				ok = ok && map[string]bool{">": n > x, ">=": n >= x, "<": n < x, "<=": n <= x}[flt.Op]
			default:
				t.Fatalf("filter %+v: this test has no reference for %q", flt, flt.Op)
			}
		}
		if ok {
			out = append(out, *f)
		}
	}
	return out
}

// aggregate computes one aggregate over flows, as the record store defines
// it (quantiles by nearest rank) from n values; ok is false where the
// store gives null.
func aggregate(t *testing.T, a query.RecordAggregate, fl []sentFlow) (v float64, n int, ok bool) {
	t.Helper()
	if a.Func == "count" {
		return float64(len(fl)), len(fl), true
	}
	var vals []float64
	for i := range fl {
		_, v := fl[i].field(t, a.Field)
		// The simulator, like a Flowmon probe, sends a latency of 0 where
		// it measured none (UDP, ICMP): a latency quantile must leave
		// those flows out rather than count them as instant answers.
		if strings.HasPrefix(a.Func, "p") && (a.Field == rttColumn || a.Field == srtColumn) && v == 0 {
			continue
		}
		vals = append(vals, v)
	}
	switch a.Func {
	case "sum":
		s := 0.0
		for _, x := range vals {
			s += x
		}
		return s, len(vals), true
	}
	n = len(vals)
	if n == 0 {
		return 0, 0, false
	}
	slices.Sort(vals)
	switch a.Func {
	case "min":
		return vals[0], n, true
	case "max":
		return vals[n-1], n, true
	case "p50", "p90", "p95", "p99":
		q, _ := strconv.ParseFloat(a.Func[1:], 64)
		i := int(math.Ceil(q/100*float64(n))) - 1
		return vals[max(0, min(i, n-1))], n, true
	}
	t.Fatalf("this test has no reference for %s", a.Func)
	return 0, 0, false
}

// sameAggregate compares an aggregate with its reference from n values:
// sums and counts exactly, quantiles within the store's sketch error once
// a cell holds more values than it keeps exactly.
func sameAggregate(a query.RecordAggregate, got, want float64, n int) bool {
	if strings.HasPrefix(a.Func, "p") && n > 64 {
		return math.Abs(got-want) <= want*records.SketchRelativeError*1.0001
	}
	return got == want
}

// groupKeyOf is a flow's group in a grouped query, its values joined by "|".
func groupKeyOf(t *testing.T, f *sentFlow, by []string) string {
	parts := make([]string, len(by))
	for i, g := range by {
		parts[i], _ = f.field(t, g)
	}
	return strings.Join(parts, "|")
}

// topGroups ranks groups by the first aggregate over the whole range and
// checks that listed, what the collector listed, is a top n of them (ties
// may go either way). It returns the flows of the groups left out.
func topGroups(t *testing.T, where string, q query.Query, fl []sentFlow, listed []string) (rest []sentFlow) {
	t.Helper()
	groups := map[string][]sentFlow{}
	for i := range fl {
		k := groupKeyOf(t, &fl[i], q.GroupBy)
		groups[k] = append(groups[k], fl[i])
	}
	rank := func(k string) float64 {
		v, _, ok := aggregate(t, q.Aggregates[0], groups[k])
		if !ok {
			return math.Inf(-1)
		}
		return v
	}
	n := len(groups)
	if q.TopN > 0 {
		n = min(n, q.TopN)
	}
	if len(listed) != n {
		t.Errorf("%s: %d groups listed, want %d of %d", where, len(listed), n, len(groups))
	}
	lowest := math.Inf(1)
	for _, k := range listed {
		if _, ok := groups[k]; !ok {
			t.Errorf("%s: group %q was never sent", where, k)
			continue
		}
		lowest = min(lowest, rank(k))
	}
	for k, g := range groups {
		if slices.Contains(listed, k) {
			continue
		}
		if r := rank(k); r > lowest {
			t.Errorf("%s: group %q (%v) is left out for one ranked %v", where, k, r, lowest)
		}
		rest = append(rest, g...)
	}
	return rest
}

func fieldByName(fr *data.Frame, name string) *data.Field {
	for _, f := range fr.Fields {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// cellText renders a cell as the reference does: times in milliseconds,
// numbers in decimal; ok is false for null.
func cellText(f *data.Field, i int) (string, bool) {
	v, ok := f.ConcreteAt(i)
	if !ok || v == nil {
		return "", false
	}
	switch x := v.(type) {
	case time.Time:
		return strconv.FormatInt(x.UnixMilli(), 10), true
	case string:
		return x, true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	}
	return fmt.Sprint(v), true
}

func cellNum(f *data.Field, i int) (float64, bool) {
	v, ok := f.ConcreteAt(i)
	if !ok || v == nil {
		return 0, false
	}
	switch x := v.(type) {
	case float64:
		return x, true
	case uint64:
		return float64(x), true
	case int64:
		return float64(x), true
	}
	return 0, false
}

func isNumeric(f *data.Field) bool { return f.Type().Numeric() }

// panelCase is one target of one panel, interpolated for one choice of
// the dashboard's variables, with its answer.
type panelCase struct {
	d     *flowsDemo
	panel *flowsPanel
	where string
	q     query.Query
	tr    backend.TimeRange
	resp  backend.DataResponse
}

// hasValues reports whether any numeric field holds a number.
func hasValues(frames data.Frames) bool {
	for _, fr := range frames {
		for _, f := range fr.Fields {
			if !isNumeric(f) {
				continue
			}
			for i := range f.Len() {
				if _, ok := cellNum(f, i); ok {
					return true
				}
			}
		}
	}
	return false
}

// checkShape checks that the panel type can draw the answer as the panel
// is configured: time series for the time series panel, the bar gauge's
// field pattern matching a number field and row names to label its bars,
// and every field a table's overrides, renames and sort name.
func checkShape(t *testing.T, c *panelCase) {
	t.Helper()
	p := c.panel
	switch p.Type {
	case "timeseries":
		label := ""
		if m := regexp.MustCompile(`^\$\{__field\.labels\.([a-z_]+)\}$`).FindStringSubmatch(p.FieldConfig.Defaults.DisplayName); m != nil {
			label = m[1]
		} else if p.FieldConfig.Defaults.DisplayName != "" {
			t.Errorf("%s: display name %q: this test does not know what it shows", c.where, p.FieldConfig.Defaults.DisplayName)
		}
		for _, fr := range c.resp.Frames {
			if fr.TimeSeriesSchema().Type == data.TimeSeriesTypeNot {
				t.Errorf("%s: frame %q is not a time series", c.where, fr.Name)
			}
			for _, f := range fr.Fields {
				if isNumeric(f) && label != "" && f.Labels[label] == "" {
					t.Errorf("%s: field %s has no %s label for the display name %s", c.where, f.Name, label, p.FieldConfig.Defaults.DisplayName)
				}
			}
		}
	case "bargauge":
		ro := p.Options.ReduceOptions
		if ro == nil || !ro.Values {
			t.Fatalf("%s: the bar gauge does not show every row", c.where)
		}
		re, err := regexp.Compile(strings.TrimSuffix(strings.TrimPrefix(ro.Fields, "/"), "/"))
		if err != nil {
			t.Fatalf("%s: fields %q: %v", c.where, ro.Fields, err)
		}
		for _, fr := range c.resp.Frames {
			bars, names := 0, 0
			for _, f := range fr.Fields {
				switch {
				case isNumeric(f) && re.MatchString(f.Name):
					bars++
				case f.Type() == data.FieldTypeString || f.Type() == data.FieldTypeNullableString:
					names++
				}
			}
			if bars == 0 || names == 0 {
				t.Errorf("%s: %d number fields match %s and %d string fields name the bars", c.where, bars, ro.Fields, names)
			}
		}
	case "table":
		names := map[string]bool{}
		for _, fr := range c.resp.Frames {
			for _, f := range fr.Fields {
				names[f.Name] = true
			}
		}
		shown := maps.Clone(names)
		for _, o := range p.FieldConfig.Overrides {
			if o.Matcher.ID != "byName" || !names[o.Matcher.Options] {
				t.Errorf("%s: override for %s %q matches no field of %v", c.where, o.Matcher.ID, o.Matcher.Options, slices.Sorted(maps.Keys(names)))
			}
			for _, pr := range o.Properties {
				var s string
				if pr.ID == "displayName" && json.Unmarshal(pr.Value, &s) == nil {
					shown[s] = true
				}
			}
		}
		for _, tr := range p.Transformations {
			for from, to := range tr.Options.RenameByName {
				if !names[from] {
					t.Errorf("%s: %s renames %q, which is not a field", c.where, tr.ID, from)
				}
				shown[to] = true
			}
		}
		for _, s := range p.Options.SortBy {
			if !shown[s.DisplayName] {
				t.Errorf("%s: sorted by %q, which no column is called", c.where, s.DisplayName)
			}
		}
	default:
		t.Errorf("%s: panel type %s: this test does not know what it draws", c.where, p.Type)
	}
}

// checkRaw checks raw rows: the columns asked for, time first, newest
// first, as many as the limit allows, each one a flow that was sent.
func checkRaw(t *testing.T, c *panelCase) {
	t.Helper()
	if len(c.resp.Frames) != 1 {
		t.Fatalf("%s: %d frames, want one table", c.where, len(c.resp.Frames))
	}
	fr := c.resp.Frames[0]
	var names []string
	for _, f := range fr.Fields {
		names = append(names, f.Name)
	}
	if !slices.Equal(names, c.q.Columns) || c.q.Columns[0] != "time" {
		t.Errorf("%s: columns %v, want %v with time first", c.where, names, c.q.Columns)
	}
	fl := keep(t, c.d.flows, recordFilters(t, c.q))
	limit := c.q.Limit
	if limit == 0 {
		limit = query.DefaultRecordLimit
	}
	rows, _ := fr.RowLen()
	if rows != min(limit, len(fl)) {
		t.Errorf("%s: %d rows, want %d (limit %d, %d flows sent)", c.where, rows, min(limit, len(fl)), limit, len(fl))
	}
	identity := []string{"exporter", "time", "src_addr", "src_port", "dst_addr", "dst_port", "protocol"}
	sent := map[string][]*sentFlow{}
	for i := range fl {
		var k []string
		for _, n := range identity {
			s, _ := fl[i].field(t, n)
			k = append(k, s)
		}
		sent[strings.Join(k, "|")] = append(sent[strings.Join(k, "|")], &fl[i])
	}
	prev, oldest := int64(math.MaxInt64), int64(math.MaxInt64)
	for row := range rows {
		var k []string
		for _, n := range identity {
			f := fieldByName(fr, n)
			if f == nil {
				t.Fatalf("%s: without %s this test cannot tell which flow a row is", c.where, n)
			}
			s, _ := cellText(f, row)
			k = append(k, s)
		}
		ms, _ := strconv.ParseInt(k[1], 10, 64)
		if ms > prev {
			t.Errorf("%s: row %d (%d) is newer than the one before (%d)", c.where, row, ms, prev)
		}
		prev, oldest = ms, min(oldest, ms)
		cands := sent[strings.Join(k, "|")]
		if len(cands) == 0 {
			t.Errorf("%s: row %d %v was never sent", c.where, row, k)
			continue
		}
		f := cands[0]
		sent[strings.Join(k, "|")] = cands[1:]
		for _, col := range fr.Fields {
			got, ok := cellText(col, row)
			want, _ := f.field(t, col.Name)
			if !ok || got != want {
				t.Errorf("%s: row %d %s = %q (null: %v), sent %q", c.where, row, col.Name, got, !ok, want)
			}
		}
	}
	newer, shown := 0, 0
	for i := range fl {
		if fl[i].EndMs > oldest {
			newer++
		}
	}
	for row := range rows {
		if s, _ := cellText(fieldByName(fr, "time"), row); s != strconv.FormatInt(oldest, 10) {
			shown++
		}
	}
	if newer != shown {
		t.Errorf("%s: %d flows are newer than the oldest row shown, %d of them are shown", c.where, newer, shown)
	}
}

// aggNames are a records query's aggregate columns, "sum(bytes)".
func aggNames(q query.Query) []string {
	var out []string
	for _, a := range q.Aggregates {
		out = append(out, a.Func+"("+a.Field+")")
	}
	return out
}

// checkGrouped checks aggregates over the whole range: a row per group of
// the top N, ranked, with the exact sums (quantiles within the sketch's
// error), and the rest folded into "other" when asked.
func checkGrouped(t *testing.T, c *panelCase) {
	t.Helper()
	if len(c.resp.Frames) != 1 {
		t.Fatalf("%s: %d frames, want one", c.where, len(c.resp.Frames))
	}
	fr := c.resp.Frames[0]
	var groupFields, aggFields []*data.Field
	for _, n := range c.q.GroupBy {
		groupFields = append(groupFields, fieldByName(fr, n))
	}
	for _, n := range aggNames(c.q) {
		aggFields = append(aggFields, fieldByName(fr, n))
	}
	if slices.Contains(groupFields, nil) || slices.Contains(aggFields, nil) || len(fr.Fields) != len(groupFields)+len(aggFields) {
		t.Fatalf("%s: fields %v, want %v then %v", c.where, fr.Fields, c.q.GroupBy, aggNames(c.q))
	}
	fl := keep(t, c.d.flows, recordFilters(t, c.q))
	groups := map[string][]sentFlow{}
	for i := range fl {
		k := groupKeyOf(t, &fl[i], c.q.GroupBy)
		groups[k] = append(groups[k], fl[i])
	}
	rows, _ := fr.RowLen()
	var listed []string
	otherRow := -1
	prevRank := math.Inf(1)
	for row := range rows {
		var parts []string
		isOther := true
		for _, g := range groupFields {
			s, _ := cellText(g, row)
			parts = append(parts, s)
			isOther = isOther && s == query.OtherGroup
		}
		if isOther {
			otherRow = row
			continue
		}
		k := strings.Join(parts, "|")
		listed = append(listed, k)
		for a, f := range aggFields {
			got, ok := cellNum(f, row)
			want, n, wok := aggregate(t, c.q.Aggregates[a], groups[k])
			if ok != wok || (ok && !sameAggregate(c.q.Aggregates[a], got, want, n)) {
				t.Errorf("%s: %s of %s = %v (%v), want %v (%v)", c.where, f.Name, k, got, ok, want, wok)
			}
			if a == 0 {
				if got > prevRank {
					t.Errorf("%s: %s ranks after a smaller group", c.where, k)
				}
				prevRank = got
			}
		}
	}
	rest := topGroups(t, c.where, c.q, fl, listed)
	switch {
	case c.q.Other && len(rest) > 0 && otherRow < 0:
		t.Errorf("%s: %d flows of groups past the top %d, but no %q row", c.where, len(rest), c.q.TopN, query.OtherGroup)
	case otherRow >= 0 && (!c.q.Other || len(rest) == 0):
		t.Errorf("%s: an %q row nobody asked for", c.where, query.OtherGroup)
	case otherRow >= 0:
		for a, f := range aggFields {
			got, ok := cellNum(f, otherRow)
			want, n, wok := aggregate(t, c.q.Aggregates[a], rest)
			if ok != wok || (ok && !sameAggregate(c.q.Aggregates[a], got, want, n)) {
				t.Errorf("%s: %s of %s = %v, want %v", c.where, f.Name, query.OtherGroup, got, want)
			}
		}
	}
}

// checkBucketed checks aggregates per time bucket: one series per group
// and aggregate, on the full grid of buckets, each bucket's value computed
// from the flows that ended in it.
func checkBucketed(t *testing.T, c *panelCase) {
	t.Helper()
	if c.q.Bucket != "auto" {
		t.Fatalf("%s: bucket %q: this test knows the auto bucket", c.where, c.q.Bucket)
	}
	b := query.Step(c.tr, demotest.PanelInterval, demotest.PanelMaxDataPoints).Milliseconds()
	first := c.tr.From.UnixMilli() / b * b
	fl := keep(t, c.d.flows, recordFilters(t, c.q))
	names := aggNames(c.q)
	byGroup := map[string][]sentFlow{}
	var listed []string
	otherSeen := false
	for _, fr := range c.resp.Frames {
		if len(fr.Fields) != 2 || fr.Fields[0].Type() != data.FieldTypeTime {
			t.Fatalf("%s: frame %v is not time then value", c.where, fr.Fields)
		}
		v := fr.Fields[1]
		parts := make([]string, len(c.q.GroupBy))
		isOther := len(c.q.GroupBy) > 0
		for i, g := range c.q.GroupBy {
			parts[i] = v.Labels[g]
			isOther = isOther && parts[i] == query.OtherGroup
		}
		k := strings.Join(parts, "|")
		if isOther {
			otherSeen = true
		} else if !slices.Contains(listed, k) {
			listed = append(listed, k)
		}
		if !slices.Contains(names, v.Name) {
			t.Errorf("%s: series %s is none of %v", c.where, v.Name, names)
		}
	}
	for i := range fl {
		k := groupKeyOf(t, &fl[i], c.q.GroupBy)
		byGroup[k] = append(byGroup[k], fl[i])
	}
	if len(c.q.GroupBy) > 0 {
		byGroup[query.OtherGroup] = topGroups(t, c.where, c.q, fl, listed)
		if c.q.Other && len(byGroup[query.OtherGroup]) > 0 && !otherSeen {
			t.Errorf("%s: no %q series for %d flows past the top %d", c.where, query.OtherGroup, len(byGroup[query.OtherGroup]), c.q.TopN)
		}
	}
	want := len(listed) * len(names)
	if otherSeen {
		want += len(names)
	}
	if len(c.resp.Frames) != want {
		t.Errorf("%s: %d series, want %d groups × %d aggregates", c.where, len(c.resp.Frames), want/len(names), len(names))
	}
	for _, fr := range c.resp.Frames {
		v := fr.Fields[1]
		a := c.q.Aggregates[slices.Index(names, v.Name)]
		parts := make([]string, len(c.q.GroupBy))
		for i, g := range c.q.GroupBy {
			parts[i] = v.Labels[g]
		}
		k := strings.Join(parts, "|")
		if len(parts) > 0 && strings.Count(k, query.OtherGroup) == len(parts) {
			k = query.OtherGroup
		}
		inBucket := map[int64][]sentFlow{}
		for _, f := range byGroup[k] {
			inBucket[f.EndMs/b*b] = append(inBucket[f.EndMs/b*b], f)
		}
		times := fr.Fields[0]
		if times.Len() != int((c.tr.To.UnixMilli()-first)/b)+1 {
			t.Errorf("%s: %d buckets of %d ms, want the grid from %d to %d", c.where, times.Len(), b, first, c.tr.To.UnixMilli())
		}
		for i := range times.Len() {
			ts, _ := times.ConcreteAt(i)
			start := ts.(time.Time).UnixMilli()
			if start != first+int64(i)*b {
				t.Errorf("%s: bucket %d starts at %d, want %d", c.where, i, start, first+int64(i)*b)
				break
			}
			got, ok := cellNum(v, i)
			w, n, wok := aggregate(t, a, inBucket[start])
			if ok != wok || (ok && !sameAggregate(a, got, w, n)) {
				t.Errorf("%s: %s of %q in the bucket at %d = %v (%v), want %v (%v) from %d values", c.where, v.Name, k, start, got, ok, w, wok, n)
			}
		}
	}
}

// labelMatches applies a label matcher to a label's value ("" when the
// series lacks the label), as PromQL does.
func labelMatches(t *testing.T, where string, m query.Matcher, value string) bool {
	t.Helper()
	switch m.Op {
	case "=", "!=":
		return (value == m.Value) == (m.Op == "=")
	case "=~", "!~":
		re, err := regexp.Compile("^(?:" + m.Value + ")$")
		if err != nil {
			t.Fatalf("%s: matcher %+v: %v", where, m, err)
		}
		return re.MatchString(value) == (m.Op == "=~")
	}
	t.Fatalf("%s: matcher %+v: unknown operator", where, m)
	return false
}

// seriesLabel is a flow's label in the volume series.
func seriesLabel(t *testing.T, f *sentFlow, label string) string {
	t.Helper()
	switch label {
	case "device":
		return f.device
	case "protocol":
		return f.protoLabel()
	case "application":
		return f.appLabel()
	}
	t.Fatalf("the volume series have no label %s", label)
	return ""
}

// seriesValue is what a flow adds to a volume counter.
func seriesValue(t *testing.T, f *sentFlow, metric string) float64 {
	t.Helper()
	switch metric {
	case "ipfix_bytes_total":
		return float64(f.volBytes())
	case "ipfix_packets_total":
		return float64(f.volPackets())
	case "ipfix_flows_total":
		return 1
	}
	t.Fatalf("%s is not a volume series", metric)
	return 0
}

// checkSeries checks a volume series panel. The rates it draws are
// extrapolated by PromQL over a window longer than the simulation, so they
// are checked for their series (one per group the flows fall in, named by
// the legend) and for being positive; the counters under them, queried as
// the panel does but without rate() at the end of the range, must equal
// the simulators' totals exactly.
func checkSeries(t *testing.T, c *panelCase) {
	t.Helper()
	var fl []sentFlow
	for i := range c.d.flows {
		f := &c.d.flows[i]
		ok := true
		for _, m := range slices.Concat(c.q.Matchers, c.q.AdhocFilters) {
			ok = ok && labelMatches(t, c.where, m, seriesLabel(t, f, m.Label))
		}
		if ok {
			fl = append(fl, *f)
		}
	}
	if c.q.Aggregation != "sum" {
		t.Fatalf("%s: aggregation %q: this test sums", c.where, c.q.Aggregation)
	}
	key := func(ls data.Labels) string {
		var parts []string
		for _, g := range c.q.GroupBy {
			parts = append(parts, ls[g])
		}
		return strings.Join(parts, "|")
	}
	want := map[string]float64{}
	for i := range fl {
		var parts []string
		for _, g := range c.q.GroupBy {
			parts = append(parts, seriesLabel(t, &fl[i], g))
		}
		want[strings.Join(parts, "|")] += seriesValue(t, &fl[i], c.q.Metric)
	}
	legend := regexp.MustCompile(`\{\{\s*([a-z_]+)\s*\}\}`)
	drawn := map[string]bool{}
	for _, fr := range c.resp.Frames {
		for _, f := range fr.Fields {
			if !isNumeric(f) {
				continue
			}
			name := legend.ReplaceAllStringFunc(c.q.LegendFormat, func(m string) string { return f.Labels[legend.FindStringSubmatch(m)[1]] })
			if f.Config == nil || f.Config.DisplayNameFromDS != name {
				t.Errorf("%s: series %v is not named %q by its legend %s", c.where, f.Labels, name, c.q.LegendFormat)
			}
			positive := false
			for i := range f.Len() {
				if v, ok := cellNum(f, i); ok {
					if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
						t.Errorf("%s: %v: rate %v", c.where, f.Labels, v)
					}
					positive = positive || v > 0
				}
			}
			if !positive {
				t.Errorf("%s: %v: no rate above 0", c.where, f.Labels)
			}
			drawn[key(f.Labels)] = true
		}
	}
	if got, w := slices.Sorted(maps.Keys(drawn)), slices.Sorted(maps.Keys(want)); !slices.Equal(got, w) {
		t.Errorf("%s: series %v, want %v", c.where, got, w)
	}

	cq := c.q
	cq.Rate, cq.Instant = false, true
	r := c.d.run(t, cq, c.tr)
	if r.Error != nil {
		t.Fatalf("%s: counters: %v", c.where, r.Error)
	}
	counted := map[string]float64{}
	for _, fr := range r.Frames {
		for _, f := range fr.Fields {
			if v, ok := cellNum(f, 0); ok && isNumeric(f) {
				counted[key(f.Labels)] += v
			}
		}
	}
	for k, w := range want {
		if counted[k] != w {
			t.Errorf("%s: %s counts %v for %q, the simulators sent %v", c.where, c.q.Metric, counted[k], k, w)
		}
	}
	for k := range counted {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: %s counts %v for %q, which the simulators never sent", c.where, c.q.Metric, counted[k], k)
		}
	}
}

// isHealthMetric reports whether a query asks for the receiver's exporter
// health series rather than the flows' volume series.
func isHealthMetric(q query.Query) bool {
	return q.Kind == query.KindSeries && (strings.HasPrefix(q.Metric, "ipfix_exporter_") || q.Metric == ipfixrcv.SeriesReceiverDrop)
}

// healthSeries is one exporter health series as the collector should have
// written it from what the simulators sent: its labels and the range its
// last value must lie in (one value where it is known exactly).
type healthSeries struct {
	labels map[string]string
	lo, hi float64
}

// healthReference lists the series of a health metric and whether it is a
// gauge. The simulators' exporters decode without drops or held sets; the
// gapped one loses exactly gapRecords records, the others none; none is
// NetFlow v9, so no export packets are lost; each holds the templates it
// announced; each went silent when it stopped sending.
func (d *flowsDemo) healthReference(t *testing.T, metric string) (out []healthSeries, gauge bool) {
	t.Helper()
	perDevice := func(value func(dev string) (lo, hi float64)) {
		for dev := range d.exporters {
			lo, hi := value(dev)
			out = append(out, healthSeries{labels: map[string]string{"device": dev}, lo: lo, hi: hi})
		}
	}
	exact := func(f func(dev string) float64) func(string) (float64, float64) {
		return func(dev string) (float64, float64) { v := f(dev); return v, v }
	}
	switch metric {
	case ipfixrcv.SeriesRecords:
		perDevice(exact(func(dev string) float64 { return float64(d.totals[dev].Flows.Records) }))
	case ipfixrcv.SeriesBytes:
		perDevice(exact(func(dev string) float64 { return float64(d.totals[dev].WireBytes) }))
	case ipfixrcv.SeriesLostRecords:
		perDevice(exact(func(dev string) float64 { return float64(d.totals[dev].SkippedRecords) }))
	case ipfixrcv.SeriesLostPackets:
		perDevice(exact(func(string) float64 { return 0 }))
	case ipfixrcv.SeriesDrops:
		// Written per reason once an exporter has a drop: none here.
	case ipfixrcv.SeriesReceiverDrop:
		for _, r := range []string{ipfixrcv.DropSocketOverflow, ipfixrcv.DropQueueFull, ipfixrcv.DropNotAllowed, ipfixrcv.DropUnknownTemplate, ipfixrcv.DropTCPFraming} {
			out = append(out, healthSeries{labels: map[string]string{"reason": r}})
		}
	case ipfixrcv.SeriesTemplates:
		perDevice(exact(func(dev string) float64 { return float64(len(d.templates[dev])) }))
		gauge = true
	case ipfixrcv.SeriesHeldSets:
		perDevice(exact(func(string) float64 { return 0 }))
		gauge = true
	case ipfixrcv.SeriesSilence:
		// Written every 10 s: at most the time since the exporter's last
		// message, and well below the exporter timeout the panel marks.
		now := time.Now().UnixMilli()
		perDevice(func(dev string) (float64, float64) { return 0, float64(now-d.lastSentMs[dev]+1000) / 1000 })
		gauge = true
	default:
		t.Fatalf("this test has no reference for the health series %s", metric)
	}
	return out, gauge
}

// checkHealth checks an exporter health panel: one series per group of the
// reference series its matchers (and the ad-hoc filters) select, named by
// the legend; a counter's rate 0 throughout where nothing was counted and
// above 0 somewhere where something was; and the values under the panel,
// queried at the end of the range without rate(), equal to the reference
// (silence within its bounds). A gauge's last point must be its value too.
func checkHealth(t *testing.T, c *panelCase) {
	t.Helper()
	ref, gauge := c.d.healthReference(t, c.q.Metric)
	if gauge == c.q.Rate {
		t.Errorf("%s: rate %v on %s (gauge: %v)", c.where, c.q.Rate, c.q.Metric, gauge)
	}
	key := func(ls map[string]string) string {
		var parts []string
		for _, g := range c.q.GroupBy {
			parts = append(parts, ls[g])
		}
		return strings.Join(parts, "|")
	}
	type bounds struct{ lo, hi float64 }
	want := map[string]bounds{}
	for _, s := range ref {
		ok := true
		for _, m := range slices.Concat(c.q.Matchers, c.q.AdhocFilters) {
			ok = ok && labelMatches(t, c.where, m, s.labels[m.Label])
		}
		if !ok {
			continue
		}
		k := key(s.labels)
		b, seen := want[k]
		switch {
		case !seen:
			b = bounds{s.lo, s.hi}
		case c.q.Aggregation == "sum":
			b = bounds{b.lo + s.lo, b.hi + s.hi}
		case c.q.Aggregation == "max":
			b = bounds{max(b.lo, s.lo), max(b.hi, s.hi)}
		default:
			t.Fatalf("%s: aggregation %q: this test sums or takes the maximum", c.where, c.q.Aggregation)
		}
		want[k] = b
	}
	within := func(v float64, b bounds) bool { return v >= b.lo && v <= b.hi }

	legend := regexp.MustCompile(`\{\{\s*([a-z_]+)\s*\}\}`)
	drawn := map[string]bool{}
	for _, fr := range c.resp.Frames {
		for _, f := range fr.Fields {
			// No series at all comes back as one empty field: no data.
			if !isNumeric(f) || f.Len() == 0 {
				continue
			}
			k := key(f.Labels)
			name := legend.ReplaceAllStringFunc(c.q.LegendFormat, func(m string) string { return f.Labels[legend.FindStringSubmatch(m)[1]] })
			if f.Config == nil || f.Config.DisplayNameFromDS != name {
				t.Errorf("%s: series %v is not named %q by its legend %s", c.where, f.Labels, name, c.q.LegendFormat)
			}
			positive, last, seen := false, 0.0, false
			for i := range f.Len() {
				v, ok := cellNum(f, i)
				if !ok {
					continue
				}
				if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
					t.Errorf("%s: %v: %v", c.where, f.Labels, v)
				}
				positive, last, seen = positive || v > 0, v, true
			}
			b := want[k]
			switch {
			case !seen:
				t.Errorf("%s: %v: no values", c.where, f.Labels)
			case gauge && !within(last, b):
				t.Errorf("%s: %v: last point %v, want %v to %v", c.where, f.Labels, last, b.lo, b.hi)
			case !gauge && b.hi == 0 && positive:
				t.Errorf("%s: %v: a rate above 0 where nothing was counted", c.where, f.Labels)
			case !gauge && b.lo > 0 && !positive:
				t.Errorf("%s: %v: no rate above 0 for a count of %v", c.where, f.Labels, b.lo)
			}
			drawn[k] = true
		}
	}
	if got, w := slices.Sorted(maps.Keys(drawn)), slices.Sorted(maps.Keys(want)); !slices.Equal(got, w) {
		t.Errorf("%s: series %q, want %q", c.where, got, w)
	}

	cq := c.q
	cq.Rate, cq.Instant = false, true
	r := c.d.run(t, cq, c.tr)
	if r.Error != nil {
		t.Fatalf("%s: values: %v", c.where, r.Error)
	}
	got := map[string]float64{}
	for _, fr := range r.Frames {
		for _, f := range fr.Fields {
			if !isNumeric(f) || f.Len() == 0 {
				continue
			}
			if v, ok := cellNum(f, 0); ok {
				got[key(f.Labels)] = v
			}
		}
	}
	for k, b := range want {
		if v, ok := got[k]; !ok || !within(v, b) {
			t.Errorf("%s: %s is %v (%v) for %q, want %v to %v", c.where, c.q.Metric, v, ok, k, b.lo, b.hi)
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: %s is %v for %q, which the simulators never caused", c.where, c.q.Metric, v, k)
		}
	}
}

// summary says what an answer holds, for go test -v.
func summary(frames data.Frames) string {
	var parts []string
	for i, fr := range frames {
		if i == 4 {
			parts = append(parts, fmt.Sprintf("… %d frames in all", len(frames)))
			break
		}
		rows, _ := fr.RowLen()
		var fields []string
		for _, f := range fr.Fields {
			n := f.Name
			if len(f.Labels) > 0 {
				n += f.Labels.String()
			}
			fields = append(fields, n)
		}
		typ := ""
		if fr.Meta != nil {
			typ = string(fr.Meta.Type)
		}
		parts = append(parts, fmt.Sprintf("%s %d rows [%s]", typ, rows, strings.Join(fields, " ")))
	}
	return strings.Join(parts, "; ")
}

// checkPanels runs every target of every panel as Grafana would for vars
// and checks each answer against the flows sent.
func (d *flowsDemo) checkPanels(t *testing.T, db *flowsDashboard, vars dashVars) {
	now := time.Now()
	tr := db.dashRange(t, now)
	checked := 0
	for i := range db.Panels {
		p := &db.Panels[i]
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %d %q has no query", p.ID, p.Title)
		}
		for _, raw := range p.Targets {
			tg, err := decodeTarget(raw)
			if err != nil {
				t.Fatalf("panel %q: %v", p.Title, err)
			}
			c := &panelCase{d: d, panel: p, tr: tr, q: vars.interpolate(t, tg.Query)}
			c.where = fmt.Sprintf("panel %d %q %s", p.ID, p.Title, c.q.RefID)
			c.resp = d.run(t, c.q, tr)
			if c.resp.Error != nil {
				t.Errorf("%s: %v", c.where, c.resp.Error)
				continue
			}
			// An exporter health series may rightly be absent (no drops
			// of any exporter): its reference says when.
			health := isHealthMetric(c.q)
			if !health && !hasValues(c.resp.Frames) {
				t.Errorf("%s: no values", c.where)
				continue
			}
			for _, fr := range c.resp.Frames {
				if fr.Meta != nil {
					for _, n := range fr.Meta.Notices {
						if n.Severity != data.NoticeSeverityInfo {
							t.Errorf("%s: notice %q", c.where, n.Text)
						}
					}
				}
			}
			t.Logf("%s: %s", c.where, summary(c.resp.Frames))
			checkShape(t, c)
			switch {
			case health:
				checkHealth(t, c)
			case c.q.Kind == query.KindSeries:
				checkSeries(t, c)
			case c.q.Kind != query.KindRecords:
				t.Errorf("%s: kind %q", c.where, c.q.Kind)
			case len(c.q.Aggregates) == 0:
				checkRaw(t, c)
			case c.q.Bucket != "":
				checkBucketed(t, c)
			default:
				checkGrouped(t, c)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no panel query ran")
	}
}

// exporterOptions lists $exporter's values the way the data source's
// variable support does: the records/values resource over the dashboard's
// range (src/datasource/datasource.ts, findVariableValues).
func (d *flowsDemo) exporterOptions(t *testing.T, db *flowsDashboard, tr backend.TimeRange) []string {
	t.Helper()
	i := slices.IndexFunc(db.Templating.List, func(v flowsVariable) bool { return v.Name == "exporter" })
	if i < 0 {
		t.Fatal("no exporter variable")
	}
	var vq struct {
		Type, Kind, RecordKind, Field string
	}
	if err := json.Unmarshal(db.Templating.List[i].Query, &vq); err != nil {
		t.Fatal(err)
	}
	if vq.Type != "recordValues" && vq.Kind != "records" {
		t.Fatalf("exporter variable query %s is not a records values query", db.Templating.List[i].Query)
	}
	body := d.resource(t, "records/values", url.Values{
		"kind": {vq.RecordKind}, "field": {vq.Field}, "prefix": {""}, "limit": {"1000"},
		"from": {strconv.FormatInt(tr.From.UnixMilli(), 10)}, "to": {strconv.FormatInt(tr.To.UnixMilli(), 10)},
	})
	var vals []string
	if err := json.Unmarshal(body, &vals); err != nil {
		t.Fatalf("records/values: %s: %v", body, err)
	}
	// The variable sorts its options alphabetically (sort 1).
	slices.Sort(vals)
	return vals
}

// The compose demo's IPFIX side end to end: the collector with the image's
// settings, fed by the ipfix-sim service's three exporters (one unsampled,
// two sampled) for a bounded run, and every panel of the Flows overview
// asked as Grafana asks it, with $exporter at All and at one exporter.
// Each answer is compared with what the simulators sent.
func TestFlowsOverviewShowsWhatTheExportersSent(t *testing.T) {
	d := startFlowsDemo(t)
	var db flowsDashboard
	demotest.ReadJSON(t, flowsDashboardFile, &db)
	devices := slices.Sorted(maps.Keys(d.exporters))
	if len(devices) != 3 {
		t.Fatalf("compose runs %d exporters; the dashboard is checked with 3", len(devices))
	}

	opts := d.exporterOptions(t, &db, db.dashRange(t, time.Now()))
	if !slices.Equal(opts, devices) {
		t.Fatalf("$exporter offers %v, want %v", opts, devices)
	}
	// The variable query as the contract gives it, through QueryData.
	var vq query.Query
	if err := json.Unmarshal(db.Templating.List[slices.IndexFunc(db.Templating.List, func(v flowsVariable) bool { return v.Name == "exporter" })].Query, &vq); err != nil {
		t.Fatal(err)
	}
	r := d.run(t, vq, db.dashRange(t, time.Now()))
	if r.Error != nil || len(r.Frames) != 1 || len(r.Frames[0].Fields) != 1 {
		t.Fatalf("variable query through QueryData: %v %v", r.Error, r.Frames)
	}
	var listed []string
	for i := range r.Frames[0].Fields[0].Len() {
		s, _ := cellText(r.Frames[0].Fields[0], i)
		listed = append(listed, s)
	}
	if slices.Sort(listed); !slices.Equal(listed, devices) {
		t.Errorf("variable query through QueryData lists %v, want %v", listed, devices)
	}

	// The exporters panel links to the app page, which lists the
	// receiver's view of each exporter from ipfix/exporters.
	var health []struct {
		Device       string
		Records      uint64
		LostRecords  uint64
		SamplingRate uint64
		Templates    []uint16
		Drops        map[string]uint64
		State        string
	}
	if err := json.Unmarshal(d.resource(t, "ipfix/exporters", nil), &health); err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, e := range health {
		seen = append(seen, e.Device)
		tot, cfg := d.totals[e.Device], d.exporters[e.Device]
		// The gapped exporter lost records a moment ago: it is losing.
		state := map[bool]string{true: ipfixrcv.StateLosing, false: "ok"}[e.Device == d.gapped]
		if e.Records != tot.Flows.Records || e.SamplingRate != uint64(max(1, cfg.SamplingRate)) ||
			e.LostRecords != tot.SkippedRecords || len(e.Templates) == 0 || len(e.Drops) != 0 || e.State != state {
			t.Errorf("ipfix/exporters: %+v; sent %d records at 1:%d, skipped %d", e, tot.Flows.Records, max(1, cfg.SamplingRate), tot.SkippedRecords)
		}
	}
	if slices.Sort(seen); !slices.Equal(seen, devices) {
		t.Errorf("ipfix/exporters lists %v, want %v", seen, devices)
	}

	// One exporter: the most heavily sampled, where scaling shows most.
	one := slices.MaxFunc(devices, func(a, b string) int {
		return cmp.Compare(d.exporters[a].SamplingRate, d.exporters[b].SamplingRate)
	})
	// An ad-hoc filter on the exporter that made the gap, with $exporter
	// at All: the records panels narrow to its flows, the series panels to
	// its device, and the receiver-wide drops, which name no device, to
	// nothing.
	filter := []query.Matcher{{Label: query.ExporterColumn, Op: "=", Value: d.gapped}}
	for _, sel := range []struct {
		name      string
		exporters []string
		adhoc     []query.Matcher
	}{{"All", opts, nil}, {"one exporter", []string{one}, nil}, {"All,filter=" + d.gapped, opts, filter}} {
		t.Run("exporter="+sel.name, func(t *testing.T) {
			d.checkPanels(t, &db, newDashVars(t, &db, sel.exporters, sel.adhoc))
		})
	}
}

// netlens-sim ipfix with the compose service's arguments, as built from
// this repository: it must accept them and read them as this package's
// simConfigs does. Only -target changes, to a loopback socket, and -count
// bounds the run.
func TestComposeIPFIXSimArgumentsAreAcceptedByNetlensSim(t *testing.T) {
	args := ipfixSimCommand(t)
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("building netlens-sim needs the go command: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "netlens-sim")
	if out, err := exec.Command(goTool, "build", "-o", bin, "../cmd/netlens-sim").CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/netlens-sim: %v\n%s", err, out)
	}

	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	odids := map[uint32]bool{}
	var mu sync.Mutex
	go func() {
		buf := make([]byte, 65536)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if n >= 16 && binary.BigEndian.Uint16(buf) == 10 {
				mu.Lock()
				odids[binary.BigEndian.Uint32(buf[12:])] = true
				mu.Unlock()
			}
		}
	}()
	target := pc.LocalAddr().String()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append(append([]string{"ipfix"}, args...), "-target="+target, "-count=30")...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("netlens-sim ipfix %v: %v\n%s", args, err, out.String())
	}

	cfgs := simConfigs(t, args, target, 1)
	var rate float64
	for _, c := range cfgs {
		rate += c.Rate
		// The command's own account of each exporter it made.
		want := fmt.Sprintf("exporter odid %d: sampling 1:%d (%v), %s records/s", c.ODID, max(1, c.SamplingRate), c.SamplingMode,
			strconv.FormatFloat(c.Rate, 'f', -1, 64))
		if !strings.Contains(out.String(), want) {
			t.Errorf("netlens-sim does not say %q:\n%s", want, out.String())
		}
		if c.Transport != "udp" {
			t.Errorf("transport %q: the collector test drives UDP", c.Transport)
		}
	}
	if want := fmt.Sprintf("%d exporter(s) sending to %s over udp, %s records/s in all", len(cfgs), target, strconv.FormatFloat(rate, 'f', -1, 64)); !strings.Contains(out.String(), want) {
		t.Errorf("netlens-sim does not say %q:\n%s", want, out.String())
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(odids)
		mu.Unlock()
		if n == len(cfgs) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("messages arrived from observation domains %v, want %d", odids, len(cfgs))
		}
		time.Sleep(20 * time.Millisecond)
	}

	// The compose target is the collector's published IPFIX port.
	keys := demotest.ImageKeys(t)
	_, port, err := splitHostPort(keys["ipfix_udp_listen_address"])
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(args, "-target=grafana:"+port) {
		t.Errorf("ipfix-sim does not send to grafana:%s: %v", port, args)
	}
	var c composeFile
	demotest.ReadYAML(t, "docker-compose.yaml", &c)
	if !slices.Contains(c.Services["grafana"].Ports, port+":"+port+"/udp") {
		t.Errorf("the IPFIX port %s/udp is not published: %v", port, c.Services["grafana"].Ports)
	}
}
