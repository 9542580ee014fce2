package ie

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/netlens/netlens/pkg/decode/ipfix/ie/internal/iana"
)

// The committed table must be what the generator makes from the committed
// IANA file; regenerate with `go generate ./pkg/decode/ipfix/ie`.
// The input and output are read from the //go:generate line, so the test
// follows it when the input changes (a newer XML, or IANA's CSV).
func TestGeneratedTableIsCurrent(t *testing.T) {
	src, err := os.ReadFile("ie.go")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^//go:generate go run ./internal/gen -in (\S+) -out (\S+)$`).FindSubmatch(src)
	if m == nil {
		t.Fatal("ie.go has no //go:generate line for the registry")
	}
	in, out := string(m[1]), string(m[2])
	input, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := iana.Parse(in, input)
	if err != nil {
		t.Fatal(err)
	}
	want, err := iana.Render(reg, in, input)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("iana_gen.go is stale: run `go generate ./pkg/decode/ipfix/ie` and commit the result")
	}
}

func TestIANARegistryIsComplete(t *testing.T) {
	if n := len(ianaElements); n < 500 {
		t.Fatalf("%d IANA elements, want the full registry (500+)", n)
	}
	top := ianaElements[len(ianaElements)-1]
	if top.ID < 529 {
		t.Fatalf("highest IANA id %d (%s), want at least 529", top.ID, top.Name)
	}
	if IANARegistryUpdated < "2024-10-23" {
		t.Fatalf("registry dated %s, older than the udp* elements", IANARegistryUpdated)
	}
}

func TestLookupWellKnownElements(t *testing.T) {
	r := IANA()
	for _, c := range []struct {
		id   uint16
		name string
		typ  Type
		sem  Semantics
	}{
		{1, "octetDeltaCount", Unsigned64, DeltaCounter},
		{2, "packetDeltaCount", Unsigned64, DeltaCounter},
		{4, "protocolIdentifier", Unsigned8, Identifier},
		{6, "tcpControlBits", Unsigned16, Flags},
		{8, "sourceIPv4Address", IPv4Address, Default},
		{27, "sourceIPv6Address", IPv6Address, Default},
		{21, "flowEndSysUpTime", Unsigned32, Default},
		{34, "samplingInterval", Unsigned32, Quantity},
		{56, "sourceMacAddress", MacAddress, Default},
		{95, "applicationId", OctetArray, Default},
		{96, "applicationName", String, Default},
		{152, "flowStartMilliseconds", DateTimeMilliseconds, Default},
		{156, "flowStartNanoseconds", DateTimeNanoseconds, Default},
		{160, "systemInitTimeMilliseconds", DateTimeMilliseconds, Default},
		{239, "biflowDirection", Unsigned8, Identifier},
		{291, "basicList", BasicList, List},
		{292, "subTemplateList", SubTemplateList, List},
		{293, "subTemplateMultiList", SubTemplateMultiList, List},
		{305, "samplingPacketInterval", Unsigned32, Quantity},
		{529, "udpUnsafeExIDList", BasicList, List},
	} {
		e := r.Lookup(0, c.id)
		if e.Name != c.name || e.Type != c.typ || e.Semantics != c.sem || !e.Known || e.Reverse || e.PEN != 0 {
			t.Errorf("Lookup(0, %d) = %+v, want %s %s %s", c.id, e, c.name, c.typ, c.sem)
		}
		if byName, ok := r.ByName(c.name); !ok || byName != e {
			t.Errorf("ByName(%q) = %+v, %v", c.name, byName, ok)
		}
	}
	if e := r.Lookup(0, IDOctetDeltaCount); e.Units != "octets" {
		t.Errorf("octetDeltaCount units %q", e.Units)
	}
	// The enterprise bit is not part of the id.
	if e := r.Lookup(0, 0x8000|IDPacketDeltaCount); e.Name != "packetDeltaCount" {
		t.Errorf("id with enterprise bit: %+v", e)
	}
}

func TestReverseElementsFollowRFC5103(t *testing.T) {
	r := IANA()
	e := r.Lookup(ReversePEN, IDOctetDeltaCount)
	want := Element{PEN: ReversePEN, ID: 1, Name: "reverseOctetDeltaCount", Type: Unsigned64,
		Semantics: DeltaCounter, Units: "octets", Reverse: true, Known: true}
	if e != want {
		t.Fatalf("got %+v\nwant %+v", e, want)
	}
	if got, ok := r.ByName("reverseFlowEndMilliseconds"); !ok || got.ID != IDFlowEndMilliseconds || got.Type != DateTimeMilliseconds {
		t.Fatalf("ByName reverse: %+v %v", got, ok)
	}
	if ReverseName("tcpControlBits") != "reverseTcpControlBits" {
		t.Fatal(ReverseName("tcpControlBits"))
	}
	// Reverse of an id IANA has not assigned is a placeholder that keeps the raw value.
	if e := r.Lookup(ReversePEN, 30000); e.Known || e.Name != "pen29305_30000" || !e.Reverse || e.Type != OctetArray {
		t.Fatalf("unknown reverse: %+v", e)
	}
}

