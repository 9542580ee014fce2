package ipfix

import (
	"net/netip"
	"testing"
)

// The expected figures below come from Wireshark 4.0 (tshark -d
// udp.port==9991,cflow -d udp.port==9992,cflow -d udp.port==40000,cflow),
// which decodes these captures independently: records ("Flow N" entries,
// options records included) and the sums of octetDeltaCount and
// packetDeltaCount (cflow.octets, cflow.packets).
func TestCapturesDecodeEveryRecord(t *testing.T) {
	cases := []struct {
		file             string
		datagrams        int
		records, options int
		octets, packets  uint64
		scopes, held     int
	}{
		{"pmacct-100-IPFIXv10-CISCO.pcap", 6, 12, 0, 34172, 34, 2, 0},
		{"pmacct-104-IPFIXv10-IPv6-CISCO-sampling_option.pcap", 5, 3, 1, 10632, 121, 1, 0},
		{"pmacct-106-IPFIXv10-HUAWEI-vrf_name.pcap", 6, 3, 1, 284557, 1227, 1, 0},
		// The exporter restarts on a new source port after frame 10: the
		// six data sets it sends from there have no template in that
		// transport session (see TestHeldDataReleasedByTemplate).
		{"pmacct-112-IPFIXv10-CISCO-options-map-reassignment.pcap", 21, 0, 76, 0, 0, 2, 6},
		// 40 IPFIX datagrams among the BGP session's packets.
		{"pmacct-500-IPFIXv10-BGP-CISCO-SRv6.pcap", 40, 43, 10, 53644, 558, 1, 0},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			ds := datagrams(t, tc.file)
			if len(ds) != tc.datagrams {
				t.Fatalf("datagrams = %d, want %d", len(ds), tc.datagrams)
			}
			d := New(Options{})
			c := &collect{}
			var total MessageStats
			for i, dg := range ds {
				st, err := d.Decode(dg.Payload, dg.Src, UDP, int64(i), c)
				if err != nil {
					t.Fatalf("datagram %d: %v", i, err)
				}
				total = addStats(total, st)
			}
			if total.Records != tc.records || total.OptionsRecords != tc.options || total.Held != tc.held || total.Malformed != 0 {
				t.Errorf("stats %+v, want %d records, %d options, %d held", total, tc.records, tc.options, tc.held)
			}
			if len(c.data()) != tc.records || len(c.opts()) != tc.options {
				t.Errorf("handler saw %d records and %d options", len(c.data()), len(c.opts()))
			}
			var octets, packets uint64
			for _, g := range c.data() {
				if f, ok := g.field(0, 1, 0); ok {
					octets += Field{Value: f.value}.Uint()
				}
				if f, ok := g.field(0, 2, 0); ok {
					packets += Field{Value: f.value}.Uint()
				}
			}
			if octets != tc.octets || packets != tc.packets {
				t.Errorf("octets %d packets %d, want %d and %d", octets, packets, tc.octets, tc.packets)
			}
			if n := len(d.Scopes()); n != tc.scopes {
				t.Errorf("scopes = %d, want %d", n, tc.scopes)
			}
		})
	}
}

// ipfixcol2's example file: 68 messages back to back, one template set of
// 8 templates, reduced-size counters (4 bytes) and set padding.
func TestIPFIXFile(t *testing.T) {
	msgs := fileMessages(t, "ipfixcol2-example_flows.ipfix")
	if len(msgs) != 68 {
		t.Fatalf("messages = %d, want 68", len(msgs))
	}
	d := New(Options{})
	c, st := decodeAll(t, d, netip.AddrPort{}, File, msgs...)
	if st.Records != 3979 || st.OptionsRecords != 0 || st.Templates != 8 {
		t.Fatalf("stats %+v, want 3979 records from 8 templates", st)
	}
	var octets, packets uint64
	for _, g := range c.recs {
		if f, ok := g.field(0, 1, 0); ok {
			if len(f.value) != 4 {
				t.Fatalf("octetDeltaCount in %d bytes, the file uses reduced size (4)", len(f.value))
			}
			octets += Field{Value: f.value}.Uint()
		}
		if f, ok := g.field(0, 2, 0); ok {
			packets += Field{Value: f.value}.Uint()
		}
	}
	if octets != 49001404 || packets != 56695 {
		t.Errorf("octets %d packets %d, want 49001404 and 56695 (tshark)", octets, packets)
	}
	// The first record of the first message, as tshark shows it.
	first := c.recs[0]
	if first.templateID != 256 || first.scope.ODID != 6 || first.uint(t, 1) != 194 || first.uint(t, 2) != 1 ||
		first.addr(t, 8) != netip.MustParseAddr("228.55.228.116") || first.addr(t, 12) != netip.MustParseAddr("9.64.56.139") ||
		first.uint(t, 7) != 53 || first.uint(t, 11) != 59765 || first.uint(t, 4) != 17 || first.rate != 1 {
		t.Errorf("first record %+v", first)
	}
	start, _ := first.field(0, 152, 0)
	el := d.o.Registry.Lookup(0, 152)
	f := Field{Elem: &el, Value: start.value}
	if ms := f.TimeMs(first.exportSec); ms != 1438603889586 { // Aug 3, 2015 12:11:29.586 UTC
		t.Errorf("flowStartMilliseconds = %d", ms)
	}
	// An IPFIX file is one stream: sequence numbers count records without gaps.
	if s := d.Scopes()[0]; s.LostRecords != 0 || s.Transport != File {
		t.Errorf("scope %+v", s)
	}
}

