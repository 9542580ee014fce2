package ipfix

import (
	"net/netip"
	"strings"
	"testing"
)

// Every reason a message, set or record is refused, with the good parts
// of the message still decoded where the framing allows.
func TestBadInput(t *testing.T) {
	good := set(300, flowRec(1, 2, 3, 4, 5, 6))
	known := set(2, flowTmpl)
	cases := []struct {
		name    string
		o       Options
		tr      Transport
		before  [][]byte // decoded first, must succeed
		msg     []byte
		reason  string
		records int // good records still decoded
	}{
		{name: "empty", msg: nil, reason: ReasonTruncatedMessage},
		{name: "short header", msg: v10(1, 0, 0)[:10], reason: ReasonTruncatedMessage},
		{name: "length past the datagram", msg: v10(1, 0, 0, known, good)[:40], reason: ReasonTruncatedMessage},
		{name: "short v9 header", msg: v9(1, 0, 0, 0, 0)[:12], reason: ReasonTruncatedMessage},
		{name: "netflow v5", msg: cat(u16(5), make([]byte, 30)), reason: ReasonBadVersion},
		{name: "length below header", msg: cat(u16(10), u16(8), make([]byte, 12)), reason: ReasonBadLength},
		{name: "set length 2", msg: v10(1, 0, 0, known, good, cat(u16(300), u16(2))), reason: ReasonBadSetLength, records: 1},
		{name: "set past the end", msg: v10(1, 0, 0, known, good, cat(u16(300), u16(400), flowRec(1, 2, 3, 4, 5, 6))), reason: ReasonBadSetLength, records: 1},
		{name: "trailing bytes", msg: v10(1, 0, 0, known, good, []byte{0, 0}), reason: ReasonBadSetLength, records: 1},
		{name: "reserved set id", msg: v10(1, 0, 0, set(100, u32(0)), known, good), reason: ReasonBadSetID, records: 1},
		{name: "v9 template without fields", msg: v9(1, 0, 0, 0, 0, set(0, cat(u16(300), u16(0)))), reason: ReasonTemplateNoFields},
		{name: "template of zero-length fields", msg: v10(1, 0, 0, set(2, tmpl(301, fspec(0, 1, 0))), known, good), reason: ReasonTemplateNoFields, records: 1},
		{name: "template id below 256", msg: v10(1, 0, 0, set(2, tmpl(255, fspec(0, 1, 4))), known, good), reason: ReasonTemplateIDReserved, records: 1},
		{name: "template flood", o: Options{MaxTemplatesPerScope: 1}, msg: v10(1, 0, 0, known, set(2, tmpl(301, fspec(0, 1, 4))), good), reason: ReasonTemplateFlood, records: 1},
		{name: "template flood over all scopes", o: Options{MaxTemplates: 1}, before: [][]byte{v10(2, 0, 0, known)}, msg: v10(1, 0, 0, known, good), reason: ReasonTemplateFlood},
		{name: "too many fields", o: Options{MaxFieldsPerTemplate: 2}, msg: v10(1, 0, 0, set(2, tmpl(301, fspec(0, 1, 4), fspec(0, 2, 4), fspec(0, 4, 1)))), reason: ReasonTemplateTooLong},
		{name: "record longer than any message", msg: v10(1, 0, 0, set(2, tmpl(301, fspec(0, 1, 40000), fspec(0, 2, 40000)))), reason: ReasonTemplateTooLong},
		{name: "template runs past its set", msg: v10(1, 0, 0, set(2, cat(u16(301), u16(3), fspec(0, 1, 4))), known, good), reason: ReasonTemplateTruncated, records: 1},
		{name: "enterprise number cut off", msg: v10(1, 0, 0, set(2, cat(u16(301), u16(1), u16(0x8001), u16(4))), known, good), reason: ReasonTemplateTruncated, records: 1},
		{name: "options template without scope", msg: v10(1, 0, 0, set(3, optTmpl(301, 0, fspec(0, 1, 4)))), reason: ReasonBadScopeCount},
		{name: "scope count past field count", msg: v10(1, 0, 0, set(3, optTmpl(301, 2, fspec(0, 1, 4)))), reason: ReasonBadScopeCount},
		{name: "v9 options sections not in fields", msg: v9(1, 0, 0, 0, 0, set(1, cat(u16(301), u16(3), u16(4), u16(1), u16(4), u16(34)))), reason: ReasonBadScopeCount},
		{name: "redefinition without withdrawal over TCP", tr: TCP, before: [][]byte{v10(1, 0, 0, known)}, msg: v10(1, 0, 0, set(2, tmpl(300, fspec(0, 1, 4))), set(300, u32(9))), reason: ReasonTemplateRedefined, records: 1},
		{name: "withdrawal of an options template in a template set", tr: TCP, before: [][]byte{v10(1, 0, 0, set(3, optTmpl(301, 1, fspec(0, 149, 4), fspec(0, 34, 4))))}, msg: v10(1, 0, 0, set(2, cat(u16(301), u16(0)))), reason: ReasonWithdrawalMismatch},
		{name: "variable-length field past the set", msg: v10(1, 0, 0, set(2, tmpl(301, fspec(0, 82, varLen))), set(301, cat(u8(2), []byte("ok")), cat(u8(200), []byte("short"))), known, good), reason: ReasonFieldOverrun, records: 2},
		{name: "3-byte length cut off", msg: v10(1, 0, 0, set(2, tmpl(301, fspec(0, 82, varLen), fspec(0, 4, 1))), set(301, cat(u8(255), u8(0)))), reason: ReasonFieldOverrun},
		{name: "basicList too short", msg: v10(1, 0, 0, set(2, tmpl(301, fspec(0, 291, varLen))), set(301, cat(u8(3), u8(3), u16(7), u16(2))), known, good), reason: ReasonBadList, records: 1},
		{name: "subTemplateMultiList block past the list", msg: v10(1, 0, 0, known, set(2, tmpl(301, fspec(0, 293, varLen))), set(301, cat(u8(9), u8(3), u16(300), u16(40), u32(1), u32(2)))), reason: ReasonBadList},
		{name: "lists nested too deep", o: Options{MaxListDepth: 1}, msg: v10(1, 0, 0, set(2, tmpl(301, fspec(0, 291, varLen))), set(301, cat(u8(11), u8(3), u16(291), u16(varLen), u8(5), u8(3), u16(7), u16(2)))), reason: ReasonListTooDeep},
		{name: "pending bytes used up", o: Options{MaxPendingBytesPerScope: 100}, msg: v10(1, 0, 0, set(400, make([]byte, 40)), set(401, make([]byte, 40))), reason: ReasonPendingFull},
		{name: "pending bytes of all scopes used up", o: Options{MaxPendingBytes: 200}, before: [][]byte{v10(2, 0, 0, set(400, make([]byte, 40)))}, msg: v10(1, 0, 0, set(400, make([]byte, 40))), reason: ReasonPendingFull},
		{name: "scope flood", o: Options{MaxScopes: 1}, before: [][]byte{v10(1, 0, 0, known)}, msg: v10(2, 0, 0, known, good), reason: ReasonScopeFlood},
	}
	seen := map[string]bool{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := New(tc.o)
			for _, b := range tc.before {
				if _, err := d.Decode(b, exporter, tc.tr, 0, nil); err != nil {
					t.Fatalf("before: %v", err)
				}
			}
			c := &collect{}
			st, err := d.Decode(tc.msg, exporter, tc.tr, 0, c)
			var e *Error
			if err == nil || reasonOf(err) != tc.reason {
				t.Fatalf("error %v, want reason %s", err, tc.reason)
			}
			e = err.(*Error)
			if st.Malformed == 0 || !strings.Contains(e.Error(), tc.reason) {
				t.Errorf("stats %+v, error %q", st, e.Error())
			}
			if len(c.data()) != tc.records {
				t.Errorf("decoded %d good records, want %d", len(c.data()), tc.records)
			}
			if err := d.checkTotals(); err != nil {
				t.Error(err)
			}
			counted := 0
			st.ByReason.Each(func(reason string, n int) {
				if reason == tc.reason {
					counted += n
				}
			})
			if counted == 0 {
				t.Errorf("ByReason has no %s", tc.reason)
			}
			seen[tc.reason] = true
		})
	}
	for _, r := range reasons {
		if !seen[r] {
			t.Errorf("no case for %s", r)
		}
	}
}

