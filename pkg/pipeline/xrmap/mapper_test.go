package xrmap

import (
	"context"
	"errors"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netlens/netlens/pkg/decode/xr"
	"github.com/netlens/netlens/pkg/decode/xr/mdt"
	"github.com/netlens/netlens/pkg/decode/xr/pdt"
	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/records"
	"github.com/netlens/netlens/pkg/status"
)

// fakeSink keeps a copy of every batch: the mapper reuses its sample slices
// once Write returns, as the real sink allows.
type fakeSink struct {
	mu      sync.Mutex
	batches []model.Batch
	err     error
}

func (f *fakeSink) Write(_ context.Context, b *model.Batch) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	c := *b
	c.Samples = slices.Clone(b.Samples)
	f.batches = append(f.batches, c)
	return nil
}

func (f *fakeSink) samples() []model.Sample {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []model.Sample
	for _, b := range f.batches {
		out = append(out, b.Samples...)
	}
	return out
}

const t0 = int64(1_764_000_000_000) // 2025-11-24, the tests' clock

type env struct {
	sink  *fakeSink
	table *records.Table
	board *status.Board
	m     *Mapper
	now   int64
}

func newEnv(t testing.TB, o Options) *env {
	t.Helper()
	e := &env{sink: &fakeSink{}, board: status.NewBoard(nil), now: t0}
	e.table = records.NewTable(StateTable, records.Options{Now: func() int64 { return e.now + 3_600_000 }})
	e.m = New(e.sink, e.table, e.board, o)
	return e
}

var router = model.DeviceRef{Source: model.SourceXR, ID: "192.0.2.1", Remote: "192.0.2.1:40000"}

func (e *env) write(t testing.TB, msg *xr.Message, receivedMs int64) {
	t.Helper()
	if err := e.m.Write(context.Background(), router, msg, receivedMs); err != nil {
		t.Fatal(err)
	}
}