func TestCiscoMPLSAndTwoDomains(t *testing.T) {
	d := New(Options{})
	ds := datagrams(t, "pmacct-100-IPFIXv10-CISCO.pcap")
	c := &collect{}
	for i, dg := range ds {
		if _, err := d.Decode(dg.Payload, dg.Src, UDP, int64(i), c); err != nil {
			t.Fatal(err)
		}
	}
	// Frame 3, first flow (tshark): labels 69/exp 5 and 24305/exp 5/bottom,
	// 10.231.65.56:17000 -> 10.192.12.213:17000 UDP, in 995 out 841, 220 bytes.
	r := c.recs[0]
	if r.scope.ODID != 0xD0000 || r.templateID != 260 {
		t.Fatalf("first record from domain %#x template %d", r.scope.ODID, r.templateID)
	}
	label, _ := r.field(0, 70, 0)
	if len(label.value) != 3 || (Field{Value: label.value}).Uint()>>4 != 69 || (label.value[2]>>1)&7 != 5 {
		t.Errorf("mplsTopLabelStackSection = %x", label.value)
	}
	label2, _ := r.field(0, 71, 0)
	if (Field{Value: label2.value}).Uint()>>4 != 24305 || label2.value[2]&1 != 1 {
		t.Errorf("mplsLabelStackSection2 = %x", label2.value)
	}
	if r.addr(t, 8) != netip.MustParseAddr("10.231.65.56") || r.addr(t, 12) != netip.MustParseAddr("10.192.12.213") ||
		r.uint(t, 7) != 17000 || r.uint(t, 10) != 995 || r.uint(t, 14) != 841 || r.uint(t, 1) != 220 || r.uint(t, 2) != 2 ||
		r.uint(t, 152) != 1677577561088 || r.uint(t, 153) != 1677577572352 {
		t.Errorf("record %+v", r)
	}
	if tcp, _ := r.field(0, 6, 0); len(tcp.value) != 1 {
		t.Errorf("tcpControlBits in %d bytes, Cisco sends 1", len(tcp.value))
	}
	// Template 260 on domain 0xD0000 and 263 on 0xE0000, from two source
	// ports; sequence numbers run without gaps in both.
	ss := d.Scopes()
	if len(ss) != 2 || ss[0].Templates[0] != 260 || ss[1].Templates[0] != 263 || ss[0].LostRecords+ss[1].LostRecords != 0 {
		t.Errorf("scopes %+v", ss)
	}
	if got := ss[0].Scope.Device(); got != "138.187.0.13/851968" {
		t.Errorf("Device() = %q", got)
	}
}

