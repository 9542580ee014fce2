package flows

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/netlens/netlens/pkg/decode/ipfix"
	"github.com/netlens/netlens/pkg/decode/ipfix/ie"
	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/pipeline"
	"github.com/netlens/netlens/pkg/records"
	"github.com/netlens/netlens/pkg/status"
)

// nowMs is the wall clock of these tests: 2026-11-25 10:00:00 UTC.
const nowMs = 1_795_600_800_000

// seriesStore is the series store as this package sees it: it keeps every
// appended batch so tests can read the last value of each counter.
type seriesStore struct {
	mu      sync.Mutex
	batches [][]model.Sample
	err     error
}

func (s *seriesStore) Append(_ context.Context, in []model.Sample) (pipeline.AppendResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return pipeline.AppendResult{}, s.err
	}
	cp := make([]model.Sample, len(in))
	copy(cp, in)
	s.batches = append(s.batches, cp)
	return pipeline.AppendResult{Appended: len(in)}, nil
}

// last returns the newest value of each series of one metric, keyed by
// "device,protocol,application".
func (s *seriesStore) last(metric string) map[string]float64 {
	out := map[string]float64{}
	if len(s.batches) == 0 {
		return out
	}
	for _, smp := range s.batches[len(s.batches)-1] {
		if smp.Name != metric {
			continue
		}
		if smp.Kind != model.KindCounter {
			panic("volume series must be counters")
		}
		out[smp.Labels.Get("device")+","+smp.Labels.Get("protocol")+","+smp.Labels.Get("application")] = smp.Value
	}
	return out
}

type env struct {
	t      testing.TB
	reg    *ie.Registry
	table  *records.Table
	series *seriesStore
	board  *status.Board
	vol    *Volumes
	flows  *Flows
}

// flowmonRegistry is IANA's registry with the shipped Flowmon definitions.
var flowmonRegistry = sync.OnceValues(func() (*ie.Registry, error) {
	defs, err := ie.LoadDefinitions("../../../provisioning/ipfix/definitions.example.json")
	if err != nil {
		return nil, err
	}
	return ie.IANA().With(defs)
})

func newEnv(t testing.TB) *env {
	t.Helper()
	reg, err := flowmonRegistry()
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, reg: reg, series: &seriesStore{}, board: status.NewBoard(nil)}
	e.vol = NewVolumes(e.series, e.board)
	e.table = records.NewTable(Kind, records.Options{Now: func() int64 { return nowMs }})
	if e.flows, err = New(e.table, e.vol); err != nil {
		t.Fatal(err)
	}
	return e
}

// fv is one field of a test record: element (pen, id) and its encoded value.
type fv struct {
	pen uint32
	id  uint16
	val []byte
}

func u(n int, v uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return b[8-n:]
}

func ip(s string) []byte { return netip.MustParseAddr(s).AsSlice() }

// record builds a decoded record the way the decoder hands it over: fields
// in template order, each pointing at its element.
func (e *env) record(scope ipfix.Scope, tid uint16, fields ...fv) *ipfix.Record {
	r := &ipfix.Record{Scope: scope, Version: 10, ExportTimeSec: uint32(nowMs/1000 - 5), TemplateID: tid,
		SamplingRate: 1, ReceivedMs: nowMs}
	for _, f := range fields {
		el := e.reg.Lookup(f.pen, f.id)
		r.Fields = append(r.Fields, ipfix.Field{Elem: &el, Value: f.val})
	}
	return r
}

// rows flushes and returns the newest row's non-null values by column.
func (e *env) newest() map[string]any {
	e.t.Helper()
	if err := e.flows.Flush(context.Background(), nowMs); err != nil {
		e.t.Fatal(err)
	}
	res, err := e.table.Query(context.Background(), records.Query{Limit: 1})
	if err != nil {
		e.t.Fatal(err)
	}
	row := map[string]any{}
	for _, c := range res.Columns {
		if c.Len() == 0 {
			e.t.Fatal("no rows stored")
		}
		if c.Null != nil && c.Null[0] {
			continue
		}
		switch v := c.Values.(type) {
		case []uint64:
			row[c.Name] = v[0]
		case []int64:
			row[c.Name] = v[0]
		case []float64:
			row[c.Name] = v[0]
		case []string:
			row[c.Name] = v[0]
		case []bool:
			row[c.Name] = v[0]
		}
	}
	return row
}

