package ie

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadDefinitionsNamesFlowmonElements(t *testing.T) {
	path := filepath.Join(t.TempDir(), "defs.json")
	if err := os.WriteFile(path, []byte(`[
  {"pen":39499,"id":1,"name":"flowmonHttpHost","type":"string","semantics":"default","units":""},
  {"pen":39499,"id":69,"name":"flowmonNpmRoundTripTime","type":"unsigned32","semantics":"quantity","units":"microseconds"},
  {"pen":39499,"id":338,"name":"flowmonTlsSni","type":"string"}
]`), 0o644); err != nil {
		t.Fatal(err)
	}
	defs, err := LoadDefinitions(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []Element{
		{PEN: 39499, ID: 1, Name: "flowmonHttpHost", Type: String, Known: true},
		{PEN: 39499, ID: 69, Name: "flowmonNpmRoundTripTime", Type: Unsigned32, Semantics: Quantity, Units: "microseconds", Known: true},
		{PEN: 39499, ID: 338, Name: "flowmonTlsSni", Type: String, Known: true},
	}
	if len(defs) != len(want) {
		t.Fatalf("got %d definitions", len(defs))
	}
	for i := range want {
		if defs[i] != want[i] {
			t.Errorf("definition %d = %+v, want %+v", i, defs[i], want[i])
		}
	}
	r, err := IANA().With(defs)
	if err != nil {
		t.Fatal(err)
	}
	if e := r.Lookup(39499, 338); e.Name != "flowmonTlsSni" || e.Type != String {
		t.Fatalf("%+v", e)
	}
}

func TestDefinitionErrorsNameLineAndEntry(t *testing.T) {
	for _, c := range []struct {
		name, json, want string
	}{
		{"bad type", "[\n {\"pen\":1,\"id\":1,\"name\":\"a\",\"type\":\"string\"},\n {\"pen\":1,\"id\":2,\"name\":\"b\",\"type\":\"strng\"}\n]",
			`3: entry 2 (pen 1 id 2 "b"): unknown type "strng" (one of octetArray, unsigned8`},
		{"bad semantics", `[{"pen":1,"id":2,"name":"b","type":"string","semantics":"counter"}]`,
			`1: entry 1 (pen 1 id 2 "b"): unknown semantics "counter"`},
		{"duplicate id", "[\n{\"pen\":1,\"id\":2,\"name\":\"a\",\"type\":\"string\"},\n\n{\"pen\":1,\"id\":2,\"name\":\"b\",\"type\":\"string\"}]",
			`4: entry 2 (pen 1 id 2 "b"): duplicate of entry 1 (same pen and id)`},
		{"duplicate name", `[{"pen":1,"id":2,"name":"a","type":"string"},{"pen":2,"id":2,"name":"a","type":"string"}]`,
			`entry 2 (pen 2 id 2 "a"): duplicate name, also used by entry 1`},
		{"missing pen", `[{"id":2,"name":"a","type":"string"}]`, `entry 1 (id 2 "a"): missing "pen"`},
		{"missing id", `[{"pen":2,"name":"a","type":"string"}]`, `missing "id"`},
		{"id too big", `[{"pen":2,"id":32768,"name":"a","type":"string"}]`, "id 32768 out of range 1..32767"},
		{"bad name", `[{"pen":2,"id":3,"name":"http host","type":"string"}]`, `name "http host": use a letter`},
		{"no name", `[{"pen":2,"id":3,"type":"string"}]`, `entry 1 (pen 2 id 3): missing "name"`},
		{"reverse pen", `[{"pen":29305,"id":3,"name":"x","type":"string"}]`, "pen 29305 is RFC 5103's reverse"},
		{"unknown field", "[\n{\"pen\":2,\"id\":3,\"name\":\"x\",\"type\":\"string\",\"length\":4}]", `unknown field "length" (entry 1)`},
		{"wrong JSON type", "[\n\n{\"pen\":\"39499\",\"id\":3,\"name\":\"x\",\"type\":\"string\"}]", `3: field "pen"`},
		{"syntax", "[\n{\"pen\":2,\n\"id\":3,,}]", "3: invalid character ','"},
		{"not an array", `{"pen":2}`, "1: want a JSON array"},
		{"truncated", "[\n{\"pen\":2,\"id\":3,\"name\":\"x\",\"type\":\"string\"}", "2: unexpected end of file"},
		{"trailing", `[] []`, "trailing data"},
	} {
		_, err := ParseDefinitions([]byte(c.json))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v\nwant it to contain %q", c.name, err, c.want)
		}
	}
}

func TestLoadDefinitionsErrorNamesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flowmon.json")
	os.WriteFile(path, []byte(`[{"pen":1,"id":2,"name":"b","type":"strng"}]`), 0o644)
	_, err := LoadDefinitions(path)
	if err == nil || !strings.HasPrefix(err.Error(), "ipfix definitions "+path+":1: entry 1") {
		t.Fatalf("err %v", err)
	}
	if _, err := LoadDefinitions(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Fatal("missing file accepted")
	}
}

func TestEmptyDefinitionsFile(t *testing.T) {
	defs, err := ParseDefinitions([]byte(" [ ] \n"))
	if err != nil || len(defs) != 0 {
		t.Fatalf("%v %v", defs, err)
	}
}

// The example shipped in provisioning/ must load and layer onto IANA's
// registry, or users copying it get a collector that will not start.
func TestExampleDefinitionsFile(t *testing.T) {
	defs, err := LoadDefinitions("../../../../provisioning/ipfix/definitions.example.json")
	if err != nil {
		t.Fatal(err)
	}
	r, err := IANA().With(defs)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		id   uint16
		name string
		typ  Type
	}{
		{1, "flowmonHttpHost", String},
		{69, "flowmonNpmRoundTripTime", Unsigned32},
		{70, "flowmonNpmServerResponseTime", Unsigned32},
		{71, "flowmonNpmTcpRetransmission", Unsigned32},
		{121, "flowmonDnsQname", String},
		{338, "flowmonTlsSni", String},
		{201, "flowmonDhcpHostMacAddr", MacAddress},
		{293, "flowmonMysqlUsername", String},
		{46, "flowmonRtpJitter", Unsigned32},
		{252, "flowmonMailUsername", String},
	} {
		if e := r.Lookup(39499, c.id); e.Name != c.name || e.Type != c.typ || !e.Known {
			t.Errorf("Lookup(39499, %d) = %+v, want %s %s", c.id, e, c.name, c.typ)
		}
	}
}

func FuzzParseDefinitions(f *testing.F) {
	f.Add([]byte(`[{"pen":39499,"id":1,"name":"flowmonHttpHost","type":"string","semantics":"default","units":""}]`))
	f.Add([]byte(`[{"pen":1,"id":2,"name":"a","type":"string"},{"pen":1,"id":2}]`))
	f.Add([]byte("[\n{\"pen\":2,\n\"id\":3,,}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		defs, err := ParseDefinitions(data)
		if err != nil {
			return
		}
		// Whatever parses must layer onto an empty registry without conflict
		// among its own entries.
		if _, err := newIANA(nil).With(defs); err != nil {
			t.Fatalf("parsed definitions conflict: %v", err)
		}
	})
}