// Huawei: an enterprise element (PEN 2011, IE 232), paddingOctets inside
// records (left out of Fields), reduced-size flowLabelIPv6 (3 bytes) and
// forwardingStatus (1 byte), the boot time in every record, and an options
// template with two scope fields (the VRF table).
func TestHuaweiEnterpriseAndPadding(t *testing.T) {
	d := New(Options{})
	ds := datagrams(t, "pmacct-106-IPFIXv10-HUAWEI-vrf_name.pcap")
	c := &collect{}
	for i, dg := range ds {
		if _, err := d.Decode(dg.Payload, dg.Src, UDP, int64(i), c); err != nil {
			t.Fatal(err)
		}
	}
	recs := c.data()
	r := recs[0]
	if r.templateID != 6017 || r.scope.ODID != 2149482752 {
		t.Fatalf("first record: template %d domain %#x", r.templateID, r.scope.ODID)
	}
	// Template 6017 has 51 fields, three of them paddingOctets.
	if len(r.fields) != 48 {
		t.Errorf("fields = %d, want 48", len(r.fields))
	}
	for _, g := range recs {
		if _, ok := g.field(0, 210, 0); ok {
			t.Fatal("paddingOctets passed on")
		}
	}
	huawei, ok := r.field(2011, 232, 0)
	if !ok || string(huawei.value) != "\x00\x01" || huawei.name != "pen2011_232" {
		t.Errorf("PEN 2011 IE 232 = %+v", huawei)
	}
	label, _ := r.field(0, 31, 0)
	status, _ := r.field(0, 89, 0)
	if len(label.value) != 3 || (Field{Value: label.value}).Uint() != 1151 || len(status.value) != 1 || status.value[0] != 64 {
		t.Errorf("flowLabelIPv6 %x forwardingStatus %x", label.value, status.value)
	}
	if r.uint(t, 1) != 142216 || r.uint(t, 2) != 613 || r.addr(t, 27) != netip.MustParseAddr("2001:db8:53::1") {
		t.Errorf("record %+v", r)
	}
	// Second sourceTransportPort of the same template (the inner header).
	inner, _ := r.field(0, 7, 1)
	if (Field{Value: inner.value}).Uint() != 2222 {
		t.Errorf("second sourceTransportPort = %x", inner.value)
	}
	// flowStartSysUpTime 1759771000 ms after a boot on 2025-01-07 05:57:55 UTC.
	if r.systemInitMs != 1736229475000 {
		t.Errorf("SystemInitMs = %d", r.systemInitMs)
	}
	start, _ := r.field(0, 22, 0)
	el := d.o.Registry.Lookup(0, 22)
	if ms := (Field{Elem: &el, Value: start.value}).TimeMs(r.exportSec, r.systemInitMs); ms != 1736229475000+1759771000 {
		t.Errorf("flow start = %d", ms)
	}
	o := c.opts()[0]
	name, _ := o.field(0, 236, 0)
	if o.templateID != 1514 || o.scopeFields != 2 || string(trimNUL(name.value)) != "A4" {
		t.Errorf("VRF table record %+v", o)
	}
}

