package peers

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/netlens/netlens/pkg/decode/ipfix"
)

// exporter is one independent IPFIX exporter under test.
type exporter struct {
	prog Program
	run  func(ctx context.Context, pcapPath string, target netip.AddrPort, dir string) ([]byte, error)
	// octets is what the exporter puts in octetDeltaCount for a flow of
	// the generated traffic. RFC 7012 defines it as the IP packets' octets,
	// header included (Totals.Bytes); an exporter that counts something
	// else is named here, with the proof in TestExportersOnEthernetPadding.
	octets func(*Totals) uint64
	// tos is the ipClassOfService the exporter reports for flow k.
	tos func(tr *Traffic, k Key) uint8
}

var (
	softflowdExporter = exporter{prog: Softflowd, run: RunSoftflowd,
		octets: func(t *Totals) uint64 { return t.LinkBytes }, tos: openerTOS}
	pmacctdExporter = exporter{prog: Pmacctd, run: RunPmacctd,
		octets: func(t *Totals) uint64 { return t.Bytes }, tos: openerTOS}
)

// openerTOS is what both exporters report as a flow's TOS: the IPv4 TOS
// for the direction that opened the conversation, 0 for the other
// direction and 0 for IPv6. They keep one entry per conversation and take
// the TOS from the packet that created it only; IPv6 traffic class is not
// read at all (pmacct's nfprobe_plugin.c: ipv4_to_flowrec sets
// flow->tos[ndx] for the creating packet, the _update path never does, and
// ipv6_to_flowrec has no tos). softflowd 1.1.0, nfprobe's ancestor,
// reports the same values for the same capture. The generator gives both
// directions of a conversation the same non-zero TOS, so the test tells
// these cases apart.
func openerTOS(tr *Traffic, k Key) uint8 {
	f := tr.Flows[k]
	if f == nil || !k.Src.Is4() {
		return 0
	}
	if r := tr.Flows[k.Reverse()]; r != nil && r.FirstMs <= f.FirstMs {
		return 0
	}
	return f.TOS
}

// flowRecord is one decoded flow record, reduced to what the tests compare.
type flowRecord struct {
	Version    uint16
	ExportTime uint32
	Sequence   uint32
	ODID       uint32
	TemplateID uint16
	Key        Key
	Octets     uint64
	Packets    uint64
	Flags      uint8
	TOS        uint8
	StartMs    int64
	EndMs      int64
	// StartElem and EndElem are the element ids the times came from.
	StartElem, EndElem uint16
	SystemInitMs       int64
}

// recordCollector is an ipfix.Handler keeping copies of what it is given.
type recordCollector struct {
	flows   []flowRecord
	options int
	decoder *ipfix.Decoder
}

func (c *recordCollector) Options(*ipfix.Record) { c.options++ }

func (c *recordCollector) Record(r *ipfix.Record) {
	f := flowRecord{
		Version: r.Version, ExportTime: r.ExportTimeSec, Sequence: r.Sequence, ODID: r.Scope.ODID,
		TemplateID: r.TemplateID, SystemInitMs: r.SystemInitMs,
	}
	for _, fl := range r.Fields {
		if fl.Elem == nil || fl.Elem.PEN != 0 {
			continue
		}
		switch fl.Elem.ID {
		case 8, 27:
			f.Key.Src = fl.Addr()
		case 12, 28:
			f.Key.Dst = fl.Addr()
		case 7:
			f.Key.SrcPort = uint16(fl.Uint())
		case 11:
			f.Key.DstPort = uint16(fl.Uint())
		case 4:
			f.Key.Proto = uint8(fl.Uint())
		case 1:
			f.Octets = fl.Uint()
		case 2:
			f.Packets = fl.Uint()
		case 6:
			f.Flags = uint8(fl.Uint())
		case 5:
			f.TOS = uint8(fl.Uint())
		case 22, 150, 152, 154, 156:
			f.StartMs, f.StartElem = fl.TimeMs(r.ExportTimeSec, r.SystemInitMs), fl.Elem.ID
		case 21, 151, 153, 155, 157:
			f.EndMs, f.EndElem = fl.TimeMs(r.ExportTimeSec, r.SystemInitMs), fl.Elem.ID
		}
	}
	c.flows = append(c.flows, f)
}

