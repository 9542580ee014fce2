package e2e

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"

	"github.com/netlens/netlens/pkg/sim/ipfixsim"
)

// TestBinaryServesSimulatedIPFIX: the simulated exporter sends flows over
// UDP to the plugin binary on loopback; they come back through QueryData
// as raw rows, as a grouped aggregate whose totals are the simulator's, and
// as volume series through PromQL; a live records channel pushes the flows
// of a second burst through RunStream.
func TestBinaryServesSimulatedIPFIX(t *testing.T) {
	dir := t.TempDir()
	p := startPlugin(t, map[string]string{
		"GF_PLUGIN_DATA_DIR":                 filepath.Join(dir, "data"),
		"GF_PLUGIN_FTD_LISTEN_ADDRESS":       "off",
		"GF_PLUGIN_IPFIX_UDP_LISTEN_ADDRESS": "127.0.0.1:0",
		"GF_PLUGIN_IPFIX_TCP_LISTEN_ADDRESS": "off",
		"GF_PLUGIN_RECORDS_MAX_BYTES":        "64MB",
	})
	target := p.listener(t, "ipfix-udp")
	if h := p.checkHealth(t); h.Status != backend.HealthStatusOk {
		t.Fatalf("health = %v: %s", h.Status, h.Message)
	}

	const flows = 3000
	exp := runExporter(t, ipfixsim.Config{Target: target, ODID: 7, Rate: 20000, Count: flows, Seed: 11, IPv6Share: 0.2})
	sent := exp.Totals()
	if sent.Flows.Records != flows || sent.Errors != 0 {
		t.Fatalf("the simulator sent %d flows with %d errors (%s)", sent.Flows.Records, sent.Errors, sent.LastError)
	}
	device := "127.0.0.1/7"

	// Every flow reaches the table: count() over the exporter.
	from := time.Now().Add(-10 * time.Minute)
	count := func() uint64 {
		res := p.queryData(t, map[string]any{"refId": "A", "kind": "records", "source": "ipfix", "recordKind": "ipfix_flow",
			"aggregates": []map[string]string{{"func": "count"}},
			"filters":    []map[string]any{{"field": "exporter", "op": "=", "values": []string{device}}}}, from, time.Now().Add(time.Minute))
		f := frameOf(t, res)
		if f.Rows() == 0 {
			return 0
		}
		v, _ := f.Fields[0].ConcreteAt(0)
		return uint64(v.(float64))
	}
	waitFor(t, "every flow to be stored", 20*time.Second, func() bool { return count() == flows })

	// Raw rows: a table, time first, with the flows' addresses.
	res := p.queryData(t, map[string]any{"refId": "A", "kind": "records", "recordKind": "ipfix_flow",
		"columns": []string{"time", "src_addr", "dst_addr", "protocol", "bytes"}, "limit": 50}, from, time.Now().Add(time.Minute))
	raw := frameOf(t, res)
	if raw.Rows() != 50 || raw.Fields[0].Name != "time" || raw.Fields[0].Type() != data.FieldTypeTime {
		t.Fatalf("raw rows: %d rows, first field %s %s", raw.Rows(), raw.Fields[0].Name, raw.Fields[0].Type())
	}
	if src, _ := raw.FieldByName("src_addr"); src == nil || src.Len() != 50 {
		t.Fatal("raw rows have no src_addr")
	}

	// Sum of bytes and count by protocol equal the simulator's totals.
	res = p.queryData(t, map[string]any{"refId": "A", "kind": "records", "recordKind": "ipfix_flow",
		"groupBy":    []string{"protocol"},
		"aggregates": []map[string]string{{"func": "sum", "field": "bytes"}, {"func": "count"}}}, from, time.Now().Add(time.Minute))
	grouped := frameOf(t, res)
	if grouped.Meta == nil || grouped.Meta.Type != data.FrameTypeNumericLong {
		t.Fatalf("grouped frame meta: %+v", grouped.Meta)
	}
	if grouped.Rows() != len(sent.ByProtocol) {
		t.Fatalf("%d protocols stored, the simulator sent %d", grouped.Rows(), len(sent.ByProtocol))
	}
	for i := range grouped.Rows() {
		proto, err := strconv.Atoi(grouped.Fields[0].At(i).(string))
		if err != nil {
			t.Fatalf("protocol %v: %v", grouped.Fields[0].At(i), err)
		}
		want := sent.ByProtocol[uint8(proto)]
		bytes, _ := grouped.Fields[1].ConcreteAt(i)
		n, _ := grouped.Fields[2].ConcreteAt(i)
		if uint64(bytes.(float64)) != want.ScaledBytes || uint64(n.(float64)) != want.Records {
			t.Errorf("protocol %d: stored %v bytes in %v flows, the simulator sent %d in %d", proto, bytes, n, want.ScaledBytes, want.Records)
		}
	}

	// The volume series through PromQL: the counter reaches the total, both
	// directions of the simulator's biflows together.
	wantVolume := sent.Flows.ScaledBytes + sent.Flows.ScaledReverseBytes
	var volume float64
	waitFor(t, "ipfix_bytes_total to reach the simulator's bytes", 30*time.Second, func() bool {
		res := p.queryData(t, map[string]any{"refId": "A", "source": "ipfix", "kind": "series", "editorMode": "code",
			"expr": `sum(ipfix_bytes_total{device="` + device + `"})`, "instant": true}, time.Now().Add(-time.Minute), time.Now())
		r := res.Responses["A"]
		if r.Error != nil || len(r.Frames) == 0 || r.Frames[0].Rows() == 0 {
			return false
		}
		volume = firstValue(t, res)
		return uint64(volume) == wantVolume
	})

	// The exporter is on the status resource with every record counted.
	var exps []struct {
		Device  string
		Records uint64
		State   string
	}
	p.resource(t, "ipfix/exporters", &exps)
	if len(exps) != 1 || exps[0].Device != device || exps[0].Records != flows || exps[0].State != "ok" {
		t.Fatalf("exporters = %+v", exps)
	}

	// Live: raw rows with a channel; RunStream pushes a second burst.
	live := p.queryData(t, map[string]any{"refId": "A", "kind": "records", "recordKind": "ipfix_flow",
		"columns": []string{"time", "exporter", "src_addr", "bytes"}, "limit": 100, "live": true}, from, time.Now())
	hist := frameOf(t, live)
	if hist.Meta == nil || hist.Meta.Channel == "" {
		t.Fatalf("live records query gave no channel: %+v", hist.Meta)
	}
	path := hist.Meta.Channel[len("ds/netlens/"):]
	sub, err := p.stream.SubscribeStream(context.Background(), backend.ToProto().SubscribeStreamRequest(&backend.SubscribeStreamRequest{PluginContext: p.pctx, Path: path}))
	if err != nil || sub.Status != pluginv2.SubscribeStreamResponse_OK {
		t.Fatalf("SubscribeStream %s: %v %v", path, sub, err)
	}
	sctx, scancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer scancel()
	rs, err := p.stream.RunStream(sctx, backend.ToProto().RunStreamRequest(&backend.RunStreamRequest{PluginContext: p.pctx, Path: path}))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // the stream first learns the rows already stored
	second := runExporter(t, ipfixsim.Config{Target: target, ODID: 8, Rate: 2000, Count: 200, Seed: 12})
	pkt, err := rs.Recv()
	if err != nil {
		t.Fatalf("RunStream delivered nothing: %v", err)
	}
	var pushed data.Frame
	if err := pushed.UnmarshalJSON(pkt.Data); err != nil {
		t.Fatalf("live packet is not a frame: %v", err)
	}
	exporter, _ := pushed.FieldByName("exporter")
	if pushed.Rows() == 0 || exporter == nil || exporter.At(0) != "127.0.0.1/8" {
		t.Fatalf("pushed %d rows; want the second exporter's flows (%d sent)", pushed.Rows(), second.Totals().Flows.Records)
	}
}

// listener asks the running plugin where one of its receivers listens.
func (p *pluginProcess) listener(t *testing.T, name string) string {
	t.Helper()
	var st statusBody
	p.resource(t, "status", &st)
	for _, l := range st.Listeners {
		if l.Name == name && l.Error == "" {
			return l.Bound
		}
	}
	t.Fatalf("no bound %s listener in %+v", name, st.Listeners)
	return ""
}

// runExporter sends cfg.Count flows and returns once they are on the wire.
func runExporter(t *testing.T, cfg ipfixsim.Config) *ipfixsim.Exporter {
	t.Helper()
	exp, err := ipfixsim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := exp.Run(ctx); err != nil {
		t.Fatalf("simulator: %v", err)
	}
	return exp
}

func frameOf(t *testing.T, res *backend.QueryDataResponse) *data.Frame {
	t.Helper()
	r := res.Responses["A"]
	if r.Error != nil {
		t.Fatalf("query error: %v", r.Error)
	}
	if len(r.Frames) == 0 {
		t.Fatal("no frame")
	}
	return r.Frames[0]
}