func check(t *testing.T, row map[string]any, want map[string]any) {
	t.Helper()
	for k, w := range want {
		if w == nil {
			if g, ok := row[k]; ok {
				t.Errorf("%s = %v, want null", k, g)
			}
			continue
		}
		if g := row[k]; g != w {
			t.Errorf("%s = %#v, want %#v", k, g, w)
		}
	}
}

var kemp = ipfix.Scope{Exporter: netip.MustParseAddrPort("192.0.2.7:50000"), ODID: 3}

const flowmon = 39499

// A LoadMaster-like biflow: client and server directions in one record
// (RFC 5103), Flowmon's network-performance and HTTP fields named by the
// definitions file, one vendor field nobody defined.
func TestKempBiflowRecordBecomesOneRow(t *testing.T) {
	e := newEnv(t)
	start, end := uint64(nowMs-60_000), uint64(nowMs-2_000)
	e.flows.Record(e.record(kemp, 256,
		fv{0, 8, ip("10.1.1.20")}, fv{0, 12, ip("198.51.100.10")},
		fv{0, 7, u(2, 51514)}, fv{0, 11, u(2, 443)}, fv{0, 4, u(1, 6)},
		fv{0, 1, u(4, 12_000)}, fv{0, 2, u(4, 40)}, // reduced-size counters
		fv{ie.ReversePEN, 1, u(4, 880_000)}, fv{ie.ReversePEN, 2, u(4, 620)},
		fv{0, 152, u(8, start)}, fv{0, 153, u(8, end)},
		fv{0, 6, u(1, 0x1b)}, fv{0, 5, u(1, 0x28)}, fv{0, 10, u(4, 3)}, fv{0, 14, u(4, 4)},
		fv{0, 239, u(1, 1)}, // biflowDirection initiator
		fv{0, 56, []byte{0x00, 0x1b, 0x21, 0xaa, 0xbb, 0xcc}},
		fv{flowmon, 69, u(4, 1_800)},  // RTT
		fv{flowmon, 70, u(4, 25_000)}, // SRT
		fv{flowmon, 71, u(4, 2)},      // retransmissions
		fv{flowmon, 1, []byte("shop.example.com")},
		fv{flowmon, 338, []byte("shop.example.com\x00\x00")}, // fixed-length, NUL-padded
		fv{9999, 7, []byte{0xde, 0xad}},
	))
	row := e.newest()
	check(t, row, map[string]any{
		"time": int64(end), "start": int64(start), "exporter": "192.0.2.7/3",
		"src_addr": "10.1.1.20", "dst_addr": "198.51.100.10", "src_port": uint64(51514), "dst_port": uint64(443),
		"protocol": uint64(6), "bytes": uint64(12_000), "packets": uint64(40), "bytes_raw": uint64(12_000),
		"packets_raw": uint64(40), "sampling_rate": uint64(1), "reverse_bytes": uint64(880_000),
		"reverse_packets": uint64(620), "tcp_flags": uint64(0x1b), "tos": uint64(0x28), "in_if": uint64(3),
		"out_if": uint64(4), "biflowDirection": uint64(1), "sourceMacAddress": "00:1b:21:aa:bb:cc",
		"flowmonNpmRoundTripTime": uint64(1_800), "flowmonNpmServerResponseTime": uint64(25_000),
		"flowmonNpmTcpRetransmission": uint64(2), "flowmonHttpHost": "shop.example.com",
		"flowmonTlsSni": "shop.example.com", "pen9999_7": "dead", "application": nil,
		// fields with fixed columns are not stored twice
		"octetDeltaCount": nil, "sourceIPv4Address": nil, "flowEndMilliseconds": nil, "reverseOctetDeltaCount": nil,
	})
	if b, p := e.series.last(BytesTotal)["192.0.2.7/3,tcp,unknown"], e.series.last(PacketsTotal)["192.0.2.7/3,tcp,unknown"]; b != 892_000 || p != 660 {
		t.Errorf("volume counters %v bytes %v packets, want both directions (892000, 660)", b, p)
	}
	var rtt records.ColumnInfo
	for _, c := range e.table.Columns() {
		if c.Name == "flowmonNpmRoundTripTime" {
			rtt = c
		}
	}
	if rtt.Type != records.Uint || rtt.Rows != 1 {
		t.Fatalf("RTT column %+v, want a uint column that can be averaged and ranked", rtt)
	}
}

