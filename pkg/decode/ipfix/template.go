package ipfix

import (
	"encoding/binary"
	"strconv"

	"github.com/netlens/netlens/pkg/decode/ipfix/ie"
)

// FieldSpec is one field specifier of a template as the exporter sent it.
// Length 65535 is variable length (IPFIX only).
type FieldSpec struct {
	PEN    uint32 `json:"pen,omitempty"`
	ID     uint16 `json:"id"`
	Length uint16 `json:"length"`
}

const varLen = 0xffff

// IANA elements the decoder itself acts on.
const (
	ieSamplingInterval       = 34
	ieSamplerID              = 48 // flowSamplerID in NetFlow v9
	ieSamplerRandomInterval  = 50
	ieApplicationID          = 95
	ieApplicationName        = 96
	ieSystemInitTimeMs       = 160
	iePaddingOctets          = 210
	ieBasicList              = 291
	ieSubTemplateList        = 292
	ieSubTemplateMultiList   = 293
	ieSelectorID             = 302
	ieSamplingPacketInterval = 305
	ieSamplingPacketSpace    = 306
	ieSamplingSize           = 309
	ieSamplingPopulation     = 310
	ieSamplingProbability    = 311
)

type listKind uint8

const (
	notList listKind = iota
	basicList
	subTemplateList
	subTemplateMultiList
)

type spec struct {
	FieldSpec
	elem *ie.Element
	off  int // offset in the record when every field before is fixed, else -1
	pad  bool
	list listKind
}

// template is a learnt (options) template, ready to decode records with.
type template struct {
	id         uint16
	options    bool
	scopeCount int // scope fields as sent
	specs      []spec
	elems      []ie.Element // what specs[i].elem points at
	out        []int        // specs passed on (paddingOctets dropped)
	fixed      []fixedField // the same, with their place in a fixed-length record
	nOut       int
	scopeOut   int // scope fields passed on
	fixedLen   int // record length when no field is variable, else -1
	minLen     int // a shorter rest of a set is padding
	hasList    bool
	learnedMs  int64
	lastSeenMs int64

	// indexes into the fields passed on, -1 when absent
	iSamplerID, iSelectorID, iInterval, iRandom, iPktInterval, iPktSpace, iSize, iPopulation, iProbability int
	iAppID, iAppName, iSysInit                                                                             int
	hasRate                                                                                                bool
}

type fixedField struct {
	elem     *ie.Element
	off, end int
}

// fill reads one record at the start of b into fs and returns its length.
func (t *template) fill(fs []Field, b []byte) (int, bool) {
	if t.fixedLen >= 0 {
		if len(b) < t.fixedLen {
			return 0, false
		}
		b = b[:t.fixedLen]
		fs = fs[:len(t.fixed)]
		for j := range t.fixed {
			f := &t.fixed[j]
			fs[j] = Field{Elem: f.elem, Value: b[f.off:f.end:f.end]}
		}
		return t.fixedLen, true
	}
	p, j := 0, 0
	for i := range t.specs {
		s := &t.specs[i]
		n := int(s.Length)
		if n == varLen {
			var ok bool
			if n, p, ok = varLength(b, p); !ok {
				return 0, false
			}
		}
		if n > len(b)-p {
			return 0, false
		}
		if !s.pad {
			fs[j] = Field{Elem: s.elem, Value: b[p : p+n : p+n]}
			j++
		}
		p += n
	}
	return p, true
}

// recordLen is the length of the record at the start of b, without decoding it.
func (t *template) recordLen(b []byte) (int, bool) {
	if t.fixedLen >= 0 {
		return t.fixedLen, len(b) >= t.fixedLen
	}
	p := 0
	for i := range t.specs {
		n := int(t.specs[i].Length)
		if n == varLen {
			var ok bool
			if n, p, ok = varLength(b, p); !ok {
				return 0, false
			}
		}
		if n > len(b)-p {
			return 0, false
		}
		p += n
	}
	return p, true
}

// NetFlow v9 options scope types (RFC 3954 section 6.1) are not information
// elements; they get elements of their own so handlers can tell them apart.
var v9Scopes = [...]ie.Element{
	{ID: 1, Name: "v9ScopeSystem", Type: ie.Unsigned32},
	{ID: 2, Name: "v9ScopeInterface", Type: ie.Unsigned32},
	{ID: 3, Name: "v9ScopeLineCard", Type: ie.Unsigned32},
	{ID: 4, Name: "v9ScopeCache", Type: ie.Unsigned32},
	{ID: 5, Name: "v9ScopeTemplate", Type: ie.Unsigned32},
}

