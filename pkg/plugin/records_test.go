package plugin

import (
	"context"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/netlens/netlens/pkg/ingest/ipfix"
	"github.com/netlens/netlens/pkg/query"
	"github.com/netlens/netlens/pkg/records"
	"github.com/netlens/netlens/pkg/server"
)

// flow is one test flow as the flow pipeline would store it.
type flow struct {
	exporter       string
	at             time.Time
	src, dst       string
	proto          uint64
	bytes, packets uint64
	application    string // "" leaves the column null, as for an exporter without application ids
}

// flowWriter appends flows to a table the way pkg/pipeline/flows does:
// typed columns, one row per flow, flushed in batches.
type flowWriter struct {
	app                                          *records.Appender
	exporter, src, dst, proto, bytes, pkts, appl records.Col
}

func newFlowWriter(t testing.TB, tab *records.Table) *flowWriter {
	t.Helper()
	w := &flowWriter{app: tab.NewAppender()}
	for _, c := range []struct {
		col  *records.Col
		name string
		typ  records.Type
	}{
		{&w.exporter, "exporter", records.String}, {&w.src, "src_addr", records.Addr}, {&w.dst, "dst_addr", records.Addr},
		{&w.proto, "protocol", records.Uint}, {&w.bytes, "bytes", records.Uint}, {&w.pkts, "packets", records.Uint},
		{&w.appl, "application", records.String},
	} {
		col, err := tab.Column(c.name, c.typ)
		if err != nil {
			t.Fatal(err)
		}
		*c.col = col
	}
	return w
}

func (w *flowWriter) add(fs ...flow) {
	for _, f := range fs {
		w.app.Begin(f.at.UnixMilli())
		w.app.String(w.exporter, []byte(f.exporter))
		w.app.Addr(w.src, netip.MustParseAddr(f.src))
		w.app.Addr(w.dst, netip.MustParseAddr(f.dst))
		w.app.Uint(w.proto, f.proto)
		w.app.Uint(w.bytes, f.bytes)
		w.app.Uint(w.pkts, f.packets)
		if f.application != "" {
			w.app.String(w.appl, []byte(f.application))
		}
		w.app.Commit()
	}
	w.app.Flush()
}

// flowServer is a test server with a flow table holding n flows from two
// exporters over the last minutes, and the totals they add up to.
func flowServer(t testing.TB, n int) (*server.Server, *flowWriter, map[string]uint64) {
	t.Helper()
	srv := testServer(t)
	srv.Flows = records.NewTable(server.FlowTable, records.Options{MaxBytes: 64 << 20})
	w := newFlowWriter(t, srv.Flows)
	totals := map[string]uint64{}
	now := time.Now()
	var fs []flow
	for i := range n {
		f := flow{
			exporter: []string{"192.0.2.7/0", "192.0.2.8/1"}[i%2],
			at:       now.Add(-time.Duration(n-i) * 100 * time.Millisecond),
			src:      fmt.Sprintf("10.0.%d.%d", i%3, i%7+1), dst: "198.51.100.1",
			proto: []uint64{6, 17, 6, 1}[i%4], bytes: uint64(100 + i), packets: 1 + uint64(i%5),
			application: []string{"http", "dns", "https"}[i%3],
		}
		totals[fmt.Sprintf("proto=%d", f.proto)] += f.bytes
		totals["exporter="+f.exporter] += f.bytes
		totals["all"] += f.bytes
		fs = append(fs, f)
	}
	w.add(fs...)
	return srv, w, totals
}

