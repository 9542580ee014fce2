// Package ie is the IPFIX information-element registry: IANA's elements
// (generated from IANA's published registry by `go generate`), their RFC 5103
// reverse counterparts, placeholders for enterprise elements nobody named,
// and user definitions layered on top (Flowmon and other vendors).
//
// A Registry never changes after it is built, so decoder workers share one
// without locks.
package ie

//go:generate go run ./internal/gen -in data/ipfix.xml -out iana_gen.go

import (
	"fmt"
	"strconv"
)

// Type is an RFC 7012 abstract data type.
type Type uint8

const (
	OctetArray Type = iota
	Unsigned8
	Unsigned16
	Unsigned32
	Unsigned64
	Signed8
	Signed16
	Signed32
	Signed64
	Float32
	Float64
	Boolean
	MacAddress
	String
	DateTimeSeconds
	DateTimeMilliseconds
	DateTimeMicroseconds
	DateTimeNanoseconds
	IPv4Address
	IPv6Address
	BasicList
	SubTemplateList
	SubTemplateMultiList
	// Unsigned256 (RFC 9740) came after the contract's list; it is appended
	// so the values above keep their numbers. Three IANA flag elements use it
	// (tcpOptionsFull, udpSafeOptions, ...), usually in reduced size.
	Unsigned256
	numTypes
)

var typeNames = [numTypes]string{
	"octetArray", "unsigned8", "unsigned16", "unsigned32", "unsigned64",
	"signed8", "signed16", "signed32", "signed64", "float32", "float64",
	"boolean", "macAddress", "string", "dateTimeSeconds", "dateTimeMilliseconds",
	"dateTimeMicroseconds", "dateTimeNanoseconds", "ipv4Address", "ipv6Address",
	"basicList", "subTemplateList", "subTemplateMultiList", "unsigned256",
}

// String spells the type as IANA does ("unsigned64").
func (t Type) String() string {
	if t < numTypes {
		return typeNames[t]
	}
	return "type(" + strconv.Itoa(int(t)) + ")"
}

// ParseType reads IANA's spelling of a type.
func ParseType(s string) (Type, bool) {
	for i, n := range typeNames {
		if n == s {
			return Type(i), true
		}
	}
	return 0, false
}

// Semantics is an RFC 7012 data type semantics.
type Semantics uint8

const (
	Default Semantics = iota
	Quantity
	TotalCounter
	DeltaCounter
	Identifier
	Flags
	List
	SNMPCounter
	SNMPGauge
	numSemantics
)

var semanticsNames = [numSemantics]string{
	"default", "quantity", "totalCounter", "deltaCounter", "identifier",
	"flags", "list", "snmpCounter", "snmpGauge",
}

// String spells the semantics as IANA does ("deltaCounter").
func (s Semantics) String() string {
	if s < numSemantics {
		return semanticsNames[s]
	}
	return "semantics(" + strconv.Itoa(int(s)) + ")"
}

// ParseSemantics reads IANA's spelling; "" is Default, as IANA leaves the
// column empty for elements without particular semantics.
func ParseSemantics(s string) (Semantics, bool) {
	if s == "" {
		return Default, true
	}
	for i, n := range semanticsNames {
		if n == s {
			return Semantics(i), true
		}
	}
	return 0, false
}

// ReversePEN is the enterprise number RFC 5103 borrows for the reverse
// direction of a biflow: element n under PEN 29305 is the reverse of IANA
// element n.
const ReversePEN = 29305

// Element describes one information element.
type Element struct {
	PEN       uint32 // 0 for IANA
	ID        uint16 // without the enterprise bit
	Name      string // IANA name; reverse "reverseOctetDeltaCount"; unknown "pen<PEN>_<ID>" ("ie<ID>" for PEN 0)
	Type      Type
	Semantics Semantics
	Units     string
	Reverse   bool // RFC 5103 reverse of the IANA element ID
	Known     bool // false for placeholders
}

// maxID is the largest element id a template can carry: the top bit of
// the 16-bit field is the enterprise bit.
const maxID = 0x7fff

type key struct {
	pen uint32
	id  uint16
}

// Registry maps (PEN, ID) and names to elements. Build it with IANA() and
// With; it is immutable afterwards.
type Registry struct {
	// iana and reverse are indexed by ID: the decoder resolves every field of
	// every template through Lookup, and IANA ids are dense.
	iana    []Element
	reverse []Element
	other   map[key]Element
	byName  map[string]Element
}