// Sampled exporters: bytes and packets are scaled by the rate the decoder
// resolved, the raw values are kept beside them, and the volume counters
// count the scaled values of both directions of a biflow.
func TestSampledRecordsAreScaled(t *testing.T) {
	e := newEnv(t)
	v6 := ipfix.Scope{Exporter: netip.MustParseAddrPort("[2001:db8::1]:4739")}
	r := e.record(v6, 300,
		fv{0, 27, ip("2001:db8:1::10")}, fv{0, 28, ip("2001:db8:2::20")}, fv{0, 4, u(1, 17)},
		fv{0, 1, u(8, 1_500)}, fv{0, 2, u(8, 1)},
		fv{ie.ReversePEN, 1, u(8, 300)})
	r.SamplingRate = 1000
	e.flows.Record(r)
	check(t, e.newest(), map[string]any{
		"src_addr": "2001:db8:1::10", "dst_addr": "2001:db8:2::20", "bytes": uint64(1_500_000),
		"bytes_raw": uint64(1_500), "packets": uint64(1_000), "packets_raw": uint64(1),
		"sampling_rate": uint64(1000), "reverse_bytes": uint64(300_000), "exporter": "2001:db8::1/0",
	})
	if got := e.series.last(BytesTotal)["2001:db8::1/0,udp,unknown"]; got != 1_500_000+300_000 {
		t.Fatalf("scaled bytes counter %v", got)
	}
	if got := e.series.last(PacketsTotal)["2001:db8::1/0,udp,unknown"]; got != 1_000 {
		t.Fatalf("scaled packets counter %v", got)
	}
	if scale(1<<40, 1<<30) != ^uint64(0) {
		t.Fatal("an absurd rate saturates instead of wrapping")
	}
}

func TestFlowTimes(t *testing.T) {
	ntp := func(ms int64) []byte { // RFC 7011 dateTimeMicro/Nanoseconds
		sec := uint64(ms/1000 + 2208988800)
		frac := uint64(ms%1000) << 32 / 1000
		return u(8, sec<<32|frac+1)
	}
	for _, c := range []struct {
		name             string
		fields           []fv
		sysInit, export  int64
		wantEnd, wantSta any
	}{
		{"milliseconds", []fv{{0, 152, u(8, nowMs-9_000)}, {0, 153, u(8, nowMs-1_000)}}, 0, nowMs - 500, int64(nowMs - 1_000), int64(nowMs - 9_000)},
		{"seconds", []fv{{0, 150, u(4, nowMs/1000-9)}, {0, 151, u(4, nowMs/1000-1)}}, 0, nowMs, int64(nowMs - 1_000), int64(nowMs - 9_000)},
		{"NTP microseconds", []fv{{0, 154, ntp(nowMs - 9_250)}, {0, 155, ntp(nowMs - 1_250)}}, 0, nowMs, int64(nowMs - 1_250), int64(nowMs - 9_250)},
		{"NTP nanoseconds", []fv{{0, 156, ntp(nowMs - 7_000)}, {0, 157, ntp(nowMs - 3_000)}}, 0, nowMs, int64(nowMs - 3_000), int64(nowMs - 7_000)},
		{"milliseconds beat seconds", []fv{{0, 151, u(4, nowMs/1000-8)}, {0, 153, u(8, nowMs-1_234)}}, 0, nowMs, int64(nowMs - 1_234), nil},
		{"NetFlow v9 sysUpTime", []fv{{0, 22, u(4, 3_000_000)}, {0, 21, u(4, 3_004_000)}}, nowMs - 3_010_000, nowMs, int64(nowMs - 6_000), int64(nowMs - 10_000)},
		{"sysUpTime without boot time: export time", []fv{{0, 21, u(4, 3_004_000)}}, 0, nowMs - 4_000, int64(nowMs - 4_000), nil},
		{"no times: export time", nil, 0, nowMs - 3_000, int64(nowMs - 3_000), nil},
		{"no times, no export time: received", nil, 0, 0, int64(nowMs), nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			r := e.record(kemp, 256, append(c.fields, fv{0, 4, u(1, 6)})...)
			r.SystemInitMs = c.sysInit
			r.ExportTimeSec = uint32(c.export / 1000)
			e.flows.Record(r)
			check(t, e.newest(), map[string]any{"time": c.wantEnd, "start": c.wantSta})
		})
	}
}