// A set dropped for want of pending space is counted on the scope; holding
// nothing at all (negative limit) drops without an error.
func TestPendingAccounting(t *testing.T) {
	d := New(Options{MaxPendingBytesPerScope: -1})
	st, err := d.Decode(v10(1, 0, 0, set(400, make([]byte, 40))), exporter, UDP, 0, nil)
	if err != nil || st.DroppedPending != 1 || st.Held != 0 || d.Scopes()[0].DroppedPending != 1 {
		t.Errorf("%v %+v", err, st)
	}
	d = New(Options{MaxPendingBytesPerScope: 300})
	for i := range 5 {
		d.Decode(v10(1, uint32(i), 0, set(400, make([]byte, 40))), exporter, UDP, 0, nil)
	}
	s := d.Scopes()[0]
	if s.HeldSets != 2 || s.HeldBytes > 300 || s.DroppedPending != 3 {
		t.Errorf("scope %+v", s)
	}
	// Errors name the exporter and the template.
	_, err = d.Decode(v10(1, 9, 0, set(400, make([]byte, 40))), netip.MustParseAddrPort("[2001:db8::1]:4739"), UDP, 0, nil)
	if err != nil {
		t.Fatalf("other scope has room: %v", err)
	}
	_, err = d.Decode(v10(1, 10, 0, set(401, make([]byte, 400))), exporter, UDP, 0, nil)
	if err == nil || err.Error() != "ipfix: pending_full from 192.0.2.7/1 template 401 at offset 16" {
		t.Errorf("error text %v", err)
	}
}
