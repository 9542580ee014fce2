// Package iana reads IANA's IPFIX information-element registry, either the
// XML of all IPFIX registries (ipfix.xml) or the CSV of the element table
// (ipfix-information-elements.csv), and renders it as Go for package ie.
// The generator command and the test that checks the committed output is
// current both call it, so they cannot disagree.
package iana

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"go/format"
	"io"
	"strconv"
	"strings"
)

// Entry is one assigned element as IANA lists it.
type Entry struct {
	ID        uint16
	Name      string
	Type      string // IANA spelling, "unsigned64"
	Semantics string // IANA spelling, "" when IANA gives none
	Units     string
	Status    string // current, deprecated
}

// Registry is what Parse found.
type Registry struct {
	Updated string // the registry's "updated" date when the file carries one
	Entries []Entry
}

// ParseXML reads ipfix.xml. Only the "ipfix-information-elements" registry
// is used; range records ("105-127", "534-32767"), "Reserved" and records
// without a data type (ids IANA withdrew, such as 416) are skipped.
func ParseXML(r io.Reader) (*Registry, error) {
	var doc struct {
		Updated string `xml:"updated"`
		Sub     []struct {
			ID      string `xml:"id,attr"`
			Records []struct {
				Name      string `xml:"name"`
				ElementID string `xml:"elementId"`
				DataType  string `xml:"dataType"`
				Semantics string `xml:"dataTypeSemantics"`
				Units     string `xml:"units"`
				Status    string `xml:"status"`
			} `xml:"record"`
		} `xml:"registry"`
	}
	if err := xml.NewDecoder(r).Decode(&doc); err != nil {
		return nil, fmt.Errorf("ipfix.xml: %w", err)
	}
	out := &Registry{Updated: strings.TrimSpace(doc.Updated)}
	found := false
	for _, sub := range doc.Sub {
		if sub.ID != "ipfix-information-elements" {
			continue
		}
		found = true
		for _, rec := range sub.Records {
			e, ok, err := entry(rec.ElementID, rec.Name, rec.DataType, rec.Semantics, rec.Units, rec.Status)
			if err != nil {
				return nil, fmt.Errorf("ipfix.xml: %w", err)
			}
			if ok {
				out.Entries = append(out.Entries, e)
			}
		}
	}
	if !found {
		return nil, errors.New("ipfix.xml: no ipfix-information-elements registry")
	}
	return out, check(out)
}

// ParseCSV reads ipfix-information-elements.csv. Columns are found by their
// header names because IANA has renamed and added columns over the years
// ("Data Type" became "Abstract Data Type", "References" became "Additional
// Information"); descriptions span lines inside quotes, which encoding/csv
// handles; range and placeholder rows are skipped as in ParseXML.
func ParseCSV(r io.Reader) (*Registry, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("csv header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	find := func(names ...string) (int, error) {
		for _, n := range names {
			if i, ok := col[n]; ok {
				return i, nil
			}
		}
		return 0, fmt.Errorf("csv header has no %q column (has %q)", names[0], header)
	}
	var idx [6]int
	for i, names := range [][]string{
		{"elementid"}, {"name"}, {"abstract data type", "data type"},
		{"data type semantics"}, {"units"}, {"status"},
	} {
		if idx[i], err = find(names...); err != nil {
			return nil, err
		}
	}
	out := &Registry{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("csv: %w", err)
		}
		get := func(i int) string {
			if idx[i] < len(rec) {
				return rec[idx[i]]
			}
			return ""
		}
		line, _ := cr.FieldPos(0)
		e, ok, err := entry(get(0), get(1), get(2), get(3), get(4), get(5))
		if err != nil {
			return nil, fmt.Errorf("csv line %d: %w", line, err)
		}
		if ok {
			out.Entries = append(out.Entries, e)
		}
	}
	return out, check(out)
}

func entry(id, name, typ, sem, units, status string) (Entry, bool, error) {
	id, name, typ = strings.TrimSpace(id), strings.TrimSpace(name), strings.TrimSpace(typ)
	if strings.Contains(id, "-") || typ == "" || name == "" {
		return Entry{}, false, nil
	}
	n, err := strconv.ParseUint(id, 10, 15)
	if err != nil {
		return Entry{}, false, fmt.Errorf("element id %q: %w", id, err)
	}
	if n == 0 {
		return Entry{}, false, nil
	}
	if _, ok := typeIdent[typ]; !ok {
		return Entry{}, false, fmt.Errorf("element %d %s: unknown data type %q", n, name, typ)
	}
	sem = strings.TrimSpace(sem)
	if _, ok := semIdent[sem]; !ok {
		return Entry{}, false, fmt.Errorf("element %d %s: unknown semantics %q", n, name, sem)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return Entry{}, false, fmt.Errorf("element %d: name %q is not an identifier", n, name)
		}
	}
	return Entry{ID: uint16(n), Name: name, Type: typ, Semantics: sem,
		Units: strings.Join(strings.Fields(units), " "), Status: strings.TrimSpace(status)}, true, nil
}