func TestUnknownElementsArePlaceholders(t *testing.T) {
	r := IANA()
	if e := r.Lookup(39499, 69); e != (Element{PEN: 39499, ID: 69, Name: "pen39499_69", Type: OctetArray}) {
		t.Fatalf("Flowmon RTT without definitions: %+v", e)
	}
	if e := r.Lookup(0, 416); e.Known || e.Name != "ie416" {
		t.Fatalf("withdrawn IANA id: %+v", e)
	}
	if e := r.Lookup(0, 32767); e.Known || e.Name != "ie32767" {
		t.Fatalf("unassigned IANA id: %+v", e)
	}
	if _, ok := r.ByName("pen39499_69"); ok {
		t.Fatal("placeholders are not registered names")
	}
}

func TestWithLayersDefinitionsOnTop(t *testing.T) {
	base := IANA()
	r, err := base.With([]Element{
		{PEN: 39499, ID: 1, Name: "flowmonHttpHost", Type: String},
		{PEN: 39499, ID: 69, Name: "flowmonNpmRoundTripTime", Type: Unsigned32, Semantics: Quantity, Units: "microseconds"},
		{PEN: 0, ID: 30000, Name: "someFutureElement", Type: Unsigned32},
	})
	if err != nil {
		t.Fatal(err)
	}
	if e := r.Lookup(39499, 69); e.Name != "flowmonNpmRoundTripTime" || !e.Known || e.Type != Unsigned32 || e.Units != "microseconds" {
		t.Fatalf("%+v", e)
	}
	if e := r.Lookup(0, 30000); e.Name != "someFutureElement" || !e.Known {
		t.Fatalf("%+v", e)
	}
	if e, ok := r.ByName("flowmonHttpHost"); !ok || e.PEN != 39499 {
		t.Fatalf("%+v %v", e, ok)
	}
	// IANA elements are still there, and the base registry is untouched.
	if e := r.Lookup(0, 1); e.Name != "octetDeltaCount" {
		t.Fatalf("%+v", e)
	}
	if e := base.Lookup(39499, 69); e.Known {
		t.Fatalf("base registry changed: %+v", e)
	}
	if r.Len() != base.Len()+3 {
		t.Fatalf("Len %d, base %d", r.Len(), base.Len())
	}
}

func TestWithRefusesConflicts(t *testing.T) {
	for _, c := range []struct {
		name string
		defs []Element
		want string
	}{
		{"redefines IANA", []Element{{PEN: 0, ID: 1, Name: "myBytes", Type: Unsigned64}}, `already defined as "octetDeltaCount"`},
		{"reverse PEN", []Element{{PEN: ReversePEN, ID: 900, Name: "x", Type: Unsigned64}}, "reverse direction"},
		{"IANA name", []Element{{PEN: 39499, ID: 20, Name: "httpUserAgent", Type: String}}, "name already used by pen 0 id 468"},
		{"duplicate", []Element{{PEN: 9, ID: 1, Name: "a", Type: String}, {PEN: 9, ID: 1, Name: "b", Type: String}}, `already defined as "a"`},
		{"bad type", []Element{{PEN: 9, ID: 1, Name: "a", Type: numTypes}}, "bad type"},
	} {
		_, err := IANA().With(c.defs)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want %q", c.name, err, c.want)
		}
	}
}

func TestTypeAndSemanticsSpellings(t *testing.T) {
	for ty := Type(0); ty < numTypes; ty++ {
		if got, ok := ParseType(ty.String()); !ok || got != ty {
			t.Errorf("ParseType(%q) = %v %v", ty.String(), got, ok)
		}
	}
	if Unsigned64.String() != "unsigned64" || IPv4Address.String() != "ipv4Address" {
		t.Fatal(Unsigned64.String(), IPv4Address.String())
	}
	if _, ok := ParseType("uint64"); ok {
		t.Fatal("uint64 is not an IANA spelling")
	}
	for s := Semantics(0); s < numSemantics; s++ {
		if got, ok := ParseSemantics(s.String()); !ok || got != s {
			t.Errorf("ParseSemantics(%q) = %v %v", s.String(), got, ok)
		}
	}
	if s, ok := ParseSemantics(""); !ok || s != Default {
		t.Fatal("empty semantics is default")
	}
}

func BenchmarkLookup(b *testing.B) {
	r := IANA()
	for b.Loop() {
		_ = r.Lookup(0, IDOctetDeltaCount)
		_ = r.Lookup(ReversePEN, IDPacketDeltaCount)
	}
}