func recordsQuery(t testing.TB, ds *Datasource, q string, from, to time.Time, interval time.Duration) backend.DataResponse {
	t.Helper()
	res, err := ds.QueryData(context.Background(), &backend.QueryDataRequest{
		PluginContext: backend.PluginContext{OrgID: 1},
		Queries: []backend.DataQuery{{RefID: "A", JSON: []byte(q), Interval: interval, MaxDataPoints: 1000,
			TimeRange: backend.TimeRange{From: from, To: to}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := res.Responses["A"]
	if r.Error != nil {
		t.Fatalf("query %s: %v", q, r.Error)
	}
	return r
}

func floatAt(f *data.Field, i int) float64 {
	v, ok := f.ConcreteAt(i)
	if !ok {
		return -1
	}
	switch x := v.(type) {
	case float64:
		return x
	case uint64:
		return float64(x)
	}
	return -1
}

func TestRecordsQueriesAnswerFromTheFlowTable(t *testing.T) {
	srv, _, totals := flowServer(t, 400)
	ds := instance(t, srv, `{}`)
	from, to := time.Now().Add(-time.Hour), time.Now().Add(time.Second)

	// Raw rows: one table, time first, newest first, at most the limit.
	r := recordsQuery(t, ds, `{"kind":"records","source":"ipfix","recordKind":"ipfix_flow","columns":["src_addr","bytes","time"],"limit":10}`, from, to, time.Second)
	f := r.Frames[0]
	if len(r.Frames) != 1 || f.Rows() != 10 || f.Fields[0].Name != "time" || f.Meta.Type != data.FrameTypeTable {
		t.Fatalf("raw rows: %d frames, %d rows, first field %s", len(r.Frames), f.Rows(), f.Fields[0].Name)
	}
	if f.Fields[0].At(0).(time.Time).Before(f.Fields[0].At(9).(time.Time)) {
		t.Fatal("raw rows must come newest first")
	}

	// Sum of bytes by protocol: the totals of what was written.
	r = recordsQuery(t, ds, `{"kind":"records","recordKind":"ipfix_flow","groupBy":["protocol"],"aggregates":[{"func":"sum","field":"bytes"}]}`, from, to, time.Second)
	f = r.Frames[0]
	if f.Meta.Type != data.FrameTypeNumericLong || f.Rows() != 3 {
		t.Fatalf("grouped: type %s, %d rows", f.Meta.Type, f.Rows())
	}
	for i := range f.Rows() {
		proto := f.Fields[0].At(i).(string)
		if got := floatAt(f.Fields[1], i); got != float64(totals["proto="+proto]) {
			t.Errorf("sum(bytes) for protocol %s = %v, wrote %d", proto, got, totals["proto="+proto])
		}
	}

	// Top 1 source plus "other": two rows that add up to every byte.
	r = recordsQuery(t, ds, `{"kind":"records","recordKind":"ipfix_flow","groupBy":["src_addr"],"aggregates":[{"func":"sum","field":"bytes"}],"topN":1,"other":true}`, from, to, time.Second)
	f = r.Frames[0]
	if f.Rows() != 2 || f.Fields[0].At(1) != "other" {
		t.Fatalf("top 1 with other: %d rows, groups %v", f.Rows(), f.Fields[0])
	}
	if sum := floatAt(f.Fields[1], 0) + floatAt(f.Fields[1], 1); sum != float64(totals["all"]) {
		t.Fatalf("top 1 + other = %v, wrote %d", sum, totals["all"])
	}

	// Per 10 s bucket by exporter: one time series each, summing to the totals.
	r = recordsQuery(t, ds, `{"kind":"records","recordKind":"ipfix_flow","groupBy":["exporter"],"aggregates":[{"func":"sum","field":"bytes"}],"bucket":"auto"}`, from, to, 10*time.Second)
	if len(r.Frames) != 2 {
		t.Fatalf("bucketed: %d frames, want one per exporter", len(r.Frames))
	}
	for _, f := range r.Frames {
		if f.Meta.Type != data.FrameTypeTimeSeriesMulti || f.Fields[0].Type() != data.FieldTypeTime {
			t.Fatalf("bucketed frame: %+v", f.Meta)
		}
		sum := 0.0
		for i := range f.Rows() {
			if v := floatAt(f.Fields[1], i); v > 0 {
				sum += v
			}
		}
		exp := f.Fields[1].Labels["exporter"]
		if sum != float64(totals["exporter="+exp]) {
			t.Errorf("exporter %s: buckets add up to %v, wrote %d", exp, sum, totals["exporter="+exp])
		}
		if step := f.Fields[0].At(1).(time.Time).Sub(f.Fields[0].At(0).(time.Time)); step != 10*time.Second {
			t.Errorf("auto bucket = %s, want the panel's 10s interval", step)
		}
	}
}

func TestRecordsQueriesHonourRestrictionsAdhocFiltersAndVariables(t *testing.T) {
	srv, _, totals := flowServer(t, 100)
	from, to := time.Now().Add(-time.Hour), time.Now().Add(time.Second)
	sumQ := `{"kind":"records","recordKind":"ipfix_flow","aggregates":[{"func":"sum","field":"bytes"}]%s}`

	// An instance restricted to one exporter sees its flows only.
	restricted := instance(t, srv, `{"devices":["192.0.2.8/1"]}`)
	r := recordsQuery(t, restricted, fmt.Sprintf(sumQ, ""), from, to, time.Second)
	if got := floatAt(r.Frames[0].Fields[0], 0); got != float64(totals["exporter=192.0.2.8/1"]) {
		t.Fatalf("restricted sum = %v, want %d", got, totals["exporter=192.0.2.8/1"])
	}

	// A dashboard's ad-hoc filters: device means exporter; a series label
	// the flows lack (interface) is left out instead of emptying the panel.
	ds := instance(t, srv, `{}`)
	adhoc := `,"adhocFilters":[{"label":"device","op":"=","value":"192.0.2.7/0"},{"label":"interface","op":"=","value":"Gi0/0"}]`
	r = recordsQuery(t, ds, fmt.Sprintf(sumQ, adhoc), from, to, time.Second)
	if got := floatAt(r.Frames[0].Fields[0], 0); got != float64(totals["exporter=192.0.2.7/0"]) {
		t.Fatalf("ad-hoc filtered sum = %v, want %d", got, totals["exporter=192.0.2.7/0"])
	}

	// A variable query lists a field's values.
	r = recordsQuery(t, ds, `{"kind":"records","recordKind":"ipfix_flow","field":"application"}`, from, to, time.Second)
	f := r.Frames[0]
	if len(f.Fields) != 1 || f.Rows() != 3 {
		t.Fatalf("variable values: %d fields, %d rows", len(f.Fields), f.Rows())
	}
	r = recordsQuery(t, restricted, `{"kind":"records","recordKind":"ipfix_flow","field":"exporter"}`, from, to, time.Second)
	if f := r.Frames[0]; f.Rows() != 1 || f.Fields[0].At(0) != "192.0.2.8/1" {
		t.Fatalf("a restricted instance's exporter values: %v", f.Fields[0])
	}

	// A bad query is the caller's mistake; IPFIX off says so.
	res, _ := ds.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{{RefID: "A",
		JSON: []byte(`{"kind":"records","aggregates":[{"func":"median","field":"bytes"}]}`), TimeRange: backend.TimeRange{From: from, To: to}}}})
	if res.Responses["A"].Status != backend.StatusBadRequest {
		t.Fatalf("unknown aggregate: %v", res.Responses["A"].Status)
	}
	off := instance(t, testServer(t), `{}`)
	res, _ = off.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{{RefID: "A",
		JSON: []byte(`{"kind":"records"}`), TimeRange: backend.TimeRange{From: from, To: to}}}})
	if e := res.Responses["A"].Error; e == nil || !strings.Contains(e.Error(), "IPFIX collector is off") {
		t.Fatalf("IPFIX off: %v", e)
	}
}