// decodeDatagrams runs our decoder over the datagrams as the collector's
// worker would: one Decoder, UDP rules, in arrival order.
func decodeDatagrams(t *testing.T, ds []Datagram) (*recordCollector, ipfix.MessageStats) {
	t.Helper()
	dec := ipfix.New(ipfix.Options{})
	c := &recordCollector{decoder: dec}
	var total ipfix.MessageStats
	for i, d := range ds {
		st, err := dec.Decode(d.Payload, d.From, ipfix.UDP, d.Time.UnixMilli(), c)
		if err != nil {
			t.Errorf("datagram %d: our decoder: %v", i+1, err)
		}
		total.Records += st.Records
		total.OptionsRecords += st.OptionsRecords
		total.Templates += st.Templates
		total.Held += st.Held
		total.Malformed += st.Malformed
		total.DroppedPending += st.DroppedPending
		total.LostRecords += st.LostRecords
	}
	return c, total
}

// exportRun is what one exporter run produced.
type exportRun struct {
	traffic   *Traffic
	output    []byte     // the exporter's own log
	datagrams []Datagram // every datagram it sent, as the relay saw them
	capture   string     // those datagrams as a pcap file
	port      uint16     // the UDP port they were sent to
	stored    map[Key]storedTotals
	// The (options) template ids the receiver reports in use.
	templates, optionsTemplates []uint16
}

// storedTotals is what the collector's record table holds for a 5-tuple.
type storedTotals struct {
	Flows, Packets, Bytes uint64
	StartMs, EndMs        int64
	Flags                 uint8 // TCP flags ORed over the flow's records
	TOS                   uint8
}