// IANA returns the registry generated from IANA's published file, with
// the RFC 5103 reverse elements.
func IANA() *Registry { return ianaRegistry }

var ianaRegistry = newIANA(ianaElements)

func newIANA(elems []Element) *Registry {
	top := 0
	for _, e := range elems {
		top = max(top, int(e.ID))
	}
	r := &Registry{
		iana:    make([]Element, top+1),
		reverse: make([]Element, top+1),
		other:   map[key]Element{},
		byName:  make(map[string]Element, 2*len(elems)),
	}
	for _, e := range elems {
		r.iana[e.ID] = e
		r.byName[e.Name] = e
		rev := e
		rev.PEN = ReversePEN
		rev.Name = ReverseName(e.Name)
		rev.Reverse = true
		r.reverse[e.ID] = rev
		r.byName[rev.Name] = rev
	}
	return r
}

// ReverseName is RFC 5103's name for the reverse of an element:
// "reverse" followed by the name with its first letter upper-cased.
func ReverseName(name string) string {
	if name == "" {
		return "reverse"
	}
	b := []byte(name)
	if b[0] >= 'a' && b[0] <= 'z' {
		b[0] -= 'a' - 'A'
	}
	return "reverse" + string(b)
}

// Lookup never fails: an element nobody defined comes back as a placeholder
// of type OctetArray with Known false, so its raw value is still kept.
func (r *Registry) Lookup(pen uint32, id uint16) Element {
	id &= maxID
	switch pen {
	case 0:
		if int(id) < len(r.iana) && r.iana[id].Known {
			return r.iana[id]
		}
	case ReversePEN:
		if int(id) < len(r.reverse) && r.reverse[id].Known {
			return r.reverse[id]
		}
	}
	if e, ok := r.other[key{pen, id}]; ok {
		return e
	}
	return Placeholder(pen, id)
}

// Placeholder is the element for an unknown (PEN, ID): "pen<PEN>_<ID>",
// or "ie<ID>" for an IANA id the registry does not know yet.
func Placeholder(pen uint32, id uint16) Element {
	id &= maxID
	var name string
	if pen == 0 {
		name = "ie" + strconv.Itoa(int(id))
	} else {
		name = "pen" + strconv.FormatUint(uint64(pen), 10) + "_" + strconv.Itoa(int(id))
	}
	return Element{PEN: pen, ID: id, Name: name, Type: OctetArray, Reverse: pen == ReversePEN}
}

// ByName finds a known element by name (IANA, reverse or user-defined).
func (r *Registry) ByName(name string) (Element, bool) {
	e, ok := r.byName[name]
	return e, ok
}

// Len is the number of known elements, reverse ones included.
func (r *Registry) Len() int { return len(r.byName) }

// With returns a new registry with defs layered on top of r; r is left as
// it was. A definition may name an IANA id the registry does not know yet
// (a newer registry than ours) but may not redefine a known one, take the
// reverse PEN (reverse elements follow IANA's automatically) or reuse a name,
// because names become record columns and must mean one thing.
func (r *Registry) With(defs []Element) (*Registry, error) {
	n := &Registry{
		iana:    r.iana,
		reverse: r.reverse,
		other:   make(map[key]Element, len(r.other)+len(defs)),
		byName:  make(map[string]Element, len(r.byName)+len(defs)),
	}
	for k, e := range r.other {
		n.other[k] = e
	}
	for k, e := range r.byName {
		n.byName[k] = e
	}
	for i, d := range defs {
		d.ID &= maxID
		where := fmt.Sprintf("definition %d (pen %d id %d %q)", i+1, d.PEN, d.ID, d.Name)
		if d.PEN == ReversePEN {
			return nil, fmt.Errorf("%s: PEN %d is RFC 5103's reverse direction of IANA elements, not a vendor", where, ReversePEN)
		}
		if old := n.Lookup(d.PEN, d.ID); old.Known {
			return nil, fmt.Errorf("%s: already defined as %q", where, old.Name)
		}
		if old, ok := n.byName[d.Name]; ok {
			return nil, fmt.Errorf("%s: name already used by pen %d id %d", where, old.PEN, old.ID)
		}
		if d.Type >= numTypes {
			return nil, fmt.Errorf("%s: bad type %d", where, d.Type)
		}
		d.Known = true
		d.Reverse = false
		n.other[key{d.PEN, d.ID}] = d
		n.byName[d.Name] = d
	}
	return n, nil
}
