package compact

import (
	"math"
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/netlens/netlens/pkg/decode/xr"
)

// EncodingWord is the value TelemetryHeader.encoding must hold (protocols.md 1.3).
const EncodingWord = 0x87654321

// Field numbers of the compact envelope (telemetry.proto, XR 6.0.0), verbatim.
const (
	thEncoding   = 1
	thPolicyName = 2
	thVersion    = 3
	thIdentifier = 4
	thStartTime  = 5
	thEndTime    = 6
	thTables     = 7

	ttPolicyPath = 1
	ttRow        = 2
)

// Decode reads one TelemetryHeader and returns one Message per table whose policy path
// has a row message in the schema. Tables without one are listed in missing (their
// policy paths as sent, each once) and are not an error; a nil *Schema reports every
// table missing. A malformed header or row rejects the whole header with an *Error.
func (s *Schema) Decode(b []byte) (msgs []*xr.Message, missing []string, err error) {
	var lim Limits
	if s != nil {
		lim = s.Limits
	}
	d := decoder{lim: lim.withDefaults()}
	if len(b) > d.lim.MaxBytes {
		return nil, nil, newErr(ReasonTooLarge, strconv.Itoa(len(b))+" bytes, limit "+strconv.Itoa(d.lim.MaxBytes))
	}

	// Header fields first: proto field order is not guaranteed, and every table's
	// Message needs them.
	var (
		encoding       uint64
		haveEncoding   bool
		policy, ident  string
		startMs, endMs uint64
		tables         int
	)
	for rest := b; len(rest) > 0; {
		num, typ, n := consumeTag(rest)
		if n < 0 {
			return nil, nil, badGPB("header", b, rest, n)
		}
		rest = rest[n:]
		want := protowire.Type(-1)
		switch num {
		case thEncoding, thStartTime, thEndTime:
			want = protowire.VarintType
		case thPolicyName, thVersion, thIdentifier, thTables:
			want = protowire.BytesType
		}
		if want >= 0 && typ != want {
			return nil, nil, newErr(ReasonBadGPB, "header field "+strconv.Itoa(int(num))+" has wire type "+strconv.Itoa(int(typ)))
		}
		switch {
		case typ == protowire.VarintType && want >= 0:
			v, m := protowire.ConsumeVarint(rest)
			if m < 0 {
				return nil, nil, badGPB("header", b, rest, m)
			}
			rest = rest[m:]
			switch num {
			case thEncoding:
				encoding, haveEncoding = v, true
			case thStartTime:
				startMs = v
			case thEndTime:
				endMs = v
			}
		case typ == protowire.BytesType && want >= 0:
			v, m := protowire.ConsumeBytes(rest)
			if m < 0 {
				return nil, nil, badGPB("header", b, rest, m)
			}
			rest = rest[m:]
			switch num {
			case thPolicyName:
				policy = string(v)
			case thIdentifier:
				ident = string(v)
			case thTables:
				tables++
			}
		default:
			m := protowire.ConsumeFieldValue(num, typ, rest)
			if m < 0 {
				return nil, nil, badGPB("header", b, rest, m)
			}
			rest = rest[m:]
		}
	}
	if !haveEncoding || encoding != EncodingWord {
		detail := "absent"
		if haveEncoding {
			detail = "0x" + strconv.FormatUint(encoding, 16)
		}
		return nil, nil, newErr(ReasonBadEncodingWord, detail)
	}
	if tables > d.lim.MaxTables {
		return nil, nil, newErr(ReasonTooManyTables, strconv.Itoa(tables)+" tables, limit "+strconv.Itoa(d.lim.MaxTables))
	}
	ts := msToInt(endMs)
	if ts == 0 {
		ts = msToInt(startMs)
	}
	var seenMissing pathSet

	for rest := b; len(rest) > 0; {
		num, typ, n := protowire.ConsumeTag(rest)
		rest = rest[n:] // the first pass validated the framing
		if num != thTables {
			rest = rest[protowire.ConsumeFieldValue(num, typ, rest):]
			continue
		}
		v, m := protowire.ConsumeBytes(rest)
		rest = rest[m:]
		path, rows, e := tableInfo(v)
		if e != nil {
			return nil, nil, e
		}
		var plan *msgPlan
		if s != nil {
			plan = s.byPath[normalizePath(path)]
		}
		if plan == nil {
			if rows == 0 && path == "" {
				continue // an empty table says nothing
			}
			if !seenMissing.has(path) {
				missing = append(missing, path)
			}
			continue
		}
		if msgs == nil {
			msgs = make([]*xr.Message, 0, tables)
		}
		msg := &xr.Message{Node: ident, Policy: policy, Path: path, MsgTimestampMs: ts, Encoding: xr.EncodingGPBCompact}
		if e := d.table(msg, plan, v, rows); e != nil {
			return nil, nil, e
		}
		msgs = append(msgs, msg)
	}
	return msgs, missing, nil
}