func TestApplication(t *testing.T) {
	e := newEnv(t)
	// The exporter's options table named it: that name wins.
	r := e.record(kemp, 256, fv{0, 95, []byte{13, 0, 1, 0xc5}}, fv{0, 4, u(1, 6)}, fv{0, 1, u(4, 100)})
	r.Application = "ssl"
	e.flows.Record(r)
	check(t, e.newest(), map[string]any{"application": "ssl", "applicationId": "13:453"})

	// No table entry: the RFC 6759 id, engine then selector.
	e.flows.Record(e.record(kemp, 256, fv{0, 95, []byte{3, 0, 80}}, fv{0, 4, u(1, 6)}, fv{0, 1, u(4, 100)}))
	check(t, e.newest(), map[string]any{"application": "3:80", "applicationId": "3:80"})

	// Engine 20 carries a PEN before the selector.
	e.flows.Record(e.record(kemp, 257, fv{0, 95, []byte{20, 0, 0, 0x9a, 0x4b, 0, 7}}, fv{0, 4, u(1, 6)}))
	check(t, e.newest(), map[string]any{"application": "20:39499:7"})

	// applicationName in the record itself.
	e.flows.Record(e.record(kemp, 258, fv{0, 96, []byte("dns\x00")}, fv{0, 4, u(1, 17)}))
	check(t, e.newest(), map[string]any{"application": "dns"})

	// Label values must be UTF-8 and short; the row keeps the name as sent.
	r = e.record(kemp, 259, fv{0, 4, u(1, 6)})
	r.Application = "caf\xe9-" + strings.Repeat("é", 40)
	e.flows.Record(r)
	check(t, e.newest(), map[string]any{"application": r.Application})

	if err := e.flows.Flush(context.Background(), nowMs+EmitIntervalMs); err != nil {
		t.Fatal(err)
	}
	flows := e.series.last(FlowsTotal)
	long := "caf\uFFFD-" + strings.Repeat("é", 29) // 64 bytes cut at a rune boundary
	for _, k := range []string{"192.0.2.7/3,tcp,ssl", "192.0.2.7/3,tcp,3:80", "192.0.2.7/3,udp,dns", "192.0.2.7/3,tcp," + long} {
		if flows[k] != 1 {
			t.Errorf("flows %s = %v (all: %v)", k, flows[k], flows)
		}
	}
}

// A template redefined under the same id (UDP exporters may) gets a new
// column plan instead of writing fields into the old plan's columns.
func TestRedefinedTemplate(t *testing.T) {
	e := newEnv(t)
	e.flows.Record(e.record(kemp, 256, fv{0, 7, u(2, 53)}, fv{0, 4, u(1, 17)}))
	check(t, e.newest(), map[string]any{"src_port": uint64(53), "protocol": uint64(17)})
	e.flows.Record(e.record(kemp, 256, fv{0, 11, u(2, 53)}, fv{0, 60, u(1, 4)}))
	check(t, e.newest(), map[string]any{"dst_port": uint64(53), "src_port": nil, "ipVersion": uint64(4)})
}

// A field whose column cannot be made (the table is out of columns) is
// dropped and counted; the row and its other fields are kept.
func TestColumnLimitDropsFieldsNotRows(t *testing.T) {
	e := newEnv(t)
	e.table = records.NewTable(Kind, records.Options{Now: func() int64 { return nowMs }, MaxColumns: 22})
	var err error
	if e.flows, err = New(e.table, e.vol); err != nil {
		t.Fatal(err)
	}
	e.flows.Record(e.record(kemp, 256, fv{0, 4, u(1, 6)}, fv{0, 60, u(1, 4)}, fv{0, 61, u(1, 1)}, fv{0, 176, u(1, 3)}))
	row := e.newest()
	check(t, row, map[string]any{"protocol": uint64(6), "ipVersion": uint64(4), "flowDirection": uint64(1), "icmpTypeIPv4": nil})
	if got := e.board.Snapshot().Counters["ipfix_flow_column_errors"]; got != 1 {
		t.Fatalf("column errors %d", got)
	}
}