// runExporter writes tr as a pcap, replays it through the exporter to the
// collector (by way of the relay that keeps every datagram), and returns
// what came out.
func runExporter(t *testing.T, e exporter, tr *Traffic) *exportRun {
	t.Helper()
	if _, err := e.prog.Path(); err != nil {
		t.Fatal(err)
	}
	if _, err := Tshark.Path(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if v, err := e.prog.Version(ctx); err == nil {
		t.Logf("exporter: %s", v)
	}
	dir := t.TempDir()
	pcapPath := filepath.Join(dir, "traffic.pcap")
	var buf bytes.Buffer
	if err := tr.WritePcap(&buf); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pcapPath, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}

	col := startCollector(t)
	relay, err := NewRelay(col.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()

	out, err := e.run(ctx, pcapPath, relay.Addr(), dir)
	if err != nil {
		t.Fatalf("%s: %v", e.prog.Name, err)
	}
	if bytes.Contains(out, []byte("connection lost to")) {
		t.Logf("%s exited 1 after its plugin's shutdown (see RunPmacctd); the export is checked below", e.prog.Name)
	}
	if err := relay.Drain(200*time.Millisecond, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	ds := relay.Datagrams()
	if len(ds) == 0 {
		t.Fatalf("%s sent nothing; its output:\n%s", e.prog.Name, out)
	}
	// Every 5-tuple of the capture is one flow record of the export.
	stored, tpl, opt := col.finish(t, len(ds), len(tr.Flows))

	capture := filepath.Join(dir, "export.pcap")
	var cb bytes.Buffer
	if err := WriteDatagrams(&cb, ds); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(capture, cb.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return &exportRun{traffic: tr, output: out, datagrams: ds, capture: capture, port: relay.Addr().Port(),
		stored: stored, templates: tpl, optionsTemplates: opt}
}

// checkTotals compares per 5-tuple totals with what the pcap holds: one
// flow record per 5-tuple (nothing in the capture reaches a timeout), its
// packets, its octets as the exporter counts them, start and end times of
// the conversation (see Traffic.Conversation), TCP flags and TOS.
func checkTotals(t *testing.T, what string, e exporter, tr *Traffic, got map[Key]storedTotals) {
	t.Helper()
	for _, k := range tr.Keys() {
		w := tr.Flows[k]
		g, ok := got[k]
		if !ok {
			t.Errorf("%s: %s: missing", what, k)
			continue
		}
		first, last := tr.Conversation(k)
		want := storedTotals{Flows: 1, Packets: w.Packets, Bytes: e.octets(w), StartMs: first, EndMs: last,
			Flags: w.Flags, TOS: e.tos(tr, k)}
		if g != want {
			t.Errorf("%s: %s: got %+v, want %+v", what, k, g, want)
		}
	}
	for k := range got {
		if tr.Flows[k] == nil {
			t.Errorf("%s: %s: not in the capture", what, k)
		}
	}
}

// totalsOf sums decoded flow records per 5-tuple.
func totalsOf(fs []flowRecord) map[Key]storedTotals {
	m := map[Key]storedTotals{}
	for _, f := range fs {
		s, ok := m[f.Key]
		if !ok {
			s.StartMs, s.EndMs = f.StartMs, f.EndMs
		}
		s.Flows++
		s.Packets += f.Packets
		s.Bytes += f.Octets
		s.StartMs, s.EndMs = min(s.StartMs, f.StartMs), max(s.EndMs, f.EndMs)
		s.Flags |= f.Flags
		s.TOS = f.TOS
		m[f.Key] = s
	}
	return m
}

// checkAgainstTshark compares our decoder's flow records with tshark's,
// record by record in message order: message header, template id,
// addresses, ports, protocol, octets, packets, TCP flags, TOS and times.
func checkAgainstTshark(t *testing.T, run *exportRun, ours *recordCollector) {
	t.Helper()
	msgs, err := TsharkDecode(context.Background(), run.capture, run.port)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != len(run.datagrams) {
		t.Fatalf("tshark decoded %d messages, the relay captured %d datagrams", len(msgs), len(run.datagrams))
	}
	checkTemplates(t, run, msgs, ours)
	// Which template ids are options templates, and the exporter's boot
	// time from its options data (softflowd's systemInitTimeMilliseconds),
	// as tshark read them.
	optionsTpl := map[uint16]bool{}
	tplElems := map[uint16][]uint16{}
	var sysInitMs int64
	optionsRecords := 0
	type tsRec struct {
		msg TsharkMessage
		rec TsharkRecord
	}
	var theirs []tsRec
	for _, m := range msgs {
		for _, tp := range m.Templates {
			optionsTpl[tp.ID] = tp.Options
			tplElems[tp.ID] = tp.Elements
		}
		for _, r := range m.Records {
			if optionsTpl[r.SetID] {
				optionsRecords++
				if f, ok := r.Field("cflow.sys_init_time"); ok {
					v, err := f.Uint()
					if err != nil {
						t.Fatal(err)
					}
					sysInitMs = int64(v)
				}
				continue
			}
			theirs = append(theirs, tsRec{m, r})
		}
	}
	if len(theirs) != len(ours.flows) || optionsRecords != ours.options {
		t.Fatalf("tshark found %d flow and %d options records, our decoder %d and %d",
			len(theirs), optionsRecords, len(ours.flows), ours.options)
	}
	for i, th := range theirs {
		o := ours.flows[i]
		m, r := th.msg, th.rec
		var diffs []string
		eq := func(name string, got, want any) {
			if got != want {
				diffs = append(diffs, fmt.Sprintf("%s: ours %v, tshark %v", name, got, want))
			}
		}
		eq("version", o.Version, m.Version)
		eq("export time", o.ExportTime, m.ExportTime)
		eq("sequence", o.Sequence, m.Sequence)
		eq("observation domain", o.ODID, m.ODID)
		eq("template id", o.TemplateID, r.SetID)
		addr := func(v4, v6 string) netip.Addr {
			for _, name := range []string{v4, v6} {
				if f, ok := r.Field(name); ok {
					a, err := netip.ParseAddr(f.Show)
					if err != nil {
						t.Fatalf("record %d: tshark %s %q: %v", i+1, name, f.Show, err)
					}
					return a
				}
			}
			return netip.Addr{}
		}
		num := func(name string) uint64 {
			f, ok := r.Field(name)
			if !ok {
				diffs = append(diffs, "tshark has no "+name)
				return 0
			}
			v, err := f.Uint()
			if err != nil {
				t.Fatalf("record %d: %v", i+1, err)
			}
			return v
		}
		eq("source address", o.Key.Src, addr("cflow.srcaddr", "cflow.srcaddrv6"))
		eq("destination address", o.Key.Dst, addr("cflow.dstaddr", "cflow.dstaddrv6"))
		eq("source port", uint64(o.Key.SrcPort), num("cflow.srcport"))
		eq("destination port", uint64(o.Key.DstPort), num("cflow.dstport"))
		eq("protocol", uint64(o.Key.Proto), num("cflow.protocol"))
		eq("octets", o.Octets, num("cflow.octets"))
		eq("packets", o.Packets, num("cflow.packets"))
		eq("tcp flags", uint64(o.Flags), num("cflow.tcpflags"))
		eq("tos", uint64(o.TOS), num("cflow.tos"))
		// tshark shows flow times as it renders them; its raw value is
		// milliseconds since the exporter's boot for flowStart/EndSysUpTime
		// (add the options' systemInitTimeMilliseconds) or since the epoch
		// for flowStart/EndMilliseconds.
		for _, tm := range []struct {
			label string
			ours  int64
			elem  uint16
		}{{"StartTime:", o.StartMs, o.StartElem}, {"EndTime:", o.EndMs, o.EndElem}} {
			f, ok := r.Labeled(tm.label)
			if !ok {
				diffs = append(diffs, "tshark has no "+tm.label)
				continue
			}
			v, err := f.Uint()
			if err != nil {
				t.Fatalf("record %d: %v", i+1, err)
			}
			theirMs := int64(v)
			switch tm.elem {
			case 21, 22:
				if sysInitMs == 0 {
					diffs = append(diffs, "tshark found no systemInitTimeMilliseconds for sysUpTime times")
				}
				eq("systemInitTimeMilliseconds", o.SystemInitMs, sysInitMs)
				theirMs += sysInitMs
			case 152, 153:
			default:
				diffs = append(diffs, fmt.Sprintf("%s from element %d, which this test does not compare", tm.label, tm.elem))
			}
			eq(tm.label, tm.ours, theirMs)
		}
		if !containsElem(tplElems[r.SetID], o.StartElem) || !containsElem(tplElems[r.SetID], o.EndElem) {
			diffs = append(diffs, fmt.Sprintf("time elements %d/%d not in tshark's template %d %v", o.StartElem, o.EndElem, r.SetID, tplElems[r.SetID]))
		}
		if len(diffs) > 0 {
			t.Errorf("flow record %d (message %d, %s): %v", i+1, m.Frame, o.Key, diffs)
		}
	}
}

// checkTemplates compares the template ids tshark saw defined with those
// our decoder and the collector's receiver hold at the end.
func checkTemplates(t *testing.T, run *exportRun, msgs []TsharkMessage, ours *recordCollector) {
	t.Helper()
	var theirTpl, theirOpt []uint16
	for _, m := range msgs {
		for _, tp := range m.Templates {
			if tp.Options {
				theirOpt = append(theirOpt, tp.ID)
			} else {
				theirTpl = append(theirTpl, tp.ID)
			}
		}
	}
	var decTpl, decOpt []uint16
	for _, s := range ours.decoder.Scopes() {
		decTpl = append(decTpl, s.Templates...)
		decOpt = append(decOpt, s.OptionsTemplates...)
	}
	want := fmt.Sprint(uniqueSorted(theirTpl), uniqueSorted(theirOpt))
	if len(theirTpl) == 0 {
		t.Errorf("tshark saw no template defined")
	}
	if got := fmt.Sprint(uniqueSorted(decTpl), uniqueSorted(decOpt)); got != want {
		t.Errorf("template and options template ids: our decoder %s, tshark %s", got, want)
	}
	if got := fmt.Sprint(uniqueSorted(run.templates), uniqueSorted(run.optionsTemplates)); got != want {
		t.Errorf("template and options template ids: the receiver %s, tshark %s", got, want)
	}
}

func uniqueSorted(ids []uint16) []uint16 {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}

func containsElem(es []uint16, e uint16) bool {
	for _, x := range es {
		if x == e {
			return true
		}
	}
	return false
}

// softflowdStats is softflowd's own count at exit: "Flows exported: 9 (16
// records) in 1 packets (0 failures)".
var softflowdStats = regexp.MustCompile(`Flows exported: \d+ \((\d+) records\) in (\d+) packets \((\d+) failures\)`)

// recentStart is where generated traffic begins: close to now, because
// the record store refuses rows far from its clock.
func recentStart() time.Time { return time.Now().Add(-time.Minute).Truncate(time.Second) }

func testExporter(t *testing.T, e exporter) {
	tr := Generate(recentStart())
	run := runExporter(t, e, tr)

	ours, st := decodeDatagrams(t, run.datagrams)
	if st.Malformed != 0 || st.Held != 0 || st.DroppedPending != 0 || st.LostRecords != 0 {
		t.Errorf("our decoder: %+v", st)
	}
	if st.Templates == 0 {
		t.Error("our decoder learnt no template")
	}
	checkTotals(t, "decoded export", e, tr, totalsOf(ours.flows))
	checkAgainstTshark(t, run, ours)
	checkTotals(t, "collector's record table", e, tr, run.stored)

	if e.prog == Softflowd {
		m := softflowdStats.FindSubmatch(run.output)
		if m == nil {
			t.Fatalf("no export statistics in softflowd's output:\n%s", run.output)
		}
		recs, _ := strconv.Atoi(string(m[1]))
		pkts, _ := strconv.Atoi(string(m[2]))
		if recs != len(tr.Flows) || pkts != len(run.datagrams) || string(m[3]) != "0" {
			t.Errorf("softflowd says %s; the capture has %d 5-tuples and the relay got %d datagrams",
				m[0], len(tr.Flows), len(run.datagrams))
		}
	}
}

// The exporter tests run in parallel: each has its own collector, relay,
// ports and directory, and pmacctd spends most of its run asleep.

func TestSoftflowdExportMatchesCapture(t *testing.T) {
	t.Parallel()
	testExporter(t, softflowdExporter)
}

func TestPmacctdExportMatchesCapture(t *testing.T) {
	t.Parallel()
	testExporter(t, pmacctdExporter)
}

// The two exporters count a flow's octets differently when a frame carries
// Ethernet padding: three 38-byte IPv4/UDP packets, each padded to the
// 60-byte Ethernet minimum. pmacctd reports the IP total length, as RFC
// 7012 defines octetDeltaCount (3 x 38); softflowd reports the capture's
// length past the Ethernet header, padding included (3 x 46), because it
// adds the pcap record's original length minus the link header
// (softflowd.c flow_cb). Frames of 60 bytes or more, and IPv6 packets,
// which are never that short, count the same in both.
func TestExportersOnEthernetPadding(t *testing.T) {
	t.Parallel()
	start := recentStart()
	tr := &Traffic{Flows: map[Key]*Totals{}}
	for i := range 3 {
		tr.add(TimedPacket{Time: start.Add(time.Duration(i) * 10 * time.Millisecond), Packet: Packet{
			Src: netip.MustParseAddrPort("192.0.2.1:40000"), Dst: netip.MustParseAddrPort("198.51.100.1:7"),
			Proto: ProtoUDP, Payload: 10}})
	}
	k := tr.Keys()[0]
	if w := tr.Flows[k]; w.Bytes != 3*38 || w.LinkBytes != 3*46 {
		t.Fatalf("generator: %d bytes, %d past the link header; want 114 and 138", w.Bytes, w.LinkBytes)
	}
	for _, c := range []struct {
		e      exporter
		octets uint64
	}{{pmacctdExporter, 3 * 38}, {softflowdExporter, 3 * 46}} {
		t.Run(c.e.prog.Name, func(t *testing.T) {
			t.Parallel()
			run := runExporter(t, c.e, tr)
			ours, _ := decodeDatagrams(t, run.datagrams)
			checkAgainstTshark(t, run, ours)
			got := totalsOf(ours.flows)[k]
			if got.Packets != 3 || got.Bytes != c.octets {
				t.Errorf("%s exported %d packets, %d octets; want 3, %d", c.e.prog.Name, got.Packets, got.Bytes, c.octets)
			}
			if s := run.stored[k]; s.Packets != 3 || s.Bytes != c.octets {
				t.Errorf("collector stored %d packets, %d bytes; want 3, %d", s.Packets, s.Bytes, c.octets)
			}
		})
	}
}