func msToInt(v uint64) int64 {
	if v > math.MaxInt64 {
		return 0
	}
	return int64(v)
}

// pathSet remembers paths, by list while few (the usual one or two missing .proto
// files) and by map past that, so a header of thousands of distinct paths stays linear.
type pathSet struct {
	few  []string
	many map[string]bool
}

// has reports whether p was seen and remembers it.
func (ps *pathSet) has(p string) bool {
	if ps.many != nil {
		if ps.many[p] {
			return true
		}
		ps.many[p] = true
		return false
	}
	for _, x := range ps.few {
		if x == p {
			return true
		}
	}
	ps.few = append(ps.few, p)
	if len(ps.few) > 16 {
		ps.many = make(map[string]bool, 2*len(ps.few))
		for _, x := range ps.few {
			ps.many[x] = true
		}
	}
	return false
}

// badFieldNumber is consumeTag's code for a field number above protobuf's maximum.
const badFieldNumber = -1000

// consumeTag is protowire.ConsumeTag that also refuses field numbers above 2^29-1, as
// protobuf's own parser does (ConsumeTag only refuses those below 1).
func consumeTag(b []byte) (protowire.Number, protowire.Type, int) {
	num, typ, n := protowire.ConsumeTag(b)
	if n >= 0 && num > protowire.MaxValidNumber {
		return 0, 0, badFieldNumber
	}
	return num, typ, n
}

func parseErr(n int) string {
	if n == badFieldNumber {
		return "field number above 2^29-1"
	}
	return protowire.ParseError(n).Error()
}

func badGPB(what string, all, rest []byte, n int) *Error {
	return newErr(ReasonBadGPB, what+" at offset "+strconv.Itoa(len(all)-len(rest))+": "+parseErr(n))
}

// tableInfo reads a TelemetryTable's policy path and counts its rows.
func tableInfo(b []byte) (path string, rows int, err *Error) {
	for rest := b; len(rest) > 0; {
		num, typ, n := consumeTag(rest)
		if n < 0 {
			return "", 0, badGPB("table", b, rest, n)
		}
		rest = rest[n:]
		if (num == ttPolicyPath || num == ttRow) && typ != protowire.BytesType {
			return "", 0, newErr(ReasonBadGPB, "table field "+strconv.Itoa(int(num))+" has wire type "+strconv.Itoa(int(typ)))
		}
		m := protowire.ConsumeFieldValue(num, typ, rest)
		if m < 0 {
			return "", 0, badGPB("table", b, rest, m)
		}
		switch num {
		case ttPolicyPath:
			v, _ := protowire.ConsumeBytes(rest)
			path = string(v)
		case ttRow:
			rows++
		}
		rest = rest[m:]
	}
	return path, rows, nil
}

// decoder carries the limits and counters of one Decode call.
type decoder struct {
	lim       Limits
	leaves    int // in the whole header
	rows      int
	rowLeaves int
	keys      []xr.Leaf // arenas the rows of one table are sliced from
	content   []xr.Leaf
	path      string
	row       int
}

