package server

import (
	"context"
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend/log"

	"github.com/netlens/netlens/pkg/config"
	"github.com/netlens/netlens/pkg/decode/intreport"
	"github.com/netlens/netlens/pkg/ingest/intrcv"
	"github.com/netlens/netlens/pkg/pipeline/intmap"
	"github.com/netlens/netlens/pkg/records"
	"github.com/netlens/netlens/pkg/sim/intsim"
)

// startWithINT starts the process scope with INT on a loopback port of the
// OS' choosing and the other receivers off, plus extra settings.
func startWithINT(t *testing.T, extra map[string]string) *Server {
	t.Helper()
	m := map[string]string{
		"GF_PLUGIN_DATA_DIR":               t.TempDir(),
		"GF_PLUGIN_FTD_LISTEN_ADDRESS":     "off",
		"GF_PLUGIN_INT_UDP_LISTEN_ADDRESS": "127.0.0.1:0",
		"GF_PLUGIN_RECORDS_MAX_BYTES":      "64MB",
	}
	maps.Copy(m, extra)
	cfg, err := config.FromEnv(env(m))
	if err != nil {
		t.Fatal(err)
	}
	s := Start(cfg, nil, log.NewNullLogger())
	if len(s.Problems) > 0 || s.INT == nil || s.INTReports == nil {
		s.Shutdown(time.Second)
		t.Fatalf("INT did not start: %v", s.Problems)
	}
	return s
}

// sendDomain simulates packets of d and sends each switch's reports from
// its own loopback address (127.0.0.11, .12, ...), as switches do from
// their own, so the receiver shards them over its workers. It returns the
// reports sent.
func sendDomain(t *testing.T, to string, d *intsim.Domain, packets int) []intsim.Report {
	t.Helper()
	dst, err := net.ResolveUDPAddr("udp", to)
	if err != nil {
		t.Fatal(err)
	}
	conns := map[int]*net.UDPConn{}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	enc := d.Config().Encoding
	var sent []intsim.Report
	for i := range packets {
		for _, r := range d.Packet(uint64(i) * uint64(time.Millisecond)) {
			c := conns[r.Switch]
			if c == nil {
				if c, err = net.DialUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, byte(11+r.Switch))}, dst); err != nil {
					t.Fatal(err)
				}
				conns[r.Switch] = c
			}
			if _, err := c.Write(enc.AppendReport(nil, &r)); err != nil {
				t.Fatal(err)
			}
			sent = append(sent, r)
		}
		// A few hundred datagrams fit any socket buffer; pausing now and
		// then keeps a loaded machine from dropping some anyway.
		if i%20 == 19 {
			time.Sleep(time.Millisecond)
		}
	}
	return sent
}

func switchName(id uint32) string { return fmt.Sprintf("0x%08x", id) }

// reportType is the int_report type (and series type label) of a
// simulated report: postcards and local reports are flow reports.
func reportType(k intsim.Kind) string {
	switch k {
	case intsim.KindINT:
		return intmap.TypeINT
	case intsim.KindDrop:
		return intmap.TypeDrop
	case intsim.KindQueue:
		return intmap.TypeQueue
	}
	return intmap.TypeFlow
}

