package peers

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend/log"

	"github.com/netlens/netlens/pkg/config"
	"github.com/netlens/netlens/pkg/decode/ipfix/ie"
	ingest "github.com/netlens/netlens/pkg/ingest/ipfix"
	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/pipeline"
	"github.com/netlens/netlens/pkg/pipeline/flows"
	"github.com/netlens/netlens/pkg/records"
	"github.com/netlens/netlens/pkg/status"
)

// collector is the product's IPFIX path as the plugin process wires it:
// the receiver (pkg/ingest/ipfix) decoding into the flow pipeline
// (pkg/pipeline/flows), which writes an ipfix_flow record table.
type collector struct {
	addr    netip.AddrPort // UDP
	tcpAddr netip.AddrPort
	server  *ingest.Server
	table   *records.Table
	board   *status.Board
}

// seriesSink stands in for the series store, which these tests do not
// query; it keeps the volume samples so a failure can show them.
type seriesSink struct {
	mu      sync.Mutex
	samples []model.Sample
}

func (s *seriesSink) Append(_ context.Context, ss []model.Sample) (pipeline.AppendResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.samples = append(s.samples, ss...)
	return pipeline.AppendResult{Appended: len(ss)}, nil
}

// startCollector starts the receiver on 127.0.0.1, UDP and TCP, with ports
// from the OS and the product's configuration defaults otherwise.
func startCollector(t *testing.T) *collector {
	t.Helper()
	env := map[string]string{
		config.EnvPrefix + "DATA_DIR":                 t.TempDir(),
		config.EnvPrefix + "IPFIX_UDP_LISTEN_ADDRESS": "127.0.0.1:0",
		config.EnvPrefix + "IPFIX_TCP_LISTEN_ADDRESS": "127.0.0.1:0",
	}
	cfg, err := config.FromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	board := status.NewBoard(nil)
	table := records.NewTable("ipfix_flow", records.Options{MaxBytes: cfg.RecordsMaxBytes})
	sink := &seriesSink{}
	vol := flows.NewVolumes(sink, board)
	newHandler := func(int) ingest.Handler {
		f, err := flows.New(table, vol)
		if err != nil {
			// New fails only on a column clash in a fresh table: a bug.
			panic(err)
		}
		return f
	}
	srv, err := ingest.New(cfg.IPFIX, cfg.AllowedIPFIX, ie.IANA(), cfg.DataDir, newHandler, board, log.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{server: srv, table: table, board: board}
	ua, ok := srv.UDPAddr().(*net.UDPAddr)
	if !ok {
		srv.Shutdown(context.Background())
		t.Fatalf("receiver UDP address %v", srv.UDPAddr())
	}
	c.addr = ua.AddrPort()
	ta, ok := srv.TCPAddr().(*net.TCPAddr)
	if !ok {
		srv.Shutdown(context.Background())
		t.Fatalf("receiver TCP address %v", srv.TCPAddr())
	}
	c.tcpAddr = ta.AddrPort()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return c
}

// finish waits (bounded) until the receiver's exporter status accounts
// for every flow record sent and names its templates (it refreshes them
// every second), notes the template ids, then stops the receiver, which
// drains its queues and flushes every worker. It reads back per 5-tuple
// the flow count, packets, bytes, earliest start and latest end, grouped
// by the record store itself. The receiver must have decoded every
// datagram and flow record sent.
//
// Over TCP, templates belong to the session (RFC 7011 §8.1): the exporter
// has closed it by now, so the receiver names none and finish does not
// wait for them.
func (c *collector) finish(t *testing.T, datagrams, flowRecords int, tcp bool) (stored map[Key]storedTotals, templates, optionsTemplates []uint16) {
	t.Helper()
	var msgs, recs uint64
	deadline := time.Now().Add(5 * time.Second)
	for {
		msgs, recs, templates, optionsTemplates = 0, 0, nil, nil
		for _, e := range c.server.Exporters() {
			msgs += e.Messages
			recs += e.Records
			templates = append(templates, e.Templates...)
			optionsTemplates = append(optionsTemplates, e.OptionsTemplates...)
		}
		if (recs >= uint64(flowRecords) && (tcp || len(templates) > 0)) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.server.Shutdown(ctx); err != nil {
		t.Fatalf("receiver shutdown: %v", err)
	}
	msgs, recs = 0, 0
	for _, e := range c.server.Exporters() {
		msgs += e.Messages
		recs += e.Records
		if len(e.Drops) > 0 || e.LostRecords > 0 || e.HeldRecords > 0 {
			t.Errorf("receiver: exporter %s: drops %v, lost records %d, held records %d",
				e.Device, e.Drops, e.LostRecords, e.HeldRecords)
		}
	}
	if msgs != uint64(datagrams) || recs != uint64(flowRecords) {
		t.Errorf("receiver decoded %d messages with %d flow records; %d datagrams with %d flow records were sent",
			msgs, recs, datagrams, flowRecords)
	}
	st := c.table.Stats()
	if st.RefusedRows > 0 || st.EvictedRows > 0 || st.TypeErrors > 0 {
		t.Errorf("record table: %+v", st)
	}
	group := []string{flows.ColSrcAddr, flows.ColDstAddr, flows.ColSrcPort, flows.ColDstPort, flows.ColProtocol}
	res, err := c.table.Query(ctx, records.Query{
		GroupBy: group,
		Aggregates: []records.Aggregate{
			{Func: "count"},
			{Func: "sum", Column: flows.ColPackets},
			{Func: "sum", Column: flows.ColBytes},
			{Func: "min", Column: flows.ColStart},
			{Func: "max", Column: flows.ColTime},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Columns) != len(group)+5 {
		t.Fatalf("query returned columns %v", columnNames(res))
	}
	out := map[Key]storedTotals{}
	keyOf := func(res *records.Result, i int) Key {
		str := func(col int) string { return res.Columns[col].Values.([]string)[i] }
		u := func(col int) uint64 { return res.Columns[col].Values.([]uint64)[i] }
		return Key{
			Src: netip.MustParseAddr(str(0)), Dst: netip.MustParseAddr(str(1)),
			SrcPort: uint16(u(2)), DstPort: uint16(u(3)), Proto: uint8(u(4)),
		}
	}
	for i := range res.Columns[0].Len() {
		for _, c := range res.Columns {
			if c.Null != nil && c.Null[i] {
				t.Fatalf("row %d: column %s is null (columns %s)", i, c.Name, columnNames(res))
			}
		}
		u := func(col int) uint64 { return res.Columns[col].Values.([]uint64)[i] }
		ms := func(col int) int64 { return res.Columns[col].Values.([]int64)[i] }
		out[keyOf(res, i)] = storedTotals{Flows: u(5), Packets: u(6), Bytes: u(7), StartMs: ms(8), EndMs: ms(9)}
	}
	// Flags, TOS and the sampling rate are not sums, and the raw and
	// reverse counts are there only when an exporter sent them: read them
	// from the raw rows.
	cols := append(slices.Clone(group), flows.ColTCPFlags, flows.ColTOS, flows.ColExporter)
	have := map[string]bool{}
	for _, ci := range c.table.Columns() {
		have[ci.Name] = true
	}
	// reverseTcpControlBits has no column of its own: the pipeline names
	// it by its RFC 5103 element name.
	const colReverseFlags = "reverseTcpControlBits"
	optional := []string{flows.ColPacketsRaw, flows.ColBytesRaw, flows.ColSamplingRate, flows.ColReversePackets,
		flows.ColReverseBytes, colReverseFlags}
	for _, name := range optional {
		if have[name] {
			cols = append(cols, name)
		}
	}
	raw, err := c.table.Query(ctx, records.Query{Columns: cols, Limit: records.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	if len(raw.Columns) != len(cols) {
		t.Fatalf("raw query returned columns %s", columnNames(raw))
	}
	byName := map[string]records.ResultColumn{}
	for _, rc := range raw.Columns {
		byName[rc.Name] = rc
	}
	// uintAt is a uint column's value in row i, 0 when null or absent.
	uintAt := func(name string, i int) uint64 {
		rc, ok := byName[name]
		if !ok || (rc.Null != nil && rc.Null[i]) {
			return 0
		}
		return rc.Values.([]uint64)[i]
	}
	for i := range raw.Columns[0].Len() {
		k := keyOf(raw, i)
		s, ok := out[k]
		if !ok {
			t.Errorf("raw row %d (%s) is in no group", i, k)
			continue
		}
		s.Flags |= uint8(uintAt(flows.ColTCPFlags, i))
		s.TOS = uint8(uintAt(flows.ColTOS, i))
		s.PacketsRaw += uintAt(flows.ColPacketsRaw, i)
		s.BytesRaw += uintAt(flows.ColBytesRaw, i)
		s.RevPackets += uintAt(flows.ColReversePackets, i)
		s.RevBytes += uintAt(flows.ColReverseBytes, i)
		s.RevFlags |= uint8(uintAt(colReverseFlags, i))
		s.SamplingRate = uintAt(flows.ColSamplingRate, i)
		out[k] = s
		// The relay is the exporter the receiver sees, observation domain 0.
		if exp := byName[flows.ColExporter].Values.([]string)[i]; exp != "127.0.0.1/0" {
			t.Errorf("raw row %d (%s): exporter %q, want 127.0.0.1/0", i, k, exp)
		}
	}
	if len(out) == 0 {
		t.Errorf("the record table holds nothing after %d datagrams; board counters: %v", datagrams, c.board.Snapshot())
	}
	return out, templates, optionsTemplates
}

func columnNames(r *records.Result) string {
	var s []string
	for _, c := range r.Columns {
		s = append(s, c.Name+":"+c.Type.String())
	}
	return strings.Join(s, ", ")
}