func TestRecordResourcesServeTheEditor(t *testing.T) {
	srv, _, _ := flowServer(t, 50)
	ds := instance(t, srv, `{}`)
	var fields []struct {
		Name, Type string
		Rows       int64
	}
	if code := get(t, ds, "records/fields", url.Values{"kind": {"ipfix_flow"}}, &fields); code != 200 {
		t.Fatalf("records/fields: %d", code)
	}
	types := map[string]string{}
	for _, f := range fields {
		types[f.Name] = f.Type
		if f.Name == "bytes" && f.Rows != 50 {
			t.Errorf("bytes has %d rows, want 50", f.Rows)
		}
	}
	if types["src_addr"] != "addr" || types["bytes"] != "uint" || types["time"] != "time" || types["application"] != "string" {
		t.Fatalf("field types = %v", types)
	}

	var vals []string
	get(t, ds, "records/values", url.Values{"kind": {"ipfix_flow"}, "field": {"src_addr"}, "prefix": {"10.0.1."}, "limit": {"100"}}, &vals)
	if len(vals) == 0 {
		t.Fatal("no src_addr values")
	}
	for _, v := range vals {
		if !strings.HasPrefix(v, "10.0.1.") {
			t.Fatalf("value %q does not match the prefix", v)
		}
	}
	if code := get(t, ds, "records/values", url.Values{"kind": {"sflow_sample"}, "field": {"x"}}, nil); code != 400 {
		t.Fatalf("unknown kind: %d", code)
	}
	if code := get(t, ds, "records/values", url.Values{"kind": {"int_report"}, "field": {"x"}}, nil); code != 503 {
		t.Fatalf("int_report with INT off: %d", code)
	}
	if code := get(t, instance(t, testServer(t), `{}`), "records/fields", nil, nil); code != 503 {
		t.Fatalf("records/fields with IPFIX off: %d", code)
	}
}

// fakeReceiver stands in for the IPFIX receiver: the health check and the
// exporters resource only read its exporters.
type fakeReceiver struct{ exps []ipfix.ExporterStatus }

