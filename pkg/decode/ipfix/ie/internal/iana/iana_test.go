package iana

import (
	"strings"
	"testing"
)

// A CSV in today's layout with every quirk IANA's file has: a Reserved row,
// range rows, multi-line quoted descriptions with doubled quotes, empty
// semantics, units, and a column order that is not the old one.
const currentCSV = `ElementID,Name,Abstract Data Type,Data Type Semantics,Status,Description,Units,Range,Additional Information,Reference,Revision,Date
0,Reserved,,,,,,,,[RFC5102],,2013-02-18
1,octetDeltaCount,unsigned64,deltaCounter,current,"The number of octets since the previous report (if any)
in incoming packets for this Flow at the Observation Point.",octets,,,[RFC5102],0,2013-02-18
35,samplingAlgorithm,unsigned8,identifier,deprecated,"The values are not compatible with the selectorAlgorithm IE, where
""Deterministic"" has been replaced by ""Systematic count-based"" (1)",,,,[RFC7270],0,2014-04-04
65-69,Assigned for NetFlow v9 compatibility,,,,,,,,[RFC3954],,2013-02-18
9,sourceIPv4PrefixLength,unsigned8,,current,"The number of contiguous bits",bits,0-32,,[RFC5102],0,2013-02-18
416,,,,deprecated,Duplicate of Information Element ID 352,,,,[RFC5477],,
525,udpSafeOptions,unsigned256,flags,current,"Observed SAFE UDP options",,,,[RFC9868],0,2024-10-23
534-32767,Unassigned,,,,,,,,,,
`

func TestParseCSVHandlesIANAQuirks(t *testing.T) {
	reg, err := ParseCSV(strings.NewReader(currentCSV))
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{
		{ID: 1, Name: "octetDeltaCount", Type: "unsigned64", Semantics: "deltaCounter", Units: "octets", Status: "current"},
		{ID: 35, Name: "samplingAlgorithm", Type: "unsigned8", Semantics: "identifier", Status: "deprecated"},
		{ID: 9, Name: "sourceIPv4PrefixLength", Type: "unsigned8", Units: "bits", Status: "current"},
		{ID: 525, Name: "udpSafeOptions", Type: "unsigned256", Semantics: "flags", Status: "current"},
	}
	if len(reg.Entries) != len(want) {
		t.Fatalf("got %+v", reg.Entries)
	}
	for i := range want {
		if reg.Entries[i] != want[i] {
			t.Errorf("entry %d = %+v, want %+v", i, reg.Entries[i], want[i])
		}
	}
}

// Copies from before 2022 call the type column "Data Type" and put
// "References" and "Requester" where today's has other names.
func TestParseCSVOldHeader(t *testing.T) {
	old := "ElementID,Name,Data Type,Data Type Semantics,Status,Description,Units,Range,References,Requester,Revision,Date\r\n" +
		"2,packetDeltaCount,unsigned64,deltaCounter,current,\"The number of incoming packets\r\nsince the previous report\",packets,,,[RFC5102],0,2013-02-18\r\n"
	reg, err := ParseCSV(strings.NewReader(old))
	if err != nil {
		t.Fatal(err)
	}
	if len(reg.Entries) != 1 || reg.Entries[0] != (Entry{ID: 2, Name: "packetDeltaCount", Type: "unsigned64", Semantics: "deltaCounter", Units: "packets", Status: "current"}) {
		t.Fatalf("%+v", reg.Entries)
	}
}