// build makes a template from its field specifiers, checking the limits.
func (d *Decoder) build(version uint16, id uint16, options bool, scopeCount int, fs []FieldSpec, nowMs int64) (*template, string) {
	if len(fs) == 0 {
		return nil, ReasonTemplateNoFields
	}
	if len(fs) > d.o.MaxFieldsPerTemplate {
		return nil, ReasonTemplateTooLong
	}
	if options && (scopeCount > len(fs) || (version == 10 && scopeCount == 0)) {
		return nil, ReasonBadScopeCount
	}
	t := &template{
		id: id, options: options, scopeCount: scopeCount, learnedMs: nowMs, lastSeenMs: nowMs,
		specs: make([]spec, len(fs)), elems: make([]ie.Element, len(fs)), fixedLen: 0,
		iSamplerID: -1, iSelectorID: -1, iInterval: -1, iRandom: -1, iPktInterval: -1, iPktSpace: -1,
		iSize: -1, iPopulation: -1, iProbability: -1, iAppID: -1, iAppName: -1, iSysInit: -1,
	}
	off := 0
	for i, f := range fs {
		if version == 9 && options && i < scopeCount {
			if f.ID >= 1 && int(f.ID) <= len(v9Scopes) {
				t.elems[i] = v9Scopes[f.ID-1]
			} else {
				t.elems[i] = ie.Element{ID: f.ID, Name: "v9Scope" + strconv.Itoa(int(f.ID))}
			}
		} else if version == 9 && f.ID > 0x7fff {
			// NetFlow v9 types from 32768 up are vendor-proprietary (RFC 3954
			// section 8), not enterprise bits: the registry does not know them.
			t.elems[i] = ie.Element{ID: f.ID, Name: "ie" + strconv.Itoa(int(f.ID))}
		} else {
			t.elems[i] = d.o.Registry.Lookup(f.PEN, f.ID)
		}
		s := spec{FieldSpec: f, elem: &t.elems[i], off: off}
		if version == 9 && f.Length == varLen {
			// NetFlow v9 has no variable-length encoding; 65535 is a length.
			return nil, ReasonTemplateTooLong
		}
		if f.Length == varLen {
			off = -1
			t.minLen++
		} else {
			if off >= 0 {
				off += int(f.Length)
			}
			t.minLen += int(f.Length)
		}
		if !(version == 9 && options && i < scopeCount) && f.PEN == 0 {
			s.pad = f.ID == iePaddingOctets
		}
		s.list = listOf(t.elems[i])
		t.hasList = t.hasList || s.list != notList
		t.specs[i] = s
	}
	// A record must fit in a message (65535 bytes less the headers) and
	// must take at least one byte, or a set would never end.
	if t.minLen == 0 {
		return nil, ReasonTemplateNoFields
	}
	if t.minLen > 65535-20 {
		return nil, ReasonTemplateTooLong
	}
	t.fixedLen = off
	j := 0
	for i := range t.specs {
		s := &t.specs[i]
		if s.pad {
			continue
		}
		t.out = append(t.out, i)
		if off >= 0 {
			t.fixed = append(t.fixed, fixedField{elem: s.elem, off: s.off, end: s.off + int(s.Length)})
		}
		if i < scopeCount {
			t.scopeOut++
		}
		if s.PEN == 0 && !(version == 9 && options && i < scopeCount) {
			t.role(s.ID, j)
		}
		j++
	}
	t.nOut = j
	t.hasRate = t.iInterval >= 0 || t.iRandom >= 0 || t.iPktInterval >= 0 || (t.iSize >= 0 && t.iPopulation >= 0) || t.iProbability >= 0
	return t, ""
}