func TestOptionsRecordsAreCountedNotStored(t *testing.T) {
	e := newEnv(t)
	opt := e.record(kemp, 400, fv{0, 302, u(4, 1)}, fv{0, 305, u(4, 100)})
	opt.ScopeFields = 1
	e.flows.Options(opt)
	e.flows.Options(opt)
	e.flows.Record(e.record(kemp, 256, fv{0, 4, u(1, 6)}))
	if err := e.flows.Flush(context.Background(), nowMs); err != nil {
		t.Fatal(err)
	}
	c := e.board.Snapshot().Counters
	if c["ipfix_options_records"] != 2 || c["ipfix_flow_records"] != 1 || c["ipfix_flow_rows_stored"] != 1 {
		t.Fatalf("counters %v", c)
	}
	if st := e.table.Stats(); st.Rows != 1 {
		t.Fatalf("%d rows stored, want the data record only", st.Rows)
	}
}

// Volume counters go to the series store at most every EmitIntervalMs, and
// stay cumulative.
func TestVolumeCountersEvery10s(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	add := func() {
		e.flows.Record(e.record(kemp, 256, fv{0, 4, u(1, 6)}, fv{0, 1, u(4, 1000)}, fv{0, 2, u(4, 2)}))
	}
	add()
	if err := e.flows.Flush(ctx, nowMs); err != nil {
		t.Fatal(err)
	}
	add()
	if err := e.flows.Flush(ctx, nowMs+9_999); err != nil {
		t.Fatal(err)
	}
	if len(e.series.batches) != 1 {
		t.Fatalf("%d appends within 10 s, want 1", len(e.series.batches))
	}
	if err := e.flows.Flush(ctx, nowMs+10_000); err != nil {
		t.Fatal(err)
	}
	if len(e.series.batches) != 2 {
		t.Fatalf("%d appends, want 2", len(e.series.batches))
	}
	key := "192.0.2.7/3,tcp,unknown"
	if b, p, f := e.series.last(BytesTotal)[key], e.series.last(PacketsTotal)[key], e.series.last(FlowsTotal)[key]; b != 2000 || p != 4 || f != 2 {
		t.Fatalf("bytes %v packets %v flows %v", b, p, f)
	}
	e.series.err = fmt.Errorf("disk full")
	if err := e.flows.Flush(ctx, nowMs+20_000); err == nil {
		t.Fatal("series store error not returned")
	}
	if e.board.Snapshot().Counters["ipfix_volume_append_errors"] != 1 {
		t.Fatal("series store error not counted")
	}
}

// 1000 applications with a long tail: every byte is counted exactly once,
// the busiest applications get their own series, and the number of series
// stays bounded however long it runs.
func TestApplicationCardinalityIsBounded(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var total float64
	apps := map[string]bool{}
	for round := 0; round < 30; round++ {
		for i := 0; i < 1000; i++ {
			// Application i carries about 1/(i+1) of the traffic; the ranking
			// shifts a little each round.
			name := fmt.Sprintf("app%03d", (i+round/10)%1000)
			bytes := uint64(1_000_000 / (i + 1))
			r := e.record(kemp, 256, fv{0, 4, u(1, 6)}, fv{0, 1, u(8, bytes)}, fv{0, 2, u(8, 1)})
			r.Application = name
			e.flows.Record(r)
			total += float64(bytes)
		}
		if err := e.flows.Flush(ctx, nowMs+int64(round)*EmitIntervalMs); err != nil {
			t.Fatal(err)
		}
		for k := range e.series.last(BytesTotal) {
			apps[k] = true
		}
	}
	last := e.series.last(BytesTotal)
	var sum float64
	for _, v := range last {
		sum += v
	}
	if sum != total {
		t.Fatalf("counters sum to %v, %v bytes were sent", sum, total)
	}
	if n := len(apps); n > TopApplications+maxReplacements+2 {
		t.Fatalf("%d distinct series over the run, bound is %d", n, TopApplications+maxReplacements+2)
	}
	if n := len(last); n < TopApplications+1 {
		t.Fatalf("only %d series: the top %d should have their own", n, TopApplications)
	}
	for _, app := range []string{"app000", "app001", "app002", "app003"} {
		if last["192.0.2.7/3,tcp,"+app] == 0 {
			t.Errorf("busiest application %s has no series", app)
		}
	}
	if last["192.0.2.7/3,tcp,other"] == 0 {
		t.Error("the tail is not in other")
	}
	t.Logf("%d series at the end, %d over the run", len(last), len(apps))
}

