package peers

import (
	"bytes"
	"context"
	"errors"
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
	"github.com/netlens/netlens/pkg/decode/ipfix/ie"
)

// exporter is one independent IPFIX exporter under test.
type exporter struct {
	prog Program
	run  func(ctx context.Context, pcapPath string, target netip.AddrPort, dir string, x Export) ([]byte, error)
	// octets is what the exporter puts in octetDeltaCount for a flow of
	// the generated traffic. RFC 7012 defines it as the IP packets' octets,
	// header included (Totals.Bytes); an exporter that counts something
	// else is named here, with the proof in TestExportersOnEthernetPadding.
	octets func(*Totals) uint64
	// tos is the ipClassOfService the exporter reports for flow k.
	tos func(tr *Traffic, k Key) uint8
	// sampled is the part of tr the exporter counts when it samples 1 in
	// n itself, or nil when it samples at random (which packets it took is
	// then unknown; the tests bound the totals instead).
	sampled func(tr *Traffic, n int) *Traffic
	// timeShift is how far the flow times the exporter reports for tr are
	// from the capture's, in ms.
	timeShift func(tr *Traffic, x Export) int64
}

var (
	softflowdExporter = exporter{prog: Softflowd, run: RunSoftflowd,
		octets: func(t *Totals) uint64 { return t.LinkBytes }, tos: openerTOS, sampled: everyNth,
		timeShift: v9UptimeShift}
	pmacctdExporter = exporter{prog: Pmacctd, run: RunPmacctd,
		octets: func(t *Totals) uint64 { return t.Bytes }, tos: openerTOS, sampled: nil,
		// flowStart/EndMilliseconds in v9 too: the capture's times.
		timeShift: func(*Traffic, Export) int64 { return 0 }}
)

// everyNth is softflowd's -s n: systematic count-based sampling that keeps
// the first packet it reads and every n-th after it (packet i, from 0, when
// i%n == 0). Its output proves it: it reports ceil(packets/n) "Packets
// processed" (34 of 167 for n=5, where keeping the n-th, 2n-th... would
// give 33), and the per-5-tuple totals of the export equal those of this
// subset exactly (testExport). It counts the sampled packets' own octets
// and packets, unscaled, and announces samplingPacketInterval 1 and
// samplingPacketSpace n-1 (IPFIX) or samplingInterval n (v9) in options.
func everyNth(tr *Traffic, n int) *Traffic {
	return tr.Sample(func(i int) bool { return i%n == 0 })
}