// role remembers where the fields the decoder acts on sit; the first one wins.
func (t *template) role(id uint16, j int) {
	set := func(p *int) {
		if *p < 0 {
			*p = j
		}
	}
	switch id {
	case ieSamplingInterval:
		set(&t.iInterval)
	case ieSamplerID:
		set(&t.iSamplerID)
	case ieSamplerRandomInterval:
		set(&t.iRandom)
	case ieApplicationID:
		set(&t.iAppID)
	case ieApplicationName:
		set(&t.iAppName)
	case ieSystemInitTimeMs:
		set(&t.iSysInit)
	case ieSelectorID:
		set(&t.iSelectorID)
	case ieSamplingPacketInterval:
		set(&t.iPktInterval)
	case ieSamplingPacketSpace:
		set(&t.iPktSpace)
	case ieSamplingSize:
		set(&t.iSize)
	case ieSamplingPopulation:
		set(&t.iPopulation)
	case ieSamplingProbability:
		set(&t.iProbability)
	}
}

func listOf(e ie.Element) listKind {
	switch e.Type {
	case ie.BasicList:
		return basicList
	case ie.SubTemplateList:
		return subTemplateList
	case ie.SubTemplateMultiList:
		return subTemplateMultiList
	}
	if e.PEN == 0 {
		switch e.ID {
		case ieBasicList:
			return basicList
		case ieSubTemplateList:
			return subTemplateList
		case ieSubTemplateMultiList:
			return subTemplateMultiList
		}
	}
	return notList
}

// same says whether t has exactly these field specifiers.
func (t *template) same(options bool, scopeCount int, fs []FieldSpec) bool {
	if t.options != options || t.scopeCount != scopeCount || len(t.specs) != len(fs) {
		return false
	}
	for i := range fs {
		if t.specs[i].FieldSpec != fs[i] {
			return false
		}
	}
	return true
}

// templateSet reads an IPFIX template or options template set (2, 3) or a
// NetFlow v9 template flowset (0).
func (d *Decoder) templateSet(sc *scopeState, setID uint16, b []byte, nowMs int64) {
	options := setID == 3
	hdrLen := 4
	if options {
		hdrLen = 6
	}
	p := 0
	for len(b)-p >= 4 {
		id := binary.BigEndian.Uint16(b[p:])
		count := int(binary.BigEndian.Uint16(b[p+2:]))
		at := d.msgStart + p
		if count == 0 && sc.version == 10 {
			if id == 0 && allZero(b[p:]) {
				return // set padding
			}
			d.withdraw(sc, setID, id, at)
			p += 4
			continue
		}
		if id < 256 {
			if allZero(b[p:]) {
				return
			}
			d.fail(&Error{Reason: ReasonTemplateIDReserved, Scope: sc.scope, TemplateID: id, Offset: at})
			return
		}
		if count == 0 {
			d.fail(&Error{Reason: ReasonTemplateNoFields, Scope: sc.scope, TemplateID: id, Offset: at})
			p += 4
			continue
		}
		if count > d.o.MaxFieldsPerTemplate {
			// The specifiers cannot be skipped without reading them all.
			d.fail(&Error{Reason: ReasonTemplateTooLong, Scope: sc.scope, TemplateID: id, Offset: at, Detail: strconv.Itoa(count) + " fields"})
			return
		}
		if len(b)-p < hdrLen {
			d.fail(&Error{Reason: ReasonTemplateTruncated, Scope: sc.scope, TemplateID: id, Offset: at})
			return
		}
		scopeCount := 0
		if options {
			scopeCount = int(binary.BigEndian.Uint16(b[p+4:]))
		}
		q := p + hdrLen
		fs := d.specs[:0]
		for range count {
			if len(b)-q < 4 {
				d.fail(&Error{Reason: ReasonTemplateTruncated, Scope: sc.scope, TemplateID: id, Offset: at})
				return
			}
			f := FieldSpec{ID: binary.BigEndian.Uint16(b[q:]), Length: binary.BigEndian.Uint16(b[q+2:])}
			q += 4
			if sc.version == 10 && f.ID&0x8000 != 0 {
				if len(b)-q < 4 {
					d.fail(&Error{Reason: ReasonTemplateTruncated, Scope: sc.scope, TemplateID: id, Offset: at})
					return
				}
				f.ID &= 0x7fff
				f.PEN = binary.BigEndian.Uint32(b[q:])
				q += 4
			}
			fs = append(fs, f)
		}
		d.specs = fs
		p = q
		d.learn(sc, id, options, scopeCount, fs, nowMs, at)
	}
}