// state returns the xr_state rows, oldest first, as column → value.
func (e *env) state(t testing.TB) []map[string]string {
	t.Helper()
	res, err := e.table.Query(context.Background(), records.Query{Limit: records.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	var rows []map[string]string
	for _, c := range res.Columns {
		for i := 0; i < c.Len(); i++ {
			if len(rows) <= i {
				rows = append(rows, map[string]string{})
			}
			if c.Null != nil && c.Null[i] {
				continue
			}
			switch v := c.Values.(type) {
			case []string:
				rows[i][c.Name] = v[i]
			case []uint64:
				rows[i][c.Name] = indexText(int32(v[i]))
			}
		}
	}
	slices.Reverse(rows)
	return rows
}

func counter(b *status.Board, name string) uint64 { return b.Snapshot().Counters[name] }

// series renders a sample's identity as name{labels} for comparisons.
func series(s model.Sample) string {
	var sb strings.Builder
	sb.WriteString(s.Name)
	sb.WriteByte('{')
	for i, l := range s.Labels {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(l.Name + "=" + l.Value)
	}
	sb.WriteByte('}')
	return sb.String()
}

// The same interface counters sent policy-driven (XR 6.x JSON) and
// model-driven (XR 7+ JSON) become the same series: same metric names, same
// key labels; only path (as sent) and policy tell them apart.
func TestPolicyAndModelDrivenGiveSameSeries(t *testing.T) {
	pdtMsg, err := pdt.DecodeJSON([]byte(`{
	 "Policy": "Demo", "Version": "25", "Identifier": "r1-pe", "CollectionID": 7,
	 "Path": "RootOper.InfraStatistics.Interface(*).Latest.GenericCounters",
	 "CollectionStartTime": 1764000000000,
	 "Data": {"RootOper": {"InfraStatistics": {"Interface": {
	   "GigabitEthernet0/0/0/0": {"Latest": {"GenericCounters": {
	     "PacketsReceived": 10, "BytesReceived": 1000, "InputDrops": 1, "CRCErrors": 0, "LastDataTime": 1764000000}}}}}}},
	 "CollectionEndTime": 1764000000100}`))
	if err != nil {
		t.Fatal(err)
	}
	mdtMsg, err := mdt.DecodeJSON([]byte(`{"node_id_str":"r1-pe","subscription_id_str":"Demo","collection_id":"8",
	 "encoding_path":"Cisco-IOS-XR-infra-statsd-oper:infra-statistics/interfaces/interface/latest/generic-counters",
	 "msg_timestamp":"1764000000200","collection_start_time":"1764000000000",
	 "data_json":[{"timestamp":"1764000000150","keys":[{"interface-name":"GigabitEthernet0/0/0/0"}],
	   "content":{"packets-received":"10","bytes-received":"1000","input-drops":1,"crc-errors":0,"last-data-time":1764000000}}],
	 "collection_end_time":"1764000000300"}`))
	if err != nil {
		t.Fatal(err)
	}
	identities := func(msg *xr.Message) ([]string, []model.Sample) {
		e := newEnv(t, Options{})
		e.write(t, msg, t0+5000)
		var ids []string
		s := e.sink.samples()
		for _, smp := range s {
			var keep model.Labels
			for _, l := range smp.Labels {
				if l.Name != "path" && l.Name != "policy" && l.Name != "subscription" {
					keep = append(keep, l)
				}
			}
			smp.Labels = keep
			ids = append(ids, series(smp)+" "+smp.Kind.String())
		}
		sort.Strings(ids)
		return ids, s
	}
	pIDs, pSamples := identities(pdtMsg)
	mIDs, mSamples := identities(mdtMsg)
	want := []string{
		"xr_generic_counters_bytes_received{device=r1-pe,interface_name=GigabitEthernet0/0/0/0} counter",
		"xr_generic_counters_crc_errors{device=r1-pe,interface_name=GigabitEthernet0/0/0/0} counter",
		"xr_generic_counters_input_drops{device=r1-pe,interface_name=GigabitEthernet0/0/0/0} counter",
		"xr_generic_counters_last_data_time{device=r1-pe,interface_name=GigabitEthernet0/0/0/0} gauge",
		"xr_generic_counters_packets_received{device=r1-pe,interface_name=GigabitEthernet0/0/0/0} counter",
	}
	if !slices.Equal(pIDs, want) || !slices.Equal(mIDs, want) {
		t.Fatalf("policy-driven\n %s\nmodel-driven\n %s\nwant\n %s", strings.Join(pIDs, "\n "), strings.Join(mIDs, "\n "), strings.Join(want, "\n "))
	}
	// The labels that differ are the path as sent, and the policy that only
	// policy-driven telemetry has.
	if l := pSamples[0].Labels; l.Get("path") != pdtMsg.Path || l.Get("policy") != "Demo" || l.Get("subscription") != "" {
		t.Errorf("policy-driven labels %v", l)
	}
	if l := mSamples[0].Labels; l.Get("path") != mdtMsg.Path || l.Get("policy") != "" || l.Get("subscription") != "Demo" {
		t.Errorf("model-driven labels %v", l)
	}
	// Times: the PDT row has none (the decoder gives the message's), the MDT
	// row has its own.
	if pSamples[0].TimestampMs != 1764000000100 || mSamples[0].TimestampMs != 1764000000150 {
		t.Errorf("timestamps %d %d", pSamples[0].TimestampMs, mSamples[0].TimestampMs)
	}
}

func TestLabelsTimesAndBatches(t *testing.T) {
	e := newEnv(t, Options{})
	msg := &xr.Message{Path: "RootOper.MemorySummary.Node(*).Summary", Encoding: xr.EncodingGPBKV, Rows: []xr.Row{
		{TimestampMs: 111, Keys: []xr.Leaf{{Name: "NodeName", Kind: xr.LeafString, S: "0/RP0/CPU0"}},
			Content: []xr.Leaf{{Name: "RAMMemory", Kind: xr.LeafUint, U: 1 << 34}, {Name: "Up", Kind: xr.LeafBool, B: true}}},
		{Keys: []xr.Leaf{{Name: "NodeName", Kind: xr.LeafString, S: "0/RP1/CPU0"}},
			Content: []xr.Leaf{{Name: "RAMMemory", Kind: xr.LeafUint, U: 2}, {Name: "Temp", Kind: xr.LeafInt, I: -3}, {Name: "Load", Kind: xr.LeafFloat, F: 0.5}}},
	}}
	// No Node (key-value GPB carries none): the device label is the
	// receiver's DeviceRef.ID; no row or message time: the receive time.
	e.write(t, msg, t0)
	if len(e.sink.batches) != 1 || e.sink.batches[0].Device != router || e.sink.batches[0].ReceivedMs != t0 {
		t.Fatalf("batches %+v", e.sink.batches)
	}
	var got []string
	for _, s := range e.sink.samples() {
		got = append(got, series(s)+" "+s.Kind.String()+" "+time.UnixMilli(s.TimestampMs).UTC().Format("15:04:05.000")+" "+strconvFloat(s.Value))
	}
	p := "path=RootOper.MemorySummary.Node(*).Summary"
	want := []string{
		"xr_summary_ram_memory{device=192.0.2.1,node_name=0/RP0/CPU0," + p + "} gauge 00:00:00.111 17179869184",
		"xr_summary_up{device=192.0.2.1,node_name=0/RP0/CPU0," + p + "} gauge 00:00:00.111 1",
		"xr_summary_ram_memory{device=192.0.2.1,node_name=0/RP1/CPU0," + p + "} gauge 16:00:00.000 2",
		"xr_summary_temp{device=192.0.2.1,node_name=0/RP1/CPU0," + p + "} gauge 16:00:00.000 -3",
		"xr_summary_load{device=192.0.2.1,node_name=0/RP1/CPU0," + p + "} gauge 16:00:00.000 0.5",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got\n %s\nwant\n %s", strings.Join(got, "\n "), strings.Join(want, "\n "))
	}
	// The message's time comes before the receive time; Node before the ID.
	msg.MsgTimestampMs, msg.Node = t0-500, "r9"
	e.write(t, msg, t0+10_000)
	s := e.sink.batches[1].Samples
	if s[0].TimestampMs != 111 || s[2].TimestampMs != t0-500 || s[2].Labels.Get("device") != "r9" {
		t.Errorf("second message %v", s)
	}
	if c := counter(e.board, CounterSamples); c != 10 {
		t.Errorf("%s = %d", CounterSamples, c)
	}
}

func strconvFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// A container repeated inside one row (IOS XR's per-process CPU list)
// gives its leaves an index label, 0, 1, ... in order; leaves that occur
// once have none. String leaves of the list go to xr_state with the index.
func TestRepeatedLeavesGetIndex(t *testing.T) {
	e := newEnv(t, Options{})
	msg := &xr.Message{Node: "r1", Subscription: "cpu", Path: "Cisco-IOS-XR-wdsysmon-fd-oper:system-monitoring/cpu-utilization", Rows: []xr.Row{{
		TimestampMs: t0,
		Keys:        []xr.Leaf{{Name: "node-name", Kind: xr.LeafString, S: "0/RP0/CPU0"}},
		Content: []xr.Leaf{
			{Name: "total-cpu-one-minute", Kind: xr.LeafUint, U: 3},
			{Name: "process-cpu/process-name", Kind: xr.LeafString, S: "init"},
			{Name: "process-cpu/process-cpu-one-minute", Kind: xr.LeafUint, U: 0},
			{Name: "process-cpu/process-name", Kind: xr.LeafString, S: "bgp"},
			{Name: "process-cpu/process-cpu-one-minute", Kind: xr.LeafUint, U: 7},
		}}}}
	for i := range 2 { // the second message takes the planned path
		e.write(t, msg, t0+int64(i)*1000)
	}
	for _, b := range e.sink.batches {
		var got []string
		for _, s := range b.Samples {
			got = append(got, s.Name+" index="+s.Labels.Get("index"))
		}
		want := []string{"xr_cpu_utilization_total_cpu_one_minute index=",
			"xr_cpu_utilization_process_cpu_process_cpu_one_minute index=0",
			"xr_cpu_utilization_process_cpu_process_cpu_one_minute index=1"}
		if !slices.Equal(got, want) {
			t.Fatalf("got %q", got)
		}
		if b.Samples[2].Value != 7 {
			t.Errorf("bgp's value %v", b.Samples[2].Value)
		}
	}
	rows := e.state(t)
	if len(rows) != 2 || rows[0]["value"] != "init" || rows[0]["index"] != "0" || rows[1]["value"] != "bgp" || rows[1]["index"] != "1" {
		t.Errorf("state rows %v", rows)
	}
}

// Keys named like the labels the mapper sets get "key_" in front, in
// series and in xr_state columns; keys named like xr_state's own columns
// too, in the table only.
func TestReservedKeyNames(t *testing.T) {
	e := newEnv(t, Options{})
	msg := &xr.Message{Node: "r1", Policy: "P", Subscription: "G", Path: "RootOper.X.Y", Rows: []xr.Row{{TimestampMs: t0,
		Keys: []xr.Leaf{{Name: "Device", Kind: xr.LeafString, S: "d"}, {Name: "path", Kind: xr.LeafString, S: "p"},
			{Name: "Index", Kind: xr.LeafUint, U: 4}, {Name: "Value", Kind: xr.LeafString, S: "v"}, {Name: "Policy", Kind: xr.LeafInt, I: -1}},
		Content: []xr.Leaf{{Name: "Count", Kind: xr.LeafUint, U: 1}, {Name: "State", Kind: xr.LeafString, S: "up"}},
	}}}
	e.write(t, msg, t0)
	s := e.sink.samples()
	if len(s) != 1 {
		t.Fatalf("samples %v", s)
	}
	want := "xr_y_count{device=r1,key_device=d,key_index=4,key_path=p,key_policy=-1,path=RootOper.X.Y,policy=P,subscription=G,value=v}"
	if got := series(s[0]); got != want || s[0].Kind != model.KindCounter {
		t.Errorf("got  %s %v\nwant %s", got, s[0].Kind, want)
	}
	rows := e.state(t)
	wantRow := map[string]string{"time": "", "device": "r1", "path": "RootOper.X.Y", "policy": "P", "subscription": "G", "leaf": "State", "value": "up",
		"key_device": "d", "key_path": "p", "key_index": "4", "key_value": "v", "key_policy": "-1"}
	if len(rows) != 1 {
		t.Fatalf("rows %v", rows)
	}
	delete(rows[0], "time")
	delete(wantRow, "time")
	if !mapsEqual(rows[0], wantRow) {
		t.Errorf("row %v\nwant %v", rows[0], wantRow)
	}
	if paths := e.m.Paths("r1"); len(paths) != 1 || !slices.Equal(paths[0].Keys, []string{"key_device", "key_path", "key_index", "value", "key_policy"}) {
		t.Errorf("paths %+v", paths)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// A string leaf is written when it changes, or StateRefresh after its last
// write; the clock is the receive time Write is given.
func TestStateOnChangeAndRefresh(t *testing.T) {
	e := newEnv(t, Options{StateRefresh: time.Minute})
	msg := func(gi0, gi1 string, mtu uint64) *xr.Message {
		row := func(name, state string) xr.Row {
			return xr.Row{Keys: []xr.Leaf{{Name: "interface-name", Kind: xr.LeafString, S: name}},
				Content: []xr.Leaf{{Name: "state", Kind: xr.LeafString, S: state}, {Name: "mtu", Kind: xr.LeafUint, U: mtu},
					{Name: "mac", Kind: xr.LeafBytes, S: "\x00\x1b\x21\xaa\xbb\xcc"}}}
		}
		return &xr.Message{Node: "r1", Subscription: "ifs", Path: "Cisco-IOS-XR-pfi-im-cmd-oper:interfaces/interface-xr/interface",
			Rows: []xr.Row{row("Gi0", gi0), row("Gi1", gi1)}}
	}
	type want struct{ iface, value string }
	steps := []struct {
		at     int64
		gi0    string
		gi1    string
		writes []want
	}{
		{0, "im-state-up", "im-state-down", []want{{"Gi0", "im-state-up"}, {"Gi0", "001b21aabbcc"}, {"Gi1", "im-state-down"}, {"Gi1", "001b21aabbcc"}}},
		{10_000, "im-state-up", "im-state-down", nil},
		{20_000, "im-state-up", "im-state-up", []want{{"Gi1", "im-state-up"}}},
		{59_999, "im-state-up", "im-state-up", nil},
		// a minute after their first write, Gi0's leaves and Gi1's mac are
		// written again; Gi1's state was written at 20 s
		{60_000, "im-state-up", "im-state-up", []want{{"Gi0", "im-state-up"}, {"Gi0", "001b21aabbcc"}, {"Gi1", "001b21aabbcc"}}},
		{80_000, "im-state-up", "im-state-up", []want{{"Gi1", "im-state-up"}}},
		{85_000, "im-state-down", "im-state-up", []want{{"Gi0", "im-state-down"}}},
	}
	seen := 0
	for _, st := range steps {
		e.write(t, msg(st.gi0, st.gi1, 1500), t0+st.at)
		rows := e.state(t)
		var got []want
		for _, r := range rows[seen:] {
			got = append(got, want{r["interface_name"], r["value"]})
			if r["device"] != "r1" || r["subscription"] != "ifs" || r["path"] != "Cisco-IOS-XR-pfi-im-cmd-oper:interfaces/interface-xr/interface" ||
				r["policy"] != "" || (r["leaf"] != "state" && r["leaf"] != "mac") {
				t.Errorf("row %v", r)
			}
		}
		seen = len(rows)
		if !slices.Equal(got, st.writes) {
			t.Errorf("at %d ms: wrote %v, want %v", st.at, got, st.writes)
		}
	}
	if c := counter(e.board, CounterStateRows); c != uint64(seen) {
		t.Errorf("%s = %d, want %d", CounterStateRows, c, seen)
	}
	// The records carry the row's time, not the receive time (rows here
	// have none, so the receive time it is).
	res, err := e.table.Query(context.Background(), records.Query{Columns: []string{"time"}, Limit: 1})
	if err != nil || res.Columns[0].Values.([]int64)[0] != t0+85_000 {
		t.Errorf("newest row time %v %v", res, err)
	}
}

// Past MaxSeriesPerRouter series, a router's new series are dropped and
// counted, its error record says why, its known series keep flowing, and
// other routers are not affected.
func TestSeriesLimit(t *testing.T) {
	e := newEnv(t, Options{MaxSeriesPerRouter: 100})
	msg := func(node string, rows int) *xr.Message {
		m := &xr.Message{Node: node, Path: "RootOper.InfraStatistics.Interface(*).Latest.GenericCounters"}
		for i := range rows {
			m.Rows = append(m.Rows, xr.Row{TimestampMs: t0,
				Keys:    []xr.Leaf{{Name: "InterfaceName", Kind: xr.LeafString, S: "Gi0/0/0/" + indexText(int32(i))}},
				Content: []xr.Leaf{{Name: "BytesReceived", Kind: xr.LeafUint, U: uint64(i)}, {Name: "PacketsSent", Kind: xr.LeafUint, U: 1}}})
		}
		return m
	}
	e.write(t, msg("r1", 30), t0) // 60 series
	e.write(t, msg("r1", 80), t0+1000)
	// 60 known + 40 new (the first 20 new rows' two leaves); 30 rows × 2 dropped
	if n := len(e.sink.batches[1].Samples); n != 100 {
		t.Errorf("second message: %d samples, want 100", n)
	}
	if c := counter(e.board, CounterSeriesDropped); c != 60 {
		t.Errorf("%s = %d, want 60", CounterSeriesDropped, c)
	}
	e.write(t, msg("r1", 80), t0+2000)
	if n := len(e.sink.batches[2].Samples); n != 100 {
		t.Errorf("third message: %d samples, want 100", n)
	}
	if c := counter(e.board, CounterSeriesDropped); c != 120 {
		t.Errorf("%s = %d, want 120", CounterSeriesDropped, c)
	}
	e.write(t, msg("r2", 50), t0+2000)
	if n := len(e.sink.batches[3].Samples); n != 100 {
		t.Errorf("another router: %d samples, want 100", n)
	}
	dev := e.board.Snapshot().Devices
	if len(dev) != 1 || dev[0].Errors[status.CatBuffer] == nil || !strings.Contains(dev[0].Errors[status.CatBuffer].Last, "series_limit") {
		t.Fatalf("device record %+v", dev)
	}
	if dev[0].Errors[status.CatBuffer].Count != 1 { // spaced errorEveryMs apart; the counter has the figure
		t.Errorf("error count %d", dev[0].Errors[status.CatBuffer].Count)
	}
}

// The string leaves' change tracker has the same bound.
func TestStateTrackerLimit(t *testing.T) {
	e := newEnv(t, Options{MaxSeriesPerRouter: 100})
	m := &xr.Message{Node: "r1", Path: "p:a/b"}
	for i := range 60 {
		m.Rows = append(m.Rows, xr.Row{TimestampMs: t0, Keys: []xr.Leaf{{Name: "k", Kind: xr.LeafUint, U: uint64(i)}},
			Content: []xr.Leaf{{Name: "x", Kind: xr.LeafString, S: "a"}, {Name: "y", Kind: xr.LeafString, S: "b"}}})
	}
	e.write(t, m, t0)
	if n := len(e.state(t)); n != 100 {
		t.Errorf("%d state rows, want 100", n)
	}
	if c := counter(e.board, CounterStateDropped); c != 20 {
		t.Errorf("%s = %d", CounterStateDropped, c)
	}
}

func TestCatalog(t *testing.T) {
	e := newEnv(t, Options{})
	gc := "RootOper.InfraStatistics.Interface(*).Latest.GenericCounters"
	e.write(t, &xr.Message{Node: "r1", Policy: "Demo", Subscription: "G1", Path: gc, Encoding: xr.EncodingGPBKV, Rows: []xr.Row{
		{Keys: []xr.Leaf{{Name: "InterfaceName", Kind: xr.LeafString, S: "Gi0"}},
			Content: []xr.Leaf{{Name: "BytesReceived", Kind: xr.LeafUint, U: 1}, {Name: "Description", Kind: xr.LeafString, S: "x"}}},
		{Keys: []xr.Leaf{{Name: "InterfaceName", Kind: xr.LeafString, S: "Gi1"}},
			Content: []xr.Leaf{{Name: "BytesReceived", Kind: xr.LeafUint, U: 1}, {Name: "Availability", Kind: xr.LeafFloat, F: 99}}},
	}}, t0)
	e.write(t, &xr.Message{Node: "r1", Policy: "Demo", Subscription: "G1", Path: gc, Encoding: xr.EncodingJSON, Rows: []xr.Row{
		{Keys: []xr.Leaf{{Name: "InterfaceName", Kind: xr.LeafString, S: "Gi0"}},
			Content: []xr.Leaf{{Name: "BytesReceived", Kind: xr.LeafUint, U: 2}}},
	}}, t0+30_000)
	e.write(t, &xr.Message{Node: "r2", Path: gc, Rows: []xr.Row{
		{Content: []xr.Leaf{{Name: "PacketsSent", Kind: xr.LeafUint, U: 1}, {Name: strings.Repeat("Long", 60), Kind: xr.LeafUint}}},
	}}, t0)
	e.write(t, &xr.Message{Node: "r2", Path: "Cisco-IOS-XR-nto-misc-oper:memory-summary/nodes/node/summary", Rows: []xr.Row{
		{Keys: []xr.Leaf{{Name: "node-name", Kind: xr.LeafString, S: "0/RP0/CPU0"}}, Content: []xr.Leaf{{Name: "ram-memory", Kind: xr.LeafUint, U: 1}}},
	}}, t0)

	got := e.m.Paths("r1")
	want := []PathInfo{{Device: "r1", Path: gc, Policy: "Demo", Subscription: "G1", Encoding: "json", LastSeenMs: t0 + 30_000,
		Messages: 2, Rows: 1, Keys: []string{"interface_name"}, Leaves: 3}}
	if len(got) != 1 || !pathInfoEqual(got[0], want[0]) {
		t.Errorf("r1 paths %+v", got)
	}
	all := e.m.Paths("")
	var names []string
	for _, p := range all {
		names = append(names, p.Device+" "+p.Path)
	}
	if !slices.Equal(names, []string{"r1 " + gc, "r2 Cisco-IOS-XR-nto-misc-oper:memory-summary/nodes/node/summary", "r2 " + gc}) {
		t.Errorf("all paths %q", names)
	}
	if p := e.m.Paths("nobody"); len(p) != 0 {
		t.Errorf("unknown router: %v", p)
	}
	leaves := e.m.Leaves("r1", gc)
	wantLeaves := []LeafInfo{
		{Leaf: "Availability", Metric: "xr_generic_counters_availability", Kind: "gauge", Type: "float"},
		{Leaf: "BytesReceived", Metric: "xr_generic_counters_bytes_received", Kind: "counter", Type: "uint"},
		{Leaf: "Description", Kind: "string", Type: "string"},
	}
	if !slices.Equal(leaves, wantLeaves) {
		t.Errorf("r1 leaves %+v", leaves)
	}
	union := e.m.Leaves("", gc)
	var ln []string
	for _, l := range union {
		ln = append(ln, l.Leaf+" "+l.Metric)
	}
	long := strings.Repeat("Long", 60)
	if !slices.Equal(ln, []string{"Availability xr_generic_counters_availability", "BytesReceived xr_generic_counters_bytes_received",
		"Description ", long + " ", "PacketsSent xr_generic_counters_packets_sent"}) {
		t.Errorf("union %q", ln)
	}
	// The refused name is counted and said on the router's record.
	if c := counter(e.board, CounterNamesRefused); c != 1 {
		t.Errorf("%s = %d", CounterNamesRefused, c)
	}
}

func pathInfoEqual(a, b PathInfo) bool {
	return a.Device == b.Device && a.Path == b.Path && a.Policy == b.Policy && a.Subscription == b.Subscription &&
		a.Encoding == b.Encoding && a.LastSeenMs == b.LastSeenMs && a.Messages == b.Messages && a.Rows == b.Rows &&
		a.Leaves == b.Leaves && slices.Equal(a.Keys, b.Keys)
}

// Paths and leaves past the catalog bounds are dropped and counted: the
// catalog also holds the name caches, so it must not grow with what a
// router invents.
func TestCatalogBounds(t *testing.T) {
	e := newEnv(t, Options{})
	for i := range MaxPathsPerDevice + 3 {
		e.write(t, &xr.Message{Node: "r1", Path: "m:p" + indexText(int32(i%256)) + "/x" + strings.Repeat("y", i/256),
			Rows: []xr.Row{{Content: []xr.Leaf{{Name: "a", Kind: xr.LeafUint}}}}}, t0)
	}
	if n := len(e.m.Paths("r1")); n != MaxPathsPerDevice {
		t.Errorf("%d paths", n)
	}
	if c := counter(e.board, CounterCatalogDropped); c != 3 {
		t.Errorf("%s = %d", CounterCatalogDropped, c)
	}
	row := xr.Row{}
	for i := range MaxLeavesPerPath + 5 {
		row.Content = append(row.Content, xr.Leaf{Name: "l" + indexText(int32(i%256)) + strings.Repeat("z", i/256), Kind: xr.LeafUint})
	}
	e.write(t, &xr.Message{Node: "r2", Path: "m:q", Rows: []xr.Row{row}}, t0)
	if n := len(e.m.Leaves("r2", "m:q")); n != MaxLeavesPerPath {
		t.Errorf("%d leaves", n)
	}
	if c := counter(e.board, CounterCatalogDropped); c != 8 {
		t.Errorf("%s = %d", CounterCatalogDropped, c)
	}
	if n := len(e.sink.batches[len(e.sink.batches)-1].Samples); n != MaxLeavesPerPath {
		t.Errorf("%d samples", n)
	}
}

// A row whose shape changes from one message to the next (a list that
// grew, a leaf that turned from number to text) is re-planned, not
// mis-mapped.
func TestRowShapeChanges(t *testing.T) {
	e := newEnv(t, Options{})
	base := func(content ...xr.Leaf) *xr.Message {
		return &xr.Message{Node: "r1", Path: "m:a/b", Rows: []xr.Row{{TimestampMs: t0, Content: content}}}
	}
	u := func(n string, v uint64) xr.Leaf { return xr.Leaf{Name: n, Kind: xr.LeafUint, U: v} }
	e.write(t, base(u("list/x", 1)), t0)
	e.write(t, base(u("list/x", 1), u("list/x", 2)), t0+1)
	e.write(t, base(u("list/x", 1), xr.Leaf{Name: "list/x", Kind: xr.LeafString, S: "n/a"}), t0+2)
	e.write(t, base(u("list/x", 5)), t0+3)
	var got []string
	for _, b := range e.sink.batches {
		var s []string
		for _, smp := range b.Samples {
			s = append(s, smp.Labels.Get("index")+"="+strconvFloat(smp.Value))
		}
		got = append(got, strings.Join(s, " "))
	}
	if want := []string{"=1", "0=1 1=2", "0=1", "=5"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if rows := e.state(t); len(rows) != 1 || rows[0]["value"] != "n/a" || rows[0]["index"] != "1" {
		t.Errorf("state %v", rows)
	}
}

// OpenConfig containers subscribed whole send keyless rows with the list
// entries' keys inside the content: "<list>/name" and "<list>/index"
// become labels (and columns), so entries do not share one series.
func TestKeylessRowsTakeTheirListName(t *testing.T) {
	e := newEnv(t, Options{})
	// As IOS XR 24.4 sends it: one row per subinterface.
	row := func(name string, sub uint64, in uint64) xr.Row {
		return xr.Row{TimestampMs: t0, Content: []xr.Leaf{
			{Name: "interface/name", Kind: xr.LeafString, S: name},
			{Name: "interface/state/oper-status", Kind: xr.LeafString, S: "UP"},
			{Name: "interface/state/counters/in-octets", Kind: xr.LeafUint, U: in},
			{Name: "interface/subinterfaces/subinterface/index", Kind: xr.LeafUint, U: sub},
			{Name: "interface/subinterfaces/subinterface/state/index", Kind: xr.LeafUint, U: sub},
			{Name: "interface/subinterfaces/subinterface/state/name", Kind: xr.LeafString, S: name + "." + indexText(int32(sub))},
		}}
	}
	e.write(t, &xr.Message{Node: "r1", Path: "openconfig-interfaces:interfaces", Rows: []xr.Row{row("Te0/0/0/16", 12, 5), row("Te0/0/0/16", 121, 5), row("Te0/0/0/17", 0, 6)}}, t0)
	var got []string
	for _, s := range e.sink.samples() {
		got = append(got, series(s))
	}
	l := "device=r1,interface_name=Te0/0/0/16,path=openconfig-interfaces:interfaces,subinterface_index="
	want := []string{
		"xr_interfaces_interface_state_counters_in_octets{" + l + "12}",
		"xr_interfaces_interface_subinterfaces_subinterface_state_index{" + l + "12}",
		"xr_interfaces_interface_state_counters_in_octets{" + l + "121}",
		"xr_interfaces_interface_subinterfaces_subinterface_state_index{" + l + "121}",
		"xr_interfaces_interface_state_counters_in_octets{device=r1,interface_name=Te0/0/0/17,path=openconfig-interfaces:interfaces,subinterface_index=0}",
		"xr_interfaces_interface_subinterfaces_subinterface_state_index{device=r1,interface_name=Te0/0/0/17,path=openconfig-interfaces:interfaces,subinterface_index=0}",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n %s", strings.Join(got, "\n "))
	}
	rows := e.state(t)
	if len(rows) != 6 || rows[0]["interface_name"] != "Te0/0/0/16" || rows[0]["subinterface_index"] != "12" || rows[0]["leaf"] != "interface/state/oper-status" ||
		rows[1]["leaf"] != "interface/subinterfaces/subinterface/state/name" || rows[1]["value"] != "Te0/0/0/16.12" {
		t.Errorf("state %v", rows)
	}
	var leaves []string
	for _, l := range e.m.Leaves("r1", "openconfig-interfaces:interfaces") {
		leaves = append(leaves, l.Leaf)
	}
	if want := []string{"interface/state/counters/in-octets", "interface/state/oper-status",
		"interface/subinterfaces/subinterface/state/index", "interface/subinterfaces/subinterface/state/name"}; !slices.Equal(leaves, want) {
		t.Errorf("leaves %q", leaves)
	}
	if p := e.m.Paths("r1"); !slices.Equal(p[0].Keys, []string{"interface_name", "subinterface_index"}) || p[0].Leaves != 4 {
		t.Errorf("path %+v", p[0])
	}
}

func TestSinkErrorIsReturned(t *testing.T) {
	e := newEnv(t, Options{})
	e.sink.err = errors.New("wal full")
	msg := &xr.Message{Node: "r1", Path: "m:a", Rows: []xr.Row{{Content: []xr.Leaf{{Name: "bytes", Kind: xr.LeafUint, U: 1}}}}}
	err := e.m.Write(context.Background(), router, msg, t0)
	if err == nil || !strings.Contains(err.Error(), "wal full") || !strings.Contains(err.Error(), "1 samples not stored") {
		t.Fatalf("err %v", err)
	}
	if c := counter(e.board, CounterSamples); c != 0 {
		t.Errorf("%s = %d after a failed write", CounterSamples, c)
	}
}

// Many connections of many routers write at once (run with -race).
func TestConcurrentWrites(t *testing.T) {
	e := newEnv(t, Options{})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			node := "r" + indexText(int32(g%3))
			for i := range 200 {
				msg := &xr.Message{Node: node, Path: "m:a/b", Rows: []xr.Row{{TimestampMs: t0 + int64(i),
					Keys:    []xr.Leaf{{Name: "k", Kind: xr.LeafUint, U: uint64(i % 7)}},
					Content: []xr.Leaf{{Name: "packets", Kind: xr.LeafUint, U: uint64(i)}, {Name: "state", Kind: xr.LeafString, S: indexText(int32(i % 2))}}}}}
				if err := e.m.Write(context.Background(), router, msg, t0+int64(i)); err != nil {
					t.Error(err)
					return
				}
				if i%50 == 0 {
					e.m.Paths("")
					e.m.Leaves("", "m:a/b")
				}
			}
		}()
	}
	wg.Wait()
	if n := len(e.sink.samples()); n != 8*200 {
		t.Errorf("%d samples", n)
	}
	if p := e.m.Paths(""); len(p) != 3 || p[0].Messages+p[1].Messages+p[2].Messages != 1600 {
		t.Errorf("paths %+v", p)
	}
}

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		kind xr.Kind
		leaf string
		want model.Kind
	}{
		{xr.LeafUint, "BytesReceived", model.KindCounter},
		{xr.LeafUint, "bytes-received", model.KindCounter},
		{xr.LeafUint, "interface/state/counters/in-octets", model.KindCounter},
		{xr.LeafUint, "in-unicast-pkts", model.KindCounter},
		{xr.LeafUint, "InputDrops", model.KindCounter},
		{xr.LeafInt, "CarrierTransitions", model.KindCounter},
		{xr.LeafUint, "CRCErrors", model.KindCounter},
		{xr.LeafUint, "np-counter/counter-value", model.KindCounter},
		{xr.LeafUint, "accepted", model.KindCounter},
		{xr.LeafUint, "OutputBufferFailures", model.KindCounter},
		{xr.LeafUint, "SecondsSinceLastClearCounters", model.KindGauge},
		{xr.LeafUint, "InputDataRate", model.KindGauge},
		{xr.LeafUint, "total-cpu-one-minute", model.KindGauge},
		{xr.LeafUint, "RAMMemory", model.KindGauge},
		{xr.LeafUint, "np-counter/counter-index", model.KindGauge},
		{xr.LeafUint, "static-info/burst-rate", model.KindGauge},
		{xr.LeafUint, "LastDataTime", model.KindGauge},
		{xr.LeafUint, "interface/state/counters/last-clear", model.KindGauge},
		{xr.LeafUint, "mtu", model.KindGauge},
		{xr.LeafUint, "PrefixesAccepted", model.KindGauge},
		{xr.LeafUint, "af-data/prefixes-accepted", model.KindGauge},
		{xr.LeafUint, "active-routes-count", model.KindGauge},
		{xr.LeafFloat, "BytesReceived", model.KindGauge},
		{xr.LeafBool, "packets", model.KindGauge},
	} {
		if got := classify(c.kind, c.leaf); got != c.want {
			t.Errorf("classify(%v, %q) = %v, want %v", c.kind, c.leaf, got, c.want)
		}
	}
}

// A router whose rows hold more leaves than its plan budget is mapped all
// the same, without the plans growing its memory.
func TestPlanBudget(t *testing.T) {
	e := newEnv(t, Options{MaxSeriesPerRouter: 100})
	row := xr.Row{TimestampMs: t0}
	for i := range 500 {
		row.Content = append(row.Content, xr.Leaf{Name: "l" + strconv.Itoa(i), Kind: xr.LeafUint, U: uint64(i)})
	}
	msg := &xr.Message{Node: "r1", Path: "m:a", Rows: []xr.Row{row}}
	for range 2 {
		e.write(t, msg, t0)
	}
	for i, b := range e.sink.batches {
		if len(b.Samples) != 100 || b.Samples[99].Value != 99 {
			t.Errorf("message %d: %d samples", i, len(b.Samples))
		}
	}
	if c := counter(e.board, CounterSeriesDropped); c != 800 {
		t.Errorf("%s = %d", CounterSeriesDropped, c)
	}
	d := e.m.devicesOf("r1")[0]
	if d.planSteps != 0 {
		t.Errorf("%d plan steps kept", d.planSteps)
	}
}

// The store keeps the label set of each new series, so label sets handed
// out are never changed afterwards, whatever arrives next.
func TestLabelSetsAreNeverReused(t *testing.T) {
	e := newEnv(t, Options{})
	msg := func(i int) *xr.Message {
		return &xr.Message{Node: "r1", Path: "m:a/b", Rows: []xr.Row{{TimestampMs: t0,
			Keys:    []xr.Leaf{{Name: "k", Kind: xr.LeafUint, U: uint64(i)}},
			Content: []xr.Leaf{{Name: "x", Kind: xr.LeafUint}, {Name: "l/y", Kind: xr.LeafUint}, {Name: "l/y", Kind: xr.LeafUint}}}}}
	}
	e.write(t, msg(0), t0)
	first := e.sink.batches[0].Samples
	var want []string
	for _, s := range first {
		want = append(want, series(s))
	}
	for i := range 50 {
		e.write(t, msg(i+1), t0+int64(i))
	}
	for i, s := range first {
		if got := series(s); got != want[i] {
			t.Fatalf("label set changed: %s, was %s", got, want[i])
		}
	}
}

// Past maxDevices routers, the one silent the longest is forgotten.
func TestDevicesBounded(t *testing.T) {
	e := newEnv(t, Options{})
	msg := &xr.Message{Path: "m:a", Rows: []xr.Row{{Content: []xr.Leaf{{Name: "x", Kind: xr.LeafUint}}}}}
	for i := range maxDevices + 1 {
		msg.Node = "r" + strconv.Itoa(i)
		// r0 is the newest, r1 the oldest
		at := t0 + int64(i)
		if i == 0 {
			at = t0 + 1_000_000
		}
		e.write(t, msg, at)
	}
	if n := len(e.m.devicesOf("")); n != maxDevices {
		t.Fatalf("%d routers", n)
	}
	if len(e.m.Paths("r1")) != 0 || len(e.m.Paths("r0")) != 1 || len(e.m.Paths("r"+strconv.Itoa(maxDevices))) != 1 {
		t.Errorf("the wrong router was forgotten")
	}
}

// Key values may hold any byte: two rows whose keys would read alike once
// joined are still two identities.
func TestKeyValuesWithSeparators(t *testing.T) {
	e := newEnv(t, Options{})
	s := func(n, v string) xr.Leaf { return xr.Leaf{Name: n, Kind: xr.LeafString, S: v} }
	content := []xr.Leaf{{Name: "x", Kind: xr.LeafUint, U: 1}}
	e.write(t, &xr.Message{Node: "r1", Path: "m:a", Rows: []xr.Row{
		{TimestampMs: t0, Keys: []xr.Leaf{s("k", "v\x00\x01j\x01w")}, Content: content},
		{TimestampMs: t0, Keys: []xr.Leaf{s("k", "v"), s("j", "w")}, Content: content},
	}}, t0)
	got := e.sink.samples()
	if len(got) != 2 || got[0].Labels.Get("k") != "v\x00\x01j\x01w" || got[1].Labels.Get("j") != "w" {
		t.Errorf("samples %v", got)
	}
}
