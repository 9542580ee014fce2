package ipfix

import (
	"encoding/binary"

	"github.com/netlens/netlens/pkg/decode/ipfix/ie"
)

// RFC 6313 structured data. Lists are checked when their record is decoded
// (a malformed or too deeply nested list rejects the record with bad_list or
// list_too_deep) and iterated on request through the Record, which knows the
// templates a subTemplateList refers to.

// List semantics (RFC 6313 section 4.4).
const (
	NoneOf        = 0
	ExactlyOneOf  = 1
	OneOrMoreOf   = 2
	AllOf         = 3
	Ordered       = 4
	UndefinedList = 0xff
)

// maxElemCache bounds the elements remembered for basicList iteration.
const maxElemCache = 4096

// elem returns a shared element for (pen, id), so iterating a basicList
// does not allocate once its element has been seen.
func (d *Decoder) elem(pen uint32, id uint16) *ie.Element {
	k := uint64(pen)<<16 | uint64(id)
	if e, ok := d.elems[k]; ok {
		return e
	}
	e := new(ie.Element)
	*e = d.o.Registry.Lookup(pen, id)
	if len(d.elems) < maxElemCache {
		d.elems[k] = e
	}
	return e
}

// checkLists checks the list fields of a decoded record.
func (d *Decoder) checkLists(sc *scopeState, t *template, fs []Field, depth int) string {
	for j, i := range t.out {
		if k := t.specs[i].list; k != notList {
			if r := d.checkList(sc, k, fs[j].Value, depth); r != "" {
				return r
			}
		}
	}
	return ""
}

// checkRecord checks the record at the start of b, lists included, and
// returns its length.
func (d *Decoder) checkRecord(sc *scopeState, t *template, b []byte, depth int) (int, string) {
	if !t.hasList {
		n, ok := t.recordLen(b)
		if !ok {
			return 0, ReasonBadList
		}
		return n, ""
	}
	p := 0
	for i := range t.specs {
		s := &t.specs[i]
		n := int(s.Length)
		if n == varLen {
			var ok bool
			if n, p, ok = varLength(b, p); !ok {
				return 0, ReasonBadList
			}
		}
		if n > len(b)-p {
			return 0, ReasonBadList
		}
		if s.list != notList {
			if r := d.checkList(sc, s.list, b[p:p+n], depth); r != "" {
				return 0, r
			}
		}
		p += n
	}
	return p, ""
}

// varLength reads a variable-length prefix at b[p:].
func varLength(b []byte, p int) (n, next int, ok bool) {
	if p >= len(b) {
		return 0, p, false
	}
	n, p = int(b[p]), p+1
	if n == 255 {
		if p+2 > len(b) {
			return 0, p, false
		}
		n, p = int(binary.BigEndian.Uint16(b[p:])), p+2
	}
	return n, p, true
}

func (d *Decoder) checkList(sc *scopeState, k listKind, v []byte, depth int) string {
	if depth > d.o.MaxListDepth {
		return ReasonListTooDeep
	}
	switch k {
	case basicList:
		pen, id, elemLen, data, ok := basicHeader(v)
		if !ok {
			return ReasonBadList
		}
		inner := listOf(*d.elem(pen, id))
		for p := 0; p < len(data); {
			n := int(elemLen)
			if elemLen == varLen {
				if n, p, ok = varLength(data, p); !ok {
					return ReasonBadList
				}
			} else if n == 0 {
				return ReasonBadList
			}
			if n > len(data)-p {
				return ReasonBadList
			}
			if inner != notList {
				if r := d.checkList(sc, inner, data[p:p+n], depth+1); r != "" {
					return r
				}
			}
			p += n
		}
	case subTemplateList:
		if len(v) < 3 {
			return ReasonBadList
		}
		id := binary.BigEndian.Uint16(v[1:])
		if id < 256 {
			return ReasonBadList
		}
		return d.checkRecords(sc, id, v[3:], depth)
	case subTemplateMultiList:
		if len(v) < 1 {
			return ReasonBadList
		}
		for p := 1; p < len(v); {
			if len(v)-p < 4 {
				return ReasonBadList
			}
			id := binary.BigEndian.Uint16(v[p:])
			n := int(binary.BigEndian.Uint16(v[p+2:]))
			if id < 256 || n < 4 || n > len(v)-p {
				return ReasonBadList
			}
			if r := d.checkRecords(sc, id, v[p+4:p+n], depth); r != "" {
				return r
			}
			p += n
		}
	}
	return ""
}

// checkRecords checks the records of a sub-template list block. Records
// of a template the scope does not know cannot be checked; iterating them
// reports it.
func (d *Decoder) checkRecords(sc *scopeState, id uint16, b []byte, depth int) string {
	t := sc.templates[id]
	if t == nil {
		return ""
	}
	for p := 0; p < len(b); {
		n, r := d.checkRecord(sc, t, b[p:], depth+1)
		if r != "" {
			return r
		}
		p += n
	}
	return ""
}

func basicHeader(v []byte) (pen uint32, id, elemLen uint16, data []byte, ok bool) {
	if len(v) < 5 {
		return 0, 0, 0, nil, false
	}
	id, elemLen = binary.BigEndian.Uint16(v[1:]), binary.BigEndian.Uint16(v[3:])
	data = v[5:]
	if id&0x8000 != 0 {
		if len(v) < 9 {
			return 0, 0, 0, nil, false
		}
		id &= 0x7fff
		pen, data = binary.BigEndian.Uint32(v[5:]), v[9:]
	}
	return pen, id, elemLen, data, true
}