// optionsTemplateSetV9 reads a NetFlow v9 options template flowset (1),
// whose records give the scope and option sections in bytes, not counts.
func (d *Decoder) optionsTemplateSetV9(sc *scopeState, b []byte, nowMs int64) {
	p := 0
	for len(b)-p >= 6 {
		id := binary.BigEndian.Uint16(b[p:])
		scopeLen := int(binary.BigEndian.Uint16(b[p+2:]))
		optLen := int(binary.BigEndian.Uint16(b[p+4:]))
		at := d.msgStart + p
		if id < 256 {
			if allZero(b[p:]) {
				return
			}
			d.fail(&Error{Reason: ReasonTemplateIDReserved, Scope: sc.scope, TemplateID: id, Offset: at})
			return
		}
		if scopeLen%4 != 0 || optLen%4 != 0 {
			d.fail(&Error{Reason: ReasonBadScopeCount, Scope: sc.scope, TemplateID: id, Offset: at, Detail: "section lengths not multiples of 4"})
			return
		}
		count := (scopeLen + optLen) / 4
		if count > d.o.MaxFieldsPerTemplate {
			d.fail(&Error{Reason: ReasonTemplateTooLong, Scope: sc.scope, TemplateID: id, Offset: at})
			return
		}
		if len(b)-p-6 < scopeLen+optLen {
			d.fail(&Error{Reason: ReasonTemplateTruncated, Scope: sc.scope, TemplateID: id, Offset: at})
			return
		}
		fs := d.specs[:0]
		for q := p + 6; q < p+6+scopeLen+optLen; q += 4 {
			fs = append(fs, FieldSpec{ID: binary.BigEndian.Uint16(b[q:]), Length: binary.BigEndian.Uint16(b[q+2:])})
		}
		d.specs = fs
		p += 6 + scopeLen + optLen
		d.learn(sc, id, true, scopeLen/4, fs, nowMs, at)
	}
}

// learn installs a template (or refreshes it when unchanged) and releases
// the data held for it.
func (d *Decoder) learn(sc *scopeState, id uint16, options bool, scopeCount int, fs []FieldSpec, nowMs int64, at int) {
	old := sc.templates[id]
	if old != nil && old.same(options, scopeCount, fs) {
		old.lastSeenMs = nowMs
		d.st.Templates++
		return
	}
	if old == nil && (len(sc.templates) >= d.o.MaxTemplatesPerScope || d.templates >= d.o.MaxTemplates) {
		d.fail(&Error{Reason: ReasonTemplateFlood, Scope: sc.scope, TemplateID: id, Offset: at})
		return
	}
	t, reason := d.build(sc.version, id, options, scopeCount, fs, nowMs)
	if reason != "" {
		d.fail(&Error{Reason: reason, Scope: sc.scope, TemplateID: id, Offset: at})
		return
	}
	if old != nil && sc.transport == TCP {
		// RFC 7011 section 8.1: over TCP an id must be withdrawn before it is
		// reused. The new definition is what the exporter now sends, so it
		// is used, but the exporter is at fault and it is counted.
		d.fail(&Error{Reason: ReasonTemplateRedefined, Scope: sc.scope, TemplateID: id, Offset: at})
	}
	if old == nil {
		d.templates++
	}
	sc.templates[id] = t
	d.st.Templates++
	d.release(sc, t)
}

// withdraw applies a withdrawal record (field count 0), if the transport allows.
func (d *Decoder) withdraw(sc *scopeState, setID, id uint16, at int) {
	if sc.transport == UDP {
		// RFC 7011 section 8.1: withdrawals over UDP are ignored; templates
		// there expire instead.
		return
	}
	options := setID == 3
	if id == setID {
		// Ids 2 and 3 withdraw every template, or every options template.
		for k, t := range sc.templates {
			if t.options == options {
				delete(sc.templates, k)
				d.templates--
				d.st.Withdrawals++
			}
		}
		return
	}
	if id < 256 {
		d.fail(&Error{Reason: ReasonTemplateIDReserved, Scope: sc.scope, TemplateID: id, Offset: at})
		return
	}
	t := sc.templates[id]
	if t == nil {
		return
	}
	if t.options != options {
		d.fail(&Error{Reason: ReasonWithdrawalMismatch, Scope: sc.scope, TemplateID: id, Offset: at})
		return
	}
	delete(sc.templates, id)
	d.templates--
	d.st.Withdrawals++
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