func TestProtocolNames(t *testing.T) {
	for p, want := range map[uint16]string{6: "tcp", 17: "udp", 1: "icmp", 58: "ipv6-icmp", 47: "gre", 132: "sctp",
		250: "250", 0: "0", protoUnknown: "unknown", protoOther: "other"} {
		if got := protocolName(p); got != want {
			t.Errorf("%d: %s", p, got)
		}
	}
}

// Steady state: a record of a known template allocates nothing.
func TestRecordDoesNotAllocate(t *testing.T) {
	e := newEnv(t)
	r := kempRecord(e)
	for range 2000 {
		e.flows.Record(r)
	}
	e.flows.Flush(context.Background(), nowMs)
	for range 2000 {
		e.flows.Record(r)
	}
	e.flows.Flush(context.Background(), nowMs)
	if n := testing.AllocsPerRun(1000, func() { e.flows.Record(r) }); n != 0 {
		t.Fatalf("%v allocations per record", n)
	}
}

func kempRecord(e *env) *ipfix.Record {
	r := e.record(kemp, 256,
		fv{0, 8, ip("10.1.1.20")}, fv{0, 12, ip("198.51.100.10")},
		fv{0, 7, u(2, 51514)}, fv{0, 11, u(2, 443)}, fv{0, 4, u(1, 6)},
		fv{0, 1, u(4, 12_000)}, fv{0, 2, u(4, 40)},
		fv{ie.ReversePEN, 1, u(4, 880_000)}, fv{ie.ReversePEN, 2, u(4, 620)},
		fv{0, 152, u(8, nowMs-60_000)}, fv{0, 153, u(8, nowMs-2_000)},
		fv{0, 6, u(1, 0x1b)}, fv{0, 10, u(4, 3)}, fv{0, 14, u(4, 4)},
		fv{0, 95, []byte{13, 0, 1, 0xc5}},
		fv{0, 56, []byte{0x00, 0x1b, 0x21, 0xaa, 0xbb, 0xcc}},
		fv{flowmon, 69, u(4, 1_800)}, fv{flowmon, 70, u(4, 25_000)},
		fv{flowmon, 1, []byte("shop.example.com")},
		fv{9999, 7, []byte{0xde, 0xad}},
	)
	r.Application = "ssl"
	return r
}

// BenchmarkRecord measures a worker's cost per flow record, the record
// store's flush included (every 1000 records, as a busy receiver would).
// Flow times advance 1 ms per record, so the store fills partitions and
// evicts under its cap as it would in service.
func BenchmarkRecord(b *testing.B) {
	e := newEnv(b)
	clock := int64(nowMs)
	e.table = records.NewTable(Kind, records.Options{MaxBytes: 64 << 20, Now: func() int64 { return clock }})
	var err error
	if e.flows, err = New(e.table, e.vol); err != nil {
		b.Fatal(err)
	}
	r := kempRecord(e)
	end := r.Fields[10].Value // flowEndMilliseconds
	ctx := context.Background()
	n := 0
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for b.Loop() {
		binary.BigEndian.PutUint64(end, uint64(clock))
		e.flows.Record(r)
		clock++
		if n++; n%1000 == 0 {
			if err := e.flows.Flush(ctx, clock); err != nil {
				b.Fatal(err)
			}
		}
	}
	e.flows.Flush(ctx, clock)
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
	// allocs/op rounds down to an integer; the store's chunk allocations,
	// amortized over many rows, show here.
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(n), "allocs/record")
	if st := e.table.Stats(); st.Rows+st.EvictedRows+st.RefusedRows != int64(n) {
		b.Fatalf("stored %d + evicted %d + refused %d != %d records", st.Rows, st.EvictedRows, st.RefusedRows, n)
	}
}