// table decodes the rows of one table (b is the TelemetryTable; rows its row count).
func (d *decoder) table(msg *xr.Message, plan *msgPlan, b []byte, rows int) *Error {
	if d.rows+rows > d.lim.MaxRows {
		return newErr(ReasonTooManyRows, strconv.Itoa(d.rows+rows)+" rows, limit "+strconv.Itoa(d.lim.MaxRows))
	}
	d.rows += rows
	d.path = msg.Path
	msg.Rows = make([]xr.Row, 0, rows)
	// One backing array per table for all rows' keys and another for their content:
	// two allocations instead of two per row.
	nk, nc := plan.keyHint, max(plan.contentHint, 1)
	// Every leaf takes at least two bytes on the wire, which bounds the guess when a
	// hostile table holds many empty rows.
	most := len(b)/2 + 1
	d.keys = make([]xr.Leaf, 0, min(nk*rows, most))
	d.content = make([]xr.Leaf, 0, min(nc*rows, most))
	d.row = 0
	for rest := b; len(rest) > 0; {
		num, typ, n := protowire.ConsumeTag(rest)
		rest = rest[n:] // tableInfo validated the framing
		if num != ttRow {
			rest = rest[protowire.ConsumeFieldValue(num, typ, rest):]
			continue
		}
		v, m := protowire.ConsumeBytes(rest)
		rest = rest[m:]
		k0, c0 := len(d.keys), len(d.content)
		d.rowLeaves = 0
		if e := d.message(plan, v, 0); e != nil {
			return e
		}
		d.row++
		if len(d.keys) == k0 && len(d.content) == c0 {
			continue // an empty row carries nothing to store
		}
		msg.Rows = append(msg.Rows, xr.Row{
			TimestampMs: msg.MsgTimestampMs,
			Keys:        leaves(d.keys, k0),
			Content:     leaves(d.content, c0),
		})
	}
	return nil
}

// leaves returns the arena's tail from start as a row's own slice (capacity capped, so
// later rows never write into it), nil when empty.
func leaves(arena []xr.Leaf, start int) []xr.Leaf {
	if len(arena) == start {
		return nil
	}
	return arena[start:len(arena):len(arena)]
}

func (d *decoder) rowErr(reason, detail string) *Error {
	return newErr(reason, "path "+strconv.Quote(d.path)+" row "+strconv.Itoa(d.row)+": "+detail)
}

// message walks one serialized message of plan p, emitting its leaves.
func (d *decoder) message(p *msgPlan, b []byte, depth int) *Error {
	if depth > d.lim.MaxDepth {
		return d.rowErr(ReasonTooDeep, "nesting over "+strconv.Itoa(d.lim.MaxDepth))
	}
	for len(b) > 0 {
		num, typ, n := consumeTag(b)
		if n < 0 {
			return d.rowErr(ReasonBadRow, parseErr(n))
		}
		b = b[n:]
		f := p.field(num)
		if f == nil {
			// A field the .proto does not know (a newer router): skipped, as protobuf does.
			m := protowire.ConsumeFieldValue(num, typ, b)
			if m < 0 {
				return d.rowErr(ReasonBadRow, parseErr(m))
			}
			b = b[m:]
			continue
		}
		if typ != f.wire && !(typ == protowire.BytesType && f.packable) {
			return d.rowErr(ReasonSchemaMismatch, "field "+string(f.fd.FullName())+" ("+f.fd.Kind().String()+") arrived with wire type "+strconv.Itoa(int(typ)))
		}
		var m int
		var e *Error
		switch typ {
		case protowire.VarintType:
			var v uint64
			v, m = protowire.ConsumeVarint(b)
			if m >= 0 {
				e = d.emit(f, v)
			}
		case protowire.Fixed32Type:
			var v uint32
			v, m = protowire.ConsumeFixed32(b)
			if m >= 0 {
				e = d.emit(f, uint64(v))
			}
		case protowire.Fixed64Type:
			var v uint64
			v, m = protowire.ConsumeFixed64(b)
			if m >= 0 {
				e = d.emit(f, v)
			}
		case protowire.BytesType:
			var v []byte
			v, m = protowire.ConsumeBytes(b)
			if m < 0 {
				break
			}
			switch {
			case f.conv == convMessage:
				e = d.message(f.childPlan(), v, depth+1)
			case f.conv == convString || f.conv == convBytes:
				e = d.emitBytes(f, v)
			default:
				e = d.packed(f, v)
			}
		case protowire.StartGroupType:
			var v []byte
			v, m = protowire.ConsumeGroup(num, b)
			if m >= 0 {
				e = d.message(f.childPlan(), v, depth+1)
			}
		}
		if m < 0 {
			return d.rowErr(ReasonBadRow, "field "+string(f.fd.FullName())+": "+parseErr(m))
		}
		if e != nil {
			return e
		}
		b = b[m:]
	}
	return nil
}