// Cisco's sampler table (options template 257, scope selectorId) says
// 1 out of 256 (samplingSize 1, samplingPopulation 256); the flow records
// name selector 1. pmacct's expected output for this capture has packets
// 256 and 15360 for raw counts 1 and 60.
func TestSamplingFromOptions(t *testing.T) {
	d := New(Options{})
	ds := datagrams(t, "pmacct-104-IPFIXv10-IPv6-CISCO-sampling_option.pcap")
	c := &collect{}
	for i, dg := range ds {
		if _, err := d.Decode(dg.Payload, dg.Src, UDP, int64(i), c); err != nil {
			t.Fatal(err)
		}
	}
	var scaled []uint64
	for _, r := range c.data() {
		if r.rate != 256 {
			t.Errorf("rate %d, want 256", r.rate)
		}
		scaled = append(scaled, r.uint(t, 2)*r.rate)
	}
	if len(scaled) != 3 || scaled[0] != 256 || scaled[1] != 15360 || scaled[2] != 15360 {
		t.Errorf("scaled packets %v", scaled)
	}
	s := d.Scopes()[0]
	if len(s.Samplers) != 1 || s.Samplers[0] != (Sampler{Element: 302, ID: 1, Rate: 256}) {
		t.Errorf("samplers %+v", s.Samplers)
	}
	// samplerName is a fixed 90-byte string, NUL-padded.
	name, _ := c.opts()[0].field(0, 84, 0)
	if len(name.value) != 90 || string(trimNUL(name.value)) != "NETFLOW-SAMPLER-MAP" {
		t.Errorf("samplerName %q", name.value)
	}

	// The configured override wins over what the exporter says.
	d = New(Options{SamplingOverride: func(a netip.Addr) (uint64, bool) {
		return 1000, a == netip.MustParseAddr("2a02:a90:4007:700::54")
	}})
	c = &collect{}
	for i, dg := range ds {
		if _, err := d.Decode(dg.Payload, dg.Src, UDP, int64(i), c); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range c.data() {
		if r.rate != 1000 {
			t.Errorf("overridden rate %d", r.rate)
		}
	}
}

// In sample 112 the exporter moves to a new source port (a restart) and
// sends data sets before their templates: they are held, scoped to the new
// transport session. Once template 347 (as the exporter sent it from the
// old port) arrives from the new port, the two sets of template 347 are
// decoded, in the order they came and with the time they came; the other
// four stay held until their TTL.
func TestHeldDataReleasedByTemplate(t *testing.T) {
	ds := datagrams(t, "pmacct-112-IPFIXv10-CISCO-options-map-reassignment.pcap")
	d := New(Options{PendingTTLMs: 60_000})
	c := &collect{}
	var tmplSet []byte
	for i, dg := range ds {
		st, err := d.Decode(dg.Payload, dg.Src, UDP, int64(i)*1000, c)
		if err != nil {
			t.Fatal(err)
		}
		if i == 9 {
			// Frame 10 is one template set (id 2) defining template 347.
			tmplSet = dg.Payload[16:]
			if st.Templates != 1 {
				t.Fatalf("frame 10: %+v", st)
			}
		}
	}
	newPort := ds[20].Src
	before := d.Scopes()[1]
	if before.Scope.Exporter != newPort || before.HeldSets != 6 || len(before.Templates) != 0 {
		t.Fatalf("new session %+v", before)
	}
	c = &collect{}
	st, err := d.Decode(v10(33312, 2175800, 1700000000, tmplSet), newPort, UDP, 30_000, c)
	if err != nil {
		t.Fatal(err)
	}
	if st.Released != st.Records || st.Records == 0 || st.Templates != 1 {
		t.Fatalf("release: %+v", st)
	}
	recs := c.data()
	// Frame 11 came at 10 s, frame 21 at 20 s; each carries one set of 347.
	if recs[0].receivedMs != 10_000 || recs[len(recs)-1].receivedMs != 20_000 || recs[0].templateID != 347 {
		t.Errorf("released records: first %+v last %+v", recs[0], recs[len(recs)-1])
	}
	for _, r := range recs {
		// The records name the sampler (selectorId) the options defined.
		if sel := r.uint(t, 302); sel == 0 || r.rate == 0 {
			t.Errorf("selector %d rate %d", sel, r.rate)
		}
	}
	after := d.Scopes()[1]
	if after.HeldSets != 4 {
		t.Errorf("held after release %d, want 4", after.HeldSets)
	}
	exp := d.Expire(20_000 + 60_000)
	if exp.PendingSets != 4 || d.Scopes()[1].HeldSets != 0 || d.Scopes()[1].HeldBytes != 0 || d.Scopes()[1].DroppedPending != 4 {
		t.Errorf("expire %+v, scope %+v", exp, d.Scopes()[1])
	}
}

// Options template 338 (scope observationDomainId) carries the exporter's
// boot time; 112's first session has no loss in its sequence numbers,
// which count options records too.
func TestSystemInitFromOptions(t *testing.T) {
	ds := datagrams(t, "pmacct-112-IPFIXv10-CISCO-options-map-reassignment.pcap")
	d := New(Options{})
	c := &collect{}
	for i, dg := range ds[:10] {
		if _, err := d.Decode(dg.Payload, dg.Src, UDP, int64(i), c); err != nil {
			t.Fatal(err)
		}
	}
	s := d.Scopes()[0]
	if s.LostRecords != 0 || s.LastSequence != 897522 {
		t.Errorf("scope %+v", s)
	}
	st := d.Snapshot()
	if st.Scopes[0].SystemInitMs != 1782907651878 {
		t.Errorf("systemInitMs = %d", st.Scopes[0].SystemInitMs)
	}
	// Interface table: IOS XR mangles interfaceName, interfaceDescription is the real name.
	var found bool
	for _, o := range c.opts() {
		if o.templateID == 256 && o.uint(t, 10) == 185 {
			name, _ := o.field(0, 82, 0)
			desc, _ := o.field(0, 83, 0)
			found = string(trimNUL(name.value)) == "TenGigE0_0_0_16.22" && string(trimNUL(desc.value)) == "TenGigE0/0/0/16.22" && len(name.value) == 80
		}
	}
	if !found {
		t.Error("interface 185 not in the interface table")
	}
	// The VRF table's template has ingressVRFID twice; both come through.
	for _, o := range c.opts() {
		if o.templateID == 334 {
			if _, ok := o.field(0, 234, 1); !ok {
				t.Errorf("VRF record without its second ingressVRFID: %+v", o)
			}
			break
		}
	}
}