// Past maxSeries keys per worker, new keys fold into one series per device:
// counts are kept, the series store is not flooded.
func TestVolumeSeriesAreCapped(t *testing.T) {
	e := newEnv(t)
	var total float64
	for dev := range 100 {
		scope := ipfix.Scope{Exporter: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(dev)}), 4739)}
		for proto := range 256 {
			e.flows.Record(e.record(scope, 256, fv{0, 4, u(1, uint64(proto))}, fv{0, 1, u(4, 10)}))
			total += 10
		}
	}
	if err := e.flows.Flush(context.Background(), nowMs); err != nil {
		t.Fatal(err)
	}
	last := e.series.last(BytesTotal)
	if len(last) > maxSeries+100 {
		t.Fatalf("%d series", len(last))
	}
	var sum float64
	for _, v := range last {
		sum += v
	}
	if sum != total {
		t.Fatalf("counted %v of %v bytes", sum, total)
	}
	folded := 0
	for k, v := range last {
		if strings.HasSuffix(k, ",other,other") && v > 0 {
			folded++
		}
	}
	if folded == 0 || e.board.Snapshot().Counters["ipfix_volume_keys_folded"] == 0 {
		t.Fatal("no folded series")
	}
}

// The receiver shards exporters by address and port; an exporter that
// restarts or reconnects on a new port may land on another worker. The
// device's counters are the same series either way, counted once.
func TestWorkersShareDeviceCounters(t *testing.T) {
	e := newEnv(t)
	other, err := New(e.table, e.vol) // a second worker on the same table
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	before := ipfix.Scope{Exporter: netip.MustParseAddrPort("192.0.2.7:50000"), ODID: 3}
	after := ipfix.Scope{Exporter: netip.MustParseAddrPort("192.0.2.7:50123"), ODID: 3}
	e.flows.Record(e.record(before, 256, fv{0, 4, u(1, 6)}, fv{0, 1, u(4, 1000)}))
	if err := e.flows.Flush(ctx, nowMs); err != nil {
		t.Fatal(err)
	}
	other.Record(e.record(after, 256, fv{0, 4, u(1, 6)}, fv{0, 1, u(4, 500)}))
	if err := other.Flush(ctx, nowMs+5_000); err != nil {
		t.Fatal(err)
	}
	if len(e.series.batches) != 1 {
		t.Fatalf("%d appends within 10 s across workers, want 1", len(e.series.batches))
	}
	e.flows.Record(e.record(before, 256, fv{0, 4, u(1, 6)}, fv{0, 1, u(4, 250)}))
	if err := e.flows.Flush(ctx, nowMs+10_000); err != nil {
		t.Fatal(err)
	}
	last := e.series.last(BytesTotal)
	if len(last) != 1 || last["192.0.2.7/3,tcp,unknown"] != 1750 {
		t.Fatalf("series %v, want one counter of 1750 bytes", last)
	}
	if rows := e.table.Stats().Rows; rows != 3 {
		t.Fatalf("%d rows", rows)
	}
}

// Workers run in their own goroutines; the shared counters lose nothing.
func TestWorkersConcurrently(t *testing.T) {
	e := newEnv(t)
	const workers, records = 4, 5000
	var wg sync.WaitGroup
	ws := make([]*Flows, workers)
	for w := range workers {
		f, err := New(e.table, e.vol)
		if err != nil {
			t.Fatal(err)
		}
		ws[w] = f
		wg.Add(1)
		go func() {
			defer wg.Done()
			scope := ipfix.Scope{Exporter: netip.AddrPortFrom(netip.MustParseAddr("192.0.2.7"), uint16(50000+w)), ODID: 3}
			for i := range records {
				r := e.record(scope, 256, fv{0, 4, u(1, 17)}, fv{0, 1, u(4, 100)})
				r.Application = fmt.Sprintf("app%d", i%70)
				f.Record(r)
				if i%100 == 0 {
					if err := f.Flush(context.Background(), nowMs+int64(i)*20); err != nil {
						t.Error(err)
					}
				}
			}
		}()
	}
	wg.Wait()
	// Each worker's last counts, then one emission of everything.
	for _, f := range ws {
		if err := f.Flush(context.Background(), nowMs+1_000_000); err != nil {
			t.Fatal(err)
		}
	}
	if err := ws[0].Flush(context.Background(), nowMs+2_000_000); err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, v := range e.series.last(BytesTotal) {
		sum += v
	}
	if sum != workers*records*100 {
		t.Fatalf("counted %v bytes, sent %d", sum, workers*records*100)
	}
	if n := len(e.series.last(BytesTotal)); n > TopApplications+1 {
		t.Fatalf("%d series for one device", n)
	}
}
