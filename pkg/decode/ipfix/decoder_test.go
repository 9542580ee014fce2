package ipfix

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"net/netip"
	"reflect"
	"testing"

	"github.com/netlens/netlens/pkg/decode/ipfix/ie"
)

// A flow template used by several tests: addresses, ports, protocol and
// reduced-size counters.
var flowTmpl = tmpl(300,
	fspec(0, 8, 4), fspec(0, 12, 4), fspec(0, 7, 2), fspec(0, 11, 2), fspec(0, 4, 1), fspec(0, 1, 4), fspec(0, 2, 4))

func flowRec(src, dst byte, sport, dport uint16, octets, packets uint32) []byte {
	return cat([]byte{10, 0, 0, src}, []byte{10, 0, 0, dst}, u16(sport), u16(dport), u8(6), u32(octets), u32(packets))
}

func TestVariableLengthAndEnterpriseFields(t *testing.T) {
	long := bytes.Repeat([]byte("x"), 300)
	msg := v10(1, 0, 1700000000,
		set(2, tmpl(256, fspec(0, 8, 4), fspec(0, 82, varLen), fspec(39499, 338, varLen), fspec(0, 6, 1))),
		set(256,
			cat([]byte{192, 0, 2, 1}, u8(2), []byte("ab"), u8(0), u8(0x12)),                                       // 1-byte lengths, one empty
			cat([]byte{192, 0, 2, 2}, u8(255), u16(300), long, u8(255), u16(11), []byte("example.org"), u8(0x02)), // 3-byte lengths
			[]byte{0, 0}, // set padding, shorter than the minimum record (4+1+1+1)
		))
	d := New(Options{})
	c, st := decodeAll(t, d, exporter, UDP, msg)
	if st.Records != 2 {
		t.Fatalf("stats %+v", st)
	}
	r0, r1 := c.recs[0], c.recs[1]
	if n, _ := r0.field(0, 82, 0); string(n.value) != "ab" {
		t.Errorf("interfaceName %q", n.value)
	}
	if sni, _ := r0.field(39499, 338, 0); len(sni.value) != 0 || sni.name != "tlsSni" && sni.name != "pen39499_338" {
		t.Errorf("empty varlen %+v", sni)
	}
	if n, _ := r1.field(0, 82, 0); !bytes.Equal(n.value, long) {
		t.Errorf("300-byte interfaceName has %d bytes", len(n.value))
	}
	if sni, _ := r1.field(39499, 338, 0); string(sni.value) != "example.org" || sni.pen != 39499 {
		t.Errorf("enterprise field %+v", sni)
	}
	if r1.uint(t, 6) != 2 {
		t.Errorf("tcpControlBits after the varlen fields = %d", r1.uint(t, 6))
	}
}

func TestDataBeforeTemplateInSameMessage(t *testing.T) {
	msg := v10(1, 0, 1700000000,
		set(300, flowRec(1, 2, 1000, 80, 500, 5), flowRec(3, 4, 1001, 443, 600, 6)),
		set(2, flowTmpl),
		set(300, flowRec(5, 6, 1002, 53, 70, 1)),
	)
	d := New(Options{})
	c, st := decodeAll(t, d, exporter, UDP, msg)
	if st.Held != 1 || st.Released != 2 || st.Records != 3 {
		t.Fatalf("stats %+v", st)
	}
	// In message order: the held set is released where its template comes.
	var ports []uint64
	for _, r := range c.recs {
		ports = append(ports, r.uint(t, 11))
	}
	if !reflect.DeepEqual(ports, []uint64{80, 443, 53}) {
		t.Errorf("order %v", ports)
	}
	if s := d.Scopes()[0]; s.HeldSets != 0 || s.HeldBytes != 0 {
		t.Errorf("still held %+v", s)
	}
}

func TestSameTemplateIDInTwoScopes(t *testing.T) {
	d := New(Options{})
	a := v10(1, 0, 0, set(2, tmpl(256, fspec(0, 4, 1))), set(256, u8(6)))
	b := v10(2, 0, 0, set(2, tmpl(256, fspec(0, 7, 2))), set(256, u16(8080)))
	c, _ := decodeAll(t, d, exporter, UDP, a, b, v10(1, 1, 0, set(256, u8(17))))
	if len(c.recs) != 3 || c.recs[0].uint(t, 4) != 6 || c.recs[1].uint(t, 7) != 8080 || c.recs[2].uint(t, 4) != 17 {
		t.Errorf("records %+v", c.recs)
	}
	// Same domain, other exporter: no template there.
	_, st := decodeAll(t, d, exporter2, UDP, v10(1, 0, 0, set(256, u8(6))))
	if st.Held != 1 || st.Records != 0 {
		t.Errorf("other exporter %+v", st)
	}
}