func check(r *Registry) error {
	ids := map[uint16]string{}
	names := map[string]uint16{}
	for _, e := range r.Entries {
		if old, ok := ids[e.ID]; ok {
			return fmt.Errorf("element %d listed twice (%s, %s)", e.ID, old, e.Name)
		}
		if old, ok := names[e.Name]; ok {
			return fmt.Errorf("name %s used by elements %d and %d", e.Name, old, e.ID)
		}
		ids[e.ID], names[e.Name] = e.Name, e.ID
	}
	if len(r.Entries) == 0 {
		return errors.New("no elements")
	}
	return nil
}

// The generated code names package ie's constants.
var typeIdent = map[string]string{
	"octetArray": "OctetArray", "unsigned8": "Unsigned8", "unsigned16": "Unsigned16",
	"unsigned32": "Unsigned32", "unsigned64": "Unsigned64", "signed8": "Signed8",
	"signed16": "Signed16", "signed32": "Signed32", "signed64": "Signed64",
	"float32": "Float32", "float64": "Float64", "boolean": "Boolean",
	"macAddress": "MacAddress", "string": "String", "dateTimeSeconds": "DateTimeSeconds",
	"dateTimeMilliseconds": "DateTimeMilliseconds", "dateTimeMicroseconds": "DateTimeMicroseconds",
	"dateTimeNanoseconds": "DateTimeNanoseconds", "ipv4Address": "IPv4Address",
	"ipv6Address": "IPv6Address", "basicList": "BasicList", "subTemplateList": "SubTemplateList",
	"subTemplateMultiList": "SubTemplateMultiList", "unsigned256": "Unsigned256",
}

var semIdent = map[string]string{
	"": "Default", "default": "Default", "quantity": "Quantity", "totalCounter": "TotalCounter",
	"deltaCounter": "DeltaCounter", "identifier": "Identifier", "flags": "Flags",
	"list": "List", "snmpCounter": "SNMPCounter", "snmpGauge": "SNMPGauge",
}

// Render writes package ie's generated file: the element table and an ID
// constant per element. source names the input file; its hash goes in the
// header so a reader can tell which copy the table came from.
func Render(r *Registry, source string, input []byte) ([]byte, error) {
	sum := sha256.Sum256(input)
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by ie/internal/gen from %s; DO NOT EDIT.\n", source)
	fmt.Fprintf(&b, "// IANA registry updated %s, input sha256 %s.\n", orUnknown(r.Updated), hex.EncodeToString(sum[:]))
	fmt.Fprintf(&b, "\npackage ie\n\n")
	fmt.Fprintf(&b, "// IANARegistryUpdated is the \"updated\" date of the IANA registry the table was generated from.\nconst IANARegistryUpdated = %q\n\n", r.Updated)
	b.WriteString("// IANA element ids.\nconst (\n")
	for _, e := range r.Entries {
		dep := ""
		if e.Status == "deprecated" {
			dep = " // deprecated"
		}
		fmt.Fprintf(&b, "\tID%s uint16 = %d%s\n", upperFirst(e.Name), e.ID, dep)
	}
	b.WriteString(")\n\n")
	b.WriteString("var ianaElements = []Element{\n")
	for _, e := range r.Entries {
		fmt.Fprintf(&b, "\t{ID: %d, Name: %q, Type: %s, Semantics: %s", e.ID, e.Name, typeIdent[e.Type], semIdent[e.Semantics])
		if e.Units != "" {
			fmt.Fprintf(&b, ", Units: %q", e.Units)
		}
		b.WriteString(", Known: true},\n")
	}
	b.WriteString("}\n")
	return format.Source(b.Bytes())
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func orUnknown(s string) string {
	if s == "" {
		return "(not stated in the file)"
	}
	return s
}

// Parse picks the format from the file name.
func Parse(name string, data []byte) (*Registry, error) {
	if strings.HasSuffix(strings.ToLower(name), ".csv") {
		return ParseCSV(bytes.NewReader(data))
	}
	return ParseXML(bytes.NewReader(data))
}