// BasicList is an RFC 6313 basicList: elements of one information element.
type BasicList struct {
	Semantic uint8
	Elem     *ie.Element
	data     []byte
	elemLen  uint16
}

// BasicList opens a basicList field of this record for iteration.
func (r *Record) BasicList(f Field) (BasicList, error) {
	pen, id, elemLen, data, ok := basicHeader(f.Value)
	if !ok || (elemLen == 0 && len(data) > 0) {
		return BasicList{}, &Error{Reason: ReasonBadList, Scope: r.Scope, TemplateID: r.TemplateID}
	}
	var e *ie.Element
	if r.d != nil {
		e = r.d.elem(pen, id)
	}
	return BasicList{Semantic: f.Value[0], Elem: e, data: data, elemLen: elemLen}, nil
}

// Next returns the next element; false at the end or at a malformed one.
func (l *BasicList) Next() (Field, bool) {
	if len(l.data) == 0 {
		return Field{}, false
	}
	n, p := int(l.elemLen), 0
	if l.elemLen == varLen {
		var ok bool
		if n, p, ok = varLength(l.data, 0); !ok {
			l.data = nil
			return Field{}, false
		}
	}
	if n == 0 && l.elemLen != varLen || n > len(l.data)-p {
		l.data = nil
		return Field{}, false
	}
	f := Field{Elem: l.Elem, Value: l.data[p : p+n : p+n]}
	l.data = l.data[p+n:]
	return f, true
}

// SubTemplateList is an RFC 6313 subTemplateList: records of one template.
type SubTemplateList struct {
	Semantic   uint8
	TemplateID uint16
	t          *template
	data       []byte
	fields     []Field
}

// SubTemplateList opens a subTemplateList field of this record. Its
// template must be known in the record's scope. Iterating allocates one
// field buffer per list.
func (r *Record) SubTemplateList(f Field) (*SubTemplateList, error) {
	v := f.Value
	if len(v) < 3 {
		return nil, &Error{Reason: ReasonBadList, Scope: r.Scope, TemplateID: r.TemplateID}
	}
	id := binary.BigEndian.Uint16(v[1:])
	var t *template
	if r.sc != nil {
		t = r.sc.templates[id]
	}
	if t == nil {
		return nil, &Error{Reason: ReasonBadList, Scope: r.Scope, TemplateID: id, Detail: "unknown template in subTemplateList"}
	}
	return &SubTemplateList{Semantic: v[0], TemplateID: id, t: t, data: v[3:], fields: make([]Field, t.nOut)}, nil
}

// Next moves to the next record; false at the end or at a malformed one.
func (l *SubTemplateList) Next() bool {
	if len(l.data) == 0 {
		return false
	}
	n, ok := l.t.fill(l.fields, l.data)
	if !ok {
		l.data = nil
		return false
	}
	l.data = l.data[n:]
	return true
}

// Fields are the current record's fields, valid until the next call to Next.
func (l *SubTemplateList) Fields() []Field { return l.fields }

// SubTemplateMultiList is an RFC 6313 subTemplateMultiList: blocks of
// records, each block with its own template.
type SubTemplateMultiList struct {
	Semantic uint8
	sc       *scopeState
	rest     []byte // blocks not yet opened
	block    []byte // records left in the current block
	t        *template
	fields   []Field
	// Skipped counts blocks passed over because their template is unknown.
	Skipped int
}

// SubTemplateMultiList opens a subTemplateMultiList field of this record.
func (r *Record) SubTemplateMultiList(f Field) (*SubTemplateMultiList, error) {
	if len(f.Value) < 1 {
		return nil, &Error{Reason: ReasonBadList, Scope: r.Scope, TemplateID: r.TemplateID}
	}
	return &SubTemplateMultiList{Semantic: f.Value[0], sc: r.sc, rest: f.Value[1:]}, nil
}

// Next moves to the next record, across blocks; false at the end or at a
// malformed block.
func (l *SubTemplateMultiList) Next() bool {
	for len(l.block) == 0 {
		if len(l.rest) < 4 {
			l.rest = nil
			return false
		}
		id := binary.BigEndian.Uint16(l.rest)
		n := int(binary.BigEndian.Uint16(l.rest[2:]))
		if id < 256 || n < 4 || n > len(l.rest) {
			l.rest = nil
			return false
		}
		l.block, l.rest = l.rest[4:n], l.rest[n:]
		l.t = nil
		if l.sc != nil {
			l.t = l.sc.templates[id]
		}
		if l.t == nil {
			l.block = nil
			l.Skipped++
			continue
		}
		if cap(l.fields) < l.t.nOut {
			l.fields = make([]Field, l.t.nOut)
		}
	}
	l.fields = l.fields[:l.t.nOut]
	n, ok := l.t.fill(l.fields, l.block)
	if !ok {
		l.block, l.rest = nil, nil
		return false
	}
	l.block = l.block[n:]
	return true
}

// TemplateID is the template of the current record.
func (l *SubTemplateMultiList) TemplateID() uint16 {
	if l.t == nil {
		return 0
	}
	return l.t.id
}

// Fields are the current record's fields, valid until the next call to Next.
func (l *SubTemplateMultiList) Fields() []Field { return l.fields }