func (f fakeReceiver) Exporters() []ipfix.ExporterStatus  { return f.exps }
func (f fakeReceiver) ReadBuffer() (asked, granted int)   { return 8 << 20, 416 << 10 }
func (f fakeReceiver) Shutdown(ctx context.Context) error { return nil }

func TestExportersAndTheirHealth(t *testing.T) {
	srv := testServer(t)
	srv.Board.ListenerBound("ipfix-udp", "udp", ":4739", "[::]:4739")
	srv.IPFIX = fakeReceiver{exps: []ipfix.ExporterStatus{
		{Device: "192.0.2.7/0", Address: "192.0.2.7:50000", Transport: "udp", State: ipfix.StateOK, Records: 10, Templates: []uint16{256}},
		{Device: "192.0.2.8/0", Address: "192.0.2.8:50000", Transport: "udp", State: ipfix.StateLosing, LostRecords: 42, Drops: map[string]uint64{"queue_full": 3}},
		{Device: "192.0.2.9/0", Address: "192.0.2.9:50000", Transport: "tcp", State: ipfix.StateStopped, LastSeenMs: time.Now().Add(-time.Hour).UnixMilli()},
	}}
	ds := instance(t, srv, `{}`)
	var exps []map[string]any
	get(t, ds, "ipfix/exporters", nil, &exps)
	if len(exps) != 3 || exps[0]["device"] != "192.0.2.7/0" || exps[1]["lostRecords"] != float64(42) {
		t.Fatalf("exporters = %v", exps)
	}
	res := health(t, ds)
	if res.Status != backend.HealthStatusOk {
		t.Fatalf("exporter trouble is a warning, not an error: %v %q", res.Status, res.Message)
	}
	for _, want := range []string{"192.0.2.9/0 (192.0.2.9:50000) stopped sending", "192.0.2.8/0", "42 records missing", "3 queue_full"} {
		if !strings.Contains(res.Message, want) {
			t.Errorf("health %q does not mention %q", res.Message, want)
		}
	}

	var st struct {
		IPFIX struct {
			Enabled       bool
			Exporters     int
			States        map[string]int
			UDPReadBuffer struct{ Asked, Granted int }
		} `json:"ipfix"`
	}
	get(t, ds, "status", nil, &st)
	if !st.IPFIX.Enabled || st.IPFIX.Exporters != 3 || st.IPFIX.States["losing"] != 1 || st.IPFIX.UDPReadBuffer.Granted != 416<<10 {
		t.Fatalf("status ipfix = %+v", st.IPFIX)
	}

	restricted := instance(t, srv, `{"devices":["192.0.2.7/0"]}`)
	get(t, restricted, "ipfix/exporters", nil, &exps)
	if len(exps) != 1 {
		t.Fatalf("a restricted instance sees %d exporters", len(exps))
	}
}