// v9UptimeShift is how early softflowd's NetFlow v9 flow times come out.
// They are FIRST/LAST_SWITCHED, milliseconds of sysUpTime, and a collector
// can place them only through the header: export time (unix seconds,
// whole) minus sysUpTime (ms). softflowd with -a exports when the capture
// ends, at the last packet's time; the header's seconds drop that time's
// milliseconds, so every flow time lands that many ms early (-314 for a
// capture whose last packet is 314 ms past a whole second, as tshark's
// decoding shows too). RFC 3954 gives the header no finer export time;
// IPFIX has systemInitTimeMilliseconds, and there the times are exact.
func v9UptimeShift(tr *Traffic, x Export) int64 {
	if x.version() != 9 || len(tr.Packets) == 0 {
		return 0
	}
	return -(tr.Packets[len(tr.Packets)-1].Time.UnixMilli() % 1000)
}

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
	// RFC 5103 reverseOctetDeltaCount and reversePacketDeltaCount.
	RevOctets, RevPackets uint64
	RevFlags              uint8
	SamplingRate          uint64 // as our decoder resolved it
	Flags                 uint8
	TOS                   uint8
	StartMs               int64
	EndMs                 int64
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
		TemplateID: r.TemplateID, SystemInitMs: r.SystemInitMs, SamplingRate: r.SamplingRate,
	}
	for _, fl := range r.Fields {
		if fl.Elem != nil && fl.Elem.PEN == ie.ReversePEN {
			switch fl.Elem.ID {
			case 1:
				f.RevOctets = fl.Uint()
			case 2:
				f.RevPackets = fl.Uint()
			case 6:
				f.RevFlags = uint8(fl.Uint())
			}
			continue
		}
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

// decodeMessages runs our decoder over the messages as the collector's
// worker would: one Decoder, the transport's rules, in arrival order.
func decodeMessages(t *testing.T, ds []Datagram, tr ipfix.Transport) (*recordCollector, ipfix.MessageStats) {
	t.Helper()
	dec := ipfix.New(ipfix.Options{})
	c := &recordCollector{decoder: dec}
	var total ipfix.MessageStats
	for i, d := range ds {
		st, err := dec.Decode(d.Payload, d.From, tr, d.Time.UnixMilli(), c)
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
		total.LostPackets += st.LostPackets
	}
	return c, total
}

// exportRun is what one exporter run produced.
type exportRun struct {
	x      Export
	output []byte // the exporter's own log
	// messages is every message it sent, in order: the UDP datagrams as
	// the relay saw them, or the TCP stream cut at message boundaries.
	messages  []Datagram
	capture   string // what the collector's socket received, as a pcap file
	transport string // "udp" or "tcp"
	port      uint16 // the port it was sent to
	tshark    []TsharkMessage
	stored    map[Key]storedTotals
	// The (options) template ids the receiver reports in use.
	templates, optionsTemplates []uint16
}

func (r *exportRun) decoderTransport() ipfix.Transport {
	if r.transport == "tcp" {
		return ipfix.TCP
	}
	return ipfix.UDP
}

// storedTotals is what the collector's record table holds for a 5-tuple.
type storedTotals struct {
	Flows          uint64
	Packets, Bytes uint64 // scaled by the sampling rate
	PacketsRaw     uint64 // as the exporter counted them
	BytesRaw       uint64
	SamplingRate   uint64
	RevPackets     uint64 // RFC 5103 reverse direction, scaled
	RevBytes       uint64
	RevFlags       uint8 // reverseTcpControlBits ORed
	StartMs, EndMs int64
	Flags          uint8 // TCP flags ORed over the flow's records
	TOS            uint8
}

// runExporter writes tr as a pcap, replays it through the exporter to the
// collector (by way of the relay that keeps every datagram or stream
// chunk), has tshark decode what the collector received, and returns what
// came out. The collector must have decoded as many flow records as
// tshark found.
func runExporter(t *testing.T, e exporter, x Export, tr *Traffic) *exportRun {
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
	run := &exportRun{x: x, transport: "udp"}
	var cb bytes.Buffer
	if x.TCP {
		run.transport = "tcp"
		relay, err := NewStreamRelay(col.tcpAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer relay.Close()
		run.port = relay.Addr().Port()
		if run.output, err = e.run(ctx, pcapPath, relay.Addr(), dir, x); err != nil {
			t.Fatalf("%s: %v", e.prog.Name, err)
		}
		if err := relay.Drain(10 * time.Second); err != nil {
			t.Fatalf("%v; %s's output:\n%s", err, e.prog.Name, run.output)
		}
		chunks := relay.Chunks()
		var stream []byte
		for _, c := range chunks {
			stream = append(stream, c.Payload...)
		}
		msgs, err := SplitMessages(stream)
		if err != nil {
			t.Fatalf("%s's stream: %v", e.prog.Name, err)
		}
		last := chunks[len(chunks)-1]
		for _, m := range msgs {
			run.messages = append(run.messages, Datagram{Time: last.Time, From: last.From, To: last.To, Payload: m})
		}
		if err := WriteStream(&cb, chunks); err != nil {
			t.Fatal(err)
		}
	} else {
		relay, err := NewRelay(col.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer relay.Close()
		run.port = relay.Addr().Port()
		if run.output, err = e.run(ctx, pcapPath, relay.Addr(), dir, x); err != nil {
			t.Fatalf("%s: %v", e.prog.Name, err)
		}
		if err := relay.Drain(200*time.Millisecond, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		run.messages = relay.Datagrams()
		if err := WriteDatagrams(&cb, run.messages); err != nil {
			t.Fatal(err)
		}
	}
	if bytes.Contains(run.output, []byte("connection lost to")) {
		t.Logf("%s exited 1 after its plugin's shutdown (see RunPmacctd); the export is checked below", e.prog.Name)
	}
	if len(run.messages) == 0 {
		t.Fatalf("%s sent nothing; its output:\n%s", e.prog.Name, run.output)
	}
	run.capture = filepath.Join(dir, "export.pcap")
	if err := os.WriteFile(run.capture, cb.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	var err error
	if run.tshark, err = TsharkDecode(ctx, run.capture, run.transport, run.port); err != nil {
		t.Fatal(err)
	}
	if len(run.tshark) != len(run.messages) {
		t.Fatalf("tshark decoded %d messages, the relay captured %d", len(run.tshark), len(run.messages))
	}
	flows, _, _ := tsharkRecords(run.tshark)
	run.stored, run.templates, run.optionsTemplates = col.finish(t, len(run.messages), len(flows), x.TCP)
	return run
}

// tsharkRecord is a flow record as tshark decoded it, with its message.
type tsharkRecord struct {
	msg TsharkMessage
	rec TsharkRecord
}

// tsharkRecords splits tshark's records into flow and options records by
// the kind of template tshark saw define their set id, and returns each
// template's element ids.
func tsharkRecords(msgs []TsharkMessage) (flows []tsharkRecord, options []tsharkRecord, elems map[uint16][]uint16) {
	optionsTpl := map[uint16]bool{}
	elems = map[uint16][]uint16{}
	for _, m := range msgs {
		for _, tp := range m.Templates {
			optionsTpl[tp.ID] = tp.Options
			elems[tp.ID] = tp.Elements
		}
		for _, r := range m.Records {
			if optionsTpl[r.SetID] {
				options = append(options, tsharkRecord{m, r})
			} else {
				flows = append(flows, tsharkRecord{m, r})
			}
		}
	}
	return flows, options, elems
}

// canonical is the direction softflowd names first in a biflow record
// (and keeps there with zero counts when only the other direction has
// packets, as sampling can leave it):
// it keeps each conversation with the lower address (in network byte
// order) at index 0 and exports index 0 as the forward direction
// (softflowd.c ipv4_to_flowrec/ipv6_to_flowrec: ndx = memcmp(src, dst) > 0),
// whichever side opened the conversation. The generator's 10.0.9.9 client
// of 10.0.0.5 tells the two rules apart.
func canonical(k Key) Key {
	if k.Src.Compare(k.Dst) > 0 || (k.Src == k.Dst && k.SrcPort > k.DstPort) {
		return k.Reverse()
	}
	return k
}

// wantTotals is what the exporter must report per 5-tuple (per
// conversation for biflow) when which packets it counts is known: all of
// them, or those its systematic sampling keeps. Announced sampling scales
// the raw counts.
func wantTotals(e exporter, x Export, tr *Traffic) map[Key]storedTotals {
	rate := uint64(max(x.Sampling, x.ExternalSampling, 1))
	counted := tr
	if x.Sampling > 1 {
		counted = e.sampled(tr, x.Sampling)
	}
	shift := e.timeShift(tr, x)
	want := map[Key]storedTotals{}
	for _, k := range counted.Keys() {
		fwd, rev := counted.Flows[k], (*Totals)(nil)
		if x.Biflow {
			// One record per conversation, forward = the canonical
			// direction, even when only the other one has packets.
			k = canonical(k)
			fwd, rev = counted.Flows[k], counted.Flows[k.Reverse()]
			if _, done := want[k]; done {
				continue
			}
		}
		first, last := counted.Conversation(k)
		if fwd == nil {
			first, last = counted.Conversation(k.Reverse())
			fwd = &Totals{}
		}
		s := storedTotals{Flows: 1, PacketsRaw: fwd.Packets, BytesRaw: e.octets(fwd), SamplingRate: rate,
			StartMs: first + shift, EndMs: last + shift, Flags: fwd.Flags, TOS: e.tos(counted, k)}
		if rev != nil {
			s.RevPackets, s.RevBytes, s.RevFlags = rev.Packets*rate, e.octets(rev)*rate, rev.Flags
		}
		s.Packets, s.Bytes = s.PacketsRaw*rate, s.BytesRaw*rate
		want[k] = s
	}
	return want
}

// checkTotals compares per 5-tuple totals: every field of storedTotals,
// no 5-tuple missing or extra.
func checkTotals(t *testing.T, what string, want, got map[Key]storedTotals) {
	t.Helper()
	keys := make([]Key, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, keyCompare)
	for _, k := range keys {
		g, ok := got[k]
		if !ok {
			t.Errorf("%s: %s: missing", what, k)
			continue
		}
		if w := want[k]; g != w {
			t.Errorf("%s: %s: got %+v, want %+v", what, k, g, w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: %s: not expected (%+v)", what, k, got[k])
		}
	}
}

// checkRandomSample bounds what an exporter that samples 1 in n at random
// reported, since which packets it took is unknown: per 5-tuple of the
// capture one record, at least one and at most all of its packets, octets
// between those of its smallest and its largest packets of that count (the
// exporter counts IP lengths, as pmacctd does), times within the
// conversation, flags a subset of the flow's, and the scaled values n
// times the raw ones with n as the sampling rate.
func checkRandomSample(t *testing.T, what string, e exporter, x Export, tr *Traffic, got map[Key]storedTotals) {
	t.Helper()
	n := uint64(x.Sampling)
	if len(got) == 0 {
		t.Errorf("%s: nothing sampled", what)
	}
	var kept, all uint64
	for _, g := range got {
		kept += g.PacketsRaw
	}
	for _, w := range tr.Flows {
		all += w.Packets
	}
	t.Logf("%s: random 1 in %d sampling kept %d of %d packets", what, n, kept, all)
	for k, g := range got {
		w := tr.Flows[k]
		if w == nil {
			t.Errorf("%s: %s: not in the capture", what, k)
			continue
		}
		sizes := tr.Sizes(k)
		slices.Sort(sizes)
		var lo, hi uint64
		if g.PacketsRaw >= 1 && g.PacketsRaw <= uint64(len(sizes)) {
			for i := range int(g.PacketsRaw) {
				lo += sizes[i]
				hi += sizes[len(sizes)-1-i]
			}
		}
		first, last := tr.Conversation(k)
		var bad []string
		check := func(ok bool, s string) {
			if !ok {
				bad = append(bad, s)
			}
		}
		check(g.Flows == 1, "one record")
		check(g.PacketsRaw >= 1 && g.PacketsRaw <= w.Packets, fmt.Sprintf("1..%d packets", w.Packets))
		check(g.BytesRaw >= lo && g.BytesRaw <= hi, fmt.Sprintf("octets in %d..%d", lo, hi))
		check(g.SamplingRate == n, fmt.Sprintf("sampling rate %d", n))
		check(g.Packets == g.PacketsRaw*n && g.Bytes == g.BytesRaw*n, "scaled = raw x rate")
		check(g.StartMs >= first && g.EndMs <= last && g.StartMs <= g.EndMs, fmt.Sprintf("times within %d..%d", first, last))
		check(g.Flags&^w.Flags == 0, fmt.Sprintf("flags within %#x", w.Flags))
		check(g.RevPackets == 0 && g.RevBytes == 0 && g.RevFlags == 0, "no reverse counts")
		if len(bad) > 0 {
			t.Errorf("%s: %s: %+v breaks %v", what, k, g, bad)
		}
	}
}

// totalsOf sums decoded flow records per 5-tuple, scaled as the flow
// pipeline scales them (a rate of 0 is 1).
func totalsOf(fs []flowRecord) map[Key]storedTotals {
	m := map[Key]storedTotals{}
	for _, f := range fs {
		s, ok := m[f.Key]
		if !ok {
			s.StartMs, s.EndMs = f.StartMs, f.EndMs
		}
		rate := max(f.SamplingRate, 1)
		s.Flows++
		s.PacketsRaw += f.Packets
		s.BytesRaw += f.Octets
		s.Packets += f.Packets * rate
		s.Bytes += f.Octets * rate
		s.RevPackets += f.RevPackets * rate
		s.RevBytes += f.RevOctets * rate
		s.RevFlags |= f.RevFlags
		s.SamplingRate = rate
		s.StartMs, s.EndMs = min(s.StartMs, f.StartMs), max(s.EndMs, f.EndMs)
		s.Flags |= f.Flags
		s.TOS = f.TOS
		m[f.Key] = s
	}
	return m
}

// tsharkSampling follows the sampling an exporter announces in options
// data as tshark decodes it: samplingInterval (v9), samplingPacketInterval
// and samplingPacketSpace (IPFIX, PSAMP systematic count-based), and
// samplerRandomInterval per flowSamplerId, which data records then name.
type tsharkSampling struct {
	exporterRate uint64
	samplers     map[uint64]uint64
}

func (s *tsharkSampling) options(t *testing.T, r TsharkRecord) {
	u := func(name string) (uint64, bool) {
		f, ok := r.Field(name)
		if !ok {
			return 0, false
		}
		v, err := f.Uint()
		if err != nil {
			t.Fatal(err)
		}
		return v, true
	}
	if v, ok := u("cflow.sampling_interval"); ok {
		s.exporterRate = v
	}
	if i, ok := u("cflow.sampling_packet_interval"); ok && i > 0 {
		sp, _ := u("cflow.sampling_packet_space")
		s.exporterRate = (i + sp) / i
	}
	if v, ok := u("cflow.sampler_random_interval"); ok {
		id, _ := u("cflow.sampler_id")
		if s.samplers == nil {
			s.samplers = map[uint64]uint64{}
		}
		s.samplers[id] = v
	}
}

// rate is the sampling rate for a flow record, 1 when none was announced.
func (s *tsharkSampling) rate(t *testing.T, r TsharkRecord) uint64 {
	rate := s.exporterRate
	if f, ok := r.Field("cflow.sampler_id"); ok {
		id, err := f.Uint()
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := s.samplers[id]; ok {
			rate = v
		}
	}
	return max(rate, 1)
}

// checkAgainstTshark compares our decoder's flow records with tshark's,
// record by record in message order: message header, template id,
// addresses, ports, protocol, octets, packets, reverse octets and
// packets, TCP flags, TOS, times and the sampling rate announced.
func checkAgainstTshark(t *testing.T, run *exportRun, ours *recordCollector) {
	t.Helper()
	msgs := run.tshark
	checkTemplates(t, run, msgs, ours)
	theirs, options, tplElems := tsharkRecords(msgs)
	if len(theirs) != len(ours.flows) || len(options) != ours.options {
		t.Fatalf("tshark found %d flow and %d options records, our decoder %d and %d",
			len(theirs), len(options), len(ours.flows), ours.options)
	}
	// Options and flow records interleave; in message order each flow
	// record meets the options announced before it.
	var sampling tsharkSampling
	var sysInitMs int64
	optionsTpl := map[uint16]bool{}
	i := -1
	for _, m := range msgs {
		for _, tp := range m.Templates {
			optionsTpl[tp.ID] = tp.Options
		}
		for _, r := range m.Records {
			if optionsTpl[r.SetID] {
				sampling.options(t, r)
				if f, ok := r.Field("cflow.sys_init_time"); ok {
					v, err := f.Uint()
					if err != nil {
						t.Fatal(err)
					}
					sysInitMs = int64(v)
				}
				continue
			}
			i++
			compareRecord(t, run, i, ours.flows[i], m, r, &sampling, sysInitMs, tplElems)
		}
	}
}

// compareRecord compares flow record i as our decoder and tshark decoded it.
func compareRecord(t *testing.T, run *exportRun, i int, o flowRecord, m TsharkMessage, r TsharkRecord,
	sampling *tsharkSampling, sysInitMs int64, tplElems map[uint16][]uint16) {
	t.Helper()
	{
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
		value := func(name string, f TsharkField, ok bool) uint64 {
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
		num := func(name string) uint64 {
			f, ok := r.Field(name)
			return value(name, f, ok)
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
		if run.x.Biflow {
			f, ok := r.ReverseField("cflow.octets")
			eq("reverse octets", o.RevOctets, value("reverse cflow.octets", f, ok))
			f, ok = r.ReverseField("cflow.packets")
			eq("reverse packets", o.RevPackets, value("reverse cflow.packets", f, ok))
			f, ok = r.ReverseField("cflow.tcpflags")
			eq("reverse tcp flags", uint64(o.RevFlags), value("reverse cflow.tcpflags", f, ok))
		} else if _, ok := r.ReverseField("cflow.octets"); ok || o.RevOctets != 0 || o.RevPackets != 0 {
			diffs = append(diffs, "reverse counts in a unidirectional export")
		}
		eq("sampling rate", max(o.SamplingRate, 1), sampling.rate(t, r))
		// tshark shows flow times as it renders them; its raw value is
		// milliseconds since the exporter's boot for flowStart/EndSysUpTime
		// (add the options' systemInitTimeMilliseconds in IPFIX, the
		// header's export time minus its sysUpTime in v9) or since the
		// epoch for flowStart/EndMilliseconds.
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
			switch {
			case (tm.elem == 21 || tm.elem == 22) && m.Version == 9:
				base := int64(m.ExportTime)*1000 - m.SysUptimeMs
				eq("boot time from the v9 header", o.SystemInitMs, base)
				theirMs += base
			case tm.elem == 21 || tm.elem == 22:
				if sysInitMs == 0 {
					diffs = append(diffs, "tshark found no systemInitTimeMilliseconds for sysUpTime times")
				}
				eq("systemInitTimeMilliseconds", o.SystemInitMs, sysInitMs)
				theirMs += sysInitMs
			case tm.elem == 152 || tm.elem == 153:
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
	if run.transport == "tcp" {
		// The session is over: its templates with it (RFC 7011 §8.1).
		want = fmt.Sprint([]uint16(nil), []uint16(nil))
	}
	if got := fmt.Sprint(uniqueSorted(run.templates), uniqueSorted(run.optionsTemplates)); got != want {
		t.Errorf("template and options template ids: the receiver %s, want %s", got, want)
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

// softflowdProcessed is how many packets softflowd counted: with -s n,
// those its sampling kept.
var softflowdProcessed = regexp.MustCompile(`Packets processed: (\d+)`)

// recentStart is where generated traffic begins: close to now, because
// the record store refuses rows far from its clock.
func recentStart() time.Time { return time.Now().Add(-time.Minute).Truncate(time.Second) }

// testExport replays the generated traffic through e exporting as x, and
// checks the export three ways: our decoder against tshark field by
// field, the collector's stored totals against our decoder's, and both
// against what the capture holds as the exporter counts it.
func testExport(t *testing.T, e exporter, x Export) {
	tr := Generate(recentStart())
	run := runExporter(t, e, x, tr)

	ours, st := decodeMessages(t, run.messages, run.decoderTransport())
	if st.Malformed != 0 || st.Held != 0 || st.DroppedPending != 0 || st.LostRecords != 0 || st.LostPackets != 0 {
		t.Errorf("our decoder: %+v", st)
	}
	if st.Templates == 0 {
		t.Error("our decoder learnt no template")
	}
	checkAgainstTshark(t, run, ours)
	decoded := totalsOf(ours.flows)
	checkTotals(t, "collector's record table against the decoded export", decoded, run.stored)
	want := map[Key]storedTotals(nil)
	if x.Sampling > 1 && e.sampled == nil {
		// The exporter's own options say its sampling is random
		// (samplerMode 2), so which packets it counted is unknown
		// (pmacct's CONFIG-KEYS: sampling_rate is "a simple randomic
		// one"): bounds, not totals.
		modes := map[uint64]bool{}
		_, options, _ := tsharkRecords(run.tshark)
		for _, o := range options {
			if f, ok := o.rec.Field("cflow.sampler_mode"); ok {
				v, err := f.Uint()
				if err != nil {
					t.Fatal(err)
				}
				modes[v] = true
			}
		}
		if len(modes) != 1 || !modes[2] {
			t.Errorf("sampler modes announced %v, want only 2 (random)", modes)
		}
		checkRandomSample(t, "decoded export", e, x, tr, decoded)
	} else {
		want = wantTotals(e, x, tr)
		checkTotals(t, "decoded export", want, decoded)
		checkTotals(t, "collector's record table", want, run.stored)
	}

	if e.prog == Softflowd {
		m := softflowdStats.FindSubmatch(run.output)
		p := softflowdProcessed.FindSubmatch(run.output)
		if m == nil || p == nil {
			t.Fatalf("no export statistics in softflowd's output:\n%s", run.output)
		}
		recs, _ := strconv.Atoi(string(m[1]))
		msgs, _ := strconv.Atoi(string(m[2]))
		processed, _ := strconv.Atoi(string(p[1]))
		counted := tr
		if x.Sampling > 1 {
			counted = e.sampled(tr, x.Sampling)
		}
		if recs != len(want) || msgs != len(run.messages) || string(m[3]) != "0" || processed != len(counted.Packets) {
			t.Errorf("softflowd says %s, %s; expected %d records, the relay got %d messages, sampling keeps %d packets",
				m[0], p[0], len(want), len(run.messages), len(counted.Packets))
		}
	}
}

// exportCases are the ways the peers export that the tests cover; what
// they cannot do is in TestPeersRefuseWhatTheyCannotExport.
var exportCases = []struct {
	name string
	e    exporter
	x    Export
}{
	{"softflowd/ipfix", softflowdExporter, Export{}},
	{"softflowd/v9", softflowdExporter, Export{Version: 9}},
	{"softflowd/ipfix-tcp", softflowdExporter, Export{TCP: true}},
	{"softflowd/ipfix-biflow", softflowdExporter, Export{Biflow: true}},
	{"softflowd/ipfix-sampled", softflowdExporter, Export{Sampling: 5}},
	{"softflowd/v9-sampled", softflowdExporter, Export{Version: 9, Sampling: 3}},
	{"softflowd/ipfix-tcp-biflow-sampled", softflowdExporter, Export{TCP: true, Biflow: true, Sampling: 4}},
	{"pmacctd/ipfix", pmacctdExporter, Export{}},
	{"pmacctd/v9", pmacctdExporter, Export{Version: 9}},
	{"pmacctd/ipfix-external-sampling", pmacctdExporter, Export{ExternalSampling: 4}},
	{"pmacctd/v9-external-sampling", pmacctdExporter, Export{Version: 9, ExternalSampling: 7}},
	{"pmacctd/ipfix-random-sampling", pmacctdExporter, Export{Sampling: 5}},
	{"pmacctd/v9-random-sampling", pmacctdExporter, Export{Version: 9, Sampling: 3}},
}

// The cases run in parallel: each has its own collector, relay, ports and
// directory, and pmacctd spends most of its run asleep.
func TestExportMatchesCapture(t *testing.T) {
	for _, c := range exportCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			testExport(t, c.e, c.x)
		})
	}
}

// What a peer cannot export is refused before it runs, never faked:
// pmacct 1.7.7's nfprobe has no TCP transport and no biflow, softflowd
// 1.1.0 no external sampling (it samples itself) and biflow in IPFIX
// only, and NetFlow v9 has no framing for a stream.
func TestPeersRefuseWhatTheyCannotExport(t *testing.T) {
	target := netip.MustParseAddrPort("127.0.0.1:9")
	for _, c := range []struct {
		name string
		e    exporter
		x    Export
	}{
		{"pmacctd/tcp", pmacctdExporter, Export{TCP: true}},
		{"pmacctd/biflow", pmacctdExporter, Export{Biflow: true}},
		{"softflowd/external-sampling", softflowdExporter, Export{ExternalSampling: 4}},
		{"softflowd/v9-biflow", softflowdExporter, Export{Version: 9, Biflow: true}},
		{"softflowd/v9-tcp", softflowdExporter, Export{Version: 9, TCP: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			out, err := c.e.run(context.Background(), filepath.Join(dir, "none.pcap"), target, dir, c.x)
			if !errors.Is(err, ErrUnsupported) {
				t.Errorf("got %v (output %q), want ErrUnsupported", err, out)
			}
		})
	}
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
			run := runExporter(t, c.e, Export{}, tr)
			ours, _ := decodeMessages(t, run.messages, run.decoderTransport())
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