// packed emits the elements of a packed repeated scalar field.
func (d *decoder) packed(f *fieldPlan, b []byte) *Error {
	for len(b) > 0 {
		var v uint64
		var m int
		switch f.wire {
		case protowire.VarintType:
			v, m = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var w uint32
			w, m = protowire.ConsumeFixed32(b)
			v = uint64(w)
		case protowire.Fixed64Type:
			v, m = protowire.ConsumeFixed64(b)
		}
		if m < 0 {
			return d.rowErr(ReasonBadRow, "packed field "+string(f.fd.FullName())+": "+parseErr(m))
		}
		if e := d.emit(f, v); e != nil {
			return e
		}
		b = b[m:]
	}
	return nil
}

func (d *decoder) count() *Error {
	d.rowLeaves++
	d.leaves++
	if d.rowLeaves > d.lim.MaxRowLeaves {
		return d.rowErr(ReasonTooManyLeaves, "row over "+strconv.Itoa(d.lim.MaxRowLeaves)+" leaves")
	}
	if d.leaves > d.lim.MaxLeaves {
		return d.rowErr(ReasonTooManyLeaves, "message over "+strconv.Itoa(d.lim.MaxLeaves)+" leaves")
	}
	return nil
}

// slot appends a leaf named for f to the keys or the content and returns it to be
// filled in place: copying a whole Leaf (which holds pointers) into the arena would cost a
// bulk write barrier per leaf while the collector runs.
func (d *decoder) slot(f *fieldPlan) *xr.Leaf {
	dst := &d.content
	if f.key {
		dst = &d.keys
	}
	if n := len(*dst); n < cap(*dst) {
		*dst = (*dst)[:n+1] // arenas only grow, so the spare capacity is still zero
	} else {
		*dst = append(*dst, xr.Leaf{})
	}
	l := &(*dst)[len(*dst)-1]
	l.Name = f.leaf
	return l
}

// emit converts a varint or fixed-width value by the field's declared type; integers
// stay exact, never passing through float64.
func (d *decoder) emit(f *fieldPlan, v uint64) *Error {
	if e := d.count(); e != nil {
		return e
	}
	l := d.slot(f)
	switch f.conv {
	case convBool:
		l.Kind, l.B = xr.LeafBool, v != 0
	case convEnum:
		l.Kind = xr.LeafString
		if name, ok := f.enum[protoreflect.EnumNumber(int32(v))]; ok {
			l.S = name
		} else {
			l.S = strconv.FormatInt(int64(int32(v)), 10)
		}
	case convInt32, convSfixed32:
		l.Kind, l.I = xr.LeafInt, int64(int32(v))
	case convInt64, convSfixed64:
		l.Kind, l.I = xr.LeafInt, int64(v)
	case convUint32, convFixed32:
		l.Kind, l.U = xr.LeafUint, uint64(uint32(v))
	case convUint64, convFixed64:
		l.Kind, l.U = xr.LeafUint, v
	case convSint32:
		l.Kind, l.I = xr.LeafInt, int64(int32(protowire.DecodeZigZag(v&math.MaxUint32)))
	case convSint64:
		l.Kind, l.I = xr.LeafInt, protowire.DecodeZigZag(v)
	case convFloat:
		l.Kind, l.F = xr.LeafFloat, float64(math.Float32frombits(uint32(v)))
	case convDouble:
		l.Kind, l.F = xr.LeafFloat, math.Float64frombits(v)
	}
	return nil
}

func (d *decoder) emitBytes(f *fieldPlan, v []byte) *Error {
	if e := d.count(); e != nil {
		return e
	}
	l := d.slot(f)
	l.Kind, l.S = xr.LeafString, string(v)
	if f.conv == convBytes {
		l.Kind = xr.LeafBytes
	}
	return nil
}