func TestWithdrawalsByTransport(t *testing.T) {
	learn := v10(1, 0, 0, set(2, tmpl(256, fspec(0, 4, 1)), tmpl(257, fspec(0, 7, 2))), set(3, optTmpl(258, 1, fspec(0, 149, 4), fspec(0, 34, 4))))
	withdraw256 := v10(1, 0, 0, set(2, cat(u16(256), u16(0))))
	withdrawAll := v10(1, 0, 0, set(2, cat(u16(2), u16(0))))
	withdrawOpts := v10(1, 0, 0, set(3, cat(u16(3), u16(0))))
	ids := func(d *Decoder) ([]uint16, []uint16) { s := d.Scopes()[0]; return s.Templates, s.OptionsTemplates }

	// UDP: RFC 7011 section 8.1, withdrawals are ignored.
	d := New(Options{})
	_, st := decodeAll(t, d, exporter, UDP, learn, withdraw256, withdrawAll)
	if tm, _ := ids(d); len(tm) != 2 || st.Withdrawals != 0 {
		t.Errorf("UDP: templates %v, withdrawals %d", tm, st.Withdrawals)
	}

	d = New(Options{})
	_, st = decodeAll(t, d, exporter, TCP, learn, withdraw256)
	if tm, om := ids(d); !reflect.DeepEqual(tm, []uint16{257}) || len(om) != 1 || st.Withdrawals != 1 {
		t.Errorf("TCP withdraw one: %v %v", tm, om)
	}
	_, _ = decodeAll(t, d, exporter, TCP, withdrawAll)
	if tm, om := ids(d); len(tm) != 0 || !reflect.DeepEqual(om, []uint16{258}) {
		t.Errorf("TCP withdraw all data templates: %v %v", tm, om)
	}
	_, _ = decodeAll(t, d, exporter, TCP, withdrawOpts)
	if _, om := ids(d); len(om) != 0 {
		t.Errorf("TCP withdraw all options templates: %v", om)
	}

	// Over files withdrawals are optional and honoured.
	d = New(Options{})
	decodeAll(t, d, exporter, File, learn, withdraw256)
	if tm, _ := ids(d); len(tm) != 1 {
		t.Errorf("file: %v", tm)
	}

	// A redefinition after a withdrawal is clean; without one, over TCP, it
	// is used but reported.
	d = New(Options{})
	c, _ := decodeAll(t, d, exporter, TCP, learn, withdraw256, v10(1, 0, 0, set(2, tmpl(256, fspec(0, 11, 2))), set(256, u16(53))))
	if c.recs[0].uint(t, 11) != 53 {
		t.Errorf("redefined template not used")
	}
	st, err := d.Decode(v10(1, 1, 0, set(2, tmpl(256, fspec(0, 7, 2))), set(256, u16(99))), exporter, TCP, 0, c)
	if reasonOf(err) != ReasonTemplateRedefined || st.Records != 1 || c.recs[1].uint(t, 7) != 99 {
		t.Errorf("redefinition without withdrawal: %v %+v", err, st)
	}
	// Over UDP a template is simply redefined.
	d = New(Options{})
	decodeAll(t, d, exporter, UDP, learn, v10(1, 0, 0, set(2, tmpl(256, fspec(0, 7, 2)))))
}

func TestTemplateLifetime(t *testing.T) {
	msg := v10(1, 0, 0, set(2, tmpl(256, fspec(0, 4, 1))))
	d := New(Options{TemplateLifetimeMs: 10_000})
	d.Decode(msg, exporter, UDP, 0, nil)
	d.Decode(msg, exporter2, TCP, 0, nil)
	d.Decode(msg, exporter, UDP, 5_000, nil) // a refresh
	if st := d.Expire(14_999); st.Templates != 0 {
		t.Errorf("expired a refreshed template: %+v", st)
	}
	// The UDP template expires, and its scope with it, empty and silent
	// for a lifetime; TCP templates live as long as the session.
	st := d.Expire(15_000)
	if ss := d.Scopes(); st.Templates != 1 || st.Scopes != 1 || len(ss) != 1 || ss[0].Transport != TCP || len(ss[0].Templates) != 1 {
		t.Errorf("expire %+v, left %+v", st, ss)
	}
	d.Forget(exporter2)
	if len(d.Scopes()) != 0 || d.checkTotals() != nil || d.templates != 0 {
		t.Errorf("Forget left the TCP session's scope: %v", d.checkTotals())
	}
}