// rowsByDeviceType counts int_report rows per "device type".
func rowsByDeviceType(t *testing.T, table *records.Table) map[string]uint64 {
	t.Helper()
	res, err := table.Query(context.Background(), records.Query{
		FromMs: 0, ToMs: time.Now().Add(time.Hour).UnixMilli(),
		GroupBy: []string{intmap.ColDevice, intmap.ColType}, Aggregates: []records.Aggregate{{Func: "count"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]uint64{}
	dev, typ := res.Columns[0].Values.([]string), res.Columns[1].Values.([]string)
	for i, n := range res.Columns[2].Values.([]uint64) {
		out[dev[i]+" "+typ[i]] = n
	}
	return out
}

// pathsOfType lists the path column of the rows of one type, sorted.
func pathsOfType(t *testing.T, table *records.Table, typ string) []string {
	t.Helper()
	res, err := table.Query(context.Background(), records.Query{
		FromMs: 0, ToMs: time.Now().Add(time.Hour).UnixMilli(),
		Filters: []records.Filter{{Column: intmap.ColType, Op: "=", Values: []string{typ}}},
		Columns: []string{intmap.ColPath}, Limit: 10000,
	})
	if err != nil {
		t.Fatal(err)
	}
	paths := slices.Clone(res.Columns[0].Values.([]string))
	slices.Sort(paths)
	return paths
}

// waitRows waits (bounded) until the INT table holds n rows.
func waitRows(t *testing.T, s *Server, n int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.INTReports.Stats().Rows < n {
		if time.Now().After(deadline) {
			t.Fatalf("%s holds %d rows, want %d (receiver drops %v)", INTTable, s.INTReports.Stats().Rows, n, s.INT.ReceiverDrops())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A simulated leaf-spine domain in INT mode (report v0.5, INT marked by
// the NX-OS default DSCP bit, i.e. int_dscp's default), each switch
// sending from its own address to two receiver workers: every report is
// an int_report row under its switch and type, the sinks' INT reports
// carry the paths the simulator took, and the mapper's and the
// receiver's series reach the store. Shutdown stops the receiver before
// the store closes.
func TestINTReportsReachTheTableAndTheStore(t *testing.T) {
	s := startWithINT(t, map[string]string{"GF_PLUGIN_INT_WORKERS": "2"})
	if st := s.INTReports.Stats(); st.MaxBytes != 64<<20 {
		t.Fatalf("int_report cap %d, want all of records_max_bytes (INT alone)", st.MaxBytes)
	}
	bound := ""
	for _, l := range s.Board.Snapshot().Listeners {
		if l.Name == "int-udp" && l.Error == "" {
			bound = l.Bound
		}
	}
	if bound == "" || bound != s.INT.Addr() {
		t.Fatalf("int-udp listener %q, service address %q", bound, s.INT.Addr())
	}

	d, err := intsim.NewDomain(intsim.DomainConfig{Mode: intsim.ModeINT, Flows: 16, UDPShare: 0.5, ICMPShare: -1,
		DropRate: -1, LossRate: -1, CongestionEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	sent := sendDomain(t, s.INT.Addr(), d, 60)
	want := map[string]uint64{}
	var wantPaths []string
	for _, r := range sent {
		want[switchName(r.SwitchID)+" "+reportType(r.Kind)]++
		if r.Kind == intsim.KindINT {
			ids := make([]string, r.INT.Hops)
			for i := range ids {
				ids[i] = switchName(r.INT.Stack[i].SwitchID)
			}
			wantPaths = append(wantPaths, strings.Join(ids, ">"))
		}
	}
	slices.Sort(wantPaths)
	if len(wantPaths) == 0 {
		t.Fatal("the simulator sent no INT report")
	}
	waitRows(t, s, int64(len(sent)))
	if got := rowsByDeviceType(t, s.INTReports); !maps.Equal(got, want) {
		t.Errorf("int_report rows by device and type %v, sent %v", got, want)
	}
	if got := pathsOfType(t, s.INTReports, intmap.TypeINT); !slices.Equal(got, wantPaths) {
		t.Errorf("paths of the INT reports %v, the simulator's %v", got, wantPaths)
	}

	seen := map[string]bool{}
	for _, sw := range s.INT.Switches() {
		seen[sw.Device] = true
	}
	for k := range want {
		if dev, _, _ := strings.Cut(k, " "); !seen[dev] {
			t.Errorf("switch %s missing from the receiver's switches %v", dev, seen)
		}
	}
	drops := s.INT.ReceiverDrops()
	for _, r := range append([]string{intrcv.DropSocketOverflow, intrcv.DropQueueFull, intrcv.DropNotAllowed}, intreport.Reasons()...) {
		if n, ok := drops[r]; !ok || n != 0 {
			t.Errorf("receiver drops %s = %d (listed %v), want 0", r, n, ok)
		}
	}

	// Both write series at most every 10 s.
	deadline := time.Now().Add(25 * time.Second)
	for {
		mapped, err1 := seriesByDeviceType(s, intmap.ReportsTotal)
		health, err2 := seriesByDeviceType(s, "int_switch_reports_total")
		if err1 == nil && err2 == nil && maps.Equal(mapped, want) && maps.Equal(health, want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("int_reports_total %v (%v), int_switch_reports_total %v (%v), want %v", mapped, err1, health, err2, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := s.Shutdown(5 * time.Second); err != nil {
		t.Fatal(err)
	}
}

// seriesByDeviceType reads a counter's latest non-zero values per
// "device type".
func seriesByDeviceType(s *Server, name string) (map[string]uint64, error) {
	v, err := s.Store.InstantQuery(context.Background(), name+" > 0", time.Now())
	if err != nil {
		return nil, err
	}
	out := map[string]uint64{}
	for _, smp := range v {
		out[smp.Metric.Get("device")+" "+smp.Metric.Get("type")] = uint64(smp.F)
	}
	return out, nil
}

// Postcard mode (report v1.0): every switch of a path sends its own hop
// from its own address, so its postcards reach both receiver workers; the
// workers share the mapper's joiners, and the postcards of each packet
// are joined into one postcard-path row holding the whole path in order,
// besides a row per postcard.
func TestINTPostcardsOfAPacketJoinIntoOnePath(t *testing.T) {
	s := startWithINT(t, map[string]string{"GF_PLUGIN_INT_WORKERS": "2"})
	defer s.Shutdown(5 * time.Second)
	d, err := intsim.NewDomain(intsim.DomainConfig{Mode: intsim.ModePostcard, Encoding: intsim.Encoding{Version: intsim.V10},
		Flows: 16, UDPShare: 0.5, ICMPShare: 0.1, DropRate: -1, LossRate: -1, CongestionEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	const packets = 40
	sent := sendDomain(t, s.INT.Addr(), d, packets)
	byPacket := map[uint64][]string{}
	for _, r := range sent {
		if r.Kind != intsim.KindPostcard {
			t.Fatalf("a %s report in postcard mode", r.Kind)
		}
		byPacket[r.PacketNo] = append(byPacket[r.PacketNo], switchName(r.SwitchID))
	}
	var want []string
	for _, ids := range byPacket {
		want = append(want, strings.Join(ids, ">"))
	}
	slices.Sort(want)
	if len(want) != packets {
		t.Fatalf("%d packets reported, want %d", len(want), packets)
	}
	waitRows(t, s, int64(len(sent)+packets))
	if got := pathsOfType(t, s.INTReports, intmap.TypePostcardPath); !slices.Equal(got, want) {
		t.Errorf("postcard paths\n%v\nwant\n%v", got, want)
	}
	if n := s.INTReports.Stats().Rows; n != int64(len(sent)+packets) {
		t.Errorf("%d rows, want %d postcards and %d paths", n, len(sent), packets)
	}
}

// A refused INT setting keeps INT off (no listener with a default in its
// place) while the rest runs, and names the key.
func TestRefusedINTSettingKeepsINTOff(t *testing.T) {
	cfg, err := config.FromEnv(env(map[string]string{
		"GF_PLUGIN_DATA_DIR":               t.TempDir(),
		"GF_PLUGIN_FTD_LISTEN_ADDRESS":     "off",
		"GF_PLUGIN_INT_UDP_LISTEN_ADDRESS": "127.0.0.1:0",
		"GF_PLUGIN_INT_DSCP":               "0x41/0x41",
	}))
	s := Start(cfg, err, log.NewNullLogger())
	defer s.Shutdown(time.Second)
	if s.Store == nil || s.INT != nil || s.INTReports != nil {
		t.Fatalf("store %v, INT %v", s.Store != nil, s.INT != nil)
	}
	if len(s.Problems) != 1 || !strings.Contains(s.Problems[0].Error(), "int_dscp") {
		t.Fatalf("problems = %v", s.Problems)
	}
	for _, l := range s.Board.Snapshot().Listeners {
		if l.Name == "int-udp" {
			t.Fatalf("an INT listener exists: %+v", l)
		}
	}
}

// A port INT cannot bind is a start-up problem naming the address (the
// health check shows it), and INT stays off.
func TestINTPortTakenIsAProblem(t *testing.T) {
	taken, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	addr := taken.LocalAddr().String()
	cfg, err := config.FromEnv(env(map[string]string{
		"GF_PLUGIN_DATA_DIR":               t.TempDir(),
		"GF_PLUGIN_FTD_LISTEN_ADDRESS":     "off",
		"GF_PLUGIN_INT_UDP_LISTEN_ADDRESS": addr,
	}))
	if err != nil {
		t.Fatal(err)
	}
	s := Start(cfg, nil, log.NewNullLogger())
	defer s.Shutdown(time.Second)
	if s.INT != nil || s.INTReports != nil {
		t.Fatal("INT started on a taken port")
	}
	if len(s.Problems) != 1 || !strings.Contains(s.Problems[0].Error(), "INT receiver on "+addr) {
		t.Fatalf("problems = %v", s.Problems)
	}
}

// Beside IPFIX, int_report gets half of records_max_bytes.
func TestINTAndIPFIXShareTheRecordBudget(t *testing.T) {
	s := startWithINT(t, map[string]string{"GF_PLUGIN_IPFIX_UDP_LISTEN_ADDRESS": "127.0.0.1:0"})
	defer s.Shutdown(5 * time.Second)
	if s.Flows == nil {
		t.Fatalf("IPFIX did not start: %v", s.Problems)
	}
	if i, f := s.INTReports.Stats().MaxBytes, s.Flows.Stats().MaxBytes; i != 32<<20 || f != 32<<20 {
		t.Fatalf("caps: int_report %d, ipfix_flow %d; want halves of 64 MiB", i, f)
	}
}

// records_max_bytes split between the tables that run: xr_state an eighth
// beside others (at least 1 MiB, at most half), ipfix_flow and int_report
// halves of the rest, a table alone all of it.
func TestRecordBudgets(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		total            int64
		ipfix, xr, intr  bool
		flows, xrS, ints int64
	}{
		{512 * mib, true, true, true, 224 * mib, 64 * mib, 224 * mib},
		{512 * mib, true, true, false, 448 * mib, 64 * mib, 0},
		{512 * mib, true, false, true, 256 * mib, 0, 256 * mib},
		{512 * mib, false, true, true, 0, 64 * mib, 448 * mib},
		{512 * mib, true, false, false, 512 * mib, 0, 0},
		{512 * mib, false, true, false, 0, 512 * mib, 0},
		{512 * mib, false, false, true, 0, 0, 512 * mib},
		{512 * mib, false, false, false, 0, 0, 0},
		{4 * mib, true, true, true, 3 * mib / 2, mib, 3 * mib / 2}, // an eighth would be under 1 MiB
		{4 * mib, true, true, false, 3 * mib, mib, 0},
		{mib, true, true, false, mib / 2, mib / 2, 0}, // at most half
		{mib, false, true, true, 0, mib / 2, mib / 2},
		{mib + 1, true, false, true, mib/2 + 1, 0, mib / 2}, // an odd byte goes to the flows, none is lost
	} {
		f, x, i := recordBudgets(c.total, c.ipfix, c.xr, c.intr)
		if f != c.flows || x != c.xrS || i != c.ints {
			t.Errorf("recordBudgets(%d, ipfix %v, xr %v, int %v) = %d, %d, %d; want %d, %d, %d",
				c.total, c.ipfix, c.xr, c.intr, f, x, i, c.flows, c.xrS, c.ints)
		}
	}
}

// int_max_hops is bounded by what the decoder can hold.
func TestINTMaxHopsIsTheDecodersLimit(t *testing.T) {
	if config.MaxINTHops != intreport.HopLimit {
		t.Fatalf("config.MaxINTHops %d, intreport.HopLimit %d", config.MaxINTHops, intreport.HopLimit)
	}
}