func subscribeAndRun(t *testing.T, ds *Datasource, channel string) (*capture, context.CancelFunc, chan error) {
	t.Helper()
	path := channel[len("ds/netlens/"):]
	if s, _ := ds.SubscribeStream(context.Background(), &backend.SubscribeStreamRequest{PluginContext: backend.PluginContext{OrgID: 1}, Path: path}); s.Status != backend.SubscribeStreamStatusOK {
		t.Fatalf("subscribe: %v", s.Status)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	c := &capture{frames: make(chan []byte, 16)}
	done := make(chan error, 1)
	go func() {
		done <- ds.RunStream(ctx, &backend.RunStreamRequest{PluginContext: backend.PluginContext{OrgID: 1}, Path: path}, backend.NewStreamSender(c))
	}()
	return c, cancel, done
}

func TestLiveRecordsPushNewRows(t *testing.T) {
	srv, w, _ := flowServer(t, 20)
	ds := instance(t, srv, `{}`)
	q := `{"kind":"records","recordKind":"ipfix_flow","columns":["time","src_addr","bytes"],"live":true}`
	r := recordsQuery(t, ds, q, time.Now().Add(-time.Hour), time.Now(), time.Second)
	hist := r.Frames[0]
	if hist.Meta.Channel == "" || hist.Rows() != 20 {
		t.Fatalf("live history: channel %q, %d rows", hist.Meta.Channel, hist.Rows())
	}
	if hist.Fields[0].At(0).(time.Time).After(hist.Fields[0].At(19).(time.Time)) {
		t.Fatal("live history must be oldest first, so pushed rows append after it")
	}
	c, cancel, done := subscribeAndRun(t, ds, hist.Meta.Channel)
	defer cancel()
	time.Sleep(2 * recordsPoll) // the stream learns what is already there

	w.add(flow{exporter: "192.0.2.7/0", at: time.Now(), src: "203.0.113.5", dst: "198.51.100.1", proto: 6, bytes: 4242, packets: 3})
	select {
	case raw := <-c.frames:
		f := decodeFull(t, raw)
		if f.Rows() != 1 || len(f.Fields) != 3 {
			t.Fatalf("pushed %d rows, %d fields; want the one new flow", f.Rows(), len(f.Fields))
		}
		if src, _ := f.FieldByName("src_addr"); src.At(0) != "203.0.113.5" {
			t.Fatalf("pushed row: %v", src.At(0))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no live frame for a new flow")
	}
	select {
	case raw := <-c.frames:
		t.Fatalf("a row was pushed twice: %s", raw)
	case <-time.After(3 * recordsPoll):
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestLiveRecordsPushCompletedBuckets(t *testing.T) {
	srv, w, _ := flowServer(t, 0)
	ds := instance(t, srv, `{}`)
	q := `{"kind":"records","recordKind":"ipfix_flow","groupBy":["protocol"],"aggregates":[{"func":"sum","field":"bytes"}],"bucket":"1s","live":true}`
	r := recordsQuery(t, ds, q, time.Now().Add(-time.Minute), time.Now(), time.Second)
	hist := r.Frames[0]
	if len(r.Frames) != 1 || hist.Meta.Type != data.FrameTypeTimeSeriesWide || hist.Meta.Channel == "" {
		t.Fatalf("live bucketed history: %d frames, %+v", len(r.Frames), hist.Meta)
	}
	c, cancel, done := subscribeAndRun(t, ds, hist.Meta.Channel)
	defer cancel()

	stop := time.Now().Add(6 * time.Second)
	var got *data.Frame
	for got == nil && time.Now().Before(stop) {
		w.add(flow{exporter: "192.0.2.7/0", at: time.Now(), src: "203.0.113.5", dst: "198.51.100.1", proto: 17, bytes: 1000, packets: 1})
		select {
		case raw := <-c.frames:
			got = decodeFull(t, raw)
		case <-time.After(200 * time.Millisecond):
		}
	}
	if got == nil {
		t.Fatal("no completed bucket pushed")
	}
	if got.Fields[0].Type() != data.FieldTypeTime || len(got.Fields) < 2 || got.Rows() < 1 {
		t.Fatalf("pushed bucket frame: %d fields, %d rows", len(got.Fields), got.Rows())
	}
	bucket := got.Fields[0].At(0).(time.Time)
	if time.Since(bucket) < time.Second+query.RecordsLiveGrace {
		t.Fatalf("bucket %s pushed before it was complete", bucket)
	}
	var udp *data.Field
	for _, f := range got.Fields[1:] {
		if f.Labels["protocol"] == "17" {
			udp = f
		}
	}
	if udp == nil || floatAt(udp, 0) < 1000 {
		t.Fatalf("the UDP flows' bucket is missing from %v", got.Fields)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// Before the first flow the table has no columns: panels and alert rules
// get "no data" with a notice, not an error, and live panels still stream.
func TestRecordsQueriesBeforeTheFirstFlow(t *testing.T) {
	srv := testServer(t)
	srv.Flows = records.NewTable(server.FlowTable, records.Options{})
	ds := instance(t, srv, `{}`)
	from, to := time.Now().Add(-time.Hour), time.Now()
	for _, q := range []string{
		`{"kind":"records","recordKind":"ipfix_flow","groupBy":["application"],"aggregates":[{"func":"sum","field":"bytes"}],"bucket":"1m"}`,
		`{"kind":"records","recordKind":"ipfix_flow","groupBy":["rtt_bucket"],"aggregates":[{"func":"count"}]}`,
	} {
		r := recordsQuery(t, ds, q, from, to, time.Second)
		f := r.Frames[0]
		if f.Rows() != 0 || len(f.Meta.Notices) == 0 || !strings.Contains(f.Meta.Notices[0].Text, "no records hold it yet") {
			t.Fatalf("%s: %d rows, notices %+v", q, f.Rows(), f.Meta.Notices)
		}
	}
	r := recordsQuery(t, instance(t, srv, `{"devices":["192.0.2.7/0"]}`), `{"kind":"records","recordKind":"ipfix_flow","columns":["time","src_addr"],"live":true}`, from, to, time.Second)
	if r.Frames[0].Meta.Channel == "" {
		t.Fatal("a live panel opened before the first flow has no channel")
	}
}
