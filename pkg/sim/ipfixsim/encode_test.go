package ipfixsim

import (
	"bytes"
	"encoding/hex"
	"net/netip"
	"strings"
	"testing"
)

// unhex reads bytes written as hex with spaces, line breaks and # comments,
// so the expected messages below can be laid out field by field.
func unhex(t *testing.T, s string) []byte {
	t.Helper()
	var digits []string
	for _, line := range strings.Split(s, "\n") {
		line, _, _ = strings.Cut(line, "#")
		digits = append(digits, strings.Fields(line)...)
	}
	b, err := hex.DecodeString(strings.Join(digits, ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A small message written by hand from RFC 7011 §3: a template set with an
// IANA element, a reduced-size counter, a reverse element (RFC 5103) and a
// variable-length Flowmon element, then a data set with one record,
// padded to four octets.
func TestMessageMatchesRFC7011ByteForByte(t *testing.T) {
	tmpl := Template{ID: 256, Fields: []Field{
		{ID: 8, Length: 4},                       // sourceIPv4Address
		{ID: 2, Length: 4},                       // packetDeltaCount, unsigned64 sent in 4 octets
		{PEN: PENReverse, ID: 1, Length: 8},      // reverseOctetDeltaCount
		{PEN: PENFlowmon, ID: 1, Length: VarLen}, // httpHost
	}}
	var rec []byte
	rec = AppendAddr(rec, netip.MustParseAddr("192.0.2.7"))
	rec = AppendUint(rec, 5, 4)
	rec = AppendUint(rec, 1500, 8)
	rec = AppendVarLen(rec, []byte("ab"))

	var m Message
	m.Reset(Header{ExportTime: 0x5f5e1000, Sequence: 7, ODID: 1}, true)
	m.Open(TemplateSetID)
	m.Append(tmpl.AppendRecord(nil))
	m.Open(256)
	m.Append(rec)
	got := m.Bytes()

	want := unhex(t, `
		000a 0048  # version 10, length 72
		5f5e1000  # export time
		00000007  # sequence: 7 data records sent before
		00000001  # observation domain 1

		0002 0020  # template set, 32 octets
		0100 0004  # template 256, 4 fields
		0008 0004  # sourceIPv4Address, 4
		0002 0004  # packetDeltaCount, 4
		8001 0008 00007279  # E bit + octetDeltaCount, 8, PEN 29305
		8001 ffff 00009a4b  # E bit + httpHost, variable, PEN 39499

		0100 0018  # data set of template 256, 24 octets
		c0000207  # 192.0.2.7
		00000005  # 5 packets
		00000000000005dc  # 1500 reverse octets
		02 6162  # "ab" with a one-octet length
		00  # padding to a multiple of 4
	`)
	if !bytes.Equal(got, want) {
		t.Fatalf("message\n got %x\nwant %x", got, want)
	}
	if m.Records() != 1 {
		t.Errorf("%d data records counted; want 1 (template records do not count)", m.Records())
	}
}

func TestOptionsTemplateAndWithdrawalRecords(t *testing.T) {
	got := applicationTemplate().AppendRecord(nil)
	want := unhex(t, `
		0109 0003 0001  # template 265, 3 fields, 1 scope field
		005f 0004  # applicationId, 4 (scope)
		0060 ffff  # applicationName, variable
		005e ffff  # applicationDescription, variable
	`)
	if !bytes.Equal(got, want) {
		t.Errorf("options template record\n got %x\nwant %x", got, want)
	}
	if got, want := AppendWithdrawal(nil, 300), unhex(t, "012c 0000"); !bytes.Equal(got, want) {
		t.Errorf("withdrawal %x, want %x", got, want)
	}
	a := Application{Name: "ssl", Description: "", Engine: 13, Selector: 453}
	if got, want := appendApplicationRecord(nil, &a), unhex(t, "0d 0001c5  03 73736c  00"); !bytes.Equal(got, want) {
		t.Errorf("application record %x, want %x (engine 13, selector 453, empty description)", got, want)
	}
}

func TestVariableLengthPrefixes(t *testing.T) {
	long := bytes.Repeat([]byte{'x'}, 300)
	cases := []struct {
		value  []byte
		prefix string
	}{
		{nil, "00"},
		{[]byte("abc"), "03"},
		{long[:254], "fe"},
		{long[:255], "ff00ff"}, // 255 no longer fits one octet: 255 then two octets
		{long, "ff012c"},
	}
	for _, c := range cases {
		got := AppendVarLen(nil, c.value)
		p := unhex(t, c.prefix)
		if !bytes.Equal(got[:len(p)], p) || !bytes.Equal(got[len(p):], c.value) || varLenSize(len(c.value)) != len(got) {
			t.Errorf("%d octets: prefix %x, want %x", len(c.value), got[:min(len(got), 3)], p)
		}
		if s := appendString(nil, string(c.value), VarLen); !bytes.Equal(s, got) {
			t.Errorf("%d octets: appendString %x differs from AppendVarLen", len(c.value), s[:3])
		}
	}
}

func TestFixedWidthValues(t *testing.T) {
	if got, want := AppendUint(nil, 0x0102030405060708, 8), unhex(t, "0102030405060708"); !bytes.Equal(got, want) {
		t.Errorf("u64 %x", got)
	}
	if got, want := AppendUint(nil, 0x01020304, 3), unhex(t, "020304"); !bytes.Equal(got, want) {
		t.Errorf("reduced to 3 octets: %x, want %x", got, want)
	}
	if got, want := AppendFixedString(nil, "ab", 4), unhex(t, "61620000"); !bytes.Equal(got, want) {
		t.Errorf("fixed string %x, want NUL padding %x", got, want)
	}
	if got := AppendAddr(nil, netip.MustParseAddr("2001:db8::1")); len(got) != 16 || got[15] != 1 || got[0] != 0x20 {
		t.Errorf("IPv6 address %x", got)
	}
}

func TestSamplingRecordsSayTheRateEachWay(t *testing.T) {
	cases := []struct {
		mode SamplingMode
		want string
	}{
		{SamplingCisco, "00000007  00000001 0003 00000001 00000400"}, // selectorId 7, interval 1, random n-out-of-N, 1 of 1024
		{SamplingPSAMP, "00000007  0001 00000001 000003ff"},          // systematic: 1 taken, 1023 skipped
		{SamplingInterval, "07  00000400 01"},                        // samplerId 7, samplingInterval 1024, deterministic
		{SamplingRandomInterval, "07  02 00000400"},                  // samplerId 7, random, 1024
	}
	for _, c := range cases {
		got := c.mode.appendSamplingRecord(nil, 7, 1024)
		want := unhex(t, c.want)
		if !bytes.HasPrefix(got, want) {
			t.Errorf("%v: record %x, want it to start %x", c.mode, got, want)
		}
		tmpl := c.mode.samplingTemplate()
		size := 0
		for _, f := range tmpl.Fields {
			if f.Length != VarLen {
				size += int(f.Length)
			}
		}
		if c.mode == SamplingCisco {
			// samplerName fixed 90 octets NUL-padded, then selectorName with its length octet.
			size += varLenSize(len(samplerName))
			if name := got[len(want) : len(want)+90]; !bytes.HasPrefix(name, []byte(samplerName+"\x00")) {
				t.Errorf("samplerName %q", name)
			}
		}
		if len(got) != size {
			t.Errorf("%v: record of %d octets for a template of %d", c.mode, len(got), size)
		}
		if err := tmpl.Validate(); err != nil || !tmpl.Options() || tmpl.Scope != 1 {
			t.Errorf("%v: template %+v: %v", c.mode, tmpl, err)
		}
	}
}

func TestTemplateValidation(t *testing.T) {
	bad := []Template{
		{ID: 255, Fields: []Field{{ID: 1, Length: 8}}},
		{ID: 256},
		{ID: 256, Fields: []Field{{ID: 0x8001, Length: 8}}},
		{ID: 256, Fields: []Field{{ID: 1, Length: 0}}},
		{ID: 256, Scope: 2, Fields: []Field{{ID: 1, Length: 8}}},
	}
	for _, tmpl := range bad {
		if err := tmpl.Validate(); err == nil {
			t.Errorf("%+v passed validation", tmpl)
		}
	}
}

// Every record of every template must come out at the length its template
// gives: fixed fields at their length, variable ones with their prefix.
func TestFlowRecordsHaveTheirTemplatesLength(t *testing.T) {
	e, err := New(Config{Target: "127.0.0.1:4739", SamplingRate: 10})
	if err != nil {
		t.Fatal(err)
	}
	var f Flow
	seen := map[uint16]int{}
	for range 2000 {
		e.gen.next(&f, 1_700_000_000_000)
		v := 0
		if f.Src.Is6() {
			v = 1
		}
		tmpl := &e.data[v][f.L7]
		rec := appendFlow(nil, tmpl, &f, 1)
		want := 0
		for _, fs := range tmpl.Fields {
			switch fs.key() {
			case kHTTPHost:
				want += varLenSize(len(f.HTTPHost))
			case kHTTPURL:
				want += varLenSize(len(f.HTTPURL))
			case kDNSQName:
				want += varLenSize(len(f.DNSQName))
			case kTLSSNI:
				want += varLenSize(len(f.TLSSNI))
			default:
				want += int(fs.Length)
			}
		}
		if len(rec) != want {
			t.Fatalf("template %d: record of %d octets, want %d: %+v", tmpl.ID, len(rec), want, f)
		}
		seen[tmpl.ID]++
	}
	if len(seen) != 8 {
		t.Errorf("templates used: %v; want all 8 (IPv4 and IPv6, four L7 kinds)", seen)
	}
}