func TestSequenceNumbersIPFIX(t *testing.T) {
	d := New(Options{})
	tm := set(2, flowTmpl)
	rec := flowRec(1, 2, 3, 4, 5, 6)
	msgs := [][]byte{
		v10(1, 100, 0, tm, set(300, rec, rec)), // 2 records: next is 102
		v10(1, 102, 0, set(300, rec)),          // in order
		v10(1, 110, 0, set(300, rec)),          // 7 records lost (103..109)
		v10(1, 105, 0, set(300, rec)),          // late or reordered: not a loss
	}
	var lost []uint64
	for _, m := range msgs {
		st, err := d.Decode(m, exporter, UDP, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		lost = append(lost, st.LostRecords)
	}
	if !reflect.DeepEqual(lost, []uint64{0, 0, 7, 0}) || d.Scopes()[0].LostRecords != 7 {
		t.Errorf("lost %v total %d", lost, d.Scopes()[0].LostRecords)
	}
	// Wrapping at 2^32 is not a loss.
	d = New(Options{})
	d.Decode(v10(1, math.MaxUint32, 0, tm, set(300, rec, rec)), exporter, UDP, 0, nil)
	if st, _ := d.Decode(v10(1, 1, 0, set(300, rec)), exporter, UDP, 0, nil); st.LostRecords != 0 {
		t.Errorf("wrap counted as loss: %+v", st)
	}
}

func TestNetFlowV9(t *testing.T) {
	const sysUp, secs = 3_600_000, 1700000000
	tmplFS := set(0, tmpl(260, fspec(0, 8, 4), fspec(0, 12, 4), fspec(0, 1, 4), fspec(0, 2, 4), fspec(0, 22, 4), fspec(0, 21, 4), fspec(0, 48, 1)))
	// Options template: scope System (type 1, 4 bytes); flowSamplerID,
	// flowSamplerMode, flowSamplerRandomInterval (Cisco's sampler table).
	optFS := set(1, cat(u16(261), u16(4), u16(12), u16(1), u16(4), u16(48), u16(1), u16(49), u16(1), u16(50), u16(4)), u16(0))
	samplers := set(261, cat(u32(0), u8(3), u8(2), u32(100)), cat(u32(0), u8(4), u8(2), u32(1000)), u16(0)) // padding
	data := set(260,
		cat([]byte{10, 0, 0, 1}, []byte{10, 0, 0, 2}, u32(1500), u32(3), u32(sysUp-60_000), u32(sysUp-1_000), u8(3)),
		cat([]byte{10, 0, 0, 3}, []byte{10, 0, 0, 4}, u32(40), u32(1), u32(sysUp-2_000), u32(sysUp-2_000), u8(4)),
		cat([]byte{10, 0, 0, 5}, []byte{10, 0, 0, 6}, u32(40), u32(1), u32(sysUp-2_000), u32(sysUp-2_000), u8(9)),
	)
	d := New(Options{})
	c := &collect{}
	st1, err := d.Decode(v9(7, 10, sysUp, secs, 3, tmplFS, optFS, samplers), exporter, UDP, 0, c)
	if err != nil || st1.Templates != 2 || st1.OptionsRecords != 2 {
		t.Fatalf("%v %+v", err, st1)
	}
	st2, err := d.Decode(v9(7, 13, sysUp, secs, 3, data), exporter, UDP, 0, c) // packets 11 and 12 lost
	if err != nil || st2.Records != 3 || st2.LostPackets != 2 || st2.LostRecords != 0 {
		t.Fatalf("%v %+v", err, st2)
	}
	o := c.opts()[0]
	if o.version != 9 || o.scopeFields != 1 || o.fields[0].name != "v9ScopeSystem" || o.scope.ODID != 7 {
		t.Errorf("options record %+v", o)
	}
	recs := c.data()
	if recs[0].rate != 100 || recs[1].rate != 1000 || recs[2].rate != 1 {
		t.Errorf("rates %d %d %d (sampler 9 is unknown)", recs[0].rate, recs[1].rate, recs[2].rate)
	}
	// flowStart/EndSysUpTime are relative to the header's sysUpTime.
	r := recs[0]
	if r.systemInitMs != secs*1000-sysUp {
		t.Errorf("SystemInitMs %d", r.systemInitMs)
	}
	reg := ie.IANA()
	end, _ := r.field(0, 21, 0)
	endEl := reg.Lookup(0, 21)
	if ms := (Field{Elem: &endEl, Value: end.value}).TimeMs(r.exportSec, r.systemInitMs); ms != secs*1000-1_000 {
		t.Errorf("flow end %d, want %d", ms, secs*1000-1_000)
	}
	if s := d.Scopes()[0]; s.LostPackets != 2 || s.Version != 9 || len(s.Samplers) != 2 {
		t.Errorf("scope %+v", s)
	}

	// Types from 32768 up are vendor fields (Cisco ASA's 33000 is an ACL
	// id), not IANA elements with an enterprise bit.
	c = &collect{}
	d.Decode(v9(7, 14, sysUp, secs, 2, set(0, tmpl(264, fspec(0, 33000, 4))), set(264, u32(12))), exporter, UDP, 0, c)
	if f := c.recs[0].fields[0]; f.id != 33000 || f.name != "ie33000" || f.pen != 0 {
		t.Errorf("vendor field %+v", f)
	}

	// A system-wide rate (samplingInterval with scope System) applies to
	// records that name no sampler.
	d = New(Options{})
	opt2 := set(1, cat(u16(262), u16(4), u16(8), u16(1), u16(4), u16(34), u16(4), u16(35), u16(4)))
	c = &collect{}
	d.Decode(v9(8, 1, sysUp, secs, 2, opt2, set(262, cat(u32(0), u32(512), u32(2)))), exporter, UDP, 0, c)
	d.Decode(v9(8, 2, sysUp, secs, 2, set(0, tmpl(263, fspec(0, 1, 4))), set(263, u32(1))), exporter, UDP, 0, c)
	if got := c.data()[0].rate; got != 512 {
		t.Errorf("system-wide rate %d", got)
	}
	if d.Scopes()[0].SamplingRate != 512 {
		t.Errorf("scope rate %+v", d.Scopes()[0])
	}
}

func TestApplicationTable(t *testing.T) {
	appID := []byte{13, 0, 1, 197} // NBAR2 engine 13, selector 453 (ssl)
	opts := set(3, optTmpl(400, 1, fspec(0, 95, 4), fspec(0, 96, varLen)))
	table := set(400, cat(appID, u8(3), []byte("ssl")), cat([]byte{3, 0, 0, 80}, u8(4), []byte("http")))
	flows := set(2, tmpl(401, fspec(0, 95, 4), fspec(0, 1, 8)))
	data := set(401, cat(appID, u64(1000)), cat([]byte{13, 0, 0, 1}, u64(5)))
	d := New(Options{})
	c, _ := decodeAll(t, d, exporter, UDP, v10(1, 0, 0, opts, table, flows, data))
	recs := c.data()
	if recs[0].application != "ssl" || recs[1].application != "" {
		t.Errorf("applications %q %q", recs[0].application, recs[1].application)
	}
	// A renamed application takes effect on the next record.
	c, _ = decodeAll(t, d, exporter, UDP, v10(1, 4, 0, set(400, cat(appID, u8(3), []byte("tls"))), data))
	if c.data()[0].application != "tls" {
		t.Errorf("renamed application %q", c.data()[0].application)
	}
	if d.Scopes()[0].Applications != 2 {
		t.Errorf("applications %d", d.Scopes()[0].Applications)
	}
}

func TestSamplingSources(t *testing.T) {
	// Rates in the record itself: samplingPacketInterval/Space (1 of 10),
	// samplerRandomInterval, samplingProbability.
	d := New(Options{})
	c, _ := decodeAll(t, d, exporter, UDP, v10(1, 0, 0,
		set(2, tmpl(256, fspec(0, 305, 4), fspec(0, 306, 4)), tmpl(257, fspec(0, 50, 2)), tmpl(258, fspec(0, 311, 8))),
		set(256, cat(u32(1), u32(9))), set(257, u16(64)), set(258, u64(math.Float64bits(0.001)))))
	if c.recs[0].rate != 10 || c.recs[1].rate != 64 || c.recs[2].rate != 1000 {
		t.Errorf("rates %d %d %d", c.recs[0].rate, c.recs[1].rate, c.recs[2].rate)
	}
	// A single sampler in the table applies to records that do not name it.
	d = New(Options{})
	c, _ = decodeAll(t, d, exporter, UDP, v10(1, 0, 0,
		set(3, optTmpl(256, 1, fspec(0, 302, 4), fspec(0, 305, 4), fspec(0, 306, 4))), set(256, cat(u32(7), u32(1), u32(99))),
		set(2, tmpl(257, fspec(0, 1, 4))), set(257, u32(1))))
	if c.data()[0].rate != 100 {
		t.Errorf("single sampler rate %d", c.data()[0].rate)
	}
}

func TestLists(t *testing.T) {
	// Template 500 is used inside the lists; 501 carries one list of each kind.
	inner := tmpl(500, fspec(0, 8, 4), fspec(0, 7, 2))
	outer := tmpl(501, fspec(0, 291, varLen), fspec(0, 291, varLen), fspec(0, 292, varLen), fspec(0, 293, varLen))
	ports := cat(u8(AllOf), u16(7), u16(2), u16(80), u16(443), u16(8080))                                        // basicList of sourceTransportPort
	names := cat(u8(Ordered), u16(0x8000|338), u16(varLen), u32(39499), u8(1), []byte("a"), u8(2), []byte("bc")) // enterprise, varlen elements
	stl := cat(u8(AllOf), u16(500), []byte{10, 0, 0, 1}, u16(1), []byte{10, 0, 0, 2}, u16(2))
	stml := cat(u8(AllOf), u16(500), u16(4+6), []byte{10, 0, 0, 3}, u16(3), u16(999), u16(4+2), u16(0), u16(500), u16(4+6), []byte{10, 0, 0, 4}, u16(4))
	vl := func(b []byte) []byte { return cat(u8(255), u16(uint16(len(b))), b) }
	msg := v10(1, 0, 0, set(2, inner, outer), set(501, cat(vl(ports), vl(names), vl(stl), vl(stml))))

	d := New(Options{})
	var seen []string
	h := handlerFunc(func(r *Record) {
		bl, err := r.BasicList(r.Fields[0])
		if err != nil || bl.Semantic != AllOf || bl.Elem.ID != 7 {
			t.Fatalf("basicList %v %+v", err, bl)
		}
		for f, ok := bl.Next(); ok; f, ok = bl.Next() {
			seen = append(seen, f.String())
		}
		bl, _ = r.BasicList(r.Fields[1])
		for f, ok := bl.Next(); ok; f, ok = bl.Next() {
			seen = append(seen, string(f.Value))
		}
		sl, err := r.SubTemplateList(r.Fields[2])
		if err != nil {
			t.Fatal(err)
		}
		for sl.Next() {
			seen = append(seen, sl.Fields()[0].Addr().String()+":"+sl.Fields()[1].String())
		}
		ml, err := r.SubTemplateMultiList(r.Fields[3])
		if err != nil {
			t.Fatal(err)
		}
		for ml.Next() {
			seen = append(seen, ml.Fields()[0].Addr().String())
		}
		if ml.Skipped != 1 {
			t.Errorf("blocks of unknown templates skipped: %d", ml.Skipped)
		}
	})
	st, err := d.Decode(msg, exporter, UDP, 0, h)
	if err != nil || st.Records != 1 {
		t.Fatalf("%v %+v", err, st)
	}
	want := []string{"80", "443", "8080", "a", "bc", "10.0.0.1:1", "10.0.0.2:2", "10.0.0.3", "10.0.0.4"}
	if !reflect.DeepEqual(seen, want) {
		t.Errorf("lists gave %q", seen)
	}

	// A basicList whose elements overrun it rejects the record, not the set.
	bad := cat(u8(AllOf), u16(7), u16(2), u16(80), u8(1))
	st, err = d.Decode(v10(1, 1, 0, set(501, cat(vl(bad), vl(names), vl(stl), vl(stml)), cat(vl(ports), vl(names), vl(stl), vl(stml)))), exporter, UDP, 0, h)
	if reasonOf(err) != ReasonBadList || st.Records != 1 || st.Malformed != 1 {
		t.Errorf("bad list: %v %+v", err, st)
	}
}

func TestListNestingLimit(t *testing.T) {
	// basicLists of basicLists, five deep.
	l := cat(u8(AllOf), u16(7), u16(2), u16(80))
	for range 4 {
		l = cat(u8(AllOf), u16(291), u16(varLen), u8(255), u16(uint16(len(l))), l)
	}
	msg := v10(1, 0, 0, set(2, tmpl(256, fspec(0, 291, varLen))), set(256, cat(u8(255), u16(uint16(len(l))), l)))
	_, err := New(Options{MaxListDepth: 4}).Decode(msg, exporter, UDP, 0, nil)
	if reasonOf(err) != ReasonListTooDeep {
		t.Errorf("depth 5 with limit 4: %v", err)
	}
	st, err := New(Options{MaxListDepth: 5}).Decode(msg, exporter, UDP, 0, nil)
	if err != nil || st.Records != 1 {
		t.Errorf("depth 5 with limit 5: %v %+v", err, st)
	}
}

func TestSnapshotRestore(t *testing.T) {
	appID := []byte{13, 0, 1, 197}
	learn := v10(1, 0, 0,
		set(3, optTmpl(256, 1, fspec(0, 302, 4), fspec(0, 309, 4), fspec(0, 310, 4)), optTmpl(257, 1, fspec(0, 95, 4), fspec(0, 96, varLen))),
		set(256, cat(u32(1), u32(1), u32(64))), set(257, cat(appID, u8(3), []byte("ssl"))),
		set(2, tmpl(258, fspec(0, 302, 4), fspec(0, 95, 4), fspec(0, 1, 4), fspec(2011, 232, 2), fspec(0, 210, 2))))
	data := v10(1, 0, 0, set(258, cat(u32(1), appID, u32(1000), u16(1), u16(0))))
	d := New(Options{})
	decodeAll(t, d, exporter, UDP, learn)
	b, err := json.Marshal(d.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	d2 := New(Options{})
	if err := d2.Restore(s); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(d2.Snapshot(), d.Snapshot()) {
		t.Errorf("restored snapshot differs:\n%+v\n%+v", d2.Snapshot(), d.Snapshot())
	}
	c, _ := decodeAll(t, d2, exporter, UDP, data)
	r := c.recs[0]
	if r.rate != 64 || r.application != "ssl" || r.uint(t, 1) != 1000 || len(r.fields) != 4 {
		t.Errorf("record after restore %+v", r)
	}
	if !bytes.Contains(b, []byte(`"transport":"udp"`)) || !bytes.Contains(b, []byte(`"exporter":"192.0.2.7:50000"`)) {
		t.Errorf("snapshot JSON %s", b)
	}
	// A snapshot cannot smuggle in what a message could not.
	s.Scopes[0].Templates = append(s.Scopes[0].Templates, TemplateState{ID: 7, Fields: []FieldSpec{{ID: 1, Length: 4}}})
	if err := New(Options{}).Restore(s); reasonOf(err) != ReasonTemplateIDReserved {
		t.Errorf("restore of template 7: %v", err)
	}
}

func TestFieldReaders(t *testing.T) {
	reg := ie.IANA()
	el := func(id uint16) *ie.Element { e := reg.Lookup(0, id); return &e }
	cases := []struct {
		f    Field
		want string
	}{
		{Field{el(1), []byte{0, 0, 1, 0}}, "256"},                                     // reduced-size unsigned64
		{Field{el(8), []byte{192, 0, 2, 1}}, "192.0.2.1"},                             // ipv4Address
		{Field{el(56), []byte{0, 0x1b, 0x21, 0xaa, 0xbb, 0xcc}}, "00:1b:21:aa:bb:cc"}, // sourceMacAddress
		{Field{el(82), []byte("Gi0/1\x00\x00\x00")}, "Gi0/1"},                         // NUL-padded string
		{Field{el(95), []byte{13, 0, 1, 197}}, "0d0001c5"},                            // octetArray
	}
	for _, c := range cases {
		if got := c.f.String(); got != c.want {
			t.Errorf("%s: %q, want %q", c.f.Name(), got, c.want)
		}
	}
	if v := (Field{Value: []byte{0xff, 0xfe}}).Int(); v != -2 {
		t.Errorf("Int of 2 bytes = %d", v)
	}
	if v := (Field{Value: []byte{1, 2, 3}}).Uint(); v != 0x010203 {
		t.Errorf("Uint of 3 bytes = %#x", v)
	}
	if v := (Field{Value: make([]byte, 9)}).Uint(); v != 0 {
		t.Errorf("Uint of 9 bytes = %d", v)
	}
	// A float64 element sent as float32 (reduced size).
	f64 := ie.Element{Type: ie.Float64}
	if v := (Field{&f64, u32(math.Float32bits(0.5))}).Float(); v != 0.5 {
		t.Errorf("reduced float %v", v)
	}
	// dateTimeMicroseconds is NTP time: seconds since 1900 and a fraction.
	us := ie.Element{ID: 154, Type: ie.DateTimeMicroseconds}
	ntp := uint64(1700000000+ntpEpochOffset)<<32 | 1<<31 // .5 s
	if ms := (Field{&us, u64(ntp)}).TimeMs(0); ms != 1700000000500 {
		t.Errorf("NTP time %d", ms)
	}
	if ms := (Field{el(150), u32(1700000000)}).TimeMs(0); ms != 1700000000000 {
		t.Errorf("dateTimeSeconds %d", ms)
	}
	// sysUpTime wrapped since boot: the flow is still placed before the export.
	const boot = int64(1600000000000)
	wrapped := Field{el(21), u32(1000)}
	export := uint32((boot + 1<<32 + 5000) / 1000)
	if ms := wrapped.TimeMs(export, boot); ms != boot+1<<32+1000 {
		t.Errorf("wrapped sysUpTime %d", ms)
	}
}

// Steady state costs no allocation per record: the Record and its Fields
// are reused and values point into the message.
func TestSteadyStateAllocatesNothing(t *testing.T) {
	msgs := [][]byte{
		synthetic30(1, 0),
		v10(1, 30, 0, set(2, flowTmpl), set(300, flowRec(1, 2, 3, 4, 5, 6))), // a template refresh
	}
	d := New(Options{SamplingOverride: func(netip.Addr) (uint64, bool) { return 0, false }})
	var n int
	h := handlerFunc(func(r *Record) { n += len(r.Fields) })
	for _, m := range msgs {
		d.Decode(m, exporter, UDP, 0, h)
	}
	allocs := testing.AllocsPerRun(100, func() {
		for _, m := range msgs {
			if _, err := d.Decode(m, exporter, UDP, 0, h); err != nil {
				t.Fatal(err)
			}
		}
	})
	if allocs != 0 || n == 0 {
		t.Errorf("%v allocations per run of 31 records", allocs)
	}
}

type handlerFunc func(r *Record)

func (f handlerFunc) Record(r *Record) { f(r) }
func (handlerFunc) Options(*Record)    {}

func reasonOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

// synthetic30 is a message of a template and 30 flow records, the shape of
// a busy exporter's message.
func synthetic30(odid, seq uint32) []byte {
	recs := make([][]byte, 30)
	for i := range recs {
		recs[i] = flowRec(byte(i), byte(i+1), uint16(1000+i), 443, uint32(1500*i), uint32(i+1))
	}
	return v10(odid, seq, 1700000000, set(2, flowTmpl), set(300, recs...))
}

// An exporter switched from IPFIX to NetFlow v9 (same address, port and
// domain) starts afresh: an IPFIX template cannot decode v9 data.
func TestVersionSwitchForgetsTemplates(t *testing.T) {
	d := New(Options{})
	decodeAll(t, d, exporter, UDP, v10(3, 0, 0, set(2, tmpl(600, fspec(0, 96, varLen)))))
	_, st := decodeAll(t, d, exporter, UDP, v9(3, 0, 0, 0, 1, set(600, cat(u8(1), []byte("a")))))
	if st.Held != 1 || st.Records != 0 {
		t.Errorf("v9 data decoded with an IPFIX template: %+v", st)
	}
	s := d.Scopes()[0]
	if s.Version != 9 || len(s.Templates) != 0 || d.checkTotals() != nil {
		t.Errorf("scope %+v, %v", s, d.checkTotals())
	}
	if err := New(Options{}).Restore(d.Snapshot()); err != nil {
		t.Errorf("restore: %v", err)
	}
}
