package ipfixsim

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netlens/netlens/pkg/decode/ipfix"
	"github.com/netlens/netlens/pkg/decode/ipfix/ie"
)

// The Flowmon definitions shipped as an example for users; the decoder
// names our PEN 39499 elements with them.
func flowmonRegistry(t *testing.T) *ie.Registry {
	t.Helper()
	_, here, _, _ := runtime.Caller(0)
	path := filepath.Join(filepath.Dir(here), "..", "..", "..", "provisioning", "ipfix", "definitions.example.json")
	defs, err := ie.LoadDefinitions(path)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := ie.IANA().With(defs)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// Every element the simulator sends is known to the collector: IANA ones
// by the registry, reverse ones by RFC 5103, Flowmon ones by the example
// definitions file, each with a type its length fits.
func TestEveryElementSentIsDefined(t *testing.T) {
	reg := flowmonRegistry(t)
	sizes := map[ie.Type]uint16{ie.Unsigned8: 1, ie.Unsigned16: 2, ie.Unsigned32: 4, ie.Unsigned64: 8,
		ie.IPv4Address: 4, ie.IPv6Address: 16, ie.DateTimeMilliseconds: 8}
	for _, mode := range []SamplingMode{SamplingCisco, SamplingPSAMP, SamplingInterval, SamplingRandomInterval} {
		e, err := New(Config{Target: "127.0.0.1:4739", SamplingRate: 10, SamplingMode: mode})
		if err != nil {
			t.Fatal(err)
		}
		for _, tmpl := range e.Templates() {
			for _, f := range tmpl.Fields {
				el := reg.Lookup(f.PEN, f.ID)
				if !el.Known {
					t.Errorf("template %d: %d/%d is unknown to the collector (%s)", tmpl.ID, f.PEN, f.ID, el.Name)
					continue
				}
				if f.PEN == PENReverse && (!el.Reverse || !strings.HasPrefix(el.Name, "reverse")) {
					t.Errorf("template %d: %d/%d is not a reverse element: %+v", tmpl.ID, f.PEN, f.ID, el)
				}
				if max, fixed := sizes[el.Type]; fixed && (f.Length == VarLen || f.Length > max) {
					t.Errorf("template %d: %s (%v) sent in %d octets", tmpl.ID, el.Name, el.Type, f.Length)
				}
				if el.Type == ie.String && f.Length != VarLen && f.ID != ieSamplerName {
					t.Errorf("template %d: string %s at fixed length %d", tmpl.ID, el.Name, f.Length)
				}
			}
		}
	}
}

// decoded is one record as the collector's decoder saw it.
type decoded struct {
	device      string
	seq         uint32
	rate        uint64
	application string
	fields      map[string]string
	startMs     int64
}

type collect struct {
	recs    []decoded
	options int
}

func (c *collect) Record(r *ipfix.Record) {
	d := decoded{device: r.Scope.Device(), seq: r.Sequence, rate: r.SamplingRate, application: r.Application, fields: map[string]string{}}
	for _, f := range r.Fields {
		d.fields[f.Name()] = f.String()
		if f.Name() == "flowStartMilliseconds" {
			d.startMs = f.TimeMs(r.ExportTimeSec)
		}
	}
	c.recs = append(c.recs, d)
}

func (c *collect) Options(r *ipfix.Record) { c.options++ }

// wantFields is what the decoder should make of f, by element name.
func wantFields(f *Flow) map[string]string {
	src, dst := "sourceIPv4Address", "destinationIPv4Address"
	if f.Src.Is6() {
		src, dst = "sourceIPv6Address", "destinationIPv6Address"
	}
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	w := map[string]string{
		"flowEndMilliseconds": u(uint64(f.EndMs)),
		src:                   f.Src.String(), dst: f.Dst.String(),
		"sourceTransportPort": u(uint64(f.SrcPort)), "destinationTransportPort": u(uint64(f.DstPort)),
		"protocolIdentifier": u(uint64(f.Proto)), "tcpControlBits": u(uint64(f.TCPFlags)), "ipClassOfService": u(uint64(f.ToS)),
		"ingressInterface": u(uint64(f.InIf)), "egressInterface": u(uint64(f.OutIf)),
		"octetDeltaCount": u(f.Bytes), "packetDeltaCount": u(f.Packets),
		"reverseOctetDeltaCount": u(f.ReverseBytes), "reversePacketDeltaCount": u(f.ReversePackets),
		"biflowDirection": u(uint64(f.BiflowDirection)), "flowEndReason": u(uint64(f.EndReason)),
		"flowmonNpmRoundTripTime": u(uint64(f.RTTMicros)), "flowmonNpmServerResponseTime": u(uint64(f.SRTMicros)),
		"flowmonNpmTcpRetransmission": u(uint64(f.Retransmissions)),
		"flowmonTcpSynTtl":            u(uint64(f.SynTTL)), "flowmonTcpSynSize": u(uint64(f.SynSize)),
	}
	id := f.App.ID()
	w["applicationId"] = fmt.Sprintf("%x", id[:])
	switch f.L7 {
	case L7HTTP:
		w["flowmonHttpHost"], w["flowmonHttpUrl"], w["flowmonHttpStatusCode"] = f.HTTPHost, f.HTTPURL, u(uint64(f.HTTPStatus))
	case L7DNS:
		w["flowmonDnsQname"], w["flowmonDnsQtype"] = f.DNSQName, u(uint64(f.DNSQType))
	case L7TLS:
		w["flowmonTlsSni"], w["flowmonTlsServerVersion"] = f.TLSSNI, u(uint64(f.TLSVersion))
	}
	return w
}

// The collector's decoder, written apart from this encoder, reads
// everything the simulator sends over UDP and TCP, in every sampling mode:
// each flow's fields by name (Flowmon ones through the example definitions),
// data sent before its templates (held, then released), the sampling rate
// and application names from the options tables, and the one sequence gap
// made on purpose.
func TestDecoderRoundTrip(t *testing.T) {
	reg := flowmonRegistry(t)
	for _, transport := range []string{"udp", "tcp"} {
		for _, mode := range []SamplingMode{SamplingCisco, SamplingPSAMP, SamplingInterval, SamplingRandomInterval} {
			t.Run(transport+"/"+mode.String(), func(t *testing.T) {
				roundTrip(t, reg, transport, mode)
			})
		}
	}
}

func roundTrip(t *testing.T, reg *ie.Registry, transport string, mode SamplingMode) {
	target := drainListener(t, transport)
	var rec recorder
	e, err := New(Config{Target: target, Transport: transport, ODID: 42, Count: 3000, SamplingRate: 512, SamplingMode: mode,
		SelectorID: 3, DataBeforeTemplate: true, GapAfter: 5, GapRecords: 77, TemplateRefresh: time.Millisecond,
		Rate: 200_000, FlushEvery: time.Millisecond, Seed: uint64(mode) + 11, OnMessageSent: rec.hook})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	sent := rec.all()

	tr := ipfix.UDP
	if transport == "tcp" {
		tr = ipfix.TCP
	}
	from := netip.MustParseAddrPort("192.0.2.9:40000")
	d := ipfix.New(ipfix.Options{Registry: reg})
	var got collect
	var lost uint64
	dataMsgs, gapSeen := 0, false
	var want []Flow   // flows in the order the decoder should hand them over
	tablesKnown := -1 // index in want from which the options tables had been decoded
	nowMs := time.Now().UnixMilli()
	for i, m := range sent {
		st, err := d.Decode(m.Data, from, tr, nowMs, &got)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if st.Malformed != 0 || st.DroppedPending != 0 {
			t.Fatalf("message %d: %+v", i, st)
		}
		lost += st.LostRecords
		if wantLost := map[bool]uint64{true: 77}[dataMsgs == 5 && !gapSeen]; st.LostRecords != wantLost {
			t.Errorf("message %d: %d records reported lost, want %d (the only gap is 77 after the 5th data message)", i, st.LostRecords, wantLost)
		}
		if dataMsgs == 5 {
			gapSeen = true
		}
		if len(m.Flows) > 0 {
			dataMsgs++
		}
		for j := range m.Flows {
			want = append(want, m.Flows[indexInSetOrder(m.Flows, j)])
		}
		if m.OptionsRecords > 0 && tablesKnown < 0 {
			tablesKnown = len(want)
		}
		if i == 0 && (st.Held == 0 || st.Records != 0) {
			t.Errorf("first message (data before any template): %+v; want it held", st)
		}
	}
	if lost != 77 {
		t.Errorf("decoder counted %d lost records; the exporter skipped 77", lost)
	}
	if got.options == 0 {
		t.Error("no options records decoded")
	}
	if len(got.recs) != len(want) || len(want) != 3000 {
		t.Fatalf("decoded %d flow records; %d were sent", len(got.recs), len(want))
	}
	for i, r := range got.recs {
		f := &want[i]
		if r.device != "192.0.2.9/42" {
			t.Fatalf("record %d: device %q", i, r.device)
		}
		for name, v := range wantFields(f) {
			if r.fields[name] != v {
				t.Fatalf("record %d: %s = %q, want %q\n(all: %v)", i, name, r.fields[name], v, r.fields)
			}
		}
		if r.startMs != f.StartMs {
			t.Fatalf("record %d: start %d, want %d", i, r.startMs, f.StartMs)
		}
		if i < tablesKnown {
			continue // held data released before the tables arrived
		}
		if r.rate != 512 {
			t.Fatalf("record %d: sampling rate %d, want 512 (%v)", i, r.rate, mode)
		}
		name := f.App.Name
		if f.App.Unlisted {
			name = ""
		}
		if r.application != name {
			t.Fatalf("record %d: application %q, want %q", i, r.application, name)
		}
	}
}

// drainListener listens on loopback and throws away what arrives; the test
// decodes the copies OnMessageSent kept.
func drainListener(t *testing.T, transport string) string {
	t.Helper()
	if transport == "udp" {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pc.Close() })
		go func() {
			buf := make([]byte, 65536)
			for {
				if _, _, err := pc.ReadFrom(buf); err != nil {
					return
				}
			}
		}()
		return pc.LocalAddr().String()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go drain(c)
		}
	}()
	return ln.Addr().String()
}