func TestParseCSVRejectsWhatItCannotTrust(t *testing.T) {
	for name, c := range map[string]struct{ csv, want string }{
		"no type column": {"ElementID,Name,Status\n1,a,current\n", `no "abstract data type" column`},
		"unknown type":   {"ElementID,Name,Abstract Data Type,Data Type Semantics,Status,Units\n1,a,unsigned128,,current,\n", `csv line 2: element 1 a: unknown data type "unsigned128"`},
		"bad semantics":  {"ElementID,Name,Abstract Data Type,Data Type Semantics,Status,Units\n1,a,unsigned8,gauge,current,\n", `unknown semantics "gauge"`},
		"bad id":         {"ElementID,Name,Abstract Data Type,Data Type Semantics,Status,Units\nx1,a,unsigned8,,current,\n", `element id "x1"`},
		"twice":          {"ElementID,Name,Abstract Data Type,Data Type Semantics,Status,Units\n1,a,unsigned8,,current,\n1,b,unsigned8,,current,\n", "element 1 listed twice"},
		"same name":      {"ElementID,Name,Abstract Data Type,Data Type Semantics,Status,Units\n1,a,unsigned8,,current,\n2,a,unsigned8,,current,\n", "name a used by elements 1 and 2"},
		"odd name":       {"ElementID,Name,Abstract Data Type,Data Type Semantics,Status,Units\n1,a b,unsigned8,,current,\n", "not an identifier"},
		"empty":          {"ElementID,Name,Abstract Data Type,Data Type Semantics,Status,Units\n", "no elements"},
	} {
		_, err := ParseCSV(strings.NewReader(c.csv))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want %q", name, err, c.want)
		}
	}
}

const smallXML = `<?xml version='1.0' encoding='UTF-8'?>
<registry xmlns="http://www.iana.org/assignments" id="ipfix">
<title>IP Flow Information Export (IPFIX) Entities</title>
<updated>2026-07-22</updated>
<registry id="ipfix-information-elements">
<record><name>Reserved</name><elementId>0</elementId></record>
<record><name>octetDeltaCount</name><dataType>unsigned64</dataType><dataTypeSemantics>deltaCounter</dataTypeSemantics>
<elementId>1</elementId><status>current</status><description><paragraph>The number of octets
since the previous report.</paragraph></description><units>octets</units></record>
<record><name>Assigned for NetFlow v9 compatibility</name><elementId>105-127</elementId></record>
<record><name/><elementId>416</elementId><status>deprecated</status></record>
<record><name>flowStartMilliseconds</name><dataType>dateTimeMilliseconds</dataType><elementId>152</elementId><status>current</status><units>milliseconds</units></record>
</registry>
<registry id="classification-engine-ids">
<record><value>13</value><name>PANA-L7</name></record>
</registry>
</registry>`

func TestParseXML(t *testing.T) {
	reg, err := ParseXML(strings.NewReader(smallXML))
	if err != nil {
		t.Fatal(err)
	}
	if reg.Updated != "2026-07-22" {
		t.Fatalf("updated %q", reg.Updated)
	}
	want := []Entry{
		{ID: 1, Name: "octetDeltaCount", Type: "unsigned64", Semantics: "deltaCounter", Units: "octets", Status: "current"},
		{ID: 152, Name: "flowStartMilliseconds", Type: "dateTimeMilliseconds", Units: "milliseconds", Status: "current"},
	}
	if len(reg.Entries) != 2 || reg.Entries[0] != want[0] || reg.Entries[1] != want[1] {
		t.Fatalf("%+v", reg.Entries)
	}
	if _, err := ParseXML(strings.NewReader(`<registry id="ipfix"><registry id="other"/></registry>`)); err == nil {
		t.Fatal("file without the element registry accepted")
	}
}

func TestRenderIsGoSourceWithProvenance(t *testing.T) {
	reg, err := ParseXML(strings.NewReader(smallXML))
	if err != nil {
		t.Fatal(err)
	}
	src, err := Render(reg, "data/ipfix.xml", []byte(smallXML))
	if err != nil {
		t.Fatal(err)
	}
	s := string(src)
	for _, want := range []string{
		"// Code generated by ie/internal/gen from data/ipfix.xml; DO NOT EDIT.",
		"IANA registry updated 2026-07-22, input sha256 ",
		`IDOctetDeltaCount       uint16 = 1`,
		`{ID: 1, Name: "octetDeltaCount", Type: Unsigned64, Semantics: DeltaCounter, Units: "octets", Known: true},`,
		`{ID: 152, Name: "flowStartMilliseconds", Type: DateTimeMilliseconds, Semantics: Default, Units: "milliseconds", Known: true},`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
}
